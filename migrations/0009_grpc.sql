-- gRPC methods and the protocol of every endpoint (additive).
--
-- endpoints gains three columns: protocol (http/1.0, http/1.1, h2, grpc, graphql, websocket;
-- NULL for rows written before this migration), grpc_service and grpc_method (NULL unless
-- protocol is grpc). A gRPC endpoint's path_template is its path `/package.Service/Method`
-- exactly.
--
-- endpoint_grpc holds a gRPC method's figures (one row per gRPC endpoint) and
-- endpoint_grpc_status its calls per grpc-status (-1: no grpc-status seen, e.g. no response).
--
-- The view api_endpoints keeps its columns and their order and gains protocol, grpc_service
-- and grpc_method at the end; the view api_grpc shows the figures.
ALTER TABLE endpoints ADD COLUMN protocol TEXT;
ALTER TABLE endpoints ADD COLUMN grpc_service TEXT;
ALTER TABLE endpoints ADD COLUMN grpc_method TEXT;

CREATE INDEX endpoints_protocol ON endpoints (protocol);

CREATE TABLE endpoint_grpc (
    endpoint_id        INTEGER PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    service            TEXT NOT NULL,
    method             TEXT NOT NULL,
    service_kind       TEXT NOT NULL,              -- application, health, reflection
    client_streamed    INTEGER NOT NULL DEFAULT 0, -- some call sent several request messages
    server_streamed    INTEGER NOT NULL DEFAULT 0, -- some call received several response messages
    calls              INTEGER NOT NULL DEFAULT 0,
    messages_in        INTEGER NOT NULL DEFAULT 0,
    messages_out       INTEGER NOT NULL DEFAULT 0,
    request_size_min   INTEGER,
    request_size_max   INTEGER,
    response_size_min  INTEGER,
    response_size_max  INTEGER,
    compressed_messages INTEGER NOT NULL DEFAULT 0,
    truncated_bodies   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE endpoint_grpc_status (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    status      INTEGER NOT NULL,                  -- grpc-status; -1: none seen
    count       INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, status)
) WITHOUT ROWID;

DROP VIEW api_endpoints;

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
    e.classification,
    CASE WHEN instr(e.path_template, '#') > 0
         THEN substr(e.path_template, instr(e.path_template, '#') + 1) END AS graphql_operation,
    e.protocol,
    e.grpc_service,
    e.grpc_method
FROM endpoints e;

CREATE VIEW api_grpc AS
SELECT
    g.endpoint_id,
    e.host,
    g.service,
    g.method,
    g.service_kind,
    CASE WHEN g.client_streamed = 1 AND g.server_streamed = 1 THEN 'bidi_streaming'
         WHEN g.client_streamed = 1 THEN 'client_streaming'
         WHEN g.server_streamed = 1 THEN 'server_streaming'
         ELSE 'unary' END AS streaming,
    g.calls,
    g.messages_in,
    g.messages_out,
    (SELECT group_concat(label, ',') FROM (
        SELECT CASE WHEN s.status < 0 THEN 'none' ELSE CAST(s.status AS TEXT) END || ':' || s.count AS label
        FROM endpoint_grpc_status s WHERE s.endpoint_id = g.endpoint_id ORDER BY s.status)) AS grpc_status_counts,
    (SELECT COALESCE(SUM(s.count), 0) FROM endpoint_grpc_status s
        WHERE s.endpoint_id = g.endpoint_id AND s.status > 0) AS grpc_errors,
    g.request_size_min,
    g.request_size_max,
    g.response_size_min,
    g.response_size_max,
    g.compressed_messages,
    g.truncated_bodies
FROM endpoint_grpc g JOIN endpoints e ON e.id = g.endpoint_id;
