#!/usr/bin/env python3
"""The gRPC-Web client of grpc_web.pcap.

    grpc_web_client.py PORT GEN CALLS

sonora's client (`sonora.client.insecure_web_channel`, urllib3, one keep-alive connection,
`application/grpc-web+proto`): three unary `GetItem` calls (two found, one NOT_FOUND) and a
server-streaming `ListItems` (3 items). sonora's client speaks only the binary mode, so the
text mode (`application/grpc-web-text`, base64 both ways) is one `GetItem` and one `ListItems`
sent by hand with http.client on another connection; the answers are decoded and checked.
CALLS gets one row per call, from the client's own view:
`path content_type grpc_status messages_sent messages_received`.
"""

import base64
import http.client
import struct
import sys

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
import sonora.client  # noqa: E402

import inventory_pb2 as pb  # noqa: E402
import inventory_pb2_grpc as pbg  # noqa: E402

SERVICE = "/acme.inventory.v1.Inventory"


class Channel:
    """sonora's channel for stubs of a newer grpcio-tools (they pass `_registered_method`)."""

    def __init__(self, channel):
        self._c = channel

    def unary_unary(self, path, request_serializer=None, response_deserializer=None, **_):
        return self._c.unary_unary(path, request_serializer, response_deserializer)

    def unary_stream(self, path, request_serializer=None, response_deserializer=None, **_):
        return self._c.unary_stream(path, request_serializer, response_deserializer)

    def stream_unary(self, path, request_serializer=None, response_deserializer=None, **_):
        return self._c.stream_unary(path, request_serializer, response_deserializer)

    def stream_stream(self, path, request_serializer=None, response_deserializer=None, **_):
        return self._c.stream_stream(path, request_serializer, response_deserializer)


def frames(body):
    """Splits a gRPC-Web body into (flags, payload) frames."""
    out = []
    while body:
        flags, n = struct.unpack(">BI", body[:5])
        out.append((flags, body[5 : 5 + n]))
        body = body[5 + n :]
    return out


def text_call(conn, method, request):
    msg = request.SerializeToString()
    body = base64.b64encode(struct.pack(">BI", 0, len(msg)) + msg)
    conn.request(
        "POST",
        f"{SERVICE}/{method}",
        body=body,
        headers={
            "Content-Type": "application/grpc-web-text",
            "Accept": "application/grpc-web-text",
            "X-Grpc-Web": "1",
            "X-User-Agent": "grpc-web-text-by-hand/1",
        },
    )
    resp = conn.getresponse()
    raw = resp.read()
    assert resp.status == 200, resp.status
    # The server base64-encodes each frame on its own: decode piece by piece at each padding end.
    data, rest = b"", raw
    while rest:
        end = rest.find(b"=")
        if end < 0:
            data += base64.b64decode(rest)
            break
        while end < len(rest) and rest[end : end + 1] == b"=":
            end += 1
        data += base64.b64decode(rest[:end])
        rest = rest[end:]
    fs = frames(data)
    trailers = dict(
        line.split(":", 1) for line in fs[-1][1].decode().split("\r\n") if line
    )
    assert fs[-1][0] & 0x80, fs
    return [pb.Item.FromString(p) for f, p in fs if not f & 0x80], trailers["grpc-status"].strip()


def main(port, calls_path):
    rows = []
    with sonora.client.insecure_web_channel(f"http://127.0.0.1:{port}") as channel:
        stub = pbg.InventoryStub(Channel(channel))
        for sku in ("SKU-001", "SKU-004"):
            item = stub.GetItem(pb.GetItemRequest(sku=sku, include_stock=True))
            assert item.sku == sku, item
            rows.append(("GetItem", "application/grpc-web+proto", 0, 1, 1))
        try:
            stub.GetItem(pb.GetItemRequest(sku="SKU-999"))
            raise AssertionError("SKU-999 found")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e
            rows.append(("GetItem", "application/grpc-web+proto", 5, 1, 0))
        items = list(stub.ListItems(pb.ListItemsRequest(prefix="SKU-00", limit=3)))
        assert [i.sku for i in items] == ["SKU-001", "SKU-002", "SKU-003"], items
        rows.append(("ListItems", "application/grpc-web+proto", 0, 1, 3))
    conn = http.client.HTTPConnection("127.0.0.1", port)
    items, status = text_call(conn, "GetItem", pb.GetItemRequest(sku="SKU-002"))
    assert status == "0" and [i.sku for i in items] == ["SKU-002"], (status, items)
    rows.append(("GetItem", "application/grpc-web-text", 0, 1, 1))
    items, status = text_call(conn, "ListItems", pb.ListItemsRequest(prefix="SKU", limit=2))
    assert status == "0" and len(items) == 2, (status, items)
    rows.append(("ListItems", "application/grpc-web-text", 0, 1, 2))
    conn.close()
    with open(calls_path, "w") as f:
        f.write("path\tcontent_type\tgrpc_status\tmessages_sent\tmessages_received\n")
        for m, ct, st, sent, got in rows:
            f.write(f"{SERVICE}/{m}\t{ct}\t{st}\t{sent}\t{got}\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[3])
