-- In step with migrations/0022_sort_clients.sql: the endpoint list sorted by distinct clients
-- reads this index.
CREATE INDEX endpoints_scope_clients
    ON endpoints (scope, (CASE WHEN clients_capped = 1 THEN client_estimate ELSE client_rows END) DESC);
