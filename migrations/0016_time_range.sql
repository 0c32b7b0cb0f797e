-- The dashboard's time range (web: "last hour", "last 7 days", custom): the endpoints called
-- since a time, per scope, are read through this index instead of a scan of every endpoint.
CREATE INDEX endpoints_scope_last_seen ON endpoints (scope, last_seen);
