-- A change feed (issue 16): when each parameter and auth scheme of an endpoint was first and
-- last seen, so "what is new since T" can be answered for them as for endpoints, sensitive data,
-- clients and TLS client stacks, which had times already.
--
-- Additive: rows written before this migration keep NULL times (the change feed says their
-- time is unknown and never lists them as new); the merge sets them on insert and keeps the
-- earliest first_seen and the latest last_seen on conflict. A parameter's or scheme's times are
-- those of the first and last request of the merge batch that carried it (an ingest's flush),
-- not of one request.
ALTER TABLE endpoint_params ADD COLUMN first_seen INTEGER;
ALTER TABLE endpoint_params ADD COLUMN last_seen INTEGER;
ALTER TABLE endpoint_auth ADD COLUMN first_seen INTEGER;
ALTER TABLE endpoint_auth ADD COLUMN last_seen INTEGER;

-- "New since T" reads start from the rows first seen at or after T.
CREATE INDEX endpoint_params_first_seen ON endpoint_params (first_seen);
CREATE INDEX endpoint_auth_first_seen ON endpoint_auth (first_seen);
CREATE INDEX endpoint_sensitive_first_seen ON endpoint_sensitive (first_seen);
-- Whether a client new on an endpoint called the host before: its rows by time. (New client
-- rows themselves are found by a scan of endpoint_clients: an index on their first_seen alone
-- cost 22% of the database's size on a 300 MB capture, 1.8 MB, for a read that a scan answers
-- in tens of milliseconds at 100,000 endpoints.)
CREATE INDEX endpoint_clients_client ON endpoint_clients (client, first_seen);

-- Everything first seen, one row per change (the dashboard's /changes and /api/changes read the
-- same tables with a time bound):
--   kind       endpoint | parameter | auth | sensitive | tls_client | client
--   host       the endpoint's host (tls_client: the TLS service's host, its SNI or address)
--   endpoint_id, method, path_template   the endpoint concerned (NULL for tls_client, client)
--   what       endpoint: "METHOD path"; parameter: "location name"; auth: scheme;
--              sensitive: class; tls_client: JA4; client: address
--   first_seen RFC 3339, NULL when unknown (parameters and schemes written before 0014)
-- A sensitive class, auth scheme, JA4 or client counts once per endpoint (per host for JA4 and
-- clients), at its earliest time.
CREATE VIEW api_changes AS
SELECT 'endpoint' AS kind, e.host, e.id AS endpoint_id, e.method, e.path_template,
       e.method || ' ' || e.path_template AS what,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.first_seen / 1e9, 'unixepoch') AS first_seen
FROM endpoints e WHERE e.first_seen IS NOT NULL
UNION ALL
SELECT 'parameter', e.host, e.id, e.method, e.path_template, p.location || ' ' || p.name,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.first_seen / 1e9, 'unixepoch')
FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id
UNION ALL
SELECT 'auth', e.host, e.id, e.method, e.path_template, a.scheme,
       CASE WHEN COUNT(a.first_seen) = COUNT(*)
            THEN strftime('%Y-%m-%dT%H:%M:%fZ', MIN(a.first_seen) / 1e9, 'unixepoch') END
FROM endpoint_auth a JOIN endpoints e ON e.id = a.endpoint_id GROUP BY a.endpoint_id, a.scheme
UNION ALL
SELECT 'sensitive', e.host, e.id, e.method, e.path_template, s.class,
       strftime('%Y-%m-%dT%H:%M:%fZ', MIN(s.first_seen) / 1e9, 'unixepoch')
FROM endpoint_sensitive s JOIN endpoints e ON e.id = s.endpoint_id GROUP BY s.endpoint_id, s.class
UNION ALL
SELECT 'tls_client', s.host, NULL, NULL, NULL, c.ja4,
       strftime('%Y-%m-%dT%H:%M:%fZ', MIN(c.first_seen) / 1e9, 'unixepoch')
FROM tls_clients c JOIN tls_services s ON s.id = c.service_id WHERE c.ja4 <> '' GROUP BY s.host, c.ja4
UNION ALL
SELECT 'client', e.host, NULL, NULL, NULL, c.client,
       strftime('%Y-%m-%dT%H:%M:%fZ', MIN(c.first_seen) / 1e9, 'unixepoch')
FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id GROUP BY e.host, c.client;

-- The parameter and auth views gain the times at the end (columns keep their order).
DROP VIEW api_parameters;
CREATE VIEW api_parameters AS
SELECT endpoint_id, location, name, types, present,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen / 1e9, 'unixepoch') AS last_seen
FROM endpoint_params;

DROP VIEW api_auth;
CREATE VIEW api_auth AS
SELECT endpoint_id, scheme, location, count, ok_count,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_seen / 1e9, 'unixepoch') AS last_seen
FROM endpoint_auth;
