-- Call sequences: transitions carry a sketch of their principals and the time between the two
-- calls; runs of three calls (paths) get their own table. Public views: api_transitions
-- (columns added at the end), api_sequence_paths.

ALTER TABLE transitions ADD COLUMN clients_hll BLOB;
ALTER TABLE transitions ADD COLUMN gap_sum_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX transitions_to ON transitions (to_endpoint);

-- Three consecutive calls of one principal's session.
CREATE TABLE sequence_paths (
    step1       INTEGER NOT NULL,
    step2       INTEGER NOT NULL,
    step3       INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    clients     INTEGER NOT NULL,
    clients_hll BLOB,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (step1, step2, step3)
) WITHOUT ROWID;

-- The dashboard's traffic-over-time queries scan by minute.
CREATE INDEX endpoint_minutes_minute ON endpoint_minutes (minute, count, errors);

DROP VIEW api_transitions;
CREATE VIEW api_transitions AS
SELECT
    f.method AS from_method, f.path_template AS from_path_template,
    t.method AS to_method, t.path_template AS to_path_template,
    x.count, x.clients,
    strftime('%Y-%m-%dT%H:%M:%fZ', x.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', x.last_seen / 1e9, 'unixepoch') AS last_seen,
    f.host AS host,
    x.from_endpoint AS from_endpoint_id,
    x.to_endpoint AS to_endpoint_id,
    round(CAST(x.gap_sum_ms AS REAL) / x.count, 1) AS avg_gap_ms
FROM transitions x
JOIN endpoints f ON f.id = x.from_endpoint
JOIN endpoints t ON t.id = x.to_endpoint;

CREATE VIEW api_sequence_paths AS
SELECT
    a.host AS host,
    a.method AS step1_method, a.path_template AS step1_path_template,
    b.method AS step2_method, b.path_template AS step2_path_template,
    c.method AS step3_method, c.path_template AS step3_path_template,
    p.count, p.clients,
    strftime('%Y-%m-%dT%H:%M:%fZ', p.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', p.last_seen / 1e9, 'unixepoch') AS last_seen
FROM sequence_paths p
JOIN endpoints a ON a.id = p.step1
JOIN endpoints b ON b.id = p.step2
JOIN endpoints c ON c.id = p.step3;
