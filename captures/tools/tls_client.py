#!/usr/bin/env python3
"""Clients and oracles of the TLS captures (tls13, tls12, tls_weak); see ../README.md.

Clients (each appends its HTTP transactions to the client log, --log or $CLIENT_LOG, in the
format of clients.py, and one line per TLS connection to the TLS client log, --tls-log or
$TLS_CLIENT_LOG; the TLS session secrets go to $SSLKEYLOGFILE, which Python's
ssl.create_default_context and urllib3 both honour):

    requests --port P [--host H] --ca CA        a `requests` Session (one keep-alive connection)
    httpclient --port P [--host H] --ca CA [--cert C --key K]
                                                `http.client` with `ssl.create_default_context`
    curl --label L --w W --trace T [--fail-ok]  records a curl run: its -w lines (TLS_CURL_W in
                                                scenario-tls.sh) and the TLS lines of its -v trace
    s-client --label L --sni S --request R --out O
                                                records an `openssl s_client` run (its stdout)
    bearer                                      prints the bearer token the clients send

Oracles:

    oracle --name N --pcap X.pcap --keys X.keys --expected X.expected.tsv --client-tls TLS_LOG
           --out X.expected-tls.tsv [--foxio ja4.py]
        1. tshark decrypts X.pcap with X.keys; its HTTP request lines must be exactly those of
           X.expected.tsv (the clients' own view), in order;
        2. one row per TLS connection from tshark's dissection (no keys, except where a column
           says so) and JA4/JA4S from the ja4plus package, checked against what the clients saw
           (the TLS client log: version, suite, ALPN, resumption, 0-RTT, local port), and with
           --foxio (or $FOXIO_JA4) against FoxIO's python/ja4.py;
        writes X.expected-tls.tsv only when both checks pass.
    cleartext X.pcap                            the request lines tshark finds without keys
                                                (method TAB uri), for make.sh's shadowtap check
    decrypted X.pcap X.keys                     the request lines tshark finds with the key log,
                                                under a `method TAB uri` header: what
                                                X.expected-decrypted.tsv holds (shadowtap
                                                log --keylog must agree, tests/tls_decrypt.rs)

The resolver knows the scenario's host names: every name under .tls.test is 127.0.0.1 (no
/etc/hosts change; curl gets --resolve).
"""

import argparse
import base64
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import urllib.parse

LOG = None
TLS_LOG = None
LABEL = "python"

# A fixed JWT-shaped bearer token (HS256 over a fixed payload; the signature is not checked).
BEARER = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    + base64.urlsafe_b64encode(b'{"sub":"42","scope":"orders:write","iat":1709251200}').rstrip(b"=").decode()
    + ".c2hhZG93dGFwLWNhcHR1cmVzLXRscy1zaWduYXR1cmU"
)


def log(method, target, status, req_len, resp_len):
    with open(LOG, "a") as f:
        f.write(f"{method}\t{target}\t{status}\t{req_len}\t{resp_len}\n")


def tls_log(client, port, sni, version, cipher, alpn, resumed, early):
    """One TLS connection as its client saw it ('?' where the client does not say)."""
    with open(TLS_LOG, "a") as f:
        f.write("\t".join(str(x) for x in (client, port, sni, version, cipher, alpn, resumed, early)) + "\n")


def norm_version(v):
    return {"TLSv1": "TLSv1.0"}.get(v, v)


# --- Python clients -------------------------------------------------------------------------

_getaddrinfo = socket.getaddrinfo


def _resolve(host, *a, **k):
    if isinstance(host, str) and host.endswith(".tls.test"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *a, **k)


socket.getaddrinfo = _resolve

_do_handshake = ssl.SSLSocket.do_handshake


def _logged_handshake(self, *a, **k):
    r = _do_handshake(self, *a, **k)
    tls_log(
        LABEL,
        self.getsockname()[1],
        self.server_hostname or "-",
        norm_version(self.version()),
        self.cipher()[0],
        self.selected_alpn_protocol() or "-",
        "yes" if self.session_reused else "no",
        "-",
    )
    return r


ssl.SSLSocket.do_handshake = _logged_handshake


def cmd_requests(a):
    import requests

    global LABEL
    LABEL = "python-requests"
    base = f"https://{a.host}:{a.port}"
    s = requests.Session()
    s.trust_env = False  # no CA bundle or proxy from the environment
    s.verify = a.ca
    s.headers["User-Agent"] = "shadowtap-captures/requests"

    def done(r):
        assert "Content-Encoding" not in r.headers, r.headers
        body = r.request.body or b""
        log(r.request.method, r.request.path_url, r.status_code, len(body), len(r.content))

    done(s.get(f"{base}/v1/users/42", headers={"Authorization": f"Bearer {BEARER}"}))
    done(s.post(f"{base}/v1/orders", json={"sku": "TLS-13", "quantity": 2, "card": "4111 1111 1111 1111"},
                headers={"Authorization": f"Bearer {BEARER}"}))
    done(s.get(f"{base}/v1/orders", params={"status": "shipped", "limit": 2}))
    s.close()


def cmd_httpclient(a):
    global LABEL
    LABEL = "python-http.client"
    ctx = ssl.create_default_context(cafile=a.ca)  # honours SSLKEYLOGFILE
    assert not os.environ.get("SSLKEYLOGFILE") or ctx.keylog_filename == os.environ["SSLKEYLOGFILE"]
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    c = http.client.HTTPSConnection(a.host, a.port, context=ctx)
    ua = {"User-Agent": "shadowtap-captures/http.client"}

    def request(method, target, body=None, headers=()):
        h = dict(ua, **dict(headers))
        c.request(method, target, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        log(method, target, r.status, len(body or b""), len(data))

    request("GET", "/v1/status")
    request("PUT", "/v1/orders/1000", json.dumps({"status": "cancelled"}).encode(),
            [("Content-Type", "application/json")])
    request("GET", "/v1/whoami")
    c.close()


# --- curl and openssl s_client --------------------------------------------------------------


def cmd_curl(a):
    """A curl run: the -w lines go to the client log (transfers that got a response), the TLS
    lines of the -v trace to the TLS client log, one per new connection, matched in order with
    the -w lines of the transfers that opened a connection (num_connects 1)."""
    rows = [l.rstrip("\n").split("\t") for l in open(a.w) if l.strip()]
    opened = []
    for r in rows:
        assert r[0] == "curl" and len(r) == 9, r
        _, method, url, code, up, down, connects, local_port, _exit = r
        if int(connects):
            opened.append((url, local_port))
        if code != "000":
            with open(LOG, "a") as f:
                f.write("\t".join(r[:7]) + "\n")
        elif not a.fail_ok:
            sys.exit(f"curl: no response for {url}")
    conns = []
    for line in open(a.trace, errors="replace"):
        if line.startswith("* Connected to "):
            # A handshake that curl aborts (a refused certificate) leaves all three unknown.
            conns.append({"alpn": "?", "version": "?", "cipher": "?"})
        elif m := re.match(r"\* SSL connection using (\S+) / (\S+)", line):
            conns[-1]["version"], conns[-1]["cipher"] = m.group(1), m.group(2)
            conns[-1]["alpn"] = "-"
        elif m := re.match(r"\* ALPN: server accepted (\S+)", line):
            conns[-1]["alpn"] = m.group(1)
    if len(conns) != len(opened):
        sys.exit(f"curl {a.label}: {len(conns)} connections in the trace, {len(opened)} in -w")
    for c, (url, port) in zip(conns, opened):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "https":
            continue
        host = u.hostname
        sni = "-" if re.fullmatch(r"[0-9.]+", host) else host
        tls_log(a.label, port, sni, norm_version(c["version"]), c["cipher"], c["alpn"], "?", "?")


def cmd_s_client(a):
    """An `openssl s_client -ign_eof` run (not -quiet): its session summary ('New'/'Reused',
    version, suite, ALPN, early data) and the HTTP response it printed for the request in R."""
    out = open(a.out, "rb").read()
    text = out.decode("latin-1")
    m = re.search(r"^(New|Reused), (\S+), Cipher is (\S+)$", text, re.M)
    assert m, text
    resumed = "yes" if m.group(1) == "Reused" else "no"
    version, cipher = m.group(2), m.group(3)
    alpn = re.search(r"^ALPN protocol: (\S+)$", text, re.M)
    early = re.search(r"^Early data was (accepted|rejected|not sent)$", text, re.M)
    early = {"accepted": "accepted", "rejected": "rejected"}.get(early.group(1) if early else "", "-")
    req = open(a.request, "rb").read()
    method, target = req.split(b"\r\n", 1)[0].decode().split(" ")[:2]
    i = out.index(b"HTTP/1.1 ")
    head, rest = out[i:].split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    clen = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
    assert len(rest) >= clen
    log(method, target, status, 0, clen)
    tls_log(a.label, "?", a.sni, norm_version(version), cipher, alpn.group(1) if alpn else "-", resumed, early)


# --- oracles --------------------------------------------------------------------------------

ALERTS = {10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure", 42: "bad_certificate",
          43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
          46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 51: "decrypt_error",
          70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
          112: "unrecognized_name", 116: "certificate_required", 120: "no_application_protocol"}
VERSIONS = {0x0301: "TLSv1.0", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
TSHARK_DECODE = ["-d", "tcp.port==8443,tls", "-d", "tcp.port==8444,tls", "-d", "tcp.port==8445,tls",
                 "-d", "tcp.port==8446,tls"]


def tshark(pcap, *args, keys=None):
    cmd = ["tshark", "-n", "-r", pcap, *TSHARK_DECODE,
           "-o", "http.tls.port:443,8443,8444,8445"]
    if keys:
        cmd += ["-o", f"tls.keylog_file:{keys}"]
    out = subprocess.run(cmd + list(args), check=True, capture_output=True, text=True).stdout
    return out


def tshark_json(pcap, display_filter, fields, keys=None):
    args = ["-Y", display_filter, "-T", "json"]
    for f in fields:
        args += ["-e", f]
    out = tshark(pcap, *args, keys=keys)
    return [p["_source"]["layers"] for p in json.loads(out or "[]")]


def request_lines(pcap, keys=None):
    """Method and target of every request, HTTP/1.x (`http.request`) and HTTP/2 (a HEADERS
    block with `:method`; several in one frame are listed in stream order)."""
    out = tshark(pcap, "-Y", "http.request or http2.headers.method", "-T", "fields", "-E", "separator=/t",
                 "-E", "occurrence=a", "-E", "aggregator=\x1f",
                 "-e", "http.request.method", "-e", "http.request.uri",
                 "-e", "http2.headers.method", "-e", "http2.headers.path", keys=keys)
    lines = []
    for l in out.splitlines():
        if not l.strip():
            continue
        f = (l.split("\t") + ["", "", "", ""])[:4]
        if f[0]:
            lines.append(f"{f[0]}\t{f[1]}")
        for m, p in zip(f[2].split("\x1f"), f[3].split("\x1f")):
            if m:
                lines.append(f"{m}\t{p}")
    return lines


def openssl_names():
    """OpenSSL cipher name -> IANA name, and code -> IANA name."""
    out = subprocess.run(["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                         check=True, capture_output=True, text=True).stdout
    by_name, by_code = {}, {}
    for line in out.splitlines():
        m = re.match(r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)", line)
        if m:
            code = int(m.group(1) + m.group(2), 16)
            by_code[code] = m.group(3)
            by_name[m.group(4)] = m.group(3)
            by_name[m.group(3)] = m.group(3)
    return by_name, by_code


def ints(layer, field):
    return [int(v, 0) for v in layer.get(field, [])]


def cert_info(hexder):
    """Subject, notAfter, issuer and DNS names (subjectAltName) of a DER certificate."""
    from cryptography import x509

    der = bytes.fromhex(hexder.replace(":", ""))
    c = x509.load_der_x509_certificate(der)
    after = c.not_valid_after_utc if hasattr(c, "not_valid_after_utc") else c.not_valid_after
    try:
        san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = ",".join(san.get_values_for_type(x509.DNSName)) or "-"
    except x509.ExtensionNotFound:
        names = "-"
    return (c.subject.rfc4514_string(), after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            c.issuer.rfc4514_string(), names)


def ja4_fingerprints(pcap):
    """JA4 (with its raw form, sorted) and JA4S from ja4plus, by client port."""
    import logging

    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import rdpcap
    from ja4plus import JA4Fingerprinter, JA4SFingerprinter

    ja4, ja4s = JA4Fingerprinter(), JA4SFingerprinter()
    for p in rdpcap(pcap):
        ja4.process_packet(p)
        ja4s.process_packet(p)
    client, raw, server = {}, {}, {}
    for e in ja4.get_fingerprints():
        port = int(e["srcport"])
        assert port not in client, e
        client[port], raw[port] = e["fingerprint"], e["raw"]
    for e in ja4s.get_fingerprints():
        port = int(e["dstport"])
        assert port not in server, e
        server[port] = e["fingerprint"]
    return client, raw, server


def foxio_fingerprints(pcap, script):
    """JA4 (with its raw form) and JA4S from FoxIO's python/ja4.py (optional, $FOXIO_JA4), by
    client port. Its -J output is a sequence of flat JSON objects, one per connection."""
    out = subprocess.run([sys.executable, script, pcap, "-J"], check=True, capture_output=True, text=True).stdout
    client, raw, server = {}, {}, {}
    for m in re.finditer(r"\{[^{}]*\}", out):
        rec = json.loads(m.group(0))
        port = int(rec["srcport"])
        for k, v in rec.items():
            if re.fullmatch(r"JA4(\.\d+)?", k):
                client[port] = v
            elif re.fullmatch(r"JA4_r(\.\d+)?", k):
                raw[port] = v
            elif k == "JA4S":
                server[port] = v
    return client, raw, server


def tls_connections(pcap, keys):
    by_name, by_code = openssl_names()
    fields = ["tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tls.handshake.type",
              "tls.handshake.version", "tls.handshake.ciphersuite", "tls.handshake.extension.type",
              "tls.handshake.extensions.supported_version", "tls.handshake.extensions_server_name",
              "tls.handshake.extensions_alpn_str", "tls.handshake.session_id", "tls.handshake.certificate"]
    conns = {}
    for l in tshark_json(pcap, "tls.handshake", fields):
        stream = int(l["tcp.stream"][0])
        types = ints(l, "tls.handshake.type")
        if 1 in types:
            assert stream not in conns, f"two ClientHellos on stream {stream}"
            conns[stream] = {
                "client": f"{l['ip.src'][0]}:{l['tcp.srcport'][0]}",
                "server": f"{l['ip.dst'][0]}:{l['tcp.dstport'][0]}",
                "client_port": int(l["tcp.srcport"][0]),
                "sni": l.get("tls.handshake.extensions_server_name", ["-"])[0],
                "ch_session_id": l.get("tls.handshake.session_id", [""])[0],
                "ch_ext": ints(l, "tls.handshake.extension.type"),
                "version": "-", "cipher": "-", "alpn": "-", "resumed": "no", "server_cert": None,
                "early": "-", "client_cert": "-", "fatal_alert": "-",
            }
            continue
        c = conns.get(stream)
        if c is None:
            continue
        from_server = f"{l['ip.src'][0]}:{l['tcp.srcport'][0]}" == c["server"]
        if 2 in types:
            assert from_server
            sv = ints(l, "tls.handshake.extensions.supported_version")
            version = sv[0] if sv else ints(l, "tls.handshake.version")[0]
            c["version"] = VERSIONS[version]
            c["cipher"] = by_code[ints(l, "tls.handshake.ciphersuite")[0]]
            ext = ints(l, "tls.handshake.extension.type")
            if version == 0x0304:
                c["resumed"] = "yes" if 41 in ext else "no"
            else:
                alpn = l.get("tls.handshake.extensions_alpn_str")
                c["alpn"] = alpn[0] if alpn else "-"
                sid = l.get("tls.handshake.session_id", [""])[0]
                c["resumed"] = "yes" if sid and sid == c["ch_session_id"] else "no"
        if 11 in types and "tls.handshake.certificate" in l:
            info = cert_info(l["tls.handshake.certificate"][0])
            if from_server:
                c["server_cert"] = info
            else:
                c["client_cert"] = info[0]
    # The first fatal alert (with the keys: TLS 1.3 encrypts alerts after the ServerHello).
    for l in tshark_json(pcap, "tls.alert_message.level == 2", ["tcp.stream", "ip.src", "tcp.srcport",
                         "tls.alert_message.level", "tls.alert_message.desc"], keys=keys):
        c = conns.get(int(l["tcp.stream"][0]))
        if c is None or c["fatal_alert"] != "-":
            continue
        side = "client" if f"{l['ip.src'][0]}:{l['tcp.srcport'][0]}" == c["client"] else "server"
        levels, descs = ints(l, "tls.alert_message.level"), ints(l, "tls.alert_message.desc")
        desc = next(d for lv, d in zip(levels, descs) if lv == 2)
        c["fatal_alert"] = f"{side}:{ALERTS.get(desc, 'alert')}({desc})"
    # TLS 1.3: the negotiated ALPN and the 0-RTT answer travel in EncryptedExtensions.
    for l in tshark_json(pcap, "tls.handshake.type == 8", ["tcp.stream", "tls.handshake.type",
                         "tls.handshake.extension.type", "tls.handshake.extensions_alpn_str"], keys=keys):
        c = conns[int(l["tcp.stream"][0])]
        alpn = l.get("tls.handshake.extensions_alpn_str")
        c["alpn"] = alpn[0] if alpn else "-"
        c["ee_early"] = 42 in ints(l, "tls.handshake.extension.type")
    for c in conns.values():
        if 42 in c["ch_ext"]:
            c["early"] = "accepted" if c.get("ee_early") else "rejected"
        # TLS <= 1.2: an abbreviated handshake (the session id echoed) has no server certificate.
        if c["version"] not in ("TLSv1.3", "-"):
            assert (c["resumed"] == "yes") == (c["server_cert"] is None), c
        if c["version"] == "TLSv1.3":
            assert c["server_cert"] is None, "a TLS 1.3 certificate in clear?"
    return [conns[s] for s in sorted(conns)], by_name


def cmd_oracle(a):
    ok = True
    # 1. The decrypted HTTP request lines against the clients' view.
    want = []
    for line in list(open(a.expected))[1:]:
        if line.strip():
            method, uri = line.split("\t")[:2]
            want.append(f"{method}\t{uri}")
    got = request_lines(a.pcap, keys=a.keys)
    if got == want:
        print(f"  tshark (with {os.path.basename(a.keys)}) agrees: {len(got)} request lines", file=sys.stderr)
    else:
        ok = False
        print(f"  tshark DISAGREES: {len(want)} request lines expected, {len(got)} decrypted", file=sys.stderr)
        for w in want:
            print(f"    expected {w}", file=sys.stderr)
        for g in got:
            print(f"    tshark   {g}", file=sys.stderr)

    # 2. One row per TLS connection.
    conns, by_name = tls_connections(a.pcap, a.keys)
    ja4, ja4_r, ja4s = ja4_fingerprints(a.pcap)
    for c in conns:
        c["ja4"] = ja4.get(c["client_port"], "-")
        c["ja4_r"] = ja4_r.get(c["client_port"], "-")
        c["ja4s"] = ja4s.get(c["client_port"], "-")
        if c["version"] != "-" and "-" in (c["ja4"], c["ja4s"]):
            ok = False
            print(f"  ja4plus gave no JA4/JA4S for {c['client']}", file=sys.stderr)
    if a.foxio:
        fja4, fja4_r, fja4s = foxio_fingerprints(a.pcap, a.foxio)
        missing = 0
        for c in conns:
            p = c["client_port"]
            for key, theirs in (("ja4", fja4), ("ja4_r", fja4_r), ("ja4s", fja4s)):
                if p not in theirs:
                    # ja4.py reads a frame that also holds a certificate as X.509 only, so it
                    # has no JA4S for a TLS <= 1.2 ServerHello sent with the Certificate.
                    missing += 1
                elif theirs[p] != c[key]:
                    ok = False
                    print(f"  FoxIO ja4.py disagrees for {c['client']}: {key} {theirs[p]}, "
                          f"ja4plus {c[key]}", file=sys.stderr)
        print(f"  FoxIO ja4.py agrees on {3 * len(conns) - missing} values of {len(conns)} connections"
              f" (gives none for {missing})", file=sys.stderr)

    # 3. Against the clients' own view, connection by connection in the order they were opened.
    seen = [l.rstrip("\n").split("\t") for l in open(a.client_tls) if l.strip()]
    if len(seen) != len(conns):
        ok = False
        print(f"  {len(seen)} TLS connections in the client log, {len(conns)} in the capture", file=sys.stderr)
    for s, c in zip(seen, conns):
        client, port, sni, version, cipher, alpn, resumed, early = s
        mine = [str(c["client_port"]), c["sni"], c["version"], c["cipher"], c["alpn"], c["resumed"], c["early"]]
        theirs = [port, sni, version, by_name.get(cipher, cipher), alpn, resumed, early]
        bad = [(m, t) for m, t in zip(mine, theirs) if t != "?" and m != t]
        if bad:
            ok = False
            print(f"  {client}: capture {mine} but the client saw {theirs}", file=sys.stderr)
        c["client_label"] = client
    if not ok:
        sys.exit(f"{a.name}: the oracle checks failed")

    cols = ["client", "server", "sni", "version", "cipher", "alpn", "ja4", "ja4s", "resumed",
            "cert_subject", "cert_not_after", "cert_issuer", "cert_dns_names", "early_data", "client_cert", "fatal_alert", "client_program", "ja4_r"]
    with open(a.out, "w") as f:
        f.write("\t".join(cols) + "\n")
        for c in conns:
            subject, after, issuer, names = c["server_cert"] or ("-", "-", "-", "-")
            f.write("\t".join([c["client"], c["server"], c["sni"], c["version"], c["cipher"], c["alpn"],
                               c["ja4"], c["ja4s"], c["resumed"], subject, after, issuer, names, c["early"],
                               c["client_cert"], c["fatal_alert"], c["client_label"], c["ja4_r"]]) + "\n")
    print(f"  {len(conns)} TLS connections, {sum(c['resumed'] == 'yes' for c in conns)} resumed", file=sys.stderr)


def cmd_cleartext(a):
    for line in request_lines(a.pcap):
        print(line)


def cmd_decrypted(a):
    print("method\turi")
    for line in request_lines(a.pcap, keys=a.keys):
        print(line)


def main():
    global LOG, TLS_LOG
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log", default=os.environ.get("CLIENT_LOG"))
    p.add_argument("--tls-log", default=os.environ.get("TLS_CLIENT_LOG"))
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("requests", "httpclient"):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--host", default="api.tls.test")
        s.add_argument("--ca", required=True)
        s.add_argument("--cert")
        s.add_argument("--key")
    s = sub.add_parser("curl")
    s.add_argument("--label", required=True)
    s.add_argument("--w", required=True)
    s.add_argument("--trace", required=True)
    s.add_argument("--fail-ok", action="store_true")
    s = sub.add_parser("s-client")
    s.add_argument("--label", required=True)
    s.add_argument("--request", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--sni", default="-")
    s = sub.add_parser("oracle")
    s.add_argument("--name", required=True)
    s.add_argument("--pcap", required=True)
    s.add_argument("--keys", required=True)
    s.add_argument("--expected", required=True)
    s.add_argument("--client-tls", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--foxio", default=os.environ.get("FOXIO_JA4"))
    sub.add_parser("bearer")
    s = sub.add_parser("cleartext")
    s.add_argument("pcap")
    s = sub.add_parser("decrypted")
    s.add_argument("pcap")
    s.add_argument("keys")
    a = p.parse_args()
    LOG, TLS_LOG = a.log, a.tls_log
    {
        "requests": cmd_requests,
        "httpclient": cmd_httpclient,
        "curl": cmd_curl,
        "s-client": cmd_s_client,
        "oracle": cmd_oracle,
        "cleartext": cmd_cleartext,
        "decrypted": cmd_decrypted,
        "bearer": lambda a: print(BEARER),
    }[a.command](a)


if __name__ == "__main__":
    main()
