#!/usr/bin/env python3
"""The clients of the `code` capture (stdlib only): eight personas calling api.code.test
through its nginx front door (tools/scenario-code.sh, ../code.md).

    code_client.py --port 8092 --log CLIENT_LOG [--summary ROUTES.tsv]

Each persona has its own source address (127.0.0.2-9) and one keep-alive connection; a seeded
random choice interleaves them, one request at a time, so every run sends the same requests in
the same order. Every request names the route it means (method and template, as the code
declares it, or as the gateway serves it) and the status the scenario needs; any other status
ends the run with a non-zero exit.

The client log gets one line per transaction (method, target, status, request and response
body bytes; see clients.py). --summary writes, per route, how many requests were sent with and
without credentials and the statuses seen: the "observed" column of ../code.md.
"""

import argparse
import http.client
import json
import random
import sys
from collections import defaultdict

HOST = "api.code.test"
SEED = 20261207

# The test accounts of tools/code_app (express/middleware/auth.js, fastapi/deps.py).
ALICE = {"email": "alice@code.test", "password": "correct-horse-1"}
BOB = {"email": "bob@code.test", "password": "battery-staple-2"}
CAROL_TOKEN = "tok-carol-0b93e5"  # the warehouse administrator's service token
# The API keys nginx accepts for /inventory/stock/ (tools/code.nginx.conf.template).
PARTNER_KEY = "ak-stock-partner-5e21"
WAREHOUSE_KEY = "ak-stock-warehouse-c7b0"

ORDER_IDS = [40011, 40012, 40013, 40017, 40021, 40022, 40028, 40031, 40035, 40040, 40044, 40052]
LEGACY_ORDER_IDS = [39001, 39004, 39010, 39012, 39015, 39020, 39023, 39027, 39030, 39041, 39046]
ITEM_IDS = [7001, 7002, 7003, 7005, 7008, 7013, 7021, 7034, 7055, 7089, 7144, 7233]
SKUS = ["SKU-10042", "SKU-10057", "SKU-20311", "SKU-20340", "SKU-30007", "SKU-30019", "SKU-41120",
        "SKU-41125", "SKU-55501", "SKU-60218", "SKU-60233", "SKU-77310"]


class Req:
    def __init__(self, method, target, route, expect, token=None, api_key=None, body=None):
        self.method = method
        self.target = target
        self.route = route  # "METHOD template": the route this request is meant for
        self.expect = expect
        self.headers = {}
        self.creds = token is not None or api_key is not None
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        if api_key is not None:
            self.headers["X-API-Key"] = api_key
        self.body = b""
        if body is not None:
            self.body = json.dumps(body, separators=(",", ":")).encode()
            self.headers["Content-Type"] = "application/json"


class Persona:
    def __init__(self, name, ip, user_agent, port, script):
        self.name = name
        self.ip = ip
        self.base = {"Host": HOST, "User-Agent": user_agent, "Accept": "application/json"}
        self.port = port
        self.script = script  # a generator of Req; it receives each response's JSON body
        self.conn = None
        self.pending = None
        self.last = None

    def next_request(self):
        try:
            if self.pending is None:
                self.pending = next(self.script)
            else:
                self.pending = self.script.send(self.last)
        except StopIteration:
            return None
        return self.pending

    def send(self, req):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.ip, 0), timeout=10)
        headers = {**self.base, **req.headers}
        if req.body:
            headers["Content-Length"] = str(len(req.body))
        self.conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            self.conn.putheader(k, v)
        self.conn.endheaders(req.body or None)
        r = self.conn.getresponse()
        raw = r.read()
        if r.will_close:
            self.close()
        try:
            self.last = json.loads(raw) if raw else None
        except ValueError:
            self.last = None
        return r.status, raw

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- personas -----------------------------------------------------------------------------------


def shop_web():
    """Alice in the web shop: logs in, looks at the catalog and her orders, places two orders."""
    r = yield Req("POST", "/api/users/login", "POST /api/users/login", 200, body=ALICE)
    tok = r["token"]
    yield Req("GET", "/api/users/me", "GET /api/users/me", 200, token=tok)
    yield Req("GET", "/api/catalog", "GET /api/catalog", 200, token=tok)
    yield Req("GET", "/api/orders", "GET /api/orders", 200, token=tok)
    for oid in ORDER_IDS[:7]:
        yield Req("GET", f"/api/orders/{oid}", "GET /api/orders/{orderId}", 200, token=tok)
    yield Req("POST", "/api/orders", "POST /api/orders", 201, token=tok,
              body={"items": [{"sku": "SKU-10042", "qty": 2}], "ship_to": "Alice Example, Berlin"})
    yield Req("GET", "/api/catalog", "GET /api/catalog", 200, token=tok)
    yield Req("POST", "/api/orders", "POST /api/orders", 201, token=tok,
              body={"items": [{"sku": "SKU-20311", "qty": 1}, {"sku": "SKU-10057", "qty": 1}]})
    yield Req("GET", "/api/orders", "GET /api/orders", 200, token=tok)
    yield Req("GET", "/api/users/me", "GET /api/users/me", 200, token=tok)


def shop_mobile():
    """Bob's mobile app (current version): the same routes, another account."""
    r = yield Req("POST", "/api/users/login", "POST /api/users/login", 200, body=BOB)
    tok = r["token"]
    yield Req("GET", "/api/users/me", "GET /api/users/me", 200, token=tok)
    yield Req("GET", "/api/catalog", "GET /api/catalog", 200, token=tok)
    yield Req("GET", "/api/orders", "GET /api/orders", 200, token=tok)
    for oid in ORDER_IDS[5:]:
        yield Req("GET", f"/api/orders/{oid}", "GET /api/orders/{orderId}", 200, token=tok)
    yield Req("POST", "/api/orders", "POST /api/orders", 201, token=tok,
              body={"items": [{"sku": "SKU-30007", "qty": 3}]})
    for iid in ITEM_IDS[:4]:
        yield Req("GET", f"/inventory/items/{iid}", "GET /inventory/items/{item_id}", 200, token=tok)


def visitor():
    """An anonymous visitor (and a curious script): public routes, the inventory items without
    credentials (answered 200: verify_token lets a request without a token through), and a few
    attempts at protected routes, refused."""
    yield Req("GET", "/api/catalog", "GET /api/catalog", 200)
    yield Req("GET", "/inventory/items", "GET /inventory/items", 200)
    for iid in ITEM_IDS:
        yield Req("GET", f"/inventory/items/{iid}", "GET /inventory/items/{item_id}", 200)
    yield Req("GET", "/api/orders", "GET /api/orders", 401)
    yield Req("GET", f"/api/orders/{ORDER_IDS[0]}", "GET /api/orders/{orderId}", 401)
    yield Req("GET", "/inventory/items?limit=10", "GET /inventory/items", 200)
    for iid in ITEM_IDS[::2]:
        yield Req("GET", f"/inventory/items/{iid}", "GET /inventory/items/{item_id}", 200)
    yield Req("GET", "/api/catalog", "GET /api/catalog", 200)


def warehouse():
    """The warehouse tool: updates items with its service token, reads stock with its key."""
    yield Req("GET", "/inventory/items", "GET /inventory/items", 200, token=CAROL_TOKEN)
    for i, iid in enumerate(ITEM_IDS):
        yield Req("GET", f"/inventory/items/{iid}", "GET /inventory/items/{item_id}", 200, token=CAROL_TOKEN)
        yield Req("PUT", f"/inventory/items/{iid}", "PUT /inventory/items/{item_id}", 200, token=CAROL_TOKEN,
                  body={"price_cents": 990 + 10 * i})
        yield Req("GET", f"/inventory/stock/{SKUS[i]}", "GET /inventory/stock/{sku}", 200, api_key=WAREHOUSE_KEY)


def stock_partner():
    """A reseller polling stock levels with its API key; its first two calls forgot the key."""
    yield Req("GET", f"/inventory/stock/{SKUS[0]}", "GET /inventory/stock/{sku}", 401)
    yield Req("GET", f"/inventory/stock/{SKUS[1]}", "GET /inventory/stock/{sku}", 401)
    for _ in range(2):
        for sku in SKUS:
            yield Req("GET", f"/inventory/stock/{sku}", "GET /inventory/stock/{sku}", 200, api_key=PARTNER_KEY)


def integration_script():
    """A half-finished integration: PUTs items without a token (refused), then with one."""
    for iid in ITEM_IDS[:3]:
        yield Req("PUT", f"/inventory/items/{iid}", "PUT /inventory/items/{item_id}", 401,
                  body={"name": f"Item {iid} (renamed)"})
    r = yield Req("POST", "/api/users/login", "POST /api/users/login", 200, body=ALICE)
    tok = r["token"]
    for iid in ITEM_IDS[:3]:
        yield Req("PUT", f"/inventory/items/{iid}", "PUT /inventory/items/{item_id}", 200, token=tok,
                  body={"name": f"Item {iid} (renamed)"})


def monitor():
    """The load balancer's health checks."""
    for _ in range(8):
        yield Req("GET", "/healthz", "GET /healthz", 200)


def legacy_mobile():
    """An old mobile build still on /api/v1/orders/<id> (rewritten by nginx)."""
    r = yield Req("POST", "/api/users/login", "POST /api/users/login", 200, body=BOB)
    tok = r["token"]
    for oid in LEGACY_ORDER_IDS:
        yield Req("GET", f"/api/v1/orders/{oid}", "GET /api/v1/orders/{id}", 200, token=tok)


PERSONAS = [
    ("shop_web", "127.0.0.2", "Mozilla/5.0 (X11; Linux x86_64) shop-web/3.4", shop_web),
    ("shop_mobile", "127.0.0.3", "ShopApp/5.2.0 (Android 14)", shop_mobile),
    ("visitor", "127.0.0.4", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1.15", visitor),
    ("warehouse", "127.0.0.5", "warehouse-tool/1.8 python-httpx/0.27", warehouse),
    ("stock_partner", "127.0.0.6", "partner-sync/2.0", stock_partner),
    ("integration_script", "127.0.0.7", "python-urllib3/2.2.1", integration_script),
    ("monitor", "127.0.0.8", "ELB-HealthChecker/2.0", monitor),
    ("legacy_mobile", "127.0.0.9", "ShopApp/3.1.7 (Android 9)", legacy_mobile),
]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--summary")
    a = p.parse_args()

    rng = random.Random(SEED)
    active = [Persona(name, ip, ua, a.port, fn()) for name, ip, ua, fn in PERSONAS]
    summary = defaultdict(lambda: {"with": 0, "without": 0, "statuses": defaultdict(int)})
    n = 0
    with open(a.log, "a") as log:
        while active:
            persona = active[rng.randrange(len(active))]
            req = persona.next_request()
            if req is None:
                persona.close()
                active.remove(persona)
                continue
            status, raw = persona.send(req)
            n += 1
            if status != req.expect:
                sys.exit(f"code_client: {persona.name} {req.method} {req.target}: got {status}, the scenario "
                         f"needs {req.expect}: {raw[:300]!r}")
            log.write(f"{req.method}\t{req.target}\t{status}\t{len(req.body)}\t{len(raw)}\n")
            s = summary[req.route]
            s["with" if req.creds else "without"] += 1
            s["statuses"][f"{status}{'+creds' if req.creds else ''}"] += 1
    if a.summary:
        with open(a.summary, "w") as f:
            f.write("route\twith_creds\twithout_creds\tstatuses\n")
            for route in sorted(summary, key=lambda r: (r.split()[1], r.split()[0])):
                s = summary[route]
                st = ",".join(f"{k}:{v}" for k, v in sorted(s["statuses"].items()))
                f.write(f"{route}\t{s['with']}\t{s['without']}\t{st}\n")
    print(f"code_client: {n} transactions", file=sys.stderr)


if __name__ == "__main__":
    main()
