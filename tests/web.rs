//! The dashboard's handlers, through `app(state).oneshot(request)`, over an inventory ingested
//! from `captures/rest_api.pcap` (with its OpenAPI document imported) and
//! `captures/hostile.pcap` (HTML/JS payloads in every string); the TLS pages over
//! `captures/tls12.pcap` and `captures/tls_weak.pcap`.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const TOKEN: &str = "test-token-0123456789abcdef";

/// The payloads of `captures/hostile.pcap`, as raw markup that must never appear in a page.
const RAW_PAYLOADS: [&str; 8] = [
    "<script>alert(1)</script>",
    "<script>alert(2)</script>",
    "<script>alert(6)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(2)>",
    "<img src=x onerror=alert(8)>",
    "<svg/onload=alert(10)>",
    "<svg/onload=alert(5)>",
];

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// Builds the fixture inventory once (in its own runtime) and returns its path.
fn fixture() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        std::thread::spawn(|| {
            // Under target/tmp: kept for the whole test binary, removed by `cargo clean`.
            let dir = tempfile::Builder::new()
                .prefix("shadowtap-web-test")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .unwrap()
                .keep();
            let db = dir.join("inventory.db");
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(build_inventory(&db));
            db
        })
        .join()
        .unwrap()
    })
}

async fn build_inventory(db: &Path) {
    let store = Store::open(db).await.unwrap();
    let files = [
        captures().join("rest_api.pcap"),
        captures().join("hostile.pcap"),
    ];
    ingest_files(&store, &files, &IngestOptions::default(), |_| {})
        .await
        .unwrap();
    // Transitions between the REST endpoints and into and out of the hostile ones, so the
    // sequence graph has nodes with hostile labels (the sequence analysis may add more).
    let sql = support::sql(&store).await;
    let id = |host: &'static str, method: &'static str, path: &'static str| {
        let pool = sql.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM endpoints WHERE host = ? AND method = ? AND path_template = ?",
            )
            .bind(host)
            .bind(method)
            .bind(path)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{method} {host}{path}: {e}"))
        }
    };
    let login = id("api.acme.test", "POST", "/api/v1/auth/login").await;
    let me = id("api.acme.test", "GET", "/api/v1/users/me").await;
    let cart = id("api.acme.test", "GET", "/api/v1/cart").await;
    let hello = id("<script>alert(1)</script>", "GET", "/hello").await;
    let upload = id("<script>alert(1)</script>", "POST", "/chunked/upload").await;
    for (a, b, n) in [
        (login, me, 5),
        (me, cart, 3),
        (cart, me, 1),
        (hello, upload, 2),
        (upload, hello, 1),
    ] {
        sqlx::query("INSERT OR IGNORE INTO transitions (from_endpoint, to_endpoint, count, clients, first_seen, last_seen) VALUES (?, ?, ?, 1, 0, 1)")
            .bind(a)
            .bind(b)
            .bind(n)
            .execute(&sql)
            .await
            .unwrap();
    }
    store.close().await;
    let spec = std::fs::read(captures().join("rest_api.openapi.yaml")).unwrap();
    web::spec_import::import_spec(db, "rest_api.openapi.yaml", &spec)
        .await
        .unwrap();
}

async fn app_with(auth: AuthConfig) -> Router {
    let store = Store::open_read_only(fixture()).await.unwrap();
    web::app(AppState::new(store, auth).unwrap())
}

async fn app() -> Router {
    app_with(AuthConfig::default()).await
}

use support::dashboard::{Resp, send};

fn get_req(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::empty())
        .unwrap()
}

async fn get(app: &Router, path: &str) -> Resp {
    send(app, get_req(path)).await
}

async fn get_ok(app: &Router, path: &str) -> Resp {
    let r = get(app, path).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
    r
}

fn q(s: &str) -> String {
    shadowtap::web::fmt::qs(s)
}

async fn endpoint_id(app: &Router, search: &str, method: &str, path: &str) -> i64 {
    let j = get_ok(app, &format!("/api/endpoints?q={}&per=500", q(search)))
        .await
        .json();
    j["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == method && e["path_template"] == path)
        .unwrap_or_else(|| panic!("no {method} {path} in {j}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn every_page_returns_200_with_its_content() {
    // No sensor runs in this process (`serve`): nothing to refresh.
    assert!(
        !get_ok(&app().await, "/")
            .await
            .body
            .contains("auto-refresh")
    );
    let app = app().await;
    let me = endpoint_id(&app, "users/me", "GET", "/api/v1/users/me").await;
    let pages: Vec<(String, Vec<&str>)> = vec![
        (
            "/".into(),
            vec![
                "Traffic over time",
                "Endpoints by classification",
                "Findings by severity",
                "Newest endpoints",
                "api.acme.test",
                "<svg class=\"chart\"",
            ],
        ),
        (
            "/endpoints".into(),
            vec![
                "/api/v1/users/{user_id}",
                "api.acme.test",
                "id=\"endpoint-table\"",
            ],
        ),
        (
            format!("/endpoints/{me}"),
            vec![
                "/api/v1/users/me",
                "Calls over time",
                "Latency",
                "Status codes",
                "Bearer JWT",
                "us_ssn",
                "127.0.0.",
                "Body shapes",
            ],
        ),
        (
            "/findings".into(),
            vec!["Unsigned tokens accepted", "What it means.", "What to do."],
        ),
        (
            "/sequences".into(),
            vec!["<svg class=\"graph\"", "Most frequent transitions"],
        ),
        (
            "/spec".into(),
            vec![
                "Acme Shop API",
                "Shadow endpoints",
                "/api/v1/internal/debug",
                "Dormant operations",
                "/api/v1/auth/refresh",
                "Uploads are turned off",
            ],
        ),
        (
            "/sensor".into(),
            vec!["rest_api.pcap", "hostile.pcap", "Diagnostics", "TCP gaps"],
        ),
        ("/tls".into(), vec!["No TLS handshake was seen", "port 443"]),
        (
            "/export".into(),
            vec![
                "/export/sql",
                "/export/json",
                "/export/openapi.json",
                "api_endpoints.csv",
            ],
        ),
    ];
    for (path, needles) in pages {
        let r = get_ok(&app, &path).await;
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        for n in needles {
            assert!(r.body.contains(n), "{path} lacks {n:?}");
        }
    }
    assert_eq!(
        get(&app, "/endpoints/999999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/endpoints/abc").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/no-such-page").await.status,
        StatusCode::NOT_FOUND
    );
    let css = get_ok(&app, "/static/app.css").await;
    assert!(
        css.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    get_ok(&app, "/static/app.js").await;
    get_ok(&app, "/favicon.ico").await;
}

#[tokio::test]
async fn filters_search_sorting_and_pagination() {
    let app = app().await;
    let all = get_ok(&app, "/api/endpoints?per=500").await.json();
    let total = all["total"].as_i64().unwrap();
    assert!(total >= 39, "{total}");
    let html = get_ok(&app, "/endpoints?per=500").await;
    assert_eq!(html.rows() as i64, total);

    // Search.
    let admin = get_ok(&app, "/endpoints?q=admin").await;
    assert_eq!(admin.rows(), 2, "two admin endpoints");
    assert!(admin.body.contains("/api/v1/admin/export"));
    assert!(admin.body.contains("2 matching the filters"));
    // Host.
    let acme = get_ok(&app, "/api/endpoints?host=api.acme.test&per=500")
        .await
        .json();
    let acme_rows = all["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["host"] == "api.acme.test")
        .count();
    assert_eq!(acme["total"], acme_rows as i64);
    assert!(
        acme_rows >= 34,
        "the 34 endpoints of rest_api.expected.md, and more"
    );
    assert!(
        acme["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["host"] == "api.acme.test")
    );
    let hostile = get_ok(
        &app,
        &format!("/endpoints?host={}", q("<script>alert(1)</script>")),
    )
    .await;
    assert_eq!(hostile.rows(), 4);
    // Classification, auth scheme, sensitive data, findings.
    let shadow = get_ok(
        &app,
        "/api/endpoints?host=api.acme.test&class=shadow&per=500",
    )
    .await
    .json();
    let shadow_paths: Vec<String> = shadow["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["path_template"].as_str().unwrap()
            )
        })
        .collect();
    // The four shadow APIs of rest_api.expected.md (requests to unknown routes are shadow too).
    for known in [
        "GET /api/v1/admin/export",
        "GET /api/v1/internal/config",
        "GET /api/v1/internal/debug",
        "POST /api/v1/admin/users/{user_id}/impersonate",
    ] {
        assert!(
            shadow_paths.iter().any(|p| p == known),
            "{known} in {shadow_paths:?}"
        );
    }
    assert!(!shadow_paths.iter().any(|p| p == "GET /api/v1/users/me"));
    let dormant = get_ok(&app, "/endpoints?class=dormant").await;
    assert!(dormant.body.contains("/api/v1/auth/refresh"));
    assert!(!dormant.body.contains("/api/v1/users/me"));
    let basic = get_ok(&app, "/endpoints?auth=basic&host=api.acme.test").await;
    assert!(basic.body.contains("/api/v1/admin/export"));
    assert!(!basic.body.contains("/api/v2/products/{product_id}"));
    let card = get_ok(&app, "/api/endpoints?sensitive=credit_card")
        .await
        .json();
    assert_eq!(card["total"], 1);
    assert_eq!(card["endpoints"][0]["path_template"], "/api/v1/payments");
    let with = get_ok(&app, "/api/endpoints?findings=yes&per=500")
        .await
        .json();
    let without = get_ok(&app, "/api/endpoints?findings=no&per=500")
        .await
        .json();
    assert!(with["total"].as_i64().unwrap() > 0);
    assert_eq!(
        with["total"].as_i64().unwrap() + without["total"].as_i64().unwrap(),
        total
    );
    for e in with["endpoints"].as_array().unwrap() {
        assert!(e["findings"].as_i64().unwrap() > 0);
    }
    // Filters combine, and the page says when nothing matches.
    let none = get_ok(&app, "/endpoints?q=admin&auth=api_key_query").await;
    assert_eq!(none.rows(), 0);
    assert!(none.body.contains("No endpoint matches these filters"));

    // Sorting.
    let by_req = get_ok(&app, "/api/endpoints?sort=requests&dir=desc&per=500")
        .await
        .json();
    let counts: Vec<i64> = by_req["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request_count"].as_i64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    let asc = get_ok(&app, "/api/endpoints?sort=requests&dir=asc&per=500")
        .await
        .json();
    assert_eq!(
        asc["endpoints"][0]["request_count"].as_i64().unwrap(),
        *counts.last().unwrap()
    );
    let by_path = get_ok(&app, "/api/endpoints?sort=path&host=api.acme.test&per=500")
        .await
        .json();
    let paths: Vec<&str> = by_path["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path_template"].as_str().unwrap())
        .collect();
    assert!(paths.windows(2).all(|w| w[0] <= w[1]), "{paths:?}");
    let html = get_ok(&app, "/endpoints?sort=p99&dir=desc").await;
    assert!(html.body.contains("aria-sort=\"descending\""));

    // Pagination.
    let p1 = get_ok(&app, "/api/endpoints?per=10").await.json();
    let p2 = get_ok(&app, "/api/endpoints?per=10&page=2").await.json();
    assert_eq!(p1["endpoints"].as_array().unwrap().len(), 10);
    assert_ne!(p1["endpoints"][0]["id"], p2["endpoints"][0]["id"]);
    assert_eq!(p2["page"], 2);
    let page2 = get_ok(&app, "/endpoints?per=10&page=2").await;
    assert_eq!(page2.rows(), 10);
    assert!(
        page2.body.contains(&format!("11–20 of {total}")),
        "pager text"
    );
    assert!(page2.body.contains("rel=\"prev\""));
    // Out-of-range and malformed parameters do not fail.
    assert_eq!(get_ok(&app, "/endpoints?page=9999").await.rows(), 0);
    get_ok(
        &app,
        "/endpoints?page=x&per=y&sort=nope&dir=sideways&findings=maybe",
    )
    .await;
}

/// Risk first: the overview leads with the active critical and high findings grouped by
/// endpoint; endpoints carry a risk score and the severity of their most severe active finding,
/// sort by it (the Endpoints page's default) and filter on it, on the page and in the API.
#[tokio::test]
async fn risk_first_overview_sort_and_severity_filter() {
    let app = app().await;
    // The overview: "Fix these first" comes before everything else, with the unsigned-token
    // findings of rest_api.pcap on their endpoints.
    let o = get_ok(&app, "/api/overview").await.json();
    let groups = o["fix_first"]["groups"].as_array().unwrap();
    assert!(!groups.is_empty() && groups.len() <= 10, "{groups:?}");
    let impersonate = groups
        .iter()
        .find(|g| g["path_template"] == "/api/v1/admin/users/{user_id}/impersonate")
        .unwrap_or_else(|| panic!("impersonate in {groups:?}"));
    assert_eq!(impersonate["max_severity"], "critical");
    assert_eq!(impersonate["method"], "POST");
    assert_eq!(impersonate["host"], "api.acme.test");
    assert!(
        impersonate["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "jwt_alg_none_accepted"),
        "{impersonate}"
    );
    let sev_rank = |s: &Value| match s.as_str().unwrap() {
        "critical" => 0,
        "high" => 1,
        other => panic!("fix-first lists only critical and high, not {other}"),
    };
    let order: Vec<(i64, i64)> = groups
        .iter()
        .map(|g| {
            (
                sev_rank(&g["max_severity"]),
                -g["risk_score"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    let html = get_ok(&app, "/").await.body;
    let fix = html.find("Fix these first").expect("a fix-first section");
    assert!(fix < html.find("Traffic over time").unwrap());
    assert!(fix < html.find("class=\"kpis\"").unwrap());
    let table = &html[fix..html[fix..].find("</section>").unwrap() + fix];
    assert!(table.contains("/api/v1/admin/users/{user_id}/impersonate"));
    assert!(table.contains("Unsigned tokens accepted"));
    assert!(table.contains("class=\"badge critical\""));
    assert!(table.contains("/findings?severity=critical"));

    // Sorting by risk: scores never increase down the list; riskiest first by default on the
    // page, busiest first (as before) in the API.
    let by_risk = get_ok(&app, "/api/endpoints?sort=risk&per=500")
        .await
        .json();
    let rows = by_risk["endpoints"].as_array().unwrap();
    let scores: Vec<i64> = rows
        .iter()
        .map(|e| e["risk_score"].as_i64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores[0] >= 80, "a critical endpoint leads: {scores:?}");
    assert_eq!(rows[0]["max_severity"], "critical");
    for e in rows {
        let score = e["risk_score"].as_i64().unwrap();
        assert!((0..=100).contains(&score), "{e}");
        let band = match e["max_severity"].as_str() {
            Some("critical") => 80,
            Some("high") => 60,
            Some("medium") => 40,
            Some("low") => 20,
            _ => 0,
        };
        assert!(
            (band..band + 20).contains(&score),
            "the band is the severity: {e}"
        );
        assert_eq!(e["max_severity"].is_null(), e["findings"] == 0, "{e}");
    }
    let asc = get_ok(&app, "/api/endpoints?sort=risk&dir=asc&per=500")
        .await
        .json();
    assert_eq!(
        asc["endpoints"][0]["risk_score"].as_i64().unwrap(),
        *scores.last().unwrap()
    );
    let default_api = get_ok(&app, "/api/endpoints?per=500").await.json();
    assert_eq!(default_api["query"]["sort"], "requests");
    let page = get_ok(&app, "/endpoints?per=500").await;
    let first_row = &page.body[page.body.find("<tbody>").unwrap()..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    assert!(
        first_row.contains(&format!("/endpoints/{}\"", rows[0]["id"])),
        "the page lists the riskiest first: {first_row}"
    );
    assert!(page.body.contains("aria-sort=\"descending\""));
    assert!(page.body.contains("sort=risk"));
    // Findings badges take the colour of the most severe active finding.
    let badges: Vec<&str> = page
        .body
        .match_indices("#findings\" class=\"badge ")
        .map(|(i, m)| {
            let rest = &page.body[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert!(badges.contains(&"critical"), "{badges:?}");
    assert!(
        badges.iter().any(|b| *b != "critical" && *b != "high"),
        "not every findings badge is red: {badges:?}"
    );

    // The severity filter, in the API and on the page.
    let crit = get_ok(&app, "/api/endpoints?min_severity=critical&per=500")
        .await
        .json();
    let high = get_ok(&app, "/api/endpoints?min_severity=high&per=500")
        .await
        .json();
    let any = get_ok(&app, "/api/endpoints?min_severity=info&per=500")
        .await
        .json();
    let n = |v: &Value| v["total"].as_i64().unwrap();
    assert!(n(&crit) > 0 && n(&crit) <= n(&high) && n(&high) <= n(&any));
    assert_eq!(
        n(&any),
        get_ok(&app, "/api/endpoints?findings=yes").await.json()["total"]
    );
    assert!(
        crit["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["max_severity"] == "critical")
    );
    assert!(
        high["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| { e["max_severity"] == "critical" || e["max_severity"] == "high" })
    );
    let page = get_ok(&app, "/endpoints?min_severity=critical&per=500").await;
    assert_eq!(page.rows() as i64, n(&crit));
    assert!(page.body.contains("<option value=\"critical\" selected>"));
    assert!(page.body.contains("matching the filters"));

    // The endpoint page: the score and its reasons.
    let id = impersonate["endpoint_id"].as_i64().unwrap();
    let e = get_ok(&app, &format!("/api/endpoints/{id}")).await.json();
    assert!(e["risk"]["score"].as_i64().unwrap() >= 80, "{}", e["risk"]);
    assert_eq!(e["endpoint"]["risk_score"], e["risk"]["score"]);
    let reasons: Vec<&str> = e["risk_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"critical: Unsigned tokens accepted"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"shadow (undocumented)"), "{reasons:?}");
    let html = get_ok(&app, &format!("/endpoints/{id}")).await.body;
    assert!(html.contains("id=\"risk\""));
    assert!(html.contains("critical: Unsigned tokens accepted"));
}

/// Every count the dashboard shows has one definition, and the pages agree on it: the
/// overview's key figures, classification bar, severity bars and busiest hosts equal the totals
/// of the lists they link to (an inventory with a spec, so with dormant operations never
/// called, and with shadow, zombie and uncovered endpoints).
#[tokio::test]
async fn counts_agree_between_pages() {
    let app = app().await;
    let o = get_ok(&app, "/api/overview").await.json();
    let t = &o["totals"];
    let endpoints = counts_agree(&app, "").await;
    assert!(
        t["observed"].as_i64().unwrap() < endpoints,
        "dormant operations are endpoints, not observed ones: {t}"
    );
    let classes = o["classification"].as_array().unwrap();
    assert!(classes.iter().any(|c| c["key"] == "dormant"), "{classes:?}");
}

/// A time range narrows every count the same way: the pages and the JSON API agree under a
/// range as they do over all time, the range leaves out what was not seen in it, and the
/// pages keep the range the URL named (a cookie) until it is changed.
#[tokio::test]
async fn a_time_range_narrows_every_count_alike() {
    let app = app().await;
    let all = get_ok(&app, "/api/endpoints?per=500").await.json();
    let mut seen: Vec<String> = all["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["last_seen"].as_str().map(String::from))
        .collect();
    seen.sort();
    seen.dedup();
    assert!(seen.len() > 2, "{seen:?}");
    // From the median last request: some endpoints were called since, some not.
    let from = seen[seen.len() / 2].clone();
    let everything = counts_agree(&app, "").await;
    let since = counts_agree(&app, &format!("range=custom&from={}", q(&from))).await;
    assert!(0 < since && since < everything, "{since} of {everything}");
    // Up to a time before the first request: nothing, and every page says zero.
    let o = get_ok(&app, "/api/overview?to=2000-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(o["totals"]["endpoints"], 0, "{o}");
    assert_eq!(o["totals"]["calls"], 0, "{o}");
    assert_eq!(counts_agree(&app, "from=1999-01-01&to=2000-01-01").await, 0);
    // Presets end at the newest request: the last 30 days of these captures hold them all
    // (each was recorded in a few minutes), the last hour at least the newest.
    let hour = counts_agree(&app, "range=1h").await;
    assert!(
        hour > 0,
        "the newest request is within the last hour of itself"
    );
    // What the API refuses: unknown presets, unreadable or backwards times.
    for bad in [
        "range=2h",
        "from=yesterday",
        "from=2025-02-01&to=2025-01-01",
    ] {
        let r = get(&app, &format!("/api/endpoints?{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert!(r.json()["allowed"].is_array(), "{bad}");
        let page = get(&app, &format!("/endpoints?{bad}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The page keeps the range in a cookie; the picker shows it and offers all time back.
    let r = get_ok(&app, &format!("/findings?range=custom&from={}", q(&from))).await;
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("st_range="))
        .expect("the range cookie")
        .to_string();
    assert!(r.body.contains("id=\"range-label\""), "the range is shown");
    assert!(r.body.contains("Show all time"));
    let pair = cookie.split(';').next().unwrap().to_string();
    let with_cookie = |path: &str| {
        Request::get(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::COOKIE, pair.clone())
            .body(Body::empty())
            .unwrap()
    };
    let home = send(&app, with_cookie("/")).await;
    assert_eq!(kpi_value(&home.body, "Endpoints"), since.to_string());
    let cleared = send(&app, with_cookie("/?range=all")).await;
    assert_eq!(
        kpi_value(&cleared.body, "Endpoints"),
        everything.to_string()
    );
    assert!(
        cleared
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("st_range=;")),
        "all time clears the cookie"
    );
    // The API reads its own parameters only: the cookie plays no part there.
    let api = send(&app, with_cookie("/api/endpoints")).await.json();
    assert_eq!(api["total"].as_i64().unwrap(), everything);
}

/// The checks of [`counts_agree_between_pages`] under `range` (query parameters, or nothing):
/// the number of endpoints (APIs of ours) seen in it.
async fn counts_agree(app: &Router, range: &str) -> i64 {
    let u = |path: &str| {
        if range.is_empty() {
            path.to_string()
        } else if path.contains('?') {
            format!("{path}&{range}")
        } else {
            format!("{path}?{range}")
        }
    };
    let o = get_ok(app, &u("/api/overview")).await.json();
    let t = &o["totals"];
    let total = |j: &Value| j["total"].as_i64().unwrap();
    let endpoints = total(&get_ok(app, &u("/api/endpoints")).await.json());
    assert_eq!(t["endpoints"].as_i64().unwrap(), endpoints, "{range}: {t}");
    // The classification bar adds up to the endpoints, and each class to its filtered list.
    let classes = o["classification"].as_array().unwrap();
    assert_eq!(
        classes
            .iter()
            .map(|c| c["count"].as_i64().unwrap())
            .sum::<i64>(),
        endpoints,
        "{range}"
    );
    for c in classes {
        let key = c["key"].as_str().unwrap();
        let listed = total(
            &get_ok(app, &u(&format!("/api/endpoints?class={key}")))
                .await
                .json(),
        );
        assert_eq!(listed, c["count"].as_i64().unwrap(), "{range}: class {key}");
    }
    // Hosts: the distinct hosts of every endpoint, static and third-party ones included; the
    // busiest hosts' counts are their lists' totals, and the Hosts list has each of them.
    let all = get_ok(app, &u("/api/endpoints?per=500&scope=all"))
        .await
        .json();
    let hosts: std::collections::BTreeSet<&str> = all["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        t["hosts"].as_i64().unwrap(),
        hosts.len() as i64,
        "{range}: {hosts:?}"
    );
    let host_list = get_ok(app, &u("/api/hosts?per=500")).await.json();
    assert_eq!(total(&host_list), hosts.len() as i64, "{range}: /api/hosts");
    for h in o["hosts"].as_array().unwrap() {
        let host = h["key"].as_str().unwrap();
        let listed = total(
            &get_ok(
                app,
                &u(&format!("/api/endpoints?host={}&scope=all", q(host))),
            )
            .await
            .json(),
        );
        assert_eq!(listed, h["count"].as_i64().unwrap(), "{range}: host {host}");
        let row = host_list["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["host"] == host)
            .unwrap_or_else(|| panic!("{range}: {host} not in /api/hosts"));
        assert_eq!(row["endpoints"], h["count"], "{range}: /api/hosts {host}");
        let one = get_ok(app, &u(&format!("/api/hosts/{}", q(host))))
            .await
            .json();
        assert_eq!(
            one["host"]["endpoints"], h["count"],
            "{range}: /api/hosts/{host}"
        );
        assert_eq!(
            one["endpoints"]["total"], h["count"],
            "{range}: /api/hosts/{host}"
        );
    }
    // Findings: the key figure and the severity bars count the active findings, which the
    // Findings page and the API list under state=active.
    let active = total(&get_ok(app, &u("/api/findings?state=active")).await.json());
    assert_eq!(t["findings"].as_i64().unwrap(), active, "{range}");
    let severities = o["severity"].as_array().unwrap();
    assert_eq!(
        severities
            .iter()
            .map(|c| c["count"].as_i64().unwrap())
            .sum::<i64>(),
        active,
        "{range}"
    );
    for c in severities {
        let sev = c["key"].as_str().unwrap();
        let listed = total(
            &get_ok(
                app,
                &u(&format!("/api/findings?state=active&severity={sev}")),
            )
            .await
            .json(),
        );
        assert_eq!(
            listed,
            c["count"].as_i64().unwrap(),
            "{range}: severity {sev}"
        );
    }
    // Calls: the traffic series adds up to the requests.
    let calls: i64 = o["minutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["count"].as_i64().unwrap())
        .sum();
    assert_eq!(calls, t["calls"].as_i64().unwrap(), "{range}");
    // The pages print the same figures.
    let home = get_ok(app, &u("/")).await.body;
    assert_eq!(
        kpi_value(&home, "Endpoints"),
        endpoints.to_string(),
        "{range}"
    );
    assert_eq!(
        kpi_value(&home, "Hosts"),
        hosts.len().to_string(),
        "{range}"
    );
    assert_eq!(kpi_value(&home, "Findings"), active.to_string(), "{range}");
    let list = get_ok(app, &u("/endpoints")).await.body;
    let words = if range.is_empty() || range == "range=all" {
        "in the inventory"
    } else {
        "seen in the time range"
    };
    assert!(
        list.contains(&format!("{endpoints} {words}")),
        "{range}: the endpoint list's count"
    );
    endpoints
}

#[tokio::test]
async fn json_api_mirrors_the_pages() {
    let app = app().await;
    let index = get_ok(&app, "/api/").await.json();
    assert!(index["endpoints"]["GET /api/overview"].is_string());

    let o = get_ok(&app, "/api/overview").await.json();
    let t = &o["totals"];
    assert_eq!(t["hosts"], 3);
    assert_eq!(t["calls"], 162);
    let home = get_ok(&app, "/").await;
    assert!(home.body.contains(&format!(
        "<div class=\"kpi-value\">{}</div>",
        t["endpoints"]
    )));
    assert!(
        o["classification"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "shadow")
    );

    let me = endpoint_id(&app, "users/me", "GET", "/api/v1/users/me").await;
    let e = get_ok(&app, &format!("/api/endpoints/{me}")).await.json();
    assert_eq!(e["endpoint"]["request_count"], 8);
    assert_eq!(e["endpoint"]["classification"], "documented");
    let status: Vec<(i64, i64)> = e["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].as_i64().unwrap(), s[1].as_i64().unwrap()))
        .collect();
    assert_eq!(status, [(200, 4), (401, 4)]);
    assert!(e["latency"]["count"].as_u64().unwrap() >= 8);
    assert!(!e["latency"]["bins"].as_array().unwrap().is_empty());
    assert_eq!(
        get(&app, "/api/endpoints/424242").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/api/endpoints/424242").await.json()["error"],
        "Not found."
    );

    let f = get_ok(&app, "/api/findings").await.json();
    let groups = f["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["kind"] == "jwt_alg_none_accepted"
        && g["severity"] == "critical"
        && g["meaning"].as_str().unwrap().contains("signature")));
    let page = get_ok(&app, "/findings").await;
    assert!(
        page.body
            .contains(&format!("{} in the inventory", f["total"]))
    );
    let crit = get_ok(&app, "/api/findings?severity=critical").await.json();
    assert!(
        crit["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["severity"] == "critical")
    );

    let s = get_ok(&app, "/api/sequences?host=api.acme.test")
        .await
        .json();
    assert!(s["edges"].as_array().unwrap().len() >= 3);
    assert!(s["nodes"].as_array().unwrap().len() >= 3);
    let spec = get_ok(&app, "/api/spec").await.json();
    assert_eq!(spec["specs"][0]["title"], "Acme Shop API");
    assert!(
        spec["dormant"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["path_template"] == "/api/v1/auth/refresh")
    );
    let sensor = get_ok(&app, "/api/sensor").await.json();
    assert_eq!(sensor["captures"].as_array().unwrap().len(), 2);
    assert_eq!(sensor["totals"]["engine"]["http"]["transactions"], 162);

    // Exports.
    let sql = get_ok(&app, "/api/export/sql").await;
    assert!(sql.body.starts_with("-- shadowtap inventory dump"));
    let csv = get_ok(&app, "/export/csv/api_endpoints.csv").await;
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(csv.body.starts_with("id,host,method,path_template"));
    assert_eq!(
        get(&app, "/export/csv/sqlite_master").await.status,
        StatusCode::NOT_FOUND
    );
    let openapi = get_ok(&app, "/export/openapi.json").await.json();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3.1"));
    let doc = get_ok(&app, "/api/export/json").await.json();
    assert!(doc["endpoints"].as_array().unwrap().len() >= 39);
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = app().await;
    for path in [
        "/",
        "/endpoints",
        "/findings",
        "/sequences",
        "/spec",
        "/sensor",
        "/export",
        "/tls",
        "/api/overview",
        "/api/tls",
        "/static/app.css",
        "/nope",
        "/api/endpoints/0",
    ] {
        let r = get(&app, path).await;
        let h = |n: &str| {
            r.headers
                .get(n)
                .unwrap_or_else(|| panic!("{path}: no {n}"))
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            h("content-security-policy"),
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "{path}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
        let cookie = h("set-cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
    }
    // No inline script or style in any page: the CSP would block them.
    for path in [
        "/",
        "/endpoints",
        "/sequences",
        "/findings",
        "/spec",
        "/sensor",
        "/tls",
    ] {
        let r = get_ok(&app, path).await;
        assert!(!r.body.contains("<script>"), "{path} has an inline script");
        assert!(!r.body.contains("style="), "{path} has an inline style");
        assert!(!r.body.contains("<style"), "{path} has a style element");
        assert!(
            !has_event_handler(&r.body),
            "{path} has an event handler attribute"
        );
    }
}

/// Whether markup has an `on...=` attribute inside a tag.
fn has_event_handler(html: &str) -> bool {
    let mut in_tag = false;
    let b = html.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            b' ' if in_tag && b[i + 1..].starts_with(b"on") => {
                let name: Vec<u8> = b[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .copied()
                    .collect();
                if name.len() > 2 && b.get(i + 1 + name.len()) == Some(&b'=') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[tokio::test]
async fn refuses_non_loopback_without_auth() {
    let none = AuthConfig::default();
    let err = web::bind("0.0.0.0:0", &none).await.unwrap_err();
    assert!(err.contains("refusing to listen on 0.0.0.0"), "{err}");
    assert!(
        err.contains("--auth-token-file") && err.contains("--password-hash"),
        "{err}"
    );
    let token = AuthConfig {
        token: Some(TOKEN.into()),
        ..AuthConfig::default()
    };
    assert!(web::bind("0.0.0.0:0", &token).await.is_ok());
    assert!(web::bind("127.0.0.1:0", &none).await.is_ok());
    // Without authentication, a request for another host name (DNS rebinding) is refused.
    let app = app().await;
    let r = send(
        &app,
        Request::get("/api/overview")
            .header(header::HOST, "attacker.example:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for host in ["localhost:8080", "127.0.0.1", "[::1]:8080"] {
        let r = send(
            &app,
            Request::get("/api/overview")
                .header(header::HOST, host)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{host}");
    }
}

fn form_post(path: &str, cookie: Option<&str>, body: String) -> Request<Body> {
    let mut b = Request::post(path)
        .header(header::HOST, "dashboard.example:8443")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn login_sessions_bearer_tokens_and_csrf() {
    let hash = web::auth::hash_password("correct horse battery").unwrap();
    let app = app_with(AuthConfig {
        token: Some(TOKEN.into()),
        password_hash: Some(hash),
        ..AuthConfig::default()
    })
    .await;
    let on = |path: &str| {
        Request::get(path)
            .header(header::HOST, "dashboard.example:8443")
            .body(Body::empty())
            .unwrap()
    };
    // Pages redirect to the login page, the API answers 401.
    let r = send(&app, on("/endpoints?q=x")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers[header::LOCATION],
        "/login?next=%2Fendpoints%3Fq%3Dx"
    );
    let r = send(&app, on("/api/overview")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.contains_key(header::WWW_AUTHENTICATE));
    // A bearer token opens the API (not the pages).
    let bearer = |path: &str, token: &str| {
        Request::get(path)
            .header(header::HOST, "dashboard.example:8443")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&app, bearer("/api/overview", TOKEN)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, bearer("/api/overview", "wrong-token-0123456789"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, bearer("/", TOKEN)).await.status,
        StatusCode::SEE_OTHER
    );
    // The login page sets an anonymous session and a CSRF token tied to it.
    let page = send(&app, on("/login?next=/findings")).await;
    assert_eq!(page.status, StatusCode::OK);
    let cookie = page.cookie().expect("session cookie");
    let csrf = page.csrf();
    let raw_cookie = page.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(raw_cookie.contains("HttpOnly") && raw_cookie.contains("SameSite=Strict"));
    // POST without a token, with a wrong token, or without the cookie: 403.
    for (cookie, body) in [
        (
            Some(cookie.as_str()),
            "password=correct+horse+battery&next=%2F".to_string(),
        ),
        (
            Some(cookie.as_str()),
            "csrf=0000&password=correct+horse+battery".to_string(),
        ),
        (None, format!("csrf={csrf}&password=correct+horse+battery")),
    ] {
        let r = send(&app, form_post("/login", cookie, body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // A token from another session does not work either.
    let other = send(&app, on("/login")).await;
    let r = send(
        &app,
        form_post(
            "/login",
            Some(&cookie),
            format!("csrf={}&password=correct+horse+battery", other.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A cross-site form post is refused whatever it carries.
    let mut req = form_post(
        "/login",
        Some(&cookie),
        format!("csrf={csrf}&password=correct+horse+battery"),
    );
    req.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN);
    // Wrong password.
    let r = send(
        &app,
        form_post(
            "/login",
            Some(&cookie),
            format!("csrf={csrf}&password=nope"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong password or token."));
    // Right password: a new session id, and back to where the user was going.
    let r = send(
        &app,
        form_post(
            "/login",
            Some(&cookie),
            format!("csrf={csrf}&password=correct+horse+battery&next=%2Ffindings"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/findings");
    let session = r.cookie().expect("a new session cookie");
    assert_ne!(session, cookie, "the session id changes on login");
    let with_session = |path: &str| {
        Request::get(path)
            .header(header::HOST, "dashboard.example:8443")
            .header(header::COOKIE, session.clone())
            .body(Body::empty())
            .unwrap()
    };
    let home = send(&app, with_session("/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Log out"));
    assert_eq!(
        send(&app, with_session("/api/overview")).await.status,
        StatusCode::OK
    );
    // The old anonymous cookie is not logged in.
    let r = send(
        &app,
        Request::get("/")
            .header(header::HOST, "dashboard.example:8443")
            .header(header::COOKIE, cookie.clone())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The token works as a password; open redirects are not followed.
    let page = send(&app, on("/login")).await;
    let r = send(
        &app,
        form_post(
            "/login",
            page.cookie().as_deref(),
            format!(
                "csrf={}&password={TOKEN}&next=%2F%2Fevil.example",
                page.csrf()
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/");
    // Logout needs the CSRF token too, then the session is gone.
    let r = send(&app, form_post("/logout", Some(&session), String::new())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = home.csrf();
    let r = send(
        &app,
        form_post("/logout", Some(&session), format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&app, with_session("/")).await.status,
        StatusCode::SEE_OTHER
    );
}

/// A writable copy of the fixture, for the upload tests.
fn copy_fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    let src = fixture();
    std::fs::copy(src, &db).unwrap();
    for ext in ["-wal", "-shm", ".key"] {
        let mut s = src.as_os_str().to_owned();
        s.push(ext);
        let mut d = db.as_os_str().to_owned();
        d.push(ext);
        let _ = std::fs::copy(PathBuf::from(s), PathBuf::from(d));
    }
    (dir, db)
}

fn multipart(csrf: Option<&str>, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----shadowtapTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    if let Some(c) = csrf {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{c}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"spec\"; filename=\"petstore.yaml\"\r\nContent-Type: application/yaml\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn spec_upload_needs_the_csrf_token_and_imports() {
    let (_dir, db) = copy_fixture();
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(
        AppState::new(
            store,
            AuthConfig {
                allow_spec_upload: true,
                ..AuthConfig::default()
            },
        )
        .unwrap(),
    );
    let page = get_ok(&app, "/spec").await;
    let cookie = page.cookie().unwrap();
    let csrf = page.csrf();
    let spec = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs/petstore-3.0.yaml"),
    )
    .unwrap();
    let post = |ct: String, body: Vec<u8>, cookie: Option<&str>| {
        let mut b = Request::post("/spec")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, ct);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        b.body(Body::from(body)).unwrap()
    };
    // Without the token: 403, nothing imported.
    let (ct, body) = multipart(None, &spec);
    let r = send(&app, post(ct, body, Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (ct, body) = multipart(Some(&csrf), &spec);
    let r = send(&app, post(ct, body, None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get_ok(&app, "/api/spec").await.json()["specs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // With it: imported, and the read-only dashboard sees it.
    let (ct, body) = multipart(Some(&csrf), &spec);
    let r = send(&app, post(ct, body, Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Imported"), "{}", r.body);
    let specs = get_ok(&app, "/api/spec").await.json();
    assert_eq!(specs["specs"].as_array().unwrap().len(), 2);
    // Not a spec: 422 with a message, no crash.
    let (ct, body) = multipart(Some(&csrf), b"this is not an API description");
    let r = send(&app, post(ct, body, Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("could not be imported"));
    // The API takes the raw document; without a bearer token it needs X-CSRF-Token.
    let api = |csrf: Option<&str>| {
        let mut b = Request::post("/api/spec?name=petstore.yaml")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::COOKIE, cookie.clone());
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        b.body(Body::from(spec.clone())).unwrap()
    };
    assert_eq!(send(&app, api(None)).await.status, StatusCode::FORBIDDEN);
    let r = send(&app, api(Some(&csrf))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["report"]["already_imported"], true);
}

fn assert_no_raw_payload(path: &str, body: &str) {
    for p in RAW_PAYLOADS {
        assert!(!body.contains(p), "{path} contains the raw payload {p:?}");
    }
    // Breaking out of a quoted attribute needs a raw quote followed by the payload's tag.
    for p in ["\"><img src=x", "\"><svg/onload", "\"><script>alert"] {
        assert!(!body.contains(p), "{path} contains {p:?}");
    }
}

#[tokio::test]
async fn hostile_strings_render_only_as_text() {
    let app = app().await;
    let host = "<script>alert(1)</script>";
    let list = get_ok(&app, &format!("/api/endpoints?host={}&per=500", q(host)))
        .await
        .json();
    let mut paths: Vec<String> = vec![
        "/".into(),
        "/endpoints".into(),
        "/endpoints?per=500".into(),
        format!("/endpoints?host={}", q(host)),
        format!("/endpoints?q={}", q("<img src=x onerror=alert(1)>")),
        format!("/endpoints?host={}", q("\"><svg/onload=alert(10)>")),
        "/findings".into(),
        format!("/findings?host={}", q(host)),
        format!("/sequences?host={}", q(host)),
        "/sequences".into(),
        "/spec".into(),
        "/sensor".into(),
        "/export".into(),
        "/hosts".into(),
        "/hosts?sort=findings".into(),
        format!("/hosts/{}", q(host)),
        format!("/hosts/{}", q("\"><svg/onload=alert(10)>")),
        format!("/hosts?q={}", q("<script>")),
        "/changes?since=3650d".into(),
        format!("/changes?since=3650d&host={}", q(host)),
        format!("/login?next={}", q("/\"><script>alert(1)</script>")),
        format!("/nope/{}", q("<script>alert(1)</script>")),
    ];
    for e in list["endpoints"].as_array().unwrap() {
        paths.push(format!("/endpoints/{}", e["id"]));
    }
    assert_eq!(list["endpoints"].as_array().unwrap().len(), 4);
    let mut escaped_seen = 0;
    for path in &paths {
        let r = get(&app, path).await;
        assert!(
            matches!(
                r.status,
                StatusCode::OK | StatusCode::NOT_FOUND | StatusCode::SEE_OTHER
            ),
            "{path}: {}",
            r.status
        );
        assert_no_raw_payload(path, &r.body);
        if let Some(location) = r.headers.get(header::LOCATION) {
            let location = location.to_str().unwrap();
            assert!(
                location.starts_with('/') && !location.starts_with("//"),
                "{location}"
            );
            assert!(!location.contains(['<', '>', '"']), "{location}");
        }
        if r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        {
            escaped_seen += 1;
        }
    }
    assert!(
        escaped_seen >= 8,
        "the hostile host is shown (escaped) on most pages"
    );
    // Each payload is there, as text.
    let all = get_ok(&app, "/endpoints?per=500").await.body;
    assert!(all.contains("&#34;&#62;&#60;svg/onload=alert(10)&#62;"));
    let upload = list["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path_template"] == "/chunked/upload")
        .unwrap()["id"]
        .clone();
    let detail = get_ok(&app, &format!("/endpoints/{upload}")).await.body;
    assert!(
        detail.contains("&#60;script&#62;alert(2)&#60;/script&#62;"),
        "JSON key in the schema"
    );
    let hello = list["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path_template"] == "/hello")
        .unwrap()["id"]
        .clone();
    let findings = get_ok(&app, &format!("/endpoints/{hello}")).await.body;
    assert!(
        findings.contains("&#60;img src=x onerror=alert(8)&#62;"),
        "Basic user in a finding"
    );
    let svg_path = list["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path_template"].as_str().unwrap().contains("svg"))
        .unwrap()["id"]
        .clone();
    let params = get_ok(&app, &format!("/endpoints/{svg_path}")).await.body;
    assert!(
        params.contains("&#60;script&#62;alert(6)&#60;/script&#62;"),
        "query parameter name"
    );
    let graph = get_ok(&app, &format!("/sequences?host={}", q(host)))
        .await
        .body;
    assert!(graph.contains("<svg class=\"graph\""));
    assert!(
        graph.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || graph.contains("/chunked/upload")
    );
    // The JSON API carries the strings as JSON data, never as HTML.
    let r = get_ok(&app, &format!("/api/endpoints?host={}", q(host))).await;
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.json()["endpoints"][0]["host"], host);
}

#[tokio::test]
async fn an_empty_inventory_explains_itself() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    Store::open(&db).await.unwrap().close().await;
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    for (path, needle) in [
        ("/", "No endpoints yet"),
        ("/endpoints", "No endpoints yet"),
        ("/findings", "No findings"),
        ("/sequences", "No transitions recorded"),
        ("/spec", "No spec imported: upload one."),
        ("/sensor", "Nothing has been ingested yet"),
        ("/export", "Download SQL"),
        ("/tls", "No TLS handshake was seen"),
    ] {
        let r = get_ok(&app, path).await;
        assert!(r.body.contains(needle), "{path} lacks {needle:?}");
    }
    // No TLS: the page says so and how to get some, with no empty table or chart.
    let tls = get_ok(&app, "/tls").await.body;
    assert!(tls.contains("port 443"), "{tls}");
    assert!(!tls.contains("<table") && !tls.contains("<svg class=\"chart"));
    let j = get_ok(&app, "/api/tls").await.json();
    assert_eq!(j["services"], serde_json::json!([]));
    assert_eq!(j["clients"], serde_json::json!([]));
    for path in [
        "/api/overview",
        "/api/endpoints",
        "/api/findings",
        "/api/sequences",
        "/api/spec",
        "/api/sensor",
        "/api/tls",
    ] {
        get_ok(&app, path).await.json();
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication hardening: per-address throttling, Secure cookies behind a TLS proxy, token
// files, spec uploads only when allowed.

/// A request from `peer` (the address axum's connect info gives the guard).
fn from(peer: &str, mut req: Request<Body>) -> Request<Body> {
    let addr: std::net::SocketAddr = peer.parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

fn token_app_config() -> AuthConfig {
    AuthConfig {
        token: Some(TOKEN.into()),
        ..AuthConfig::default()
    }
}

/// A login attempt from `peer` with `password`, on a fresh anonymous session of that peer.
async fn login_from(app: &Router, peer: &str, password: &str) -> Resp {
    let page = send(
        app,
        from(
            peer,
            Request::get("/login")
                .header(header::HOST, "dashboard.example:8443")
                .body(Body::empty())
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    send(
        app,
        from(
            peer,
            form_post(
                "/login",
                page.cookie().as_deref(),
                format!("csrf={}&password={password}", page.csrf()),
            ),
        ),
    )
    .await
}

#[tokio::test]
async fn failed_logins_throttle_only_their_own_address() {
    let app = app_with(token_app_config()).await;
    let attacker = "203.0.113.66:40000";
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(login_from(&app, attacker, "wrong-password-guess").await);
    }
    // Five free failures, a sixth that starts the wait, then 429 with Retry-After.
    for r in &statuses[..6] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    assert!(
        statuses[5].body.contains("Try again in 1 second"),
        "{}",
        statuses[5].body
    );
    for r in &statuses[6..] {
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert!(
            r.body
                .contains("Too many failed attempts from your address")
        );
        assert!(r.headers.contains_key(header::RETRY_AFTER));
    }
    // The right password from the throttled address waits too (it is not even checked).
    let r = login_from(&app, attacker, TOKEN).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not locked out: it logs in at once.
    let r = login_from(&app, "198.51.100.7:50000", TOKEN).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/");
    // Another IPv6 host too, but not the attacker's neighbours in its /64.
    let v6 = "[2001:db8:1:2::10]:40000";
    for _ in 0..6 {
        login_from(&app, v6, "wrong").await;
    }
    assert_eq!(
        login_from(&app, "[2001:db8:1:2::99]:1", TOKEN).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&app, "[2001:db8:1:3::10]:1", TOKEN).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn bearer_token_guesses_are_throttled_per_address() {
    let app = app_with(token_app_config()).await;
    let bearer = |peer: &str, token: &str| {
        from(
            peer,
            Request::get("/api/overview")
                .header(header::HOST, "dashboard.example:8443")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
    };
    let guesser = "192.0.2.10:1234";
    for i in 0..6 {
        let r = send(
            &app,
            bearer(guesser, &format!("guess-{i}-0123456789abcdef")),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}: {}", r.body);
    }
    // After 6 failures: 429, even with the right token, with Retry-After and a JSON error.
    for token in ["guess-6-0123456789abcdef", TOKEN] {
        let r = send(&app, bearer(guesser, token)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert!(r.headers.contains_key(header::RETRY_AFTER));
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("Too many failed attempts")
        );
    }
    // A scraper elsewhere is not affected; requests without a token are not guesses.
    assert_eq!(
        send(&app, bearer("192.0.2.11:1234", TOKEN)).await.status,
        StatusCode::OK
    );
    for _ in 0..10 {
        let r = send(
            &app,
            from(
                "192.0.2.12:1",
                Request::get("/api/overview")
                    .header(header::HOST, "dashboard.example:8443")
                    .body(Body::empty())
                    .unwrap(),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        send(&app, bearer("192.0.2.12:1", TOKEN)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_throttled() {
    let app = app_with(AuthConfig {
        trusted_proxies: web::auth::parse_proxies(&["10.0.0.1"]).unwrap(),
        ..token_app_config()
    })
    .await;
    let via = |peer: &str, xff: &str, token: &str| {
        from(
            peer,
            Request::get("/api/overview")
                .header(header::HOST, "dashboard.example")
                .header("x-forwarded-for", xff)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
    };
    for _ in 0..6 {
        send(
            &app,
            via("10.0.0.1:5000", "203.0.113.5", "wrong-token-0123456789"),
        )
        .await;
    }
    assert_eq!(
        send(&app, via("10.0.0.1:5000", "203.0.113.5", TOKEN))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other clients of the same proxy are not.
    assert_eq!(
        send(&app, via("10.0.0.1:5000", "203.0.113.6", TOKEN))
            .await
            .status,
        StatusCode::OK
    );
    // A client that is no proxy cannot pick its address with X-Forwarded-For.
    for i in 0..6 {
        send(
            &app,
            via(
                "198.51.100.20:1",
                &format!("192.0.2.{i}"),
                "wrong-token-0123456789",
            ),
        )
        .await;
    }
    assert_eq!(
        send(&app, via("198.51.100.20:1", "192.0.2.99", TOKEN))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// The raw `Set-Cookie` header of the session cookie.
fn raw_session_cookie(r: &Resp) -> String {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("st_sid="))
        .unwrap_or_else(|| panic!("no session cookie: {:?}", r.headers))
        .to_string()
}

#[tokio::test]
async fn session_cookie_is_secure_behind_a_trusted_tls_proxy_or_with_the_flag() {
    let page = |peer: &str, proto: Option<&str>| {
        let mut b = Request::get("/login").header(header::HOST, "dashboard.example");
        if let Some(p) = proto {
            b = b.header("x-forwarded-proto", p);
        }
        from(peer, b.body(Body::empty()).unwrap())
    };
    let proxied = app_with(AuthConfig {
        trusted_proxies: web::auth::parse_proxies(&["10.0.0.0/30"]).unwrap(),
        ..token_app_config()
    })
    .await;
    // From the trusted proxy, over HTTPS: Secure (login page, and the session opened at login).
    let r = send(&proxied, page("10.0.0.2:443", Some("https"))).await;
    let raw = raw_session_cookie(&r);
    assert!(
        raw.contains("; Secure") && raw.contains("HttpOnly"),
        "{raw}"
    );
    let mut login = form_post(
        "/login",
        r.cookie().as_deref(),
        format!("csrf={}&password={TOKEN}", r.csrf()),
    );
    login
        .headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let r = send(&proxied, from("10.0.0.2:443", login)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(raw_session_cookie(&r).contains("; Secure"));
    // The proxy over plain HTTP, or anyone else claiming HTTPS: not Secure.
    for (peer, proto) in [
        ("10.0.0.2:80", Some("http")),
        ("10.0.0.2:80", None),
        ("198.51.100.1:1", Some("https")),
        ("10.0.0.9:1", Some("https")),
    ] {
        let r = send(&proxied, page(peer, proto)).await;
        assert!(
            !raw_session_cookie(&r).contains("Secure"),
            "{peer} {proto:?}"
        );
    }
    // Without trusted proxies the header is never believed.
    let plain = app_with(token_app_config()).await;
    let r = send(&plain, page("127.0.0.1:1", Some("https"))).await;
    assert!(!raw_session_cookie(&r).contains("Secure"));
    // --cookie-secure: always, also without authentication.
    for cfg in [
        AuthConfig {
            cookie_secure: true,
            ..token_app_config()
        },
        AuthConfig {
            cookie_secure: true,
            ..AuthConfig::default()
        },
    ] {
        let app = app_with(cfg).await;
        let r = send(
            &app,
            from(
                "127.0.0.1:1",
                Request::get("/login")
                    .header(header::HOST, "127.0.0.1:8080")
                    .body(Body::empty())
                    .unwrap(),
            ),
        )
        .await;
        assert!(raw_session_cookie(&r).contains("; Secure"));
    }
}

#[cfg(unix)]
#[test]
fn token_files_readable_by_others_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("dashboard.token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = dir.path().join("inventory.db");
    let bin = env!("CARGO_BIN_EXE_shadowtap");
    let serve = std::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--auth-token-file")
        .arg(&token)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&serve.stderr);
    assert!(!serve.status.success(), "{err}");
    assert!(
        err.contains("permissions 0644 are too open") && err.contains("chmod 600"),
        "{err}"
    );
    // The daemon reads it the same way (and says so before it opens any interface).
    let run = std::process::Command::new(bin)
        .args([
            "run",
            "--interface",
            "lo",
            "--listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(&db)
        .arg("--auth-token-file")
        .arg(&token)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{err}");
    assert!(err.contains("permissions 0644 are too open"), "{err}");
    // A file only its owner can read is fine: serve gets past it (and then fails on the
    // missing database directory instead).
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let serve = std::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("missing/inventory.db"))
        .arg("--auth-token-file")
        .arg(&token)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&serve.stderr);
    assert!(!serve.status.success());
    assert!(!err.contains("too open"), "{err}");
}

#[tokio::test]
async fn spec_upload_is_refused_without_allow_spec_upload() {
    let (_dir, db) = copy_fixture();
    let spec = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs/petstore-3.0.yaml"),
    )
    .unwrap();
    // Unauthenticated (loopback), no flag: no form, and both upload routes answer 403.
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    let page = get_ok(&app, "/spec").await;
    assert!(!page.body.contains("name=\"spec\""), "no upload form");
    assert!(page.body.contains("Uploads are turned off"));
    assert_eq!(
        get_ok(&app, "/api/spec").await.json()["upload_allowed"],
        false
    );
    // (No form, so no CSRF token to take from the page: the refusal comes before that check.)
    let cookie = page.cookie().unwrap();
    let csrf = "0".repeat(64);
    let (ct, body) = multipart(Some(&csrf), &spec);
    let r = send(
        &app,
        Request::post("/spec")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, ct)
            .header(header::COOKIE, cookie.clone())
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("--allow-spec-upload"), "{}", r.body);
    let r = send(
        &app,
        Request::post("/api/spec?name=petstore.yaml")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", csrf)
            .body(Body::from(spec.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("--allow-spec-upload")
    );
    // Authenticated, no flag: a valid bearer token does not make it writable either.
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, token_app_config()).unwrap());
    let upload = |app: &Router| {
        let app = app.clone();
        let spec = spec.clone();
        async move {
            send(
                &app,
                Request::post("/api/spec?name=petstore.yaml")
                    .header(header::HOST, "dashboard.example")
                    .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                    .body(Body::from(spec))
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(upload(&app).await.status, StatusCode::FORBIDDEN);
    // Nothing was imported.
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    assert_eq!(
        get_ok(&app, "/api/spec").await.json()["specs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // With the flag, the same upload imports.
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(
        AppState::new(
            store,
            AuthConfig {
                allow_spec_upload: true,
                ..token_app_config()
            },
        )
        .unwrap(),
    );
    let r = upload(&app).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        get_ok_bearer(&app, "/api/spec").await["upload_allowed"],
        true
    );
}

async fn get_ok_bearer(app: &Router, path: &str) -> Value {
    let r = send(
        app,
        Request::get(path)
            .header(header::HOST, "dashboard.example")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

// ---------------------------------------------------------------------------------------------
// TLS: an inventory of `captures/tls12.pcap` and `captures/tls_weak.pcap` (no keys): services,
// certificates, weak versions and suites, their clients; the TLS block of a host's pages.

/// Builds the TLS inventory once (in its own runtime) and returns its path.
fn tls_fixture() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        std::thread::spawn(|| {
            let dir = tempfile::Builder::new()
                .prefix("shadowtap-web-tls-test")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .unwrap()
                .keep();
            let db = dir.join("inventory.db");
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let store = Store::open(&db).await.unwrap();
                let files = [
                    captures().join("tls12.pcap"),
                    captures().join("tls_weak.pcap"),
                ];
                ingest_files(&store, &files, &IngestOptions::default(), |_| {})
                    .await
                    .unwrap();
                store.close().await;
            });
            db
        })
        .join()
        .unwrap()
    })
}

async fn tls_app() -> Router {
    let store = Store::open_read_only(tls_fixture()).await.unwrap();
    web::app(AppState::new(store, AuthConfig::default()).unwrap())
}

/// The row of the table `id` that contains `needle`.
fn table_row<'a>(body: &'a str, id: &str, needle: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = body[start..].find("</table>").unwrap() + start;
    body[start..end]
        .split("<tr>")
        .find(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?} in {id}"))
}

/// The value of the key figure labelled `label`.
fn kpi_value(body: &str, label: &str) -> String {
    let i = body
        .find(&format!("<div class=\"kpi-label\">{label}</div>"))
        .unwrap_or_else(|| panic!("no key figure {label}"));
    let rest = &body[i..];
    let v = rest.find("<div class=\"kpi-value\">").unwrap() + "<div class=\"kpi-value\">".len();
    rest[v..v + rest[v..].find('<').unwrap()].to_string()
}

/// The id of the service `host` on `port`, from the JSON API.
async fn tls_id(app: &Router, host: &str, port: i64) -> i64 {
    let j = get_ok(app, "/api/tls").await.json();
    j["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == host && s["server_port"] == port)
        .unwrap_or_else(|| panic!("no {host}:{port} in {j}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn tls_page_shows_services_certificates_and_weaknesses() {
    let app = tls_app().await;
    let r = get_ok(&app, "/tls").await;
    let body = &r.body;
    for needle in [
        "api.tls.test",
        "mtls.tls.test",
        "expired.tls.test",
        "legacy.tls.test",
        "shop.tls.test",
        "no SNI",
        "id=\"tls-table\"",
        "Certificate expiry",
        "<svg class=\"chart timeline\"",
        "class=\"now-line\"",
        "Versions",
        "Cipher suites",
        "Weak versions and cipher suites",
    ] {
        assert!(body.contains(needle), "/tls lacks {needle:?}");
    }
    assert!(!body.contains("No TLS handshake was seen"));
    assert_eq!(kpi_value(body, "Services"), "7");
    assert_eq!(kpi_value(body, "Handshakes"), "17");
    assert_eq!(kpi_value(body, "Legacy versions"), "1");
    assert!(
        body.contains(
            "<div class=\"kpi bad\">\n    \n    <div class=\"kpi-label\">Legacy versions"
        )
    );
    // The expired, self-signed certificate of expired.tls.test is flagged, in the table and
    // on the timeline.
    let expired = table_row(body, "tls-table", ">expired.tls.test</a>");
    assert!(
        expired.contains("<span class=\"badge expired\""),
        "{expired}"
    );
    assert!(expired.contains("until <span class=\"nowrap\">2021-01-01</span>"));
    assert!(expired.contains("self-signed"));
    assert!(body.contains("<g class=\"cert-row expired\">"));
    assert!(body.contains(">expired 2021-01-01</text>"));
    // The timeline is drawn for wide and for narrow screens.
    let wide = body
        .split("<div class=\"chart-wide\">")
        .nth(1)
        .and_then(|s| s.split("<div class=\"chart-narrow\">").next())
        .expect("a wide timeline");
    assert_eq!(
        wide.matches("<g class=\"cert-row ").count(),
        5,
        "one mark per certificate"
    );
    assert_eq!(body.matches("<g class=\"cert-row ").count(), 10);
    // legacy.tls.test: TLS 1.1 latest, TLS 1.0 before it, both flagged weak, and its RSA-kx CBC
    // suite too.
    let legacy = table_row(body, "tls-table", ">legacy.tls.test</a>");
    assert!(
        legacy.contains(
            "<span class=\"ver weak\" title=\"TLS 1.1 is deprecated (RFC 8996)\">TLS 1.1</span>"
        ),
        "{legacy}"
    );
    assert!(legacy.contains(
        "<span class=\"weak-text\" title=\"TLS 1.0 is deprecated (RFC 8996)\">TLS 1.0 ×1</span>"
    ));
    assert!(legacy.contains("<code class=\"suite weak\""));
    assert!(legacy.contains("TLS_RSA_WITH_AES_128_CBC_SHA"));
    let weak = &body[body.find("Weak versions and cipher suites").unwrap()..];
    assert!(weak.contains("<code class=\"weak\">TLS 1.0</code>"));
    assert!(weak.contains("<code class=\"weak\">TLS 1.1</code>"));
    assert!(weak.contains("CBC with HMAC-SHA1"));
    // A modern service is not flagged.
    let mtls = table_row(body, "tls-table", ">mtls.tls.test</a>");
    assert!(
        mtls.contains("<span class=\"ver\">TLS 1.2</span>"),
        "{mtls}"
    );
    assert!(!mtls.contains("weak") && !mtls.contains("badge expired"));
    // No SNI, and a certificate that does not name the SNI asked for.
    let bare = table_row(body, "tls-table", ">127.0.0.1</a>");
    assert!(bare.contains("<span class=\"badge nosni\""));
    let shop = table_row(body, "tls-table", ">shop.tls.test</a>");
    assert!(shop.contains("www.other.test") && shop.contains("name mismatch"));
    // Each service links to its page.
    let id = tls_id(&app, "api.tls.test", 8443).await;
    assert!(body.contains(&format!("href=\"/tls/{id}\"")));
    assert!(!has_event_handler(body) && !body.contains("style="));
}

#[tokio::test]
async fn tls_service_page_lists_clients_and_the_certificate() {
    let app = tls_app().await;
    let id = tls_id(&app, "api.tls.test", 8443).await;
    let r = get_ok(&app, &format!("/tls/{id}")).await;
    for needle in [
        "<h1 class=\"svc-title\">api.tls.test</h1>",
        "127.0.0.1:8443",
        "TLS 1.2",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "id=\"tls-clients\"",
        "t13d0512h2_8bc4f1f87591_b26ce05bbdd6",
        "t1205h1_c02f_8763c20bf469",
        "t13d311000_e8f1e7e78f70_1f22a2ca17c4",
        "CN=api.tls.test",
        "CN=shadowtap captures test CA",
        "<code class=\"san\">api.tls.test</code>",
        "2024-01-01",
        "2034-01-01",
        "rsa 2048",
        "http/1.1",
        "weak cipher suite",
    ] {
        assert!(r.body.contains(needle), "/tls/{id} lacks {needle:?}");
    }
    // The CBC suite with SHA-1 is flagged, the others are not.
    let cbc = table_row(
        &r.body,
        "tls-clients",
        "t13d0512h2_377f0899af9f_b26ce05bbdd6",
    );
    assert!(cbc.contains("t1206h1_c013_3d6a49a48498"));
    assert!(
        r.body
            .contains("<code class=\"suite weak\">TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA</code>")
    );
    assert!(
        r.body
            .contains("<code class=\"suite\">TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</code>")
    );
    // Seven connections, one row per (client, JA4, JA4S): two JA4 came back with two JA4S each
    // (a full handshake, then a resumption).
    assert_eq!(
        r.body[r.body.find("id=\"tls-clients\"").unwrap()..]
            .matches("<tr>")
            .count(),
        8,
        "header + 7 rows"
    );
    // expired.tls.test: expired, self-signed.
    let id = tls_id(&app, "expired.tls.test", 443).await;
    let r = get_ok(&app, &format!("/tls/{id}")).await;
    assert!(
        r.body
            .contains("<span class=\"badge expired\">expired</span>")
    );
    assert!(
        r.body
            .contains("<span class=\"badge selfsigned\">self-signed</span>")
    );
    assert!(r.body.contains("(itself)"));
    assert!(r.body.contains("expired 5.") || r.body.contains("expired 6."));
    // legacy.tls.test: both versions flagged.
    let id = tls_id(&app, "legacy.tls.test", 8445).await;
    let r = get_ok(&app, &format!("/tls/{id}")).await;
    assert!(r.body.contains("<span class=\"ver weak\">TLS 1.0</span>"));
    assert!(r.body.contains("<span class=\"ver weak\">TLS 1.1</span>"));
    assert!(r.body.contains("legacy version"));
    // api.tls.test's TLS service links to its HTTP endpoints (seen in clear on port 80).
    let id = tls_id(&app, "api.tls.test", 443).await;
    let r = get_ok(&app, &format!("/tls/{id}")).await;
    assert!(r.body.contains("href=\"/endpoints?host=api.tls.test\""));
    for bad in ["/tls/999999", "/tls/abc", "/tls/-1"] {
        assert_eq!(get(&app, bad).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn tls_json_api() {
    let app = tls_app().await;
    let index = get_ok(&app, "/api/").await.json();
    assert!(index["endpoints"]["GET /api/tls"].is_string());
    let r = get_ok(&app, "/api/tls").await;
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let j = r.json();
    let services = j["services"].as_array().unwrap();
    assert_eq!(services.len(), 7);
    for s in services {
        for key in [
            "id",
            "host",
            "sni",
            "server_ip",
            "server_port",
            "first_seen",
            "last_seen",
            "handshakes",
            "resumed",
            "client_count",
            "ja4_count",
            "version",
            "cipher",
            "versions",
            "ciphers",
            "alpn_offered",
            "alpn_selected",
            "cert_subject",
            "cert_issuer",
            "cert_sans",
            "cert_not_before",
            "cert_not_after",
            "cert_key",
            "cert_self_signed",
        ] {
            assert!(s.get(key).is_some(), "service without {key}: {s}");
        }
    }
    let by = |host: &str, port: i64| {
        services
            .iter()
            .find(|s| s["host"] == host && s["server_port"] == port)
            .unwrap()
    };
    let expired = by("expired.tls.test", 443);
    assert_eq!(expired["cert_not_after"], "2021-01-01T00:00:00Z");
    assert_eq!(expired["cert_self_signed"], true);
    assert_eq!(expired["handshakes"], 2);
    let legacy = by("legacy.tls.test", 8445);
    assert_eq!(
        legacy["versions"],
        serde_json::json!({"TLS 1.0": 1, "TLS 1.1": 1})
    );
    assert_eq!(legacy["version"], "TLS 1.1");
    let bare = by("127.0.0.1", 443);
    assert_eq!(bare["sni"], "");
    let api = by("api.tls.test", 8443);
    assert_eq!(api["handshakes"], 7);
    assert_eq!(api["resumed"], 2);
    assert_eq!(api["cert_sans"], serde_json::json!(["api.tls.test"]));
    let clients = j["clients"].as_array().unwrap();
    assert!(clients.iter().any(|c| c["service_id"] == api["id"]
        && c["ja4"] == "t13d0512h2_8bc4f1f87591_b26ce05bbdd6"
        && c["ja4s"] == "t1205h1_c02f_8763c20bf469"
        && c["client"] == "127.0.0.1"
        && c["handshakes"] == 1));
    // The same rows as `shadowtap tls --json` (one page holds them all).
    let store = Store::open_read_only(tls_fixture()).await.unwrap();
    let services = store.tls_services(None).await.unwrap();
    let direct = serde_json::json!({
        "total": services.len(),
        "page": 1,
        "per_page": 500,
        "pages": 1,
        "services": services,
        "clients": store.tls_clients(None).await.unwrap(),
    });
    assert_eq!(j, direct);
    // Filtered by host.
    let one = get_ok(&app, "/api/tls?host=legacy.tls.test").await.json();
    assert_eq!(one["services"].as_array().unwrap().len(), 1);
    assert_eq!(one["clients"].as_array().unwrap().len(), 2);
    assert!(
        one["clients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["host"] == "legacy.tls.test")
    );
    let none = get_ok(&app, "/api/tls?host=nowhere.test").await.json();
    assert_eq!(none["services"], serde_json::json!([]));
}

#[tokio::test]
async fn host_pages_show_their_tls_services() {
    let app = tls_app().await;
    let svc = tls_id(&app, "api.tls.test", 8443).await;
    // The endpoints of api.tls.test (cleartext HTTP on port 80) and its TLS services.
    let list = get_ok(&app, "/endpoints?host=api.tls.test").await;
    assert_eq!(list.rows(), 2, "the endpoint table comes first");
    assert!(list.body.contains("<section class=\"card tls-host\">"));
    assert!(
        list.body
            .contains(&format!("<a href=\"/tls/{svc}\">127.0.0.1:8443</a>"))
    );
    assert!(list.body.contains("127.0.0.1:443"));
    assert!(list.body.contains("TLS_AES_") || list.body.contains("TLS_ECDHE_"));
    assert!(list.body.contains("until 2034-01-01"));
    // Without a host, or for a host without TLS, no block.
    assert!(!get_ok(&app, "/endpoints").await.body.contains("tls-host"));
    let id = endpoint_id(&app, "account", "GET", "/v1/account").await;
    let page = get_ok(&app, &format!("/endpoints/{id}")).await;
    assert!(page.body.contains("<section class=\"card tls-host\">"));
    assert!(page.body.contains(&format!("href=\"/tls/{svc}\"")));
    let plain = get_ok(
        &app_with(AuthConfig::default()).await,
        "/endpoints?host=api.acme.test",
    )
    .await;
    assert!(!plain.body.contains("tls-host"));
}

#[tokio::test]
async fn hostile_tls_strings_render_only_as_text() {
    // The hostile HTTP fixture plus an encrypted service whose every string is a payload, for
    // the hostile host (so its endpoint pages show the TLS block too).
    let (_dir, db) = copy_fixture();
    let host = "<script>alert(1)</script>";
    {
        let store = Store::open(&db).await.unwrap();
        let sql = support::sql(&store).await;
        let now = shadowtap::time::Timestamp::now();
        let secs = now.secs();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tls_services (host, sni, server_ip, server_port, first_seen, last_seen,
                handshakes, resumed, versions, ciphers, alpn_offered, alpn_selected, version,
                cipher, cert_subject, cert_issuer, cert_sans, cert_not_before, cert_not_after,
                cert_key, cert_self_signed)
             VALUES (?1, ?1, '10.9.9.9', 443, ?2, ?2, 3, 1, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10,
                ?11, ?12, ?13, 0) RETURNING id",
        )
        .bind(host)
        .bind(now.as_nanos())
        .bind(r#"{"<img src=x onerror=alert(2)>": 3}"#)
        .bind(r#"{"<svg/onload=alert(5)>": 3}"#)
        .bind(r#"{"<script>alert(6)</script>": 3}"#)
        .bind("<img src=x onerror=alert(2)>")
        .bind("<svg/onload=alert(5)>")
        .bind("O=\"><img src=x onerror=alert(8)>, CN=<script>alert(1)</script>")
        .bind("CN=\"><svg/onload=alert(10)>")
        .bind(r#"["<script>alert(2)</script>", "\"><img src=x onerror=alert(1)>"]"#)
        .bind(secs - 300 * 86_400)
        .bind(secs + 10 * 86_400)
        .bind("<script>alert(6)</script>")
        .fetch_one(&sql)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO tls_clients (service_id, client, ja4, ja4s, handshakes, first_seen, last_seen)
             VALUES (?, '<img src=x onerror=alert(1)>', '<script>alert(6)</script>',
                '\"><svg/onload=alert(10)>', 3, ?, ?)",
        )
        .bind(id)
        .bind(now.as_nanos())
        .bind(now.as_nanos())
        .execute(&sql)
        .await
        .unwrap();
        sql.close().await;
        store.close().await;
    }
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    let j = get_ok(&app, "/api/tls").await.json();
    let svc = &j["services"][0];
    assert_eq!(svc["host"], host, "JSON carries the strings as data");
    assert_eq!(j["clients"][0]["ja4"], "<script>alert(6)</script>");
    let id = svc["id"].as_i64().unwrap();
    let hello = get_ok(&app, &format!("/api/endpoints?host={}&per=500", q(host)))
        .await
        .json()["endpoints"][0]["id"]
        .as_i64()
        .unwrap();
    let paths = [
        "/tls".to_string(),
        format!("/tls/{id}"),
        format!("/endpoints?host={}", q(host)),
        format!("/endpoints/{hello}"),
    ];
    for path in &paths {
        let r = get_ok(&app, path).await;
        // (Escaped payloads in attribute values, such as a subject in a tooltip, are text.)
        assert_no_raw_payload(path, &r.body);
        assert!(
            r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path} shows the hostile host, escaped"
        );
    }
    let page = get_ok(&app, "/tls").await.body;
    // The timeline (SVG built in Rust) escapes the certificate's name, and flags it: it
    // expires in 10 days.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("<g class=\"cert-row expiring\">"));
    assert!(page.contains("<span class=\"badge expiring\""));
    assert!(
        page.contains("&#60;svg/onload=alert(5)&#62;"),
        "cipher name"
    );
    assert!(
        page.contains("&#60;script&#62;alert(6)&#60;/script&#62;"),
        "ALPN"
    );
    let detail = get_ok(&app, &format!("/tls/{id}")).await.body;
    for escaped in [
        "&#60;img src=x onerror=alert(2)&#62;",
        "&#60;script&#62;alert(2)&#60;/script&#62;",
        "&#34;&#62;&#60;img src=x onerror=alert(1)&#62;",
        "&#34;&#62;&#60;svg/onload=alert(10)&#62;",
        "&#60;img src=x onerror=alert(1)&#62;",
        "&#60;script&#62;alert(6)&#60;/script&#62;",
    ] {
        assert!(detail.contains(escaped), "/tls/{id} lacks {escaped:?}");
    }
}

/// Every number in `v` that JavaScript holds exactly, and every time field a string; returns
/// the paths of the offenders.
fn js_unsafe(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Number(n) => {
            let big = n.as_i64().map(|i| i.unsigned_abs() > (1 << 53));
            if big == Some(true) || n.as_u64().is_some_and(|u| u > (1 << 53)) {
                out.push(format!("{path} = {n}"));
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                if ["first_seen", "last_seen", "imported_at", "ingested_at"].contains(&k.as_str())
                    && !(x.is_null()
                        || x.as_str()
                            .is_some_and(|s| s.ends_with('Z') && s.contains('T')))
                {
                    out.push(format!("{path}.{k} = {x} (not RFC 3339)"));
                }
                js_unsafe(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                js_unsafe(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn json_api_checks_parameters_pages_lists_and_writes_rfc3339_times() {
    let app = app().await;
    let me = endpoint_id(&app, "users/me", "GET", "/api/v1/users/me").await;
    // Times as RFC 3339 strings, nothing above 2^53, in every answer.
    for path in [
        "/api/overview".to_string(),
        "/api/endpoints?per=500".into(),
        format!("/api/endpoints/{me}"),
        "/api/findings".into(),
        "/api/sequences?host=api.acme.test".into(),
        "/api/tls".into(),
        "/api/spec".into(),
        "/api/sensor".into(),
        "/api/hosts".into(),
        "/api/hosts/api.acme.test".into(),
        "/api/changes?since=3650d".into(),
    ] {
        let v = get_ok(&app, &path).await.json();
        let mut bad = Vec::new();
        js_unsafe(&v, "", &mut bad);
        assert!(bad.is_empty(), "{path}: {bad:?}");
    }
    let e = get_ok(&app, &format!("/api/endpoints/{me}")).await.json();
    let first = e["endpoint"]["first_seen"].as_str().unwrap();
    assert!(
        first.len() >= "2025-01-01T12:00:00Z".len() && first.as_bytes()[10] == b'T',
        "{first}"
    );

    // A value a parameter does not take: 400, naming the parameter and what it takes.
    for (path, name, takes) in [
        ("/api/endpoints?sort=bogus", "sort", "requests"),
        ("/api/endpoints?dir=up", "dir", "desc"),
        ("/api/endpoints?class=secret", "class", "shadow"),
        ("/api/endpoints?auth=magic", "auth", "bearer_jwt"),
        ("/api/endpoints?sensitive=dna", "sensitive", "credit_card"),
        ("/api/endpoints?findings=maybe", "findings", "yes"),
        (
            "/api/endpoints?min_severity=severe",
            "min_severity",
            "critical",
        ),
        ("/api/endpoints?sort=danger", "sort", "risk"),
        (
            "/api/endpoints?per=5000",
            "per",
            "an integer from 10 to 500",
        ),
        (
            "/api/endpoints?page=abc",
            "page",
            "an integer from 1 to 1000000",
        ),
        ("/api/findings?severity=urgent", "severity", "critical"),
        (
            "/api/findings?kind=%3Cscript%3E",
            "kind",
            "jwt_alg_none_accepted",
        ),
        ("/api/findings?per=0", "per", "an integer from 1 to 1000"),
        ("/api/tls?page=0", "page", "an integer from 1 to 1000000"),
        ("/api/sensor?per=-1", "per", "an integer from 1 to 500"),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        let j = r.json();
        assert_eq!(j["parameter"], name, "{path}");
        let allowed: Vec<&str> = j["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(allowed.contains(&takes), "{path}: {allowed:?}");
        assert!(
            !r.body.contains("script"),
            "{path}: the value is not echoed"
        );
        assert!(j["error"].as_str().unwrap().contains(name));
    }
    // Empty values are no filter, as on the pages.
    get_ok(&app, "/api/endpoints?sort=&class=&page=").await;

    // Any other path under /api/ is a JSON 404.
    for path in ["/api/nope", "/api/endpoints/1/nope", "/api/v2/overview"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        assert_eq!(r.json()["error"], "Not found.");
    }

    // Findings come in pages that add up to the total, most severe first.
    let all = get_ok(&app, "/api/findings").await.json();
    let total = all["total"].as_i64().unwrap();
    assert!(total > 4, "{total}");
    let ids = |v: &Value| -> Vec<i64> {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["findings"].as_array().unwrap().iter())
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let mut paged = Vec::new();
    let pages = (total + 3) / 4;
    for page in 1..=pages {
        let p = get_ok(&app, &format!("/api/findings?per=4&page={page}"))
            .await
            .json();
        assert_eq!(p["total"], total);
        assert_eq!(p["pages"], pages);
        let got = ids(&p);
        assert!(got.len() <= 4 && !got.is_empty(), "page {page}");
        paged.extend(got);
    }
    let mut whole = ids(&all);
    whole.sort_unstable();
    paged.sort_unstable();
    assert_eq!(paged, whole, "the pages hold every finding once");
    let beyond = get_ok(&app, &format!("/api/findings?per=4&page={}", pages + 1))
        .await
        .json();
    assert!(ids(&beyond).is_empty());
    let s = get_ok(&app, "/api/sensor?per=1").await.json();
    assert_eq!(s["captures"].as_array().unwrap().len(), 1);
    assert_eq!(s["total"], 2);
    assert_eq!(s["pages"], 2);
}

/// The feed over two ingests: capture A (`rest_api.pcap`), then capture B (`posture.pcap`,
/// recorded later): since A's newest request, the feed lists exactly what B added — endpoints,
/// parameters and auth schemes that were not in the inventory after A.
#[tokio::test]
async fn change_feed_lists_what_a_second_ingest_added() {
    type Keys = std::collections::BTreeSet<(String, String)>;
    async fn keys(pool: &sqlx::SqlitePool) -> (Keys, Keys, Keys) {
        let rows = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_as::<_, (String, String)>(sql)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect::<Keys>()
            }
        };
        (
            rows("SELECT host, method || ' ' || path_template FROM endpoints WHERE first_seen IS NOT NULL").await,
            rows("SELECT e.host || ' ' || e.method || ' ' || e.path_template, p.location || ' ' || p.name
                  FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id").await,
            rows("SELECT DISTINCT e.host || ' ' || e.method || ' ' || e.path_template, a.scheme
                  FROM endpoint_auth a JOIN endpoints e ON e.id = a.endpoint_id").await,
        )
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    let store = Store::open(&db).await.unwrap();
    ingest_files(
        &store,
        &[captures().join("rest_api.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let newest_a = store.dashboard().dashboard_newest().await.unwrap().unwrap();
    let pool = support::sql(&store).await;
    let (ep_a, par_a, auth_a) = keys(&pool).await;
    ingest_files(
        &store,
        &[captures().join("posture.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let (ep_b, par_b, auth_b) = keys(&pool).await;
    store.close().await;
    let new_eps: Keys = ep_b.difference(&ep_a).cloned().collect();
    let new_pars: Keys = par_b.difference(&par_a).cloned().collect();
    let new_auth: Keys = auth_b.difference(&auth_a).cloned().collect();
    assert!(!new_eps.is_empty() && !new_pars.is_empty() && !new_auth.is_empty());

    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    let since = shadowtap::store::iso(newest_a + 1);
    let feed = get_ok(&app, &format!("/api/changes?since={}&per=1000", q(&since)))
        .await
        .json();
    assert!(feed["since"].as_str().unwrap().starts_with(&since[..19]));
    let rows = feed["changes"].as_array().unwrap();
    assert_eq!(feed["total"].as_i64().unwrap() as usize, rows.len());
    let of = |kind: &str, key: &dyn Fn(&Value) -> (String, String)| -> Keys {
        rows.iter().filter(|r| r["kind"] == kind).map(key).collect()
    };
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let endpoint = |r: &Value| {
        format!(
            "{} {} {}",
            s(&r["host"]),
            s(&r["method"]),
            s(&r["path_template"])
        )
    };
    assert_eq!(of("endpoint", &|r| (s(&r["host"]), s(&r["what"]))), new_eps);
    assert_eq!(of("parameter", &|r| (endpoint(r), s(&r["what"]))), new_pars);
    assert_eq!(of("auth", &|r| (endpoint(r), s(&r["what"]))), new_auth);
    for r in rows {
        let t = r["first_seen"].as_str().unwrap();
        assert!(t >= since.as_str(), "{r}");
    }
    // Counts per host and kind add up to the total.
    let per_host: i64 = feed["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["total"].as_i64().unwrap())
        .sum();
    assert_eq!(per_host, feed["total"].as_i64().unwrap());
    // Nothing A brought is new since then; everything is new since before A.
    let before = shadowtap::store::iso(0);
    let all = get_ok(
        &app,
        &format!("/api/changes?since={}&kind=endpoint&per=1000", q(&before)),
    )
    .await
    .json();
    assert_eq!(all["total"].as_i64().unwrap() as usize, ep_b.len());
    // The page: grouped by host, the new endpoints listed, a kind filter, paging.
    let page = get_ok(&app, &format!("/changes?since={}&per=1000", q(&since))).await;
    for (_, what) in &new_eps {
        let (m, p) = what.split_once(' ').unwrap();
        assert!(
            page.body.contains(&format!(
                ">{m}</span> <span class=\"path\">{}</span>",
                web::fmt::esc(p)
            )),
            "{what}"
        );
    }
    let one = get_ok(
        &app,
        &format!("/api/changes?since={}&kind=auth&per=1", q(&since)),
    )
    .await
    .json();
    assert_eq!(one["total"].as_i64().unwrap() as usize, new_auth.len());
    assert_eq!(one["changes"].as_array().unwrap().len(), 1);
    assert_eq!(one["pages"].as_i64().unwrap() as usize, new_auth.len());
    // Relative windows count back from the newest request, not from now: the default (24h)
    // holds everything of these captures, recorded within an hour.
    let d = get_ok(&app, "/api/changes?kind=endpoint").await.json();
    assert_eq!(d["total"].as_i64().unwrap() as usize, ep_b.len());
    get_ok(&app, "/changes").await;
    get_ok(&app, "/changes?since=1h&kind=parameter").await;
}

/// Rows written before migration 0014 have no first-seen time: the feed never lists them and
/// says how many there are.
#[tokio::test]
async fn change_feed_says_when_a_time_is_unknown() {
    let (_dir, db) = copy_fixture();
    let store = Store::open(&db).await.unwrap();
    let pool = support::sql(&store).await;
    let n = sqlx::query("UPDATE endpoint_params SET first_seen = NULL WHERE location = 'query'")
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected();
    assert!(n > 0);
    store.close().await;
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    let feed = get_ok(&app, "/api/changes?since=3650d&kind=parameter&per=1000")
        .await
        .json();
    assert!(
        feed["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["what"].as_str().unwrap().starts_with("path "))
    );
    assert_eq!(feed["unknown_first_seen"][0]["key"], "parameter");
    assert_eq!(feed["unknown_first_seen"][0]["count"], n as i64);
    let page = get_ok(&app, "/changes?since=3650d").await;
    assert!(page.body.contains("is unknown"), "{}", page.body);
}

#[tokio::test]
async fn hosts_count_as_the_endpoint_list_findings_and_overview_do() {
    let app = app().await;
    let hosts = get_ok(&app, "/api/hosts?per=500").await.json();
    let rows = hosts["hosts"].as_array().unwrap();
    let overview = get_ok(&app, "/api/overview").await.json();
    assert_eq!(hosts["total"], overview["totals"]["hosts"]);
    assert_eq!(rows.len() as i64, hosts["total"].as_i64().unwrap());
    let html = get_ok(&app, "/hosts?per=500").await.body;
    assert!(html.contains("id=\"service-map\"") && html.contains("<svg class=\"svc-map\""));
    let mut sum = 0;
    for h in rows {
        let name = h["host"].as_str().unwrap();
        let endpoints = h["endpoints"].as_i64().unwrap();
        sum += endpoints;
        let list = get_ok(&app, &format!("/api/endpoints?host={}&per=10", q(name)))
            .await
            .json();
        assert_eq!(list["total"].as_i64().unwrap(), endpoints, "{name}");
        let one = get_ok(&app, &format!("/api/hosts/{}", q(name)))
            .await
            .json();
        assert_eq!(
            one["host"]["endpoints"].as_i64().unwrap(),
            endpoints,
            "{name}"
        );
        assert_eq!(
            one["endpoints"]["total"].as_i64().unwrap(),
            endpoints,
            "{name}"
        );
        assert_eq!(one["host"]["requests"], h["requests"], "{name}");
        let findings = get_ok(
            &app,
            &format!("/api/findings?host={}&state=active", q(name)),
        )
        .await
        .json();
        assert_eq!(findings["total"], h["findings"], "{name}");
        assert_eq!(one["findings"]["total"], h["findings"], "{name}");
        if let Some(b) = overview["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["key"] == name)
        {
            assert_eq!(b["count"].as_i64().unwrap(), endpoints, "{name}");
        }
        // The host's page says the same and links to it by its encoded name.
        let page = get_ok(&app, &format!("/hosts/{}", q(name))).await.body;
        assert!(
            page.contains(&format!("<div class=\"kpi-value\">{}</div>", endpoints)),
            "{name}"
        );
        assert!(
            html.contains(&format!("href=\"/hosts/{}\"", web::fmt::esc(&q(name)))),
            "{name}"
        );
    }
    assert_eq!(
        sum,
        get_ok(&app, "/api/endpoints?per=10").await.json()["total"]
            .as_i64()
            .unwrap()
    );
    // The acme host: coverage from its classification, its clients, its riskiest endpoint first.
    let acme = get_ok(&app, "/api/hosts/api.acme.test").await.json();
    let pct = acme["host"]["coverage_pct"].as_f64().unwrap();
    assert!(pct > 0.0 && pct < 100.0, "{pct}");
    assert!(acme["host"]["clients"].as_i64().unwrap() >= 1);
    assert!(!acme["top_clients"].as_array().unwrap().is_empty());
    assert!(!acme["service_map"]["edges"].as_array().unwrap().is_empty());
    let eps = acme["endpoints"]["endpoints"].as_array().unwrap();
    assert!(
        eps.windows(2)
            .all(|w| w[0]["risk_score"].as_i64() >= w[1]["risk_score"].as_i64())
    );
    // Sorting and searching.
    let by_name = get_ok(&app, "/api/hosts?sort=host&dir=asc").await.json();
    let names: Vec<&str> = by_name["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let found = get_ok(&app, "/api/hosts?q=ACME").await.json();
    assert_eq!(found["total"], 1);
    let paged = get_ok(&app, "/api/hosts?per=1&page=2").await.json();
    assert_eq!(paged["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(paged["pages"], hosts["total"]);
    // Links: the overview's busiest hosts and the endpoint rows lead to the host's page.
    let home = get_ok(&app, "/").await.body;
    assert!(home.contains("href=\"/hosts/api.acme.test\"") && home.contains("href=\"/changes\""));
    let list = get_ok(&app, "/endpoints").await.body;
    assert!(list.contains("href=\"/hosts/api.acme.test\""));
    let nav = get_ok(&app, "/hosts").await.body;
    assert!(
        nav.contains("<a href=\"/hosts\" class=\"active\"") && nav.contains("<a href=\"/changes\"")
    );
}

#[tokio::test]
async fn hosts_and_changes_refuse_what_they_do_not_take() {
    let app = app().await;
    for (path, name, takes) in [
        ("/api/changes?since=yesterday", "since", "RFC 3339"),
        ("/api/changes?since=24x", "since", "RFC 3339"),
        ("/api/changes?kind=%3Cscript%3E", "kind", "tls_client"),
        ("/api/changes?per=5000", "per", "an integer from 1 to 1000"),
        ("/api/hosts?sort=bogus", "sort", "coverage"),
        ("/api/hosts?dir=up", "dir", "asc"),
        ("/api/hosts?per=0", "per", "an integer from 1 to 500"),
        (
            "/api/hosts/api.acme.test?page=0",
            "page",
            "an integer from 1 to 1000000",
        ),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        let j = r.json();
        assert_eq!(j["parameter"], name, "{path}");
        assert!(
            j["allowed"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().contains(takes)),
            "{path}: {j}"
        );
        assert!(
            !r.body.contains("script"),
            "{path}: the value is not echoed"
        );
    }
    // The page cannot guess a time either; other bad values it ignores, like every page.
    let r = get(&app, "/changes?since=%3Cscript%3E").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_no_raw_payload("/changes?since=", &r.body);
    get_ok(&app, "/changes?kind=bogus").await;
    get_ok(&app, "/hosts?sort=bogus&dir=up&per=x").await;
    // An unknown host: a JSON 404 under /api/, the 404 page elsewhere.
    for path in ["/api/hosts/no.such.host", "/api/hosts/%3Cscript%3E"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(r.json()["error"], "Not found.");
    }
    let r = get(&app, "/hosts/no.such.host").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
