# shellcheck shell=bash
# The WebSocket scenario (sourced by ../make.sh): websocket.pcap, websocket.expected.tsv (the
# two upgrade transactions) and websocket.expected-frames.tsv (every frame, from tshark).
#
# An echo service on the Python `websockets` package (tools/ws_server.py, port 8096) and its
# client (tools/ws_client.py): two connections, without and with permessage-deflate, each with
# text, binary, a fragmented text message, ping/pong, 16-bit lengths and a close 1000.
# The oracle is tshark's websocket dissector (tools/ws_expected.py), not shadowtap.
#
# websocket_tls.pcap: the same echo service over TLS 1.3 (wss://, port 8097, a self-signed
# EC certificate for ws.tls.test made on every run) and tools/ws_tls_client.py: one connection
# whose upgrade carries an `Authorization: Bearer` token, 3 text and 2 binary messages each
# echoed, a close 1000. The client writes its TLS secrets to websocket_tls.keys (NSS key log,
# `SSLContext.keylog_filename`) and the messages each side sent to
# websocket_tls.expected-messages.tsv; finish_websocket_tls checks them against tshark's
# websocket dissector decrypting with that key log.

ALL+=(websocket websocket_tls)

prereq_websocket() {
    if ! python3 -c 'import websockets.asyncio.server' 2>/dev/null; then
        log "installing the Python package websockets"
        python3 -m pip install -q 'websockets>=14,<16' 2>/dev/null ||
            python3 -m pip install -q --break-system-packages 'websockets>=14,<16'
    fi
    command -v tshark >/dev/null || die "tshark not found (apt-get install -y tshark)"
}

setup_websocket() {
    BPF='tcp port 8096'
    start_server ws_server python3 "$TOOLS/ws_server.py" 8096
    wait_listen 8096
}
clients_websocket() {
    python3 "$TOOLS/ws_client.py" 8096 "$CLIENT_LOG"
}
finish_websocket() {
    python3 "$TOOLS/ws_expected.py" "$WORK/capture.pcap" 8096 "$WORK/websocket.expected-frames.tsv"
    mv "$WORK/websocket.expected-frames.tsv" "$HERE/websocket.expected-frames.tsv"
}

prereq_websocket_tls() { prereq_websocket; }

setup_websocket_tls() {
    BPF='tcp port 8097'
    mkdir -p "$WORK/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj '/CN=ws.tls.test' -addext 'subjectAltName=DNS:ws.tls.test' \
        -keyout "$WORK/pki/ws.key" -out "$WORK/pki/ws.pem" 2>"$WORK/pki/openssl.log" ||
        die "openssl req failed: $(cat "$WORK/pki/openssl.log")"
    start_server ws_server python3 "$TOOLS/ws_server.py" 8097 "$WORK/pki/ws.pem" "$WORK/pki/ws.key"
    wait_listen 8097
}
clients_websocket_tls() {
    : >"$WORK/keys.log"
    python3 "$TOOLS/ws_tls_client.py" 8097 "$WORK/pki/ws.pem" "$WORK/keys.log" "$CLIENT_LOG" \
        "$WORK/websocket_tls.expected-messages.tsv"
}
finish_websocket_tls() {
    # tshark, decrypting with the client's key log, must see the messages the client counted.
    local seen
    seen=$(tshark -r "$WORK/capture.pcap" -o "tls.keylog_file:$WORK/keys.log" -d tcp.port==8097,tls \
        -Y 'websocket && (websocket.opcode == 1 || websocket.opcode == 2) && websocket.fin == 1' \
        -T fields -e tcp.srcport -e websocket.opcode -E occurrence=a -E aggregator=, |
        python3 -c 'import sys
c = {"client": [0, 0], "server": [0, 0]}
for line in sys.stdin:
    port, ops = line.rstrip("\n").split("\t")
    for op in ops.split(","):
        c["server" if port == "8097" else "client"][int(op, 0) - 1] += 1
print("from\ttext\tbinary")
for w in ("client", "server"):
    print(f"{w}\t{c[w][0]}\t{c[w][1]}")')
    [[ $seen == "$(cat "$WORK/websocket_tls.expected-messages.tsv")" ]] ||
        die "websocket_tls: tshark sees other messages than the client sent: $seen"
    mv "$WORK/websocket_tls.expected-messages.tsv" "$HERE/websocket_tls.expected-messages.tsv"
    cp "$WORK/keys.log" "$HERE/websocket_tls.keys"
}
check_websocket_tls() {
    local size
    size=$(stat -c %s "$HERE/websocket_tls.pcap")
    log "  websocket_tls.pcap: $size bytes, messages per side: $(tail -n +2 "$HERE/websocket_tls.expected-messages.tsv" | tr '\t\n' ' ,')"
    ((size < 30 * 1024)) || log "  WARNING: websocket_tls.pcap is larger than 30 KiB"
}
