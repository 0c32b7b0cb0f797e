#!/usr/bin/env python3
"""Hostile strings on the wire, for the dashboard's escaping tests (stdlib only).

    hostile_client.py --log LOG PORT

Sends requests whose Host header, path, query parameter names, User-Agent, cookie name, Basic
user name, method and JSON keys are HTML/JS injection payloads to tools/edge_server.js, each over
a raw socket so the bytes are exactly as written (raw spaces in the request-target included: the
server answers those 400 and closes, which is real traffic too). Every string here must render
as text wherever shadowtap shows it.

Appends one line per transaction to the client log, as clients.py does.
"""

import argparse
import base64
import json
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clients  # noqa: E402

SCRIPT_HOST = "<script>alert(1)</script>"
SVG_HOST = '"><svg/onload=alert(10)>'
IMG_PATH = '/"><img src=x onerror=alert(1)>'
UA = '"><img src=x onerror=alert(3)><script>alert(3)</script>'


def exchange(port, method, target, host, headers=(), body=b""):
    """One request on its own connection; returns (status, response body length)."""
    headers = list(headers)
    if body:
        headers.append(("Content-Length", str(len(body))))
    headers.append(("Connection", "close"))
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(clients.raw_request(method, target, host, headers=headers) + body)
    r, resp = clients.read_response(clients._SharedSock(s), method)
    s.close()
    clients.log(method, target, r.status, len(body), len(resp))
    return r.status, len(resp)


def run(port):
    ua = ("User-Agent", UA)
    # 1. The path payload with raw spaces (Node answers 400 and closes).
    exchange(port, "GET", IMG_PATH, SCRIPT_HOST, [ua])
    # 2. A path payload without spaces, and a query parameter whose name is a script tag and
    #    whose value is an img payload (percent-encoded, as browsers send them).
    exchange(
        port,
        "GET",
        '/"><svg/onload=alert(5)>?%3Cscript%3Ealert(6)%3C%2Fscript%3E=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(7)%3E',
        SCRIPT_HOST,
        [ua],
    )
    # 3. A route the server knows, so the endpoint has a 200, with credentials in the URL.
    exchange(port, "GET", "/hello?api_key=3f9c2b7a41d84e0f9a6b5c3d2e1f0a9b", SCRIPT_HOST, [ua])
    # 4. A JSON body whose keys are payloads.
    body = json.dumps(
        {
            "<script>alert(2)</script>": "x",
            '"><img src=x onerror=alert(2)>': {"</textarea><script>alert(2)</script>": 1},
            "email": "mallory@example.com",
        }
    ).encode()
    exchange(port, "POST", "/chunked/upload", SCRIPT_HOST, [ua, ("Content-Type", "application/json")], body)
    # 5. Basic credentials whose user name is a payload (shown in findings' explanations).
    cred = base64.b64encode(b"<img src=x onerror=alert(8)>:hunter2").decode()
    exchange(port, "GET", "/hello", SCRIPT_HOST, [ua, ("Authorization", f"Basic {cred}")])
    # 6. A session cookie whose name is a payload.
    exchange(
        port,
        "GET",
        "/hello",
        SCRIPT_HOST,
        [ua, ("Cookie", '"><svg/onload=alert(9)>=0123456789abcdef0123456789abcdef')],
    )
    # 7. A second hostile Host.
    exchange(port, "GET", "/hello", SVG_HOST, [ua])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log", required=True)
    p.add_argument("port", type=int)
    a = p.parse_args()
    clients.LOG = a.log
    run(a.port)


if __name__ == "__main__":
    main()
