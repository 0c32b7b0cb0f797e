#!/usr/bin/env python3
"""The gRPC oracle: tshark's http2 and grpc dissectors on a cleartext gRPC capture, one row
per HTTP/2 stream whose request is gRPC.

    grpc_expected.py CAPTURE PORT > grpc.expected.tsv

Runs `tshark -r CAPTURE -d tcp.port==PORT,http2 -T json` and writes, per (connection,
stream), sorted by connection and stream:

    path  authority  content_type  grpc_status  grpc_message  request_messages  response_messages

`grpc_status` is the last `grpc-status` field the server sent on the stream (its trailers, or
the headers of a trailers-only response), `-` when it sent none; message counts are the
length-prefixed messages tshark's grpc dissector found in each direction's DATA frames.
"""

import json
import subprocess
import sys

from h2_expected import Obj, children


def frames(layer):
    """The http2 frame objects of one http2 layer."""
    return [v for k, v in layer if k == "http2.stream"]


def headers(stream):
    out = []

    def walk(o):
        if isinstance(o, Obj):
            for k, v in o:
                if k == "http2.header" and isinstance(v, Obj):
                    out.append((v.get("http2.header.name"), v.get("http2.header.value")))
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(stream)
    return out


def count_grpc(o):
    n = 0
    if isinstance(o, Obj):
        for k, v in o:
            if k == "grpc.message_length":
                n += 1
            else:
                n += count_grpc(v)
    elif isinstance(o, list):
        for v in o:
            n += count_grpc(v)
    return n


def main():
    cap, port = sys.argv[1], int(sys.argv[2])
    out = subprocess.run(
        ["tshark", "-r", cap, "-d", f"tcp.port=={port},http2", "-T", "json"],
        check=True, capture_output=True, text=True,
    ).stdout
    packets = json.loads(out, object_pairs_hook=Obj)
    streams = {}
    for p in packets:
        layers = p.get("_source").get("layers")
        tcp = layers.get("tcp")
        if tcp is None or "http2" not in layers:
            continue
        conn = int(tcp.get("tcp.stream"))
        to_server = int(tcp.get("tcp.dstport")) == port
        # The layers in order: tshark puts each DATA frame's grpc layer right after the http2
        # layer of that frame.
        data_stream = None
        for key, layer in layers:
            if key == "grpc" and data_stream is not None:
                s = streams[(conn, data_stream)]
                s["req" if to_server else "resp"] += count_grpc(layer)
                continue
            if key != "http2":
                continue
            data_stream = None
            for fr in frames(layer):
                sid = int(fr.get("http2.streamid") or 0)
                if sid == 0:
                    continue
                s = streams.setdefault((conn, sid), {
                    "path": None, "authority": "-", "ct": "-", "status": "-", "message": "-",
                    "req": 0, "resp": 0})
                if fr.get("http2.type") == "0":
                    data_stream = sid
                for name, value in headers(fr):
                    if to_server and name == ":path":
                        s["path"] = value
                    elif to_server and name == ":authority":
                        s["authority"] = value
                    elif to_server and name == "content-type":
                        s["ct"] = value
                    elif not to_server and name == "grpc-status":
                        s["status"] = value
                    elif not to_server and name == "grpc-message":
                        s["message"] = value or "-"
    print("path\tauthority\tcontent_type\tgrpc_status\tgrpc_message\trequest_messages\tresponse_messages")
    for (conn, sid), s in sorted(streams.items()):
        if s["path"] is None or not s["ct"].startswith("application/grpc"):
            continue
        print("\t".join(str(x) for x in (s["path"], s["authority"], s["ct"], s["status"],
                                          s["message"], s["req"], s["resp"])))


if __name__ == "__main__":
    main()
