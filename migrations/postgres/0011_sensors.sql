-- In step with migrations/0025_sensors.sql: the sensors' health, kept by `shadowtap central`
-- as it applies each sensor's deltas (`fleet::central`). See the SQLite migration.
CREATE TABLE sensors (
    sensor           TEXT PRIMARY KEY,
    version          TEXT NOT NULL DEFAULT '',
    host             TEXT NOT NULL DEFAULT '',
    interfaces       TEXT NOT NULL DEFAULT '',
    started_at       BIGINT,
    first_delta_at   BIGINT NOT NULL,
    last_delta_at    BIGINT NOT NULL,
    last_applied_at  BIGINT NOT NULL,
    deltas           BIGINT NOT NULL DEFAULT 0,
    parked           BIGINT NOT NULL DEFAULT 0,
    packets          BIGINT NOT NULL DEFAULT 0,
    bytes            BIGINT NOT NULL DEFAULT 0,
    kernel_dropped   BIGINT NOT NULL DEFAULT 0,
    if_dropped       BIGINT NOT NULL DEFAULT 0,
    queue_dropped    BIGINT NOT NULL DEFAULT 0,
    cap_drops        BIGINT NOT NULL DEFAULT 0
);

CREATE VIEW api_sensors AS
SELECT sensor, version, host, interfaces,
    shadowtap_iso_ns(started_at) AS started_at,
    shadowtap_iso_ns(first_delta_at) AS first_delta_at,
    shadowtap_iso_ns(last_delta_at) AS last_delta_at,
    shadowtap_iso_ns(last_applied_at) AS last_applied_at,
    (last_applied_at - last_delta_at) / 1000000 AS apply_lag_ms,
    deltas, parked, packets, bytes, kernel_dropped, if_dropped, queue_dropped, cap_drops
FROM sensors;
