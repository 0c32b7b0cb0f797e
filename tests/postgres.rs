//! The PostgreSQL schema (`migrations/postgres/`, the fleet's central store, issue 18) keeps the
//! SQLite inventory's contract: the same public views `api_*` with the same columns in the same
//! order, every view the README documents present on both with the documented columns, and the
//! same rows out of every view (and out of the sums the triggers keep) for the same rows in the
//! tables.
//!
//! The tests start a throwaway PostgreSQL server (tests/support/postgres.rs); without server
//! binaries they skip, unless `SHADOWTAP_REQUIRE_PG=1` (CI).

#[path = "support/postgres.rs"]
mod postgres;

use shadowtap::store::Store;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{Column, Row};
use std::collections::BTreeMap;
use std::path::Path;

/// View name -> its column names in order.
type Views = BTreeMap<String, Vec<String>>;

/// A fresh SQLite inventory made by the store (every migration of `migrations/`), and a pool on
/// it with foreign keys on, as the store has.
async fn sqlite_inventory(dir: &Path) -> SqlitePool {
    let path = dir.join("inventory.db");
    Store::open(&path).await.unwrap().close().await;
    SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&path)
            .foreign_keys(true),
    )
    .await
    .unwrap()
}

/// The database's pool after every migration of `migrations/postgres/`.
async fn pg_inventory(db: &postgres::Database) -> PgPool {
    let pool = PgPool::connect(&db.url).await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    sqlx::migrate::Migrator::new(dir)
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL migrations: {e}\n{}", db.server_log()));
    pool
}

async fn sqlite_views(pool: &SqlitePool) -> Views {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'view' AND name LIKE 'api\\_%' ESCAPE '\\'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut views = Views::new();
    for name in names {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
        views.insert(name, columns);
    }
    views
}

async fn pg_views(pool: &PgPool) -> Views {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
         JOIN information_schema.views v
           ON v.table_schema = c.table_schema AND v.table_name = c.table_name
         WHERE c.table_schema = current_schema() AND c.table_name LIKE 'api\\_%'
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut views = Views::new();
    for (view, column) in rows {
        views.entry(view).or_default().push(column);
    }
    views
}

/// The README's table of public views: each row `| `api_x` | what a row is | columns |`, as
/// view -> the documented columns in order. The columns are the names in backticks outside
/// parentheses (the explanations are in parentheses), up to the first sentence end.
fn readme_views() -> Views {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut views = Views::new();
    for line in readme.lines().filter(|l| l.starts_with("| `api_")) {
        let name = line["| `".len()..].split('`').next().unwrap().to_string();
        let cells: Vec<&str> = line.trim_end().trim_end_matches('|').split(" | ").collect();
        assert!(
            cells.len() >= 3,
            "README view row without a columns cell: {line}"
        );
        let cell = cells[2..].join(" | ");
        let (mut columns, mut depth, mut code, mut span) = (Vec::new(), 0i32, false, String::new());
        let mut chars = cell.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '`' if code => {
                    code = false;
                    if depth == 0 {
                        columns.extend(
                            span.split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(String::from),
                        );
                    }
                    span.clear();
                }
                _ if code => span.push(c),
                '`' => code = true,
                '(' => depth += 1,
                ')' => depth -= 1,
                '.' if depth == 0 && chars.peek() == Some(&' ') => break,
                _ => {}
            }
        }
        assert!(
            columns
                .iter()
                .all(|c| c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')),
            "README row of {name}: columns not read as names: {columns:?}"
        );
        assert!(
            views.insert(name.clone(), columns).is_none(),
            "README documents {name} twice"
        );
    }
    assert!(!views.is_empty(), "no view table found in README.md");
    views
}

/// Lists what differs between two sets of views, one line each.
fn differences(left: &str, a: &Views, right: &str, b: &Views) -> Vec<String> {
    let mut out = Vec::new();
    for (name, columns) in a {
        match b.get(name) {
            None => out.push(format!("{name}: in {left}, not in {right}")),
            Some(other) if other != columns => out.push(format!(
                "{name}: {left} has {columns:?}, {right} has {other:?}"
            )),
            Some(_) => {}
        }
    }
    for name in b.keys().filter(|n| !a.contains_key(*n)) {
        out.push(format!("{name}: in {right}, not in {left}"));
    }
    out
}

#[tokio::test]
async fn same_public_views_with_the_same_columns() {
    let Some(db) = postgres::database("same_public_views").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_views(&sqlite_inventory(dir.path()).await).await;
    let pg = pg_views(&pg_inventory(&db).await).await;
    assert!(sqlite.len() >= 20, "SQLite views: {sqlite:?}");
    let diff = differences("SQLite", &sqlite, "PostgreSQL", &pg);
    assert!(
        diff.is_empty(),
        "the public views differ:\n{}",
        diff.join("\n")
    );
}

#[tokio::test]
async fn every_documented_view_on_both_with_its_documented_columns() {
    let Some(db) = postgres::database("documented_views").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_views(&sqlite_inventory(dir.path()).await).await;
    let pg = pg_views(&pg_inventory(&db).await).await;
    let readme = readme_views();
    let mut diff = Vec::new();
    for (store, views) in [("SQLite", &sqlite), ("PostgreSQL", &pg)] {
        for (name, columns) in &readme {
            match views.get(name) {
                None => diff.push(format!("{name}: documented, not in {store}")),
                Some(actual) if actual != columns => diff.push(format!(
                    "{name}: README documents {columns:?}, {store} has {actual:?}"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}

// -------------------------------------------------------------------------------------------
// The same rows in the tables of both, then every view compared value for value.

/// ns times used below: 2025-01-31T00:00:00.123456789Z and later ones, some of which round up
/// to the next millisecond (…999_500_000) as SQLite's strftime does.
const T0: i64 = 1_738_281_600_123_456_789;
const T1: i64 = 1_738_281_660_999_500_000;
const T2: i64 = 1_738_368_000_000_499_999;

/// Rows for every table behind a public view, in plain SQL both dialects read alike.
fn fixture() -> Vec<String> {
    let s = [
        // Captures: one complete, one cut short.
        "INSERT INTO captures (id, sha256, path, size_bytes, ingested_at, first_ts, last_ts, packets, bytes, transactions, source, complete, stats_json, committed_packets, truncated) VALUES
            (1, 'aa11', '/tmp/a.pcap', 1234, {T2}, {T0}, {T1}, 10, 1000, 4, 'file', 1, '{}', 10, NULL),
            (2, 'bb22', '/tmp/b.pcap', 99, {T2}, {T0}, NULL, 3, 90, 0, 'live:eth0', 0, '{}', 3, 'truncated dump file')",
        // Endpoints: REST, a GraphQL operation, gRPC (capped clients), WebSocket (static scope),
        // a documented operation never called.
        "INSERT INTO endpoints (id, host, method, path_template, first_seen, last_seen, request_count, response_count, error_count, clients_capped, client_estimate, p50_ms, p90_ms, p99_ms, documented, deprecated, classification, protocol, grpc_service, grpc_method, scope, scope_reason) VALUES
            (1, 'api.example.com', 'GET', '/users/{id}', {T0}, {T1}, 10, 10, 2, 0, 0, 1.5, 12.0, 100.25, 1, 0, 'documented', 'http/1.1', NULL, NULL, 'api', NULL),
            (2, 'api.example.com', 'POST', '/graphql#query GetUser', {T0}, {T2}, 4, 4, 0, 0, 0, 3.0, 3.0, 3.0, 0, 0, 'shadow', 'graphql', NULL, NULL, 'api', NULL),
            (3, 'api.example.com', 'POST', '/pkg.Svc/Call', {T1}, {T2}, 9, 9, 1, 1, 42, 0.125, 0.5, 7.0, NULL, NULL, NULL, 'grpc', 'pkg.Svc', 'Call', 'api', NULL),
            (4, 'ws.example.com', 'GET', '/ws', {T0}, {T0}, 3, 3, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 'websocket', NULL, NULL, 'static', 'static content: /ws'),
            (5, 'api.example.com', 'DELETE', '/users/{id}', NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, 1, 1, 'dormant', NULL, NULL, NULL, 'api', NULL)",
        "INSERT INTO endpoint_status (endpoint_id, status, count) VALUES (1, 200, 8), (1, 404, 2), (2, 0, 1), (3, 200, 9)",
        // Clients: internal (10/8, 172.16/12, fc00::/7, 100.64/10) and external ones.
        "INSERT INTO endpoint_clients (endpoint_id, client, count, first_seen, last_seen) VALUES
            (1, '10.0.0.1', 6, {T0}, {T1}), (1, '203.0.113.5', 4, {T1}, {T1}),
            (2, '172.20.1.1', 2, {T0}, {T0}), (2, 'fd00::1', 2, {T2}, {T2}),
            (3, '100.64.0.1', 9, {T1}, {T2}), (4, '198.51.100.7', 3, {T0}, {T0})",
        // Sources (migration 0019): an endpoint seen on the wire and in an access log, others
        // by one source each.
        "INSERT INTO endpoint_sources (endpoint_id, source, count, first_seen, last_seen) VALUES
            (1, 'wire', 6, {T0}, {T1}), (1, 'access_log', 4, {T1}, {T1}),
            (2, 'har', 3, {T0}, {T2}), (3, 'wire', 9, {T1}, {T2})",
        // Attribution (migration 0024): endpoints seen by one sensor or by two.
        "INSERT INTO endpoint_sensors (endpoint_id, sensor, count, first_seen, last_seen) VALUES
            (1, 'dc1-tap', 6, {T0}, {T1}), (1, 'dc2-tap', 4, {T1}, {T1}), (3, 'dc2-tap', 9, {T1}, {T2})",
        // The sensors' health (migration 0025): one healthy sensor, one with drops whose
        // deltas were all parked, before its first start was known.
        "INSERT INTO sensors (sensor, version, host, interfaces, started_at, first_delta_at, last_delta_at, last_applied_at, deltas, parked, packets, bytes, kernel_dropped, if_dropped, queue_dropped, cap_drops) VALUES
            ('dc1-tap', '0.1.0', 'tap1', 'eth1,eth2', {T0}, {T0}, {T1}, {T2}, 12, 0, 9000, 1200000, 0, 0, 0, 0),
            ('dc2-tap', '0.1.0', 'tap2', 'a.pcap', NULL, {T1}, {T1}, {T1}, 0, 3, 0, 0, 17, 2, 5, 1)",
        // Routes declared in code (migration 0026): a scan with a route observed on endpoint 1
        // (its declared auth not enforced), one never observed; endpoint 2 declared nowhere.
        "INSERT INTO code_scans (id, name, hosts, scanned_at, files, routes) VALUES (1, '/src/orders', 'api.example.com', {T0}, 12, 2)",
        "INSERT INTO declared_routes (id, scan_id, method, path_template, framework, file, line, handler, auth, host, endpoint_id, endpoints, requests) VALUES
            (1, 1, 'GET', '/users/{id}', 'express', 'routes/users.js', 12, 'getUser', 'requireAuth', 'api.example.com', 1, 1, 10),
            (2, 1, '*', '/admin/{page}', 'express', 'routes/admin.js', 3, '', '', NULL, NULL, 0, 0)",
        "INSERT INTO endpoint_code (endpoint_id, status, route_id, declared_auth, auth_check) VALUES
            (1, 'declared', 1, 'requireAuth', 'not_enforced'), (2, 'undeclared', NULL, '', NULL)",
        "INSERT INTO endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen) VALUES
            (1, 'path', 'id', 'integer', 10, {T0}, {T1}), (1, 'query', 'q', 'string', 3, NULL, NULL)",
        "INSERT INTO endpoint_bodies (endpoint_id, direction, status, content_type, count, samples, shape, schema) VALUES
            (1, 'response', 200, 'application/json', 8, 8, '{}', '{\"type\":\"object\"}'),
            (2, 'request', 0, 'application/json', 4, 2, NULL, NULL)",
        // Auth: bearer_jwt has a row without times (its change time is unknown).
        "INSERT INTO endpoint_auth (endpoint_id, scheme, location, count, ok_count, first_seen, last_seen) VALUES
            (1, 'bearer_jwt', 'authorization', 8, 8, {T0}, {T1}), (1, 'bearer_jwt', 'cookie', 1, 0, NULL, NULL),
            (1, 'api_key_header', 'x-api-key', 2, 1, {T1}, {T1}), (2, 'none', '', 4, 4, {T0}, {T2})",
        "INSERT INTO endpoint_sensitive (endpoint_id, class, location, field, count, example, first_seen, last_seen) VALUES
            (1, 'email', 'response_body', 'user.email', 3, 'j***@example.com', {T1}, {T1}),
            (1, 'email', 'query', 'e', 1, 'a***@example.com', {T0}, {T0}),
            (1, 'credit_card', 'request_body', 'card', 1, '4***1111', {T1}, {T2})",
        "INSERT INTO endpoint_minutes (endpoint_id, minute, count, errors) VALUES
            (1, 28971360, 6, 1), (2, 28971360, 4, 0), (1, 28971361, 4, 1)",
        // Idle stretches (endpoint_gaps), written out of order in one statement.
        "INSERT INTO endpoint_minutes (endpoint_id, minute, count, errors) VALUES
            (1, 28971380, 1, 0), (1, 28971365, 1, 0), (2, 28971300, 2, 0), (2, 28971420, 1, 0),
            (2, 28971390, 1, 0), (1, 28971364, 1, 0)",
        // Findings: active, resolved, acknowledged, on a static endpoint.
        "INSERT INTO findings (id, kind, severity, host, method, path_template, client, detail, evidence, count, first_seen, last_seen, dedup_key) VALUES
            (1, 'missing_auth', 'high', 'api.example.com', 'GET', '/users/{id}', NULL, 'no auth', '', 2, {T0}, {T1}, 'k1'),
            (2, 'pii_exposure', 'critical', 'api.example.com', 'GET', '/users/{id}', NULL, 'email in body', 'user.email', 1, {T1}, {T1}, 'k2'),
            (3, 'weak_tls', 'medium', 'ws.example.com', 'GET', '/ws', NULL, 'TLS 1.0', '', 1, {T0}, {T0}, 'k3'),
            (4, 'bola', 'low', 'api.example.com', 'POST', '/graphql#query GetUser', '203.0.113.5', 'ids', '', 5, {T0}, {T2}, 'k4')",
        "INSERT INTO finding_triage (dedup_key, state, actor, reason, at) VALUES
            ('k2', 'resolved', 'alice', 'fixed', {T2}), ('k4', 'acknowledged', 'bob', '', {T2})",
        "INSERT INTO finding_triage_history (id, dedup_key, from_state, to_state, actor, reason, at) VALUES
            (1, 'k2', 'open', 'resolved', 'alice', 'fixed', {T2}), (2, 'k4', 'open', 'acknowledged', 'bob', '', {T2}),
            (3, 'gone', 'open', 'false_positive', 'carol', 'noise', {T1})",
        // Transitions: average gaps 0.35 (rounds to 0.4), 3.333.., 0.5.
        "INSERT INTO transitions (from_endpoint, to_endpoint, count, clients, first_seen, last_seen, clients_hll, gap_sum_ms) VALUES
            (1, 2, 20, 3, {T0}, {T1}, NULL, 7), (2, 1, 3, 1, {T1}, {T2}, NULL, 10), (1, 3, 4, 1, {T0}, {T0}, NULL, 2)",
        "INSERT INTO sequence_paths (step1, step2, step3, count, clients, clients_hll, first_seen, last_seen) VALUES
            (1, 2, 1, 5, 2, NULL, {T0}, {T2})",
        "INSERT INTO specs (id, name, sha256, title, version, format, servers, imported_at) VALUES
            (1, 'users.yaml', 'cc33', 'Users', '1.0', 'openapi-3.0', '[]', {T2})",
        "INSERT INTO spec_operations (id, spec_id, host, method, path_template, operation_id, deprecated, endpoint_id) VALUES
            (1, 1, NULL, 'GET', '/users/{id}', 'getUser', 0, 1), (2, 1, 'api.example.com', 'DELETE', '/users/{id}', 'deleteUser', 1, 5),
            (3, 1, NULL, 'PUT', '/users/{id}', '', 0, NULL)",
        "INSERT INTO drift (endpoint_id, kind, item, detail) VALUES
            (1, 'undocumented_query_param', 'q', 'query parameter q is not documented')",
        "INSERT INTO endpoint_aliases (old_id, new_id, host, method, old_template, merged_at) VALUES
            (9, 1, 'api.example.com', 'GET', '/users/alice', {T1})",
        "INSERT INTO template_pins (host, path_template, created_at) VALUES
            ('', '/users/{id}', {T0}), ('api.example.com', '/orders/{order}', {T1})",
        // TLS: one service with a certificate valid to 9999-12-31T23:59:59Z, one without SNI.
        "INSERT INTO tls_services (id, host, sni, server_ip, server_port, first_seen, last_seen, handshakes, incomplete, resumed, client_bytes, server_bytes, versions, ciphers, alpn_offered, alpn_selected, version, cipher, cert_subject, cert_issuer, cert_sans, cert_not_before, cert_not_after, cert_key, cert_self_signed, cert_chain_len, cert_sha256) VALUES
            (1, 'api.example.com', 'api.example.com', '192.0.2.1', 443, {T0}, {T1}, 5, 1, 2, 100, 200, '{\"TLS 1.2\":5}', '{}', '{\"h2\":5}', '{}', 'TLS 1.2', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'CN=api.example.com', 'CN=Example CA', '[\"api.example.com\"]', 1700000000, 253402300799, 'rsa 2048', 0, 2, 'dd44'),
            (2, '192.0.2.2', '', '192.0.2.2', 8443, {T1}, {T2}, 1, 1, 0, 0, 0, '{}', '{}', '{}', '{}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        "INSERT INTO tls_clients (service_id, client, ja4, ja4s, handshakes, first_seen, last_seen) VALUES
            (1, '10.0.0.1', 't13d1516h2_8daaf6152771_b186095e22b6', 't130200_1301_234ea6891581', 3, {T0}, {T1}),
            (1, '10.0.0.2', 't13d1516h2_8daaf6152771_b186095e22b6', '', 1, {T1}, {T1}),
            (1, '10.0.0.3', '', '', 1, {T1}, {T1}), (2, '10.0.0.1', 't12d0000h1_000000000000_000000000000', '', 1, {T2}, {T2})",
        "INSERT INTO endpoint_grpc (endpoint_id, service, method, service_kind, client_streamed, server_streamed, calls, messages_in, messages_out, request_size_min, request_size_max, response_size_min, response_size_max, compressed_messages, truncated_bodies) VALUES
            (3, 'pkg.Svc', 'Call', 'application', 1, 0, 9, 12, 9, 1, 100, 2, 200, 0, 1)",
        "INSERT INTO endpoint_grpc_status (endpoint_id, status, count) VALUES (3, 0, 6), (3, 5, 1), (3, -1, 2), (3, 14, 0)",
        "INSERT INTO endpoint_websockets (endpoint_id, connections, text_client, binary_client, text_server, binary_server, bytes_client, bytes_server, frames_client, frames_server, pings, max_message_bytes, size_hist, p50_message_bytes, p99_message_bytes, close_codes, subprotocols, duration_ms_total, duration_ms_max, deflate, accept_mismatches, not_decoded, stopped) VALUES
            (4, 3, 10, 2, 8, 1, 1000, 2000, 30, 40, 4, 512, '[0,1,2]', 511, 511, '{\"1000\":2,\"1006\":1}', '{\"chat\":3}', 1000, 600, 1, 0, 0, 0)",
    ];
    s.iter()
        .map(|q| {
            q.replace("{T0}", &T0.to_string())
                .replace("{T1}", &T1.to_string())
                .replace("{T2}", &T2.to_string())
        })
        .collect()
}

/// Changes after the first rows, through the paths the triggers watch: a classification, a
/// triage state reopened, an external client gone, a scope, a minute's count, an endpoint
/// deleted (cascading to its rows).
const CHANGES: &[&str] = &[
    "UPDATE endpoints SET classification = 'zombie' WHERE id = 1",
    "UPDATE finding_triage SET state = 'open' WHERE dedup_key = 'k2'",
    "DELETE FROM endpoint_clients WHERE endpoint_id = 1 AND client = '203.0.113.5'",
    "UPDATE endpoints SET scope = 'third_party', scope_reason = 'not ours' WHERE id = 2",
    "UPDATE endpoint_minutes SET count = count + 5, errors = errors + 1 WHERE endpoint_id = 2",
    "UPDATE endpoints SET request_count = request_count + 1, last_seen = last_seen + 1000000 WHERE id = 3",
    "UPDATE endpoint_auth SET first_seen = first_seen + 7200000000000 WHERE endpoint_id = 1 AND location = 'x-api-key'",
    "UPDATE endpoint_auth SET first_seen = 1 WHERE endpoint_id = 1 AND location = 'cookie'",
    "DELETE FROM endpoint_sensitive WHERE endpoint_id = 1 AND location = 'query'",
    "UPDATE endpoint_clients SET first_seen = first_seen + 3600000000000 WHERE endpoint_id = 1 AND client = '10.0.0.1'",
    "UPDATE endpoint_params SET first_seen = first_seen + 3600000000000 WHERE endpoint_id = 1 AND name = 'id'",
    "DELETE FROM endpoints WHERE id = 4",
    "INSERT INTO endpoint_minutes (endpoint_id, minute, count, errors) VALUES
        (1, 28971370, 1, 0), (1, 28971361, 1, 0), (2, 28971500, 1, 0)
        ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = endpoint_minutes.count + excluded.count",
    "DELETE FROM endpoint_minutes WHERE minute < 28971361",
];

/// Internal tables kept by triggers, compared as the views are.
const INTERNAL: &[&str] = &[
    "SELECT id, risk_score, max_severity, exposure, client_rows FROM endpoints",
    "SELECT * FROM inventory_totals",
    "SELECT * FROM inventory_minutes",
    "SELECT * FROM inventory_clients",
    "SELECT * FROM host_clients",
    "SELECT * FROM change_hours WHERE n <> 0",
    "SELECT * FROM endpoint_gaps",
];

/// Header line, then the rows sorted (views have no order).
fn table(columns: Vec<String>, mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    let mut out = vec![columns.join(" | ")];
    out.extend(rows);
    out
}

async fn sqlite_rows(pool: &SqlitePool, sql: &str) -> Vec<String> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("SQLite {sql}: {e}"));
    let columns = rows
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect());
    let lines = rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| postgres::sqlite_value(r, i))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    table(columns.unwrap_or_default(), lines)
}

async fn pg_rows(pool: &PgPool, sql: &str) -> Vec<String> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {sql}: {e}"));
    let columns = rows
        .first()
        .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect());
    let lines = rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| postgres::pg_value(r, i))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    table(columns.unwrap_or_default(), lines)
}

/// Every public view and internal sum on both; the differences, or none. Every view must have
/// rows (an empty view compares nothing).
async fn compare(sqlite: &SqlitePool, pg: &PgPool, views: &[String], stage: &str) -> Vec<String> {
    let mut diff = Vec::new();
    let queries = views
        .iter()
        .map(|v| format!("SELECT * FROM {v}"))
        .chain(INTERNAL.iter().map(|q| q.to_string()));
    for sql in queries {
        let a = sqlite_rows(sqlite, &sql).await;
        let b = pg_rows(pg, &sql).await;
        if a.len() < 2 {
            diff.push(format!(
                "{stage}: {sql}: no rows on SQLite: the fixture misses this view"
            ));
        }
        if a != b {
            diff.push(format!(
                "{stage}: {sql}\n  SQLite:\n    {}\n  PostgreSQL:\n    {}",
                a.join("\n    "),
                b.join("\n    ")
            ));
        }
    }
    diff
}

#[tokio::test]
async fn views_give_the_same_rows_on_both() {
    let Some(db) = postgres::database("same_rows").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_inventory(dir.path()).await;
    let pg = pg_inventory(&db).await;
    for sql in fixture() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&sqlite)
            .await
            .unwrap_or_else(|e| panic!("SQLite {sql}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&pg)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL {sql}: {e}"));
    }
    let views: Vec<String> = sqlite_views(&sqlite).await.into_keys().collect();
    let mut diff = compare(&sqlite, &pg, &views, "after the inserts").await;
    for sql in CHANGES {
        sqlx::raw_sql(*sql)
            .execute(&sqlite)
            .await
            .unwrap_or_else(|e| panic!("SQLite {sql}: {e}"));
        sqlx::raw_sql(*sql)
            .execute(&pg)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL {sql}: {e}"));
    }
    diff.extend(
        compare(&sqlite, &pg, &views, "after the changes")
            .await
            .into_iter()
            // After the changes some views may be empty (the WebSocket endpoint is gone).
            .filter(|d| !d.ends_with("the fixture misses this view")),
    );
    assert!(diff.is_empty(), "{}", diff.join("\n\n"));
}

/// SQLite's round(x, 1) and the PostgreSQL views' shadowtap_round1 (api_transitions'
/// avg_gap_ms) agree on every quotient of small integers, ties of binary fractions
/// (0.25 -> 0.3) and decimal "ties" that are not (0.35 is below: 0.3) included, and on
/// negatives.
#[tokio::test]
async fn rounding_of_averages_agrees() {
    let Some(db) = postgres::database("rounding").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_inventory(dir.path()).await;
    let pg = pg_inventory(&db).await;
    let grid = "WITH RECURSIVE g(n) AS (SELECT -200 UNION ALL SELECT n + 1 FROM g WHERE n < 3000),
                c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 64)";
    let sqlite_sql = format!(
        "{grid} SELECT g.n, c.n, round(CAST(g.n AS REAL) / c.n, 1) FROM g, c ORDER BY 1, 2"
    );
    let pg_sql = format!(
        "{grid} SELECT g.n::bigint, c.n::bigint, shadowtap_round1(g.n::float8 / c.n) FROM g, c ORDER BY 1, 2"
    );
    let a: Vec<(i64, i64, f64)> = sqlx::query_as(sqlx::AssertSqlSafe(sqlite_sql))
        .fetch_all(&sqlite)
        .await
        .unwrap();
    let b: Vec<(i64, i64, f64)> = sqlx::query_as(sqlx::AssertSqlSafe(pg_sql))
        .fetch_all(&pg)
        .await
        .unwrap();
    assert_eq!(a.len(), 3201 * 64);
    let differ: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.0 != y.0 || x.1 != y.1 || x.2.to_bits() != y.2.to_bits())
        .take(20)
        .map(|(x, y)| format!("{}/{}: SQLite {:?}, PostgreSQL {:?}", x.0, x.1, x.2, y.2))
        .collect();
    assert!(
        differ.is_empty(),
        "round(x, 1) differs:\n{}",
        differ.join("\n")
    );
}
