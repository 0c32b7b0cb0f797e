#!/usr/bin/env python3
"""The WebSocket client of websocket_tls.pcap: wss:// with the Python `websockets` package.

    ws_tls_client.py PORT CA KEYLOG LOG COUNTS

One connection to ws_server.py's `/echo` over TLS 1.3 (server name `ws.tls.test`, the
self-signed certificate CA trusted; no compression), whose upgrade request carries an
`Authorization: Bearer` token (a secret that must never reach the database in clear). It sends
three text messages (one a JSON login with a password) and two binary ones, each echoed, then a
close 1000. The TLS secrets go to KEYLOG (`SSLContext.keylog_filename`, NSS format); the
upgrade is one line of LOG (`GET /echo 101 0 0`); COUNTS gets the data messages each side sent
(`from text binary`), from the client's own view: the server's greeting and echoes.
"""

import asyncio
import json
import ssl
import sys

from websockets.asyncio.client import connect

BEARER = "wss-bearer-7f3a9c1e5d2b4a68"


async def main(port, ca, keylog, logfile, counts):
    tls = ssl.create_default_context(cafile=ca)
    tls.minimum_version = ssl.TLSVersion.TLSv1_3
    tls.keylog_filename = keylog
    sent = {"client": [0, 0], "server": [0, 0]}
    async with connect(
        f"wss://127.0.0.1:{port}/echo",
        ssl=tls,
        server_hostname="ws.tls.test",
        compression=None,
        proxy=None,
        subprotocols=["chat.v1"],
        ping_interval=None,
        additional_headers={"Authorization": f"Bearer {BEARER}"},
        user_agent_header="shadowtap-captures/websocket_tls",
    ) as ws:
        with open(logfile, "a") as f:
            f.write("GET\t/echo\t101\t0\t0\n")
        greeting = json.loads(await ws.recv())
        assert greeting["type"] == "welcome", greeting
        sent["server"][0] += 1
        messages = [
            json.dumps({"action": "login", "user": "alice", "password": "tls-hunter2-Secret!"}),
            "hello over wss",
            bytes(range(64)),
            "a third text message",
            bytes(200),
        ]
        for m in messages:
            await ws.send(m)
            assert await ws.recv() == m
            k = 1 if isinstance(m, bytes) else 0
            sent["client"][k] += 1
            sent["server"][k] += 1
        await ws.close(1000, "bye")
    with open(counts, "w") as f:
        f.write("from\ttext\tbinary\n")
        for who in ("client", "server"):
            f.write(f"{who}\t{sent[who][0]}\t{sent[who][1]}\n")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]))
