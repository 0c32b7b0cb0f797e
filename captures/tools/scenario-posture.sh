# The Zero-Trust posture scenario (sourced by ../make.sh): posture.pcap, posture.expected.tsv,
# posture.expected-findings.tsv. See ../posture.md.
#
# A Node API (tools/posture_server.js, Host shop.posture.test) with deliberate posture flaws,
# described by ../posture.openapi.yaml, and thirteen Python personas on 127.0.0.2-14
# (tools/posture_client.py). The client fails the capture when the server does not answer as
# the scenario needs, and `finish_posture` writes the expected findings only after checking
# that the recorded traffic shows exactly those.

ALL+=(posture)

setup_posture() {
    BPF='tcp port 8088'
    start_server posture_server node "$TOOLS/posture_server.js" 8088
    wait_listen 8088
}
clients_posture() {
    python3 "$TOOLS/posture_client.py" run --port 8088 --log "$CLIENT_LOG" --records "$WORK/posture-records.jsonl"
}
finish_posture() {
    python3 "$TOOLS/posture_client.py" findings --records "$WORK/posture-records.jsonl" \
        --openapi "$HERE/posture.openapi.yaml" --out "$WORK/posture.expected-findings.tsv"
    mv "$WORK/posture.expected-findings.tsv" "$HERE/posture.expected-findings.tsv"
}
