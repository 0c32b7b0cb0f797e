-- The Hosts page and a host's figures (endpoints, observed, requests, errors, classification
-- counts, highest risk, first and last request per host: `store::dashboard::hosts`) read this
-- index alone: no row of `endpoints` (wide: templates, histograms) is read. At 100,000
-- endpoints the per-host aggregate drops from a table scan to an index scan, several times
-- faster. It also serves every lookup by host, so the index on the host alone goes.
DROP INDEX endpoints_host;
CREATE INDEX endpoints_host_figures ON endpoints
    (host, scope, classification, first_seen, last_seen, request_count, error_count, risk_score);

-- Requests per (host, client): the Hosts page's distinct clients per host and its service map,
-- a host's neighbourhood of the map. Kept by triggers from the client rows of each endpoint
-- (`endpoint_clients`), as `inventory_clients` (0015) is, so no page reads every client row.
--   endpoints  the pair's client rows (the host's endpoints the client called, over the rows
--              kept); the pair goes when it falls to 0
--   requests   the sum of their counts
CREATE TABLE host_clients (
    host       TEXT NOT NULL,
    client     TEXT NOT NULL,
    endpoints  INTEGER NOT NULL DEFAULT 0,
    requests   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host, client)
) WITHOUT ROWID;
CREATE INDEX host_clients_client ON host_clients (client);
INSERT INTO host_clients (host, client, endpoints, requests)
SELECT e.host, c.client, COUNT(*), SUM(c.count)
FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id GROUP BY e.host, c.client;

CREATE TRIGGER host_clients_insert AFTER INSERT ON endpoint_clients
BEGIN
    INSERT INTO host_clients (host, client)
        SELECT e.host, NEW.client FROM endpoints e WHERE e.id = NEW.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM host_clients h WHERE h.host = e.host AND h.client = NEW.client);
    UPDATE host_clients SET endpoints = endpoints + 1, requests = requests + NEW.count
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND client = NEW.client;
END;

CREATE TRIGGER host_clients_update AFTER UPDATE OF endpoint_id, client, count ON endpoint_clients
BEGIN
    UPDATE host_clients SET endpoints = endpoints - 1, requests = requests - OLD.count
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client;
    DELETE FROM host_clients
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client
      AND endpoints <= 0;
    INSERT INTO host_clients (host, client)
        SELECT e.host, NEW.client FROM endpoints e WHERE e.id = NEW.endpoint_id
        AND NOT EXISTS (SELECT 1 FROM host_clients h WHERE h.host = e.host AND h.client = NEW.client);
    UPDATE host_clients SET endpoints = endpoints + 1, requests = requests + NEW.count
    WHERE host = (SELECT host FROM endpoints WHERE id = NEW.endpoint_id) AND client = NEW.client;
END;

CREATE TRIGGER host_clients_delete AFTER DELETE ON endpoint_clients
BEGIN
    UPDATE host_clients SET endpoints = endpoints - 1, requests = requests - OLD.count
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client;
    DELETE FROM host_clients
    WHERE host = (SELECT host FROM endpoints WHERE id = OLD.endpoint_id) AND client = OLD.client
      AND endpoints <= 0;
END;

-- A client row's host is its endpoint's (an endpoint's host never changes: it is part of its
-- identity, with the method and the template). The foreign key's cascade deletes an endpoint's
-- client rows after the endpoint, when its host can no longer be read (the triggers above then
-- find no host and do nothing): the endpoint's own delete takes their share off first. It
-- writes nothing but `host_clients`.
CREATE TRIGGER host_clients_endpoint_delete BEFORE DELETE ON endpoints
BEGIN
    UPDATE host_clients SET endpoints = host_clients.endpoints - c.rows_gone,
                            requests = host_clients.requests - c.requests_gone
    FROM (SELECT client, COUNT(*) AS rows_gone, SUM(count) AS requests_gone FROM endpoint_clients
          WHERE endpoint_id = OLD.id GROUP BY client) AS c
    WHERE host_clients.host = OLD.host AND host_clients.client = c.client;
    DELETE FROM host_clients WHERE host = OLD.host AND endpoints <= 0;
END;
