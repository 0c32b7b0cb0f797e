-- Triage of findings: a state per finding identity (findings.dedup_key survives a finding row
-- being re-created, e.g. by a spec assessment), with who/when/why, and every change kept.
-- A finding without a row here is `open`. Times are wall-clock ns (when the change was made).
CREATE TABLE finding_triage (
    dedup_key TEXT PRIMARY KEY,
    state     TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'false_positive', 'resolved')),
    actor     TEXT NOT NULL,
    reason    TEXT NOT NULL DEFAULT '',
    at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX finding_triage_state ON finding_triage (state);

CREATE TABLE finding_triage_history (
    id         INTEGER PRIMARY KEY,
    dedup_key  TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);

CREATE INDEX finding_triage_history_key ON finding_triage_history (dedup_key, id);

-- The view api_findings gains one column, at the end (additive): triage_state.
DROP VIEW api_findings;

CREATE VIEW api_findings AS
SELECT
    f.id, f.kind, f.severity, f.host, f.method, f.path_template, f.client, f.detail, f.evidence, f.count,
    strftime('%Y-%m-%dT%H:%M:%fZ', f.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', f.last_seen / 1e9, 'unixepoch') AS last_seen,
    coalesce(t.state, 'open') AS triage_state
FROM findings f
LEFT JOIN finding_triage t ON t.dedup_key = f.dedup_key;

-- Every triage change, oldest first. finding_id is NULL when no finding row carries the key
-- (deleted by retention, or not re-created yet).
CREATE VIEW api_finding_triage AS
SELECT
    h.id,
    (SELECT f.id FROM findings f WHERE f.dedup_key = h.dedup_key) AS finding_id,
    h.dedup_key,
    h.from_state,
    h.to_state,
    h.actor,
    h.reason,
    strftime('%Y-%m-%dT%H:%M:%fZ', h.at / 1e9, 'unixepoch') AS at
FROM finding_triage_history h;
