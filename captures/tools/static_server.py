#!/usr/bin/env python3
"""The noise-control scenario's server (stdlib only): one web shop that serves its pages and
static assets beside a small JSON API, and two third-party hosts its pages call, told apart by
the Host header (the capture has them all on one loopback port).

    static_server.py PORT

Host shop.static.test (published in static.openapi.yaml: /api/products, /api/users/{id}):
    /, /about                 HTML documents
    /assets/app.js            a script that holds a support e-mail address (text/javascript)
    /assets/app.js.map        its source map (application/json)
    /assets/style.css, /assets/logo.png, /assets/fonts/inter.woff2, /favicon.ico
    /api/products             JSON
    /api/users/{id}           JSON with the user's e-mail address (404 for unknown ids)
    /api/widget.js?callback=  JSONP: the products as a call of the callback
    /data.json                a JSON document (an API, despite its extension)
    /api/internal/debug       JSON, in no API description (a shadow API)
    /healthz                  JSON health check
Host www.google-analytics.com: GET /collect (a 1x1 GIF), POST /g/collect (204).
Host cdn.jsdelivr.net: GET /npm/chart.js@4.4.0/dist/chart.umd.js (a script).

Every static file has a fixed ETag, so a conditional GET is answered 304.
"""

import http.server
import json
import os
import sys
import urllib.parse

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/about": ("about.html", "text/html; charset=utf-8"),
    "/assets/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/assets/app.js.map": ("app.js.map", "application/json"),
    "/assets/style.css": ("style.css", "text/css; charset=utf-8"),
    "/assets/logo.png": ("logo.png", "image/png"),
    "/assets/fonts/inter.woff2": ("inter.woff2", "font/woff2"),
    "/favicon.ico": ("favicon.ico", "image/vnd.microsoft.icon"),
}

PRODUCTS = [
    {"id": 1, "name": "Espresso cup", "price": 9.5},
    {"id": 2, "name": "Milk jug", "price": 14.0},
    {"id": 3, "name": "Tamper", "price": 21.0},
]
USERS = {
    "17": {"id": 17, "name": "Ada Park", "email": "ada.park@shopmail.net"},
    "42": {"id": 42, "name": "Ben Ortiz", "email": "ben.ortiz@shopmail.net"},
}
# GIF89a, 1x1, transparent.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shop/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.headers.get("Host", "-"), fmt % args))

    def send(self, status, body=b"", ctype=None, extra=()):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def json(self, status, value):
        self.send(status, json.dumps(value).encode(), "application/json")

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.drain()
        host = self.headers.get("Host", "")
        path = urllib.parse.urlsplit(self.path).path
        if host == "www.google-analytics.com" and path == "/g/collect":
            return self.send(204)
        self.json(404, {"error": "not found"})

    def do_GET(self):
        host = self.headers.get("Host", "")
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        if host == "www.google-analytics.com":
            if path == "/collect":
                return self.send(200, PIXEL, "image/gif", [("Cache-Control", "no-cache")])
            return self.send(404, b"Not Found", "text/plain")
        if host == "cdn.jsdelivr.net":
            if path == "/npm/chart.js@4.4.0/dist/chart.umd.js":
                body = b"/*! Chart.js v4.4.0 */\n!function(t){t.Chart=function(){}}(this);\n"
                return self.send(200, body, "application/javascript; charset=utf-8",
                                 [("Cache-Control", "public, max-age=31536000")])
            return self.send(404, b"Not Found", "text/plain")
        if host != "shop.static.test":
            return self.send(421, b"Misdirected Request", "text/plain")
        if path in FILES:
            name, ctype = FILES[path]
            with open(os.path.join(HERE, name), "rb") as f:
                body = f.read()
            etag = '"%s-%d"' % (name, len(body))
            if self.headers.get("If-None-Match") == etag:
                return self.send(304, extra=[("ETag", etag)])
            return self.send(200, body, ctype, [("ETag", etag)])
        if path == "/api/products":
            return self.json(200, PRODUCTS)
        if path.startswith("/api/users/"):
            user = USERS.get(path[len("/api/users/"):])
            return self.json(200, user) if user else self.json(404, {"error": "no such user"})
        if path == "/api/widget.js":
            cb = query.get("callback", ["cb"])[0]
            body = "%s(%s);" % (cb, json.dumps(PRODUCTS))
            return self.send(200, body.encode(), "application/javascript")
        if path == "/data.json":
            return self.json(200, {"currency": "EUR", "shipping": [4.9, 9.9]})
        if path == "/api/internal/debug":
            return self.json(200, {"queue": 3, "workers": 2, "build": "2024.01"})
        if path == "/healthz":
            return self.json(200, {"ok": True})
        self.send(404, b"<h1>Not Found</h1>", "text/html")


def main():
    port = int(sys.argv[1])
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
