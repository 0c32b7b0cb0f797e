#!/usr/bin/env python3
"""The HTTP/2 oracle: tshark's http2 dissector on an h2c capture, one row per stream.

    h2_expected.py CAPTURE PORT > NAME.expected.tsv
    shadowtap log --unredacted --format tsv NAME.pcap | h2_expected.py --compare NAME.expected.tsv

The first form runs `tshark -r CAPTURE -d tcp.port==PORT,http2 -T json` and writes, per
(connection, stream) that carried a HEADERS frame, sorted by connection and stream:

    method <TAB> uri <TAB> status_code <TAB> request_body_len <TAB> response_body_len

(`-` for a side without headers; body lengths are the DATA payload bytes, padding excluded, as
tshark reports them). The second form compares shadowtap's rows with them as sorted lists and
prints request recall (requests tshark saw that shadowtap also emitted, by method and uri) and
status agreement (of the matched rows, the status codes that agree); it exits 1 below 0.99.
"""

import collections
import json
import subprocess
import sys

COLS = ["method", "uri", "status_code", "request_body_len", "response_body_len"]


class Obj(list):
    """A JSON object as its (key, value) pairs: tshark repeats keys (one `http2.header` per
    field, one `http2.stream` per frame), which a dict would collapse."""

    def get(self, key, default=None):
        for k, v in self:
            if k == key:
                return v
        return default

    def __contains__(self, key):
        return any(k == key for k, _ in self)

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.get(key)
        return list.__getitem__(self, key)


def children(o):
    if isinstance(o, Obj):
        return [v for _, v in o]
    if isinstance(o, list):
        return o
    return []


def find(obj, key):
    """The first value of `key` anywhere under obj."""
    if isinstance(obj, Obj):
        for k, v in obj:
            if k == key:
                return v
    for v in children(obj):
        r = find(v, key)
        if r is not None:
            return r
    return None


def frames(obj):
    """Every http2 frame object (one with http2.type) under obj."""
    if isinstance(obj, Obj) and "http2.type" in obj:
        yield obj
        return
    for v in children(obj):
        yield from frames(v)


def headers_of(fr):
    out = []

    def walk(o):
        if isinstance(o, Obj) and "http2.header.name" in o and "http2.header.value" in o:
            out.append((o["http2.header.name"], o["http2.header.value"]))
            return
        for v in children(o):
            walk(v)

    walk(fr)
    return out


def expected(capture, port):
    raw = subprocess.run(
        # Decoded as HTTP: tshark's HTTP dissector hands a connection to http2 on the client
        # preface and after `Upgrade: h2c` + 101, where the upgrading request stays HTTP/1.1.
        ["tshark", "-r", capture, "-d", f"tcp.port=={port},http", "-T", "json", "-J", "tcp http http2"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packets = json.loads(raw, object_pairs_hook=Obj)
    streams = collections.OrderedDict()
    upgrades = {}
    for p in packets:
        layers = p["_source"]["layers"]
        tcp = layers.get("tcp", Obj())
        conn = int(tcp.get("tcp.stream", -1))
        from_client = int(tcp.get("tcp.dstport", 0)) == port
        for http in (v for k, v in layers if k == "http"):
            req = find(http, "http.request.method")
            if req and from_client:
                upgrades[conn] = (req, find(http, "http.request.uri"), int(find(http, "http.content_length") or 0))
        for fr in frames(Obj((k, v) for k, v in layers if k == "http2")):
            sid = int(fr.get("http2.streamid", 0))
            if sid == 0:
                continue
            key = (conn, sid)
            t = int(fr["http2.type"])
            s = streams.setdefault(key, {"req": None, "status": None, "qlen": 0, "rlen": 0, "seen": False})
            if t in (1, 9):  # HEADERS, CONTINUATION
                h = dict((n, v) for n, v in headers_of(fr))
                if ":method" in h and from_client:
                    s["req"] = (h[":method"], h.get(":path", h.get(":authority", "")))
                    s["seen"] = True
                if ":status" in h and not from_client:
                    st = int(h[":status"])
                    if st >= 200 or st == 101:
                        s["status"] = st
                    s["seen"] = True
            elif t == 0:  # DATA
                n = int(fr.get("http2.length", 0))
                flags = int(fr.get("http2.flags", "0x0"), 16)
                if flags & 0x8:
                    pad = int(fr.get("http2.padding", 0) or 0)
                    n -= 1 + pad
                if from_client:
                    s["qlen"] += n
                else:
                    s["rlen"] += n
    rows = []
    for (conn, sid), s in sorted(streams.items()):
        if not s["seen"]:
            continue
        if sid == 1 and s["req"] is None and conn in upgrades:
            # The request of an h2c upgrade: HTTP/1.1, answered on stream 1.
            m, u, n = upgrades[conn]
            s["req"], s["qlen"] = (m, u), n
        m, u = s["req"] if s["req"] else ("-", "-")
        rows.append([m, u, str(s["status"]) if s["status"] else "-",
                     str(s["qlen"]) if s["req"] else "-", str(s["rlen"]) if s["status"] else "-"])
    return rows


def read_tsv(lines):
    lines = [l.rstrip("\n") for l in lines if l.strip()]
    head = lines[0].split("\t")
    idx = [head.index(c) for c in COLS]
    return [[l.split("\t")[i] for i in idx] for l in lines[1:]]


def compare(expected_path):
    want = read_tsv(open(expected_path))
    got = read_tsv(sys.stdin)
    # An upgraded request's body went in HTTP/1.1, where tshark's http2 rows do not count it.
    reqs = collections.Counter((r[0], r[1]) for r in got if r[0] != "-")
    matched = 0
    for r in want:
        if r[0] == "-":
            continue
        if reqs[(r[0], r[1])] > 0:
            reqs[(r[0], r[1])] -= 1
            matched += 1
    total = sum(1 for r in want if r[0] != "-")
    recall = matched / total if total else 1.0
    want_st = collections.Counter((r[0], r[1], r[2]) for r in want if r[0] != "-")
    got_st = collections.Counter((r[0], r[1], r[2]) for r in got if r[0] != "-")
    agree = sum((want_st & got_st).values())
    status = agree / matched if matched else 1.0
    same = sorted(map(tuple, want)) == sorted(map(tuple, got))
    print(f"  tshark streams {len(want)}, shadowtap rows {len(got)}; request recall {recall:.4f} "
          f"({matched}/{total}), status agreement {status:.4f}; identical rows: {same}", file=sys.stderr)
    if not same:
        for r in sorted(set(map(tuple, want)) ^ set(map(tuple, got))):
            side = "tshark" if tuple(r) in set(map(tuple, want)) else "shadowtap"
            print(f"    only in {side}: {chr(9).join(r)}", file=sys.stderr)
    return 0 if recall >= 0.99 and status >= 0.99 else 1


def main():
    if sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2]))
    rows = expected(sys.argv[1], int(sys.argv[2]))
    print("\t".join(COLS))
    for r in rows:
        print("\t".join(r))


if __name__ == "__main__":
    main()
