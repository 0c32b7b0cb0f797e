# shellcheck shell=bash
# The call-sequence scenario (sourced by ../make.sh): sequences.pcap, sequences.expected.tsv,
# sequences.expected-transitions.tsv, sequences.expected-findings.tsv. See ../sequences.md.
#
# A small shop API (tools/sequences_server.js, Node stdlib, Host shop.seq.test, port 8089) and
# Python personas on 127.0.0.10-80 (tools/sequences_client.py): normal shoppers, two users
# behind one NAT address, a user roaming between two addresses, a health prober, and after the
# baseline a BOLA scraper, a step-skipper, a stolen token and a burster. `finish_sequences`
# derives the transitions from the client records, checks the recorded pcap against them, and
# writes the expected findings only when an independent evaluation finds exactly the designed
# ones.

ALL+=(sequences)

setup_sequences() {
    BPF='tcp port 8089'
    # No TCP timestamps in this namespace: 12 bytes less per frame keeps the ~1300-frame
    # capture under 300 KB (and the engine sees TCP without the timestamp option).
    sysctl -qw net.ipv4.tcp_timestamps=0
    start_server sequences_server node "$TOOLS/sequences_server.js" 8089
    wait_listen 8089
}
clients_sequences() {
    python3 "$TOOLS/sequences_client.py" run --port 8089 --log "$CLIENT_LOG" --records "$WORK/sequences-records.jsonl"
}
finish_sequences() {
    python3 "$TOOLS/sequences_client.py" truth --records "$WORK/sequences-records.jsonl" \
        --pcap "$WORK/capture.pcap" --port 8089 \
        --transitions "$WORK/sequences.expected-transitions.tsv" --findings "$WORK/sequences.expected-findings.tsv"
    mv "$WORK/sequences.expected-transitions.tsv" "$HERE/sequences.expected-transitions.tsv"
    mv "$WORK/sequences.expected-findings.tsv" "$HERE/sequences.expected-findings.tsv"
}
