#!/usr/bin/env python3
"""Clients of the Posture Shop API (posture_server.js) for posture.pcap. Stdlib only.

    posture_client.py run --port 8088 --log CLIENT_LOG --records RECORDS.jsonl
    posture_client.py findings --records RECORDS.jsonl --openapi posture.openapi.yaml --out FINDINGS.tsv

`run` plays thirteen personas, each from its own loopback source address (127.0.0.2-14), one
request at a time. Who goes next is decided by a seeded generator on a virtual clock (a tick
every 0.25 s, and no persona sends twice within its own minimum gap of at least 1 s); the real
clock is only used to sleep until the virtual time of the next request, so the order of the
requests, their bodies and the server's answers are the same on every run. In the middle, one
scraper sends 200 requests in about 2 s (the rate-limiting case). Every request says which
status it expects, and the run fails when the server answers otherwise: every flaw of the
ground truth really happened. JWTs are minted at start-up relative to the current time (valid:
exp = iat + 15 min; expired: exp one hour ago; long-lived: 90 days; one without exp).

`findings` writes posture.expected-findings.tsv: the findings the scenario was designed to
produce (EXPECTED below, with the reason for each), after checking that an independent
evaluation of the recorded traffic against the product's rules finds exactly those and no
more. A change of traffic that adds or loses a finding makes it fail instead of writing a
wrong ground truth.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import sys
import time
import urllib.parse
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
FX = json.load(open(os.path.join(HERE, "posture_fixtures.json")))
HOST = FX["host"]
SEED = 20240917
TICK = 0.25  # virtual seconds between two request slots
FLOOD_AT = 8.0  # virtual time at which the scraper starts
FLOOD_REQUESTS = 200
FLOOD_SPACING = 0.01  # seconds between two flood requests (about 100 per second)

PARTNER_KEY, POS_KEY, SCRAPER_KEY = list(FX["api_keys"])
OPS_KEY = list(FX["ops_api_keys"])[0]
FINANCE_USER, FINANCE_PASSWORD = list(FX["basic_users"].items())[0]
ORDER_ADA, ORDER_JANE, ORDER_ALAN = [o["id"] for o in FX["orders"]]
APP_ORIGIN = FX["cors_allowed_origins"][0]


# --- JWTs ---------------------------------------------------------------------------------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt(claims, secret=None, alg="HS256"):
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    if alg == "none":
        return f"{head}.{body}."
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def mint_tokens(now):
    """The JWTs of the scenario, relative to `now` (integer seconds)."""
    iss = {"iss": FX["jwt_issuer"], "aud": FX["jwt_audience"]}
    strong = FX["jwt_secret"]
    return {
        # Clean: strong random key, exp 15 minutes after iat.
        "web": jwt({"sub": "1042", "role": "customer", **iss, "iat": now, "exp": now + 900}, strong),
        "support": jwt({"sub": "9017", "role": "support", **iss, "iat": now, "exp": now + 900}, strong),
        # Flawed tokens (each accepted somewhere, see EXPECTED).
        "long_lived": jwt({"sub": "1044", "role": "customer", **iss, "iat": now, "exp": now + 90 * 86400}, strong),
        "expired": jwt({"sub": "1043", "role": "customer", **iss, "iat": now - 7200, "exp": now - 3600}, strong),
        "no_exp": jwt({"sub": "1042", "role": "service", **iss, "iat": now}, strong),
        "weak": jwt({"sub": "1042", "role": "customer", **iss, "iat": now, "exp": now + 900}, FX["jwt_dev_secret"]),
        "alg_none": jwt({"sub": "1", "role": "admin", **iss, "iat": now, "exp": now + 900}, alg="none"),
    }


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- transport ----------------------------------------------------------------------------------


class Request:
    def __init__(self, method, target, template, expect, headers=None, json_body=None):
        self.method = method
        self.target = target
        self.template = template  # the OpenAPI path template, or the literal path when undocumented
        self.expect = expect  # the status the scenario relies on
        self.headers = dict(headers or {})
        self.body = b""
        if json_body is not None:
            self.body = json.dumps(json_body, separators=(",", ":")).encode()
            self.headers["Content-Type"] = "application/json"


class Persona:
    def __init__(self, name, ip, port, base_headers, gap, start, per_conn=1000):
        self.name = name
        self.ip = ip
        self.port = port
        self.base = base_headers
        self.gap = gap
        self.next_ready = start
        self.per_conn = per_conn
        self.conn = None
        self.on_conn = 0

    def send(self, req):
        if self.conn is None or self.on_conn >= self.per_conn:
            self.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.ip, 0), timeout=10)
            self.on_conn = 0
        headers = {**self.base, **req.headers}
        if req.body:
            headers["Content-Length"] = str(len(req.body))
        self.conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            self.conn.putheader(k, v)
        self.conn.endheaders(req.body or None)
        r = self.conn.getresponse()
        raw = r.read()
        self.on_conn += 1
        resp_headers = [(k.lower(), v) for k, v in r.getheaders()]
        if r.will_close:
            self.close()
        return r.status, resp_headers, raw, headers

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- personas (generators of Requests) ----------------------------------------------------------


def web_spa(t, rng):
    """The shop's single-page app on https://app.posture.test, logged in as customer 1042 with a
    clean JWT. It sends the token only to routes that need it (never to the public catalogue)."""
    bearer = {"Authorization": f"Bearer {t['web']}"}
    for p in (1, 2, 3):
        yield Request("GET", f"/api/v2/products?page={p}&limit=5", "/api/v2/products", 200)
    yield Request("GET", "/api/v2/products?page=0&limit=5", "/api/v2/products", 400)
    pid = rng.choice([4, 14, 21])
    yield Request("GET", f"/api/v2/products/{pid}", "/api/v2/products/{product_id}", 200)
    yield Request("GET", "/api/v2/products/9999", "/api/v2/products/{product_id}", 404)
    yield Request("GET", "/api/v2/customers/1042", "/api/v2/customers/{customer_id}", 200, bearer)
    yield Request("GET", "/api/v2/loyalty/balance", "/api/v2/loyalty/balance", 200, bearer)
    yield Request("GET", "/api/v2/wishlist", "/api/v2/wishlist", 200, bearer)
    # A client bug sends the coupon as a number: the server crashes and shows its stack.
    yield Request("POST", "/api/v2/orders", "/api/v2/orders", 500, bearer,
                  json_body={"items": [{"product_id": pid, "quantity": 1}], "coupon": 10})
    yield Request("POST", "/api/v2/orders", "/api/v2/orders", 201, bearer,
                  json_body={"items": [{"product_id": pid, "quantity": 1}], "coupon": "welcome10"})
    yield Request("GET", f"/api/v2/orders/{FX['new_order_id']}", "/api/v2/orders/{order_id}", 200, bearer)
    yield Request("GET", f"/api/v2/orders/{ORDER_ADA}", "/api/v2/orders/{order_id}", 200, bearer)


def mobile_legacy(t, rng):
    """An old Android app (4.2): still on the v1 catalogue and the deprecated search, with a JWT
    that lives 90 days."""
    bearer = {"Authorization": f"Bearer {t['long_lived']}"}
    yield Request("GET", "/api/v1/products?page=1&limit=5", "/api/v1/products", 200)
    yield Request("GET", "/api/v1/products?page=2&limit=5", "/api/v1/products", 200)
    yield Request("GET", "/api/v2/search?q=lamp", "/api/v2/search", 200)
    yield Request("GET", "/api/v2/loyalty/balance", "/api/v2/loyalty/balance", 200, bearer)
    yield Request("GET", f"/api/v2/search?q={rng.choice(['kettle', 'puzzle'])}", "/api/v2/search", 200)
    yield Request("GET", "/api/v2/loyalty/balance", "/api/v2/loyalty/balance", 200, bearer)


def support_console(t, rng):
    """The support agents' console (clean JWT): looks customers up by e-mail address, in the URL."""
    bearer = {"Authorization": f"Bearer {t['support']}"}
    yield Request("GET", "/api/v2/customers/lookup?email=jane.doe@example.com", "/api/v2/customers/lookup", 200, bearer)
    yield Request("GET", "/api/v2/customers/1043", "/api/v2/customers/{customer_id}", 200, bearer)
    yield Request("GET", "/api/v2/customers/lookup?email=nobody%40example.com", "/api/v2/customers/lookup", 404, bearer)
    yield Request("GET", "/api/v2/customers/1044", "/api/v2/customers/{customer_id}", 200, bearer)


def partner(t, rng):
    """A partner integration with an API key in the X-API-Key header, at a polite rate."""
    key = {"X-API-Key": PARTNER_KEY}
    for pid in (3, 14):
        yield Request("GET", f"/api/v2/stock/{pid}", "/api/v2/stock/{product_id}", 200, key)
    yield Request("GET", "/api/v2/price-list?category=books", "/api/v2/price-list", 200, key)
    yield Request("GET", "/api/v2/stock/27", "/api/v2/stock/{product_id}", 200, key)
    yield Request("GET", "/api/v2/stock/99", "/api/v2/stock/{product_id}", 404, key)


def pos_terminal(t, rng):
    """A point-of-sale terminal that cannot set headers: its API key travels in the query."""
    for cat in ("kitchen", "toys"):
        yield Request("GET", f"/api/v2/price-list?category={cat}&api_key={POS_KEY}", "/api/v2/price-list", 200)


def finance(t, rng):
    """A finance script with HTTP Basic credentials (over plain HTTP)."""
    auth = {"Authorization": basic(FINANCE_USER, FINANCE_PASSWORD)}
    yield Request("GET", "/api/v2/reports/sales?month=2024-02", "/api/v2/reports/sales", 200, auth)
    yield Request("GET", "/api/v2/reports/sales?month=2024-03", "/api/v2/reports/sales", 200, auth)
    yield Request("GET", "/api/v2/reports/sales?month=2024-03", "/api/v2/reports/sales", 401,
                  {"Authorization": basic(FINANCE_USER, "quarterly-close-2024")})


def store_kiosk(t, rng):
    """An in-store kiosk that keeps presenting a token that expired an hour ago."""
    bearer = {"Authorization": f"Bearer {t['expired']}"}
    for _ in range(2):
        yield Request("GET", "/api/v2/loyalty/balance", "/api/v2/loyalty/balance", 200, bearer)


def loyalty_sync(t, rng):
    """A batch job with a service JWT that has no exp claim."""
    bearer = {"Authorization": f"Bearer {t['no_exp']}"}
    for _ in range(2):
        yield Request("GET", "/api/v2/loyalty/balance", "/api/v2/loyalty/balance", 200, bearer)


def ops_dashboard(t, rng):
    """The ops dashboard polling an internal route that the spec does not describe."""
    key = {"X-API-Key": OPS_KEY}
    for _ in range(3):
        yield Request("GET", "/api/internal/metrics", "/api/internal/metrics", 200, key)


def shopper(t, rng):
    """An anonymous visitor: browses, reads reviews, follows a "track your order" link."""
    yield Request("GET", "/api/v2/products?page=1&limit=5", "/api/v2/products", 200)
    yield Request("GET", "/api/v2/products/27", "/api/v2/products/{product_id}", 200)
    yield Request("GET", "/api/v2/products/27/reviews", "/api/v2/products/{product_id}/reviews", 200)
    yield Request("GET", f"/api/v2/orders/{ORDER_JANE}", "/api/v2/orders/{order_id}", 200)
    yield Request("GET", "/api/v2/products/3/reviews", "/api/v2/products/{product_id}/reviews", 200)
    yield Request("GET", f"/api/v2/orders/{ORDER_JANE}", "/api/v2/orders/{order_id}", 200)


def scanner(t, rng):
    """Someone probing with forged and stale tokens: the customer route refuses them all; the
    admin route takes the unsigned one and the loyalty route the one signed with `secret`."""
    path = "/api/v2/customers/1042"
    yield Request("GET", path, "/api/v2/customers/{customer_id}", 401)
    for name in ("expired", "alg_none", "weak"):
        yield Request("GET", path, "/api/v2/customers/{customer_id}", 401, {"Authorization": f"Bearer {t[name]}"})
    yield Request("GET", "/api/v2/admin/users", "/api/v2/admin/users", 401)
    yield Request("GET", "/api/v2/admin/users", "/api/v2/admin/users", 200, {"Authorization": f"Bearer {t['alg_none']}"})
    yield Request("GET", "/api/v2/loyalty/balance", "/api/v2/loyalty/balance", 200, {"Authorization": f"Bearer {t['weak']}"})


def health_probe(t, rng):
    for _ in range(6):
        yield Request("GET", "/api/health", "/api/health", 200)


def scraper_flood(t, rng):
    """A price-watch partner hammering the stock route with its own key: 200 requests in ~2 s,
    never answered 429."""
    key = {"X-API-Key": SCRAPER_KEY}
    for i in range(FLOOD_REQUESTS):
        pid = 1 + (i * 7) % 40
        yield Request("GET", f"/api/v2/stock/{pid}", "/api/v2/stock/{product_id}", 200, key)


def ua(s):
    return {"Host": HOST, "User-Agent": s, "Accept": "application/json"}


# name, source address, base headers, minimum gap (virtual s), first slot (virtual s), requests
# per connection, generator
PERSONAS = [
    ("web-spa", "127.0.0.2", {**ua("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
                              "Origin": APP_ORIGIN}, 1.0, 0.0, 1000, web_spa),
    ("mobile-legacy", "127.0.0.3", ua("ShopApp-Android/4.2.0"), 2.0, 0.5, 1000, mobile_legacy),
    ("support-console", "127.0.0.4", ua("support-console/2.1"), 2.0, 1.0, 1000, support_console),
    ("partner", "127.0.0.5", ua("partner-feeds/1.4"), 2.0, 0.25, 1000, partner),
    ("pos-terminal", "127.0.0.6", ua("pos-terminal/0.9 (store 0042)"), 3.0, 2.0, 1000, pos_terminal),
    ("finance", "127.0.0.7", ua("finance-reports/3.0"), 2.0, 3.0, 1000, finance),
    ("store-kiosk", "127.0.0.8", ua("ShopKiosk/1.2"), 3.0, 1.5, 1000, store_kiosk),
    ("loyalty-sync", "127.0.0.9", ua("loyalty-sync/5.0 (batch)"), 3.0, 4.0, 1000, loyalty_sync),
    ("ops-dashboard", "127.0.0.10", ua("ops-dashboard/1.3"), 3.0, 0.75, 1000, ops_dashboard),
    ("shopper", "127.0.0.11", ua("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15"),
     1.5, 1.25, 1000, shopper),
    ("scanner", "127.0.0.13", ua("Mozilla/5.0 (compatible; pentest-kit/0.3)"), 1.0, 5.0, 1000, scanner),
    ("health-probe", "127.0.0.14", {"Host": HOST, "User-Agent": "kube-probe/1.29", "Accept": "*/*"},
     3.0, 0.0, 1, health_probe),
]
SCRAPER = ("scraper", "127.0.0.12", {"Host": HOST, "User-Agent": "python-requests/2.31.0", "Accept": "*/*"},
           0.0, FLOOD_AT, 1000, scraper_flood)


def cmd_run(args):
    now = int(time.time())
    tokens = mint_tokens(now)
    rng = random.Random(SEED)
    active = []
    for name, ip, base, gap, start, per_conn, gen_fn in PERSONAS + [SCRAPER]:
        p = Persona(name, ip, args.port, base, gap, start, per_conn)
        active.append((p, gen_fn(tokens, random.Random(f"{SEED}-{name}"))))
    log = open(args.log, "a")
    records = open(args.records, "w")
    seq = 0
    t0 = time.monotonic()
    vt = 0.0

    def one(p, req, flood):
        nonlocal seq
        sent = time.time()
        status, resp_headers, raw, req_headers = p.send(req)
        seq += 1
        if status != req.expect:
            sys.exit(f"posture_client: {p.name} {req.method} {req.target}: got {status}, the scenario needs "
                     f"{req.expect}: {raw[:300]!r}")
        log.write(f"{req.method}\t{req.target}\t{status}\t{len(req.body)}\t{len(raw)}\n")
        records.write(json.dumps({
            "seq": seq, "persona": p.name, "client": p.ip, "time": sent, "flood": flood,
            "method": req.method, "target": req.target, "template": req.template,
            "request_headers": req_headers, "request_body": req.body.decode(),
            "status": status, "response_headers": resp_headers, "response_body": raw.decode(errors="replace"),
        }) + "\n")

    while active:
        ready = [i for i, (p, _) in enumerate(active) if p.next_ready <= vt + 1e-9]
        if not ready:
            vt = max(vt + TICK, min(p.next_ready for p, _ in active))
            continue
        i = ready[rng.randrange(len(ready))]
        p, gen = active[i]
        delay = t0 + vt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if p.name == "scraper":
            start = time.monotonic()
            for k, req in enumerate(gen):
                delay = start + k * FLOOD_SPACING - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                one(p, req, True)
            p.close()
            active.pop(i)
            vt += FLOOD_REQUESTS * FLOOD_SPACING + TICK
            continue
        req = next(gen, None)
        if req is None:
            p.close()
            active.pop(i)
            continue
        one(p, req, False)
        p.next_ready = vt + p.gap
        vt += TICK
    log.close()
    records.close()
    print(f"posture_client: {seq} requests in {time.monotonic() - t0:.1f} s", file=sys.stderr)


# --- the ground truth ---------------------------------------------------------------------------

# (kind, method, path_template, client, note). The order is the order of the file.
EXPECTED = [
    ("shadow_api", "GET", "/api/internal/metrics", "-",
     "not in the spec and no documented successor; ops-dashboard (127.0.0.10) calls it 3x with its X-API-Key"),
    ("zombie_api", "GET", "/api/v2/search", "-",
     "documented with deprecated: true, still called 2x by mobile-legacy (127.0.0.3)"),
    ("zombie_api", "GET", "/api/v1/products", "-",
     "v1 not in the spec while GET /api/v2/products is documented; mobile-legacy calls it 2x (a zombie, not a shadow)"),
    ("unauthenticated_endpoint", "GET", "/api/v2/orders/{order_id}", "-",
     "spec requires bearerAuth; the handler never checks it: shopper (127.0.0.11) gets 200 twice without credentials"),
    ("auth_inconsistent", "GET", "/api/v2/orders/{order_id}", "-",
     "200 with web-spa's valid JWT (127.0.0.2) and 200 without any credentials (shopper)"),
    ("unauthenticated_sensitive_data", "GET", "/api/v2/products/{product_id}/reviews", "-",
     "public route (security: []) whose 200 carries reviewers' emails and phone numbers, to shopper without credentials"),
    ("jwt_alg_none_accepted", "GET", "/api/v2/admin/users", "-",
     "scanner (127.0.0.13) gets 200 with an unsigned alg=none token claiming role admin"),
    ("jwt_expired_accepted", "GET", "/api/v2/loyalty/balance", "-",
     "store-kiosk (127.0.0.8) gets 200 twice with a JWT whose exp is one hour before the request"),
    ("jwt_no_expiry", "GET", "/api/v2/loyalty/balance", "-",
     "loyalty-sync (127.0.0.9) gets 200 twice with a JWT that has no exp claim"),
    ("jwt_long_lived", "GET", "/api/v2/loyalty/balance", "-",
     "mobile-legacy (127.0.0.3) gets 200 twice with a JWT whose exp - iat is 90 days"),
    ("jwt_weak_secret", "GET", "/api/v2/loyalty/balance", "-",
     "scanner gets 200 with an HS256 JWT signed with `secret` (exp 15 min after iat, so nothing else)"),
    ("credentials_in_url", "GET", "/api/v2/price-list", "-",
     "pos-terminal (127.0.0.6) sends ?api_key=... 2x; partner uses the header on the same route"),
    ("basic_auth_cleartext", "GET", "/api/v2/reports/sales", "-",
     "finance (127.0.0.7) sends Authorization: Basic over plain HTTP 3x (200, 200, 401)"),
    ("sensitive_data_in_url", "GET", "/api/v2/customers/lookup", "-",
     "support-console (127.0.0.4) looks customers up with ?email=... (raw @ once, %40 once)"),
    ("verbose_errors", "POST", "/api/v2/orders", "-",
     "web-spa's order with a numeric coupon crashes the handler: 500 with a Node stack trace (    at normalizeCoupon (/srv/shop/server.js:...))"),
    ("cors_wildcard_credentials", "GET", "/api/v2/wishlist", "-",
     "200 to web-spa with Access-Control-Allow-Origin: * and Access-Control-Allow-Credentials: true"),
    ("no_rate_limiting", "GET", "/api/v2/stock/{product_id}", "127.0.0.12",
     "scraper: 200 requests in about 2 s with one API key, all 200, no 429; every other principal sends at most 1 request/s"),
]

WEAK_SECRETS = [
    "secret", "secret123", "secretkey", "secret-key", "secret_key", "mysecret", "my-secret", "supersecret",
    "changeme", "change-me", "changeit", "password", "password123", "passw0rd", "123456", "12345678", "qwerty",
    "letmein", "admin", "default", "test", "testing", "key", "jwt", "jwtsecret", "jwt-secret", "jwt_secret",
    "your-256-bit-secret", "your_jwt_secret", "shhhhh", "keyboard cat", "s3cr3t",
]
CREDENTIAL_PARAMS = {"api_key", "apikey", "api-key", "key", "access_token", "token", "auth", "auth_token", "id_token",
                     "refresh_token", "password", "passwd", "pwd", "secret", "client_secret", "session", "sessionid",
                     "jwt", "sig", "signature", "x-amz-signature"}
API_KEY_HEADERS = {"x-api-key", "api-key", "apikey", "x-apikey", "x-api-token", "api-token", "x-auth-token",
                   "x-access-token", "x-token", "x-goog-api-key", "ocp-apim-subscription-key", "x-functions-key"}
PERSONAL = [
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("phone", re.compile(r"\+\d{1,3}[ .-]?\(?\d{2,4}\)?(?:[ .-]?\d{2,4}){2,4}|\b\(?[2-9]\d{2}\)?[ -]\d{3}-\d{4}\b")),
    ("us_ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("credit_card", re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b")),
    ("aws_access_key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
]


def luhn(digits):
    s = 0
    for i, d in enumerate(reversed(digits)):
        d = int(d)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        s += d
    return s % 10 == 0


def personal_data(text):
    found = set()
    for name, rx in PERSONAL:
        for m in rx.finditer(text):
            if name == "credit_card":
                digits = re.sub(r"\D", "", m.group())
                if not (13 <= len(digits) <= 19 and luhn(digits)):
                    continue
            found.add(name)
    return found


def stack_trace(text):
    return ("Traceback (most recent call last)" in text
            or ("    at " in text and (".js:" in text or ".ts:" in text or "node:internal" in text))
            or ("\tat " in text and ".java:" in text))


def registrable(host):
    return ".".join(host.lower().rstrip(".").split(".")[-2:])


def openapi_operations(path):
    """{(METHOD, path): {'deprecated': bool, 'public': bool}} from the layout of
    posture.openapi.yaml: `paths:` at column 0, paths at 2 spaces, methods at 4, operation keys
    at 6; global `security:` at column 0."""
    ops = {}
    section = None
    cur_path = cur = None
    global_security = False
    lines = open(path).read().splitlines()
    for n, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        text = line.strip()
        if indent == 0:
            section = text.rstrip(":").split(":")[0]
            if section == "security":
                global_security = any(l.startswith("  - ") and "{}" not in l for l in lines[n + 1:n + 3])
            continue
        if section != "paths":
            continue
        if indent == 2 and text.endswith(":"):
            cur_path = text[:-1].strip("'\"")
        elif indent == 4 and text.rstrip(":") in ("get", "put", "post", "delete", "patch", "head", "options"):
            cur = {"deprecated": False, "security": None}
            ops[(text.rstrip(":").upper(), cur_path)] = cur
        elif indent == 6 and cur is not None:
            if text == "deprecated: true":
                cur["deprecated"] = True
            elif text == "security: []":
                cur["security"] = []
            elif text == "security:":
                cur["security"] = ["listed"]
    for op in ops.values():
        op["public"] = op["security"] == [] or (op["security"] is None and not global_security)
    return ops


def template_regex(template):
    return re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$")


def evaluate(records, ops):
    """The findings the recorded traffic shows, by the product's rules (an independent check of
    EXPECTED): {(kind, method, template, client)}."""
    out = set()
    ok = lambda r: 200 <= r["status"] < 300
    by_endpoint = defaultdict(list)
    for r in records:
        path, _, query = r["target"].partition("?")
        if not template_regex(r["template"]).match(path):
            sys.exit(f"posture_client: {r['target']} does not match its template {r['template']}")
        ep = (r["method"], r["template"])
        by_endpoint[ep].append(r)
        h = {k.lower(): v for k, v in r["request_headers"].items()}
        rh = dict(r["response_headers"])
        params = urllib.parse.parse_qsl(query, keep_blank_values=True)
        auth = h.get("authorization", "")
        cookies = [c.split("=")[0].strip().lower() for c in h.get("cookie", "").split(";") if "=" in c]
        r["credentialed"] = bool(
            auth or API_KEY_HEADERS & set(h)
            or any(n.lower() in CREDENTIAL_PARAMS and v for n, v in params)
            or any(w in c for c in cookies for w in ("session", "sess", "sid", "token", "jwt", "auth")))
        add = lambda kind, client="-": out.add((kind, r["method"], r["template"], client))

        if ok(r) and auth.startswith("Bearer "):
            token = auth[7:]
            parts = token.split(".")
            try:
                header = json.loads(b64url_decode(parts[0]))
                claims = json.loads(b64url_decode(parts[1]))
            except (ValueError, IndexError):
                header = claims = None
            if header is not None:
                if str(header.get("alg", "")).lower() == "none":
                    add("jwt_alg_none_accepted")
                else:
                    exp, iat = claims.get("exp"), claims.get("iat")
                    if exp is None:
                        add("jwt_no_expiry")
                    elif exp < r["time"]:
                        add("jwt_expired_accepted")
                    elif exp - (iat if iat is not None else r["time"]) > 30 * 86400:
                        add("jwt_long_lived")
                    if header.get("alg") == "HS256":
                        signing = f"{parts[0]}.{parts[1]}".encode()
                        for s in WEAK_SECRETS:
                            if b64url(hmac.new(s.encode(), signing, hashlib.sha256).digest()) == parts[2]:
                                add("jwt_weak_secret")
        if any(n.lower() in CREDENTIAL_PARAMS and v for n, v in params) or any(
                v.startswith("eyJ") and v.count(".") == 2 for _, v in params):
            add("credentials_in_url")
        if auth.lower().startswith("basic "):
            add("basic_auth_cleartext")
        if personal_data(urllib.parse.unquote(r["target"])):
            add("sensitive_data_in_url")
        if ok(r) and not r["credentialed"] and personal_data(r["response_body"]):
            add("unauthenticated_sensitive_data")
        if stack_trace(r["response_body"]):
            add("verbose_errors")
        acac, acao = rh.get("access-control-allow-credentials", ""), rh.get("access-control-allow-origin")
        if acac.strip().lower() == "true" and acao is not None:
            origin = h.get("origin")
            if acao.strip() == "*" or (origin == acao and (acao == "null" or registrable(
                    urllib.parse.urlsplit(acao).hostname or "") != registrable(h["host"].split(":")[0]))):
                add("cors_wildcard_credentials")

    # Whole-inventory checks.
    for (method, template), rs in by_endpoint.items():
        add = lambda kind, client="-": out.add((kind, method, template, client))
        op = ops.get((method, template))
        if op is None:
            successor = re.sub(r"^/api/v(\d+)/", lambda m: f"/api/v{int(m.group(1)) + 1}/", template)
            add("zombie_api" if successor != template and (method, successor) in ops else "shadow_api")
        elif op["deprecated"]:
            add("zombie_api")
        if op is not None and not op["public"] and any(ok(r) and not r["credentialed"] for r in rs):
            add("unauthenticated_endpoint")
        if any(ok(r) and r["credentialed"] for r in rs) and any(ok(r) and not r["credentialed"] for r in rs):
            add("auth_inconsistent")

    # Rate: requests per principal (client address and credential) in any 10 s window.
    def principal(r):
        h = {k.lower(): v for k, v in r["request_headers"].items()}
        return (r["client"], h.get("authorization") or h.get("x-api-key") or "")

    windows = defaultdict(int)
    by_principal = defaultdict(list)
    for r in records:
        by_principal[principal(r)].append(r)
    for p, rs in by_principal.items():
        times = sorted(r["time"] for r in rs)
        j = 0
        for i, t in enumerate(times):
            while times[j] < t - 10:
                j += 1
            windows[p] = max(windows[p], i - j + 1)
    for p, rs in by_principal.items():
        others = max((w for q, w in windows.items() if q != p), default=0)
        if windows[p] >= 100 and windows[p] >= 10 * others and not any(r["status"] == 429 for r in rs):
            busiest = max({(r["method"], r["template"]) for r in rs}, key=lambda e: sum(
                1 for r in rs if (r["method"], r["template"]) == e))
            out.add(("no_rate_limiting", busiest[0], busiest[1], p[0]))
    return out, windows


def cmd_findings(args):
    records = [json.loads(l) for l in open(args.records)]
    ops = openapi_operations(args.openapi)
    got, windows = evaluate(records, ops)
    want = {(k, m, p, c) for k, m, p, c, _ in EXPECTED}
    if len(want) != len(EXPECTED):
        sys.exit("posture_client: EXPECTED has duplicate rows")
    if got != want:
        for row in sorted(want - got):
            print(f"  expected but not shown by the traffic: {row}", file=sys.stderr)
        for row in sorted(got - want):
            print(f"  shown by the traffic but not expected: {row}", file=sys.stderr)
        sys.exit("posture_client: the traffic does not match the ground truth")
    busiest = sorted(windows.values(), reverse=True)[:2]
    with open(args.out, "w") as f:
        f.write("kind\tmethod\tpath_template\tclient\tnote\n")
        for row in EXPECTED:
            f.write("\t".join(row) + "\n")
    print(f"posture_client: {len(EXPECTED)} expected findings agree with the traffic "
          f"({len(records)} requests; busiest principals: {busiest[0]} and {busiest[1]} requests in 10 s)",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--port", type=int, default=8088)
    run.add_argument("--log", required=True)
    run.add_argument("--records", required=True)
    fnd = sub.add_parser("findings")
    fnd.add_argument("--records", required=True)
    fnd.add_argument("--openapi", required=True)
    fnd.add_argument("--out", required=True)
    a = ap.parse_args()
    cmd_run(a) if a.command == "run" else cmd_findings(a)


if __name__ == "__main__":
    main()
