#!/usr/bin/env bash
# Memory soak of the sensor daemon: `tcpreplay --loop 0 --unique-ip` of a realistic API capture
# (new client and server addresses on every loop, JWT-authenticated clients) onto a veth pair whose
# other end sits in a private network namespace, where `shadowtap run` captures under a memory
# budget. RSS is sampled every second and printed as a curve (one line per SAMPLE seconds, with the
# packets, transactions and eviction counters of /metrics); at the end the verdict: peak RSS as a
# share of the budget, the growth over the last quarter of the run, and the inventory afterwards.
#
#   sudo benches/soak.sh                                 # 128 MiB budget, 60 Mbit/s, 30 minutes
#   DURATION=600 BUDGET=160MiB MBPS=60 sudo benches/soak.sh
#   PCAP=captures/rest_api.pcap WORKERS=1 sudo benches/soak.sh
#
# Needs root (network namespace, veth), tcpreplay (`apt-get install -y tcpreplay`) and curl
# (the inventory is read back with `shadowtap endpoints`). Not run in CI: the
# inventory bounds it measures have unit tests (see docs/daemon.md, "Memory").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/shadowtap-soak}
PCAP=${PCAP:-$ROOT/captures/sequences.pcap}
BUDGET=${BUDGET:-128MiB}
MBPS=${MBPS:-60}
DURATION=${DURATION:-1800}
SAMPLE=${SAMPLE:-30}
WORKERS=${WORKERS:-2}
NS=stsoak$$
for t in tcpreplay curl ip awk; do
    command -v "$t" >/dev/null || { echo "missing $t (apt-get install -y tcpreplay curl iproute2)" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "run as root (network namespace and veth)" >&2; exit 1; }
mkdir -p "$OUT"
(cd "$ROOT" && cargo build --release --quiet)
BIN=${BIN:-$ROOT/target/release/shadowtap}

cleanup() {
    [[ -n ${RPID:-} ]] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null || true
    [[ -n ${DPID:-} ]] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
    ip link del sts0 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip link add sts0 type veth peer name sts1
ip link set sts1 netns "$NS"
ip link set sts0 up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link set sts1 up

rm -f "$OUT"/soak.db* "$OUT/ready"
ip netns exec "$NS" "$BIN" run -i sts1 --bpf tcp --db "$OUT/soak.db" --listen 127.0.0.1:9100 \
    --workers "$WORKERS" --memory-budget "$BUDGET" --ready-file "$OUT/ready" \
    --alert-min-severity off 2>"$OUT/daemon.log" &
DPID=$!
for _ in $(seq 100); do [[ -s $OUT/ready ]] && break; sleep 0.1; done
[[ -s $OUT/ready ]] || { echo "daemon did not start:" >&2; cat "$OUT/daemon.log" >&2; exit 1; }
budget_bytes=$(ip netns exec "$NS" curl -s http://127.0.0.1:9100/metrics | awk '$1 == "shadowtap_memory_budget_bytes" { print $2 }')

tcpreplay -i sts0 --loop=0 --unique-ip --mbps="$MBPS" --preload-pcap "$PCAP" >"$OUT/tcpreplay.log" 2>&1 &
RPID=$!

metrics() { ip netns exec "$NS" curl -s http://127.0.0.1:9100/metrics || true; }
# Sum of every series of a metric name (all labels), or of one labelled series.
metric() { awk -v m="$1" 'BEGIN { v = 0 } { n = $1; sub(/\{.*/, "", n) } n == m || $1 == m { v += $2 } END { printf "%.0f", v }' <<<"$2"; }
evictions() { # every eviction/cap counter that moved, as name=value
    awk '/^shadowtap_cap_drops_total\{/ && $2 > 0 { c = $1; sub(/.*cap="/, "", c); sub(/".*/, "", c); printf "%s=%.0f ", c, $2 }' <<<"$1"
}

CURVE=$OUT/rss.tsv
printf "t_s\trss_mib\tanon_mib\tfile_mib\n" >"$CURVE"
printf "%7s %8s %6s %12s %12s %9s  %s\n" t_s rss_mib budget packets transactions endpoints caps_moved
start=$(date +%s)
while :; do
    now=$(date +%s); t=$(( now - start ))
    (( t >= DURATION )) && break
    kill -0 "$DPID" 2>/dev/null || { echo "daemon exited early:" >&2; tail -20 "$OUT/daemon.log" >&2; exit 1; }
    # RSS, and its anonymous (heap) and file-backed (binary, kernel ring) parts.
    read -r rss_kib anon_kib file_kib < <(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print r, a, f }' "/proc/$DPID/status")
    printf "%d\t%.1f\t%.1f\t%.1f\n" "$t" "$(echo "$rss_kib / 1024" | bc -l)" "$(echo "$anon_kib / 1024" | bc -l)" "$(echo "$file_kib / 1024" | bc -l)" >>"$CURVE"
    if (( t % SAMPLE == 0 )); then
        m=$(metrics)
        printf "%7d %8.1f %5.0f%% %12s %12s %9s  %s\n" "$t" "$(echo "$rss_kib / 1024" | bc -l)" \
            "$(echo "$rss_kib * 1024 * 100 / $budget_bytes" | bc -l)" \
            "$(metric shadowtap_capture_packets_total "$m")" "$(metric shadowtap_http_transactions_total "$m")" \
            "$(metric shadowtap_endpoints "$m")" "$(evictions "$m")"
    fi
    sleep 1
done
m=$(metrics)
cp "/proc/$DPID/smaps" "$OUT/smaps.txt" 2>/dev/null || true # where the RSS lives, by mapping
kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null || true; RPID=
kill -TERM "$DPID"; wait "$DPID" || true; DPID=
# A heap-profiling build (`cargo build --release --features dhat-heap`, BIN=...) leaves its
# profile in the working directory when it exits: keep the daemon's before anything else runs.
[[ -s dhat-heap.json ]] && mv dhat-heap.json "$OUT/dhat-daemon.json" && echo "heap profile: $OUT/dhat-daemon.json"

echo
echo "final counters: $(evictions "$m")"
awk -v budget="$budget_bytes" -v dur="$DURATION" 'NR > 1 { r[n++] = $2; if ($2 > peak) peak = $2 }
END {
    # growth over the last quarter: mean RSS of its last tenth against the mean of its first tenth
    q = int(n * 3 / 4); w = int((n - q) / 10); if (w < 1) w = 1
    for (i = q; i < q + w; i++) a += r[i]
    for (i = n - w; i < n; i++) b += r[i]
    a /= w; b /= w
    printf "RSS peak %.1f MiB = %.0f%% of the %.0f MiB budget; last quarter %.1f -> %.1f MiB (%+.2f%%) over %d s\n",
        peak, peak * 1048576 * 100 / budget, budget / 1048576, a, b, (b - a) * 100 / a, dur
}' "$CURVE"
grep 'msg="stopped"' "$OUT/daemon.log" | tail -1 || true
echo "inventory afterwards ($OUT/soak.db):"
"$BIN" endpoints --db "$OUT/soak.db" 2>/dev/null | head -40
echo "findings afterwards, by kind (the capture's own, plus per-client ones of the ever-new addresses):"
"$BIN" findings --db "$OUT/soak.db" --format json 2>/dev/null |
    python3 -c 'import collections, json, sys; c = collections.Counter(f["kind"] for f in json.load(sys.stdin)); print("  " + ", ".join(f"{k} {n}" for k, n in sorted(c.items())))' || true
echo "curve: $CURVE; replay: $(grep -E 'Actual|Rated' "$OUT/tcpreplay.log" | tr '\n' ' ')"
