#!/usr/bin/env python3
"""The oracle of grpc_web.pcap: tshark's gRPC-Web dissector (HTTP/1.1), one row per call.

    grpc_web_expected.py CAPTURE PORT > grpc_web.expected.tsv

Columns `path content_type grpc_status grpc_message messages_in messages_out`: the request's
path and content type, the grpc-status and grpc-message of the trailer frame at the end of the
response body, and the data frames (frame type 0) of the request and of the response. Responses
are paired with the requests of their connection in order (HTTP/1.1, no pipelining here).
tshark reads the capture on its own, so the tests need no tshark.
"""

import subprocess
import sys


def main(capture, port):
    cmd = ["tshark", "-r", capture, "-d", f"tcp.port=={port},http", "-Y", "grpc", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|",
           "-e", "tcp.stream", "-e", "http.request.uri", "-e", "http.content_type",
           "-e", "grpc.frame_type", "-e", "text"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    pending = {}
    rows = []
    for line in out.splitlines():
        stream, uri, ctype, ftypes, text = (line.split("\t") + [""] * 5)[:5]
        data = sum(1 for f in ftypes.split("|") if f == "0")
        if uri:
            row = [uri, ctype, "", "", data, 0]
            rows.append(row)
            pending.setdefault(stream, []).append(row)
            continue
        row = pending[stream].pop(0)
        row[5] = data
        for t in text.split("|"):
            t = t.replace("\\r\\n", "").strip()
            if t.startswith("grpc-status:"):
                row[2] = t.split(":", 1)[1].strip()
            elif t.startswith("grpc-message:"):
                row[3] = t.split(":", 1)[1].strip()
    print("path\tcontent_type\tgrpc_status\tgrpc_message\tmessages_in\tmessages_out")
    for r in rows:
        print("\t".join(str(x) for x in r))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
