#!/usr/bin/env python3
"""A small GraphQL API for the graphql capture (graphql-core 3, the reference implementation's
Python port, behind the standard library's HTTP/1.1 server).

    graphql_server.py PORT

POST /graphql takes `{"query", "operationName", "variables", "extensions"}` or a JSON array of
those (a batch); GET /graphql takes `?query=&operationName=&variables=`; automatic persisted
queries (Apollo's protocol: `extensions.persistedQuery.sha256Hash`; an unknown hash answers
`PersistedQueryNotFound`, the client then sends the document with its hash). Introspection is
on, and resolver errors carry their Python traceback in `extensions.exception.stacktrace`
(a development setting left on: what `verbose_errors` is about). Every answer is deterministic.
"""

import hashlib
import json
import sys
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    graphql_sync,
)

USERS = {
    str(i): {
        "id": str(i),
        "name": name,
        "email": f"{name.lower()}@example.com",
        "friends": [str((i % 6) + 1), str(((i + 2) % 6) + 1)],
    }
    for i, name in enumerate(["Ada", "Grace", "Linus", "Barbara", "Dennis", "Margaret"], start=1)
}
PRODUCTS = {
    str(i): {"id": str(i), "title": t, "price": p}
    for i, (t, p) in enumerate([("Keyboard", 49), ("Mouse", 19), ("Monitor", 199), ("Cable", 5)], start=1)
}
ORDERS = [{"id": "o1", "userId": "1", "productId": "1", "qty": 1}, {"id": "o2", "userId": "2", "productId": "3", "qty": 2}]


def user_by_id(_root, _info, id):
    if id == "13":
        # A resolver bug on one id: the error (and its traceback) goes back to the client.
        raise KeyError(f"user {id} has a broken profile row")
    return USERS.get(id)


product_type = GraphQLObjectType(
    "Product",
    lambda: {
        "id": GraphQLField(GraphQLNonNull(GraphQLID)),
        "title": GraphQLField(GraphQLString),
        "price": GraphQLField(GraphQLInt),
    },
)
order_type = GraphQLObjectType(
    "Order",
    lambda: {
        "id": GraphQLField(GraphQLNonNull(GraphQLID)),
        "qty": GraphQLField(GraphQLInt),
        "product": GraphQLField(product_type, resolve=lambda o, _i: PRODUCTS.get(o["productId"])),
        "user": GraphQLField(user_type, resolve=lambda o, _i: USERS.get(o["userId"])),
    },
)
user_type = GraphQLObjectType(
    "User",
    lambda: {
        "id": GraphQLField(GraphQLNonNull(GraphQLID)),
        "name": GraphQLField(GraphQLString),
        "email": GraphQLField(GraphQLString),
        "friends": GraphQLField(GraphQLList(user_type), resolve=lambda u, _i: [USERS[f] for f in u["friends"]]),
        "orders": GraphQLField(GraphQLList(order_type), resolve=lambda u, _i: [o for o in ORDERS if o["userId"] == u["id"]]),
    },
)
query_type = GraphQLObjectType(
    "Query",
    {
        "user": GraphQLField(user_type, args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))}, resolve=user_by_id),
        "users": GraphQLField(
            GraphQLList(user_type),
            args={"first": GraphQLArgument(GraphQLInt)},
            resolve=lambda _r, _i, first=10: list(USERS.values())[:first],
        ),
        "product": GraphQLField(
            product_type, args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))}, resolve=lambda _r, _i, id: PRODUCTS.get(id)
        ),
        "products": GraphQLField(GraphQLList(product_type), resolve=lambda _r, _i: list(PRODUCTS.values())),
        "orders": GraphQLField(GraphQLList(order_type), resolve=lambda _r, _i: ORDERS),
    },
)


def create_order(_root, _info, productId, qty):
    order = {"id": f"o{len(ORDERS) + 1}", "userId": "6", "productId": productId, "qty": qty}
    ORDERS.append(order)
    return order


def login(_root, _info, email, password):
    ok = any(u["email"] == email for u in USERS.values()) and password == "correct horse"
    return "tok_" + hashlib.sha256(email.encode()).hexdigest()[:24] if ok else None


mutation_type = GraphQLObjectType(
    "Mutation",
    {
        "createOrder": GraphQLField(
            order_type,
            args={"productId": GraphQLArgument(GraphQLNonNull(GraphQLID)), "qty": GraphQLArgument(GraphQLInt)},
            resolve=lambda r, i, productId, qty=1: create_order(r, i, productId, qty),
        ),
        "login": GraphQLField(
            GraphQLString,
            args={"email": GraphQLArgument(GraphQLNonNull(GraphQLString)), "password": GraphQLArgument(GraphQLNonNull(GraphQLString))},
            resolve=login,
        ),
    },
)
SCHEMA = GraphQLSchema(query=query_type, mutation=mutation_type)
PERSISTED = {}


def run_one(req):
    """Runs one request object; returns the response object."""
    if not isinstance(req, dict):
        return {"errors": [{"message": "a request must be a JSON object"}]}
    doc = req.get("query")
    ext = req.get("extensions") or {}
    pq = ext.get("persistedQuery") if isinstance(ext, dict) else None
    if pq:
        h = pq.get("sha256Hash")
        if doc:
            if hashlib.sha256(doc.encode()).hexdigest() != h:
                return {"errors": [{"message": "provided sha does not match query"}]}
            PERSISTED[h] = doc
        elif h in PERSISTED:
            doc = PERSISTED[h]
        else:
            return {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    if not isinstance(doc, str):
        return {"errors": [{"message": "no query"}]}
    result = graphql_sync(SCHEMA, doc, variable_values=req.get("variables"), operation_name=req.get("operationName"))
    out = {}
    if result.errors:
        errors = []
        for e in result.errors:
            f = e.formatted
            orig = e.original_error
            if orig is not None:
                f.setdefault("extensions", {})["exception"] = {
                    "stacktrace": traceback.format_exception(type(orig), orig, orig.__traceback__)
                }
            errors.append(f)
        out["errors"] = errors
    if result.data is not None or not result.errors:
        out["data"] = result.data
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "graphql-core-demo/3"
    sys_version = ""

    def log_message(self, *_args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def date_time_string(self, timestamp=None):
        return "Mon, 01 Jan 2024 00:00:00 GMT"

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/health":
            return self.send_json(200, {"ok": True})
        if u.path != "/graphql":
            return self.send_json(404, {"error": "not found"})
        q = dict(urllib.parse.parse_qsl(u.query))
        req = {"query": q.get("query"), "operationName": q.get("operationName")}
        if "variables" in q:
            req["variables"] = json.loads(q["variables"])
        if "extensions" in q:
            req["extensions"] = json.loads(q["extensions"])
        out = run_one(req)
        self.send_json(400 if "data" not in out else 200, out)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        if self.path != "/graphql":
            return self.send_json(404, {"error": "not found"})
        if self.headers.get("Content-Type", "").split(";")[0].strip() == "application/graphql":
            out = run_one({"query": raw.decode("utf-8", "replace")})
            return self.send_json(400 if "data" not in out else 200, out)
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_json(400, {"errors": [{"message": "the body is not JSON"}]})
        if isinstance(body, list):
            return self.send_json(200, [run_one(r) for r in body])
        out = run_one(body)
        self.send_json(400 if "data" not in out else 200, out)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
