# shellcheck shell=bash
# The `hostile` capture (sourced by make.sh): HTML/JS injection payloads in every string shadowtap
# shows (Host, path, query parameter names, User-Agent, cookie name, Basic user, method, JSON
# keys), sent over raw sockets to the Node edge server. The dashboard's tests ingest it and check
# that every payload renders as text.
ALL+=(hostile)

setup_hostile() {
    BPF='tcp port 8081'
    start_server edge_server node "$TOOLS/edge_server.js" 8081
    wait_listen 8081
}
clients_hostile() {
    python3 "$TOOLS/hostile_client.py" --log "$CLIENT_LOG" 8081
}
