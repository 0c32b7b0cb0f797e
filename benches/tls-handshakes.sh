#!/usr/bin/env bash
# The cost of reading TLS handshakes (records, hellos, certificates, JA4/JA4S) on a capture of many
# short TLS connections, next to tshark's TLS dissector on the same file, on one core.
#
#   benches/tls-handshakes.sh              # builds /tmp/shadowtap-tlsbench/tls.pcap (>= 40 MB)
#   TARGET_MB=100 RUNS=5 benches/tls-handshakes.sh
#
# The capture is made of copies of the bundled TLS captures (captures/tls13.pcap, tls12.pcap,
# tls_weak.pcap: curl, Python and openssl clients against nginx, TLS 1.0 to 1.3, certificates,
# resumption), each copy with its own addresses (tcprewrite --seed) and shifted in time, so every
# tool sees distinct connections. Without key logs nothing is decrypted: this is the cost of the
# TLS inventory. Needs tcprewrite (tcpreplay), editcap, mergecap, capinfos, tshark.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/shadowtap-tlsbench}
TARGET_MB=${TARGET_MB:-40}
RUNS=${RUNS:-3}
mkdir -p "$OUT"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
needs tcprewrite editcap mergecap capinfos tshark
(cd "$ROOT" && cargo build --release --quiet)
BIN=$ROOT/target/release/shadowtap

BIG=$OUT/tls.pcap
build_copies "$BIG" "$TARGET_MB" 60 "$ROOT"/captures/tls*.pcap

bytes=$(stat -c %s "$BIG")
packets=$(capinfos -c -M -T "$BIG" | awk -F'\t' 'NR==2{print $2}')
cat "$BIG" >/dev/null # page cache: every tool reads from memory


hellos=$(tshark -n -r "$BIG" -Y tls.handshake.type==1 -T fields -e frame.number | wc -l)
printf 'file: %s, %.1f MB, %s packets, %s ClientHellos (tshark), %s runs each (best), one core\n' \
    "$BIG" "$(echo "$bytes/1000000" | bc -l)" "$packets" "$hellos" "$RUNS"
printf '%-78s %9s %9s %12s %9s\n' command seconds MB/s hellos/s vs_tshark
TSHARK="tshark -n -r $BIG -Y tls.handshake.type==1 -T fields -e tls.handshake.extensions_server_name -e tls.handshake.ciphersuite"
# shellcheck disable=SC2086
t_tshark=$(best taskset -c 0 $TSHARK)
row() { # label seconds
    printf '%-78s %9.2f %9.1f %12.0f %8.1fx\n' "$1" "$2" "$(echo "$bytes/1000000/$2" | bc -l)" \
        "$(echo "$hellos/$2" | bc -l)" "$(echo "$t_tshark/$2" | bc -l)"
}
row "${TSHARK/$BIG/tls.pcap}" "$t_tshark"
row "shadowtap log --stats=json tls.pcap (handshakes, JA4/JA4S, certificates)" \
    "$(best taskset -c 0 "$BIN" log --stats=json "$BIG")"
db=$OUT/tls.db
row "shadowtap ingest --db tls.db tls.pcap (the TLS inventory in SQLite)" \
    "$(best bash -c "rm -f $db $db-wal $db-shm $db.key; taskset -c 0 $BIN ingest --db $db $BIG")"
got=$("$BIN" log --stats=json "$BIG" 2>&1 >/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["tls"]["client_hellos"])' 2>/dev/null || echo '?')
echo "ClientHellos: shadowtap $got, tshark $hellos; database $(stat -c %s "$db") bytes for $bytes capture bytes"
