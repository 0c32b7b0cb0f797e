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
--   shadowtap_reader  SELECT on the public views `api_*` (the SQL contract) and on the views
--                     of schema `shadowtap_read`, one per inventory table, column for column
--                     (what the dashboard reads: `serve --db postgres://...` puts that schema
--                     first in its search path); no table, no write, nothing of the deltas.
-- Idempotent: run it again after an upgrade to grant the views new migrations added and to
-- make `shadowtap_read`'s views again (the dashboard refuses a schema older than its build).

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

-- The dashboard's reads: a view per inventory table (not the deltas, nor the migrations'
-- bookkeeping), made again from the tables as they are now, and the schema version they were
-- made at (`PgInventory::open` compares it with its own).
CREATE SCHEMA IF NOT EXISTS shadowtap_read;
DO $$
DECLARE
    t record;
    v bigint;
BEGIN
    FOR t IN SELECT viewname FROM pg_views WHERE schemaname = 'shadowtap_read' LOOP
        EXECUTE format('DROP VIEW shadowtap_read.%I', t.viewname);
    END LOOP;
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public'
             AND tablename NOT IN ('deltas', 'delta_applied', '_sqlx_migrations') LOOP
        EXECUTE format('CREATE VIEW shadowtap_read.%I AS SELECT * FROM public.%I', t.tablename, t.tablename);
    END LOOP;
    FOR t IN SELECT viewname FROM pg_views WHERE schemaname = 'public' AND viewname NOT LIKE 'api\_%' LOOP
        EXECUTE format('CREATE VIEW shadowtap_read.%I AS SELECT * FROM public.%I', t.viewname, t.viewname);
    END LOOP;
    -- The apply backlog as two numbers (the centre's /metrics), never the deltas themselves.
    CREATE VIEW shadowtap_read.delta_backlog AS
        SELECT COUNT(*) AS pending, COALESCE(SUM(d.bytes), 0) AS bytes FROM public.deltas d
        WHERE NOT EXISTS (SELECT 1 FROM public.delta_applied a WHERE a.sensor = d.sensor AND a.seq = d.seq);
    SELECT max(version) INTO v FROM public._sqlx_migrations WHERE success;
    EXECUTE format('CREATE VIEW shadowtap_read.schema_version AS SELECT CAST(%s AS bigint) AS version', v);
END
$$;
REVOKE ALL ON SCHEMA shadowtap_read FROM PUBLIC;
GRANT USAGE ON SCHEMA shadowtap_read TO shadowtap_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA shadowtap_read TO shadowtap_reader;
