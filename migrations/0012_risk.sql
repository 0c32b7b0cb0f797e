-- Risk first (issue 16): every endpoint's risk score (0-100) and the severity of its most severe
-- active finding, stored on the endpoint row so lists sort and filter by risk with an index.
--
-- The one definition is the view endpoint_risk below (internal, not part of the api_* contract);
-- the triggers recompute an endpoint's row whenever one of its inputs changes: its findings
-- (added, removed, re-severitied), their triage (only open and acknowledged findings count, as
-- store::dashboard::ACTIVE_FINDING says), its classification, its auth schemes, sensitive data
-- seen in responses, its client addresses.
--
--   risk_score = severity band of the most severe active finding
--                  (critical 80, high 60, medium 40, low 20, info or none 0)
--              + further active findings, capped at 6 (critical 3, high 2, medium 1 each)
--              + 4 when no authentication was observed (every request without credentials)
--              + 3 when sensitive data was seen in responses
--              + 2 when an external client called it (an address outside 10/8, 172.16/12,
--                192.168/16, 100.64/10, 127/8, 169.254/16, ::1, fc00::/7, fe80::/10)
--              + 4 when the endpoint is shadow or zombie (undocumented, or deprecated and used)
--
-- so the band (the tens) is the severity: a critical endpoint always outranks a high one.
--
-- endpoints gains risk_score, max_severity (NULL: no active finding) and exposure (bits:
-- 4 no authentication observed, 2 sensitive data in responses, 1 external clients). The view
-- api_endpoints keeps its columns and their order and gains risk_score and max_severity at the
-- end.
ALTER TABLE endpoints ADD COLUMN risk_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN max_severity TEXT;
ALTER TABLE endpoints ADD COLUMN exposure INTEGER NOT NULL DEFAULT 0;

CREATE INDEX endpoints_risk ON endpoints (risk_score DESC, host, path_template, method);
CREATE INDEX findings_endpoint ON findings (host, method, path_template);

CREATE VIEW endpoint_risk AS
SELECT
    x.id AS endpoint_id,
    x.exposure,
    CASE x.top WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' WHEN 3 THEN 'low' WHEN 4 THEN 'info' END AS max_severity,
    CASE x.top WHEN 0 THEN 80 WHEN 1 THEN 60 WHEN 2 THEN 40 WHEN 3 THEN 20 ELSE 0 END
    + min(6, IFNULL(x.weight, 0) - CASE x.top WHEN 0 THEN 3 WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE 0 END)
    + CASE WHEN x.exposure & 4 THEN 4 ELSE 0 END
    + CASE WHEN x.exposure & 2 THEN 3 ELSE 0 END
    + CASE WHEN x.exposure & 1 THEN 2 ELSE 0 END
    + CASE WHEN x.classification IN ('shadow', 'zombie') THEN 4 ELSE 0 END AS risk_score
FROM (
    SELECT
        e.id,
        e.classification,
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

UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id);

CREATE TRIGGER risk_finding_insert AFTER INSERT ON findings
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE host = NEW.host AND method = NEW.method AND path_template = NEW.path_template;
END;

CREATE TRIGGER risk_finding_delete AFTER DELETE ON findings
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE host = OLD.host AND method = OLD.method AND path_template = OLD.path_template;
END;

CREATE TRIGGER risk_finding_update AFTER UPDATE OF severity, host, method, path_template, dedup_key ON findings
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE host = OLD.host AND method = OLD.method AND path_template = OLD.path_template;
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE host = NEW.host AND method = NEW.method AND path_template = NEW.path_template;
END;

CREATE TRIGGER risk_triage_insert AFTER INSERT ON finding_triage
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id IN (SELECT e.id FROM findings f JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template WHERE f.dedup_key = NEW.dedup_key);
END;

CREATE TRIGGER risk_triage_update AFTER UPDATE ON finding_triage
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id IN (SELECT e.id FROM findings f JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template WHERE f.dedup_key = NEW.dedup_key);
END;

CREATE TRIGGER risk_triage_delete AFTER DELETE ON finding_triage
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id IN (SELECT e.id FROM findings f JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template WHERE f.dedup_key = OLD.dedup_key);
END;

CREATE TRIGGER risk_endpoint_insert AFTER INSERT ON endpoints
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER risk_endpoint_update AFTER UPDATE OF host, method, path_template, classification ON endpoints
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER risk_auth_insert AFTER INSERT ON endpoint_auth
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = NEW.endpoint_id;
END;

CREATE TRIGGER risk_auth_delete AFTER DELETE ON endpoint_auth
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = OLD.endpoint_id;
END;

CREATE TRIGGER risk_sensitive_insert AFTER INSERT ON endpoint_sensitive
WHEN NEW.location IN ('response_header', 'response_body')
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = NEW.endpoint_id AND exposure & 2 = 0;
END;

CREATE TRIGGER risk_sensitive_delete AFTER DELETE ON endpoint_sensitive
WHEN OLD.location IN ('response_header', 'response_body')
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = OLD.endpoint_id;
END;

CREATE TRIGGER risk_client_insert AFTER INSERT ON endpoint_clients
WHEN NOT (NEW.client LIKE '10.%' OR NEW.client LIKE '127.%' OR NEW.client LIKE '192.168.%' OR NEW.client LIKE '169.254.%'
                OR NEW.client GLOB '172.1[6-9].*' OR NEW.client GLOB '172.2[0-9].*' OR NEW.client GLOB '172.3[01].*'
                OR NEW.client GLOB '100.6[4-9].*' OR NEW.client GLOB '100.[7-9][0-9].*' OR NEW.client GLOB '100.1[01][0-9].*'
                OR NEW.client GLOB '100.12[0-7].*' OR NEW.client = '::1' OR lower(NEW.client) GLOB 'f[cd]*'
                OR lower(NEW.client) GLOB 'fe[89ab]*')
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = NEW.endpoint_id AND exposure & 1 = 0;
END;

CREATE TRIGGER risk_client_delete AFTER DELETE ON endpoint_clients
WHEN NOT (OLD.client LIKE '10.%' OR OLD.client LIKE '127.%' OR OLD.client LIKE '192.168.%' OR OLD.client LIKE '169.254.%'
                OR OLD.client GLOB '172.1[6-9].*' OR OLD.client GLOB '172.2[0-9].*' OR OLD.client GLOB '172.3[01].*'
                OR OLD.client GLOB '100.6[4-9].*' OR OLD.client GLOB '100.[7-9][0-9].*' OR OLD.client GLOB '100.1[01][0-9].*'
                OR OLD.client GLOB '100.12[0-7].*' OR OLD.client = '::1' OR lower(OLD.client) GLOB 'f[cd]*'
                OR lower(OLD.client) GLOB 'fe[89ab]*')
BEGIN
    UPDATE endpoints SET (risk_score, max_severity, exposure) =
        (SELECT r.risk_score, r.max_severity, r.exposure FROM endpoint_risk r WHERE r.endpoint_id = endpoints.id)
    WHERE id = OLD.endpoint_id AND exposure & 1 = 1;
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
    e.max_severity
FROM endpoints e;
