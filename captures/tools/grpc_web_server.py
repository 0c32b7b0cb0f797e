#!/usr/bin/env python3
"""A gRPC-Web server for grpc_web.pcap: sonora's WSGI application on waitress (HTTP/1.1).

    grpc_web_server.py PORT GEN

Serves acme.inventory.v1.Inventory of tools/grpc/inventory.proto (stubs generated into GEN by
grpc_tools.protoc): `GetItem` (unary; NOT_FOUND with a grpc-message for an unknown SKU) and
`ListItems` (server streaming). sonora answers `application/grpc-web+proto`, or
`application/grpc-web-text` (base64) when the request's Accept asks for it; the grpc-status
travels in a trailer frame at the end of the body (no HTTP trailers in gRPC-Web).
"""

import sys

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
import sonora.wsgi  # noqa: E402
import waitress  # noqa: E402

import inventory_pb2 as pb  # noqa: E402
import inventory_pb2_grpc as pbg  # noqa: E402

ITEMS = {
    f"SKU-{i:03d}": pb.Item(
        sku=f"SKU-{i:03d}",
        name=f"widget {i}",
        price=pb.Price(cents=199 * i, currency="EUR"),
        tags=["web", "grpc"],
        stock=10 * i,
        owner_email=f"owner{i}@acme.test",
    )
    for i in range(1, 7)
}


class Inventory(pbg.InventoryServicer):
    def GetItem(self, request, context):
        item = ITEMS.get(request.sku)
        if item is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no item {request.sku}")
        return item

    def ListItems(self, request, context):
        n = 0
        for sku in sorted(ITEMS):
            if sku.startswith(request.prefix) and (request.limit == 0 or n < request.limit):
                n += 1
                yield ITEMS[sku]


def main():
    app = sonora.wsgi.grpcWSGI(None)
    pbg.add_InventoryServicer_to_server(Inventory(), app)
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=1, ident="waitress")


if __name__ == "__main__":
    main()
