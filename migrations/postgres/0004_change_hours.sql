-- In step with migrations/0018_change_hours.sql: the change feed's counts per host, kind and
-- hour of first sight, kept by triggers; host_clients gains the pair's first_seen. See the
-- SQLite migration for the definitions.
--
-- One difference: PostgreSQL fires AFTER ROW triggers once the whole statement has run, so a
-- trigger cannot see a group as it was before its row (SQLite's AFTER INSERT trigger computes
-- that from the group's other rows; here a multi-row insert would show it every row). The
-- auth-scheme and sensitive-class groups keep their counted earliest time in `change_groups`
-- (internal to PostgreSQL): a trigger looks the group up afresh, and moves its count from the
-- stored hour to the new one only when they differ, so the first trigger of a statement
-- moves it and the others find nothing to do.

CREATE TABLE change_hours (
    host  TEXT NOT NULL,
    kind  TEXT NOT NULL,
    hour  BIGINT NOT NULL,
    n     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (host, kind, hour)
);
CREATE INDEX change_hours_hour ON change_hours (hour, kind, host, n);

-- The hour of a time in ns, rounded down (as SQLite's `ns / H - (ns % H < 0)`).
CREATE FUNCTION shadowtap_hour(ns BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT ns / 3600000000000 - CASE WHEN ns % 3600000000000 < 0 THEN 1 ELSE 0 END
$$;

-- Adds d to the count of (host, kind, hour of ns); nothing when the host or the time is
-- unknown.
CREATE FUNCTION shadowtap_change_add(h TEXT, k TEXT, ns BIGINT, d BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF h IS NULL OR ns IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO change_hours AS x (host, kind, hour, n) VALUES (h, k, shadowtap_hour(ns), d)
    ON CONFLICT (host, kind, hour) DO UPDATE SET n = x.n + EXCLUDED.n;
END;
$$;

-- A group's earliest time, NULL when it has no row or a row of unknown time.
CREATE FUNCTION shadowtap_auth_first(eid BIGINT, sch TEXT) RETURNS BIGINT
LANGUAGE sql STABLE AS $$
    SELECT MIN(first_seen) FROM endpoint_auth WHERE endpoint_id = eid AND scheme = sch
    HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*)
$$;

CREATE FUNCTION shadowtap_sensitive_first(eid BIGINT, cls TEXT) RETURNS BIGINT
LANGUAGE sql STABLE AS $$
    SELECT MIN(first_seen) FROM endpoint_sensitive WHERE endpoint_id = eid AND class = cls
$$;

-- The counted earliest time of each auth-scheme ('auth', endpoint, scheme) and sensitive-class
-- ('sensitive', endpoint, class) group, as change_hours counts it.
CREATE TABLE change_groups (
    kind         TEXT NOT NULL,
    endpoint_id  BIGINT NOT NULL,
    key          TEXT NOT NULL,
    first_seen   BIGINT NOT NULL,
    PRIMARY KEY (endpoint_id, kind, key)
);

CREATE FUNCTION shadowtap_host_of(eid BIGINT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT host FROM endpoints WHERE id = eid
$$;

-- The earliest first_seen of a (host, client) pair's client rows.
CREATE FUNCTION shadowtap_pair_first(h TEXT, cl TEXT) RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT MIN(c.first_seen) FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id
    WHERE c.client = cl AND e.host = h
$$;

-- Backfill.
INSERT INTO change_hours (host, kind, hour, n)
SELECT host, 'endpoint', shadowtap_hour(first_seen), COUNT(*)
FROM endpoints WHERE first_seen IS NOT NULL GROUP BY 1, 3;
INSERT INTO change_hours (host, kind, hour, n)
SELECT e.host, 'parameter', shadowtap_hour(p.first_seen), COUNT(*)
FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id
WHERE p.first_seen IS NOT NULL GROUP BY 1, 3;
INSERT INTO change_groups (kind, endpoint_id, key, first_seen)
SELECT 'auth', endpoint_id, scheme, MIN(first_seen) FROM endpoint_auth
GROUP BY endpoint_id, scheme HAVING COUNT(first_seen) = COUNT(*);
INSERT INTO change_groups (kind, endpoint_id, key, first_seen)
SELECT 'sensitive', endpoint_id, class, MIN(first_seen) FROM endpoint_sensitive GROUP BY endpoint_id, class;
INSERT INTO change_hours (host, kind, hour, n)
SELECT e.host, g.kind, shadowtap_hour(g.first_seen), COUNT(*)
FROM change_groups g JOIN endpoints e ON e.id = g.endpoint_id GROUP BY 1, 2, 3;
ALTER TABLE host_clients ADD COLUMN first_seen BIGINT;
UPDATE host_clients SET first_seen = shadowtap_pair_first(host, client);
INSERT INTO change_hours (host, kind, hour, n)
SELECT host, 'client', shadowtap_hour(first_seen), COUNT(*)
FROM host_clients WHERE first_seen IS NOT NULL GROUP BY 1, 3;

-- Endpoints.
CREATE FUNCTION shadowtap_change_endpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM shadowtap_change_add(NEW.host, 'endpoint', NEW.first_seen, 1);
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        IF OLD.first_seen IS DISTINCT FROM NEW.first_seen THEN
            PERFORM shadowtap_change_add(OLD.host, 'endpoint', OLD.first_seen, -1);
            PERFORM shadowtap_change_add(NEW.host, 'endpoint', NEW.first_seen, 1);
        END IF;
        RETURN NULL;
    END IF;
    -- BEFORE DELETE: the endpoint and the groups its cascade will delete (their own triggers
    -- will find no host); its clients' pairs are re-timed without its rows.
    PERFORM shadowtap_change_add(OLD.host, 'endpoint', OLD.first_seen, -1);
    PERFORM shadowtap_change_add(OLD.host, 'parameter', p.first_seen, -1)
    FROM endpoint_params p WHERE p.endpoint_id = OLD.id AND p.first_seen IS NOT NULL;
    PERFORM shadowtap_change_add(OLD.host, g.kind, g.first_seen, -1)
    FROM change_groups g WHERE g.endpoint_id = OLD.id;
    DELETE FROM change_groups WHERE endpoint_id = OLD.id;
    UPDATE host_clients h SET first_seen = (
        SELECT MIN(c2.first_seen) FROM endpoint_clients c2 JOIN endpoints e2 ON e2.id = c2.endpoint_id
        WHERE c2.client = h.client AND e2.host = OLD.host AND c2.endpoint_id <> OLD.id)
    WHERE h.host = OLD.host AND h.client IN (
        SELECT c.client FROM endpoint_clients c WHERE c.endpoint_id = OLD.id AND c.first_seen <= h.first_seen);
    RETURN OLD;
END;
$$;
CREATE TRIGGER change_hours_endpoint_insert AFTER INSERT ON endpoints
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_endpoint();
CREATE TRIGGER change_hours_endpoint_update AFTER UPDATE OF first_seen ON endpoints
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_endpoint();
CREATE TRIGGER change_hours_endpoint_delete BEFORE DELETE ON endpoints
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_endpoint();

-- Parameters.
CREATE FUNCTION shadowtap_change_param() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.first_seen IS NOT DISTINCT FROM NEW.first_seen
       AND OLD.endpoint_id = NEW.endpoint_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM shadowtap_change_add(shadowtap_host_of(OLD.endpoint_id), 'parameter', OLD.first_seen, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM shadowtap_change_add(shadowtap_host_of(NEW.endpoint_id), 'parameter', NEW.first_seen, 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER change_hours_param_insert AFTER INSERT ON endpoint_params
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_param();
CREATE TRIGGER change_hours_param_update AFTER UPDATE OF endpoint_id, first_seen ON endpoint_params
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_param();
CREATE TRIGGER change_hours_param_delete AFTER DELETE ON endpoint_params
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_param();

-- Auth schemes and sensitive classes: the group of the row (before and after it moved) is
-- looked up afresh and its count moved when its counted earliest time changed. An endpoint
-- already deleted (the cascade after its BEFORE DELETE) has no group left to count.
CREATE FUNCTION shadowtap_change_group(k TEXT, eid BIGINT, grp TEXT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    h TEXT;
    was BIGINT;
    now BIGINT;
BEGIN
    h := shadowtap_host_of(eid);
    IF h IS NULL THEN
        DELETE FROM change_groups WHERE endpoint_id = eid AND kind = k AND key = grp;
        RETURN;
    END IF;
    SELECT first_seen INTO was FROM change_groups WHERE endpoint_id = eid AND kind = k AND key = grp;
    IF k = 'auth' THEN
        now := shadowtap_auth_first(eid, grp);
    ELSE
        now := shadowtap_sensitive_first(eid, grp);
    END IF;
    IF was IS NOT DISTINCT FROM now THEN
        RETURN;
    END IF;
    PERFORM shadowtap_change_add(h, k, was, -1);
    PERFORM shadowtap_change_add(h, k, now, 1);
    IF now IS NULL THEN
        DELETE FROM change_groups WHERE endpoint_id = eid AND kind = k AND key = grp;
    ELSE
        INSERT INTO change_groups AS g (kind, endpoint_id, key, first_seen) VALUES (k, eid, grp, now)
        ON CONFLICT (endpoint_id, kind, key) DO UPDATE SET first_seen = EXCLUDED.first_seen;
    END IF;
END;
$$;

CREATE FUNCTION shadowtap_change_auth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM shadowtap_change_group('auth', OLD.endpoint_id, OLD.scheme);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM shadowtap_change_group('auth', NEW.endpoint_id, NEW.scheme);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER change_hours_auth_insert AFTER INSERT ON endpoint_auth
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_auth();
CREATE TRIGGER change_hours_auth_update AFTER UPDATE OF endpoint_id, scheme, first_seen ON endpoint_auth
    FOR EACH ROW WHEN (OLD.first_seen IS DISTINCT FROM NEW.first_seen
                       OR OLD.endpoint_id <> NEW.endpoint_id OR OLD.scheme <> NEW.scheme)
    EXECUTE FUNCTION shadowtap_change_auth();
CREATE TRIGGER change_hours_auth_delete AFTER DELETE ON endpoint_auth
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_auth();

CREATE FUNCTION shadowtap_change_sensitive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM shadowtap_change_group('sensitive', OLD.endpoint_id, OLD.class);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM shadowtap_change_group('sensitive', NEW.endpoint_id, NEW.class);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER change_hours_sensitive_insert AFTER INSERT ON endpoint_sensitive
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_sensitive();
CREATE TRIGGER change_hours_sensitive_update AFTER UPDATE OF endpoint_id, class, first_seen ON endpoint_sensitive
    FOR EACH ROW WHEN (OLD.first_seen IS DISTINCT FROM NEW.first_seen
                       OR OLD.endpoint_id <> NEW.endpoint_id OR OLD.class <> NEW.class)
    EXECUTE FUNCTION shadowtap_change_sensitive();
CREATE TRIGGER change_hours_sensitive_delete AFTER DELETE ON endpoint_sensitive
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_sensitive();

-- Clients: the pair function of 0003, now also keeping first_seen.
CREATE OR REPLACE FUNCTION shadowtap_host_clients() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h TEXT;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.endpoint_id = NEW.endpoint_id AND OLD.client = NEW.client THEN
        h := shadowtap_host_of(NEW.endpoint_id);
        UPDATE host_clients SET requests = requests - OLD.count + NEW.count,
            first_seen = LEAST(first_seen, NEW.first_seen)
        WHERE host = h AND client = NEW.client;
        IF NEW.first_seen > OLD.first_seen THEN
            UPDATE host_clients SET first_seen = shadowtap_pair_first(h, NEW.client)
            WHERE host = h AND client = NEW.client AND first_seen >= OLD.first_seen;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        h := shadowtap_host_of(OLD.endpoint_id);
        IF h IS NOT NULL THEN
            UPDATE host_clients SET endpoints = endpoints - 1, requests = requests - OLD.count
            WHERE host = h AND client = OLD.client;
            DELETE FROM host_clients WHERE host = h AND client = OLD.client AND endpoints <= 0;
            UPDATE host_clients SET first_seen = shadowtap_pair_first(h, OLD.client)
            WHERE host = h AND client = OLD.client AND first_seen >= OLD.first_seen;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        h := shadowtap_host_of(NEW.endpoint_id);
        IF h IS NOT NULL THEN
            INSERT INTO host_clients AS x (host, client, endpoints, requests, first_seen)
            VALUES (h, NEW.client, 1, NEW.count, NEW.first_seen)
            ON CONFLICT (host, client) DO UPDATE
            SET endpoints = x.endpoints + 1, requests = x.requests + EXCLUDED.requests,
                first_seen = LEAST(x.first_seen, EXCLUDED.first_seen);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
DROP TRIGGER host_clients_update ON endpoint_clients;
CREATE TRIGGER host_clients_update AFTER UPDATE OF endpoint_id, client, count, first_seen ON endpoint_clients
    FOR EACH ROW EXECUTE FUNCTION shadowtap_host_clients();

CREATE FUNCTION shadowtap_change_client() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.first_seen IS NOT DISTINCT FROM NEW.first_seen THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM shadowtap_change_add(OLD.host, 'client', OLD.first_seen, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM shadowtap_change_add(NEW.host, 'client', NEW.first_seen, 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER change_hours_client_insert AFTER INSERT ON host_clients
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_client();
CREATE TRIGGER change_hours_client_update AFTER UPDATE OF first_seen ON host_clients
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_client();
CREATE TRIGGER change_hours_client_delete AFTER DELETE ON host_clients
    FOR EACH ROW EXECUTE FUNCTION shadowtap_change_client();

-- In step with 0018: the endpoint list sorted by requests walks this index.
CREATE INDEX endpoints_scope_requests ON endpoints (scope, request_count DESC);
