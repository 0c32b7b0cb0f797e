"""Items and stock levels. Mounted under /inventory by main.py."""

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from deps import require_admin, require_user, verify_token

router = APIRouter()


class ItemUpdate(BaseModel):
    name: str | None = None
    price_cents: int | None = None


def _item(item_id: int) -> dict:
    return {
        "id": item_id,
        "name": f"Item {item_id}",
        "price_cents": 500 + (item_id * 37) % 5000,
        "warehouse": ["BER-1", "MUC-2", "HAM-1"][item_id % 3],
    }


@router.get("/items")
def list_items(limit: int = 3):
    return {"items": [_item(i) for i in range(7001, 7001 + min(limit, 20))]}


@router.get("/items/{item_id}", dependencies=[Depends(verify_token)])
def get_item(item_id: int):
    return _item(item_id)


@router.put("/items/{item_id}", dependencies=[Depends(require_user)])
def update_item(item_id: int, update: ItemUpdate):
    item = _item(item_id)
    item.update(update.model_dump(exclude_none=True))
    return item


@router.get("/stock/{sku}")
def get_stock(sku: str):
    # No check here: the gateway (nginx) requires an X-API-Key for /inventory/stock/.
    if not sku.startswith("SKU-"):
        raise HTTPException(status_code=404, detail="unknown sku")
    n = int(sku[4:]) if sku[4:].isdigit() else 0
    return {"sku": sku, "on_hand": n % 97, "reserved": n % 7}


@router.delete("/items/{item_id}", dependencies=[Depends(require_admin)], status_code=204)
def delete_item(item_id: int):
    return None
