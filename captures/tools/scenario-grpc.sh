# shellcheck shell=bash
# The gRPC scenario (sourced by ../make.sh): grpc.pcap, grpc.expected.tsv,
# grpc.expected-calls.tsv and grpc.desc.
#
# A gRPC server on grpcio (tools/grpc_server.py, cleartext HTTP/2 on port 50051) serving
# acme.inventory.v1.Inventory (tools/grpc/inventory.proto: unary, server-streaming,
# client-streaming and bidirectional calls, a NOT_FOUND, a deadline that expires), the standard
# health service and server reflection (v1alpha); one client (tools/grpc_client.py) on two
# channels, one for the application, one for the operator's checks (health, reflection).
#
# Oracles: grpc.expected.tsv comes from tshark's grpc dissector (tools/grpc_expected.py, one row
# per HTTP/2 stream: path, grpc-status, messages each way); grpc.expected-calls.tsv is the
# client's own record of each call (kind, status code name, messages sent and received).
# grpc.desc is the FileDescriptorSet of inventory.proto (`grpc_tools.protoc
# --descriptor_set_out --include_imports`), for `--proto-descriptor` and tests/grpc.rs.

ALL+=(grpc)

GRPC_PORT=50051

prereq_grpc() {
    command -v tshark >/dev/null || die "tshark not found (apt-get install -y tshark)"
    if ! python3 -c 'import grpc_tools, grpc_reflection, grpc_health' 2>/dev/null; then
        log "installing the Python packages grpcio-tools, grpcio-reflection, grpcio-health-checking"
        python3 -m pip install -q grpcio grpcio-tools grpcio-reflection grpcio-health-checking 2>/dev/null ||
            python3 -m pip install -q --break-system-packages grpcio grpcio-tools grpcio-reflection grpcio-health-checking
    fi
}

setup_grpc() {
    mkdir -p "$WORK/gen"
    (cd "$TOOLS/grpc" && python3 -m grpc_tools.protoc -I. --python_out="$WORK/gen" \
        --grpc_python_out="$WORK/gen" inventory.proto)
    start_server grpc_server python3 "$TOOLS/grpc_server.py" "$GRPC_PORT" "$WORK/gen"
    wait_listen "$GRPC_PORT"
    BPF="tcp port $GRPC_PORT"
}

clients_grpc() {
    python3 "$TOOLS/grpc_client.py" "$GRPC_PORT" "$WORK/gen" "$WORK/grpc.expected-calls.tsv"
}

finish_grpc() {
    python3 "$TOOLS/grpc_expected.py" "$WORK/capture.pcap" "$GRPC_PORT" >"$WORK/expected.tsv"
    mv "$WORK/grpc.expected-calls.tsv" "$HERE/grpc.expected-calls.tsv"
    (cd "$TOOLS/grpc" && python3 -m grpc_tools.protoc -I. --include_imports \
        --descriptor_set_out="$HERE/grpc.desc" inventory.proto)
}

check_grpc() {
    local size
    size=$(stat -c %s "$HERE/grpc.pcap")
    log "  grpc.pcap: $size bytes, $(($(wc -l <"$HERE/grpc.expected.tsv") - 1)) gRPC calls per tshark"
    ((size < 100 * 1024)) || log "  WARNING: grpc.pcap is larger than 100 KiB"
}

# grpc_web.pcap: gRPC-Web over HTTP/1.1. The server is sonora's WSGI application
# (tools/grpc_web_server.py) on waitress, port 8098, serving GetItem and ListItems of
# inventory.proto; the client (tools/grpc_web_client.py) is sonora's (binary mode,
# `application/grpc-web+proto`: two GetItem found, one NOT_FOUND, a ListItems of 3) plus a
# GetItem and a ListItems in text mode (`application/grpc-web-text`, base64) sent with
# http.client, since sonora's client has no text mode. grpc_web.expected-calls.tsv is the
# client's record of each call; grpc_web.expected.tsv is tshark's view (tools/grpc_web_expected.py).

ALL+=(grpc_web)

GRPC_WEB_PORT=8098

prereq_grpc_web() {
    prereq_grpc
    if ! python3 -c 'import sonora, waitress' 2>/dev/null; then
        log "installing the Python packages sonora and waitress"
        python3 -m pip install -q sonora waitress 2>/dev/null ||
            python3 -m pip install -q --break-system-packages sonora waitress
    fi
}

setup_grpc_web() {
    mkdir -p "$WORK/gen"
    (cd "$TOOLS/grpc" && python3 -m grpc_tools.protoc -I. --python_out="$WORK/gen" \
        --grpc_python_out="$WORK/gen" inventory.proto)
    start_server grpc_web_server python3 "$TOOLS/grpc_web_server.py" "$GRPC_WEB_PORT" "$WORK/gen"
    wait_listen "$GRPC_WEB_PORT"
    BPF="tcp port $GRPC_WEB_PORT"
}

clients_grpc_web() {
    python3 "$TOOLS/grpc_web_client.py" "$GRPC_WEB_PORT" "$WORK/gen" "$WORK/grpc_web.expected-calls.tsv"
}

finish_grpc_web() {
    python3 "$TOOLS/grpc_web_expected.py" "$WORK/capture.pcap" "$GRPC_WEB_PORT" >"$WORK/expected.tsv"
    mv "$WORK/grpc_web.expected-calls.tsv" "$HERE/grpc_web.expected-calls.tsv"
}

check_grpc_web() {
    local size
    size=$(stat -c %s "$HERE/grpc_web.pcap")
    log "  grpc_web.pcap: $size bytes, $(($(wc -l <"$HERE/grpc_web.expected.tsv") - 1)) gRPC-Web calls per tshark"
    ((size < 30 * 1024)) || log "  WARNING: grpc_web.pcap is larger than 30 KiB"
}
