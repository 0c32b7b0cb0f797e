#!/usr/bin/env bash
# Regenerates the capture files in this directory from real servers and real clients, recorded by
# `shadowtap record` on the loopback interface of a private network namespace.
#
#   captures/make.sh                 every capture
#   captures/make.sh keepalive ...   only these
#   captures/make.sh tls             a group: only the TLS captures (tls13 tls12 tls_weak)
#   captures/make.sh --list          the names
#
# Environment:
#   SHADOWTAP   the shadowtap binary (default: target/release/shadowtap, relative to the repo root)
#   KEEP_WORK=1 keep each capture's scratch directory (server logs, client log) for debugging
#   STRICT=1    exit non-zero when shadowtap's transactions disagree with <name>.expected.tsv
#
# Needs root (network and PID namespaces, packet capture), nginx, node, python3, curl, iproute2;
# the TLS captures also openssl, tshark and the Python packages requests and ja4plus.
# See README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TOOLS=$HERE/tools
ALL=(keepalive pipelined chunked continue upgrade connect rest_api forge)
# Names that stand for several captures (scenario files add theirs).
declare -A GROUP=()

SHADOWTAP=${SHADOWTAP:-target/release/shadowtap}
[[ $SHADOWTAP == /* ]] || SHADOWTAP=$ROOT/$SHADOWTAP
export SHADOWTAP

SNAPLEN=262144
# Fixed mtime of the static files, so nginx's Last-Modified and ETag never change.
STATIC_MTIME='2024-01-01 00:00:00 UTC'
STATIC_HTTP_DATE='Mon, 01 Jan 2024 00:00:00 GMT'

log() { printf '%s\n' "$*" >&2; }
die() { log "make.sh: $*"; exit 1; }

# ----------------------------------------------------------------------------------------------
# Helpers used inside the namespace
# ----------------------------------------------------------------------------------------------

PIDS=()
REC_PID=

# Starts a server in the background; its output goes to $WORK/<label>.log.
start_server() {
    local label=$1
    shift
    "$@" >"$WORK/$label.log" 2>&1 &
    PIDS+=($!)
}

# Waits until something listens on 127.0.0.1:PORT (no traffic is sent to find out).
wait_listen() {
    local port=$1 i
    for ((i = 0; i < 500; i++)); do
        if ss -Hltn "sport = :$port" | grep -q .; then return 0; fi
        sleep 0.02
    done
    die "nothing listens on port $port after 10 s (see $WORK/*.log)"
}

record_start() {
    local bpf=$1
    rm -f "$WORK/ready"
    "$SHADOWTAP" record --interface lo --write "$WORK/capture.pcap" --snaplen "${CAPTURE_SNAPLEN:-$SNAPLEN}" \
        --bpf "$bpf" --ready-file "$WORK/ready" 2>"$WORK/record.log" &
    REC_PID=$!
    local i
    for ((i = 0; i < 500; i++)); do
        [[ -e $WORK/ready ]] && return 0
        kill -0 "$REC_PID" 2>/dev/null || die "shadowtap record exited early: $(cat "$WORK/record.log")"
        sleep 0.02
    done
    die "shadowtap record not ready after 10 s"
}

record_stop() {
    # Let the last frames (final ACKs) reach the kernel buffer; the recorder drains it on SIGINT.
    sleep 0.5
    kill -INT "$REC_PID"
    local rc=0
    wait "$REC_PID" || rc=$?
    REC_PID=
    [[ $rc -eq 0 ]] || die "shadowtap record exited with $rc: $(cat "$WORK/record.log")"
    log "  $(tail -n 1 "$WORK/record.log")"
    local dropped
    dropped=$(sed -n 's/.*kernel dropped \([0-9]*\).*/\1/p' "$WORK/record.log" | tail -n 1)
    [[ ${dropped:-0} -eq 0 ]] || die "the kernel dropped $dropped frames: the capture is incomplete"
}

cleanup() {
    local rc=$?
    if [[ -n $REC_PID ]]; then kill -TERM "$REC_PID" 2>/dev/null || true; fi
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ ${KEEP_WORK:-0} == 1 || $rc -ne 0 ]]; then
        log "  scratch directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}

# The curl -w format for the client log (see tools/clients.py).
CURL_W='curl\t%{method}\t%{url}\t%{response_code}\t%{size_upload}\t%{size_download}\t%{num_connects}\n'

# Writes a deterministic file of N pseudo-random bytes.
make_payload() {
    python3 -c 'import random, sys
r = random.Random(int(sys.argv[2]))
open(sys.argv[1], "wb").write(bytes(r.randrange(256) for _ in range(int(sys.argv[3]))))' "$1" "$2" "$3"
}

# nginx: static files on 8080, and a reverse proxy on $PROXY_PORT to $UPSTREAM_PORT (forge).
PROXY_PORT=8090
UPSTREAM_PORT=8091
start_nginx() {
    mkdir -p "$WORK/www" "$WORK/tmp"
    cp "$TOOLS"/www/* "$WORK/www/"
    touch -d "$STATIC_MTIME" "$WORK"/www/*
    sed -e "s|@WORK@|$WORK|g" -e "s|@WWW@|$WORK/www|g" -e "s|@PORT@|8080|g" \
        -e "s|@PROXY_PORT@|$PROXY_PORT|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
        "$TOOLS/nginx.conf.template" >"$WORK/nginx.conf"
    start_server nginx nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"
    wait_listen 8080
    wait_listen "$PROXY_PORT"
}

# ----------------------------------------------------------------------------------------------
# The captures: each has setup_<name> (servers; sets BPF) and clients_<name>
# ----------------------------------------------------------------------------------------------

setup_keepalive() {
    BPF='tcp port 8080'
    start_nginx
}
clients_keepalive() {
    local b=http://127.0.0.1:8080 o=(-sS -o /dev/null -w "$CURL_W")
    # One curl, one keep-alive connection (--next keeps the connection, resets the options).
    curl "${o[@]}" "$b/index.html" \
        --next "${o[@]}" "$b/style.css" \
        --next "${o[@]}" "$b/missing.html" \
        --next "${o[@]}" -I "$b/index.html" \
        --next "${o[@]}" -z "$STATIC_HTTP_DATE" "$b/index.html" \
        --next "${o[@]}" --compressed "$b/big.txt" \
        --next "${o[@]}" -r 0-99 "$b/big.txt" \
        --next "${o[@]}" "$b/data.json" >>"$CLIENT_LOG"
    local conns
    conns=$(awk -F'\t' '{s += $7} END {print s}' "$CLIENT_LOG")
    [[ $conns == 1 ]] || die "keepalive: curl opened $conns connections, expected 1"
}

setup_pipelined() {
    BPF='tcp port 8080'
    start_nginx
}
clients_pipelined() {
    python3 "$TOOLS/clients.py" pipelined 8080
}

setup_chunked() {
    BPF='tcp port 8081'
    start_server edge_server node "$TOOLS/edge_server.js" 8081
    wait_listen 8081
}
clients_chunked() {
    python3 "$TOOLS/clients.py" chunked 8081
    # curl sending a chunked request body from a file (one chunk, curl's framing).
    python3 -c 'import sys
open(sys.argv[1], "w").write("".join(f"row {i:04d},value {i * i % 977:03d}\n" for i in range(160)))' "$WORK/rows.csv"
    local n
    n=$(stat -c %s "$WORK/rows.csv")
    curl -sS -o /dev/null -w "curl\t%{method}\t%{url}\t%{response_code}\t$n\t%{size_download}\t%{num_connects}\n" \
        -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/csv' --data-binary @"$WORK/rows.csv" \
        http://127.0.0.1:8081/chunked/upload >>"$CLIENT_LOG"
}

setup_continue() {
    BPF='tcp port 8081'
    # Ethernet-sized segments (and no segmentation offload), so the 100 KB upload travels in
    # about 70 segments instead of two 64 KB ones.
    ip link set lo mtu 1500 gso_max_size 1500 gso_max_segs 1
    # libpcap sizes its ring in snaplen-sized slots; with 256 KiB slots the default 2 MiB buffer
    # holds only 8 frames and a burst of 1500-byte segments overflows it. Frames are at most 1514
    # bytes here, so a 2 KiB snaplen still records every byte.
    CAPTURE_SNAPLEN=2048
    start_server edge_server node "$TOOLS/edge_server.js" 8081
    wait_listen 8081
}
clients_continue() {
    make_payload "$WORK/small.bin" 1 2048
    make_payload "$WORK/large.bin" 2 102400
    local b=http://127.0.0.1:8081 o=(-sS -o /dev/null -w "$CURL_W" -H 'Expect: 100-continue')
    # 100 Continue then 201, twice on one connection (the second a ~100 KB PUT).
    curl "${o[@]}" -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/small.bin" "$b/upload/small" \
        --next "${o[@]}" -T "$WORK/large.bin" "$b/upload/large" >>"$CLIENT_LOG"
    # A final 403 instead of 100 Continue: curl never sends the body, and the connection closes.
    curl "${o[@]}" -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/small.bin" \
        "$b/upload/forbidden" >>"$CLIENT_LOG"
}

setup_upgrade() {
    BPF='tcp port 8081 or tcp port 8083'
    start_server edge_server node "$TOOLS/edge_server.js" 8081 8083
    wait_listen 8081
    wait_listen 8083
}
clients_upgrade() {
    local o=(-sS -o /dev/null -w "$CURL_W")
    # WebSocket: 101 then frames both ways (hand-written client, see tools/clients.py).
    python3 "$TOOLS/clients.py" websocket 8081
    # A plain GET on another connection.
    curl "${o[@]}" http://127.0.0.1:8081/hello >>"$CLIENT_LOG"
    # An upgrade the server refuses (400, connection closed).
    curl "${o[@]}" -H 'Connection: Upgrade' -H 'Upgrade: websocket' http://127.0.0.1:8081/not-a-socket >>"$CLIENT_LOG"
    # h2c offered on every request, declined (the server has no upgrade handler): the
    # connection stays HTTP/1.1 and carries a second request.
    curl "${o[@]}" --http2 http://127.0.0.1:8083/hello \
        --next "${o[@]}" --http2 http://127.0.0.1:8083/nocontent >>"$CLIENT_LOG"
}

setup_connect() {
    BPF='tcp port 3128' # the proxy only; the proxy-to-origin leg (port 8082) is not recorded
    start_server connect_proxy node "$TOOLS/connect_proxy.js" 3128 8082 user pass
    wait_listen 3128
    wait_listen 8082
}
clients_connect() {
    # curl through the proxy with a tunnel (-p): CONNECT without credentials -> 407, the same
    # connection again with Basic credentials -> 200, then HTTP inside the tunnel.
    curl -sS -v -o /dev/null -p -x http://127.0.0.1:3128 --proxy-user user:pass --proxy-anyauth \
        http://127.0.0.1:8082/through-the-tunnel 2>"$WORK/curl-connect.txt"
    python3 "$TOOLS/clients.py" curl-connect-trace "$WORK/curl-connect.txt"
    # CONNECT refused with 403, then a forward-proxy GET on the same connection.
    python3 "$TOOLS/clients.py" connect-refused 3128 8082 user pass
}

setup_rest_api() {
    BPF='tcp port 8000'
    start_server rest_api node "$TOOLS/rest_api.js" 8000
    wait_listen 8000
}
clients_rest_api() {
    python3 "$TOOLS/rest_client.py" run --port 8000 --log "$CLIENT_LOG" --records "$WORK/records.jsonl"
}
finish_rest_api() {
    python3 "$TOOLS/rest_client.py" report --records "$WORK/records.jsonl" \
        --openapi "$HERE/rest_api.openapi.yaml" --out "$WORK/rest_api.expected.md"
    mv "$WORK/rest_api.expected.md" "$HERE/rest_api.expected.md"
}

setup_forge() {
    # Only the client side of the reverse proxy (nginx on $PROXY_PORT) is recorded; the
    # proxy-to-server leg (forge_server.py on $UPSTREAM_PORT) is not, as for a tap in front of
    # an API gateway.
    BPF="tcp port $PROXY_PORT"
    # No TCP timestamps in this namespace: 12 bytes less per frame (see setup_sequences).
    sysctl -qw net.ipv4.tcp_timestamps=0
    start_server forge_server python3 "$TOOLS/forge_server.py" "$UPSTREAM_PORT"
    wait_listen "$UPSTREAM_PORT"
    start_nginx
}
clients_forge() {
    python3 "$TOOLS/forge_client.py" run --port "$PROXY_PORT" --log "$CLIENT_LOG" --records "$WORK/forge-records.jsonl"
}
finish_forge() {
    python3 "$TOOLS/forge_client.py" truth --log "$CLIENT_LOG" --records "$WORK/forge-records.jsonl" \
        --out "$WORK/forge.expected-templates.tsv"
    mv "$WORK/forge.expected-templates.tsv" "$HERE/forge.expected-templates.tsv"
    # nginx's access logs of the same requests (sources: tests/sources.rs).
    cp "$WORK/forge.access.log" "$HERE/forge.access.log"
    cp "$WORK/forge.access.json.log" "$HERE/forge.access.json.log"
}

# ----------------------------------------------------------------------------------------------

in_namespace() {
    local name=$1
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/shadowtap-capture-$name.XXXXXX")
    chmod 755 "$WORK"
    trap cleanup EXIT
    export CLIENT_LOG=$WORK/client.log
    : >"$CLIENT_LOG"
    ip link set lo up

    "setup_$name"
    record_start "$BPF"
    "clients_$name"
    record_stop

    python3 "$TOOLS/clients.py" expected "$CLIENT_LOG" "$WORK/expected.tsv"
    if declare -F "finish_$name" >/dev/null; then "finish_$name"; fi
    mv "$WORK/capture.pcap" "$HERE/$name.pcap"
    mv "$WORK/expected.tsv" "$HERE/$name.expected.tsv"
}

# Compares shadowtap's transactions with the expected ones (reported; fatal only with STRICT=1).
# A scenario may bring its own check_<name>.
check_capture() {
    local name=$1 size rows
    if declare -F "check_$name" >/dev/null; then
        "check_$name"
        return
    fi
    size=$(stat -c %s "$HERE/$name.pcap")
    rows=$(($(wc -l <"$HERE/$name.expected.tsv") - 1))
    log "  $name.pcap: $size bytes, $rows transactions expected"
    ((size < 200 * 1024)) || log "  WARNING: $name.pcap is larger than 200 KiB"
    if "$SHADOWTAP" log --unredacted --format tsv "$HERE/$name.pcap" 2>"$HERE/.check.err" |
        python3 "$TOOLS/compare.py" "$HERE/$name.expected.tsv" >&2; then
        rm -f "$HERE/.check.err"
        return 0
    fi
    cat "$HERE/.check.err" >&2
    rm -f "$HERE/.check.err"
    return 1
}

# More scenarios live in tools/scenario-<name>.sh: each defines setup_<name> and
# clients_<name> (optionally finish_<name>; prereq_<name>, run once outside the namespace before
# any capture; check_<name>, instead of check_capture's comparison) and adds its name to ALL.
for scenario in "$TOOLS"/scenario-*.sh; do
    [[ -e $scenario ]] && source "$scenario"
done

main() {
    if [[ ${1:-} == --in-namespace ]]; then
        in_namespace "$2"
        return
    fi
    if [[ ${1:-} == --list ]]; then
        printf '%s\n' "${ALL[@]}"
        return
    fi
    if [[ ${1:-} == -h || ${1:-} == --help ]]; then
        sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return
    fi
    [[ $EUID -eq 0 ]] || die "needs root (network namespaces and packet capture)"
    local c
    for c in unshare ip ss nginx node python3 curl; do
        command -v "$c" >/dev/null || die "$c not found (apt-get install -y nginx curl nodejs python3 iproute2)"
    done
    [[ -x $SHADOWTAP ]] || die "no shadowtap binary at $SHADOWTAP (cargo build --release, or set SHADOWTAP)"

    local names=() n ok known
    for n in "$@"; do
        if [[ -n ${GROUP[$n]:-} ]]; then
            # shellcheck disable=SC2206
            names+=(${GROUP[$n]})
        else
            names+=("$n")
        fi
    done
    [[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
    for n in "${names[@]}"; do
        known=0
        for c in "${ALL[@]}"; do [[ $n == "$c" ]] && known=1; done
        [[ $known == 1 ]] || die "unknown capture '$n' (known: ${ALL[*]}; groups: ${!GROUP[*]})"
    done
    for n in "${names[@]}"; do
        if declare -F "prereq_$n" >/dev/null; then "prereq_$n"; fi
    done

    local failed=()
    for n in "${names[@]}"; do
        log "== $n"
        # A new network namespace (its own lo, no route anywhere else) and PID namespace (when
        # its first process ends, everything started in it is killed).
        unshare --net --pid --fork --kill-child -- bash "${BASH_SOURCE[0]}" --in-namespace "$n"
        check_capture "$n" || failed+=("$n")
    done
    if [[ ${#failed[@]} -gt 0 ]]; then
        log "shadowtap disagrees with the expected transactions for: ${failed[*]}"
        [[ ${STRICT:-0} == 1 ]] && exit 1
    fi
    return 0
}

main "$@"
