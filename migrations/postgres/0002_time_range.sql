-- In step with migrations/0016_time_range.sql: the dashboard's time range reads the endpoints
-- called since a time, per scope, through this index.
CREATE INDEX endpoints_scope_last_seen ON endpoints (scope, last_seen);
