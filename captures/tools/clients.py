#!/usr/bin/env python3
"""Python clients for the engine captures (stdlib only).

Every client appends one line per HTTP transaction it performed to the client log (the file
named by --log), in the order it sent the requests:

    method <TAB> request-target as sent <TAB> final status <TAB> request body bytes <TAB> response body bytes

Body bytes are what travelled as the message body: after removing chunked framing, before any
content decoding (so a gzip response counts its compressed bytes), 0 for HEAD, 1xx, 204 and 304
responses and for a body the client never sent.

make.sh also records curl's transfers in the same log (lines starting with `curl<TAB>`, whose
URL becomes the origin-form target curl sent) and turns the log into <name>.expected.tsv with
`clients.py expected LOG OUT`.

Subcommands:
    pipelined PORT        raw-socket pipelining and HTTP/1.0 connections against nginx
    chunked PORT          http.client against edge_server.js: chunked bodies, trailers, gzip, 204,
                          a chunked request body
    websocket PORT        a WebSocket client (hand-written upgrade and frames)
    connect-refused PORT  a CONNECT refused with 403 then a forward-proxy GET on the same connection
    curl-connect-trace F  the CONNECT exchanges in curl's -v output F, as log lines
    expected LOG OUT      the expected-transactions TSV from a client log
"""

import argparse
import base64
import hashlib
import http.client
import io
import os
import random
import re
import socket
import sys
import urllib.parse

LOG = None


def log(method, target, status, req_len, resp_len):
    line = f"{method}\t{target}\t{status}\t{req_len}\t{resp_len}\n"
    with open(LOG, "a") as f:
        f.write(line)


class _NoCloseFile(io.RawIOBase):
    """A shared buffered reader that http.client may "close" without losing buffered bytes."""

    def __init__(self, f):
        self.f = f

    def readable(self):
        return True

    def read(self, n=-1):
        return self.f.read(n)

    def readinto(self, b):
        data = self.f.read(len(b))
        b[: len(data)] = data
        return len(data)

    def readline(self, limit=-1):
        return self.f.readline(limit)

    def close(self):
        pass


class _SharedSock:
    """Lets several HTTPResponse objects read one after another from one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def makefile(self, *_a, **_k):
        return _NoCloseFile(self.f)


def read_response(shared, method):
    r = http.client.HTTPResponse(shared, method=method)
    r.begin()
    body = r.read()
    return r, body


def raw_request(method, target, host, version="HTTP/1.1", headers=()):
    lines = [f"{method} {target} {version}", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- pipelined.pcap -------------------------------------------------------------------------


def cmd_pipelined(port):
    host = f"127.0.0.1:{port}"
    ua = ("User-Agent", "shadowtap-captures/pipelined")

    # 1. Four requests in one sendall (pipelining), then all four responses.
    batch = [
        ("GET", "/index.html"),
        ("HEAD", "/style.css"),
        ("GET", "/missing.html"),
        ("GET", "/data.json"),
    ]
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"".join(raw_request(m, t, host, headers=[ua]) for m, t in batch))
    shared = _SharedSock(s)
    for m, t in batch:
        r, body = read_response(shared, m)
        log(m, t, r.status, 0, len(body))
    s.close()

    # 2. HTTP/1.0 without keep-alive: the server closes after its response.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(raw_request("GET", "/index.html", host, "HTTP/1.0", [ua]))
    r, body = read_response(_SharedSock(s), "GET")
    assert r.getheader("Connection", "").lower() == "close", r.getheaders()
    log("GET", "/index.html", r.status, 0, len(body))
    s.close()

    # 3. HTTP/1.0 asking for gzip: nginx compresses on the fly and, unable to use chunked coding
    #    with HTTP/1.0, sends no Content-Length and ends the body by closing the connection.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(raw_request("GET", "/big.txt", host, "HTTP/1.0", [ua, ("Accept-Encoding", "gzip")]))
    r, body = read_response(_SharedSock(s), "GET")
    assert r.getheader("Content-Encoding") == "gzip" and r.getheader("Content-Length") is None
    log("GET", "/big.txt", r.status, 0, len(body))
    s.close()

    # 4. HTTP/1.0 with Connection: keep-alive: two requests on one connection.
    s = socket.create_connection(("127.0.0.1", port))
    shared = _SharedSock(s)
    for t in ("/style.css", "/data.json"):
        s.sendall(raw_request("GET", t, host, "HTTP/1.0", [ua, ("Connection", "keep-alive")]))
        r, body = read_response(shared, "GET")
        assert r.getheader("Connection", "").lower() == "keep-alive", r.getheaders()
        log("GET", t, r.status, 0, len(body))
    s.close()


# --- chunked.pcap ---------------------------------------------------------------------------


def cmd_chunked(port):
    c = http.client.HTTPConnection("127.0.0.1", port)
    base = {"User-Agent": "shadowtap-captures/chunked"}

    def get(target, headers=None):
        c.request("GET", target, headers={**base, **(headers or {})})
        r = c.getresponse()
        body = r.read()
        log("GET", target, r.status, 0, len(body))
        return r

    r = get("/chunked/stream")
    assert r.getheader("Transfer-Encoding") == "chunked"
    get("/chunked/trailers", {"TE": "trailers"})
    r = get("/chunked/gzip", {"Accept-Encoding": "gzip"})
    assert r.getheader("Content-Encoding") == "gzip"
    get("/chunked/empty")
    get("/nocontent")

    # A chunked request body: one chunk per item of the iterable.
    parts = [
        b'{"batch": 1, "items": [' + b",".join(b'{"n": %d}' % i for i in range(40)) + b"]}\n",
        b'{"batch": 2, "note": "' + b"x" * 500 + b'"}\n',
        b'{"batch": 3, "end": true}\n',
    ]
    c.request(
        "POST",
        "/chunked/upload",
        body=iter(parts),
        headers={**base, "Content-Type": "application/x-ndjson"},
        encode_chunked=True,
    )
    r = c.getresponse()
    body = r.read()
    log("POST", "/chunked/upload", r.status, sum(len(p) for p in parts), len(body))
    c.close()


# --- upgrade.pcap ---------------------------------------------------------------------------


def ws_frame(opcode, payload, rng):
    """A client frame: FIN set, masked with a key from the seeded generator."""
    mask = bytes(rng.randrange(256) for _ in range(4))
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


def ws_read(f):
    b0, b1 = f.read(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(f.read(2), "big")
    elif n == 127:
        n = int.from_bytes(f.read(8), "big")
    mask = f.read(4) if b1 & 0x80 else None
    payload = f.read(n)
    if mask:
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return b0 & 0x0F, payload


def cmd_websocket(port):
    rng = random.Random(6455)
    key = base64.b64encode(bytes(rng.randrange(256) for _ in range(16))).decode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(
        raw_request(
            "GET",
            "/ws",
            f"127.0.0.1:{port}",
            headers=[
                ("User-Agent", "shadowtap-captures/websocket"),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13"),
                ("Origin", f"http://127.0.0.1:{port}"),
            ],
        )
    )
    f = s.makefile("rb")
    status_line = f.readline()
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, v = line.decode().split(":", 1)
        headers[k.strip().lower()] = v.strip()
    want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    assert status == 101 and headers.get("sec-websocket-accept") == want, (status_line, headers)
    log("GET", "/ws", status, 0, 0)

    # Two frames from the server first (the second one's payload looks like an HTTP response).
    for _ in range(2):
        op, payload = ws_read(f)
        assert op == 1, op
    messages = [
        (0x1, b"hello from the client"),
        (0x1, b"GET /inside-the-tunnel HTTP/1.1\r\nHost: example.test\r\n\r\n"),
        (0x2, bytes(rng.randrange(256) for _ in range(300))),
        (0x9, b"ping-1"),
        (0x1, b"x" * 1000),
    ]
    for op, payload in messages:
        s.sendall(ws_frame(op, payload, rng))
        rop, rpayload = ws_read(f)
        assert rpayload == payload and rop == (0xA if op == 0x9 else op), (op, rop)
    s.sendall(ws_frame(0x8, (1000).to_bytes(2, "big") + b"bye", rng))
    rop, _ = ws_read(f)
    assert rop == 0x8
    s.close()


# --- connect.pcap ---------------------------------------------------------------------------


def cmd_connect_refused(port, user, password):
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    s = socket.create_connection(("127.0.0.1", port))
    shared = _SharedSock(s)
    ua = ("User-Agent", "shadowtap-captures/connect")
    # A CONNECT to a port the proxy does not allow: 403, and the connection stays HTTP.
    s.sendall(
        b"CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n"
        + f"User-Agent: {ua[1]}\r\nProxy-Authorization: Basic {auth}\r\n\r\n".encode()
    )
    r, body = read_response(shared, "CONNECT")
    assert r.status == 403, r.status
    log("CONNECT", "127.0.0.1:25", r.status, 0, len(body))
    # The same connection then carries an ordinary forward-proxy request (absolute-form target).
    target = f"http://127.0.0.1:{ORIGIN_PORT}/after-refused-connect"
    s.sendall(
        raw_request(
            "GET",
            target,
            f"127.0.0.1:{ORIGIN_PORT}",
            headers=[ua, ("Proxy-Authorization", f"Basic {auth}"), ("Accept", "application/json")],
        )
    )
    r, body = read_response(shared, "GET")
    assert r.status == 200, r.status
    log("GET", target, r.status, 0, len(body))
    s.close()


ORIGIN_PORT = 8082


def cmd_curl_connect_trace(path):
    """Turns `curl -v` output into log lines for the CONNECT requests curl sent to the proxy."""
    pending = None
    status = None
    length = 0
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\r\n")
        m = re.match(r"^> CONNECT (\S+) HTTP/1\.[01]$", line)
        if m:
            pending, status, length = m.group(1), None, 0
            continue
        if pending is None:
            continue
        m = re.match(r"^< HTTP/1\.[01] (\d{3})", line)
        if m:
            code = int(m.group(1))
            if code >= 200:
                status = code
            continue
        m = re.match(r"^< Content-Length: (\d+)", line, re.I)
        if m and status is not None:
            length = int(m.group(1))
            continue
        if line == "< " and status is not None:
            out.append(("CONNECT", pending, status, 0, 0 if status == 200 else length))
            pending = None
    for row in out:
        log(*row)


# --- expected.tsv ---------------------------------------------------------------------------


def cmd_expected(log_path, out_path):
    rows = []
    for line in open(log_path):
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "curl":
            method, url, status, up, down = parts[1:6]
            u = urllib.parse.urlsplit(url)
            target = (u.path or "/") + (f"?{u.query}" if u.query else "")
            rows.append([method, target, status, up, down])
        else:
            rows.append(parts)
    with open(out_path, "w") as f:
        f.write("method\turi\tstatus_code\trequest_body_len\tresponse_body_len\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


def main():
    global LOG, ORIGIN_PORT
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log", default=os.environ.get("CLIENT_LOG"))
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    a = p.parse_args()
    LOG = a.log
    if a.command == "pipelined":
        cmd_pipelined(int(a.args[0]))
    elif a.command == "chunked":
        cmd_chunked(int(a.args[0]))
    elif a.command == "websocket":
        cmd_websocket(int(a.args[0]))
    elif a.command == "connect-refused":
        ORIGIN_PORT = int(a.args[1])
        cmd_connect_refused(int(a.args[0]), a.args[2], a.args[3])
    elif a.command == "curl-connect-trace":
        cmd_curl_connect_trace(a.args[0])
    elif a.command == "expected":
        cmd_expected(a.args[0], a.args[1])
    else:
        p.error(f"unknown command {a.command}")


if __name__ == "__main__":
    main()
