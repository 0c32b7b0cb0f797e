-- Routes declared in source code (issue 19), and what each endpoint's sources are.
-- `shadowtap code scan DIR... --db FILE` stores a scan: its routes (method, path template,
-- framework, file:line, handler, declared auth). Every assessment (the end of an ingest, the
-- daemon's periodic one) matches them with the observed endpoints of the hosts the code serves
-- (`--host`, or inferred: the hosts where at least two of its routes are observed) and keeps
-- per endpoint whether the code declares it (`endpoint_code`). Declared routes never observed
-- get an endpoint row without requests (`template_rule` 'code'), as a spec's dormant operations
-- do. Views api_declared_routes and api_endpoint_coverage, documented in the README.
-- Additive only: tables and views; no existing view changes. (PostgreSQL: 0012_declared_routes.sql.)
CREATE TABLE code_scans (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,          -- the scanned directories as given, joined by ' '
    hosts       TEXT NOT NULL DEFAULT '',      -- comma-separated hosts given with --host ('': inferred)
    scanned_at  INTEGER NOT NULL,              -- ns since the epoch
    files       INTEGER NOT NULL,              -- source files read
    routes      INTEGER NOT NULL
);

CREATE TABLE declared_routes (
    id            INTEGER PRIMARY KEY,
    scan_id       INTEGER NOT NULL REFERENCES code_scans (id) ON DELETE CASCADE,
    method        TEXT NOT NULL,               -- GET, POST, ... or * (every method)
    path_template TEXT NOT NULL,               -- prefixes resolved, parameters as {name}
    framework     TEXT NOT NULL,
    file          TEXT NOT NULL,               -- relative to its scanned directory
    line          INTEGER NOT NULL,
    handler       TEXT NOT NULL DEFAULT '',
    auth          TEXT NOT NULL DEFAULT '',    -- declared auth as written, comma-separated
    -- Kept by the assessment:
    host          TEXT,                        -- the host it is matched on (NULL: the code serves no observed host)
    endpoint_id   INTEGER,                     -- the busiest observed endpoint it matches, or its row without requests
    endpoints     INTEGER NOT NULL DEFAULT 0,  -- observed endpoints it matches
    requests      INTEGER NOT NULL DEFAULT 0   -- their requests
);
CREATE INDEX declared_routes_scan ON declared_routes (scan_id);

-- Per endpoint of a host some scanned code serves: what the code says of it.
CREATE TABLE endpoint_code (
    endpoint_id   INTEGER PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    status        TEXT NOT NULL,               -- declared | undeclared | unobserved
    route_id      INTEGER,                     -- the declared route (NULL when undeclared)
    declared_auth TEXT NOT NULL DEFAULT '',
    auth_check    TEXT                         -- consistent | not_enforced | outside_code (NULL: not judged)
);

-- The dashboard's source filter and its counts: endpoints per source, documented endpoints.
CREATE INDEX endpoint_sources_source ON endpoint_sources (source);
CREATE INDEX endpoints_documented ON endpoints (documented) WHERE documented = 1;

CREATE VIEW api_declared_routes AS
SELECT r.id, s.name AS scan, r.method, r.path_template, r.framework, r.file, r.line, r.handler,
    r.auth AS declared_auth, r.host, r.endpoint_id,
    CASE WHEN r.requests > 0 THEN 'observed' ELSE 'unobserved' END AS status,
    r.endpoints, r.requests
FROM declared_routes r JOIN code_scans s ON s.id = r.scan_id;

CREATE VIEW api_endpoint_coverage AS
SELECT e.id AS endpoint_id, e.host, e.method, e.path_template,
    rtrim(
        CASE WHEN EXISTS (SELECT 1 FROM endpoint_sources s WHERE s.endpoint_id = e.id AND s.source = 'wire') THEN 'wire,' ELSE '' END
     || CASE WHEN EXISTS (SELECT 1 FROM endpoint_sources s WHERE s.endpoint_id = e.id AND s.source = 'access_log') THEN 'access_log,' ELSE '' END
     || CASE WHEN EXISTS (SELECT 1 FROM endpoint_sources s WHERE s.endpoint_id = e.id AND s.source = 'har') THEN 'har,' ELSE '' END
     || CASE WHEN c.status IN ('declared', 'unobserved') THEN 'code,' ELSE '' END
     || CASE WHEN e.documented = 1 THEN 'spec,' ELSE '' END, ',') AS sources,
    c.status AS code_status, c.route_id AS declared_route_id, c.declared_auth, c.auth_check
FROM endpoints e LEFT JOIN endpoint_code c ON c.endpoint_id = e.id;
