-- Sources (issue 19): which sources saw each endpoint. Transactions come from the wire
-- (capture files, interfaces), from HAR files or from access logs (`shadowtap ingest
-- --source ...`); each endpoint counts its requests and first and last seen per source.
-- Additive only: a table and a view; no existing view changes.
CREATE TABLE endpoint_sources (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,                -- wire | har | access_log
    count       INTEGER NOT NULL,             -- requests
    first_seen  INTEGER NOT NULL,             -- ns since the epoch
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, source)
);

-- Every endpoint seen before this migration was seen on the wire (no other source existed).
INSERT INTO endpoint_sources (endpoint_id, source, count, first_seen, last_seen)
SELECT id, 'wire', request_count, first_seen, last_seen FROM endpoints
WHERE first_seen IS NOT NULL AND last_seen IS NOT NULL AND request_count > 0;

CREATE VIEW api_endpoint_sources AS
SELECT endpoint_id, source, count,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen / 1e9, 'unixepoch') AS last_seen
FROM endpoint_sources;
