# shellcheck shell=bash
# The GraphQL scenario (sourced by ../make.sh): graphql.pcap, graphql.expected.tsv and
# graphql.expected-operations.tsv.
#
# A GraphQL API (tools/graphql_server.py: graphql-core behind Python's HTTP/1.1 server, Host
# graphql.acme.test, port 8095) and three clients (tools/graphql_client.py): a web front end, a
# mobile app with persisted queries and a login, and a tester (introspection, 30 aliases of one
# field, a batch of 12, a query 14 levels deep, a failing resolver whose traceback is returned).
# The client writes, per (method, endpoint template), how many requests it sent: the truth the
# inventory is compared with (tests/graphql.rs).

ALL+=(graphql)

prereq_graphql() {
    if ! python3 -c 'import graphql' 2>/dev/null; then
        log "installing the Python package graphql-core"
        python3 -m pip install -q 'graphql-core>=3.2,<4' 2>/dev/null ||
            python3 -m pip install -q --break-system-packages 'graphql-core>=3.2,<4'
    fi
}

setup_graphql() {
    BPF='tcp port 8095'
    start_server graphql_server python3 "$TOOLS/graphql_server.py" 8095
    wait_listen 8095
}
clients_graphql() {
    python3 "$TOOLS/graphql_client.py" run --port 8095 --log "$CLIENT_LOG" \
        --operations "$WORK/graphql.expected-operations.tsv"
}
finish_graphql() {
    mv "$WORK/graphql.expected-operations.tsv" "$HERE/graphql.expected-operations.tsv"
}
