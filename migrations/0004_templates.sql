-- shadowtap inventory, version 4: templates that change their mind, and user pins.
--
-- When the template learner generalises (`/users/alice` and `/users/bob` become
-- `/users/{user}`), the rows of the specific templates are merged into the general one and
-- their ids recorded here, so that links to a merged endpoint lead to the survivor.

-- Per segment: rule, confidence and the evidence weighed (JSON array).
ALTER TABLE endpoints ADD COLUMN template_explain TEXT NOT NULL DEFAULT '[]';

CREATE TABLE endpoint_aliases (
    old_id        INTEGER PRIMARY KEY,             -- the merged endpoint (row gone)
    new_id        INTEGER NOT NULL,                -- the endpoint it was merged into
    host          TEXT NOT NULL,
    method        TEXT NOT NULL,
    old_template  TEXT NOT NULL,
    merged_at     INTEGER NOT NULL                 -- wall clock, ns
);
CREATE INDEX endpoint_aliases_new ON endpoint_aliases (new_id);

-- Templates pinned by users (`shadowtap template pin`): they win over learning.
CREATE TABLE template_pins (
    host          TEXT NOT NULL DEFAULT '',        -- '' for every host
    path_template TEXT NOT NULL,
    created_at    INTEGER NOT NULL,                -- wall clock, ns
    PRIMARY KEY (host, path_template)
) WITHOUT ROWID;

-- Public, additive: where merged endpoints went, and the pins.
CREATE VIEW api_endpoint_merges AS
SELECT old_id, new_id, host, method, old_template AS old_path_template,
       strftime('%Y-%m-%dT%H:%M:%fZ', merged_at / 1e9, 'unixepoch') AS merged_at
FROM endpoint_aliases;

CREATE VIEW api_template_pins AS
SELECT nullif(host, '') AS host, path_template,
       strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1e9, 'unixepoch') AS created_at
FROM template_pins;
