#!/usr/bin/env python3
"""Clients of the Acme Shop REST API (rest_api.js) for rest_api.pcap. Stdlib only.

    rest_client.py run --port 8000 --log CLIENT_LOG --records RECORDS.jsonl
    rest_client.py report --records RECORDS.jsonl --openapi rest_api.openapi.yaml --out expected.md

`run` plays seven client personas, each from its own loopback source address, interleaved by a
seeded generator, one request at a time, so the sequence of requests, their bodies and the
server's answers are the same on every run. It writes the client log that make.sh turns into
rest_api.expected.tsv, and one JSON record per request (endpoint template, auth style, what
sensitive values travelled) from which `report` writes rest_api.expected.md.
"""

import argparse
import base64
import gzip
import hashlib
import hmac
import http.client
import json
import random
import re
import sys
import urllib.parse
import uuid
from collections import OrderedDict, defaultdict

HOST_HEADER = "api.acme.test"
SEED = 20240301

# Test credentials (must agree with rest_api.js).
JWT_SECRET = b"acme-captures-hs256-secret"
LOGIN_EMAIL = "ada.lovelace@example.com"
LOGIN_PASSWORD = "correct horse battery staple"
PARTNER_API_KEY = "ak_live_partner_7f3a9c2e51"
GEO_API_KEY = "pk_geo_51b2e0d4a9"
INTERNAL_API_KEY = "ik_internal_0c4f9b7e"
FIXED_IAT = 1709251200  # 2024-03-01T00:00:00Z
FAR_EXP = 4102444800  # 2100-01-01T00:00:00Z
CARD_OK = "4111111111111111"
CARD_DECLINED = "4000000000000002"
IBAN = "GB82WEST12345698765432"


# --- JWTs (HS256 with hmac, and one unsigned) -----------------------------------------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, alg="HS256"):
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    if alg == "none":
        return f"{head}.{body}."
    sig = hmac.new(JWT_SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


ISS = {"iss": "https://auth.acme.test", "aud": "acme-api"}
JWT_VALID = jwt({"sub": "1042", "name": "Ada Lovelace", "role": "customer", **ISS, "iat": FIXED_IAT, "exp": FAR_EXP})
JWT_VALID_1013 = jwt({"sub": "1013", "role": "customer", **ISS, "iat": FIXED_IAT, "exp": FAR_EXP})
JWT_NO_EXP = jwt({"sub": "1050", "role": "service", **ISS, "iat": FIXED_IAT})
JWT_EXPIRED = jwt({"sub": "1013", "role": "customer", **ISS, "iat": FIXED_IAT, "exp": FIXED_IAT + 3600})
JWT_ALG_NONE = jwt({"sub": "1001", "role": "admin", **ISS, "iat": FIXED_IAT}, alg="none")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- sensitive values this scenario plants (the ground truth of what travels where) ---------

SENSITIVE = [
    ("email", re.compile(rb"[A-Za-z0-9._%+-]+@example\.com")),
    ("phone", re.compile(rb"\+1-202-555-\d{4}")),
    ("us_ssn", re.compile(rb"\b123-45-6789\b")),
    ("credit_card", re.compile(rb"\b(?:4111111111111111|4000000000000002)\b")),
    ("iban", re.compile(rb"\bGB82WEST12345698765432\b")),
    ("aws_access_key_id", re.compile(rb"\bAKIA[0-9A-Z]{16}\b")),
    ("aws_secret_access_key", re.compile(rb'"aws_secret_access_key"')),
    ("password", re.compile(rb'"password"\s*:')),
    ("jwt", re.compile(rb"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")),
    ("oauth_client_secret", re.compile(rb"client_secret=")),
    ("access_token", re.compile(rb'"access_token"\s*:')),
    ("session_token", re.compile(rb'"session_token"\s*:')),
]


def sensitive_in(data):
    return [name for name, rx in SENSITIVE if rx.search(data)]


# --- transport --------------------------------------------------------------------------------


class Request:
    def __init__(self, method, target, template, auth="none", headers=None, json_body=None, body=None,
                 content_type=None, gzip_body=False):
        self.method = method
        self.target = target
        self.template = template
        self.auth = auth
        self.headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, separators=(", ", ": ")).encode()
            content_type = content_type or "application/json"
        self.plain_body = body or b""
        if gzip_body and body:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            self.headers["Content-Encoding"] = "gzip"
        self.body = body
        if content_type:
            self.headers["Content-Type"] = content_type


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        enc = headers.get("content-encoding", "")
        self.data = gzip.decompress(raw) if enc == "gzip" else raw
        try:
            self.json = json.loads(self.data) if self.data else None
        except ValueError:
            self.json = None


class Persona:
    def __init__(self, name, ip, user_agent, port, reconnect_every, base_headers=None):
        self.name = name
        self.ip = ip
        self.port = port
        self.reconnect_every = reconnect_every
        self.headers = {"Host": HOST_HEADER, "User-Agent": user_agent, "Accept": "application/json"}
        self.headers.update(base_headers or {})
        self.conn = None
        self.on_conn = 0
        self.connections = 0

    def send(self, req):
        if self.conn is None or self.on_conn >= self.reconnect_every:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.ip, 0), timeout=10)
            self.on_conn = 0
            self.connections += 1
        headers = {**self.headers, **req.headers}
        self.conn.request(req.method, req.target, body=req.body, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        self.on_conn += 1
        resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
        if r.will_close:
            self.conn.close()
            self.conn = None
        return resp

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- personas (generators: yield a Request, receive its Response) ----------------------------


def web_frontend(rng):
    """A browser single-page app: password login, then a JWT for the API and a session cookie
    for the cart."""
    yield Request("POST", "/api/v1/auth/login", "/api/v1/auth/login",
                  json_body={"email": LOGIN_EMAIL, "password": "hunter2", "remember_me": False})
    r = yield Request("POST", "/api/v1/auth/login", "/api/v1/auth/login",
                      json_body={"email": LOGIN_EMAIL, "password": LOGIN_PASSWORD, "remember_me": True})
    assert r.status == 200, r.status
    token = r.json["access_token"]
    cookie = r.headers["set-cookie"].split(";")[0]
    bearer = {"Authorization": f"Bearer {token}"}
    session = {"Cookie": f"{cookie}; theme=dark"}

    yield Request("GET", "/api/v1/users/me", "/api/v1/users/me", "bearer-jwt", bearer)
    seen = []
    for p in range(1, 5):
        q = f"page={p}&limit=5" + ("&sort=price" if p >= 3 else "")
        r = yield Request("GET", f"/api/v2/products?{q}", "/api/v2/products")
        seen += [x["id"] for x in r.json["data"]]
    for pid in rng.sample(seen, 6):
        yield Request("GET", f"/api/v2/products/{pid}", "/api/v2/products/{product_id}")
    yield Request("GET", "/api/v2/products/0", "/api/v2/products/{product_id}")

    yield Request("GET", "/api/v1/cart", "/api/v1/cart", "session-cookie", session)
    for pid in rng.sample(seen, 4):
        yield Request("POST", "/api/v1/cart/items", "/api/v1/cart/items", "session-cookie", session,
                      json_body={"product_id": pid, "quantity": rng.randint(1, 3), "gift": rng.random() < 0.3})
    yield Request("GET", "/api/v1/cart", "/api/v1/cart", "session-cookie", session)
    yield Request("DELETE", "/api/v1/cart/items/2", "/api/v1/cart/items/{item_id}", "session-cookie", session)
    yield Request("DELETE", "/api/v1/cart/items/99", "/api/v1/cart/items/{item_id}", "session-cookie", session)
    r = yield Request("GET", "/api/v1/cart", "/api/v1/cart", "session-cookie", session)
    items = [{"product_id": it["product_id"], "quantity": it["quantity"]} for it in r.json["items"]]

    yield Request("POST", "/api/v1/orders", "/api/v1/orders", "bearer-jwt", bearer,
                  json_body={"items": [], "coupon": None})
    r = yield Request("POST", "/api/v1/orders", "/api/v1/orders", "bearer-jwt", bearer,
                      json_body={"items": items, "coupon": "SPRING24", "notes": None, "gift_wrap": False})
    assert r.status == 201, r.status
    order = r.json
    card = {"holder": "Ada Lovelace", "exp_month": 12, "exp_year": 2028, "cvc": "123"}
    yield Request("POST", "/api/v1/payments", "/api/v1/payments", "bearer-jwt", bearer,
                  json_body={"order_id": order["id"], "amount": order["total"], "currency": "EUR",
                             "card": {"number": CARD_DECLINED, **card}, "save_card": False})
    yield Request("POST", "/api/v1/payments", "/api/v1/payments", "bearer-jwt", bearer,
                  json_body={"order_id": order["id"], "amount": order["total"], "currency": "EUR",
                             "card": {"number": CARD_OK, **card}, "save_card": True})

    for q in ("hopper", "turing"):
        yield Request("GET", f"/api/v1/users/search?q={q}&limit=5", "/api/v1/users/search", "bearer-jwt", bearer)
    yield Request("GET", "/api/v1/users/search?q=", "/api/v1/users/search", "bearer-jwt", bearer)
    yield Request("PATCH", "/api/v2/users/1042", "/api/v2/users/{user_id}", "bearer-jwt", bearer,
                  json_body={"display_name": "Ada L.", "phone": "+1-202-555-0199"})
    yield Request("PATCH", "/api/v2/users/1042", "/api/v2/users/{user_id}", "bearer-jwt", bearer,
                  json_body={"email": "ada@example.com"})
    yield Request("PUT", "/api/v1/users/1042/bank-account", "/api/v1/users/{user_id}/bank-account", "bearer-jwt",
                  bearer, json_body={"account_holder": "Ada Lovelace", "iban": IBAN, "bic": "WESTGB2L"})
    yield Request("GET", "/api/v1/users/me", "/api/v1/users/me", "bearer-jwt", bearer)


def mobile_app(rng):
    """The iOS app of the same user: a long-lived HS256 JWT, gzip accepted, v1 and v2 routes."""
    bearer = {"Authorization": f"Bearer {JWT_VALID}"}
    yield Request("GET", "/api/v1/users/me", "/api/v1/users/me", "bearer-jwt", bearer)
    ids = []
    for q in ("page=1&limit=5", "page=2&limit=5"):
        r = yield Request("GET", f"/api/v1/users/1042/orders?{q}", "/api/v1/users/{user_id}/orders", "bearer-jwt", bearer)
        ids += [o["id"] for o in r.json["data"]]
    yield Request("GET", "/api/v1/users/1042/orders?status=shipped&page=1", "/api/v1/users/{user_id}/orders",
                  "bearer-jwt", bearer)
    for oid in ids[:6]:
        yield Request("GET", f"/api/v1/users/1042/orders/{oid}", "/api/v1/users/{user_id}/orders/{order_id}",
                      "bearer-jwt", bearer)
    for oid in ids[:6]:
        yield Request("GET", f"/api/v2/orders/{oid}", "/api/v2/orders/{order_id}", "bearer-jwt", bearer)
    missing = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    yield Request("GET", f"/api/v2/orders/{missing}", "/api/v2/orders/{order_id}", "bearer-jwt", bearer)
    for uid in [1042] + rng.sample(range(1001, 1061), 5):
        yield Request("GET", f"/api/v2/users/{uid}", "/api/v2/users/{user_id}", "bearer-jwt", bearer)
    yield Request("GET", "/api/v2/users/999999", "/api/v2/users/{user_id}", "bearer-jwt", bearer)
    seen = []
    for p in (1, 2):
        r = yield Request("GET", f"/api/v2/products?page={p}&limit=10&active=true&since=2024-01-01T00:00:00Z",
                          "/api/v2/products")
        seen += [x["id"] for x in r.json["data"]]
    yield Request("GET", "/api/v2/products?since=yesterday", "/api/v2/products")
    for pid in rng.sample(seen, 3):
        yield Request("GET", f"/api/v2/products/{pid}", "/api/v2/products/{product_id}")
    yield Request("GET", "/api/v1/users/me", "/api/v1/users/me", "bearer-jwt", bearer)


def legacy_sync(rng):
    """An old batch job still on the v1 API, with a service JWT that never expires (no exp)."""
    bearer = {"Authorization": f"Bearer {JWT_NO_EXP}"}
    for p in range(1, 4):
        yield Request("GET", f"/api/v1/products?page={p}&limit=5&category=books", "/api/v1/products")
    yield Request("GET", "/api/v1/products?in_stock=true&page=1", "/api/v1/products")
    for uid in sorted(rng.sample(range(1001, 1061), 7)):
        yield Request("GET", f"/api/v1/users/{uid}", "/api/v1/users/{user_id}", "bearer-jwt", bearer)
    yield Request("GET", "/api/v1/users/999999", "/api/v1/users/{user_id}", "bearer-jwt", bearer)
    r = yield Request("GET", "/api/v1/users/1050/orders?page=1&limit=5", "/api/v1/users/{user_id}/orders",
                      "bearer-jwt", bearer)
    for o in r.json["data"]:
        yield Request("GET", f"/api/v1/orders/{o['id']}", "/api/v1/orders/{order_id}", "bearer-jwt", bearer)
    missing = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    yield Request("GET", f"/api/v1/orders/{missing}", "/api/v1/orders/{order_id}", "bearer-jwt", bearer)


def partner(rng):
    """A partner integration: API key in a header, an API key in the query, Basic auth."""
    key = {"X-API-Key": PARTNER_API_KEY}
    windows = [("2024-03-01T00:00:00Z", "2024-03-01T12:00:00Z", "hour", "true"),
               ("2024-03-01T00:00:00Z", "2024-03-08T00:00:00Z", "day", "false"),
               ("2024-03-02T10:00:00Z", "2024-03-02T10:10:00Z", "minute", "false"),
               ("2024-03-03T00:00:00Z", "2024-03-03T06:00:00Z", "hour", "true")]
    for f, t, g, p99 in windows:
        q = urllib.parse.urlencode({"from": f, "to": t, "granularity": g, "include_p99": p99})
        yield Request("GET", f"/api/v2/metrics?{q}", "/api/v2/metrics", "api-key-header", key)
    q = urllib.parse.urlencode({"from": "2024-03-01T00:00:00Z", "to": "2024-03-02T00:00:00Z", "granularity": "week"})
    yield Request("GET", f"/api/v2/metrics?{q}", "/api/v2/metrics", "api-key-header", key)
    yield Request("GET", f"/api/v2/metrics?{q}", "/api/v2/metrics", "api-key-header", {"X-API-Key": "ak_live_revoked_000"})

    for batch in range(1, 5):
        events = [{"type": rng.choice(["view", "click", "purchase"]), "product_id": rng.randint(1, 240),
                   "ts": f"2024-03-01T{batch:02d}:{i:02d}:00Z", "value": round(rng.random() * 100, 2),
                   "anonymous": rng.random() < 0.5} for i in range(12)]
        yield Request("POST", "/api/v2/events", "/api/v2/events", "api-key-header", key,
                      json_body={"batch_id": f"b-{batch:04d}", "source": "partner-connector", "events": events},
                      gzip_body=batch % 2 == 0)

    for n in (7, 19, 42, 77):
        yield Request("GET", f"/api/v1/geo/lookup?ip=203.0.113.{n}&api_key={GEO_API_KEY}", "/api/v1/geo/lookup",
                      "api-key-query")
    yield Request("GET", f"/api/v1/geo/lookup?ip=203.0.113.9&api_key=pk_geo_expired00", "/api/v1/geo/lookup",
                  "api-key-query")
    yield Request("GET", "/api/v1/geo/lookup?ip=203.0.113.9", "/api/v1/geo/lookup")

    auth = {"Authorization": basic("partner", "partner-s3cret")}
    for day in range(1, 8):
        yield Request("GET", f"/api/v1/reports/2024-03-{day:02d}", "/api/v1/reports/{report_date}", "basic", auth)
    yield Request("GET", "/api/v1/reports/2024-02-30", "/api/v1/reports/{report_date}", "basic", auth)
    yield Request("GET", "/api/v1/reports/2024-03-01", "/api/v1/reports/{report_date}", "basic",
                  {"Authorization": basic("partner", "wrong-password")})


def ops_console(rng):
    """An internal tool: OAuth client credentials for an opaque token, plus undocumented
    internal and admin routes."""
    r = yield Request("POST", "/api/v1/auth/token", "/api/v1/auth/token", "basic",
                      {"Authorization": basic("ops-console", "ops-console-client-secret")},
                      body=b"grant_type=client_credentials&scope=documents%3Aread+files%3Aread"
                           b"&client_id=ops-console&client_secret=ops-console-client-secret",
                      content_type="application/x-www-form-urlencoded")
    bearer = {"Authorization": f"Bearer {r.json['access_token']}"}
    r = yield Request("GET", "/api/v1/documents?page=1&limit=8", "/api/v1/documents", "bearer-opaque", bearer)
    docs = [d["id"] for d in r.json["data"]]
    for d in docs[:6]:
        yield Request("GET", f"/api/v1/documents/{d}", "/api/v1/documents/{document_id}", "bearer-opaque", bearer)
    yield Request("GET", "/api/v1/documents/000000000000000000000000", "/api/v1/documents/{document_id}",
                  "bearer-opaque", bearer)
    yield Request("DELETE", f"/api/v1/documents/{docs[7]}", "/api/v1/documents/{document_id}", "bearer-opaque", bearer)
    yield Request("GET", f"/api/v1/documents/{docs[7]}", "/api/v1/documents/{document_id}", "bearer-opaque", bearer)
    r = yield Request("GET", "/api/v1/files?limit=6", "/api/v1/files", "bearer-opaque", bearer)
    for f in r.json["data"]:
        yield Request("GET", f"/api/v1/files/{f['sha256']}", "/api/v1/files/{file_sha256}", "bearer-opaque", bearer)
    unknown = hashlib.sha256(b"not uploaded").hexdigest()
    yield Request("GET", f"/api/v1/files/{unknown}", "/api/v1/files/{file_sha256}", "bearer-opaque", bearer)
    for _ in range(2):
        yield Request("GET", "/api/v1/internal/debug", "/api/v1/internal/debug")
    for _ in range(2):
        yield Request("GET", "/api/v1/internal/config", "/api/v1/internal/config", "api-key-header",
                      {"X-API-Key": INTERNAL_API_KEY})
    for fmt in ("json", "json"):
        yield Request("GET", f"/api/v1/admin/export?format={fmt}&limit=25", "/api/v1/admin/export", "basic",
                      {"Authorization": basic("admin", "admin-s3cret"), "Accept-Encoding": "gzip"})


def scanner(rng):
    """Someone probing: no credentials, an expired JWT, an unsigned (alg none) JWT, another
    user's token (broken object-level authorization attempts), unknown paths."""
    yield Request("GET", "/api/v1/users/me", "/api/v1/users/me")
    for _ in range(2):
        yield Request("GET", "/api/v1/users/me", "/api/v1/users/me", "bearer-jwt-expired",
                      {"Authorization": f"Bearer {JWT_EXPIRED}"})
    yield Request("GET", "/api/v1/users/me", "/api/v1/users/me", "bearer-jwt-alg-none",
                  {"Authorization": f"Bearer {JWT_ALG_NONE}"})
    yield Request("POST", "/api/v1/admin/users/1001/impersonate", "/api/v1/admin/users/{user_id}/impersonate",
                  "bearer-jwt-alg-none", {"Authorization": f"Bearer {JWT_ALG_NONE}"},
                  json_body={"reason": "support ticket 4711"})
    yield Request("POST", "/api/v1/admin/users/1042/impersonate", "/api/v1/admin/users/{user_id}/impersonate",
                  "bearer-jwt-expired", {"Authorization": f"Bearer {JWT_EXPIRED}"}, json_body={"reason": "test"})
    yield Request("GET", "/api/v1/admin/export", "/api/v1/admin/export")
    yield Request("GET", "/api/v1/admin/export", "/api/v1/admin/export", "basic",
                  {"Authorization": basic("analyst", "analyst-s3cret")})
    yield Request("GET", "/api/v1/internal/debug", "/api/v1/internal/debug")
    yield Request("GET", "/api/v1/internal/config", "/api/v1/internal/config")
    other = {"Authorization": f"Bearer {JWT_VALID_1013}"}
    yield Request("GET", "/api/v1/users/1042/orders", "/api/v1/users/{user_id}/orders", "bearer-jwt", other)
    oid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    yield Request("GET", f"/api/v1/users/1042/orders/{oid}", "/api/v1/users/{user_id}/orders/{order_id}",
                  "bearer-jwt", other)
    yield Request("GET", "/.env", None)
    yield Request("GET", "/api/v3/users/1042", None)
    yield Request("GET", "/api/v1/users/1042/orders/not-a-uuid", None, "bearer-jwt", other)


def health_probe(rng):
    for _ in range(10):
        yield Request("GET", "/api/v1/health", "/api/v1/health")


PERSONAS = [
    # name, source address, User-Agent, requests per connection, extra headers, generator
    ("web-frontend", "127.0.0.2",
     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
     8, {"Accept-Language": "en-GB,en;q=0.9", "Accept-Encoding": "gzip, deflate, br"}, web_frontend),
    ("mobile-app", "127.0.0.3", "AcmeShop-iOS/5.2.1 (iPhone; iOS 17.3)", 20, {"Accept-Encoding": "gzip"}, mobile_app),
    ("legacy-sync", "127.0.0.4", "acme-legacy-sync/0.9", 50, {}, legacy_sync),
    ("partner", "127.0.0.5", "partner-connector/2.3.0", 12, {"Accept-Encoding": "gzip"}, partner),
    ("ops-console", "127.0.0.6", "ops-console/1.8 (internal)", 10, {}, ops_console),
    ("scanner", "127.0.0.7", "Mozilla/5.0 (compatible; acme-pentest/1.0)", 100, {}, scanner),
    ("health-probe", "127.0.0.8", "kube-probe/1.29", 1, {}, health_probe),
]


def cmd_run(args):
    rng = random.Random(SEED)
    active = []
    for name, ip, ua, per_conn, extra, gen_fn in PERSONAS:
        p = Persona(name, ip, ua, args.port, per_conn, extra)
        gen = gen_fn(random.Random(f"{SEED}-{name}"))
        active.append([p, gen, None])
    log = open(args.log, "a")
    records = open(args.records, "w")
    seq = 0
    while active:
        i = rng.randrange(len(active))
        p, gen, last = active[i]
        try:
            req = gen.send(last) if last is not None else next(gen)
        except StopIteration:
            p.close()
            active.pop(i)
            continue
        resp = p.send(req)
        active[i][2] = resp
        seq += 1
        req_len = len(req.body or b"")
        log.write(f"{req.method}\t{req.target}\t{resp.status}\t{req_len}\t{len(resp.raw)}\n")
        header_text = "\n".join(f"{k}: {v}" for k, v in {**p.headers, **req.headers}.items()).encode()
        records.write(json.dumps({
            "seq": seq,
            "client": p.name,
            "client_ip": p.ip,
            "connection": p.connections,
            "method": req.method,
            "uri": req.target,
            "template": req.template,
            "auth": req.auth,
            "status": resp.status,
            "request_body_len": req_len,
            "response_body_len": len(resp.raw),
            "request_content_type": req.headers.get("Content-Type"),
            "response_content_type": resp.headers.get("content-type"),
            "request_content_encoding": req.headers.get("Content-Encoding"),
            "response_content_encoding": resp.headers.get("content-encoding"),
            "request_sensitive": sensitive_in(req.plain_body + b"\n" + urllib.parse.unquote(req.target).encode()),
            "request_header_sensitive": sensitive_in(header_text),
            "response_sensitive": sensitive_in(resp.data),
            "response_sets_cookie": "set-cookie" in resp.headers,
        }) + "\n")
    log.close()
    records.close()
    print(f"rest_client: {seq} requests", file=sys.stderr)


# --- report: rest_api.expected.md -------------------------------------------------------------


def openapi_operations(path):
    """(METHOD, path) -> {'deprecated': bool} from the OpenAPI document's `paths` section.

    A deliberately small reader for the layout of rest_api.openapi.yaml (two-space indents):
    `paths:` at column 0, paths at 2, methods at 4, operation keys at 6."""
    ops = {}
    in_paths = False
    cur_path = cur_op = None
    for line in open(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        text = line.strip()
        if indent == 0:
            in_paths = text == "paths:"
            continue
        if not in_paths:
            continue
        if indent == 2 and text.endswith(":"):
            cur_path = text[:-1].strip("'\"")
            cur_op = None
        elif indent == 4 and text.rstrip(":") in ("get", "post", "put", "patch", "delete", "head", "options"):
            cur_op = (text.rstrip(":").upper(), cur_path)
            ops[cur_op] = {"deprecated": False}
        elif indent == 6 and cur_op and text.replace(" ", "") == "deprecated:true":
            ops[cur_op]["deprecated"] = True
    return ops


def value_type(v):
    if re.fullmatch(r"-?\d+", v):
        return "integer"
    if v in ("true", "false"):
        return "boolean"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", v):
        return "date-time"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return "date"
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", v):
        return "ipv4"
    if v == "":
        return "empty"
    return "string"


AUTH_DESC = {
    "none": "none",
    "bearer-jwt": "Bearer JWT (HS256)",
    "bearer-jwt-expired": "Bearer JWT (HS256, expired)",
    "bearer-jwt-alg-none": "Bearer JWT (alg none, unsigned)",
    "bearer-opaque": "Bearer opaque token",
    "basic": "Basic",
    "api-key-header": "X-API-Key header",
    "api-key-query": "api_key query parameter",
    "session-cookie": "session cookie (acme_session)",
}


def cmd_report(args):
    recs = [json.loads(l) for l in open(args.records)]
    ops = openapi_operations(args.openapi)
    by_ep = OrderedDict()
    for r in sorted(recs, key=lambda r: (r["template"] or "~", r["method"])):
        if r["template"] is None:
            continue
        by_ep.setdefault((r["method"], r["template"]), []).append(r)
    unrouted = [r for r in recs if r["template"] is None]
    clients = OrderedDict()
    for r in recs:
        c = clients.setdefault(r["client"], {"ip": r["client_ip"], "n": 0, "conns": 0, "auth": set()})
        c["n"] += 1
        c["conns"] = max(c["conns"], r["connection"])
        c["auth"].add(r["auth"])
    status_total = defaultdict(int)
    for r in recs:
        status_total[r["status"]] += 1

    o = []
    w = o.append
    w("# rest_api.pcap: expected API inventory (ground truth)")
    w("")
    w("Generated by `captures/tools/rest_client.py report` from what the clients sent and received")
    w("(`make.sh rest_api` rewrites it; the content is the same on every run). Tests of the API")
    w("inventory assert against this file.")
    w("")
    w("- Server: `captures/tools/rest_api.js` (Node stdlib) on 127.0.0.1:8000, `Host: api.acme.test`.")
    w("- Clients: `captures/tools/rest_client.py`, seed %d, one request at a time, so the order of" % SEED)
    w("  transactions in the capture is the order below and in `rest_api.expected.tsv`.")
    w(f"- Transactions: **{len(recs)}**, on {sum(c['conns'] for c in clients.values())} TCP connections "
      f"from {len(clients)} client addresses.")
    w("- Status codes: " + ", ".join(f"{s}: {n}" for s, n in sorted(status_total.items())) + ".")
    w("- Documented = the operation (method + path template) is in `rest_api.openapi.yaml`; shadow = it")
    w("  is not. Deprecated = `deprecated: true` there (a v1 route whose v2 successor is used too; the")
    w("  server also answers these with `Deprecation: true` and a `Link: <...>; rel=\"successor-version\"`).")
    w("- Path parameters: `{user_id}`, `{product_id}`, `{item_id}` are integers; `{order_id}` a UUID")
    w("  (v4); `{document_id}` 24 hex digits (a MongoDB ObjectId); `{file_sha256}` 64 hex digits;")
    w("  `{report_date}` an ISO date (`2024-03-01`). Literal siblings: `/api/v1/users/me` and")
    w("  `/api/v1/users/search` beside `/api/v1/users/{user_id}`.")
    w("")
    w("## Clients")
    w("")
    w("| client | address | requests | connections | auth styles used |")
    w("| --- | --- | ---: | ---: | --- |")
    for name, c in sorted(clients.items(), key=lambda kv: kv[1]["ip"]):
        w(f"| {name} | {c['ip']} | {c['n']} | {c['conns']} | {', '.join(AUTH_DESC[a] for a in sorted(c['auth']))} |")
    w("")
    w("## Endpoints exercised")
    w("")
    w("`auth seen` lists every style of credentials sent (including failed attempts); `auth on 2xx` only")
    w("those of requests that succeeded, i.e. what the endpoint really accepts.")
    w("")
    w("| method | path template | requests | status codes | documented | deprecated | auth seen | auth on 2xx | clients |")
    w("| --- | --- | ---: | --- | --- | --- | --- | --- | --- |")
    for (m, t), rs in by_ep.items():
        st = defaultdict(int)
        for r in rs:
            st[r["status"]] += 1
        op = ops.get((m, t))
        doc = "yes" if op else "**no (shadow)**"
        dep = "yes" if op and op["deprecated"] else "no"
        auths = sorted({r["auth"] for r in rs})
        cl = sorted({r["client"] for r in rs})
        ok = sorted({r["auth"] for r in rs if 200 <= r["status"] < 300})
        w(f"| {m} | `{t}` | {len(rs)} | {', '.join(f'{s}×{n}' for s, n in sorted(st.items()))} | {doc} | {dep} | "
          f"{'; '.join(AUTH_DESC[a] for a in auths)} | {'; '.join(AUTH_DESC[a] for a in ok) or '-'} | {', '.join(cl)} |")
    w("")
    w(f"Endpoints: {len(by_ep)} exercised; {sum(1 for k in by_ep if k in ops)} documented, "
      f"{sum(1 for k in by_ep if k not in ops)} shadow, {sum(1 for k in by_ep if k in ops and ops[k]['deprecated'])} deprecated.")
    w("")
    w("### Shadow endpoints (served and used, not in the OpenAPI document)")
    w("")
    for (m, t) in by_ep:
        if (m, t) not in ops:
            w(f"- `{m} {t}`")
    w("")
    w("### Deprecated endpoints still in use")
    w("")
    for (m, t) in by_ep:
        if (m, t) in ops and ops[(m, t)]["deprecated"]:
            succ = t.replace("/api/v1/", "/api/v2/")
            w(f"- `{m} {t}` ({len(by_ep[(m, t)])} requests; successor `{m} {succ}`)")
    w("")
    w("### Dormant operations (documented, never called)")
    w("")
    for (m, t) in sorted(ops, key=lambda k: (k[1], k[0])):
        if (m, t) not in by_ep:
            w(f"- `{m} {t}`")
    w("")
    w("### Requests that match no endpoint (404 from the router)")
    w("")
    for r in unrouted:
        w(f"- `{r['method']} {r['uri']}` → {r['status']} ({r['client']})")
    w("")
    w("## Query parameters and bodies per endpoint")
    w("")
    w("Query parameter names seen, with the type of the values sent (integer, boolean, date-time, date,")
    w("ipv4, string); request and response body media types (`+gzip`: Content-Encoding gzip on some).")
    w("")
    w("| method | path template | query parameters | request body | response body |")
    w("| --- | --- | --- | --- | --- |")
    for (m, t), rs in by_ep.items():
        params = OrderedDict()
        for r in rs:
            for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(r["uri"]).query, keep_blank_values=True):
                params.setdefault(k, set()).add(value_type(v))
        qp = ", ".join(f"`{k}`: {'/'.join(sorted(ts))}" for k, ts in sorted(params.items())) or "-"
        req_ct = sorted({(r["request_content_type"] or "") + ("+gzip" if r["request_content_encoding"] == "gzip" else "")
                         for r in rs if r["request_body_len"]})
        resp_ct = sorted({(r["response_content_type"] or "").split(";")[0] + ("+gzip" if r["response_content_encoding"] == "gzip" else "")
                          for r in rs if r["response_body_len"]})
        w(f"| {m} | `{t}` | {qp} | {', '.join(req_ct) or '-'} | {', '.join(resp_ct) or '-'} |")
    w("")
    w("## Sensitive data per endpoint")
    w("")
    w("What travelled in bodies (request body and query string; response body after gzip decoding),")
    w("found by matching the values this scenario plants, with the number of transactions where each")
    w("kind appears. Kinds: `email` (…@example.com), `phone` (+1-202-555-NNNN), `us_ssn` (123-45-6789),")
    w("`credit_card` (4111111111111111, and the decline test card 4000000000000002), `iban`")
    w("(GB82WEST12345698765432), `aws_access_key_id` (AKIAIOSFODNN7EXAMPLE), `aws_secret_access_key`,")
    w("`password` (a JSON `password` field), `jwt`, `oauth_client_secret` (form field), `access_token`,")
    w("`session_token`. Credentials in headers (Authorization, X-API-Key, Cookie) are covered by the")
    w("auth column above, and `Set-Cookie` by the last column.")
    w("")
    w("| method | path template | in requests | in responses | sets cookie |")
    w("| --- | --- | --- | --- | --- |")

    def kinds(rs, key):
        cnt = OrderedDict()
        for name, _ in SENSITIVE:
            n = sum(1 for r in rs if name in r[key])
            if n:
                cnt[name] = n
        return ", ".join(f"{k}×{n}" for k, n in cnt.items()) or "-"

    for (m, t), rs in by_ep.items():
        sets = sum(1 for r in rs if r["response_sets_cookie"])
        w(f"| {m} | `{t}` | {kinds(rs, 'request_sensitive')} | {kinds(rs, 'response_sensitive')} | "
          f"{f'yes ×{sets}' if sets else '-'} |")
    w("")
    w("## Other properties worth asserting")
    w("")
    gz_resp = sum(1 for r in recs if r["response_content_encoding"] == "gzip")
    gz_req = sum(1 for r in recs if r["request_content_encoding"] == "gzip")
    w(f"- gzip-encoded JSON responses: {gz_resp} (clients sending `Accept-Encoding: gzip`, bodies ≥ 512 bytes);")
    w(f"  gzip-encoded request bodies: {gz_req} (`POST /api/v2/events`, `Content-Encoding: gzip`).")
    w("- Orders (`GET /api/v1/orders/{order_id}`, `GET /api/v2/orders/{order_id}`,")
    w("  `GET /api/v1/users/{user_id}/orders/{order_id}`, `POST /api/v1/orders`) carry `ledger_seq`, an integer")
    w("  above 2^53 (int64).")
    w("- JSON formats in responses: uuid (`id` of orders and payments), email, date-time (`created_at`,")
    w("  `updated_at`), date (`date_of_birth`, report `date`), int64 (`ledger_seq`), floats (`price`, `total`,")
    w("  `latitude`), booleans, null (`middle_name`, `coupon`, some `rating`), nested objects and arrays.")
    w("- JWTs: HS256 with `exp` (valid until 2100; the web client's one is issued by `POST /api/v1/auth/login`),")
    w("  HS256 without `exp` (legacy-sync), HS256 expired (scanner, answered 401), and `alg: none` (scanner:")
    w("  401 on `/api/v1/users/me` but **200 on the shadow `POST /api/v1/admin/users/{user_id}/impersonate`**).")
    w("- Error bodies are JSON `{\"error\", \"message\", \"request_id\"}` (400 adds `details`); the 500 comes from")
    w("  `GET /api/v1/reports/2024-02-30` (an impossible date).")
    w("")
    open(args.out, "w").write("\n".join(o))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, default=8000)
    r.add_argument("--log", required=True)
    r.add_argument("--records", required=True)
    rp = sub.add_parser("report")
    rp.add_argument("--records", required=True)
    rp.add_argument("--openapi", required=True)
    rp.add_argument("--out", required=True)
    a = p.parse_args()
    cmd_run(a) if a.cmd == "run" else cmd_report(a)


if __name__ == "__main__":
    main()
