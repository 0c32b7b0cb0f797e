# shellcheck shell=bash
# The WebSocket scenario (sourced by ../make.sh): websocket.pcap, websocket.expected.tsv (the
# two upgrade transactions) and websocket.expected-frames.tsv (every frame, from tshark).
#
# An echo service on the Python `websockets` package (tools/ws_server.py, port 8096) and its
# client (tools/ws_client.py): two connections, without and with permessage-deflate, each with
# text, binary, a fragmented text message, ping/pong, 16-bit lengths and a close 1000.
# The oracle is tshark's websocket dissector (tools/ws_expected.py), not shadowtap.

ALL+=(websocket)

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
