#!/usr/bin/env bash
# Replay benchmark of the sensor daemon: tcpreplay of a large capture at increasing rates onto a
# veth pair whose other end sits in a private network namespace, where `shadowtap run` captures.
# For 1 worker and for all workers, it reports per rate what was sent, captured and analysed,
# the kernel and queue drops, the mean flush round, the RSS, and the highest rate with zero
# drops (below the first rate that dropped anything). tcpreplay needs a core of its own: on a
# small machine, "topspeed" is what tcpreplay manages while sharing the cores with the sensor.
#
#   sudo benches/replay.sh                          # rates 25k..400k pps, then top speed
#   RATES="50000 100000" FLOWS=20000 sudo benches/replay.sh
#
# Needs root (network namespace, veth), tcpreplay (`apt-get install -y tcpreplay`), python3
# (the capture is generated: FLOWS HTTP/1.1 connections with REQS keep-alive transactions each,
# distinct client addresses, 32 API hosts, paths with ids), curl. Not run in CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/shadowtap-replay}
FLOWS=${FLOWS:-40000}
REQS=${REQS:-2}
RATES=${RATES:-"50000 100000 150000 200000 250000 topspeed"}
# Replays of the capture per run: long enough that the kernel ring and the queues cannot hide
# a worker that falls behind (the rate must be sustained).
LOOPS=${LOOPS:-4}
BUFFER=${BUFFER:-32MiB}
WORKERS_ALL=${WORKERS_ALL:-$(nproc)}
NS=stbench$$
for t in tcpreplay python3 curl ip bc; do
    command -v "$t" >/dev/null || { echo "missing $t (apt-get install -y tcpreplay python3 curl iproute2)" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "run as root (network namespace and veth)" >&2; exit 1; }
mkdir -p "$OUT"
(cd "$ROOT" && cargo build --release --quiet)
BIN=$ROOT/target/release/shadowtap

PCAP=$OUT/replay-$FLOWS-$REQS.pcap
if [[ ! -s $PCAP ]]; then
    echo "generating $PCAP ($FLOWS connections x $REQS transactions) ..." >&2
    python3 - "$PCAP" "$FLOWS" "$REQS" <<'PY'
import struct, sys
path, flows, reqs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + payload
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    t = 1_700_000_000 * 1_000_000
    def put(fr):
        global t
        t += 7
        f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(fr), len(fr)) + fr)
    for i in range(flows):
        c = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
        s = bytes([192, 168, 1, 1 + i % 8])
        cp, sp = 10000 + i % 50000, 80
        cs, ss = 1000, 5000
        put(frame(c, s, cp, sp, cs, 0, SYN)); cs += 1
        put(frame(s, c, sp, cp, ss, cs, SYN | ACK)); ss += 1
        put(frame(c, s, cp, sp, cs, ss, ACK))
        for r in range(reqs):
            req = (f"GET /api/v1/users/{i * 7 + r}/orders?page={r} HTTP/1.1\r\nHost: api{i % 32}.example.com\r\n"
                   f"User-Agent: replay\r\nAccept: application/json\r\nAuthorization: Bearer t{i % 500}\r\n\r\n").encode()
            body = ('{"user": %d, "orders": [{"id": %d, "total": 12.5, "items": 3}], "next": null}' % (i, i * 3 + r)).encode()
            resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            put(frame(c, s, cp, sp, cs, ss, PSH | ACK, req)); cs += len(req)
            put(frame(s, c, sp, cp, ss, cs, PSH | ACK, resp)); ss += len(resp)
            put(frame(c, s, cp, sp, cs, ss, ACK))
        put(frame(c, s, cp, sp, cs, ss, FIN | ACK)); cs += 1
        put(frame(s, c, sp, cp, ss, cs, FIN | ACK)); ss += 1
        put(frame(c, s, cp, sp, cs, ss, ACK))
PY
fi
PACKETS=$(( LOOPS * FLOWS * (6 + 3 * REQS) ))
TX=$(( LOOPS * FLOWS * REQS ))
echo "capture: $PCAP, $(( $(stat -c %s "$PCAP") / 1000000 )) MB, replayed $LOOPS times: $PACKETS packets, $TX transactions; kernel ring $BUFFER" >&2

cleanup() {
    [[ -n ${DPID:-} ]] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null || true
    ip link del stb0 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip link add stb0 type veth peer name stb1
ip link set stb1 netns "$NS"
ip link set stb0 up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link set stb1 up

metric() { # name{labels} -> value (0 when absent)
    local text
    text=$(ip netns exec "$NS" curl -s http://127.0.0.1:9100/metrics || true)
    awk -v m="$1" 'BEGIN { v = 0 } $1 == m { v = $2 } END { print v }' <<<"$text"
}

printf "%-8s %-10s %12s %10s %8s %8s %12s %9s %9s %8s %10s\n" workers rate sent_pps captured kdrop qdrop transactions stop_s flush_ms rss_mib zero_drops
for workers in 1 "$WORKERS_ALL"; do
    best=none
    failed=
    for rate in $RATES; do
        rm -f "$OUT"/bench.db* "$OUT/ready"
        ip netns exec "$NS" "$BIN" run -i stb1 --bpf tcp --db "$OUT/bench.db" --listen 127.0.0.1:9100 \
            --workers "$workers" --flush-interval 2s --buffer-size "$BUFFER" --ready-file "$OUT/ready" \
            --alert-min-severity off --no-alert-new-endpoints 2>"$OUT/daemon.log" &
        DPID=$!
        for _ in $(seq 100); do [[ -s $OUT/ready ]] && break; sleep 0.1; done
        if [[ $rate == topspeed ]]; then speed=(--topspeed); else speed=(--pps="$rate"); fi
        sent=$(tcpreplay -i stb0 --preload-pcap --loop="$LOOPS" "${speed[@]}" "$PCAP" 2>&1 | awk '/Rated:/ { for (i = 1; i <= NF; i++) if ($i ~ /^pps/) print $(i-1) }' | tr -d ',')
        fsum=$(metric shadowtap_flush_duration_seconds_sum)
        fcount=$(metric shadowtap_flush_duration_seconds_count)
        flush_ms=$(echo "if ($fcount > 0) $fsum * 1000 / $fcount else 0" | bc -l)
        rss_mib=$(( $(metric process_resident_memory_bytes | cut -d. -f1) >> 20 ))
        # SIGTERM: the daemon analyses everything queued, then logs its final counters.
        t0=$(date +%s.%N)
        kill -TERM "$DPID"; wait "$DPID" || true; DPID=
        drain=$(echo "$(date +%s.%N) - $t0" | bc -l)
        line=$(grep 'msg="stopped"' "$OUT/daemon.log" || true)
        field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
        captured=$(field packets); tx=$(field transactions)
        kdrop=$(field kernel_dropped); qdrop=$(field queue_dropped)
        zero=no
        if [[ ${kdrop:-1} -eq 0 && ${qdrop:-1} -eq 0 && ${captured:-0} -ge $PACKETS && ${tx:-0} -ge $TX ]]; then
            zero=yes
            [[ -z $failed ]] && best="$rate (${sent} pps sent)"
        else
            failed=1
        fi
        printf "%-8s %-10s %12s %10s %8s %8s %12s %9.2f %9.1f %8s %10s\n" "$workers" "$rate" "$sent" "$captured" "$kdrop" "$qdrop" "$tx" "$drain" "$flush_ms" "$rss_mib" "$zero"
    done
    echo "workers=$workers: highest sustained rate with zero drops: $best"
done
