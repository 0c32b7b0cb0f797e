-- In step with migrations/0017_host_figures.sql: the per-host figures of the Hosts page read
-- this index (an index-only scan once the visibility map is current); it serves every lookup
-- by host, so the index on the host alone goes.
DROP INDEX endpoints_host;
CREATE INDEX endpoints_host_figures ON endpoints
    (host, scope, classification, first_seen, last_seen, request_count, error_count, risk_score);

-- In step with 0017: requests per (host, client), kept by triggers from the client rows.
CREATE TABLE host_clients (
    host       TEXT NOT NULL,
    client     TEXT NOT NULL,
    endpoints  BIGINT NOT NULL DEFAULT 0,
    requests   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (host, client)
);
CREATE INDEX host_clients_client ON host_clients (client);
INSERT INTO host_clients (host, client, endpoints, requests)
SELECT e.host, c.client, COUNT(*), SUM(c.count)
FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id GROUP BY e.host, c.client;

CREATE FUNCTION shadowtap_host_clients() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h TEXT;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT host INTO h FROM endpoints WHERE id = OLD.endpoint_id;
        IF h IS NOT NULL THEN
            UPDATE host_clients SET endpoints = endpoints - 1, requests = requests - OLD.count
            WHERE host = h AND client = OLD.client;
            DELETE FROM host_clients WHERE host = h AND client = OLD.client AND endpoints <= 0;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT host INTO h FROM endpoints WHERE id = NEW.endpoint_id;
        IF h IS NOT NULL THEN
            INSERT INTO host_clients AS x (host, client, endpoints, requests)
            VALUES (h, NEW.client, 1, NEW.count)
            ON CONFLICT (host, client) DO UPDATE
            SET endpoints = x.endpoints + 1, requests = x.requests + EXCLUDED.requests;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER host_clients_insert AFTER INSERT ON endpoint_clients
    FOR EACH ROW EXECUTE FUNCTION shadowtap_host_clients();
CREATE TRIGGER host_clients_update AFTER UPDATE OF endpoint_id, client, count ON endpoint_clients
    FOR EACH ROW EXECUTE FUNCTION shadowtap_host_clients();
CREATE TRIGGER host_clients_delete AFTER DELETE ON endpoint_clients
    FOR EACH ROW EXECUTE FUNCTION shadowtap_host_clients();

-- The foreign key's cascade deletes an endpoint's client rows after the endpoint, when its host
-- can no longer be read (the trigger above then finds no host and does nothing): the
-- endpoint's own delete takes their share off first. It writes nothing but host_clients.
CREATE FUNCTION shadowtap_host_clients_endpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE host_clients h SET endpoints = h.endpoints - c.rows_gone, requests = h.requests - c.requests_gone
    FROM (SELECT client, COUNT(*) AS rows_gone, SUM(count) AS requests_gone FROM endpoint_clients
          WHERE endpoint_id = OLD.id GROUP BY client) AS c
    WHERE h.host = OLD.host AND h.client = c.client;
    DELETE FROM host_clients WHERE host = OLD.host AND endpoints <= 0;
    RETURN OLD;
END;
$$;
CREATE TRIGGER host_clients_endpoint_delete BEFORE DELETE ON endpoints
    FOR EACH ROW EXECUTE FUNCTION shadowtap_host_clients_endpoint();
