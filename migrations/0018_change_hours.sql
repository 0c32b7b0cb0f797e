-- The change feed's counts (`/changes`, `store::dashboard::changes`) kept by triggers: how many
-- things were first seen per host, kind and hour. The feed's definition is the view
-- `api_changes` (migration 0014) with a time bound; counting it afresh read every parameter,
-- auth, sensitive-data and client row first seen since the bound (1.4 s at 100,000 endpoints
-- when most of the inventory is new, the first day of a sensor). The feed now sums the whole
-- hours of its bound from this table and counts only the partial hours at its edges from the
-- rows. Internal: not part of the api_* contract.
--
--   change_hours   n things of `kind` first seen on `host` in `hour` (first_seen, in ns,
--                  divided by 3,600 s, rounded down). Kinds and "first seen" as in api_changes:
--                    endpoint    an endpoint, at its first_seen
--                    parameter   a parameter row, at its first_seen (unknown: not counted)
--                    auth        an (endpoint, scheme), at the earliest of its rows (one per
--                                location; counted only when every row's time is known)
--                    sensitive   an (endpoint, class), at the earliest of its rows
--                    client      a (host, client), at the earliest of its client rows
--                  TLS client stacks are few and counted from their rows. A row whose count
--                  falls to 0 stays (the feed reads n <> 0).
--   host_clients.first_seen   the earliest first_seen of the pair's client rows
--
-- As in 0015 and 0017, the triggers use no conflict clause of their own (the merge's upserts
-- would override it): a missing row is inserted with INSERT ... WHERE NOT EXISTS, then updated.
-- A group's count moves from the hour of its old earliest time to the hour of its new one:
-- BEFORE UPDATE and BEFORE DELETE take the group's share off, AFTER puts the new share back
-- (an AFTER INSERT computes the share before the row from the other rows of its group: a
-- BEFORE INSERT also fires when an upsert turns into an update).

CREATE TABLE change_hours (
    host  TEXT NOT NULL,
    kind  TEXT NOT NULL,
    hour  INTEGER NOT NULL,
    n     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host, kind, hour)
) WITHOUT ROWID;
-- The feed reads the hours of its bounds for every host.
CREATE INDEX change_hours_hour ON change_hours (hour, kind, host, n);

-- ---------------------------------------------------------------------------------------------
-- Backfill, from the same definitions.
INSERT INTO change_hours (host, kind, hour, n)
SELECT host, 'endpoint', first_seen / 3600000000000 - (first_seen % 3600000000000 < 0), COUNT(*)
FROM endpoints WHERE first_seen IS NOT NULL GROUP BY 1, 3;

INSERT INTO change_hours (host, kind, hour, n)
SELECT e.host, 'parameter', p.first_seen / 3600000000000 - (p.first_seen % 3600000000000 < 0), COUNT(*)
FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id
WHERE p.first_seen IS NOT NULL GROUP BY 1, 3;

INSERT INTO change_hours (host, kind, hour, n)
SELECT host, 'auth', hr, COUNT(*) FROM (
    SELECT e.host AS host, MIN(a.first_seen) / 3600000000000 - (MIN(a.first_seen) % 3600000000000 < 0) AS hr
    FROM endpoint_auth a JOIN endpoints e ON e.id = a.endpoint_id
    GROUP BY a.endpoint_id, a.scheme HAVING COUNT(a.first_seen) = COUNT(*))
GROUP BY host, hr;

INSERT INTO change_hours (host, kind, hour, n)
SELECT host, 'sensitive', hr, COUNT(*) FROM (
    SELECT e.host AS host, MIN(s.first_seen) / 3600000000000 - (MIN(s.first_seen) % 3600000000000 < 0) AS hr
    FROM endpoint_sensitive s JOIN endpoints e ON e.id = s.endpoint_id
    GROUP BY s.endpoint_id, s.class)
GROUP BY host, hr;

ALTER TABLE host_clients ADD COLUMN first_seen INTEGER;
UPDATE host_clients SET first_seen = (
    SELECT MIN(c.first_seen) FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id
    WHERE e.host = host_clients.host AND c.client = host_clients.client);

INSERT INTO change_hours (host, kind, hour, n)
SELECT host, 'client', first_seen / 3600000000000 - (first_seen % 3600000000000 < 0), COUNT(*)
FROM host_clients WHERE first_seen IS NOT NULL GROUP BY 1, 3;

-- ---------------------------------------------------------------------------------------------
-- Endpoints: one each, at first_seen (dormant operations have none).
CREATE TRIGGER change_hours_endpoint_insert AFTER INSERT ON endpoints
WHEN NEW.first_seen IS NOT NULL
BEGIN
    INSERT INTO change_hours (host, kind, hour)
        SELECT NEW.host, 'endpoint', NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0)
        WHERE NOT EXISTS (SELECT 1 FROM change_hours WHERE host = NEW.host AND kind = 'endpoint'
                          AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0));
    UPDATE change_hours SET n = n + 1
    WHERE host = NEW.host AND kind = 'endpoint'
      AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0);
END;

CREATE TRIGGER change_hours_endpoint_update AFTER UPDATE OF first_seen ON endpoints
WHEN OLD.first_seen IS NOT NEW.first_seen
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = OLD.host AND kind = 'endpoint'
      AND hour = OLD.first_seen / 3600000000000 - (OLD.first_seen % 3600000000000 < 0);
    INSERT INTO change_hours (host, kind, hour)
        SELECT NEW.host, 'endpoint', NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0)
        WHERE NEW.first_seen IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = NEW.host AND kind = 'endpoint'
                          AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0));
    UPDATE change_hours SET n = n + 1
    WHERE host = NEW.host AND kind = 'endpoint'
      AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0);
END;

-- An endpoint's delete takes off its own count and those of its parameters, auth schemes and
-- sensitive classes: the foreign key's cascade deletes those rows after the endpoint, when their
-- host can no longer be read (their triggers below then find no host and do nothing). Its
-- clients' pairs are re-timed from the client rows of the host's other endpoints.
CREATE TRIGGER change_hours_endpoint_delete BEFORE DELETE ON endpoints
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = OLD.host AND kind = 'endpoint'
      AND hour = OLD.first_seen / 3600000000000 - (OLD.first_seen % 3600000000000 < 0);
    UPDATE change_hours SET n = change_hours.n - g.k
    FROM (SELECT first_seen / 3600000000000 - (first_seen % 3600000000000 < 0) AS hr, COUNT(*) AS k
          FROM endpoint_params WHERE endpoint_id = OLD.id AND first_seen IS NOT NULL GROUP BY 1) AS g
    WHERE change_hours.host = OLD.host AND change_hours.kind = 'parameter' AND change_hours.hour = g.hr;
    UPDATE change_hours SET n = change_hours.n - g.k
    FROM (SELECT hr, COUNT(*) AS k FROM (
              SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
              FROM endpoint_auth WHERE endpoint_id = OLD.id
              GROUP BY scheme HAVING COUNT(first_seen) = COUNT(*))
          GROUP BY hr) AS g
    WHERE change_hours.host = OLD.host AND change_hours.kind = 'auth' AND change_hours.hour = g.hr;
    UPDATE change_hours SET n = change_hours.n - g.k
    FROM (SELECT hr, COUNT(*) AS k FROM (
              SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
              FROM endpoint_sensitive WHERE endpoint_id = OLD.id GROUP BY class)
          GROUP BY hr) AS g
    WHERE change_hours.host = OLD.host AND change_hours.kind = 'sensitive' AND change_hours.hour = g.hr;
    UPDATE host_clients SET first_seen = (
        SELECT c2.first_seen FROM endpoint_clients c2 INDEXED BY endpoint_clients_client
        JOIN endpoints e2 ON e2.id = c2.endpoint_id
        WHERE c2.client = host_clients.client AND e2.host = OLD.host AND c2.endpoint_id <> OLD.id
        ORDER BY c2.first_seen LIMIT 1)
    WHERE host = OLD.host AND client IN (
        SELECT c.client FROM endpoint_clients c WHERE c.endpoint_id = OLD.id
        AND c.first_seen <= host_clients.first_seen);
END;

-- ---------------------------------------------------------------------------------------------
-- Parameters: one per row, at its first_seen.
CREATE TRIGGER change_hours_param_insert AFTER INSERT ON endpoint_params
WHEN NEW.first_seen IS NOT NULL
BEGIN
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'parameter', NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0)
        FROM endpoints e WHERE e.id = NEW.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'parameter'
                        AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0));
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'parameter'
      AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0);
END;

CREATE TRIGGER change_hours_param_update AFTER UPDATE OF endpoint_id, first_seen ON endpoint_params
WHEN OLD.first_seen IS NOT NEW.first_seen OR OLD.endpoint_id <> NEW.endpoint_id
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'parameter'
      AND hour = OLD.first_seen / 3600000000000 - (OLD.first_seen % 3600000000000 < 0);
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'parameter', NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0)
        FROM endpoints e WHERE e.id = NEW.endpoint_id AND NEW.first_seen IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'parameter'
                        AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0));
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'parameter'
      AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0);
END;

CREATE TRIGGER change_hours_param_delete AFTER DELETE ON endpoint_params
WHEN OLD.first_seen IS NOT NULL
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'parameter'
      AND hour = OLD.first_seen / 3600000000000 - (OLD.first_seen % 3600000000000 < 0);
END;

-- ---------------------------------------------------------------------------------------------
-- Auth schemes: one per (endpoint, scheme), at the earliest of its rows when all are known.
CREATE TRIGGER change_hours_auth_insert AFTER INSERT ON endpoint_auth
BEGIN
    -- The group's share before this row: its other rows.
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = NEW.endpoint_id AND scheme = NEW.scheme
                  AND location <> NEW.location HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*));
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'auth', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_auth WHERE endpoint_id = NEW.endpoint_id AND scheme = NEW.scheme
             HAVING COUNT(first_seen) = COUNT(*)) AS g
        WHERE e.id = NEW.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'auth' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = NEW.endpoint_id AND scheme = NEW.scheme
                  HAVING COUNT(first_seen) = COUNT(*));
END;

CREATE TRIGGER change_hours_auth_before_update BEFORE UPDATE OF endpoint_id, scheme, first_seen ON endpoint_auth
WHEN OLD.first_seen IS NOT NEW.first_seen OR OLD.endpoint_id <> NEW.endpoint_id OR OLD.scheme <> NEW.scheme
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = OLD.endpoint_id AND scheme = OLD.scheme
                  HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*));
    UPDATE change_hours SET n = n - 1
    WHERE (OLD.endpoint_id <> NEW.endpoint_id OR OLD.scheme <> NEW.scheme)
      AND host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = NEW.endpoint_id AND scheme = NEW.scheme
                  HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*));
END;

CREATE TRIGGER change_hours_auth_after_update AFTER UPDATE OF endpoint_id, scheme, first_seen ON endpoint_auth
WHEN OLD.first_seen IS NOT NEW.first_seen OR OLD.endpoint_id <> NEW.endpoint_id OR OLD.scheme <> NEW.scheme
BEGIN
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'auth', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_auth WHERE endpoint_id = OLD.endpoint_id AND scheme = OLD.scheme
             HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*)) AS g
        WHERE e.id = OLD.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'auth' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = OLD.endpoint_id AND scheme = OLD.scheme
                  HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*));
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'auth', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_auth WHERE endpoint_id = NEW.endpoint_id AND scheme = NEW.scheme
             HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*)) AS g
        WHERE e.id = NEW.endpoint_id AND (OLD.endpoint_id <> NEW.endpoint_id OR OLD.scheme <> NEW.scheme)
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'auth' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE (OLD.endpoint_id <> NEW.endpoint_id OR OLD.scheme <> NEW.scheme)
      AND host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = NEW.endpoint_id AND scheme = NEW.scheme
                  HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*));
END;

CREATE TRIGGER change_hours_auth_before_delete BEFORE DELETE ON endpoint_auth
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = OLD.endpoint_id AND scheme = OLD.scheme
                  HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*));
END;

CREATE TRIGGER change_hours_auth_after_delete AFTER DELETE ON endpoint_auth
BEGIN
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'auth', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_auth WHERE endpoint_id = OLD.endpoint_id AND scheme = OLD.scheme
             HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*)) AS g
        WHERE e.id = OLD.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'auth' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'auth'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_auth WHERE endpoint_id = OLD.endpoint_id AND scheme = OLD.scheme
                  HAVING COUNT(*) > 0 AND COUNT(first_seen) = COUNT(*));
END;

-- ---------------------------------------------------------------------------------------------
-- Sensitive data: one per (endpoint, class), at the earliest of its rows (times always known).
CREATE TRIGGER change_hours_sensitive_insert AFTER INSERT ON endpoint_sensitive
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = NEW.endpoint_id AND class = NEW.class
                  AND NOT (location = NEW.location AND field = NEW.field) HAVING COUNT(*) > 0);
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'sensitive', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_sensitive WHERE endpoint_id = NEW.endpoint_id AND class = NEW.class) AS g
        WHERE e.id = NEW.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'sensitive' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = NEW.endpoint_id AND class = NEW.class);
END;

CREATE TRIGGER change_hours_sensitive_before_update BEFORE UPDATE OF endpoint_id, class, first_seen ON endpoint_sensitive
WHEN OLD.first_seen IS NOT NEW.first_seen OR OLD.endpoint_id <> NEW.endpoint_id OR OLD.class <> NEW.class
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = OLD.endpoint_id AND class = OLD.class
                  HAVING COUNT(*) > 0);
    UPDATE change_hours SET n = n - 1
    WHERE (OLD.endpoint_id <> NEW.endpoint_id OR OLD.class <> NEW.class)
      AND host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = NEW.endpoint_id AND class = NEW.class
                  HAVING COUNT(*) > 0);
END;

CREATE TRIGGER change_hours_sensitive_after_update AFTER UPDATE OF endpoint_id, class, first_seen ON endpoint_sensitive
WHEN OLD.first_seen IS NOT NEW.first_seen OR OLD.endpoint_id <> NEW.endpoint_id OR OLD.class <> NEW.class
BEGIN
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'sensitive', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_sensitive WHERE endpoint_id = OLD.endpoint_id AND class = OLD.class
             HAVING COUNT(*) > 0) AS g
        WHERE e.id = OLD.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'sensitive' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = OLD.endpoint_id AND class = OLD.class
                  HAVING COUNT(*) > 0);
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'sensitive', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_sensitive WHERE endpoint_id = NEW.endpoint_id AND class = NEW.class
             HAVING COUNT(*) > 0) AS g
        WHERE e.id = NEW.endpoint_id AND (OLD.endpoint_id <> NEW.endpoint_id OR OLD.class <> NEW.class)
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'sensitive' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE (OLD.endpoint_id <> NEW.endpoint_id OR OLD.class <> NEW.class)
      AND host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = NEW.endpoint_id AND class = NEW.class
                  HAVING COUNT(*) > 0);
END;

CREATE TRIGGER change_hours_sensitive_before_delete BEFORE DELETE ON endpoint_sensitive
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = OLD.endpoint_id AND class = OLD.class
                  HAVING COUNT(*) > 0);
END;

CREATE TRIGGER change_hours_sensitive_after_delete AFTER DELETE ON endpoint_sensitive
BEGIN
    INSERT INTO change_hours (host, kind, hour)
        SELECT e.host, 'sensitive', g.hr FROM endpoints e,
            (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0) AS hr
             FROM endpoint_sensitive WHERE endpoint_id = OLD.endpoint_id AND class = OLD.class
             HAVING COUNT(*) > 0) AS g
        WHERE e.id = OLD.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = e.host AND kind = 'sensitive' AND hour = g.hr);
    UPDATE change_hours SET n = n + 1
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND kind = 'sensitive'
      AND hour = (SELECT MIN(first_seen) / 3600000000000 - (MIN(first_seen) % 3600000000000 < 0)
                  FROM endpoint_sensitive WHERE endpoint_id = OLD.endpoint_id AND class = OLD.class
                  HAVING COUNT(*) > 0);
END;

-- ---------------------------------------------------------------------------------------------
-- Clients: one per (host, client) pair of host_clients, at the pair's first_seen. The pair's
-- triggers of 0017 are replaced by ones that also keep first_seen: an insert or an earlier time
-- lowers it; a delete, a move or a later time of the row holding it looks it up again among
-- the pair's rows (the index on (client, first_seen) gives the earliest first).
DROP TRIGGER host_clients_insert;
DROP TRIGGER host_clients_update;
DROP TRIGGER host_clients_delete;

CREATE TRIGGER host_clients_insert AFTER INSERT ON endpoint_clients
BEGIN
    INSERT INTO host_clients (host, client, first_seen)
        SELECT e.host, NEW.client, NEW.first_seen FROM endpoints e WHERE e.id = NEW.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM host_clients h WHERE h.host = e.host AND h.client = NEW.client);
    UPDATE host_clients SET endpoints = endpoints + 1, requests = requests + NEW.count,
        first_seen = CASE WHEN first_seen IS NULL OR NEW.first_seen < first_seen THEN NEW.first_seen ELSE first_seen END
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND client = NEW.client;
END;

-- The merge's upsert: same row, new counts and times.
CREATE TRIGGER host_clients_update AFTER UPDATE OF endpoint_id, client, count, first_seen ON endpoint_clients
WHEN OLD.endpoint_id = NEW.endpoint_id AND OLD.client = NEW.client
BEGIN
    UPDATE host_clients SET requests = requests - OLD.count + NEW.count,
        first_seen = CASE WHEN NEW.first_seen < first_seen THEN NEW.first_seen ELSE first_seen END
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND client = NEW.client;
    UPDATE host_clients SET first_seen = (
        SELECT c2.first_seen FROM endpoint_clients c2 INDEXED BY endpoint_clients_client
        JOIN endpoints e2 ON e2.id = c2.endpoint_id
        WHERE c2.client = host_clients.client AND e2.host = host_clients.host
        ORDER BY c2.first_seen LIMIT 1)
    WHERE NEW.first_seen > OLD.first_seen
      AND host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND client = NEW.client
      AND first_seen >= OLD.first_seen;
END;

CREATE TRIGGER host_clients_move AFTER UPDATE OF endpoint_id, client ON endpoint_clients
WHEN OLD.endpoint_id <> NEW.endpoint_id OR OLD.client <> NEW.client
BEGIN
    UPDATE host_clients SET endpoints = endpoints - 1, requests = requests - OLD.count
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client;
    DELETE FROM host_clients
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client
      AND endpoints <= 0;
    UPDATE host_clients SET first_seen = (
        SELECT c2.first_seen FROM endpoint_clients c2 INDEXED BY endpoint_clients_client
        JOIN endpoints e2 ON e2.id = c2.endpoint_id
        WHERE c2.client = host_clients.client AND e2.host = host_clients.host
        ORDER BY c2.first_seen LIMIT 1)
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client
      AND first_seen >= OLD.first_seen;
    INSERT INTO host_clients (host, client, first_seen)
        SELECT e.host, NEW.client, NEW.first_seen FROM endpoints e WHERE e.id = NEW.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM host_clients h WHERE h.host = e.host AND h.client = NEW.client);
    UPDATE host_clients SET endpoints = endpoints + 1, requests = requests + NEW.count,
        first_seen = CASE WHEN first_seen IS NULL OR NEW.first_seen < first_seen THEN NEW.first_seen ELSE first_seen END
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND client = NEW.client;
END;

CREATE TRIGGER host_clients_delete AFTER DELETE ON endpoint_clients
BEGIN
    UPDATE host_clients SET endpoints = endpoints - 1, requests = requests - OLD.count
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client;
    DELETE FROM host_clients
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client
      AND endpoints <= 0;
    UPDATE host_clients SET first_seen = (
        SELECT c2.first_seen FROM endpoint_clients c2 INDEXED BY endpoint_clients_client
        JOIN endpoints e2 ON e2.id = c2.endpoint_id
        WHERE c2.client = host_clients.client AND e2.host = host_clients.host
        ORDER BY c2.first_seen LIMIT 1)
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client
      AND first_seen >= OLD.first_seen;
END;

CREATE TRIGGER change_hours_client_insert AFTER INSERT ON host_clients
WHEN NEW.first_seen IS NOT NULL
BEGIN
    INSERT INTO change_hours (host, kind, hour)
        SELECT NEW.host, 'client', NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0)
        WHERE NOT EXISTS (SELECT 1 FROM change_hours WHERE host = NEW.host AND kind = 'client'
                          AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0));
    UPDATE change_hours SET n = n + 1
    WHERE host = NEW.host AND kind = 'client'
      AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0);
END;

CREATE TRIGGER change_hours_client_update AFTER UPDATE OF first_seen ON host_clients
WHEN OLD.first_seen IS NOT NEW.first_seen
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = OLD.host AND kind = 'client'
      AND hour = OLD.first_seen / 3600000000000 - (OLD.first_seen % 3600000000000 < 0);
    INSERT INTO change_hours (host, kind, hour)
        SELECT NEW.host, 'client', NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0)
        WHERE NEW.first_seen IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM change_hours WHERE host = NEW.host AND kind = 'client'
                          AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0));
    UPDATE change_hours SET n = n + 1
    WHERE host = NEW.host AND kind = 'client'
      AND hour = NEW.first_seen / 3600000000000 - (NEW.first_seen % 3600000000000 < 0);
END;

CREATE TRIGGER change_hours_client_delete AFTER DELETE ON host_clients
WHEN OLD.first_seen IS NOT NULL
BEGIN
    UPDATE change_hours SET n = n - 1
    WHERE host = OLD.host AND kind = 'client'
      AND hour = OLD.first_seen / 3600000000000 - (OLD.first_seen % 3600000000000 < 0);
END;

-- ---------------------------------------------------------------------------------------------
-- The endpoint list sorted by requests (its second most asked order after risk, which has its
-- index since 0012): the first page walks this index instead of sorting every endpoint of the
-- scope (325 ms -> 2 ms at 100,000 endpoints, cold cache).
CREATE INDEX endpoints_scope_requests ON endpoints (scope, request_count DESC);
