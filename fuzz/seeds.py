#!/usr/bin/env python3
"""Writes the structured seed inputs of the fuzz targets into fuzz/corpus/<target>/seed-*.

Run from anywhere: `python3 fuzz/seeds.py`. The formats are described at the top of each
target's source file in fuzz/fuzz_targets/.
"""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- engine_stream -------------------------------------------------------------------------
SYN, ACK, FIN, RST, PSH = 2, 4, 8, 16, 32


def rec(to_server, flags, payload=b"", seq_delta=0, conn=0, extra=0, ack_delta=None):
    """One engine_stream record (see the table in engine_stream.rs)."""
    r0 = (0 if to_server else 1) | flags
    r2 = 0
    if ack_delta is not None:
        r0 |= 0x40
        r2 = ack_delta & 0xFF
    out = b""
    # Payloads longer than 255 bytes become several records.
    while True:
        piece, payload = payload[:255], payload[255:]
        out += bytes([r0, seq_delta & 0xFF, r2, (conn & 0x0F) | extra, len(piece)]) + piece
        seq_delta = 0
        if not payload:
            return out


def handshake(conn=0):
    return rec(True, SYN, conn=conn) + rec(False, SYN | ACK, conn=conn) + rec(True, ACK, conn=conn)


def close(conn=0):
    return (
        rec(True, FIN | ACK, conn=conn)
        + rec(False, FIN | ACK, conn=conn)
        + rec(True, ACK, conn=conn)
    )


GET = b"GET /api/users/42?x=1 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: fuzz\r\n\r\n"
RESP_CL = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n"
    + b'{"id":42,"name":"ada","x":1}'[:27]
)
RESP_CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
)
POST = (
    b"POST /api/login HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: "
    b"application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\nuser=ada&password=hunter2&x=1"
)
GZ_BODY = gzip.compress(b'{"items":[1,2,3],"token":"abc"}')
RESP_GZ = (
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
    + str(len(GZ_BODY)).encode()
    + b"\r\n\r\n"
    + GZ_BODY
)


def engine_seeds():
    cfg = b"\x00"
    write("engine_stream", "get-200-cl", cfg + handshake() + rec(True, ACK | PSH, GET)
          + rec(False, ACK | PSH, RESP_CL) + close())
    write("engine_stream", "get-200-chunked", cfg + handshake() + rec(True, ACK | PSH, GET)
          + rec(False, ACK | PSH, RESP_CHUNKED[:40]) + rec(False, ACK | PSH, RESP_CHUNKED[40:])
          + close())
    write("engine_stream", "pipelined", cfg + handshake() + rec(True, ACK | PSH, GET + POST + GET)
          + rec(False, ACK | PSH, RESP_CL + RESP_CHUNKED + RESP_CL) + close())
    write("engine_stream", "gzip-body", cfg + handshake() + rec(True, ACK | PSH, GET)
          + rec(False, ACK | PSH, RESP_GZ) + close())
    # Mid-stream pickup, out of order and retransmitted data, a gap acknowledged, IPv6.
    write("engine_stream", "midstream-ooo", cfg
          + rec(True, ACK | PSH, GET, extra=0x10)
          + rec(False, ACK | PSH, RESP_CL[30:], seq_delta=30, extra=0x10)
          + rec(False, ACK | PSH, RESP_CL[:30], seq_delta=-30 & 0xFF, extra=0x10)
          + rec(False, ACK | PSH, RESP_CL[:10], seq_delta=-(len(RESP_CL)) & 0xFF, extra=0x10)
          + rec(True, ACK | PSH, GET, extra=0x10, ack_delta=100))
    # IPv4 fragments, snap-length cuts, a duplicate, an upgrade, an RST.
    write("engine_stream", "frag-snap-upgrade", cfg + handshake(1)
          + rec(True, ACK | PSH, GET, conn=1, extra=0x20)
          + rec(False, ACK | PSH, RESP_CL, conn=1, extra=0x20 | 0x80)
          + rec(True, ACK | PSH, POST, conn=1, extra=0x40)
          + rec(True, ACK | PSH, b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n\r\n", conn=1, extra=0x80)
          + rec(False, ACK | PSH, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"\r\n\x81\x05hello", conn=1)
          + rec(True, RST, conn=1))
    # Many connections (more than max_flows) and an idle timeout.
    many = cfg
    for c in range(10):
        many += handshake(c) + rec(True, ACK | PSH, GET, conn=c)
    many += rec(False, ACK | PSH | 0x80, RESP_CL, conn=9)
    write("engine_stream", "many-flows", many)


# ---- http_parser_split ---------------------------------------------------------------------
def split_seed(name, stream, kind_resp=False, cuts=(), b1=0x16):
    b0 = (1 if kind_resp else 0) | (len(cuts) << 2)
    cut_bytes = b"".join(struct.pack("<H", c) for c in cuts)
    write("http_parser_split", name, bytes([b0, b1]) + cut_bytes + stream)


def parser_seeds():
    split_seed("requests", GET + POST + GET, cuts=(5, 40, 100))
    split_seed("responses", RESP_CL + RESP_CHUNKED + RESP_GZ, kind_resp=True, cuts=(3, 70, 150))
    split_seed("resync", b"garbage\r\nmore \x00\xff junk " + GET + b"\r\n" + POST, cuts=(9, 20))
    split_seed("interim", b"HTTP/1.1 100 Continue\r\n\r\n" + RESP_CL + b"HTTP/1.0 200 OK\r\n\r\ntail",
               kind_resp=True, cuts=(1,))
    split_seed("upgrade", b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n" + GET, cuts=(30,),
               b1=0x96)


# ---- the small decoders --------------------------------------------------------------------
def decoder_seeds():
    # http_head
    for i, h in enumerate([GET, POST.split(b"\r\n\r\n")[0] + b"\r\n\r\n", RESP_CL[:70],
                           b"GET /caf\xe9 x HTTP/1.1\r\nHost : h\r\nX: a\r\n  b\r\n\r\n",
                           b"OPTIONS\r\n\r\n", b"junk HTTP/1.1 200 OK\r\n\r\n"]):
        write("http_head", f"head{i}", h)
    # http_chunked: no cut count byte means one cut point list of length 0
    for i, body in enumerate([b"5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nX: 1\r\n\r\nNEXT",
                              b"a\r\n0123456789\r\n0\r\n\r\n", b"zz\r\n"]):
        write("http_chunked", f"chunked{i}", bytes([2]) + struct.pack("<HH", 3, 9) + body)
    # http_body_decode: selector, then body
    text = b'{"hello": "world", "n": [1,2,3]}' * 20
    write("http_body_decode", "gzip", bytes([0x40]) + gzip.compress(text))
    write("http_body_decode", "zlib", bytes([0x41]) + zlib.compress(text))
    raw = zlib.compressobj(wbits=-15)
    write("http_body_decode", "deflate-raw", bytes([0x41]) + raw.compress(text) + raw.flush())
    write("http_body_decode", "gzip-gzip", bytes([0x43]) + gzip.compress(gzip.compress(text)))
    # brotli: one uncompressed meta-block (no encoder needed)
    data = b"brotli sample " * 10
    bits = []

    def put(v, n):
        bits.extend((v >> i) & 1 for i in range(n))

    put(0, 1)
    put(0, 1)
    put(0, 2)
    put(len(data) - 1, 16)
    put(1, 1)
    while len(bits) % 8:
        bits.append(0)
    head = bytes(sum(b << i for i, b in enumerate(bits[j:j + 8])) for j in range(0, len(bits), 8))
    tail = bytes([0b11])
    write("http_body_decode", "brotli", bytes([0x42]) + head + data + tail)
    # decode_link_ip: selector 5 = RAW (one frame), selector 0x8000|0 = Ethernet, several frames
    ip = bytes.fromhex("4500002c000100004006" "0000" "0a000001" "0a000002") + bytes.fromhex(
        "9c400050000003e8000000005018ffff00000000") + b"GET /"[:4]
    write("decode_link_ip", "raw-ipv4-tcp", struct.pack("<H", 5) + ip)
    eth = b"\x00" * 12 + b"\x81\x00\x00\x01\x08\x00" + ip
    write("decode_link_ip", "ether-vlan", struct.pack("<H", 0) + eth)
    frag1 = bytearray(ip[:20] + ip[20:36])
    frag1[6] = 0x20
    frag2 = bytearray(ip[:20] + ip[36:])
    frag2[7] = 2
    frames = b"".join(struct.pack("<H", len(f)) + bytes(f) for f in [frag2, frag1])
    write("decode_link_ip", "raw-fragments", struct.pack("<H", 0x8000 | 5) + frames)
    v6 = bytes.fromhex("6000000000140600") + b"\x20\x01" + b"\x00" * 13 + b"\x01" + b"\x20\x01" + \
        b"\x00" * 13 + b"\x02" + ip[20:40]
    write("decode_link_ip", "sll2-ipv6", struct.pack("<H", 2) + b"\x86\xdd" + b"\x00" * 18 + v6)
    nf = b"\x02\x00\x00\x00" + struct.pack("<HH", 4 + len(ip), 9) + ip
    write("decode_link_ip", "nflog", struct.pack("<H", 8) + nf)


def spec_seeds():
    """spec_import: small API descriptions in JSON and YAML, and the shapes the pre-scan must
    read like libyaml does (block scalars, quotes, comments, anchors), and hostile ones cut
    small (deep nesting, alias fan-out)."""
    yaml = b"""openapi: 3.0.3
info: {title: 'Seed: [YAML]', version: "1.0"}
servers:
  - url: https://api.example.com/v1
paths:
  /users/{id}:
    parameters:
      - {name: id, in: path, required: true}
    get:
      description: |
        Returns a user. [not a list {not a map
          indented more
      responses:
        '200':
          description: ok # a comment [
          content:
            application/json:
              schema: &user
                type: object
                properties:
                  email: {type: string}
    put:
      requestBody:
        content:
          application/json:
            schema: *user
      responses:
        default: {description: "error \" [" }
"""
    write("spec_import", "openapi-yaml", yaml)
    json = (b'{"swagger": "2.0", "info": {"title": "Seed [JSON]", "version": "1"}, '
            b'"host": "api.example.com", "basePath": "/api", "paths": {"/items": {"get": '
            b'{"parameters": [{"name": "q", "in": "query"}], "responses": {"200": '
            b'{"description": "a \\"[{\\" b"}}}}}}')
    write("spec_import", "swagger-json", json)
    write("spec_import", "deep-json", b'{"a":' * 200 + b'1' + b'}' * 200)
    write("spec_import", "deep-yaml-flow", b"a: " + b"[" * 200 + b"]" * 200 + b"\n")
    write("spec_import", "deep-yaml-block", b"".join(b"  " * i + b"k:\n" for i in range(150)))
    write("spec_import", "compact-sequences", b"- " * 200 + b"x\n")
    laughs = b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
        b"a%d: &a%d [%s]\n" % (i, i, b", ".join([b"*a%d" % (i - 1)] * 10)) for i in range(1, 7))
    write("spec_import", "alias-fan-out", laughs)
    write("spec_import", "utf16", b"\xff\xfe" + "openapi: 3.0.0\npaths: {}\n".encode("utf-16-le"))


# ---- tls_handshake -------------------------------------------------------------------------
def tls_seeds():
    """Connections of src/tls/testdata (loopback captures) in the tls_handshake format."""
    testdata = os.path.join(HERE, "..", "src", "tls", "testdata")

    def segments(name, flags_last=0):
        out = b""
        lines = [l for l in open(os.path.join(testdata, name + ".txt")) if l[:2] in ("c ", "s ")]
        for i, line in enumerate(lines):
            payload = bytes.fromhex(line[2:].strip())
            s0 = (0 if line[0] == "c" else 1) | (flags_last if i == len(lines) - 1 else 0)
            out += bytes([s0]) + struct.pack("<H", len(payload)) + payload
        return out

    for name, b0 in [("curl_tls12_sni", 0x03), ("sclient_tls13_hrr", 0x03),
                     ("sclient_tls12_client_cert", 0x32), ("sclient_tls13_psk_early", 0x0b),
                     ("chromium_tls13_grease", 0x03)]:
        write("tls_handshake", name.replace("_", "-"), bytes([b0]) + segments(name, 4))
    # A ClientHello cut into 1-byte records, then a gap in the server's stream.
    lines = [l for l in open(os.path.join(testdata, "curl_tls12_sni.txt")) if l.startswith("c ")]
    hello = bytes.fromhex(lines[0][2:].strip())
    body = hello[5:]
    tiny = b"".join(b"\x16\x03\x01\x00\x01" + body[i:i + 1] for i in range(len(body)))
    write("tls_handshake", "one-byte-records", bytes([0x03, 0]) + struct.pack("<H", len(tiny)) + tiny
          + bytes([3]) + struct.pack("<H", 100))


# ---- http2_frames ----------------------------------------------------------------------------
def h2_seeds():
    """Conversations of h2 frames after the preface (the target sends it): one stream with a
    JSON POST, padded DATA, CONTINUATION and trailers; many streams; a server push. Header blocks
    are written by hand (static-table indices and raw literals, some with indexing), so no
    package is needed."""

    def frame(kind, flags, sid, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + payload

    def lit(name, value, index=True):
        return bytes([0x40 if index else 0x00, len(name)]) + name + bytes([len(value)]) + value

    def seg(direction, data):
        return bytes([direction]) + struct.pack("<H", len(data)) + data

    req = b"\x83\x86" + lit(b":path", b"/api/items") + lit(b":authority", b"api.test") + lit(b"content-type", b"application/json")
    body = b'{"name":"w"}'
    client = frame(4, 0, 0, b"\x00\x03\x00\x00\x00\x64") + frame(1, 0x0, 1, req[:5]) + frame(9, 0x4, 1, req[5:])
    client += frame(0, 0x8, 1, bytes([2]) + body[:4] + b"\x00\x00") + frame(0, 0x1, 1, body[4:])
    resp = b"\x88" + lit(b"content-type", b"application/json") + lit(b"grpc-status", b"0", False)
    server = frame(4, 0, 0, b"") + frame(1, 0x4, 1, resp) + frame(0, 0, 1, b'{"id":1}') + frame(1, 0x5, 1, lit(b"grpc-status", b"0"))
    write("http2_frames", "post-padded-continuation-trailers", bytes([0x03]) + seg(0, client) + seg(1, server))
    many_c, many_s = b"", b""
    for i in range(40):
        sid = 2 * i + 1
        many_c += frame(1, 0x5, sid, b"\x82\x86\x84\xbe" if i else b"\x82\x86\x84" + lit(b"x-a", b"1"))
        many_s += frame(1, 0x4, sid, b"\x88\xbe" if i else b"\x88" + lit(b"x-b", b"2")) + frame(0, 1, sid, b"ok")
    many_s += frame(3, 0, 81, b"\x00\x00\x00\x08") + frame(7, 0, 0, b"\x00\x00\x00\x51\x00\x00\x00\x00")
    write("http2_frames", "forty-streams", bytes([0x12]) + seg(0, many_c) + seg(1, many_s))
    push = frame(1, 0x5, 1, b"\x82\x86\x84")
    pushed = frame(5, 0x4, 1, b"\x00\x00\x00\x02\x82\x86" + lit(b":path", b"/style.css", False)) + frame(1, 0x4, 1, b"\x88") + frame(0, 1, 1, b"x")
    pushed += frame(1, 0x4, 2, b"\x88") + frame(0, 1, 2, b"css")
    write("http2_frames", "push", bytes([0x0b]) + seg(0, push) + seg(1, pushed))
    # The same with 5 bytes of the server's stream lost inside the pushed body's frame.
    write("http2_frames", "push-gap", bytes([0x0b]) + seg(0, push) + seg(1, pushed[:-12])
          + bytes([3]) + struct.pack("<H", 1) + seg(1, pushed[-11:]))


# ---- websocket_frames ------------------------------------------------------------------------
def websocket_seeds():
    """Conversations of WebSocket frames after the upgrade: masked client frames (text, a
    message fragmented around a ping, binary, close 1000) and the server's echo; the same with
    permessage-deflate (raw deflate, tail removed, RSV1 on first frames); a 64-bit length
    with its top bit set; a gap inside a payload."""
    import zlib

    def frame(fin, op, payload, mask=None, rsv=0):
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | rsv << 4 | op])
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack(">H", n)
        else:
            head += bytes([m | 127]) + struct.pack(">Q", n)
        if mask:
            head += mask
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + payload

    def seg(direction, data):
        return bytes([direction]) + struct.pack("<H", len(data)) + data

    k = b"\x37\xfa\x21\x3d"
    client = (frame(1, 1, b'{"email":"a@example.com"}', k) + frame(0, 1, b"frag-", k) + frame(1, 9, b"p", k)
              + frame(1, 0, b"end", k) + frame(1, 2, bytes(range(200)), k) + frame(1, 8, b"\x03\xe8bye", k))
    server = frame(1, 1, b"welcome") + frame(1, 10, b"p") + frame(1, 8, b"\x03\xe8")
    write("websocket_frames", "echo", bytes([0x30]) + seg(0, client) + seg(1, server))
    z = zlib.compressobj(wbits=-15)
    msgs = []
    for m in (b'{"token":"abc","n":1}', b'{"token":"abc","n":2}'):
        d = z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH)
        msgs.append(d[:-4])
    deflated = frame(1, 1, msgs[0], k, rsv=4) + frame(0, 1, msgs[1][:3], k, rsv=4) + frame(1, 0, msgs[1][3:], k)
    write("websocket_frames", "deflate", bytes([0x11]) + seg(0, deflated) + seg(1, frame(1, 1, msgs[0], rsv=4)))
    write("websocket_frames", "length-top-bit", bytes([0x02]) + seg(0, b"\x82\x7f" + struct.pack(">Q", 1 << 63) + b"rest"))
    big = frame(1, 2, bytes(300), k)
    write("websocket_frames", "gap-in-payload", bytes([0x00]) + seg(0, big[:100]) + bytes([2]) + struct.pack("<H", 50)
          + seg(0, big[150:]) + seg(0, frame(1, 1, b"after", k)))


def keylog_seeds():
    """tls_keylog: the captures' key logs (byte 0 even: key log, pieces of 1 or 16 bytes; bit 1
    the 2-session cap), and records under every suite's fixed keys (byte 0 odd)."""
    caps = os.path.join(HERE, "..", "captures")
    for name, b0 in [("tls13", 0x00), ("tls12", 0xf0), ("tls_weak", 0x02)]:
        write("tls_keylog", name.replace("_", "-") + "-keys", bytes([b0]) + open(os.path.join(caps, name + ".keys"), "rb").read())
    write("tls_keylog", "odd-lines", b"\x30# c\r\n\nCLIENT_RANDOM zz 00\nRSA 0011223344556677 " + b"ab" * 48 + b"\nEXPORTER_SECRET x y")
    recs = b"".join(bytes([23]) + struct.pack(">H", n) + bytes(range(n)) for n in (0, 1, 16, 17, 32, 48, 64, 80))
    for suite in range(7):
        for etm in (0, 16):
            write("tls_keylog", f"records-{suite}-{etm}", bytes([1 | suite << 1 | etm]) + recs)



# ---- grpc_messages -------------------------------------------------------------------------
def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_len(field, data):
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def grpc_frame(msg, compressed=False):
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(msg)) + msg


def grpc_seeds():
    """grpc_messages: framed messages (plain, a stream cut short, gzip), bare and typed walks, deep nesting."""
    PRICE = pb_varint(1 << 3) + pb_varint(1025) + pb_len(2, b"EUR")
    ITEM = (pb_len(1, b"SKU-0001") + pb_len(2, b"widget 1") + pb_len(3, PRICE) + pb_len(4, b"blue")
            + pb_len(4, b"hardware") + pb_varint(5 << 3) + pb_varint(10)
            + pb_len(6, b"buyer1@acme.example"))
    NODE = (pb_len(1, b"root") + pb_len(2, b"\xff\x00\xfe") + pb_len(3, pb_len(1, b"leaf") + pb_varint(4 << 3) + pb_varint(5))
            + pb_varint(5 << 3 | 1) + struct.pack("<d", 0.5) + pb_varint(6 << 3) + b"\x01")
    write("grpc_messages", "unary", b"\x00" + grpc_frame(ITEM))
    write("grpc_messages", "stream", b"\x00" + grpc_frame(ITEM) + grpc_frame(b"") + grpc_frame(PRICE) + grpc_frame(ITEM)[:9])
    write("grpc_messages", "gzip", b"\x81" + grpc_frame(gzip.compress(ITEM, mtime=0), True))
    write("grpc_messages", "typed-frames", b"\xc0" + grpc_frame(NODE))
    write("grpc_messages", "bare", b"\x01" + ITEM)
    write("grpc_messages", "typed", b"\x02" + NODE)
    nested = pb_varint(1 << 3) + b"\x01"
    for _ in range(40):
        nested = pb_len(3, nested)
    write("grpc_messages", "deep", b"\x02" + nested)


def source_seeds():
    """source_logs: byte 0 picks the format (0 combined, 1 nginx JSON, 2 Envoy, 3 HAR), then
    the first lines of the access logs and the HAR stored in captures/, and a few broken ones."""
    caps = os.path.join(HERE, "..", "captures")

    def head(name, n):
        with open(os.path.join(caps, name), "rb") as f:
            return b"".join(f.readline() for _ in range(n))

    write("source_logs", "combined", b"\x00" + head("forge.access.log", 4))
    write("source_logs", "combined-broken", b"\x00" + b'1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "GET /a\\" HTTP/1.1" 200 1 "-" "x\n'
          + b'::1 - "u s" [31/Feb/2026:99:00:00 +0000] "GET / HTTP/1.1" 99999999999 -\n\xff\xfe\n')
    write("source_logs", "nginx-json", b"\x01" + head("forge.access.json.log", 4))
    write("source_logs", "nginx-json-broken", b'\x01{"request":"GET / HTTP/1.1","status":"2x","time_iso8601":1}\n{"status":200\n')
    write("source_logs", "envoy", b'\x02[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 '
          b'"10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"\n')
    with open(os.path.join(caps, "dashboard.har"), "rb") as f:
        har = f.read()
    write("source_logs", "har", b"\x03" + har[:6000])
    write("source_logs", "har-small", b'\x03{"log":{"version":"1.2","entries":[{"startedDateTime":"2026-12-07T01:00:00Z",'
          b'"time":5,"request":{"method":"POST","url":"https://a.test/x?y=1","httpVersion":"HTTP/1.1",'
          b'"headers":[{"name":"Host","value":"a.test"}],"postData":{"mimeType":"application/json","text":"e30="},'
          b'"queryString":[]},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],'
          b'"content":{"size":2,"mimeType":"application/json","text":"{}","encoding":"base64"}},'
          b'"timings":{"send":0,"wait":4,"receive":1}}]}}')


if __name__ == "__main__":
    engine_seeds()
    parser_seeds()
    decoder_seeds()
    spec_seeds()
    tls_seeds()
    h2_seeds()
    websocket_seeds()
    keylog_seeds()
    grpc_seeds()
    source_seeds()
