# shellcheck shell=bash
# The HTTP/2 captures (sourced by ../make.sh): h2c over cleartext TCP, real clients and servers.
# `make.sh h2` regenerates both.
#
#   h2c          tools/h2_server.py (the Python `h2` package): curl --http2 (Upgrade: h2c, GET and
#                a JSON POST), curl --http2-prior-knowledge (JSON, gzip, a 404, a stream reset
#                with RST_STREAM, trailers), nghttp -u (upgrade) and nghttp with many concurrent
#                streams on one connection, a JSON POST from nghttp.
#   h2_nghttpd   nghttpd --no-tls (nghttp2's server, prior knowledge only) serving static files:
#                nghttp with 24 concurrent streams on one connection (404s among them), curl,
#                a POST.
#
# The oracle is tshark's http2 dissector, not the clients: finish_<name> writes
# <name>.expected.tsv from `tshark -d tcp.port==PORT,http2` (tools/h2_expected.py), one row per
# stream sorted by connection and stream, so CI needs no tshark. check_<name> compares shadowtap's
# rows with them as sorted lists.

ALL+=(h2c h2_nghttpd)
GROUP[h2]="h2c h2_nghttpd"

H2_PORT=8300
H2_NGHTTPD_PORT=8301

prereq_h2() {
    local c
    for c in tshark nghttp nghttpd; do
        command -v "$c" >/dev/null || die "$c not found (apt-get install -y tshark nghttp2-client nghttp2-server)"
    done
    python3 -c 'import h2' 2>/dev/null || python3 -m pip install -q h2 2>/dev/null ||
        python3 -m pip install -q --break-system-packages h2
}
prereq_h2c() { prereq_h2; }
prereq_h2_nghttpd() { prereq_h2; }

setup_h2c() {
    start_server h2 python3 "$TOOLS/h2_server.py" "$H2_PORT"
    wait_listen "$H2_PORT"
    BPF="tcp port $H2_PORT"
}

clients_h2c() {
    local u=http://127.0.0.1:$H2_PORT
    printf '{"name":"widget","tags":["a","b"],"price":12.5}' >"$WORK/item.json"
    # Upgrade: h2c from HTTP/1.1, a GET and a POST with a JSON body (the request is stream 1).
    curl -sS -o /dev/null --http2 "$u/hello"
    curl -sS -o /dev/null --http2 -H 'content-type: application/json' --data-binary @"$WORK/item.json" "$u/api/items"
    # Prior knowledge.
    curl -sS -o /dev/null --http2-prior-knowledge "$u/api/items"
    curl -sS -o /dev/null --http2-prior-knowledge "$u/gzip"
    curl -sS -o /dev/null --http2-prior-knowledge "$u/api/items/42"
    curl -sS -o /dev/null --http2-prior-knowledge "$u/grpc-like"
    curl -sS -o /dev/null --http2-prior-knowledge "$u/reset" || true
    curl -sS -o /dev/null --http2-prior-knowledge -H 'content-type: application/json' \
        --data-binary @"$WORK/item.json" "$u/api/items"
    # nghttp: upgrade, then many concurrent streams on one connection, then a JSON POST.
    nghttp -n -u "$u/hello" >/dev/null
    local urls=() i
    for i in 1 2 3 4 5 6 7 8 9 10 11 12; do urls+=("$u/api/items/$i"); done
    nghttp -n "${urls[@]}" "$u/api/items" "$u/gzip" "$u/missing" >/dev/null
    nghttp -n -H 'content-type: application/json' -d "$WORK/item.json" "$u/api/items" >/dev/null
}

finish_h2c() {
    python3 "$TOOLS/h2_expected.py" "$WORK/capture.pcap" "$H2_PORT" >"$WORK/expected.tsv"
}

setup_h2_nghttpd() {
    mkdir -p "$WORK/htdocs/api"
    local i
    for i in $(seq 1 20); do printf '{"id":%d,"name":"thing-%d"}\n' "$i" "$i" >"$WORK/htdocs/api/thing$i.json"; done
    printf '<!doctype html><title>h2</title><p>static over h2c</p>\n' >"$WORK/htdocs/index.html"
    start_server nghttpd nghttpd --no-tls -d "$WORK/htdocs" "$H2_NGHTTPD_PORT"
    wait_listen "$H2_NGHTTPD_PORT"
    BPF="tcp port $H2_NGHTTPD_PORT"
}

clients_h2_nghttpd() {
    local u=http://127.0.0.1:$H2_NGHTTPD_PORT urls=() i
    for i in $(seq 1 20); do urls+=("$u/api/thing$i.json"); done
    nghttp -n "${urls[@]}" "$u/index.html" "$u/api/none.json" "$u/nothing" "$u/" >/dev/null
    curl -sS -o /dev/null --http2-prior-knowledge "$u/index.html"
    curl -sS -o /dev/null --http2-prior-knowledge "$u/missing.json"
    printf '{"q":"post over h2"}' >"$WORK/post.json"
    nghttp -n -H 'content-type: application/json' -d "$WORK/post.json" "$u/api/thing1.json" >/dev/null
}

finish_h2_nghttpd() {
    python3 "$TOOLS/h2_expected.py" "$WORK/capture.pcap" "$H2_NGHTTPD_PORT" >"$WORK/expected.tsv"
}

check_h2() {
    local name=$1 size
    size=$(stat -c %s "$HERE/$name.pcap")
    log "  $name.pcap: $size bytes, $(($(wc -l <"$HERE/$name.expected.tsv") - 1)) streams per tshark"
    "$SHADOWTAP" log --unredacted --format tsv "$HERE/$name.pcap" |
        python3 "$TOOLS/h2_expected.py" --compare "$HERE/$name.expected.tsv" >&2
}
check_h2c() { check_h2 h2c; }
check_h2_nghttpd() { check_h2 h2_nghttpd; }
