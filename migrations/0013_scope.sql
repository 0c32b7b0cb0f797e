-- Noise control (issue 16): every endpoint's scope, so that static content, third-party hosts
-- and what the configuration ignores are told apart from the APIs of ours.
--
--   scope = 'ignored'      an ignore rule of the configuration matches its host and path
--         | 'third_party'  its host is not ours (configuration `owned` / `third_party`, the
--                          hosts of imported API descriptions)
--         | 'static'       it serves static content (images, fonts, style sheets, scripts,
--                          media, HTML documents: see src/analyze/scope.rs)
--         | 'api'          everything else (the default)
--
-- scope_reason says why in words (NULL for 'api'). The scope is decided by the store at every
-- assessment (after each ingest, on the daemon's assessment interval, after a spec import),
-- from the rules in scope_rules, which `ingest --config` and `run` write from the [hosts]
-- section of the configuration.
--
-- The risk score (view endpoint_risk of 0012) keeps its definition for 'api' endpoints; the
-- others score their findings only (no points for exposure or classification), so static
-- files fetched without credentials and third-party endpoints do not outrank APIs.
-- api_endpoints keeps its columns and their order and gains scope and scope_reason at the end.
ALTER TABLE endpoints ADD COLUMN scope TEXT NOT NULL DEFAULT 'api';
ALTER TABLE endpoints ADD COLUMN scope_reason TEXT;

CREATE INDEX endpoints_scope ON endpoints (scope, risk_score DESC);

-- Host ownership and ignore rules (the [hosts] section of the configuration), as last written.
CREATE TABLE scope_rules (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,   -- owned | third_party | ignore
    host  TEXT,            -- host pattern (`*` any run of characters); NULL: any host
    path  TEXT             -- path template pattern (ignore rules only); NULL: any path
);

DROP VIEW endpoint_risk;

CREATE VIEW endpoint_risk AS
SELECT
    x.id AS endpoint_id,
    x.exposure,
    CASE x.top WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' WHEN 3 THEN 'low' WHEN 4 THEN 'info' END AS max_severity,
    CASE x.top WHEN 0 THEN 80 WHEN 1 THEN 60 WHEN 2 THEN 40 WHEN 3 THEN 20 ELSE 0 END
    + min(6, IFNULL(x.weight, 0) - CASE x.top WHEN 0 THEN 3 WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE 0 END)
    + CASE WHEN x.scope <> 'api' THEN 0 ELSE
        CASE WHEN x.exposure & 4 THEN 4 ELSE 0 END
      + CASE WHEN x.exposure & 2 THEN 3 ELSE 0 END
      + CASE WHEN x.exposure & 1 THEN 2 ELSE 0 END
      + CASE WHEN x.classification IN ('shadow', 'zombie') THEN 4 ELSE 0 END END AS risk_score
FROM (
    SELECT
        e.id,
        e.classification,
        e.scope,
        (SELECT MIN(CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END)
         FROM findings f WHERE f.host = e.host AND f.method = e.method AND f.path_template = e.path_template
           AND NOT EXISTS (SELECT 1 FROM finding_triage t WHERE t.dedup_key = f.dedup_key AND t.state IN ('false_positive', 'resolved'))) AS top,
        (SELECT SUM(CASE f.severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END)
         FROM findings f WHERE f.host = e.host AND f.method = e.method AND f.path_template = e.path_template
           AND NOT EXISTS (SELECT 1 FROM finding_triage t WHERE t.dedup_key = f.dedup_key AND t.state IN ('false_positive', 'resolved'))) AS weight,
        CASE WHEN (SELECT MIN(a.scheme = 'none') FROM endpoint_auth a WHERE a.endpoint_id = e.id) = 1 THEN 4 ELSE 0 END
        | CASE WHEN EXISTS (SELECT 1 FROM endpoint_sensitive s WHERE s.endpoint_id = e.id
                            AND s.location IN ('response_header', 'response_body')) THEN 2 ELSE 0 END
        | CASE WHEN EXISTS (SELECT 1 FROM endpoint_clients c WHERE c.endpoint_id = e.id AND NOT
            (c.client LIKE '10.%' OR c.client LIKE '127.%' OR c.client LIKE '192.168.%' OR c.client LIKE '169.254.%'
            OR c.client GLOB '172.1[6-9].*' OR c.client GLOB '172.2[0-9].*' OR c.client GLOB '172.3[01].*'
            OR c.client GLOB '100.6[4-9].*' OR c.client GLOB '100.[7-9][0-9].*' OR c.client GLOB '100.1[01][0-9].*'
            OR c.client GLOB '100.12[0-7].*' OR c.client = '::1' OR lower(c.client) GLOB 'f[cd]*'
            OR lower(c.client) GLOB 'fe[89ab]*')) THEN 1 ELSE 0 END AS exposure
    FROM endpoints e
) x;

CREATE TRIGGER risk_endpoint_scope AFTER UPDATE OF scope ON endpoints
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = NEW.id;
END;

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
    e.grpc_method,
    e.risk_score,
    e.max_severity,
    e.scope,
    e.scope_reason
FROM endpoints e;
