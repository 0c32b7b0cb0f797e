#!/usr/bin/env python3
"""Clients of the Seq Shop API (sequences_server.js) for sequences.pcap. Stdlib only.

    sequences_client.py run --port 8089 --log CLIENT_LOG --records RECORDS.jsonl
    sequences_client.py truth --records RECORDS.jsonl --pcap CAPTURE.pcap --port 8089 \\
        --transitions OUT_TRANSITIONS.tsv --findings OUT_FINDINGS.tsv

`run` plays the personas of ../sequences.md, each from its own loopback address, one request at
a time on a virtual clock: every persona's steps have fixed virtual times (a seeded think time
between two steps), the scheduler always sends the earliest step next and sleeps until its
virtual time, so the order of the requests, their bodies and the server's answers are the same
on every run. Every request names the status it needs and the run fails otherwise.

`truth` derives the ground truth from what the clients did (never from shadowtap):
- the transitions (consecutive calls of one principal, principal = the JWT's `sub` when the
  request carries a token, else the client address; a `sub:` session that starts right after a
  login from the same address and User-Agent continues from that login), with counts;
- the findings, from an independent evaluation of the recorded calls with the rules written
  in ../sequences.md; it writes them only when that evaluation finds exactly the designed rows
  (EXPECTED below), and fails otherwise;
- and it checks the recorded pcap: the same requests in the same order from the same
  addresses, each on the wire within 1 s of its virtual time (counted from the first packet),
  so the baseline boundary of sequences.md holds in packet time too.
"""

import argparse
import base64
import http.client
import json
import os
import random
import struct
import sys
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
FX = json.load(open(os.path.join(HERE, "sequences_fixtures.json")))
HOST = FX["host"]
ACCOUNTS = {int(k): v for k, v in FX["accounts"].items()}
SEED = 20241128

# Virtual times (seconds from the first request, which is also the first packet).
BASELINE_END = 19.0  # the boundary: baseline personas are done before it, the rest start after
BASELINE_LAST_BEFORE = 18.0  # every baseline request is sent before this ...
AFTER_FIRST = 22.0  # ... and every later one (but the health prober's) at or after this
PROBE_EVERY = 2.0
PROBE_UNTIL = 46.0
WALK = range(1000, 1100)  # the scraper's walk over GET /api/users/{id}
WALK_SPACING = 0.2
BURST_AT = 34.0
BURST_REQUESTS = 150
BURST_SPACING = 1 / 30  # 150 requests in 5 s
BURST_IDS = [4, 9, 15, 23, 31, 38, 46, 52]  # a small set, no two adjacent
MAX_LAG = 1.0  # later than this behind its virtual time fails the run (the boundary has 2 s of margin)

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Safari/605.1.15")
CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0.0.0 Safari/537.36")
CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/124.0.0.0 Safari/537.36")
APP_IOS = "SeqShop/3.1.2 (iPhone; iOS 17.4)"
APP_ANDROID = "SeqShop/3.1.2 (Android 14)"
THIEF_UA = "python-requests/2.31.0"
PROBE_UA = "kube-probe/1.29"

# The findings the scenario is designed to produce: (kind, principal).
EXPECTED = [
    ("enumeration", "sub:401"),
    ("novel_transition", "sub:501"),
    ("fingerprint_change", "sub:103"),
    ("rate_anomaly", "sub:701"),
]

# Rules of the independent evaluation (see ../sequences.md).
SESSION_GAP = 1800.0
STITCH_WINDOW = 300.0
ENUM_WINDOW, ENUM_MIN_DISTINCT, ENUM_MIN_RUN = 600.0, 20, 10
NOVEL_MIN_FROM = 5
FP_MIN_BEFORE, MULTI_ADDR_MIN, MULTI_ADDR_WINDOW = 3, 3, 300.0
RATE_WINDOW, RATE_MIN_PEAK, RATE_RATIO, RATE_MAD_FACTOR = 10.0, 60, 5.0, 10.0


# --- transport --------------------------------------------------------------------------------


class Req:
    def __init__(self, method, target, template, json_body=None, expect=200):
        self.method = method
        self.target = target
        self.template = template
        self.body = json.dumps(json_body, separators=(",", ":")).encode() if json_body is not None else None
        self.expect = expect


class Resp:
    def __init__(self, status, raw):
        self.status = status
        self.raw = raw
        self.json = json.loads(raw) if raw else None


class Persona:
    def __init__(self, name, ip, ua, lang=None, port=8089):
        self.name = name
        self.ip = ip
        self.ua = ua
        self.lang = lang
        self.port = port
        self.token = None
        self.conn = None
        self.conn_ip = None
        self.connections = 0

    def send(self, req):
        if self.conn is not None and self.conn_ip != self.ip:
            self.close()  # moved to another address: a new connection from there
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.ip, 0), timeout=10)
            self.conn_ip = self.ip
            self.connections += 1
        c = self.conn
        c.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        c.putheader("Host", HOST)
        c.putheader("User-Agent", self.ua)
        if self.lang:
            c.putheader("Accept-Language", self.lang)
        if self.token:
            c.putheader("Authorization", f"Bearer {self.token}")
        if req.body is not None:
            c.putheader("Content-Type", "application/json")
            c.putheader("Content-Length", str(len(req.body)))
        c.endheaders(req.body)
        r = c.getresponse()
        raw = r.read()
        if r.will_close:
            self.close()
        return Resp(r.status, raw)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- personas: generators yielding (virtual time, Req), receiving the Resp ------------------


def think(rng):
    return round(rng.uniform(0.2, 0.5), 3)


def login(p):
    a = ACCOUNTS[p.user]
    return Req("POST", "/api/login", "/api/login", {"username": a["username"], "password": a["password"]})


def shop(p, rng, t, shared, pages, views, adds, roam=None):
    """The normal flow: log in, browse pages 1..`pages`, view `views` listed products, add `adds`
    of them to the cart, view the cart, check out, view the order, view one's own profile.
    `roam` = (pause, new address): after the first cart add, pause and carry on from there."""
    r = yield t, login(p)
    p.token = r.json["access_token"]
    shared["tokens"][p.user] = p.token
    listed = []
    for page in range(1, pages + 1):
        t += think(rng)
        r = yield t, Req("GET", f"/api/products?page={page}", "/api/products")
        listed += [i["id"] for i in r.json["items"]]
    chosen = rng.sample(listed, views)
    while any(abs(x - y) == 1 for x in chosen for y in chosen):  # a handful of ids, none adjacent
        chosen = rng.sample(listed, views)
    added = set(rng.sample(chosen, adds))
    for pid in chosen:
        t += think(rng)
        yield t, Req("GET", f"/api/products/{pid}", "/api/products/{product_id}")
        if pid in added:
            t += think(rng)
            yield t, Req("POST", "/api/cart/items", "/api/cart/items",
                         {"product_id": pid, "quantity": rng.randint(1, 3)}, expect=201)
            if roam:
                pause, ip = roam
                t += pause
                p.ip = ip
                roam = None
    t += think(rng)
    yield t, Req("GET", "/api/cart", "/api/cart")
    t += think(rng)
    r = yield t, Req("POST", "/api/checkout", "/api/checkout",
                     {"payment_method": "card", "shipping": "standard"}, expect=201)
    oid = r.json["order_id"]
    shared["orders"][p.user] = oid
    t += think(rng)
    yield t, Req("GET", f"/api/orders/{oid}", "/api/orders/{order_id}")
    t += think(rng)
    yield t, Req("GET", f"/api/users/{p.user}", "/api/users/{user_id}")
    return t


def shopper(pages, views, adds, roam=None):
    def gen(p, rng, t, shared):
        yield from shop(p, rng, t, shared, pages, views, adds, roam)
    return gen


def scraper(p, rng, t, shared):
    """User 401: a normal start, then GET /api/users/{id} for 1000..1099 in order, 5 a second."""
    t = yield from shop(p, rng, t, shared, pages=1, views=2, adds=1)
    t += 0.4
    for uid in WALK:
        yield t, Req("GET", f"/api/users/{uid}", "/api/users/{user_id}")
        t += WALK_SPACING


def skipper(p, rng, t, shared):
    """User 501: log in, browse, view a product and check out at once (no cart): the server
    takes the items from the checkout body."""
    r = yield t, login(p)
    p.token = r.json["access_token"]
    t += think(rng)
    r = yield t, Req("GET", "/api/products?page=1", "/api/products")
    pid = rng.choice([i["id"] for i in r.json["items"]])
    t += think(rng)
    yield t, Req("GET", f"/api/products/{pid}", "/api/products/{product_id}")
    t += think(rng)
    r = yield t, Req("POST", "/api/checkout", "/api/checkout",
                     {"payment_method": "card", "items": [{"product_id": pid, "quantity": 1}]}, expect=201)
    t += think(rng)
    yield t, Req("GET", f"/api/orders/{r.json['order_id']}", "/api/orders/{order_id}")


def thief(p, rng, t, shared):
    """Another client presenting user 103's token (copied from shopper 103)."""
    p.token = shared["tokens"][103]
    yield t, Req("GET", "/api/users/103", "/api/users/{user_id}")
    t += round(rng.uniform(0.8, 1.2), 3)
    yield t, Req("GET", f"/api/orders/{shared['orders'][103]}", "/api/orders/{order_id}")
    t += round(rng.uniform(0.8, 1.2), 3)
    yield t, Req("GET", "/api/users/103", "/api/users/{user_id}")


def burster(p, rng, t, shared):
    """User 701: a little normal browsing in the baseline, then 150 product views in 5 s
    (ids drawn from a small set, in no order)."""
    r = yield t, login(p)
    p.token = r.json["access_token"]
    t += think(rng)
    r = yield t, Req("GET", "/api/products?page=1", "/api/products")
    for pid in rng.sample(BURST_IDS, 3):
        t += think(rng)
        yield t, Req("GET", f"/api/products/{pid}", "/api/products/{product_id}")
    t = BURST_AT
    for _ in range(BURST_REQUESTS):
        pid = rng.choice(BURST_IDS)
        yield t, Req("GET", f"/api/products/{pid}", "/api/products/{product_id}")
        t += BURST_SPACING


def prober(p, rng, t, shared):
    while t <= PROBE_UNTIL + 1e-9:
        yield t, Req("GET", "/api/health", "/api/health")
        t = round(t + PROBE_EVERY, 3)


# name, user (None: no account), address, User-Agent, Accept-Language, start (virtual s), generator
PERSONAS = [
    ("health-prober", None, "127.0.0.80", PROBE_UA, None, 0.0, prober),
    ("shopper-101", 101, "127.0.0.10", FIREFOX_LINUX, "en-GB,en;q=0.8", 0.6, shopper(3, 3, 2)),
    ("shopper-102", 102, "127.0.0.11", SAFARI_MAC, "en-US,en;q=0.9", 2.2, shopper(2, 2, 1)),
    ("nat-201", 201, "127.0.0.20", CHROME_WIN, "fr-FR,fr;q=0.9", 3.8, shopper(2, 3, 2)),
    ("nat-202", 202, "127.0.0.20", FIREFOX_LINUX, "fr-FR,fr;q=0.8", 4.3, shopper(3, 2, 2)),
    ("shopper-103", 103, "127.0.0.12", FIREFOX_WIN, "de-DE,de;q=0.8,en;q=0.5", 5.6, shopper(3, 4, 3)),
    ("shopper-104", 104, "127.0.0.13", CHROME_WIN, "en-US,en;q=0.9", 7.4, shopper(1, 2, 1)),
    ("roamer-301", 301, "127.0.0.30", APP_IOS, "ja-JP", 8.8, shopper(2, 3, 2, roam=(4.0, "127.0.0.31"))),
    ("shopper-105", 105, "127.0.0.14", APP_IOS, "es-ES", 10.6, shopper(2, 3, 1)),
    ("shopper-106", 106, "127.0.0.15", CHROME_LINUX, "fr-FR,fr;q=0.9", 12.2, shopper(3, 4, 2)),
    ("burster-701", 701, "127.0.0.70", APP_ANDROID, None, 14.0, burster),
    ("scraper-401", 401, "127.0.0.40", APP_ANDROID, None, 22.0, scraper),
    ("thief-103", None, "127.0.0.60", THIEF_UA, None, 25.0, thief),
    ("skipper-501", 501, "127.0.0.50", SAFARI_MAC, "it-IT,it;q=0.9", 28.0, skipper),
]


def jwt_sub(token):
    body = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["sub"])


def cmd_run(args):
    shared = {"tokens": {}, "orders": {}}
    # Heap-free scheduling: few personas, so the earliest pending step is found by a scan.
    # pending[i] = (virtual time, Req) of persona i, or a start time while its generator is unborn.
    state = []
    for i, (name, user, ip, ua, lang, start, fn) in enumerate(PERSONAS):
        p = Persona(name, ip, ua, lang, args.port)
        p.user = user
        state.append({"p": p, "fn": fn, "rng": random.Random(f"{SEED}-{name}"), "start": start,
                      "gen": None, "next": (start, None)})
    log = open(args.log, "a")
    records = open(args.records, "w")
    t0 = time.monotonic()
    seq = 0
    max_lag, lag_at = 0.0, ""
    last_vt = -1.0
    while True:
        live = [(s["next"][0], i) for i, s in enumerate(state) if s["next"] is not None]
        if not live:
            break
        vt, i = min(live)
        s = state[i]
        p = s["p"]
        if s["gen"] is None:
            # Born at its start time, so it can read what earlier personas left (a stolen token).
            s["gen"] = s["fn"](p, s["rng"], s["start"], shared)
            vt, req = next(s["gen"])
        else:
            req = s["next"][1]
        assert vt >= last_vt - 1e-9, (p.name, vt, last_vt)
        last_vt = vt
        delay = t0 + vt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent = time.monotonic() - t0
        if sent - vt > max_lag:
            max_lag, lag_at = sent - vt, f"{p.name} at {vt:.2f} s"
        resp = p.send(req)
        if resp.status != req.expect:
            sys.exit(f"sequences_client: {p.name} {req.method} {req.target}: {resp.status}, expected {req.expect}: {resp.raw[:200]!r}")
        seq += 1
        req_len = len(req.body or b"")
        log.write(f"{req.method}\t{req.target}\t{resp.status}\t{req_len}\t{len(resp.raw)}\n")
        records.write(json.dumps({
            "seq": seq, "vt": round(vt, 4), "sent": round(sent, 4), "persona": p.name, "addr": p.ip,
            "principal": f"sub:{jwt_sub(p.token)}" if p.token else f"addr:{p.ip}",
            "ua": p.ua, "lang": p.lang or "", "method": req.method, "uri": req.target,
            "template": req.template, "status": resp.status, "request_body_len": req_len,
            "response_body_len": len(resp.raw), "connection": p.connections,
        }) + "\n")
        try:
            s["next"] = s["gen"].send(resp)
        except StopIteration:
            s["next"] = None
            p.close()
    log.close()
    records.close()
    print(f"sequences_client: {seq} requests in {time.monotonic() - t0:.1f} s (virtual {last_vt:.1f} s), "
          f"largest lag behind the virtual clock {max_lag * 1000:.0f} ms ({lag_at})", file=sys.stderr)
    if max_lag > MAX_LAG:
        sys.exit(f"sequences_client: fell more than {MAX_LAG} s behind the virtual clock; the timeline of sequences.md would not hold")


# --- truth: transitions, findings, and a check of the pcap ------------------------------------


def endpoint(r):
    return f"{r['method']} {r['template']}"


def issues_credential(r):
    """A call without a token whose answer hands one out: the login (200 with access_token)."""
    return r["principal"].startswith("addr:") and r["template"] == "/api/login" and r["status"] == 200


def sessions(recs):
    """principal -> list of sessions (lists of records in send order).

    Sessions across the login boundary: a `sub:` principal's session that starts within
    STITCH_WINDOW of a login from the same address and User-Agent (and within SESSION_GAP of
    the last token-less call of that address and User-Agent) begins with that token-less call,
    so the step from the login to the first call with the token is a transition; each login is
    used once. The address principal keeps its own calls."""
    by = defaultdict(list)
    pending = {}  # (addr, ua) -> [login time, last token-less record since]
    for r in recs:
        who, key = r["principal"], (r["addr"], r["ua"])
        s = by[who]
        if s and r["vt"] - s[-1][-1]["vt"] <= SESSION_GAP:
            s[-1].append(r)
        else:
            p = pending.get(key) if who.startswith("sub:") else None
            if p and r["vt"] - p[0] <= STITCH_WINDOW and r["vt"] - p[1]["vt"] <= SESSION_GAP:
                s.append([p[1], r])
                del pending[key]
            else:
                s.append([r])
        if who.startswith("addr:"):
            if issues_credential(r):
                pending[key] = [r["vt"], r]
            elif key in pending:
                pending[key][1] = r
    return by


def transitions(recs):
    """(from record, to record, principal) for consecutive calls within a session."""
    out = []
    for who, ss in sessions(recs).items():
        for s in ss:
            for a, b in zip(s, s[1:]):
                out.append((a, b, who))
    return out


def longest_run(ints):
    best = (0, 0, 0)
    run, lo, prev = 0, None, None
    for v in sorted(set(ints)):
        if prev is not None and v == prev + 1:
            run += 1
        else:
            run, lo = 1, v
        if run > best[0]:
            best = (run, lo, v)
        prev = v
    return best


def peak(times, window=RATE_WINDOW):
    """Most requests in any window [t, t + window)."""
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0


def evaluate(recs):
    """The independent evaluation: returns (findings, notes) with findings as
    (kind, principal, detail) and notes as lines for the report on stderr."""
    findings, notes = [], []
    by_principal = defaultdict(list)
    for r in recs:
        by_principal[r["principal"]].append(r)

    # Enumeration: distinct integer values of one path parameter per principal and endpoint,
    # within ENUM_WINDOW, with a run of consecutive values.
    enumerators = set()
    for who, rs in sorted(by_principal.items()):
        per_ep = defaultdict(list)
        for r in rs:
            if "{" in r["template"]:
                tseg = r["template"].split("/")
                useg = r["uri"].split("?")[0].split("/")
                for ts_, us in zip(tseg, useg):
                    if ts_.startswith("{"):
                        per_ep[endpoint(r)].append((r["vt"], int(us)))
        for ep, vals in sorted(per_ep.items()):
            best = None
            for k in range(len(vals)):
                window = [v for t, v in vals if vals[k][0] - ENUM_WINDOW < t <= vals[k][0]]
                d = set(window)
                run = longest_run(d)
                if len(d) >= ENUM_MIN_DISTINCT and run[0] >= ENUM_MIN_RUN:
                    best = (len(d), run)
            distinct = len({v for _, v in vals})
            if distinct >= 5:
                notes.append(f"enumeration check: {who} {ep}: {distinct} distinct values, longest run {longest_run({v for _, v in vals})[0]}")
            if best:
                # Report the whole walk: the longest run over all the values.
                run, lo, hi = longest_run({v for _, v in vals})
                n200 = sum(1 for r in rs if endpoint(r) == ep and lo <= int(r["uri"].rsplit("/", 1)[1]) <= hi and r["status"] == 200)
                addrs = sorted({r["addr"] for r in rs})
                findings.append(("enumeration", who,
                                 f"{ep}: ids {lo}-{hi} walked in order ({run} consecutive values, {n200} answered 200) "
                                 f"from {', '.join(addrs)}"))
                enumerators.add(who)

    # Novel transitions: after the baseline, a transition the baseline never saw, from an
    # endpoint with at least NOVEL_MIN_FROM baseline transitions. (A transition belongs to the
    # baseline when its second call does.)
    trans = transitions(recs)
    base = defaultdict(int)
    base_from = defaultdict(int)
    for a, b, who in trans:
        if b["vt"] < BASELINE_END:
            base[(endpoint(a), endpoint(b))] += 1
            base_from[endpoint(a)] += 1
    reported = set()
    unseen = defaultdict(int)
    for a, b, who in trans:
        if b["vt"] < BASELINE_END:
            continue
        pair = (endpoint(a), endpoint(b))
        if base.get(pair):
            continue
        unseen[(who, pair)] += 1
        if base_from[pair[0]] >= NOVEL_MIN_FROM and (who, pair) not in reported:
            reported.add((who, pair))
            usual = sorted(((n, to) for (f, to), n in base.items() if f == pair[0] and n), key=lambda x: (-x[0], x[1]))
            findings.append(("novel_transition", who,
                             f"{pair[0]} -> {pair[1]}: never in the baseline, where {pair[0]} ({base_from[pair[0]]} transitions) "
                             f"was followed by " + ", ".join(f"{to} ({n})" for n, to in usual) + f"; from {b['addr']}"))

    for (who, pair), n in sorted(unseen.items()):
        notes.append(f"unseen in the baseline: {who} {pair[0]} -> {pair[1]} x{n} "
                     f"(the from-endpoint had {base_from[pair[0]]} baseline transitions)")

    # Fingerprint changes: one credential with another (User-Agent, Accept-Language) after
    # FP_MIN_BEFORE requests with the first, or from MULTI_ADDR_MIN addresses within the window.
    for who, rs in sorted(by_principal.items()):
        if not who.startswith("sub:"):
            continue
        first = (rs[0]["ua"], rs[0]["lang"])
        n_first = 0
        done = False
        for k, r in enumerate(rs):
            fp = (r["ua"], r["lang"])
            if fp == first:
                n_first += 1
                continue
            if n_first >= FP_MIN_BEFORE:
                n_after = sum(1 for x in rs[k:] if (x["ua"], x["lang"]) == fp)
                findings.append(("fingerprint_change", who,
                                 f"User-Agent `{first[0]}` (Accept-Language `{first[1] or '-'}`) from {rs[0]['addr']} "
                                 f"for {n_first} requests, then `{fp[0]}` (Accept-Language `{fp[1] or '-'}`) "
                                 f"from {r['addr']} for {n_after}"))
                done = True
                break
        addrs_seen = sorted({r["addr"] for r in rs})
        if len(addrs_seen) > 1:
            notes.append(f"fingerprint check: {who} from {', '.join(addrs_seen)}, fingerprints {len({(r['ua'], r['lang']) for r in rs})}")
        if not done:
            for k, r in enumerate(rs):
                near = {x["addr"] for x in rs[: k + 1] if r["vt"] - x["vt"] <= MULTI_ADDR_WINDOW}
                if len(near) >= MULTI_ADDR_MIN:
                    findings.append(("fingerprint_change", who, f"{len(near)} addresses within {MULTI_ADDR_WINDOW:.0f} s"))
                    break

    # Rate anomalies: a principal's peak (most requests in any 10 s window) at least
    # RATE_MIN_PEAK, RATE_RATIO times the median of the other principals' peaks and its own peak
    # before that window, and above that median + RATE_MAD_FACTOR deviations; not when an
    # enumeration explains it.
    peaks = {who: peak([r["vt"] for r in rs]) for who, rs in by_principal.items()}
    for who, rs in sorted(by_principal.items()):
        times = [r["vt"] for r in rs]
        pk = peaks[who]
        # Where the peak window starts, and the principal's own peak before it.
        start = next(times[j] for j in range(len(times)) if sum(1 for t in times if times[j] <= t < times[j] + RATE_WINDOW) == pk)
        own = peak([t for t in times if t < start - 1e-9]) if any(t < start for t in times) else 0
        others = [v for w, v in peaks.items() if w != who]
        med = median(others)
        mad = max(median([abs(v - med) for v in others]), 1)
        flagged = pk >= RATE_MIN_PEAK and pk >= RATE_RATIO * max(med, 1) and pk >= RATE_RATIO * max(own, 1) and pk > med + RATE_MAD_FACTOR * mad
        if pk >= 10:
            notes.append(f"rate check: {who} peak {pk}/10 s, own earlier {own}, others' median {med} (MAD {mad})"
                         + (" -> explained by its enumeration" if flagged and who in enumerators else ""))
        if flagged and who not in enumerators:
            ep = max({endpoint(r) for r in rs if start <= r["vt"] < start + RATE_WINDOW},
                     key=lambda e: sum(1 for r in rs if endpoint(r) == e and start <= r["vt"] < start + RATE_WINDOW))
            n_ep = sum(1 for r in rs if endpoint(r) == ep and start <= r["vt"] < start + RATE_WINDOW)
            burst = [r for r in rs if r["vt"] >= BURST_AT - 1e-9]
            dur = burst[-1]["vt"] - burst[0]["vt"] if burst else 0
            findings.append(("rate_anomaly", who,
                             f"{pk} requests within 10 s ({n_ep} of them {ep}, {len(burst)} in {dur:.1f} s over "
                             f"{len({r['uri'] for r in burst})} distinct ids), against {own} in its own earlier 10 s peak "
                             f"and a median peak of {med} (MAD {mad}) for the other {len(others)} principals; from {rs[0]['addr']}"))
    return findings, notes, peaks, base, base_from


def read_pcap_requests(path, port):
    """(offset from the first packet, client address, request line) of every TCP segment to
    `port` whose payload starts a request. Classic pcap, Ethernet or Linux cooked v1."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit(f"{path}: not a classic pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    first = None
    out = []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if first is None:
            first = ts
        if linktype == 1:
            if struct.unpack(">H", pkt[12:14])[0] != 0x0800:
                continue
            ip = pkt[14:]
        elif linktype == 113:
            ip = pkt[16:]
        else:
            sys.exit(f"{path}: link type {linktype} not handled")
        if ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:struct.unpack(">H", ip[2:4])[0]]
        if struct.unpack(">H", tcp[2:4])[0] != port:
            continue
        payload = tcp[(tcp[12] >> 4) * 4:]
        if payload.startswith((b"GET ", b"POST ")):
            src = ".".join(str(b) for b in ip[12:16])
            out.append((ts - first, src, payload.split(b"\r\n", 1)[0].decode()))
    return out


def cmd_truth(args):
    recs = [json.loads(l) for l in open(args.records)]

    # The schedule keeps the baseline and the rest apart by a quiet gap.
    base_side = [r for r in recs if r["persona"] != "health-prober" and r["vt"] < BASELINE_END]
    after_side = [r for r in recs if r["persona"] != "health-prober" and r["vt"] >= BASELINE_END]
    assert max(r["vt"] for r in base_side) < BASELINE_LAST_BEFORE, "a baseline request runs into the gap"
    assert min(r["vt"] for r in after_side) >= AFTER_FIRST, "a later request runs into the gap"
    assert after_side[0]["addr"] == "127.0.0.40", after_side[0]

    # The pcap holds the same requests, in the same order, near their virtual times.
    wire = read_pcap_requests(args.pcap, args.port)
    if len(wire) != len(recs):
        sys.exit(f"truth: {len(wire)} requests in the pcap, {len(recs)} sent")
    worst = 0.0
    for (off, src, line), r in zip(wire, recs):
        if (src, line) != (r["addr"], f"{r['method']} {r['uri']} HTTP/1.1"):
            sys.exit(f"truth: pcap request {src} {line!r} where the client sent {r['addr']} {r['method']} {r['uri']}")
        worst = max(worst, abs(off - r["vt"]))
    if worst > MAX_LAG:
        sys.exit(f"truth: a request is {worst:.3f} s away from its virtual time in packet time")
    last_base = max(off for (off, _, _), r in zip(wire, recs) if r in base_side)
    first_after = min(off for (off, _, _), r in zip(wire, recs) if r in after_side)
    print(f"truth: pcap agrees ({len(wire)} requests, at most {worst * 1000:.0f} ms from the virtual clock); "
          f"last baseline request at {last_base:.3f} s, first later one (127.0.0.40) at {first_after:.3f} s "
          f"from the first packet; boundary {BASELINE_END:.0f} s", file=sys.stderr)

    # Transitions.
    agg = defaultdict(lambda: [0, set()])
    for a, b, who in transitions(recs):
        k = (a["method"], a["template"], b["method"], b["template"])
        agg[k][0] += 1
        agg[k][1].add(who)
    with open(args.transitions, "w") as f:
        f.write("from_method\tfrom_path_template\tto_method\tto_path_template\tcount\tprincipals\n")
        for k in sorted(agg):
            f.write("\t".join(k) + f"\t{agg[k][0]}\t{len(agg[k][1])}\n")

    # Findings.
    findings, notes, peaks, base, base_from = evaluate(recs)
    for n in notes:
        print(f"  {n}", file=sys.stderr)
    got = sorted((k, w) for k, w, _ in findings)
    if got != sorted(EXPECTED):
        for k, w, d in findings:
            print(f"  found: {k} {w}: {d}", file=sys.stderr)
        sys.exit(f"truth: the evaluation finds {got}, the scenario is designed for {sorted(EXPECTED)}")
    order = {k: i for i, k in enumerate(EXPECTED)}
    with open(args.findings, "w") as f:
        f.write("kind\tprincipal\tdetail\n")
        for k, w, d in sorted(findings, key=lambda x: order[(x[0], x[1])]):
            f.write(f"{k}\t{w}\t{d}\n")

    # A summary for sequences.md.
    by_p = defaultdict(list)
    for r in recs:
        by_p[r["principal"]].append(r)
    print(f"truth: {len(recs)} requests, {len(by_p)} principals, {sum(v[0] for v in agg.values())} transitions "
          f"({len(agg)} distinct), baseline transitions {sum(base.values())}", file=sys.stderr)
    for who, rs in sorted(by_p.items(), key=lambda kv: kv[1][0]["vt"]):
        print(f"  {who:16} {len(rs):4} requests  {rs[0]['vt']:6.2f}-{rs[-1]['vt']:6.2f} s  peak {peaks[who]:3}/10 s  "
              f"from {', '.join(sorted({r['addr'] for r in rs}))}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, default=8089)
    r.add_argument("--log", required=True)
    r.add_argument("--records", required=True)
    t = sub.add_parser("truth")
    t.add_argument("--records", required=True)
    t.add_argument("--pcap", required=True)
    t.add_argument("--port", type=int, default=8089)
    t.add_argument("--transitions", required=True)
    t.add_argument("--findings", required=True)
    a = p.parse_args()
    cmd_run(a) if a.cmd == "run" else cmd_truth(a)


if __name__ == "__main__":
    main()
