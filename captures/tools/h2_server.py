#!/usr/bin/env python3
"""An h2c (HTTP/2 over cleartext TCP) JSON API for the HTTP/2 captures, on the `h2` package.

    h2_server.py PORT

Speaks HTTP/2 with prior knowledge (the client preface first) and after an HTTP/1.1
`Upgrade: h2c` (answered `101 Switching Protocols`, the request then being stream 1), as RFC
7540 section 3.2 describes; a plain HTTP/1.1 request without the upgrade gets a 200 in HTTP/1.1.

Routes:
    GET  /hello             200 text/plain
    GET  /api/items         200 application/json
    GET  /api/items/{id}    200 application/json (404 unless id is 1..9)
    POST /api/items         201 application/json, the JSON body echoed with an id
    GET  /gzip              200 application/json, Content-Encoding: gzip
    GET  /grpc-like         200 application/grpc-ish body, then trailers (grpc-status: 0)
    GET  /reset             response headers, then RST_STREAM (CANCEL)
    anything else           404 application/json
"""

import gzip
import json
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def route(method, path, body):
    """(status, headers, body, trailers, reset) for a request."""
    js = [("content-type", "application/json")]
    if method == "GET" and path == "/hello":
        return 200, [("content-type", "text/plain")], b"hello over h2c\n", None, False
    if method == "GET" and path == "/api/items":
        items = [{"id": i, "name": f"item-{i}"} for i in range(1, 4)]
        return 200, js, json.dumps(items).encode(), None, False
    if method == "GET" and path.startswith("/api/items/"):
        tail = path.rsplit("/", 1)[1]
        if tail.isdigit() and 1 <= int(tail) <= 9:
            return 200, js, json.dumps({"id": int(tail), "name": f"item-{tail}"}).encode(), None, False
        return 404, js, b'{"error":"no such item"}', None, False
    if method == "POST" and path == "/api/items":
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return 400, js, b'{"error":"bad json"}', None, False
        doc["id"] = 10
        return 201, js, json.dumps(doc).encode(), None, False
    if method == "GET" and path == "/gzip":
        payload = json.dumps({"compressed": True, "filler": "abc" * 200}).encode()
        return 200, js + [("content-encoding", "gzip")], gzip.compress(payload, mtime=0), None, False
    if method == "GET" and path == "/grpc-like":
        return 200, [("content-type", "application/grpc")], b"\x00\x00\x00\x00\x02hi", [("grpc-status", "0"), ("grpc-message", "ok")], False
    if method == "GET" and path == "/reset":
        return 200, js, b"", None, True
    return 404, js, b'{"error":"not found"}', None, False


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.reqs = {}

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def respond(self, sid):
        method, path, body = self.reqs.pop(sid)
        status, headers, payload, trailers, reset = route(method, path, body)
        hdrs = [(":status", str(status))] + headers
        if not reset:
            hdrs.append(("content-length", str(len(payload))))
        end = not payload and not trailers and not reset
        self.h2.send_headers(sid, hdrs, end_stream=end)
        if reset:
            self.flush()
            self.h2.reset_stream(sid, error_code=8)
        elif payload:
            self.h2.send_data(sid, payload, end_stream=trailers is None)
            if trailers:
                self.h2.send_headers(sid, trailers, end_stream=True)
        elif trailers:
            self.h2.send_headers(sid, trailers, end_stream=True)
        self.flush()

    def events(self, evs):
        for ev in evs:
            if isinstance(ev, h2.events.RequestReceived):
                h = dict(ev.headers)
                self.reqs[ev.stream_id] = (h.get(":method"), h.get(":path"), b"")
                if ev.stream_ended:
                    self.respond(ev.stream_id)
            elif isinstance(ev, h2.events.DataReceived):
                m, p, b = self.reqs.get(ev.stream_id, ("", "", b""))
                self.reqs[ev.stream_id] = (m, p, b + ev.data)
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if ev.stream_ended:
                    self.respond(ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                if ev.stream_id in self.reqs:
                    self.respond(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                return False
        self.flush()
        return True

    def run(self):
        buf = b""
        while len(buf) < len(PREFACE) and b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return
            buf += chunk
            if PREFACE.startswith(buf):
                continue
        if buf.startswith(PREFACE):
            self.h2.initiate_connection()
            self.flush()
            self.events(self.h2.receive_data(buf))
        else:
            while b"\r\n\r\n" not in buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            fields = {}
            for line in lines[1:]:
                n, v = line.split(":", 1)
                fields[n.strip().lower()] = v.strip()
            length = int(fields.get("content-length", "0"))
            while len(rest) < length:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                rest += chunk
            body, rest = rest[:length], rest[length:]
            if "h2c" not in fields.get("upgrade", ""):
                status, headers, payload, _, _ = route(method, target, body)
                out = f"HTTP/1.1 {status} X\r\ncontent-length: {len(payload)}\r\n"
                out += "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
                self.sock.sendall(out.encode() + payload)
                return
            self.sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
            self.h2.initiate_upgrade_connection(fields.get("http2-settings", ""))
            self.flush()
            self.reqs[1] = (method, target, body)
            self.respond(1)
            if rest:
                self.events(self.h2.receive_data(rest))
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            if not self.events(self.h2.receive_data(data)):
                return


def serve(sock):
    try:
        Conn(sock).run()
    except Exception as e:  # a client gone away mid-stream
        print("connection error:", repr(e), file=sys.stderr)
    finally:
        sock.close()


def main():
    port = int(sys.argv[1])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    while True:
        s, _ = srv.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
