#!/usr/bin/env bash
# Writes captures/forge.haproxy.log and captures/forge.caddy.log: the access logs of a real
# HAProxy and a real Caddy put, one after the other, in front of the forge scenario server
# (tools/forge_server.py) and driven by the same seeded clients as forge.pcap
# (tools/forge_client.py run): the same 274 requests, so each log must give the endpoints and
# request counts of forge.pcap (tests/sources.rs).
#
#   captures/tools/proxy_logs.sh          both
#   captures/tools/proxy_logs.sh haproxy  only one (haproxy | caddy)
#
# Needs root (a private network namespace: the personas' 127.0.0.2-9 source addresses and fixed
# ports, nothing on the host's loopback), python3, haproxy and caddy (Debian: apt-get install -y
# haproxy caddy). Nothing is recorded: the logs are the proxies' own.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$HERE/tools
UPSTREAM_PORT=8091
PROXY_PORT=8090

if [[ ${1:-} != --inside ]]; then
    for c in unshare ip ss python3 haproxy caddy; do
        command -v "$c" >/dev/null || { echo "proxy_logs.sh: $c not found" >&2; exit 1; }
    done
    exec unshare --net --pid --fork --mount-proc "$0" --inside "$@"
fi
shift
ip link set lo up
WORK=$(mktemp -d /tmp/proxy_logs.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"' EXIT

wait_listen() {
    local i
    for ((i = 0; i < 500; i++)); do
        if ss -Hltn "sport = :$1" | grep -q .; then return 0; fi
        sleep 0.02
    done
    echo "proxy_logs.sh: nothing listens on $1 (see $WORK)" >&2
    exit 1
}

# One run: a fresh forge server (its state changes with PUT/PATCH/DELETE), the proxy, the clients
# (every answer must carry the Server field $2: the proxy's, or the forge server's through it).
run() {
    local name=$1 answered_by=$2
    shift 2
    python3 "$TOOLS/forge_server.py" "$UPSTREAM_PORT" >"$WORK/$name-server.log" 2>&1 &
    local server=$!
    wait_listen "$UPSTREAM_PORT"
    "$@" >"$WORK/$name-proxy.out" 2>&1 &
    local proxy=$!
    wait_listen "$PROXY_PORT"
    python3 "$TOOLS/forge_client.py" run --port "$PROXY_PORT" --log "$WORK/$name-client.log" \
        --records "$WORK/$name-records.jsonl" --server "$answered_by"
    sleep 0.5
    kill "$proxy" "$server"
    wait "$proxy" "$server" 2>/dev/null || true
}

haproxy_log() {
    # HAProxy 2.6 writes its log to stdout as syslog (RFC 3164) lines: `option httplog`, the
    # default HTTP format, nothing captured.
    cat >"$WORK/haproxy.cfg" <<EOF
global
    log stdout format rfc3164 local0 info
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend forge
    bind 127.0.0.1:$PROXY_PORT
    default_backend forge_api
backend forge_api
    server forge 127.0.0.1:$UPSTREAM_PORT
EOF
    run haproxy forge/2.11 haproxy -db -f "$WORK/haproxy.cfg"
    grep -F ' forge forge_api/' "$WORK/haproxy-proxy.out" >"$HERE/forge.haproxy.log"
}

caddy_log() {
    # Caddy's access log (`log` directive, JSON encoder) of a reverse proxy, plain HTTP.
    cat >"$WORK/Caddyfile" <<EOF
{
    admin off
    auto_https off
}
http://:$PROXY_PORT {
    log {
        output file $WORK/caddy-access.log
        format json
    }
    reverse_proxy 127.0.0.1:$UPSTREAM_PORT
}
EOF
    XDG_DATA_HOME=$WORK XDG_CONFIG_HOME=$WORK run caddy forge/2.11 caddy run --adapter caddyfile --config "$WORK/Caddyfile"
    cp "$WORK/caddy-access.log" "$HERE/forge.caddy.log"
}

for what in "${@:-haproxy caddy}"; do
    for w in $what; do
        case $w in
        haproxy) haproxy_log ;;
        caddy) caddy_log ;;
        *) echo "proxy_logs.sh: unknown $w (haproxy | caddy)" >&2; exit 2 ;;
        esac
    done
done
