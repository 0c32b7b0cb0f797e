-- Fleet, the sensors' health (issue 18): one row per sensor that shipped deltas to the centre,
-- kept by `shadowtap central` as it applies them (PostgreSQL 0011_sensors.sql): its version,
-- host and interfaces, when it started, the first and last delta it made (its clock) and when
-- the centre applied the last, deltas applied and parked, and its capture counters as of its
-- last delta (packets, bytes, kernel, interface and queue drops, the store's cap drops).
-- View api_sensors, documented in the README. A sensor's own file lists no sensor (its health
-- is on its Sensor page and /metrics); the table keeps the two backends' schemas alike.
-- Additive only: a table and a view.
CREATE TABLE sensors (
    sensor           TEXT PRIMARY KEY,
    version          TEXT NOT NULL DEFAULT '',
    host             TEXT NOT NULL DEFAULT '',
    interfaces       TEXT NOT NULL DEFAULT '',   -- comma-separated; files for an ingest
    started_at       INTEGER,                    -- ns since the epoch, the sensor's clock
    first_delta_at   INTEGER NOT NULL,           -- when the sensor made its first delta
    last_delta_at    INTEGER NOT NULL,           -- ... and its latest
    last_applied_at  INTEGER NOT NULL,           -- when the centre applied it (its clock)
    deltas           INTEGER NOT NULL DEFAULT 0, -- applied
    parked           INTEGER NOT NULL DEFAULT 0, -- refused (delta_applied says why)
    packets          INTEGER NOT NULL DEFAULT 0, -- as of the latest delta, since the sensor started
    bytes            INTEGER NOT NULL DEFAULT 0,
    kernel_dropped   INTEGER NOT NULL DEFAULT 0,
    if_dropped       INTEGER NOT NULL DEFAULT 0,
    queue_dropped    INTEGER NOT NULL DEFAULT 0,
    cap_drops        INTEGER NOT NULL DEFAULT 0
);

CREATE VIEW api_sensors AS
SELECT sensor, version, host, interfaces,
    strftime('%Y-%m-%dT%H:%M:%fZ', started_at / 1e9, 'unixepoch') AS started_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_delta_at / 1e9, 'unixepoch') AS first_delta_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_delta_at / 1e9, 'unixepoch') AS last_delta_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_applied_at / 1e9, 'unixepoch') AS last_applied_at,
    (last_applied_at - last_delta_at) / 1000000 AS apply_lag_ms,
    deltas, parked, packets, bytes, kernel_dropped, if_dropped, queue_dropped, cap_drops
FROM sensors;
