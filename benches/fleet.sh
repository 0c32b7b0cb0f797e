#!/usr/bin/env bash
# The fleet's centre: how fast `shadowtap central` applies sensors' deltas into PostgreSQL.
#
#   benches/fleet.sh                    # 50 sensors, each shipping the deltas of the captures
#   SENSORS=10 PGBIN=/usr/lib/postgresql/15/bin benches/fleet.sh
#
# One sensor ingests the bundled captures (captures/*.pcap) with its outbox on and ships its
# deltas to a throwaway PostgreSQL cluster (initdb's defaults: fsync and synchronous commit on,
# so every commit is durable; TCP on 127.0.0.1). The shipped deltas are then copied under
# SENSORS sensor names, as if that many sensors had seen the same traffic, and `central --once`
# applies them all: every endpoint after the first copy is an update of an existing row, the
# centre's steady state. Printed: deltas, rows, seconds, deltas/s and rows/s of that apply, and
# the apply of the first copy alone into an empty centre.
#
# Needs PostgreSQL's server binaries (Debian: `apt-get install -y postgresql`); run as root, the
# server runs as the `postgres` user.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SENSORS=${SENSORS:-50}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PORT=${PORT:-55432}
[[ -x $PGBIN/initdb ]] || { echo "no PostgreSQL server binaries (apt-get install -y postgresql)" >&2; exit 1; }
(cd "$ROOT" && cargo build --release --quiet)
BIN=${BIN:-$ROOT/target/release/shadowtap}

WORK=$(mktemp -d /tmp/shadowtap-fleet-bench.XXXXXX)
chmod 755 "$WORK"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir "$WORK/pg" "$WORK/sock"
[[ $(id -u) == 0 ]] && chown postgres "$WORK/pg" "$WORK/sock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -A trust -E UTF8 --locale=C -U postgres >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w -o "-p $PORT -k $WORK/sock -c listen_addresses=127.0.0.1" start >/dev/null
PSQL() { "$PGBIN/psql" -qAtX -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
PSQL -d postgres -c "CREATE DATABASE fleet"
URL="postgres://postgres@127.0.0.1:$PORT/fleet?sslmode=disable"

# The sensor makes its keyed-hash key (`<db>.key`) on first use; the centre is given the same.
"$BIN" ingest --db "$WORK/sensor.db" "$ROOT"/captures/chunked.pcap >/dev/null 2>&1
rm "$WORK/sensor.db"
KEY=(--key-file "$WORK/sensor.db.key")
"$BIN" central --db "$URL" "${KEY[@]}" --once >/dev/null # the schema
"$BIN" ingest --db "$WORK/sensor.db" --central "$URL" --sensor s0 "$ROOT"/captures/*.pcap >/dev/null 2>&1
deltas=$(PSQL -d fleet -c "SELECT count(*) FROM deltas")
bytes=$(PSQL -d fleet -c "SELECT sum(bytes) FROM deltas")
secs() { local s e; s=$(date +%s.%N); /usr/bin/time -f "%U %S" -o "$WORK/cpu" "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
t1=$(secs "$BIN" central --db "$URL" "${KEY[@]}" --once)
rows1=$(PSQL -d fleet -c "SELECT sum(rows) FROM delta_applied")
PSQL -d fleet -c "INSERT INTO deltas (sensor, seq, payload, bytes, received_at)
    SELECT 's' || n, seq, payload, bytes, received_at FROM deltas, generate_series(1, $SENSORS - 1) n WHERE sensor = 's0'"
t=$(secs "$BIN" central --db "$URL" "${KEY[@]}" --once)
n=$(PSQL -d fleet -c "SELECT count(*) FROM delta_applied WHERE sensor <> 's0'")
rows=$(PSQL -d fleet -c "SELECT sum(rows) FROM delta_applied WHERE sensor <> 's0'")
parked=$(PSQL -d fleet -c "SELECT count(*) FROM delta_applied WHERE outcome <> 'applied'")
printf 'one sensor: %s deltas, %s bytes shipped; into an empty centre: %.2f s, %s rows\n' "$deltas" "$bytes" "$t1" "$rows1"
cpu=$(awk '{print $1 + $2}' "$WORK/cpu")
printf '%s more sensors: %s deltas, %s rows in %.2f s: %.1f deltas/s, %.0f rows/s (parked: %s); the centre process used %.2f s of CPU\n' \
    "$((SENSORS - 1))" "$n" "$rows" "$t" "$(echo "$n / $t" | bc -l)" "$(echo "$rows / $t" | bc -l)" "$parked" "$cpu"
