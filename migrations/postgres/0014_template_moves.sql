-- The centre's re-templating across sensors (src/fleet/retemplate.rs): when the centre gives
-- an endpoint another template (one name per parameter position across sensors, a literal row
-- folded into a parameter another sensor decided), the move is remembered here, and the apply
-- rewrites a delta's (host, method, template) keys through it: a sensor that keeps sending its
-- own name for the endpoint adds to the centre's row. Chains are kept short: a move to a
-- template moved again later leads to the newest. PostgreSQL only (a sensor re-templates its
-- own rows; it has no other sensor's names to translate). Additive: a table, no view.
CREATE TABLE template_moves (
    host          TEXT NOT NULL,
    method        TEXT NOT NULL,
    from_template TEXT NOT NULL,
    to_template   TEXT NOT NULL,
    moved_at      BIGINT NOT NULL,
    PRIMARY KEY (host, method, from_template)
);
CREATE INDEX template_moves_to ON template_moves (host, method, to_template);
