-- In step with migrations/0024_endpoint_sensors.sql: which sensors saw each endpoint, written
-- by `shadowtap central` as it applies each sensor's deltas (`fleet::central`): requests, first
-- and last seen per (endpoint, sensor). See the SQLite migration.
CREATE TABLE endpoint_sensors (
    endpoint_id BIGINT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    sensor      TEXT NOT NULL,
    count       BIGINT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (endpoint_id, sensor)
);

CREATE VIEW api_endpoint_sensors AS
SELECT endpoint_id, sensor, count,
    shadowtap_iso_ns(first_seen) AS first_seen,
    shadowtap_iso_ns(last_seen) AS last_seen
FROM endpoint_sensors;
