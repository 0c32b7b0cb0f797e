#!/usr/bin/env python3
"""Clients of the graphql capture (stdlib and graphql-core for the introspection document).

    graphql_client.py run --port 8095 --log CLIENT_LOG --operations OUT.tsv

Three clients on their own addresses, each on one keep-alive connection, in a fixed order:
- a web front end (127.0.0.21): named queries with variables, an anonymous query, a mutation,
  GET queries;
- a mobile app (127.0.0.22): automatic persisted queries (hash only, refused, then hash and
  document, then hash only), a login mutation with a password in its variables, a document sent
  as `application/graphql`;
- a tester (127.0.0.23): the introspection query, 30 aliases of one field, a batch of 12
  operations, a query nested 13 levels deep, an id whose resolver fails (the server answers with
  its Python traceback), and a search body whose `query` is not GraphQL.

Every transaction is a line of the client log (method, target, status, request and response
body bytes, as make.sh expects). OUT.tsv is the truth the test compares the inventory with:
per (method, endpoint template) the requests sent, the template named by hand below (an
operation's name, or its sorted top-level fields), not computed by shadowtap's rules.
"""

import argparse
import hashlib
import http.client
import json
import urllib.parse
from collections import Counter

from graphql import get_introspection_query

HOST = "graphql.acme.test"

GET_USER = "query GetUser($id: ID!) { user(id: $id) { id name email } }"
LIST_PRODUCTS = "query ListProducts { products { id title price } }"
CREATE_ORDER = "mutation CreateOrder($p: ID!, $q: Int) { createOrder(productId: $p, qty: $q) { id qty product { title } } }"
PROFILE = "query GetUserProfile($id: ID!) { user(id: $id) { name friends { name } } }"
LOGIN = "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) }"


def deep_query(levels):
    # User 2 has one order, whose user is user 2: orders and user alternate without fan-out.
    inner = "id"
    for i in range(levels):
        inner = f"{'orders' if i % 2 == 1 else 'user'} {{ {inner} }}"
    return f'query Deep {{ user(id: "2") {{ {inner} }} }}'


def web():
    for i in range(1, 7):
        yield "POST", {"query": GET_USER, "operationName": "GetUser", "variables": {"id": str(i)}}, "query GetUser"
        if i % 2 == 0:
            yield "POST", {"query": LIST_PRODUCTS}, "query ListProducts"
    yield "POST", {"query": CREATE_ORDER, "variables": {"p": "2", "q": 3}}, "mutation CreateOrder"
    yield "POST", {"query": "{ orders { id qty product { title } } }"}, "query {orders}"
    yield "GET", {"query": "{ products { id } }"}, "query {products}"
    yield "POST", {"query": CREATE_ORDER, "variables": {"p": "4", "q": 1}}, "mutation CreateOrder"
    yield "GET", {"query": "{ products { id } }"}, "query {products}"
    yield "POST", {"query": "{ orders { id } }"}, "query {orders}"


def mobile():
    h = hashlib.sha256(PROFILE.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": h}}
    yield "POST", {"operationName": "GetUserProfile", "variables": {"id": "3"}, "extensions": ext}, "persisted GetUserProfile"
    yield "POST", {"query": PROFILE, "operationName": "GetUserProfile", "variables": {"id": "3"}, "extensions": ext}, "query GetUserProfile"
    for uid in ["4", "5", "3"]:
        yield "POST", {"operationName": "GetUserProfile", "variables": {"id": uid}, "extensions": ext}, "persisted GetUserProfile"
    yield "POST", {"query": LOGIN, "variables": {"email": "ada@example.com", "password": "correct horse"}}, "mutation Login"
    yield "POST", {"query": LOGIN, "variables": {"email": "grace@example.com", "password": "hunter2"}}, "mutation Login"
    yield "GRAPHQL", 'query Me { user(id: "2") { name } }', "query Me"


def tester():
    yield "POST", {"query": get_introspection_query(), "operationName": "IntrospectionQuery"}, "query IntrospectionQuery"
    aliases = " ".join(f'u{i}: user(id: "{i}") {{ email }}' for i in range(1, 31))
    yield "POST", {"query": f"{{ {aliases} }}"}, "query {user}"
    batch = [{"query": GET_USER, "operationName": "GetUser", "variables": {"id": str(i % 6 + 1)}} for i in range(12)]
    yield "POST", batch, "batch [query GetUser]"
    yield "POST", {"query": deep_query(12)}, "query Deep"
    yield "POST", {"query": GET_USER, "operationName": "GetUser", "variables": {"id": "13"}}, "query GetUser"
    yield "POST", {"query": "red shoes size 42"}, None
    yield "HEALTH", None, None


CLIENTS = [("127.0.0.21", web), ("127.0.0.22", mobile), ("127.0.0.23", tester)]


def cmd_run(a):
    log = open(a.log, "a")
    truth = Counter()
    for ip, gen in CLIENTS:
        conn = http.client.HTTPConnection("127.0.0.1", a.port, source_address=(ip, 0))
        for kind, payload, label in gen():
            headers = {"Host": HOST, "User-Agent": f"graphql-demo-client/1.0 ({gen.__name__})"}
            if kind == "GET":
                target = "/graphql?" + urllib.parse.urlencode({k: v for k, v in payload.items()})
                method, body = "GET", None
            elif kind == "HEALTH":
                target, method, body = "/health", "GET", None
            elif kind == "GRAPHQL":
                target, method, body = "/graphql", "POST", payload.encode()
                headers["Content-Type"] = "application/graphql"
            else:
                target, method = "/graphql", "POST"
                body = json.dumps(payload, separators=(",", ":")).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            log.write(f"{method}\t{target}\t{resp.status}\t{len(body or b'')}\t{len(data)}\n")
            url = target.split("?")[0]
            truth[(method, f"{url}#{label}" if label else url)] += 1
        conn.close()
    with open(a.operations, "w") as f:
        f.write("method\tpath_template\trequests\n")
        for (method, template), n in sorted(truth.items()):
            f.write(f"{method}\t{template}\t{n}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--log", required=True)
    r.add_argument("--operations", required=True)
    a = p.parse_args()
    cmd_run(a)


if __name__ == "__main__":
    main()
