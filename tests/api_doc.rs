//! `GET /api/openapi.json` describes the JSON API as it is: the description is valid OpenAPI
//! 3.1, every operation it lists answers, and every parameter refuses what the description
//! says it does not take, with the values the description lists.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use std::path::Path;
use std::process::Command;
use tower::ServiceExt;

async fn call(app: &axum::Router, method: &str, uri: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

fn validate(doc: &Value, dir: &Path) {
    let path = dir.join("dashboard-openapi.json");
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let check = Command::new("python3")
        .args(["-c", "import json,sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))"])
        .arg(&path)
        .output();
    match check {
        Ok(o) if o.status.success() => {}
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            assert!(
                std::env::var("SHADOWTAP_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "openapi-spec-validator is required here (pip install openapi-spec-validator)"
            );
            eprintln!("skipped validation: openapi-spec-validator is not installed");
        }
        Ok(o) => panic!("invalid OpenAPI: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("python3: {e}"),
    }
}

#[tokio::test]
async fn the_description_is_valid_and_true() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inventory.db");
    let store = Store::open(&db).await.unwrap();
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/rest_api.pcap");
    ingest_files(&store, &[pcap], &IngestOptions::default(), |_| {})
        .await
        .unwrap();
    store.close().await;
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());

    let (status, doc) = call(&app, "GET", "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    validate(&doc, dir.path());

    // The index lists the same operations.
    let (_, index) = call(&app, "GET", "/api/").await;
    let listed = index["endpoints"].as_object().unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut ops = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            ops += 1;
            assert!(
                listed.contains_key(&format!("{} {path}", method.to_uppercase())),
                "{method} {path} is described but not in GET /api/"
            );
        }
    }
    assert_eq!(ops, listed.len());

    let (_, list) = call(&app, "GET", "/api/endpoints?per=10").await;
    let id = list["endpoints"][0]["id"].as_i64().expect("an endpoint");
    let host = web::fmt::qs(list["endpoints"][0]["host"].as_str().expect("a host"));
    for (path, item) in paths {
        let Some(get) = item.get("get") else { continue };
        let uri = path
            .replace("{id}", &id.to_string())
            .replace("{host}", &host)
            .replace("{format}", "json");
        let (status, _) = call(&app, "GET", &uri).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}");
        for p in get["parameters"].as_array().unwrap() {
            if p["in"] != "query" {
                continue;
            }
            let name = p["name"].as_str().unwrap();
            let schema = &p["schema"];
            let bad = match schema["type"].as_str() {
                Some("integer") => (schema["maximum"].as_i64().unwrap() + 1).to_string(),
                _ if schema.get("enum").is_some() => "no-such-value".to_string(),
                _ => continue,
            };
            let (status, err) = call(&app, "GET", &format!("{uri}?{name}={bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "GET {uri}?{name}={bad}");
            assert_eq!(err["parameter"], name);
            if let Some(values) = schema.get("enum") {
                assert_eq!(&err["allowed"], values, "{uri} {name}");
            }
            // What it lists is taken.
            let good = match schema.get("enum") {
                Some(v) => v[0].as_str().unwrap().to_string(),
                None => schema["minimum"].as_i64().unwrap().to_string(),
            };
            let (status, _) = call(&app, "GET", &format!("{uri}?{name}={good}")).await;
            assert_eq!(status, StatusCode::OK, "GET {uri}?{name}={good}");
        }
    }
}
