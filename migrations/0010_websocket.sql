-- WebSocket: the connections an endpoint's upgrade transactions (GET + 101, tag `websocket`)
-- opened, summed per endpoint. Numbered 0010: 0009 belongs to another change. Additive only: a
-- table and a view; no existing view changes.
CREATE TABLE endpoint_websockets (
    endpoint_id        INTEGER PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    connections        INTEGER NOT NULL,
    text_client        INTEGER NOT NULL,      -- text messages, client to server
    binary_client      INTEGER NOT NULL,
    text_server        INTEGER NOT NULL,
    binary_server      INTEGER NOT NULL,
    bytes_client       INTEGER NOT NULL,      -- payload bytes of data messages, as on the wire
    bytes_server       INTEGER NOT NULL,
    frames_client      INTEGER NOT NULL,      -- every frame, control frames included
    frames_server      INTEGER NOT NULL,
    pings              INTEGER NOT NULL,      -- pings and pongs, both directions
    max_message_bytes  INTEGER NOT NULL,
    size_hist          TEXT NOT NULL,         -- JSON array of 33 counts: bucket i = sizes of bit length i
    p50_message_bytes  INTEGER,               -- upper bound of the bucket (power of two minus one)
    p99_message_bytes  INTEGER,
    close_codes        TEXT NOT NULL,         -- JSON object: code -> connections (1005 no code, 1006 no close, 0 others)
    subprotocols       TEXT NOT NULL,         -- JSON object: Sec-WebSocket-Protocol -> connections
    duration_ms_total  INTEGER NOT NULL,
    duration_ms_max    INTEGER NOT NULL,
    deflate            INTEGER NOT NULL,      -- connections with permessage-deflate
    accept_mismatches  INTEGER NOT NULL,      -- Sec-WebSocket-Accept did not match the key
    not_decoded        INTEGER NOT NULL,      -- compressed messages not inflated
    stopped            INTEGER NOT NULL       -- connections whose parsing stopped early
);

CREATE VIEW api_websockets AS
SELECT
    w.endpoint_id,
    e.host,
    e.method,
    e.path_template,
    w.connections,
    w.text_client + w.binary_client AS messages_client,
    w.text_server + w.binary_server AS messages_server,
    w.text_client,
    w.binary_client,
    w.text_server,
    w.binary_server,
    w.bytes_client,
    w.bytes_server,
    w.max_message_bytes,
    w.p50_message_bytes,
    w.p99_message_bytes,
    w.subprotocols,
    w.close_codes,
    CASE WHEN w.connections > 0 THEN w.duration_ms_total / w.connections END AS avg_duration_ms,
    w.duration_ms_max AS max_duration_ms,
    w.deflate,
    w.accept_mismatches,
    w.not_decoded,
    w.stopped
FROM endpoint_websockets w JOIN endpoints e ON e.id = w.endpoint_id;
