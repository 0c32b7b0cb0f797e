#!/usr/bin/env python3
"""The frame oracle of websocket.pcap: tshark's websocket dissector, one row per frame.

    ws_expected.py CAPTURE PORT OUT

Writes OUT (websocket.expected-frames.tsv) with the header
`stream from fin rsv opcode masked payload_len close_code`: `stream` is the connection's index
in the capture (tshark's tcp.stream, renumbered from 0 in order of appearance), `from` is
`client` or `server`, `payload_len` the real length (the 16- or 64-bit extended length when
the 7-bit field says so), `close_code` the status code of a close frame ('' otherwise).
tshark reads the capture on its own, so CI needs no tshark: tests/websocket.rs compares
shadowtap's figures with this file.
"""

import subprocess
import sys


def main(capture, port, out):
    fields = [
        "tcp.stream",
        "tcp.srcport",
        "websocket.fin",
        "websocket.rsv",
        "websocket.opcode",
        "websocket.mask",
        "websocket.payload_length",
        "websocket.payload_length_ext_16",
        "websocket.payload_length_ext_64",
        "websocket.payload.close.status_code",
    ]
    cmd = ["tshark", "-r", capture, "-d", f"tcp.port=={port},http", "-Y", "websocket", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in fields:
        cmd += ["-e", f]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    streams = {}
    rows = []
    for line in text.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        # Several frames in one segment: tshark aggregates each field with ';'.
        per = [c.split(";") for c in cols]
        n = len(per[4])
        stream = streams.setdefault(per[0][0], len(streams))
        who = "server" if per[1][0] == str(port) else "client"
        ext16 = iter(x for x in per[7] if x)
        ext64 = iter(x for x in per[8] if x)
        codes = iter(x for x in per[9] if x)
        for i in range(n):
            fin = "1" if per[2][i] in ("1", "True") else "0"
            rsv = int(per[3][i], 0)
            opcode = int(per[4][i], 0)
            masked = "1" if per[5][i] in ("1", "True") else "0"
            n7 = int(per[6][i], 0)
            length = int(next(ext16), 0) if n7 == 126 else int(next(ext64), 0) if n7 == 127 else n7
            code = next(codes, "") if opcode == 8 and length >= 2 else ""
            rows.append((stream, who, fin, rsv, opcode, masked, length, code))
    with open(out, "w") as f:
        f.write("stream\tfrom\tfin\trsv\topcode\tmasked\tpayload_len\tclose_code\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
