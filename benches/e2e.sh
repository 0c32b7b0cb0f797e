#!/usr/bin/env bash
# End-to-end throughput of `shadowtap log` next to tshark and tcpdump, on one core, on a large
# capture built from the project's own captures (captures/*.pcap).
#
#   benches/e2e.sh                 # builds /tmp/shadowtap-bench/big.pcap (>= 300 MB) and measures
#   TARGET_MB=600 RUNS=5 benches/e2e.sh
#
# Every copy of the base capture gets its own IP addresses (tcprewrite --seed) and is shifted in
# time, so the copies are distinct connections for every tool (without that, tshark would treat
# them as retransmissions). Needs: tcprewrite (tcpreplay), editcap, mergecap, capinfos (wireshark-
# common), tshark, tcpdump; `apt-get install -y tcpreplay tshark tcpdump`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/shadowtap-bench}
TARGET_MB=${TARGET_MB:-300}
RUNS=${RUNS:-3}
mkdir -p "$OUT"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
needs tcprewrite editcap mergecap capinfos tshark tcpdump
(cd "$ROOT" && cargo build --release --quiet)
BIN=$ROOT/target/release/shadowtap

BIG=$OUT/big.pcap
build_copies "$BIG" "$TARGET_MB" 3600 "$ROOT"/captures/*.pcap

bytes=$(stat -c %s "$BIG")
packets=$(capinfos -c -M -T "$BIG" | awk -F'\t' 'NR==2{print $2}')
cat "$BIG" >/dev/null # page cache: every tool reads from memory


printf 'file: %s, %.1f MB, %s packets, %s runs each (best), pinned to one core\n' "$BIG" "$(echo "$bytes/1000000" | bc -l)" "$packets" "$RUNS"
printf '%-70s %9s %9s %12s %9s\n' command seconds MB/s packets/s vs_tshark
t_tshark=$(best taskset -c 0 tshark -n -r "$BIG" -Y http.request -T fields -e http.request.uri)
for cmd in "tcpdump -r $BIG -w /dev/null" "tshark -n -r $BIG -Y http.request -T fields -e http.request.uri" "shadowtap log $BIG" "shadowtap log --format jsonl $BIG"; do
    set -- $cmd
    if [[ $1 == shadowtap ]]; then shift; set -- "$BIN" "$@"; fi
    if [[ $1 == tshark ]]; then t=$t_tshark; else t=$(best taskset -c 0 "$@"); fi
    printf '%-70s %9.2f %9.1f %12.0f %8.1fx\n' "${cmd/$BIG/big.pcap}" "$t" "$(echo "$bytes/1000000/$t" | bc -l)" \
        "$(echo "$packets/$t" | bc -l)" "$(echo "$t_tshark/$t" | bc -l)"
done
ingest_db=$OUT/ingest.db
t_ingest=$(best bash -c "rm -f $ingest_db $ingest_db-wal $ingest_db-shm $ingest_db.key; taskset -c 0 $BIN ingest --db $ingest_db $BIG")
printf '%-70s %9.2f %9.1f %12.0f %8.1fx\n' "shadowtap ingest --db inv.db big.pcap (SQLite inventory)" "$t_ingest" \
    "$(echo "$bytes/1000000/$t_ingest" | bc -l)" "$(echo "$packets/$t_ingest" | bc -l)" "$(echo "$t_tshark/$t_ingest" | bc -l)"
rows=$("$BIN" log "$BIG" | tail -n +2 | wc -l)
reqs=$(tshark -n -r "$BIG" -Y http.request -T fields -e http.request.uri | wc -l)
echo "transactions: shadowtap $rows, tshark http.request $reqs"
