-- shadowtap inventory, version 7: a capture file that ends in damage is recorded as such.
--
-- libpcap stops at a cut or corrupt record ("truncated dump file"); what came before is
-- ingested, the capture stays `complete = 0` and `truncated` holds libpcap's words. A later
-- ingest of the same file skips it (there is nothing more to read) unless --force.
ALTER TABLE captures ADD COLUMN truncated TEXT;

-- The public view gains the column at its end (the views only ever change additively).
DROP VIEW api_captures;
CREATE VIEW api_captures AS
SELECT id, sha256, path, size_bytes,
    strftime('%Y-%m-%dT%H:%M:%fZ', ingested_at / 1e9, 'unixepoch') AS ingested_at,
    strftime('%Y-%m-%dT%H:%M:%fZ', first_ts / 1e9, 'unixepoch') AS first_ts,
    strftime('%Y-%m-%dT%H:%M:%fZ', last_ts / 1e9, 'unixepoch') AS last_ts,
    packets, bytes, transactions, source, complete, truncated
FROM captures;
