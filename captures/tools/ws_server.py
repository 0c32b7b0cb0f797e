#!/usr/bin/env python3
"""A WebSocket echo service for websocket.pcap (the Python `websockets` package, asyncio).

    ws_server.py PORT [CERT KEY]

With CERT and KEY (PEM), it serves wss:// (TLS) instead: websocket_tls.pcap.

`/echo` greets each client with a JSON text message (a user record holding an e-mail address
and a phone number: sensitive data in a server message), then echoes every message back as it
came (text stays text, binary stays binary; a fragmented message is echoed in one frame) until
the client closes. It agrees to the subprotocol `chat.v1` when offered and to
permessage-deflate when the client offers it (the package's default).
"""

import asyncio
import json
import ssl
import sys

from websockets.asyncio.server import serve

GREETING = json.dumps(
    {"type": "welcome", "user": {"id": 42, "email": "carol.jones@example.org", "phone": "+1 415 555 0132"}}
)


async def echo(ws):
    if ws.request.path != "/echo":
        await ws.close(1008, "unknown path")
        return
    await ws.send(GREETING)
    async for msg in ws:
        await ws.send(msg)


async def main(port, tls):
    async with serve(echo, "127.0.0.1", port, subprotocols=["chat.v1"], ping_interval=None, ssl=tls) as server:
        await server.serve_forever()


if __name__ == "__main__":
    tls = None
    if len(sys.argv) > 3:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[2], sys.argv[3])
    asyncio.run(main(int(sys.argv[1]), tls))
