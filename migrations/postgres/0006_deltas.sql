-- In step with migrations/0020_outbox.sql (fleet step 2, docs/fleet.md): the centre's side of
-- the delta path. Sensors insert their deltas (`INSERT ... ON CONFLICT DO NOTHING`: a delta
-- sent twice is stored once); `shadowtap central` applies them in seq order per sensor, one
-- transaction per delta that merges it and records it in `delta_applied`.
-- The SQLite tables `outbox` and `fleet_sensor` are the sensor's own and have no counterpart
-- here; `deltas` and `delta_applied` exist only on the centre. Additive only: no view.
CREATE TABLE deltas (
    sensor      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    payload     BYTEA NOT NULL,
    bytes       BIGINT NOT NULL,
    received_at BIGINT NOT NULL,          -- ns since the epoch (the centre's clock)
    PRIMARY KEY (sensor, seq)
);

CREATE TABLE delta_applied (
    sensor     TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,           -- ns since the epoch
    outcome    TEXT NOT NULL,             -- 'applied', or 'parked: <why>' (not merged)
    rows       BIGINT NOT NULL DEFAULT 0, -- rows merged (endpoints, detail rows, sequences)
    PRIMARY KEY (sensor, seq)
);
