-- Fleet, security (issue 18, docs/fleet.md "Roles"): a sensor may only insert its own deltas.
-- Row-level security on `deltas`: a role that is not the table's owner (the centre, which ran
-- these migrations) inserts only rows whose `sensor` is its own role name, and sees only those
-- (`INSERT ... ON CONFLICT` checks the new row against the SELECT policies too).
-- Sensors connect as a login role named like the sensor (`--sensor NAME`), member of
-- `shadowtap_sensor`; docs/fleet-roles.sql creates the group roles and grants. The owner, and
-- a superuser, are not subject to the policy: a fleet run by one role works as before.
-- Centre-side only (no SQLite twin); no view changes.
ALTER TABLE deltas ENABLE ROW LEVEL SECURITY;
CREATE POLICY deltas_insert_own ON deltas FOR INSERT WITH CHECK (sensor = current_user);
CREATE POLICY deltas_select_own ON deltas FOR SELECT USING (sensor = current_user);
