#!/usr/bin/env bash
# The dashboard over a fleet's centre: page times of `serve --db postgres://...` with the
# dashboard bench's inventory (benches/dashboard.rs) written into PostgreSQL, each endpoint
# seen by one to three of 10 sensors.
#
#   benches/fleet_dashboard.sh                               # 10,000 endpoints
#   SHADOWTAP_BENCH_ENDPOINTS=100000 benches/fleet_dashboard.sh quick
#
# A throwaway PostgreSQL cluster (initdb's defaults, TCP on 127.0.0.1, shared_buffers 128 MB as
# Debian ships it); the bench connects as its owner. Arguments go to the bench (`quick`, page
# names). Needs PostgreSQL's server binaries (Debian: `apt-get install -y postgresql`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PORT=${PORT:-55433}
[[ -x $PGBIN/initdb ]] || { echo "no PostgreSQL server binaries (apt-get install -y postgresql)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/shadowtap-fleet-dash.XXXXXX)
chmod 755 "$WORK"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir "$WORK/pg" "$WORK/sock"
[[ $(id -u) == 0 ]] && chown postgres "$WORK/pg" "$WORK/sock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -E UTF8 --locale=C -U postgres >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w -o "-p $PORT -k $WORK/sock -c listen_addresses=127.0.0.1" start >/dev/null
"$PGBIN/psql" -qAtX -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE centre"
cd "$ROOT"
SHADOWTAP_BENCH_CENTRAL="postgres://postgres@127.0.0.1:$PORT/centre?sslmode=disable" \
    cargo bench --bench dashboard -- "$@"
