//! Routes declared in source code joined with the routes observed on the wire and those an API
//! description documents (issue 19), end to end through the real binary, on the `code`
//! scenario (`captures/code.md`): an Express and a FastAPI service behind nginx, recorded by
//! `captures/make.sh code`. The code declares 13 routes, 3 of them never called; nginx answers
//! 2 routes no code declares (`/healthz`, the legacy rewrite `/api/v1/orders/<id>`); one route
//! declares auth that lets anonymous callers through (a FastAPI dependency whose header is
//! optional), one declares none while nginx demands an API key; the spec documents 7 of them.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use sqlx::sqlite::SqlitePool;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

fn code_dirs() -> [PathBuf; 2] {
    let app = captures().join("tools").join("code_app");
    [app.join("express"), app.join("fastapi")]
}

fn shadowtap(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shadowtap"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> (String, String) {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "shadowtap failed: {err}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), err)
}

fn ingest(db: &Path) {
    ok(shadowtap(&[
        "ingest".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        captures().join("code.pcap").as_os_str(),
    ]));
}

fn import_spec(db: &Path) {
    ok(shadowtap(&[
        "spec".as_ref(),
        "import".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        captures().join("code.openapi.yaml").as_os_str(),
    ]));
}

/// `code scan --db DB [--host H] DIR...`: (stdout, stderr).
fn scan(db: &Path, host: Option<&str>, dirs: &[PathBuf]) -> (String, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "code".as_ref(),
        "scan".as_ref(),
        "--format".as_ref(),
        "tsv".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ];
    if let Some(h) = host {
        args.push("--host".as_ref());
        args.push(h.as_ref());
    }
    args.extend(dirs.iter().map(|d| d.as_os_str()));
    ok(shadowtap(&args))
}

fn query(db: &Path, sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM ({sql})",
            "CAST(coalesce(a, '') AS TEXT)"
        )))
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        rows.into_iter().map(|r| r.0).collect()
    })
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_scenario_servers_routes_are_found_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = scan(&dir.path().join("i.db"), None, &code_dirs());
    let want = std::fs::read_to_string(captures().join("code.expected-routes.tsv")).unwrap();
    assert_eq!(out, want);
}

#[test]
fn every_route_lands_in_its_category_in_the_views_the_findings_and_spec_diff() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    ingest(&db);
    import_spec(&db);
    let (_, err) = scan(&db, None, &code_dirs());
    assert!(
        err.contains("code (api.code.test): 13 routes declared, 10 observed, 3 never observed; 2 observed endpoints declared nowhere; declared auth not enforced on 1, enforced outside the code on 1"),
        "{err}"
    );

    // Each endpoint: who knows it, what the code says of it.
    let coverage = query(
        &db,
        "SELECT method || ' ' || path_template || ' | ' || sources || ' | ' || coalesce(code_status, '-') || ' | ' || coalesce(auth_check, '-') AS a
         FROM api_endpoint_coverage ORDER BY path_template, method",
    );
    assert_eq!(
        coverage,
        lines(&[
            "GET /api/catalog | wire,code,spec | declared | consistent",
            "GET /api/orders | wire,code,spec | declared | consistent",
            "POST /api/orders | wire,code,spec | declared | consistent",
            "DELETE /api/orders/{orderId} | code,spec | unobserved | -",
            "GET /api/orders/{orderId} | wire,code,spec | declared | consistent",
            "POST /api/users/login | wire,code | declared | consistent",
            "GET /api/users/me | wire,code | declared | consistent",
            "POST /api/users/{userId}/reset-password | code | unobserved | -",
            "GET /api/v1/orders/{order_id} | wire | undeclared | -",
            "GET /healthz | wire | undeclared | -",
            "GET /inventory/items | wire,code,spec | declared | consistent",
            "DELETE /inventory/items/{item_id} | code | unobserved | -",
            "GET /inventory/items/{item_id} | wire,code,spec | declared | not_enforced",
            "PUT /inventory/items/{item_id} | wire,code | declared | consistent",
            "GET /inventory/stock/{stock_id} | wire,code | declared | outside_code",
        ])
    );

    // Each declared route: where it was matched, with its requests.
    let routes = query(
        &db,
        "SELECT method || ' ' || path_template || ' | ' || declared_auth || ' | ' || coalesce(host, '-') || ' | ' || status || ' ' || requests AS a
         FROM api_declared_routes ORDER BY path_template, method",
    );
    assert_eq!(
        routes,
        lines(&[
            "GET /api/catalog |  | api.code.test | observed 5",
            "GET /api/orders | requireAuth | api.code.test | observed 4",
            "POST /api/orders | requireAuth | api.code.test | observed 3",
            "DELETE /api/orders/{orderId} | requireAdmin | api.code.test | unobserved 0",
            "GET /api/orders/{orderId} | requireAuth | api.code.test | observed 15",
            "POST /api/users/login |  | api.code.test | observed 4",
            "GET /api/users/me | requireAuth | api.code.test | observed 3",
            "POST /api/users/{userId}/reset-password | requireAdmin | api.code.test | unobserved 0",
            "GET /inventory/items |  | api.code.test | observed 3",
            "DELETE /inventory/items/{item_id} | Depends(require_admin) | api.code.test | unobserved 0",
            "GET /inventory/items/{item_id} | Depends(verify_token) | api.code.test | observed 34",
            "PUT /inventory/items/{item_id} | Depends(require_user) | api.code.test | observed 18",
            "GET /inventory/stock/{sku} |  | api.code.test | observed 38",
        ])
    );

    // The findings, one per disagreement.
    let findings = query(
        &db,
        "SELECT kind || ' ' || severity || ' ' || method || ' ' || path_template AS a FROM api_findings
         WHERE kind IN ('undeclared_route', 'unobserved_route', 'declared_auth_not_enforced', 'auth_outside_code')
         ORDER BY kind, path_template, method",
    );
    assert_eq!(
        findings,
        lines(&[
            "auth_outside_code low GET /inventory/stock/{stock_id}",
            "declared_auth_not_enforced high GET /inventory/items/{item_id}",
            "undeclared_route medium GET /api/v1/orders/{order_id}",
            "undeclared_route medium GET /healthz",
            "unobserved_route info DELETE /api/orders/{orderId}",
            "unobserved_route info POST /api/users/{userId}/reset-password",
            "unobserved_route info DELETE /inventory/items/{item_id}",
        ])
    );
    let detail = query(
        &db,
        "SELECT detail AS a FROM api_findings WHERE kind = 'declared_auth_not_enforced'",
    );
    assert!(
        detail[0].contains("Depends(verify_token) at routers/inventory.py:30")
            && detail[0].contains("answered 2xx 18 time(s)"),
        "{detail:?}"
    );

    // The spec's view is unchanged by the code: what it documents stays documented.
    let classes = query(
        &db,
        "SELECT method || ' ' || path_template || ' ' || classification AS a FROM api_endpoints
         WHERE classification IS NOT NULL ORDER BY path_template, method",
    );
    assert!(classes.contains(&"DELETE /api/orders/{orderId} dormant".to_string()));
    assert!(classes.contains(&"GET /healthz shadow".to_string()));

    // `spec diff` lists where code and traffic disagree.
    let (out, _) = ok(shadowtap(&[
        "spec".as_ref(),
        "diff".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ]));
    for want in [
        "undeclared   GET     api.code.test/healthz  (8 requests): served, declared in no scanned code",
        "not_enforced GET     api.code.test/inventory/items/{item_id}  (34 requests): declared auth Depends(verify_token) at routers/inventory.py:30, yet answered 2xx without credentials",
        "outside_code GET     api.code.test/inventory/stock/{stock_id}  (38 requests): no auth declared at routers/inventory.py:42, enforced outside the code",
        "unobserved   POST    api.code.test/api/users/{userId}/reset-password  (0 requests): declared at routes/users.js:28, never observed",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn with_the_host_given_the_declared_templates_name_the_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    // The code first: its templates are known before any traffic.
    let (_, err) = scan(&db, Some("api.code.test"), &code_dirs());
    assert!(err.contains("13 routes stored"), "{err}");
    ingest(&db);
    let templates = query(
        &db,
        "SELECT method || ' ' || path_template || ' ' || coalesce(code_status, '-') AS a FROM api_endpoint_coverage
         WHERE path_template LIKE '/inventory/stock/%' OR path_template LIKE '/api/v1/%' ORDER BY path_template",
    );
    assert_eq!(
        templates,
        lines(&[
            "GET /api/v1/orders/{order_id} undeclared",
            "GET /inventory/stock/{sku} declared",
        ])
    );
}

#[test]
fn a_new_scan_of_the_same_code_replaces_the_last_and_its_stale_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    ingest(&db);
    // A copy of the Express service, to edit.
    let src = code_dirs()[0].clone();
    let code = dir.path().join("orders-service");
    for f in [
        "app.js",
        "routes/orders.js",
        "routes/users.js",
        "middleware/auth.js",
    ] {
        let to = code.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), &to).unwrap();
    }
    let (_, err) = scan(&db, None, std::slice::from_ref(&code));
    assert!(
        err.contains("8 routes declared, 6 observed, 2 never observed"),
        "{err}"
    );
    let unobserved = "SELECT method || ' ' || path_template AS a FROM api_endpoints WHERE request_count = 0 ORDER BY path_template";
    assert_eq!(
        query(&db, unobserved),
        lines(&[
            "DELETE /api/orders/{orderId}",
            "POST /api/users/{userId}/reset-password"
        ])
    );
    // The reset-password route is removed from the code; the scan is made again.
    let users = code.join("routes/users.js");
    let text = std::fs::read_to_string(&users).unwrap();
    let start = text
        .find("router.post('/:userId/reset-password'")
        .expect("the route");
    let end = start + text[start..].find("});").unwrap() + 3;
    std::fs::write(&users, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let (_, err) = scan(&db, None, std::slice::from_ref(&code));
    assert!(err.contains("replacing the earlier scan"), "{err}");
    assert!(
        err.contains("7 routes declared, 6 observed, 1 never observed"),
        "{err}"
    );
    assert_eq!(
        query(&db, unobserved),
        lines(&["DELETE /api/orders/{orderId}"])
    );
    assert_eq!(
        query(
            &db,
            "SELECT COUNT(*) AS a FROM api_findings WHERE kind = 'unobserved_route'"
        ),
        lines(&["1"])
    );
    // The FastAPI routes are in no scanned code now: served, declared nowhere.
    let undeclared = query(
        &db,
        "SELECT path_template AS a FROM api_endpoint_coverage WHERE code_status = 'undeclared' AND path_template LIKE '/inventory/%'",
    );
    assert_eq!(undeclared.len(), 4, "{undeclared:?}");
}

#[tokio::test]
async fn the_dashboard_shows_the_sources_and_filters_by_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let d = db.clone();
    tokio::task::spawn_blocking(move || {
        ingest(&d);
        import_spec(&d);
        scan(&d, None, &code_dirs());
    })
    .await
    .unwrap();
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    let get = |path: &str| {
        Request::get(path)
            .header(header::HOST, "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap()
    };
    // Every source, and every category with its count, offered as a filter.
    let all = support::dashboard::send(&app, get("/endpoints")).await;
    assert_eq!(all.status, StatusCode::OK);
    for option in [
        "<option value=\"wire\">Seen on the wire (12)</option>",
        "<option value=\"code\">Declared in code (13)</option>",
        "<option value=\"spec\">Documented in a spec (7)</option>",
        "<option value=\"undeclared\">Served, declared in no code (2)</option>",
        "<option value=\"unobserved\">Declared, never observed (3)</option>",
        "<option value=\"not_enforced\">Declared auth not enforced (1)</option>",
        "<option value=\"outside_code\">Auth only outside the code (1)</option>",
    ] {
        assert!(all.body.contains(option), "missing {option}");
    }
    for (filter, rows, has, lacks) in [
        ("undeclared", 2, "/healthz", "/api/catalog"),
        (
            "unobserved",
            3,
            "/api/users/{userId}/reset-password",
            "/healthz",
        ),
        ("not_enforced", 1, "/inventory/items/{item_id}", "/healthz"),
        ("spec", 7, "/api/catalog", "/healthz"),
    ] {
        let r = support::dashboard::send(&app, get(&format!("/endpoints?source={filter}"))).await;
        assert_eq!(r.rows(), rows, "source={filter}");
        assert!(
            r.body.contains(has) && !r.body.contains(&format!(">{lacks}<")),
            "source={filter}"
        );
    }
    // The JSON API carries the same fields.
    let api = support::dashboard::send(&app, get("/api/endpoints?source=outside_code")).await;
    let v = api.json();
    let e = &v["endpoints"][0];
    assert_eq!(e["path_template"], "/inventory/stock/{stock_id}");
    assert_eq!(e["sources"], "wire,code");
    assert_eq!(e["auth_check"], "outside_code");
    // An endpoint's page says where the code declares it.
    let id = e["id"].as_i64().unwrap();
    let page = support::dashboard::send(&app, get(&format!("/endpoints/{id}"))).await;
    assert!(
        page.body.contains("Declared in <code>routers/inventory.py:42</code> (fastapi, handler <code>get_stock</code>)"),
        "{}",
        page.body
    );
}
