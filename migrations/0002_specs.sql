-- Imported API descriptions (OpenAPI 3.0/3.1, Swagger 2.0) and the drift between them and
-- what was observed. Public views: api_spec_operations, api_drift.

CREATE TABLE specs (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,                 -- file name or upload name
    sha256       TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL DEFAULT '',
    version      TEXT NOT NULL DEFAULT '',
    format       TEXT NOT NULL,                 -- openapi-3.0 | openapi-3.1 | swagger-2.0
    servers      TEXT NOT NULL DEFAULT '[]',    -- JSON array of {host, base_path}
    imported_at  INTEGER NOT NULL
);

-- One row per documented operation (method + path template, with the base path applied).
CREATE TABLE spec_operations (
    id            INTEGER PRIMARY KEY,
    spec_id       INTEGER NOT NULL REFERENCES specs (id) ON DELETE CASCADE,
    host          TEXT,                          -- NULL: any host the spec's servers map to
    method        TEXT NOT NULL,
    path_template TEXT NOT NULL,
    operation_id  TEXT NOT NULL DEFAULT '',
    summary       TEXT NOT NULL DEFAULT '',
    deprecated    INTEGER NOT NULL DEFAULT 0,
    security      TEXT NOT NULL DEFAULT '[]',    -- JSON: required schemes (names of the spec)
    security_types TEXT NOT NULL DEFAULT '',     -- comma-separated shadowtap auth names that satisfy it
    query_params  TEXT NOT NULL DEFAULT '[]',    -- JSON array of names
    statuses      TEXT NOT NULL DEFAULT '[]',    -- JSON array of documented status codes ("default" included)
    request_types TEXT NOT NULL DEFAULT '[]',    -- JSON array of media types
    response_types TEXT NOT NULL DEFAULT '[]',
    body_fields   TEXT NOT NULL DEFAULT '[]',    -- JSON array of documented request body field paths
    endpoint_id   INTEGER,                       -- the observed endpoint, once matched
    UNIQUE (spec_id, host, method, path_template)
);
CREATE INDEX spec_operations_endpoint ON spec_operations (endpoint_id);

-- What observed traffic did that the spec does not say.
CREATE TABLE drift (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,   -- undocumented_query_param | undocumented_body_field | undocumented_status | undocumented_content_type | missing_security
    item        TEXT NOT NULL,   -- the parameter, field, status, content type or scheme
    detail      TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, kind, item)
) WITHOUT ROWID;

CREATE VIEW api_spec_operations AS
SELECT o.id, s.name AS spec, o.host, o.method, o.path_template, o.operation_id, o.deprecated,
       o.endpoint_id,
       CASE WHEN e.request_count IS NULL OR e.request_count = 0 THEN 'dormant' ELSE 'observed' END AS status
FROM spec_operations o JOIN specs s ON s.id = o.spec_id LEFT JOIN endpoints e ON e.id = o.endpoint_id;

CREATE VIEW api_drift AS
SELECT d.endpoint_id, e.host, e.method, e.path_template, d.kind, d.item, d.detail
FROM drift d JOIN endpoints e ON e.id = d.endpoint_id;

-- Observed host names that stand for a spec's server host (when the sensor sees internal names).
CREATE TABLE spec_hosts (
    observed  TEXT PRIMARY KEY,
    spec_host TEXT NOT NULL
) WITHOUT ROWID;
