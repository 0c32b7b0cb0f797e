-- GraphQL operations as endpoints: `/graphql#query GetUser` is the endpoint of operation
-- `query GetUser` on URL `/graphql`. The view api_endpoints gains one column, at the end
-- (additive): graphql_operation, the part after `#` (NULL for every other endpoint).
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
         THEN substr(e.path_template, instr(e.path_template, '#') + 1) END AS graphql_operation
FROM endpoints e;
