-- Fleet, attribution (issue 18): which sensors saw each endpoint, with its requests and first
-- and last seen per sensor (view api_endpoint_sensors, documented in the README). On the
-- centre (PostgreSQL 0009_endpoint_sensors.sql) `shadowtap central` writes one row per
-- endpoint and sensor as it applies that sensor's deltas. A sensor's own file knows no other
-- sensor: once it has a name in a fleet (`--central`, `fleet_sensor`) its view lists itself for
-- every endpoint it saw, and nothing before that. The table keeps the two backends' schemas
-- alike; nothing writes it on a sensor.
-- Additive only: a table and a view.
CREATE TABLE endpoint_sensors (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    sensor      TEXT NOT NULL,
    count       INTEGER NOT NULL,             -- requests
    first_seen  INTEGER NOT NULL,             -- ns since the epoch
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, sensor)
);

CREATE VIEW api_endpoint_sensors AS
SELECT endpoint_id, sensor, count,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen / 1e9, 'unixepoch') AS last_seen
FROM endpoint_sensors
UNION ALL
SELECT e.id AS endpoint_id, f.sensor, e.request_count AS count,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.last_seen / 1e9, 'unixepoch') AS last_seen
FROM endpoints e JOIN fleet_sensor f ON f.id = 1
WHERE e.first_seen IS NOT NULL AND e.last_seen IS NOT NULL AND e.request_count > 0;
