# shellcheck shell=bash
# Shared by the capture benchmarks (e2e.sh, tls-handshakes.sh, h2_vs_tshark.sh): sourced, not run.

# needs TOOL...: exits with the apt-get line when one is missing.
needs() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "missing $t (apt-get install -y tcpreplay tshark tcpdump)" >&2; exit 1; }
    done
}

# build_copies BIG TARGET_MB SHIFT_SECONDS PCAP...: BIG made of copies of the PCAPs until it
# holds TARGET_MB megabytes (kept if it does already). Every copy gets its own IP addresses
# (tcprewrite --seed) and is shifted SHIFT_SECONDS × its number in time, so the copies are
# distinct connections for every tool (without that, tshark would treat them as
# retransmissions).
build_copies() {
    local big=$1 target_mb=$2 shift_s=$3
    shift 3
    local out base copies i
    out=$(dirname "$big")
    if [[ -s $big && $(stat -c %s "$big") -ge $((target_mb * 1000000)) ]]; then
        return 0
    fi
    echo "building $big from $# capture(s) ..." >&2
    mergecap -a -F pcap -w "$out/base.pcap" "$@"
    base=$(stat -c %s "$out/base.pcap")
    copies=$(((target_mb * 1000000 + base - 1) / base))
    rm -f "$out"/batch-*.pcap
    local batch=()
    for ((i = 1; i <= copies; i++)); do
        tcprewrite --seed="$i" --fixcsum -i "$out/base.pcap" -o "$out/copy.pcap"
        editcap -t "$((i * shift_s))" "$out/copy.pcap" "$out/c$i.pcap" >/dev/null
        batch+=("$out/c$i.pcap")
        if ((${#batch[@]} == 100 || i == copies)); then
            mergecap -a -F pcap -w "$out/batch-$(printf %05d "$i").pcap" "${batch[@]}"
            rm -f "${batch[@]}"
            batch=()
        fi
    done
    mergecap -a -F pcap -w "$big" "$out"/batch-*.pcap
    rm -f "$out"/batch-*.pcap "$out/copy.pcap"
}

# best COMMAND...: the best wall time of RUNS runs, in seconds (output discarded).
best() {
    local b= r s e
    for ((r = 0; r < RUNS; r++)); do
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        b=$(echo "$e - $s" | bc -l | awk -v b="$b" '{ if (b == "" || $1 < b) print $1; else print b }')
    done
    echo "$b"
}
