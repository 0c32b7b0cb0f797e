#!/usr/bin/env bash
# HTTP/2 throughput of `shadowtap log` next to tshark's http2 dissector, on one core, on a large
# capture made of copies of the h2c captures (captures/h2c.pcap, captures/h2_nghttpd.pcap);
# with MODE=grpc, of copies of captures/grpc.pcap next to tshark's http2 + grpc dissectors
# (every message's length read), and `shadowtap ingest` too (where the messages are framed,
# inflated and walked as protobuf).
#
#   benches/h2_vs_tshark.sh                  # builds /tmp/shadowtap-bench-h2/big.pcap (>= 40 MB)
#   TARGET_MB=100 RUNS=5 benches/h2_vs_tshark.sh
#   MODE=grpc TARGET_MB=20 benches/h2_vs_tshark.sh   # /tmp/shadowtap-bench-grpc/big.pcap
#
# As in benches/e2e.sh, every copy gets its own IP addresses (tcprewrite --seed) and is shifted
# in time. tshark decodes ports 8300 and 8301 as HTTP (its HTTP dissector hands the preface and
# `Upgrade: h2c` over to http2) and prints the path of every HEADERS frame. Needs tcprewrite,
# editcap, mergecap, capinfos, tshark. SHADOWTAP: the binary (default: a release build in
# ${CARGO_TARGET_DIR:-target}).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${MODE:-h2}
case $MODE in
    h2)
        CAPS=("$ROOT"/captures/h2c.pcap "$ROOT"/captures/h2_nghttpd.pcap)
        DECODE=(-d tcp.port==8300,http -d tcp.port==8301,http)
        FIELDS=(-e http2.headers.path)
        ;;
    grpc)
        CAPS=("$ROOT"/captures/grpc.pcap)
        DECODE=(-d tcp.port==50051,http2)
        FIELDS=(-e http2.headers.path -e grpc.message_length)
        ;;
    *) echo "MODE is h2 or grpc" >&2; exit 1 ;;
esac
OUT=${OUT:-/tmp/shadowtap-bench-$MODE}
TARGET_MB=${TARGET_MB:-40}
RUNS=${RUNS:-3}
mkdir -p "$OUT"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
needs tcprewrite editcap mergecap capinfos tshark
if [[ -z ${SHADOWTAP:-} ]]; then
    (cd "$ROOT" && cargo build --release --quiet)
    SHADOWTAP=${CARGO_TARGET_DIR:-$ROOT/target}/release/shadowtap
fi

BIG=$OUT/big.pcap
build_copies "$BIG" "$TARGET_MB" 60 "${CAPS[@]}"

bytes=$(stat -c %s "$BIG")
packets=$(capinfos -c -M -T "$BIG" | awk -F'\t' 'NR==2{print $2}')
cat "$BIG" >/dev/null


TSHARK=(tshark -n -r "$BIG" "${DECODE[@]}" -Y http2.type==1 -T fields "${FIELDS[@]}")
rows=$("$SHADOWTAP" log "$BIG" 2>/dev/null | tail -n +2 | wc -l)
printf 'file: %s, %.1f MB, %s packets, %s transactions, %s runs each (best), pinned to one core\n' \
    "$BIG" "$(echo "$bytes/1000000" | bc -l)" "$packets" "$rows" "$RUNS"
t_tshark=$(best taskset -c 0 "${TSHARK[@]}")
t_log=$(best taskset -c 0 "$SHADOWTAP" log "$BIG")
printf '%-60s %9s %9s %14s\n' command seconds MB/s transactions/s
printf '%-60s %9.2f %9.1f %14.0f\n' "tshark -d ... -Y http2.type==1 -T fields ${FIELDS[*]}" "$t_tshark" \
    "$(echo "$bytes/1000000/$t_tshark" | bc -l)" "$(echo "$rows/$t_tshark" | bc -l)"
printf '%-60s %9.2f %9.1f %14.0f\n' "shadowtap log" "$t_log" \
    "$(echo "$bytes/1000000/$t_log" | bc -l)" "$(echo "$rows/$t_log" | bc -l)"
printf 'shadowtap is %.1fx faster than tshark on this file\n' "$(echo "$t_tshark/$t_log" | bc -l)"
if [[ $MODE == grpc ]]; then
    rm -f "$OUT/inv.db"*
    t_ingest=$(best taskset -c 0 sh -c 'rm -f "$1"*; "$2" ingest --db "$1" "$3"' _ "$OUT/inv.db" "$SHADOWTAP" "$BIG")
    printf '%-60s %9.2f %9.1f %14.0f\n' "shadowtap ingest (protobuf walk, inventory, SQLite)" "$t_ingest" \
        "$(echo "$bytes/1000000/$t_ingest" | bc -l)" "$(echo "$rows/$t_ingest" | bc -l)"
fi
