"""The FastAPI half of the `code` capture (captures/code.md): the inventory service, behind nginx
(captures/tools/code.nginx.conf.template), which forwards /inventory/ unchanged.

Run: uvicorn main:app --host 127.0.0.1 --port 3001
"""

from fastapi import FastAPI

from routers import inventory

app = FastAPI(title="inventory", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(inventory.router, prefix="/inventory")
