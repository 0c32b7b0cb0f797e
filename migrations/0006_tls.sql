-- Encrypted services, from their TLS handshakes (no keys needed): one row per (server address,
-- port, SNI), and who talks to it with which client stack (JA4).

CREATE TABLE tls_services (
    id               INTEGER PRIMARY KEY,
    host             TEXT NOT NULL,              -- the SNI, lower case; the server address without one
    sni              TEXT NOT NULL DEFAULT '',   -- '' when the client sent none
    server_ip        TEXT NOT NULL,
    server_port      INTEGER NOT NULL,
    first_seen       INTEGER NOT NULL,           -- ns since the epoch
    last_seen        INTEGER NOT NULL,
    handshakes       INTEGER NOT NULL DEFAULT 0, -- ClientHellos seen
    incomplete       INTEGER NOT NULL DEFAULT 0, -- connections whose server hello was never seen
    resumed          INTEGER NOT NULL DEFAULT 0, -- abbreviated handshakes (session id or PSK)
    client_bytes     INTEGER NOT NULL DEFAULT 0, -- TLS record bytes after the handshake
    server_bytes     INTEGER NOT NULL DEFAULT 0,
    versions         TEXT NOT NULL DEFAULT '{}', -- {"TLS 1.3": handshakes, ...} negotiated
    ciphers          TEXT NOT NULL DEFAULT '{}', -- {"TLS_AES_128_GCM_SHA256": handshakes, ...}
    alpn_offered     TEXT NOT NULL DEFAULT '{}', -- {"h2": handshakes offering it, ...}
    alpn_selected    TEXT NOT NULL DEFAULT '{}',
    version          TEXT,                       -- the latest negotiated version
    cipher           TEXT,                       -- the latest chosen cipher suite
    cert_subject     TEXT,                       -- the server certificate (TLS <= 1.2 only)
    cert_issuer      TEXT,
    cert_sans        TEXT,                       -- JSON array of names and addresses
    cert_not_before  INTEGER,                    -- s since the epoch
    cert_not_after   INTEGER,
    cert_key         TEXT,                       -- "rsa 2048", "ec 256", "ed25519"
    cert_self_signed INTEGER,
    cert_chain_len   INTEGER,
    cert_sha256      TEXT,
    UNIQUE (server_ip, server_port, sni)
);

CREATE INDEX tls_services_host ON tls_services (host);

CREATE TABLE tls_clients (
    service_id  INTEGER NOT NULL REFERENCES tls_services (id) ON DELETE CASCADE,
    client      TEXT NOT NULL,                   -- client address
    ja4         TEXT NOT NULL DEFAULT '',        -- of its ClientHello
    ja4s        TEXT NOT NULL DEFAULT '',        -- of the server's answer to it
    handshakes  INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (service_id, client, ja4, ja4s)
) WITHOUT ROWID;

CREATE VIEW api_tls_services AS
SELECT
    s.id,
    s.host,
    s.sni,
    s.server_ip,
    s.server_port,
    strftime('%Y-%m-%dT%H:%M:%fZ', s.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', s.last_seen / 1e9, 'unixepoch') AS last_seen,
    s.handshakes,
    s.incomplete,
    s.resumed,
    s.client_bytes,
    s.server_bytes,
    (SELECT COUNT(DISTINCT c.client) FROM tls_clients c WHERE c.service_id = s.id) AS client_count,
    (SELECT COUNT(DISTINCT c.ja4) FROM tls_clients c WHERE c.service_id = s.id AND c.ja4 <> '') AS ja4_count,
    s.version,
    s.cipher,
    s.versions,
    s.ciphers,
    s.alpn_offered,
    s.alpn_selected,
    s.cert_subject,
    s.cert_issuer,
    s.cert_sans,
    strftime('%Y-%m-%dT%H:%M:%SZ', s.cert_not_before, 'unixepoch') AS cert_not_before,
    strftime('%Y-%m-%dT%H:%M:%SZ', s.cert_not_after, 'unixepoch') AS cert_not_after,
    s.cert_key,
    s.cert_self_signed,
    s.cert_chain_len,
    s.cert_sha256
FROM tls_services s;

CREATE VIEW api_tls_clients AS
SELECT
    c.service_id,
    s.host,
    s.server_ip,
    s.server_port,
    c.client,
    c.ja4,
    c.ja4s,
    c.handshakes,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.first_seen / 1e9, 'unixepoch') AS first_seen,
    strftime('%Y-%m-%dT%H:%M:%fZ', c.last_seen / 1e9, 'unixepoch') AS last_seen
FROM tls_clients c JOIN tls_services s ON s.id = c.service_id;
