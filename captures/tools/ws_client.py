#!/usr/bin/env python3
"""The WebSocket client of websocket.pcap (the Python `websockets` package).

    ws_client.py PORT LOG

Two connections to ws_server.py's `/echo`, one without compression and one with
permessage-deflate, each sending: a JSON text message with a password and a card number
(sensitive data in a client message), a plain text message, a binary message, a text message
fragmented in three frames, a ping (answered by a pong), a 2,000-byte text message and a 1,000-byte
binary message (16-bit lengths; a 64-bit length needs 64 KiB on the wire both ways, too much
for a small capture: the unit tests build those), then a close with code 1000. Every echo is checked. Each
upgrade is one line of LOG (`GET /echo 101 0 0`, the transaction format of clients.py).
"""

import asyncio
import json
import random
import sys

from websockets.asyncio.client import connect


def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


async def session(port, compression, rng, logfile):
    async with connect(
        f"ws://127.0.0.1:{port}/echo",
        compression=compression,
        subprotocols=["chat.v1"],
        ping_interval=None,
        max_size=2**20,
        user_agent_header="shadowtap-captures/websocket",
    ) as ws:
        log(logfile, "GET\t/echo\t101\t0\t0")
        greeting = json.loads(await ws.recv())
        assert greeting["type"] == "welcome", greeting
        login = json.dumps({"action": "login", "user": "alice", "password": "hunter2-Secret!", "card": "4111 1111 1111 1111"})
        messages = [
            login,
            "hello from the client",
            bytes(rng.randrange(256) for _ in range(300)),
        ]
        for m in messages:
            await ws.send(m)
            assert await ws.recv() == m
        # One text message in three frames.
        await ws.send(["frag-one ", "frag-two ", "frag-three"])
        assert await ws.recv() == "frag-one frag-two frag-three"
        pong = await ws.ping(b"ping-1")
        await pong
        big_text = "".join(rng.choice("abcdefghij ") for _ in range(2_000))
        big_binary = bytes(rng.randrange(256) for _ in range(1_000))
        for m in (big_text, big_binary):
            await ws.send(m)
            assert await ws.recv() == m
        await ws.close(1000, "bye")


async def main(port, logfile):
    rng = random.Random(6455)
    await session(port, None, rng, logfile)
    await session(port, "deflate", rng, logfile)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
