-- Fleet, step 2 (issue 18, docs/fleet.md): a sensor that ships to a central inventory
-- (`--central postgres://...`) writes each flush's delta here, serialised, in the same
-- transaction as its local merge; the shipping task sends the rows in `seq` order to the
-- centre's `deltas` table and deletes those the centre acknowledged. AUTOINCREMENT: a seq is
-- never reused, even after the rows before it were shipped and deleted.
-- Additive only: two tables, no view.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,      -- ns since the epoch (wall clock)
    bytes      INTEGER NOT NULL,      -- length of payload
    payload    BLOB NOT NULL          -- fleet::wire: "STD" + version + deflate(JSON)
);

-- The sensor's name in the fleet (`--sensor`, default the host name), kept so that a restart
-- ships under the same name, and the deltas shipped so far.
CREATE TABLE fleet_sensor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sensor   TEXT NOT NULL,
    shipped  INTEGER NOT NULL DEFAULT 0
);
