//! Render times of the dashboard over a large inventory: 10,000 endpoints on 40 hosts (with
//! status codes, clients, auth schemes, three parameters, sensitive data and 30 minutes of
//! per-minute counts each), a finding per ten endpoints (at least 1,000) and 5,000 transitions,
//! inserted directly with SQL.
//!
//!     cargo bench --bench dashboard            # full run
//!     cargo bench --bench dashboard -- quick   # fewer iterations
//!     SHADOWTAP_BENCH_ENDPOINTS=100000 cargo bench --bench dashboard -- quick
//!     SHADOWTAP_BENCH_DB=/tmp/b.db SHADOWTAP_BENCH_REUSE=1 cargo bench --bench dashboard -- quick changes
//!
//! Each page is requested through `app(state).oneshot(..)` (no network), after warm-up; the
//! report gives the median, 95th percentile and minimum of the wall time of the whole request
//! (SQL, templates, charts).
//!
//! A fleet's centre (issue 18): with `SHADOWTAP_BENCH_CENTRAL=postgres://...` (an empty
//! database; `benches/fleet_dashboard.sh` makes one) the same inventory is written into
//! PostgreSQL instead, each endpoint seen by one to three of 10 sensors, and the dashboard
//! reads it as `serve --db postgres://...` does (the Fleet page and the sensor filter added).
//! `SHADOWTAP_BENCH_BULK=1` loads the centre's minute rows in bulk (see `populate_central`);
//! `SHADOWTAP_BENCH_REUSE=1` measures a centre populated by an earlier run again.
//!
//! `SHADOWTAP_BENCH_ASSESS=1` also times the assessment (`store::spec::assess_on`: scope,
//! scanner probes, TLS, auth consistency; what a sensor runs every `assess_interval` and the
//! centre after its rounds) over the inventory, first on the fresh inventory then again, and
//! measures the pages over the assessed inventory.

#[path = "../tests/support/mod.rs"]
mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use std::path::Path;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Endpoints by default; `SHADOWTAP_BENCH_ENDPOINTS=100000` for a larger inventory.
const ENDPOINTS: i64 = 10_000;

fn endpoints() -> i64 {
    std::env::var("SHADOWTAP_BENCH_ENDPOINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1_000)
        .unwrap_or(ENDPOINTS)
}
/// Findings: one per ten endpoints, at least 1,000 (10,000 at 100,000 endpoints).
fn findings() -> i64 {
    (endpoints() / 10).max(1_000)
}
const TRANSITIONS: i64 = 5_000;
const MINUTES: i64 = 30;

/// The statements that write the inventory, in SQL both backends run.
fn statements() -> Vec<String> {
    let t0 = 28_000_000i64; // minutes since the epoch (2023)
    let ns = |m: i64| m * 60_000_000_000;
    let n_endpoints = endpoints();
    let statements: Vec<String> = vec![
        format!(
            "WITH RECURSIVE n(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO endpoints (host, method, path_template, example_path, first_seen, last_seen,
                 request_count, response_count, error_count, bytes_in, bytes_out, client_estimate,
                 p50_ms, p90_ms, p99_ms, documented, deprecated, classification)
             SELECT 'api' || (i % 40) || '.bench.test',
                    CASE i % 5 WHEN 0 THEN 'GET' WHEN 1 THEN 'POST' WHEN 2 THEN 'PUT' WHEN 3 THEN 'PATCH' ELSE 'DELETE' END,
                    '/api/v' || (i % 3 + 1) || '/resource' || (i / 40) || '/{{item_id}}/' || CASE i % 4 WHEN 0 THEN 'detail' WHEN 1 THEN 'history' WHEN 2 THEN 'export' ELSE 'items' END,
                    '/api/v' || (i % 3 + 1) || '/resource' || (i / 40) || '/' || i || '/detail',
                    {first} + (i % 97) * 1000000000, {last_ns} - (i % 89) * 1000000000,
                    (i * 7919) % 5000 + 1, (i * 7919) % 5000 + 1, (i * 31) % 50, i * 10, i * 100, 0,
                    (i % 200) / 10.0 + 0.5, (i % 200) / 5.0 + 1.0, (i % 200) / 2.0 + 2.0,
                    CAST(i % 3 <> 0 AS INTEGER), CAST(i % 17 = 0 AS INTEGER),
                    CASE i % 4 WHEN 0 THEN 'documented' WHEN 1 THEN 'shadow' WHEN 2 THEN 'documented' ELSE CASE WHEN i % 17 = 0 THEN 'zombie' ELSE NULL END END
             FROM n",
            last = n_endpoints - 1,
            first = ns(t0),
            last_ns = ns(t0 + MINUTES),
        ),
        "INSERT INTO endpoint_status SELECT id, 200, request_count - error_count FROM endpoints".into(),
        "INSERT INTO endpoint_status SELECT id, 404, error_count FROM endpoints WHERE error_count > 0".into(),
        format!(
            "WITH RECURSIVE c(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM c WHERE k < 2)
             INSERT INTO endpoint_clients SELECT e.id, '10.0.' || (e.id % 250) || '.' || (k + 1), 5 + k, {a}, {b} FROM endpoints e, c",
            a = ns(t0),
            b = ns(t0 + MINUTES)
        ),
        "INSERT INTO endpoint_auth (endpoint_id, scheme, location, count, ok_count, first_seen, last_seen)
         SELECT id, CASE id % 4 WHEN 0 THEN 'none' WHEN 1 THEN 'bearer_jwt' WHEN 2 THEN 'api_key_header' ELSE 'basic' END, '',
                request_count, request_count - error_count, first_seen, last_seen FROM endpoints".into(),
        // Two query parameters per endpoint, first seen with it (the change feed reads them).
        "INSERT INTO endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)
         SELECT id, 'query', 'page', 'integer', request_count, first_seen, last_seen FROM endpoints
         UNION ALL
         SELECT id, 'query', 'q' || (id % 7), 'string', request_count / 2 + 1, first_seen + 60000000000, last_seen FROM endpoints".into(),
        "INSERT INTO endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)
         SELECT id, 'path', 'item_id', 'integer', request_count, first_seen, last_seen FROM endpoints".into(),
        format!(
            "INSERT INTO endpoint_sensitive SELECT id, CASE id % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'phone' ELSE 'credit_card' END,
                 'response_body', 'user.contact', 3, 'a***@example.com', {a}, {b} FROM endpoints WHERE id % 10 = 0",
            a = ns(t0),
            b = ns(t0 + MINUTES)
        ),
        format!(
            "WITH RECURSIVE m(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM m WHERE k < {last})
             INSERT INTO endpoint_minutes SELECT e.id, {t0} + k, (e.id + k) % 40 + 1, CAST((e.id + k) % 7 = 0 AS INTEGER) FROM endpoints e, m",
            last = MINUTES - 1
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO findings (kind, severity, host, method, path_template, client, detail, evidence, count, first_seen, last_seen, dedup_key)
             SELECT CASE i % 6 WHEN 0 THEN 'jwt_alg_none_accepted' WHEN 1 THEN 'credentials_in_url' WHEN 2 THEN 'shadow_api'
                        WHEN 3 THEN 'basic_auth_cleartext' WHEN 4 THEN 'jwt_long_lived' ELSE 'verbose_errors' END,
                    CASE i % 6 WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' WHEN 3 THEN 'medium' WHEN 4 THEN 'low' ELSE 'medium' END,
                    e.host, e.method, e.path_template, '10.0.0.' || (i % 250),
                    'Answered 200 to a request from `10.0.0.' || (i % 250) || '` that should have been refused.',
                    'evidence ' || i, i % 20 + 1, {a}, {b}, 'bench-' || i
             FROM n JOIN endpoints e ON e.id = 1 + (i * 9973) % {endpoints}",
            last = findings() - 1,
            endpoints = n_endpoints,
            a = ns(t0),
            b = ns(t0 + MINUTES)
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO transitions (from_endpoint, to_endpoint, count, clients, first_seen, last_seen) SELECT a.id, b.id, (i * 37) % 500 + 1, i % 20 + 1, {a}, {b}
             FROM n JOIN endpoints a ON a.id = 1 + (i * 40) % {endpoints}
                    JOIN endpoints b ON b.id = 1 + ((i * 40) % {endpoints} + 40 * (1 + i % 7)) % {endpoints}
             ON CONFLICT DO NOTHING",
            last = TRANSITIONS - 1,
            endpoints = n_endpoints,
            a = ns(t0),
            b = ns(t0 + MINUTES)
        ),
        "ANALYZE".into(),
    ];
    statements
}

/// With `SHADOWTAP_BENCH_ASSESS=1`: the assessment's time over `db`, twice (the first run
/// stores every endpoint's scope and the probes' findings, the second finds them unchanged).
async fn time_assessment(db: &shadowtap::store::db::Db) {
    if std::env::var_os("SHADOWTAP_BENCH_ASSESS").is_none() {
        return;
    }
    for run in ["first", "again"] {
        let t = Instant::now();
        let a = shadowtap::store::spec::assess_on(db).await.expect("assess");
        println!(
            "assessment ({run}): {:.0} ms, {} findings in all, {} probing clients",
            ms(t.elapsed()),
            a.findings_total,
            a.probing_clients
        );
    }
}

async fn populate(db: &Path) {
    let store = Store::open(db).await.expect("create the database");
    let pool = &support::sql(&store).await;
    for sql in statements() {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .expect("populate");
    }
    store.close().await;
}

/// Sensors of the centre's inventory.
const SENSORS: i64 = 10;

/// Writes the inventory into the centre at `url` (migrated by `central::open`), each endpoint
/// seen by one to three of [`SENSORS`] sensors, each sensor with its health row.
async fn populate_central(url: &str) {
    let pool = shadowtap::fleet::central::open(url)
        .await
        .expect("the centre");
    let mut all = statements();
    all.insert(
        all.len() - 1,
        format!(
            "INSERT INTO endpoint_sensors (endpoint_id, sensor, count, first_seen, last_seen)
             SELECT e.id, 'tap-' || ((e.id + k) % {SENSORS}), e.request_count / (1 + e.id % 3), e.first_seen, e.last_seen
             FROM endpoints e, generate_series(0, 2) k WHERE k <= e.id % 3"
        ),
    );
    all.insert(
        all.len() - 1,
        format!(
            "INSERT INTO sensors (sensor, version, host, interfaces, started_at, first_delta_at, last_delta_at,
                 last_applied_at, deltas, parked, packets, bytes, kernel_dropped, if_dropped,
                 queue_dropped, cap_drops)
             SELECT 'tap-' || n, '0.1.0', 'tap' || n || '.dc.example', 'eth1', {now} - 86400000000000,
                    {now} - 86400000000000, {now} - n * 1000000000, {now} - n * 1000000000 + (40 + n) * 1000000,
                    1000 + n, 0, 1000000 * n, 800000000 * n, n % 3, 0, 0, 0
             FROM generate_series(CAST(0 AS BIGINT), {last}) n",
            now = shadowtap::time::Timestamp::now().as_nanos(),
            last = SENSORS - 1
        ),
    );
    // The minute rows (30 per endpoint) are the bulk of the load: through the row triggers
    // that keep `inventory_minutes` and `endpoint_gaps` they take under 1,300 rows/s, so
    // with `SHADOWTAP_BENCH_BULK=1` they are written with those triggers off and both kept
    // tables are then computed once, as their triggers would leave them (checked at 10,000
    // endpoints: the same rows either way).
    let bulk = std::env::var_os("SHADOWTAP_BENCH_BULK").is_some();
    for sql in all {
        let minutes = sql.contains("INSERT INTO endpoint_minutes");
        if bulk && minutes {
            sqlx::raw_sql("ALTER TABLE endpoint_minutes DISABLE TRIGGER USER")
                .execute(&pool)
                .await
                .expect("triggers off");
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .expect("populate the centre");
        if bulk && minutes {
            sqlx::raw_sql(
                "ALTER TABLE endpoint_minutes ENABLE TRIGGER USER;
                 DELETE FROM inventory_minutes;
                 INSERT INTO inventory_minutes (minute, count, errors)
                 SELECT minute, SUM(count), SUM(errors) FROM endpoint_minutes GROUP BY minute;
                 -- What the gap triggers leave: the idle stretches between called minutes,
                 -- and before the first one when the endpoint was seen earlier (no
                 -- whole-range row for an endpoint that has minutes).
                 DELETE FROM endpoint_gaps WHERE endpoint_id IN (SELECT endpoint_id FROM endpoint_minutes);
                 INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
                 SELECT endpoint_id, prev, minute, shadowtap_gap_level(minute - prev)
                 FROM (SELECT endpoint_id, minute,
                              LAG(minute) OVER (PARTITION BY endpoint_id ORDER BY minute) AS prev
                       FROM endpoint_minutes) s
                 WHERE prev IS NOT NULL AND minute - prev > 1;
                 INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
                 SELECT m.endpoint_id, -1099511627776, m.first_minute,
                        shadowtap_gap_level(m.first_minute + 1099511627776)
                 FROM (SELECT endpoint_id, MIN(minute) AS first_minute FROM endpoint_minutes GROUP BY endpoint_id) m
                 JOIN endpoints e ON e.id = m.endpoint_id
                 WHERE floor(e.first_seen / 60000000000.0) < m.first_minute",
            )
            .execute(&pool)
            .await
            .expect("the kept sums of the minutes");
        }
    }
    pool.close().await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let iterations = if quick { 5 } else { 30 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // SHADOWTAP_BENCH_DB=path keeps the inventory for a look with sqlite3.
    let db = std::env::var_os("SHADOWTAP_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    // SHADOWTAP_BENCH_REUSE=1 with SHADOWTAP_BENCH_DB: measure a kept inventory again (it is
    // built when the file is missing).
    let reuse = std::env::var_os("SHADOWTAP_BENCH_REUSE").is_some() && db.exists();
    if !reuse {
        let _ = std::fs::remove_file(&db);
    }
    // Arguments other than `quick` keep only the pages whose name contains one of them.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "quick" && !a.starts_with('-'))
        .collect();
    let central = std::env::var("SHADOWTAP_BENCH_CENTRAL").ok();
    rt.block_on(async {
        let started = Instant::now();
        if let Some(url) = &central {
            // `SHADOWTAP_BENCH_REUSE=1`: a centre populated by an earlier run is measured again
            // (brought to the current migrations, its planner statistics refreshed).
            let owner = shadowtap::fleet::central::open(url).await.unwrap();
            let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM endpoints")
                .fetch_one(&owner)
                .await
                .unwrap();
            if std::env::var_os("SHADOWTAP_BENCH_REUSE").is_none() || kept == 0 {
                populate_central(url).await;
            }
            // A bulk load leaves the visibility map empty, so PostgreSQL reads every row's
            // page to count it (no index-only scans) until autovacuum has passed: measure the
            // state autovacuum leaves, as a running centre has it.
            sqlx::raw_sql("VACUUM ANALYZE").execute(&owner).await.unwrap();
            owner.close().await;
            let owner = shadowtap::fleet::central::open(url).await.unwrap();
            time_assessment(&shadowtap::store::db::Db::Pg(owner.clone())).await;
            owner.close().await;
            let inventory = shadowtap::store::pg::PgInventory::open(url).await.unwrap();
            println!(
                "centre: {} endpoints from {SENSORS} sensors (built in {:.1} s)",
                endpoints(),
                started.elapsed().as_secs_f64()
            );
            let app = web::app(
                AppState::central(inventory, "centre".into(), AuthConfig::default()).unwrap(),
            );
            let mut pages: Vec<(&str, &str)> = PAGES.to_vec();
            pages.extend([
                ("fleet", "/fleet"),
                ("api: fleet", "/api/fleet"),
                ("endpoints, one sensor", "/endpoints?sensor=tap-3"),
                ("endpoints, one sensor + host", "/endpoints?sensor=tap-3&host=api7.bench.test"),
            ]);
            measure(&app, &pages, &only, iterations, None).await;
            return;
        }
        if reuse {
            // Brings a kept inventory to the current migrations, and its planner statistics
            // to its indexes (as the daemon does hourly and an ingest at its end).
            Store::open(&db).await.unwrap().optimize().await.unwrap();
        } else {
            populate(&db).await;
        }
        let writer = Store::open(&db).await.unwrap();
        time_assessment(&writer.db()).await;
        writer.close().await;
        let store = Store::open_read_only(&db).await.unwrap();
        let counts: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM endpoints), (SELECT COUNT(*) FROM findings),
                    (SELECT COUNT(*) FROM transitions), (SELECT COUNT(*) FROM endpoint_minutes)",
        )
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
        println!(
            "inventory: {} endpoints, {} findings, {} transitions, {} endpoint-minutes (built in {:.1} s)",
            counts.0,
            counts.1,
            counts.2,
            counts.3,
            started.elapsed().as_secs_f64()
        );
        let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
        measure(&app, &PAGES, &only, iterations, Some(&db)).await;
    });
}

/// Requests each page of `pages` (those whose name contains one of `only`, when given)
/// `iterations` times after two warm-ups and prints its times. `cold_db`: the SQLite file a
/// new dashboard is opened on for the pages measured cold.
async fn measure(
    app: &axum::Router,
    pages: &[(&str, &str)],
    only: &[String],
    iterations: usize,
    cold_db: Option<&Path>,
) {
    println!(
        "{:<42} {:>9} {:>9} {:>9} {:>10}",
        "page", "median", "p95", "min", "size"
    );
    for &(name, path) in pages {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let mut times = Vec::with_capacity(iterations);
        let mut size = 0;
        for i in 0..iterations + 2 {
            let req = Request::get(path)
                .header(header::HOST, "127.0.0.1")
                .body(Body::empty())
                .unwrap();
            // The overview caches its traffic series, the Hosts page its requests per
            // (client, host), while the inventory does not change: a new dashboard measures
            // the first view.
            let app = match cold_db.filter(|_| name.contains("cold")) {
                Some(db) => {
                    let store = Store::open_read_only(db).await.unwrap();
                    web::app(AppState::new(store, AuthConfig::default()).unwrap())
                }
                None => app.clone(),
            };
            let t = Instant::now();
            let resp = app.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let elapsed = t.elapsed();
            size = body.len();
            if i >= 2 {
                times.push(elapsed);
            }
        }
        times.sort();
        println!(
            "{:<42} {:>6.1} ms {:>6.1} ms {:>6.1} ms {:>7} kB",
            name,
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(times[0]),
            size / 1024
        );
    }
}

const PAGES: [(&str, &str); 33] = [
    ("overview, cold (new dashboard each time)", "/"),
    ("overview", "/"),
    ("endpoints, first page (by risk)", "/endpoints"),
    ("endpoints, by requests", "/endpoints?sort=requests"),
    (
        "endpoints, high or critical",
        "/endpoints?min_severity=high",
    ),
    ("endpoints, host filter", "/endpoints?host=api7.bench.test"),
    (
        "endpoints, search + findings",
        "/endpoints?q=resource12&findings=yes",
    ),
    (
        "endpoints, sensitive + sort p99, page 3",
        "/endpoints?sensitive=any&sort=p99&page=3",
    ),
    ("endpoints, sort by clients", "/endpoints?sort=clients"),
    (
        "endpoints, class + auth, 500 rows",
        "/endpoints?class=shadow&auth=api_key_header&per=500",
    ),
    ("endpoints, last page", "/endpoints?page=200"),
    ("endpoint detail", "/endpoints/5000"),
    ("findings, first page", "/findings"),
    (
        "findings, high, search",
        "/findings?severity=high&q=10.0.0.7",
    ),
    ("findings, page 20", "/findings?page=20"),
    ("sequences (busiest host)", "/sequences"),
    ("hosts, cold (new dashboard each time)", "/hosts"),
    ("hosts (with the service map)", "/hosts"),
    ("hosts, by findings", "/hosts?sort=findings"),
    ("host page", "/hosts/api7.bench.test"),
    ("changes, last 24 h (default)", "/changes"),
    ("changes, last 5 min", "/changes?since=5m"),
    ("api: hosts", "/api/hosts"),
    (
        "api: changes, since the start",
        "/api/changes?since=2023-01-01T00:00:00Z",
    ),
    ("api: endpoints", "/api/endpoints"),
    ("api: overview", "/api/overview"),
    ("overview, last hour", "/?range=1h"),
    (
        "overview, custom range inside the traffic",
        "/?from=2023-03-28T10:50:00Z&to=2023-03-28T11:00:00Z",
    ),
    ("endpoints, last hour", "/endpoints?range=1h"),
    (
        "endpoints, custom range inside the traffic",
        "/endpoints?from=2023-03-28T10:50:00Z&to=2023-03-28T11:00:00Z",
    ),
    ("findings, last 24 h", "/findings?range=24h"),
    ("hosts, last hour", "/hosts?range=1h"),
    ("host page, last hour", "/hosts/api7.bench.test?range=1h"),
];
