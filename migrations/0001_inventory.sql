-- shadowtap inventory, version 1.
--
-- Tables are the implementation; the views named api_* are the public contract documented in
-- README.md and change only by adding. Times are stored as integer nanoseconds since the Unix
-- epoch (UTC, packet time) and shown by the views as ISO 8601 text.

-- Capture files ingested, by content hash: ingesting the same file twice is a no-op.
CREATE TABLE captures (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    path          TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    ingested_at   INTEGER NOT NULL,          -- wall clock, ns
    first_ts      INTEGER,                   -- packet time of the first frame, ns
    last_ts       INTEGER,
    packets       INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    transactions  INTEGER NOT NULL DEFAULT 0,
    source        TEXT NOT NULL DEFAULT 'file',   -- 'file' or 'live:<iface>'
    complete      INTEGER NOT NULL DEFAULT 0,     -- 0 while an ingest is in progress (or was interrupted)
    stats_json    TEXT NOT NULL DEFAULT '{}'      -- every engine counter, for the Sensor page
);

-- One row per observed (host, method, path template).
CREATE TABLE endpoints (
    id               INTEGER PRIMARY KEY,
    host             TEXT NOT NULL,
    method           TEXT NOT NULL,
    path_template    TEXT NOT NULL,
    template_rule    TEXT NOT NULL DEFAULT '',    -- how the template was decided, per segment
    template_confidence REAL NOT NULL DEFAULT 1.0,
    example_path     TEXT NOT NULL DEFAULT '',    -- one concrete path (redacted when sensitive)
    first_seen       INTEGER,                     -- NULL for a documented operation never called
    last_seen        INTEGER,
    request_count    INTEGER NOT NULL DEFAULT 0,
    response_count   INTEGER NOT NULL DEFAULT 0,
    error_count      INTEGER NOT NULL DEFAULT 0,  -- responses with status >= 400
    bytes_in         INTEGER NOT NULL DEFAULT 0,  -- request body bytes
    bytes_out        INTEGER NOT NULL DEFAULT 0,  -- response body bytes
    clients_hll      BLOB,                        -- HyperLogLog of client addresses
    clients_capped   INTEGER NOT NULL DEFAULT 0,  -- 1 when endpoint_clients stopped growing
    client_estimate  INTEGER NOT NULL DEFAULT 0,  -- distinct clients estimated from clients_hll
    latency_hist     BLOB,                        -- HdrHistogram V2 (microseconds)
    p50_ms           REAL,
    p90_ms           REAL,
    p99_ms           REAL,
    query_shape      TEXT,                        -- internal: merged query-string shape (JSON)
    documented       INTEGER,                     -- NULL until a spec is imported
    deprecated       INTEGER,
    classification   TEXT,                        -- documented | shadow | zombie | dormant
    UNIQUE (host, method, path_template)
);
CREATE INDEX endpoints_host ON endpoints (host);
CREATE INDEX endpoints_first_seen ON endpoints (first_seen);

CREATE TABLE endpoint_status (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    status      INTEGER NOT NULL,                -- 0: no response seen
    count       INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, status)
) WITHOUT ROWID;

CREATE TABLE endpoint_clients (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    client      TEXT NOT NULL,                   -- client address
    count       INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, client)
) WITHOUT ROWID;

-- Query and form parameters, with the types of the values seen.
CREATE TABLE endpoint_params (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    location    TEXT NOT NULL,                   -- path | query
    name        TEXT NOT NULL,
    types       TEXT NOT NULL,                   -- comma-separated: integer,string,...
    present     INTEGER NOT NULL,                -- requests that carried it
    PRIMARY KEY (endpoint_id, location, name)
) WITHOUT ROWID;

-- Body shapes per direction, status and content type: a JSON Schema plus the internal shape.
CREATE TABLE endpoint_bodies (
    endpoint_id  INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    direction    TEXT NOT NULL,                  -- request | response
    status       INTEGER NOT NULL,               -- 0 for requests
    content_type TEXT NOT NULL,
    count        INTEGER NOT NULL,               -- messages with this content type
    samples      INTEGER NOT NULL,               -- of them, bodies whose shape was read
    shape        TEXT,                           -- internal merged shape (JSON)
    schema       TEXT,                           -- JSON Schema (2020-12)
    PRIMARY KEY (endpoint_id, direction, status, content_type)
) WITHOUT ROWID;

CREATE TABLE endpoint_auth (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    scheme      TEXT NOT NULL,                   -- none | basic | bearer_jwt | bearer_opaque | api_key_header | api_key_query | cookie | digest
    location    TEXT NOT NULL,                   -- header, cookie or parameter name ('' for none)
    count       INTEGER NOT NULL,
    ok_count    INTEGER NOT NULL DEFAULT 0,      -- of them answered 2xx
    PRIMARY KEY (endpoint_id, scheme, location)
) WITHOUT ROWID;

-- Sensitive data seen, never in clear: class, where, and a redacted example.
CREATE TABLE endpoint_sensitive (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    class       TEXT NOT NULL,                   -- email | phone | credit_card | us_ssn | iban | jwt | aws_access_key | private_key | password
    location    TEXT NOT NULL,                   -- path | query | request_header | request_body | response_header | response_body
    field       TEXT NOT NULL,                   -- parameter, header or JSON field path ('' when free text)
    count       INTEGER NOT NULL,
    example     TEXT NOT NULL,                   -- redacted
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, class, location, field)
) WITHOUT ROWID;

-- Time series of calls per endpoint, per minute (for charts).
CREATE TABLE endpoint_minutes (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    minute      INTEGER NOT NULL,                -- packet time / 60 s
    count       INTEGER NOT NULL,
    errors      INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, minute)
) WITHOUT ROWID;

-- Findings (filled by the posture and sequence analyses).
CREATE TABLE findings (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    severity      TEXT NOT NULL,                 -- info | low | medium | high | critical
    host          TEXT,
    method        TEXT,
    path_template TEXT,
    client        TEXT,
    detail        TEXT NOT NULL,
    evidence      TEXT NOT NULL DEFAULT '',
    count         INTEGER NOT NULL DEFAULT 1,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    dedup_key     TEXT NOT NULL UNIQUE
);

-- Transitions between endpoints within a client's session (filled by the sequence analysis).
CREATE TABLE transitions (
    from_endpoint INTEGER NOT NULL,
    to_endpoint   INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    clients       INTEGER NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    PRIMARY KEY (from_endpoint, to_endpoint)
) WITHOUT ROWID;

-- ISO 8601 text for an integer ns time.
-- (SQLite has no functions in DDL, so each view repeats the expression.)

CREATE VIEW api_endpoints AS
SELECT
    e.id,
    e.host,
    e.method,
    e.path_template,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', e.last_seen / 1e9, 'unixepoch') AS last_seen,
    e.request_count,
    e.error_count,
    CASE WHEN e.clients_capped = 1 THEN e.client_estimate
         ELSE (SELECT COUNT(*) FROM endpoint_clients c WHERE c.endpoint_id = e.id) END AS client_count,
    (SELECT group_concat(scheme, ',') FROM (SELECT DISTINCT scheme FROM endpoint_auth a WHERE a.endpoint_id = e.id ORDER BY scheme)) AS auth_schemes,
    (SELECT group_concat(class, ',') FROM (SELECT DISTINCT class FROM endpoint_sensitive s WHERE s.endpoint_id = e.id ORDER BY class)) AS sensitive_data,
    e.p50_ms,
    e.p90_ms,
    e.p99_ms,
    e.documented,
    e.deprecated,
    e.classification
FROM endpoints e;

CREATE VIEW api_findings AS
SELECT
    id, kind, severity, host, method, path_template, client, detail, evidence, count,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen / 1e9, 'unixepoch') AS last_seen
FROM findings;

CREATE VIEW api_transitions AS
SELECT
    f.method AS from_method, f.path_template AS from_path_template,
    t.method AS to_method, t.path_template AS to_path_template,
    x.count, x.clients,
    strftime('%Y-%m-%dT%H:%M:%fZ', x.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', x.last_seen / 1e9, 'unixepoch') AS last_seen
FROM transitions x
JOIN endpoints f ON f.id = x.from_endpoint
JOIN endpoints t ON t.id = x.to_endpoint;

-- Details, also public (additive to the three above).
CREATE VIEW api_endpoint_status AS
SELECT endpoint_id, status, count FROM endpoint_status;

CREATE VIEW api_endpoint_clients AS
SELECT endpoint_id, client, count,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen / 1e9, 'unixepoch') AS last_seen
FROM endpoint_clients;

CREATE VIEW api_parameters AS
SELECT endpoint_id, location, name, types, present FROM endpoint_params;

CREATE VIEW api_bodies AS
SELECT endpoint_id, direction, status, content_type, count, samples, schema FROM endpoint_bodies;

CREATE VIEW api_auth AS
SELECT endpoint_id, scheme, location, count, ok_count FROM endpoint_auth;

CREATE VIEW api_sensitive_data AS
SELECT endpoint_id, class, location, field, count, example,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen / 1e9, 'unixepoch') AS last_seen
FROM endpoint_sensitive;

CREATE VIEW api_captures AS
SELECT id, sha256, path, size_bytes,
    strftime('%Y-%m-%dT%H:%M:%fZ', ingested_at / 1e9, 'unixepoch') AS ingested_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_ts / 1e9, 'unixepoch') AS first_ts,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_ts / 1e9, 'unixepoch') AS last_ts,
    packets, bytes, transactions, source, complete
FROM captures;
