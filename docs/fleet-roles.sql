-- Roles of a shadowtap fleet's centre (docs/fleet.md, "Roles"). Run once per central
-- database, as its owner or a superuser, after `shadowtap central` created the schema:
--
--   psql postgres://OWNER@CENTRE/inventory -f docs/fleet-roles.sql
--
-- then one login role per sensor, named exactly as the sensor ships (`--sensor NAME`):
--
--   CREATE ROLE "dc1-tap" LOGIN PASSWORD '...' IN ROLE shadowtap_sensor;
--
-- and login roles for people and tools that read the inventory:
--
--   CREATE ROLE analyst LOGIN PASSWORD '...' IN ROLE shadowtap_reader;
--
-- What each may do:
--   shadowtap_sensor  INSERT into `deltas`, only rows whose `sensor` is its own role name
--                     (row-level security, migration 0010_sensor_rows.sql); nothing else:
--                     of `deltas` it sees the (sensor, seq) of its own rows, of the rest
--                     nothing; no write to the inventory.
--   shadowtap_reader  SELECT on the public views `api_*` only (the SQL contract); no table.
-- Idempotent: run it again after an upgrade to grant the views new migrations added.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shadowtap_sensor') THEN
        CREATE ROLE shadowtap_sensor NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shadowtap_reader') THEN
        CREATE ROLE shadowtap_reader NOLOGIN;
    END IF;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, shadowtap_sensor, shadowtap_reader;
GRANT USAGE ON SCHEMA public TO shadowtap_sensor, shadowtap_reader;
-- INSERT ... ON CONFLICT (sensor, seq) DO NOTHING needs SELECT on the conflict's columns; row-level
-- security shows the role its own rows only, and of them only those two columns.
GRANT INSERT, SELECT (sensor, seq) ON deltas TO shadowtap_sensor;

DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT viewname FROM pg_views WHERE schemaname = 'public' AND viewname LIKE 'api\_%' LOOP
        EXECUTE format('GRANT SELECT ON %I TO shadowtap_reader', v.viewname);
    END LOOP;
END
$$;
