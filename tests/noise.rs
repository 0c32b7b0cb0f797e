//! Noise control end to end over `captures/static.pcap` (a web shop's pages and static assets
//! beside its JSON API, and two third-party hosts its pages call; real server, real clients)
//! and its published `static.openapi.yaml`: what is static, what is a third party, what an
//! ignore rule hides; the findings that follow (no shadow API for a file, a script's e-mail
//! address ranked low); the dashboard and the JSON API leaving them out by default.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shadowtap::analyze::scope::{IgnoreRule, ScopeRules};
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use sqlx::Row;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::dashboard::{Resp, send};

const SHOP: &str = "shop.static.test";
const GA: &str = "www.google-analytics.com";
const CDN: &str = "cdn.jsdelivr.net";

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// The capture ingested and its description imported, with these rules stored first.
async fn inventory(db: &Path, rules: Option<ScopeRules>) -> Store {
    let store = Store::open(db).await.unwrap();
    if let Some(r) = rules {
        store.set_scope_rules(&r).await.unwrap();
    }
    ingest_files(
        &store,
        &[captures().join("static.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let yaml = std::fs::read(captures().join("static.openapi.yaml")).unwrap();
    shadowtap::store::spec::import(&store, "static.openapi.yaml", &yaml)
        .await
        .unwrap();
    store
}

/// (host, method, template) -> (scope, classification).
async fn scopes(store: &Store) -> BTreeMap<(String, String, String), (String, Option<String>)> {
    let sql = support::sql(store).await;
    sqlx::query("SELECT host, method, path_template, scope, classification FROM api_endpoints")
        .fetch_all(&sql)
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), (r.get(3), r.get(4))))
        .collect()
}

fn key(host: &str, method: &str, path: &str) -> (String, String, String) {
    (host.into(), method.into(), path.into())
}

/// (kind, method, template) -> (severity, detail) of the findings about `host`.
async fn findings(
    store: &Store,
    host: &str,
) -> BTreeMap<(String, String, String), (String, String)> {
    let sql = support::sql(store).await;
    sqlx::query(
        "SELECT kind, IFNULL(method, ''), IFNULL(path_template, ''), severity, detail FROM api_findings WHERE host = ?",
    )
    .bind(host)
    .fetch_all(&sql)
    .await
    .unwrap()
    .iter()
    .map(|r| ((r.get(0), r.get(1), r.get(2)), (r.get(3), r.get(4))))
    .collect()
}

#[tokio::test]
async fn static_content_is_told_apart_from_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let store = inventory(&dir.path().join("t.db"), None).await;
    let s = scopes(&store).await;
    let scope = |host: &str, method: &str, path: &str| {
        s.get(&key(host, method, path))
            .unwrap_or_else(|| panic!("no {method} {host}{path} in {s:?}"))
            .0
            .clone()
    };
    // Documents, scripts, style sheets, images, fonts, icons: static, whatever their template
    // (the assets' directory merged into one template with its JSON source map).
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/about"),
        ("GET", "/assets/{param}"),
        ("HEAD", "/assets/{param}"),
        ("GET", "/assets/fonts/{font}"),
        ("GET", "/favicon.ico"),
    ] {
        assert_eq!(scope(SHOP, method, path), "static", "{method} {path}");
    }
    // JSON at /data.json, the JSONP widget (a .js path), the API itself: APIs.
    for path in [
        "/api/products",
        "/api/users/{id}",
        "/api/widget.js",
        "/data.json",
        "/api/internal/debug",
        "/healthz",
    ] {
        assert_eq!(scope(SHOP, "GET", path), "api", "{path}");
    }
    // Without [hosts], every host is ours: the tracking pixel is a static file, the beacon an
    // endpoint of a host no description covers.
    assert_eq!(scope(GA, "GET", "/collect"), "static");
    assert_eq!(scope(GA, "POST", "/g/collect"), "api");
    assert!(
        s.iter()
            .any(|((h, _, _), (sc, _))| h == CDN && sc == "static")
    );

    let f = findings(&store, SHOP).await;
    // Shadow APIs: the undocumented JSON routes only, no file.
    let shadow: Vec<&str> = f
        .keys()
        .filter(|(k, _, _)| k == "shadow_api")
        .map(|(_, _, p)| p.as_str())
        .collect();
    assert_eq!(
        shadow,
        [
            "/api/internal/debug",
            "/api/widget.js",
            "/data.json",
            "/healthz"
        ]
    );
    // Browsers send the session cookie with every file: no auth inconsistency about files.
    assert!(
        !f.contains_key(&key("auth_inconsistent", "GET", "/assets/{param}")),
        "{f:?}"
    );
    // The script's support address is published to every visitor: low, with the reason; a
    // user's e-mail address answered by the API without credentials stays critical.
    let (sev, detail) = &f[&key("unauthenticated_sensitive_data", "GET", "/assets/{param}")];
    assert_eq!(sev, "low");
    assert!(
        detail.contains("Ranked low: the endpoint serves static content"),
        "{detail}"
    );
    assert!(detail.contains("text/javascript"), "{detail}");
    let (sev, _) = &f[&key("unauthenticated_sensitive_data", "GET", "/api/users/{id}")];
    assert_eq!(sev, "critical");
    // A second assessment changes nothing (the reason is not added twice).
    shadowtap::store::spec::assess(&store).await.unwrap();
    assert_eq!(findings(&store, SHOP).await, f);

    // The risk follows: the riskiest static endpoint ranks below the APIs with findings.
    let sql = support::sql(&store).await;
    let risk = |path: &'static str| {
        let sql = sql.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT risk_score FROM api_endpoints WHERE host = ? AND method = 'GET' AND path_template = ?",
            )
            .bind(SHOP)
            .bind(path)
            .fetch_one(&sql)
            .await
            .unwrap()
        }
    };
    let assets = risk("/assets/{param}").await;
    assert_eq!(assets, 20, "a low finding and nothing for exposure");
    for api in ["/api/users/{id}", "/data.json", "/api/internal/debug"] {
        assert!(risk(api).await > assets, "{api}");
    }
    store.close().await;
}

#[tokio::test]
async fn owned_hosts_and_ignore_rules_follow_the_configuration() {
    // The [hosts] section as a file says it.
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("shadowtap.toml");
    std::fs::write(
        &toml,
        "[hosts]\nowned = [\"shop.static.test\"]\nignore = [{ path = \"/healthz\" }]\n",
    )
    .unwrap();
    let rules = shadowtap::config::Config::load(&toml)
        .unwrap()
        .hosts
        .unwrap()
        .rules()
        .unwrap();
    assert_eq!(
        rules.ignore,
        [IgnoreRule {
            host: None,
            path: Some("/healthz".into())
        }]
    );
    let store = inventory(&dir.path().join("t.db"), Some(rules)).await;
    let s = scopes(&store).await;
    for ((host, method, path), (scope, _)) in &s {
        let want = match host.as_str() {
            GA | CDN => "third_party",
            _ if path == "/healthz" => "ignored",
            _ => continue,
        };
        assert_eq!(scope, want, "{method} {host}{path}");
    }
    // Third parties are not hosts of ours without a description; an ignored endpoint has no
    // finding.
    assert!(findings(&store, GA).await.is_empty());
    assert!(findings(&store, CDN).await.is_empty());
    let f = findings(&store, SHOP).await;
    assert!(!f.keys().any(|(_, _, p)| p == "/healthz"), "{f:?}");
    assert!(f.contains_key(&key("shadow_api", "GET", "/data.json")));

    // The configuration changes (no [hosts] rules any more): the next assessment follows.
    store.set_scope_rules(&ScopeRules::default()).await.unwrap();
    let a = shadowtap::store::spec::assess(&store).await.unwrap();
    assert_eq!((a.third_party, a.ignored), (0, 0));
    let s = scopes(&store).await;
    assert_eq!(s[&key(SHOP, "GET", "/healthz")].0, "api");
    assert_eq!(
        s[&key(GA, "POST", "/g/collect")],
        ("api".into(), Some("uncovered".into()))
    );
    assert!(
        findings(&store, SHOP)
            .await
            .contains_key(&key("shadow_api", "GET", "/healthz"))
    );
    assert!(
        findings(&store, GA)
            .await
            .contains_key(&key("uncovered_host", "", ""))
    );
    store.close().await;
}

async fn get(app: &Router, path: &str) -> Resp {
    send(
        app,
        Request::get(path)
            .header(header::HOST, "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn the_dashboard_and_the_api_leave_them_out_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let rules = ScopeRules {
        owned: vec![SHOP.into()],
        ignore: vec![IgnoreRule {
            host: None,
            path: Some("/healthz".into()),
        }],
        ..ScopeRules::default()
    };
    inventory(&db, Some(rules)).await.close().await;
    let app = web::app(
        AppState::new(
            Store::open_read_only(&db).await.unwrap(),
            AuthConfig::default(),
        )
        .unwrap(),
    );
    let count = |scope: &str| {
        let s = scope.to_string();
        let db = db.clone();
        async move {
            let store = Store::open_read_only(&db).await.unwrap();
            let sql = support::sql(&store).await;
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_endpoints WHERE scope = ?")
                .bind(s)
                .fetch_one(&sql)
                .await
                .unwrap();
            n
        }
    };
    let (api, stat, third, ignored) = (
        count("api").await,
        count("static").await,
        count("third_party").await,
        count("ignored").await,
    );
    assert!(api > 0 && stat > 0 && third > 0 && ignored == 1);

    // JSON: APIs only by default; each scope on demand; every one with `all`.
    let j = get(&app, "/api/endpoints?per=500").await.json();
    assert_eq!(j["total"], api);
    assert!(
        j["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["scope"] == "api")
    );
    let j = get(&app, "/api/endpoints?scope=static&per=500")
        .await
        .json();
    assert_eq!(j["total"], stat);
    assert!(j["endpoints"].as_array().unwrap().iter().any(|e| {
        e["path_template"] == "/assets/{param}"
            && e["scope_reason"].as_str().unwrap().contains("text/css")
    }));
    assert_eq!(
        get(&app, "/api/endpoints?scope=third_party").await.json()["total"],
        third
    );
    assert_eq!(
        get(&app, "/api/endpoints?scope=all&per=500").await.json()["total"],
        api + stat + third + ignored
    );
    let bad = get(&app, "/api/endpoints?scope=noise").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let err = bad.json();
    assert_eq!(err["parameter"], "scope");
    assert_eq!(
        err["allowed"],
        serde_json::json!(["api", "static", "third_party", "ignored", "all"])
    );
    // The overview counts them apart; its classification counts are the APIs'.
    let o = get(&app, "/api/overview").await.json();
    assert_eq!(o["scopes"]["static_assets"], stat);
    assert_eq!(o["scopes"]["third_party"], third);
    let classified: i64 = o["classification"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(classified, api);

    // The page: the APIs, a note of what is left out with a link, the toggle.
    let page = get(&app, "/endpoints").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.rows() as i64, api);
    assert!(page.body.contains("id=\"scope-hidden\""), "{}", page.body);
    assert!(page.body.contains("static assets"));
    assert!(page.body.contains("third-party endpoints"));
    assert!(page.body.contains("1 ignored endpoint"));
    assert!(page.body.contains("href=\"/endpoints?scope=all\""));
    assert!(!page.body.contains("/assets/fonts/"));
    let page = get(&app, "/endpoints?scope=static").await;
    assert_eq!(page.rows() as i64, stat);
    assert!(page.body.contains("/assets/fonts/"));
    assert!(!page.body.contains("id=\"scope-hidden\""));
    assert_eq!(get(&app, "/endpoints?scope=ignored").await.rows(), 1);
    let home = get(&app, "/").await;
    assert!(home.body.contains("id=\"scope-apart\""));
    assert!(home.body.contains("href=\"/endpoints?scope=third_party\""));
}
