#!/usr/bin/env python3
"""The gRPC capture's server: acme.inventory.v1.Inventory (grpc/inventory.proto) on grpcio,
with the standard health service and server reflection enabled.

    grpc_server.py PORT GENERATED_DIR

GENERATED_DIR holds inventory_pb2.py and inventory_pb2_grpc.py (grpc_tools.protoc output,
written by scenario-grpc.sh). Cleartext HTTP/2 on 127.0.0.1:PORT.
"""

import sys
import time
from concurrent import futures

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha import reflection  # noqa: E402

import inventory_pb2 as pb  # noqa: E402
import inventory_pb2_grpc as pbg  # noqa: E402

ITEMS = {
    f"SKU-{i:04d}": pb.Item(
        sku=f"SKU-{i:04d}",
        name=f"widget {i}",
        price=pb.Price(cents=1000 + 25 * i, currency="EUR"),
        tags=["hardware", "blue"] if i % 2 else ["garden"],
        stock=10 * i,
        owner_email=f"buyer{i}@acme.example",
        # Long and repetitive for the items whose answers are compressed (grpc-core sends a
        # message uncompressed when gzip would not make it smaller).
        description=("Sturdy widget, weatherproof, blue. " * 12) if i >= 7 else "",
    )
    for i in range(1, 13)
}


class Inventory(pbg.InventoryServicer):
    def GetItem(self, request, context):
        item = ITEMS.get(request.sku.strip())
        if item is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no item {request.sku}")
        return item

    def ListItems(self, request, context):
        if request.prefix == "SKU-001":
            # Responses compressed (grpc-encoding: gzip, compressed flag set per message).
            context.set_compression(grpc.Compression.Gzip)
        n = 0
        for sku, item in sorted(ITEMS.items()):
            if sku.startswith(request.prefix):
                if request.limit and n >= request.limit:
                    break
                n += 1
                yield item

    def RecordStock(self, request_iterator, context):
        changes = total = 0
        for c in request_iterator:
            changes += 1
            total += c.delta
        return pb.StockSummary(changes=changes, total_delta=total)

    def Chat(self, request_iterator, context):
        for m in request_iterator:
            yield pb.ChatMessage(**{"from": "server", "text": "ack: " + m.text, "sentiment": 0.5})

    def Slow(self, request, context):
        time.sleep(1.0)
        return ITEMS["SKU-0001"]


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pbg.add_InventoryServicer_to_server(Inventory(), server)
    h = health.HealthServicer()
    h.set("acme.inventory.v1.Inventory", health_pb2.HealthCheckResponse.SERVING)
    h.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(h, server)
    reflection.enable_server_reflection(
        (
            pb.DESCRIPTOR.services_by_name["Inventory"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
