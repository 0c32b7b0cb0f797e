#!/usr/bin/env python3
"""The gRPC capture's client: every call kind against grpc_server.py, one channel (one
connection) for the application, one for the operator's tools (health, reflection) and one
whose requests are compressed.

    grpc_client.py PORT GENERATED_DIR CALLS_TSV

Writes CALLS_TSV, the client's own record of each call in the order made:
path, kind (unary, client_streaming, server_streaming, bidi_streaming), the status code name,
messages sent and messages received.
"""

import sys

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: E402

import inventory_pb2 as pb  # noqa: E402
import inventory_pb2_grpc as pbg  # noqa: E402

TOKEN = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdG9jay1ib3QifQ.c2lnbmF0dXJlLW5vdC1yZWFs"
ROWS = []


def record(path, kind, fn, sent):
    try:
        got = fn()
        code = "OK"
    except grpc.RpcError as e:
        got = None
        code = e.code().name
    received = 0 if got is None else (len(got) if isinstance(got, list) else 1)
    ROWS.append((path, kind, code, sent, received))


def stream_list(call):
    out = []
    try:
        for m in call:
            out.append(m)
    except grpc.RpcError:
        raise
    return out


def main():
    port = sys.argv[1]
    ops = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(ops)
    p = "/grpc.health.v1.Health/Check"
    record(p, "unary", lambda: health.Check(health_pb2.HealthCheckRequest(service="")), 1)
    record(p, "unary", lambda: health.Check(
        health_pb2.HealthCheckRequest(service="acme.inventory.v1.Inventory")), 1)
    refl = reflection_pb2_grpc.ServerReflectionStub(ops)
    reqs = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="acme.inventory.v1.Inventory"),
    ]
    record("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "bidi_streaming",
           lambda: stream_list(refl.ServerReflectionInfo(iter(reqs))), len(reqs))

    app = grpc.insecure_channel(f"127.0.0.1:{port}")
    inv = pbg.InventoryStub(app)
    md = (("authorization", TOKEN),)
    p = "/acme.inventory.v1.Inventory/GetItem"
    for i in (1, 2, 3, 4, 5):
        req = pb.GetItemRequest(sku=f"SKU-{i:04d}", include_stock=i % 2 == 1)
        record(p, "unary", lambda: inv.GetItem(req, metadata=md), 1)
    record(p, "unary", lambda: inv.GetItem(pb.GetItemRequest(sku="SKU-9999"), metadata=md), 1)
    # A channel whose requests are compressed (grpc-encoding: gzip).
    gz = grpc.insecure_channel(f"127.0.0.1:{port}", compression=grpc.Compression.Gzip)
    record(p, "unary", lambda: pbg.InventoryStub(gz).GetItem(pb.GetItemRequest(sku="SKU-0007" + " " * 200),  # padded: compressible
                                                             metadata=md), 1)
    gz.close()
    p = "/acme.inventory.v1.Inventory/ListItems"
    record(p, "server_streaming",
           lambda: stream_list(inv.ListItems(pb.ListItemsRequest(prefix="SKU-00", limit=6))), 1)
    record(p, "server_streaming",
           lambda: stream_list(inv.ListItems(pb.ListItemsRequest(prefix="SKU-001"))), 1)
    changes = [pb.StockChange(sku=f"SKU-{i:04d}", delta=d, at_ms=1733400000000 + i)
               for i, d in ((1, 5), (2, -3), (3, 12), (1, -1))]
    record("/acme.inventory.v1.Inventory/RecordStock", "client_streaming",
           lambda: inv.RecordStock(iter(changes)), len(changes))
    chat = [pb.ChatMessage(**{"from": "ops", "text": t, "sentiment": s})
            for t, s in (("hello", 0.9), ("stock low on SKU-0003", -0.2), ("call me at ops@acme.example", 0.1))]
    record("/acme.inventory.v1.Inventory/Chat", "bidi_streaming",
           lambda: stream_list(inv.Chat(iter(chat))), len(chat))
    record("/acme.inventory.v1.Inventory/Slow", "unary",
           lambda: inv.Slow(pb.GetItemRequest(sku="SKU-0001"), timeout=0.3), 1)
    app.close()
    ops.close()
    with open(sys.argv[3], "w") as f:
        f.write("path\tkind\tcode\tsent\treceived\n")
        for r in ROWS:
            f.write("\t".join(map(str, r)) + "\n")


if __name__ == "__main__":
    main()
