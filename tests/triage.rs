//! The triage workflow end to end, over real captures (`captures/posture.pcap`,
//! `sequences.pcap`, `rest_api.pcap`, `hostile.pcap`, `forge.pcap`, `graphql.pcap`: 57
//! findings, more than a page): ingest, triage through the CLI, exports that leave false
//! positives out (or mark them suppressed), the dashboard's page (states, pagination, search,
//! combined filters, the SARIF of the filter), its triage form (CSRF refused without the token,
//! applied with it), the JSON API, and the daemon's alerts honouring triage.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_shadowtap");

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

async fn inventory(dir: &Path) -> PathBuf {
    let db = dir.join("inventory.db");
    let store = Store::open(&db).await.unwrap();
    let files: Vec<PathBuf> = [
        "posture.pcap",
        "sequences.pcap",
        "rest_api.pcap",
        "hostile.pcap",
        "forge.pcap",
        "graphql.pcap",
    ]
    .iter()
    .map(|f| captures().join(f))
    .collect();
    ingest_files(&store, &files, &IngestOptions::default(), |_| {})
        .await
        .unwrap();
    store.close().await;
    db
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("USER", "alice")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn scalar(db: &Path, q: &str) -> String {
    let store = Store::open_read_only(db).await.unwrap();
    let pool = support::sql(&store).await;
    let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(q.to_string()))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    store.close().await;
    v
}

use support::dashboard::{Resp, send};

async fn get(app: &Router, path: &str) -> Resp {
    let r = send(
        app,
        Request::get(path)
            .header(header::HOST, "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
    r
}

fn post(path: &str, cookie: Option<&str>, ct: &str, body: String) -> Request<Body> {
    let mut b = Request::post(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, ct);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body)).unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Valid SARIF 2.1.0 (the schema `tests/sarif.rs` checks against).
fn validate_sarif(doc: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/sarif-schema-2.1.0.json")).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(&id, schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("not valid SARIF 2.1.0: {e:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_from_cli_to_exports_dashboard_and_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = inventory(dir.path()).await;
    let dbs = db.to_str().unwrap();
    let total: i64 = scalar(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM api_findings")
        .await
        .parse()
        .unwrap();
    assert!(
        total > 50,
        "{total} findings: the test needs more than a page"
    );

    // The CLI: a bad state names the allowed values; triage by id and by dedup key.
    let (ok, _, err) = cli(&["findings", "triage", "--db", dbs, "1", "--state", "closed"]);
    assert!(!ok);
    assert!(
        err.contains("open, acknowledged, false_positive or resolved"),
        "{err}"
    );
    let fp_id: i64 = scalar(
        &db,
        "SELECT CAST(min(id) AS TEXT) FROM findings WHERE kind = 'jwt_alg_none_accepted'",
    )
    .await
    .parse()
    .unwrap();
    let (ok, out, err) = cli(&[
        "findings",
        "triage",
        "--db",
        dbs,
        &fp_id.to_string(),
        "--state",
        "false_positive",
        "--reason",
        "staging tenant, test tokens",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("open -> false_positive by alice"), "{out}");
    let ack_key = scalar(
        &db,
        "SELECT dedup_key FROM findings WHERE kind = 'verbose_errors' ORDER BY id LIMIT 1",
    )
    .await;
    let (ok, _, err) = cli(&[
        "findings",
        "triage",
        "--db",
        dbs,
        &ack_key,
        "--state",
        "acknowledged",
        "--reason",
        "ticket SEC-12",
        "--by",
        "bob",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT triage_state FROM api_findings WHERE id = {fp_id}")
        )
        .await,
        "false_positive"
    );
    assert_eq!(
        scalar(&db, "SELECT group_concat(actor || ':' || from_state || '>' || to_state || ':' || reason, '|') FROM api_finding_triage").await,
        "alice:open>false_positive:staging tenant, test tokens|bob:open>acknowledged:ticket SEC-12"
    );
    // The listing: states shown, false positives left out unless asked for.
    let (ok, out, _) = cli(&["findings", "--db", dbs]);
    assert!(ok);
    assert!(out.contains(&format!("{} findings", total - 1)), "{out}");
    assert!(out.contains("acknowledged"));
    let (_, out, _) = cli(&["findings", "list", "--db", dbs, "--state", "false_positive"]);
    assert!(
        out.contains("1 findings") && out.contains("staging tenant"),
        "{out}"
    );
    let (ok, _, err) = cli(&["findings", "--db", dbs, "--state", "nope"]);
    assert!(
        !ok && err.contains("open, acknowledged, false_positive, resolved"),
        "{err}"
    );

    // Exports leave the false positive out by default.
    let (ok, out, err) = cli(&["export", "--db", dbs, "--format", "sarif"]);
    assert!(ok, "{err}");
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len() as i64, total - 1);
    assert!(results.iter().all(|r| r.get("suppressions").is_none()));
    let (_, out, _) = cli(&[
        "export",
        "--db",
        dbs,
        "--format",
        "sarif",
        "--include-suppressed",
    ]);
    let sarif: Value = serde_json::from_str(&out).unwrap();
    validate_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len() as i64, total);
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        suppressed[0]["suppressions"],
        serde_json::json!([{"kind": "external", "status": "accepted", "justification": "staging tenant, test tokens"}])
    );
    let (_, out, _) = cli(&["export", "--db", dbs, "--format", "json"]);
    let json: Value = serde_json::from_str(&out).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len() as i64, total - 1);
    assert!(
        findings
            .iter()
            .all(|f| f["triage_state"] != "false_positive")
    );
    let csv_dir = dir.path().join("csv");
    let (ok, _, err) = cli(&[
        "export",
        "--db",
        dbs,
        "--format",
        "csv",
        "--out",
        csv_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(csv_dir.join("api_findings.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().ends_with(",triage_state"),
        "{csv}"
    );
    assert_eq!(csv.lines().count() as i64, total);
    assert!(!csv.contains("false_positive"));
    let history = std::fs::read_to_string(csv_dir.join("api_finding_triage.csv")).unwrap();
    assert!(history.starts_with("id,finding_id,dedup_key,from_state,to_state,actor,reason,at"));
    assert_eq!(history.lines().count(), 3, "{history}");

    // The dashboard: the default view hides the false positive and says so; pages of 50.
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    let page = get(&app, "/findings").await;
    assert_eq!(page.findings(), 50);
    assert!(
        page.body.contains("1 more resolved or false positive"),
        "hidden count"
    );
    assert!(
        page.body
            .contains("class=\"badge acknowledged triage-state\"")
    );
    assert!(page.body.contains("ticket SEC-12"));
    assert!(page.body.contains("rel=\"next\""));
    assert!(!page.body.contains(&format!("id=\"finding-{fp_id}\"")));
    let page2 = get(&app, "/findings?page=2").await;
    assert_eq!(page2.findings() as i64, total - 1 - 50);
    let all2 = get(&app, "/findings?state=all&page=2").await;
    assert_eq!(all2.findings() as i64, total - 50);
    let fps = get(&app, "/findings?state=false_positive").await;
    assert_eq!(fps.findings(), 1);
    // Counts elsewhere are of the same active findings: the overview's total and an
    // endpoint's findings count leave the false positive out.
    let overview = get(&app, "/api/overview").await.json();
    assert_eq!(overview["totals"]["findings"].as_i64(), Some(total - 1));
    let fp_endpoint = scalar(
        &db,
        &format!(
            "SELECT coalesce((SELECT CAST(e.id AS TEXT) FROM findings f JOIN endpoints e \
             ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template \
             WHERE f.id = {fp_id}), '')"
        ),
    )
    .await;
    if !fp_endpoint.is_empty() {
        let all_on_it: i64 = scalar(
            &db,
            &format!(
                "SELECT CAST(COUNT(*) AS TEXT) FROM findings f JOIN endpoints e ON e.host = f.host \
                 AND e.method = f.method AND e.path_template = f.path_template WHERE e.id = {fp_endpoint}"
            ),
        )
        .await
        .parse()
        .unwrap();
        let list = get(&app, "/api/endpoints?per=500").await.json();
        let row = list["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"].as_i64() == fp_endpoint.parse::<i64>().ok())
            .expect("the false positive's endpoint is listed");
        assert_eq!(row["findings"].as_i64(), Some(all_on_it - 1), "{row}");
    }
    assert!(fps.body.contains("staging tenant, test tokens"));
    assert!(fps.body.contains("History (1)"));
    // Search: case-insensitive, over kind, host, path and detail; `%` and `_` are literal.
    let s = get(&app, "/findings?q=JWT_ALG&state=all").await;
    let jwt: i64 = scalar(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM findings WHERE kind LIKE '%jwt_alg%' OR detail LIKE '%jwt_alg%' OR host LIKE '%jwt_alg%' OR path_template LIKE '%jwt_alg%'").await.parse().unwrap();
    assert_eq!(s.findings() as i64, jwt);
    assert!(jwt >= 1);
    assert_eq!(get(&app, "/findings?q=%25&state=all").await.findings(), 0);
    assert_eq!(
        get(&app, "/findings?q=jwt%25alg&state=all")
            .await
            .findings(),
        0
    );
    // Hostile input in the search is echoed escaped.
    let h = get(
        &app,
        "/findings?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=all",
    )
    .await;
    assert!(!h.body.contains("<script>alert(1)</script>"));
    // Filters combine.
    let crit = get(&app, "/findings?severity=critical&state=all")
        .await
        .findings();
    let crit_jwt = get(&app, "/findings?severity=critical&q=jwt&state=all")
        .await
        .findings();
    let n_crit_jwt: i64 = scalar(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM findings WHERE severity = 'critical' AND (kind LIKE '%jwt%' OR detail LIKE '%jwt%' OR host LIKE '%jwt%' OR path_template LIKE '%jwt%')").await.parse().unwrap();
    assert_eq!(crit_jwt as i64, n_crit_jwt);
    assert!(crit_jwt <= crit && crit_jwt > 0);
    // An unknown state is refused with the values it takes.
    let bad = send(
        &app,
        Request::get("/findings?state=closed")
            .header(header::HOST, "127.0.0.1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The SARIF of the current filter.
    let sarif = get(&app, "/findings.sarif?severity=critical&q=jwt&state=all").await;
    assert_eq!(
        sarif.headers[header::CONTENT_TYPE],
        "application/sarif+json"
    );
    validate_sarif(&sarif.json());
    assert_eq!(
        sarif.json()["runs"][0]["results"].as_array().unwrap().len() as i64,
        n_crit_jwt
    );
    assert!(page.body.contains("href=\"/findings.sarif\""));

    // The triage form: refused without the CSRF token, applied with it (303 back).
    let target: i64 = scalar(
        &db,
        &format!(
            "SELECT CAST(min(id) AS TEXT) FROM findings WHERE id <> {fp_id} AND dedup_key <> '{}'",
            ack_key.replace('\'', "''")
        ),
    )
    .await
    .parse()
    .unwrap();
    let path = format!("/findings/{target}/triage");
    let cookie = page.cookie().expect("a session cookie");
    let csrf = page.csrf();
    let r = send(
        &app,
        post(
            &path,
            Some(&cookie),
            FORM,
            "state=resolved&reason=fixed".into(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &app,
        post(
            &path,
            Some(&cookie),
            FORM,
            "csrf=0000&state=resolved&reason=fixed".into(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT triage_state FROM api_findings WHERE id = {target}")
        )
        .await,
        "open"
    );
    let r = send(
        &app,
        post(
            &path,
            Some(&cookie),
            FORM,
            format!(
                "csrf={csrf}&state=resolved&reason=fixed+in+v2&by=carol&back=%2Ffindings%3Fpage%3D2"
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/findings?page=2#finding-{target}")
    );
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT triage_state FROM api_findings WHERE id = {target}")
        )
        .await,
        "resolved"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT actor || ':' || reason FROM api_finding_triage ORDER BY id DESC LIMIT 1"
        )
        .await,
        "carol:fixed in v2"
    );
    // An outside `back` is not followed; a bad state is a 400.
    let r = send(
        &app,
        post(
            &path,
            Some(&cookie),
            FORM,
            format!("csrf={csrf}&state=open&back=https%3A%2F%2Fevil.example%2F"),
        ),
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/findings#finding-{target}")
    );
    let r = send(
        &app,
        post(
            &path,
            Some(&cookie),
            FORM,
            format!("csrf={csrf}&state=closed"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(
        &app,
        post(
            "/findings/999999/triage",
            Some(&cookie),
            FORM,
            format!("csrf={csrf}&state=open"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The JSON API: state and q filters, checked; triage_state in every finding; the POST.
    let j = get(&app, "/api/findings?state=false_positive").await.json();
    assert_eq!(j["total"], 1);
    assert_eq!(
        j["groups"][0]["findings"][0]["triage_state"],
        "false_positive"
    );
    let j = get(&app, "/api/findings").await.json();
    assert_eq!(
        j["total"].as_i64().unwrap(),
        total,
        "the API lists every state by default"
    );
    let j = get(&app, "/api/findings?q=jwt&severity=critical")
        .await
        .json();
    assert_eq!(j["total"].as_i64().unwrap(), n_crit_jwt);
    let bad = send(
        &app,
        Request::get("/api/findings?state=closed")
            .header(header::HOST, "127.0.0.1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let b = bad.json();
    assert_eq!(b["parameter"], "state");
    assert!(
        b["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "false_positive")
    );
    let api_path = format!("/api/findings/{target}/triage");
    let body = r#"{"state": "acknowledged", "reason": "owner asked", "by": "dave"}"#;
    let r = send(
        &app,
        post(&api_path, Some(&cookie), "application/json", body.into()),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a cookie session needs X-CSRF-Token"
    );
    let mut req = post(&api_path, Some(&cookie), "application/json", body.into());
    req.headers_mut()
        .insert("x-csrf-token", csrf.parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(
        (
            j["from_state"].as_str(),
            j["triage_state"].as_str(),
            j["by"].as_str()
        ),
        (Some("open"), Some("acknowledged"), Some("dave"))
    );
    let mut req = post(
        &api_path,
        Some(&cookie),
        "application/json",
        r#"{"state": "gone"}"#.into(),
    );
    req.headers_mut()
        .insert("x-csrf-token", csrf.parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["parameter"], "state");

    // With authentication on, a triage POST without a session goes to the login page.
    let store = Store::open_read_only(&db).await.unwrap();
    let authed = web::app(
        AppState::new(
            store,
            AuthConfig {
                token: Some("test-token-0123456789abcdef".into()),
                ..AuthConfig::default()
            },
        )
        .unwrap(),
    );
    let r = send(
        &authed,
        post(&path, None, FORM, "state=false_positive".into()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT triage_state FROM api_findings WHERE id = {target}")
        )
        .await,
        "acknowledged"
    );
}

/// A finding triaged as a false positive through the API stops counting in its endpoint's risk
/// (score, most severe finding, reasons, the overview's "Fix these first", the severity filter);
/// re-opened, it counts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_positive_lowers_the_endpoints_risk() {
    let dir = tempfile::tempdir().unwrap();
    let db = inventory(dir.path()).await;
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    // GET /api/v2/admin/users of posture.pcap: its one critical finding is the unsigned token.
    let list = get(
        &app,
        "/api/endpoints?q=admin%2Fusers&min_severity=critical&per=500",
    )
    .await
    .json();
    let admin = list["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == "GET" && e["path_template"] == "/api/v2/admin/users")
        .unwrap_or_else(|| panic!("GET /api/v2/admin/users in {list}"))
        .clone();
    let id = admin["id"].as_i64().unwrap();
    let before = get(&app, &format!("/api/endpoints/{id}")).await.json();
    assert_eq!(before["risk"]["max_severity"], "critical");
    let score = before["risk"]["score"].as_i64().unwrap();
    assert!(score >= 80, "{}", before["risk"]);
    assert!(
        before["risk_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "critical: Unsigned tokens accepted"),
        "{}",
        before["risk_reasons"]
    );
    let criticals: Vec<i64> = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert!(!criticals.is_empty());
    let in_fix_first = |o: &Value| {
        o["fix_first"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["endpoint_id"] == id && g["max_severity"] == "critical")
    };
    assert!(in_fix_first(&get(&app, "/api/overview").await.json()));

    // Every critical finding of the endpoint marked false positive through the API.
    let page = get(&app, "/findings").await;
    let (cookie, csrf) = (page.cookie().expect("a session cookie"), page.csrf());
    let triage = |finding: i64, state: &str| {
        let mut req = post(
            &format!("/api/findings/{finding}/triage"),
            Some(&cookie),
            "application/json",
            format!(r#"{{"state": "{state}", "reason": "test tokens", "by": "erin"}}"#),
        );
        req.headers_mut()
            .insert("x-csrf-token", csrf.parse().unwrap());
        req
    };
    for f in &criticals {
        let r = send(&app, triage(*f, "false_positive")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let after = get(&app, &format!("/api/endpoints/{id}")).await.json();
    let lowered = after["risk"]["score"].as_i64().unwrap();
    assert!(lowered < 80 && lowered < score, "{}", after["risk"]);
    assert_ne!(after["risk"]["max_severity"], "critical");
    assert_eq!(after["endpoint"]["risk_score"], lowered);
    assert!(
        !after["risk_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "critical: Unsigned tokens accepted"),
        "{}",
        after["risk_reasons"]
    );
    assert!(!in_fix_first(&get(&app, "/api/overview").await.json()));
    let crit = get(&app, "/api/endpoints?min_severity=critical&per=500")
        .await
        .json();
    assert!(
        !crit["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id)
    );
    let by_risk = get(&app, "/api/endpoints?sort=risk&per=500").await.json();
    let row = by_risk["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["risk_score"], lowered);
    let html = get(&app, &format!("/endpoints/{id}")).await.body;
    assert!(!html.contains("critical: Unsigned tokens accepted"));

    // Re-opened, it counts again.
    for f in &criticals {
        let r = send(&app, triage(*f, "open")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let again = get(&app, &format!("/api/endpoints/{id}")).await.json();
    assert_eq!(again["risk"]["score"], score);
    assert_eq!(again["risk"]["max_severity"], "critical");
    // Over the whole inventory, the stored scores are what the definition (the view
    // endpoint_risk of migration 0012) says.
    assert_eq!(
        scalar(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM endpoints e JOIN endpoint_risk r ON r.endpoint_id = e.id
             WHERE e.risk_score <> r.risk_score OR e.max_severity IS NOT r.max_severity OR e.exposure <> r.exposure"
        )
        .await,
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_honour_triage() {
    use shadowtap::analyze::posture::Severity;
    use shadowtap::sensor::alerts::{AlertSettings, Detector};
    use shadowtap::store::TriageState;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.db")).await.unwrap();
    let pool = support::sql(&store).await;
    let settings = AlertSettings {
        min_severity: Some(Severity::Low),
        ..AlertSettings::default()
    };
    let mut det = Detector::start(&store).await.unwrap();
    let t0: i64 = 1_700_000_000_000_000_000;
    // Three identities triaged before their findings appear (a triage survives re-creation).
    for (i, key) in ["ack", "fp", "plain"].iter().enumerate() {
        sqlx::query("INSERT INTO findings (kind, severity, host, method, path_template, detail, first_seen, last_seen, dedup_key) VALUES ('verbose_errors', 'medium', 'h', 'GET', ?, 'd', ?, ?, ?)")
            .bind(format!("/{i}"))
            .bind(t0)
            .bind(t0)
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
    }
    store
        .set_triage("ack", TriageState::Acknowledged, "a", "", t0)
        .await
        .unwrap();
    store
        .set_triage("fp", TriageState::FalsePositive, "a", "", t0)
        .await
        .unwrap();
    let alerts = det.detect(&store, &settings).await.unwrap();
    let keys: Vec<&str> = alerts.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["plain"]);
    // Resolved, then seen again after the resolution: re-opened, alerted again (once).
    store
        .set_triage("plain", TriageState::Resolved, "a", "fixed", t0 + 1)
        .await
        .unwrap();
    sqlx::query("UPDATE findings SET last_seen = ?, count = count + 1 WHERE dedup_key = 'plain'")
        .bind(t0 + 1_000_000_000)
        .execute(&pool)
        .await
        .unwrap();
    store.merge(&Default::default()).await.unwrap();
    let alerts = det.detect(&store, &settings).await.unwrap();
    assert_eq!(
        alerts.len(),
        1,
        "{:?}",
        alerts.iter().map(|a| &a.key).collect::<Vec<_>>()
    );
    assert!(alerts[0].key.starts_with("plain#reopened-"));
    assert_eq!(alerts[0].body["reopened"], true);
    assert!(det.detect(&store, &settings).await.unwrap().is_empty());
}
