-- Fleet, the bounded spool (issue 18, docs/fleet.md): while the centre is unreachable the
-- outbox grows up to `[store] spool_bytes`; past it, runs of its oldest deltas are folded into
-- one (`Delta::absorb`: counts add, histograms merge, sketches union) under the lowest seq of
-- the run. Nothing is dropped; what was folded is counted.
--   outbox.flushes        flushes a row stands for (1, or more once folded)
--   outbox.sent           1 once a send of the row was attempted over a live connection: the
--                         centre may hold it, so it is never folded into another (a retry must
--                         stay the same (sensor, seq) for the centre's primary key to drop it)
--   fleet_sensor.summarised   deltas folded into older ones, over the sensor's life
--   fleet_sensor.over_bound   folds that could not bring the spool under its bound (what is
--                             left is too large to fold within a delta's size limit)
-- A sensor-side table only: the centre's tables do not change (no PostgreSQL twin).
ALTER TABLE outbox ADD COLUMN flushes INTEGER NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE fleet_sensor ADD COLUMN summarised INTEGER NOT NULL DEFAULT 0;
ALTER TABLE fleet_sensor ADD COLUMN over_bound INTEGER NOT NULL DEFAULT 0;
