-- In step with migrations/0019_sources.sql: which sources saw each endpoint (wire, har,
-- access_log), with requests and first and last seen per source. See the SQLite migration.
CREATE TABLE endpoint_sources (
    endpoint_id BIGINT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    count       BIGINT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (endpoint_id, source)
);

INSERT INTO endpoint_sources (endpoint_id, source, count, first_seen, last_seen)
SELECT id, 'wire', request_count, first_seen, last_seen FROM endpoints
WHERE first_seen IS NOT NULL AND last_seen IS NOT NULL AND request_count > 0;

CREATE VIEW api_endpoint_sources AS
SELECT endpoint_id, source, count,
    shadowtap_iso_ns(first_seen) AS first_seen,
    shadowtap_iso_ns(last_seen) AS last_seen
FROM endpoint_sources;
