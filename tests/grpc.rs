//! End to end over `captures/grpc.pcap` (made by `captures/make.sh grpc`: a grpcio server with
//! health and reflection, a grpcio client making unary, server-, client- and bidi-streaming
//! calls, a NOT_FOUND, an expired deadline, gzip messages both ways), against tshark's grpc
//! dissector (`grpc.expected.tsv`) and the client's own record (`grpc.expected-calls.tsv`):
//! every method is an endpoint named by its path exactly, with its calls, grpc-status
//! distribution, streaming kind and message counts; message shapes with field numbers, and
//! with field names under a descriptor set (`grpc.desc`); the views' columns.
//!
//! Over `captures/grpc_web.pcap` (`make.sh grpc_web`: sonora's gRPC-Web server on HTTP/1.1,
//! binary and text mode): endpoints, grpc-status from the trailer frame in the body and
//! messages each way, against tshark (`grpc_web.expected.tsv`) and the client's record.

mod support;

use shadowtap::analyze::grpc::Descriptors;
use shadowtap::analyze::inventory::InventoryConfig;
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

const HOST: &str = "127.0.0.1:50051";

async fn ingest(descriptors: bool) -> (tempfile::TempDir, Store) {
    ingest_with(descriptors, true).await
}

/// Ingests the capture with or without `grpc.desc`, learning from the reflection call or not.
async fn ingest_with(descriptors: bool, reflection: bool) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    let grpc_descriptors = descriptors
        .then(|| Arc::new(Descriptors::load(&captures().join("grpc.desc")).expect("grpc.desc")));
    let opts = IngestOptions {
        inventory: InventoryConfig {
            grpc_descriptors,
            grpc_reflection: reflection,
            ..InventoryConfig::default()
        },
        ..IngestOptions::default()
    };
    ingest_files(&store, &[captures().join("grpc.pcap")], &opts, |_| {})
        .await
        .unwrap();
    (dir, store)
}

/// tshark's rows: (path, grpc_status, request messages, response messages).
fn oracle() -> Vec<(String, Option<i64>, i64, i64)> {
    std::fs::read_to_string(captures().join("grpc.expected.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[3].parse().ok(),
                f[5].parse().unwrap(),
                f[6].parse().unwrap(),
            )
        })
        .collect()
}

/// The client's record: path -> kind.
fn kinds() -> BTreeMap<String, String> {
    std::fs::read_to_string(captures().join("grpc.expected-calls.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect()
}

#[tokio::test]
async fn methods_calls_and_statuses_agree_with_tshark() {
    let (_dir, store) = ingest(false).await;
    let sql = support::sql(&store).await;
    let oracle = oracle();
    assert_eq!(oracle.len(), 15);
    // Method names exact: the set of paths, each an endpoint of its own with POST.
    let got: BTreeMap<String, (String, i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT path_template, method, request_count, error_count, protocol, grpc_service, grpc_method
         FROM api_endpoints WHERE host = ?",
    )
    .bind(HOST)
    .fetch_all(&sql)
    .await
    .unwrap()
    .into_iter()
    .map(|(t, m, n, e, p, s, gm): (String, String, i64, i64, String, String, String)| {
        (t, (m, n, e, p, s, gm))
    })
    .collect();
    let want_paths: BTreeSet<&str> = oracle.iter().map(|r| r.0.as_str()).collect();
    let got_paths: BTreeSet<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(got_paths, want_paths, "method names exact");
    for (path, (method, _, _, protocol, service, m)) in &got {
        assert_eq!(method, "POST");
        assert_eq!(protocol, "grpc");
        assert_eq!(format!("/{service}/{m}"), *path);
    }
    // Recall and status agreement per path: calls, and calls per grpc-status.
    let mut want_calls: BTreeMap<&str, i64> = BTreeMap::new();
    let mut want_status: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for (p, s, _, _) in &oracle {
        *want_calls.entry(p).or_default() += 1;
        *want_status.entry((p, s.unwrap_or(-1))).or_default() += 1;
    }
    let seen: i64 = want_calls
        .iter()
        .map(|(p, n)| got.get(*p).map_or(0, |g| g.1.min(*n)))
        .sum();
    let recall = seen as f64 / oracle.len() as f64;
    let got_status: BTreeMap<(String, i64), i64> = sqlx::query_as(
        "SELECT e.path_template, s.status, s.count FROM endpoint_grpc_status s
         JOIN endpoints e ON e.id = s.endpoint_id",
    )
    .fetch_all(&sql)
    .await
    .unwrap()
    .into_iter()
    .map(|(p, s, n): (String, i64, i64)| ((p, s), n))
    .collect();
    let agree: i64 = want_status
        .iter()
        .map(|((p, s), n)| {
            got_status
                .get(&(p.to_string(), *s))
                .map_or(0, |g| (*g).min(*n))
        })
        .sum();
    let agreement = agree as f64 / oracle.len() as f64;
    println!("recall {recall:.3}, status agreement {agreement:.3}");
    assert!(recall >= 0.99, "recall {recall}");
    assert!(
        agreement >= 0.99,
        "status agreement {agreement}: {got_status:?}"
    );
    // A non-zero grpc-status is an error under HTTP 200: GetItem's NOT_FOUND, Slow's
    // DEADLINE_EXCEEDED.
    assert_eq!(got["/acme.inventory.v1.Inventory/GetItem"].2, 1);
    assert_eq!(got["/acme.inventory.v1.Inventory/Slow"].2, 1);
    assert_eq!(got["/grpc.health.v1.Health/Check"].2, 0);
    store.close().await;
}

/// (path, service kind, streaming, calls, messages in, messages out, status counts, compressed).
type GrpcRow = (String, String, String, i64, i64, i64, String, i64);

#[tokio::test]
async fn streaming_kinds_and_message_counts() {
    let (_dir, store) = ingest(false).await;
    let sql = support::sql(&store).await;
    let rows: Vec<GrpcRow> = sqlx::query_as(
        "SELECT '/' || service || '/' || method, service_kind, streaming, calls, messages_in,
                messages_out, grpc_status_counts, compressed_messages
         FROM api_grpc WHERE host = ?",
    )
    .bind(HOST)
    .fetch_all(&sql)
    .await
    .unwrap();
    let kinds = kinds();
    let mut msgs: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let oracle = oracle();
    for (p, _, i, o) in &oracle {
        let e = msgs.entry(p).or_default();
        e.0 += i;
        e.1 += o;
    }
    assert_eq!(rows.len(), kinds.len());
    let mut compressed = 0;
    for (path, service_kind, streaming, calls, m_in, m_out, statuses, c) in &rows {
        assert_eq!(Some(streaming), kinds.get(path), "{path}");
        assert_eq!((*m_in, *m_out), msgs[path.as_str()], "{path}: messages");
        assert!(*calls >= 1);
        let want_kind = match path.as_str() {
            p if p.starts_with("/grpc.health.v1.Health/") => "health",
            p if p.starts_with("/grpc.reflection.") => "reflection",
            _ => "application",
        };
        assert_eq!(service_kind, want_kind);
        if path == "/acme.inventory.v1.Inventory/GetItem" {
            assert_eq!(statuses, "0:6,5:1");
        }
        if path == "/acme.inventory.v1.Inventory/Slow" {
            assert_eq!(statuses, "4:1");
        }
        compressed += c;
    }
    // The gzip channel's request and the compressed ListItems answers.
    assert!(compressed >= 2, "{compressed}");
    // Reflection answered: a finding.
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM api_findings WHERE kind = 'grpc_reflection_exposed'
         AND path_template = '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'",
    )
    .fetch_one(&sql)
    .await
    .unwrap();
    assert_eq!(n, 1);
    store.close().await;
}

/// The stored JSON shape of an endpoint's bodies in one direction.
async fn shape(store: &Store, path: &str, dir: &str) -> String {
    let sql = support::sql(store).await;
    let rows: Vec<(Option<String>,)> = sqlx::query_as(
        "SELECT b.shape FROM endpoint_bodies b JOIN endpoints e ON e.id = b.endpoint_id
         WHERE e.path_template = ? AND b.direction = ?",
    )
    .bind(path)
    .bind(dir)
    .fetch_all(&sql)
    .await
    .unwrap();
    rows.into_iter()
        .filter_map(|r| r.0)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn shapes_without_and_with_a_descriptor() {
    // Not learning from the capture's reflection call either (see the next test).
    let (_dir, store) = ingest_with(false, false).await;
    let item = shape(&store, "/acme.inventory.v1.Inventory/GetItem", "response").await;
    // Field numbers: Item.price (f3) is a nested message with cents (f1) and currency (f2).
    assert!(item.contains("\"f3\"") && item.contains("\"f2\""), "{item}");
    assert!(!item.contains("\"currency\""), "{item}");
    // Gzip-compressed ListItems answers are inflated and walked.
    let list = shape(&store, "/acme.inventory.v1.Inventory/ListItems", "response").await;
    assert!(
        list.contains("\"f7\""),
        "the description field of the compressed items: {list}"
    );
    // The owner's e-mail address (Item.owner_email) is sensitive data, redacted.
    let sql = support::sql(&store).await;
    let emails: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT e.path_template, s.field, s.example FROM endpoint_sensitive s
         JOIN endpoints e ON e.id = s.endpoint_id WHERE s.class = 'email'",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    assert!(
        emails
            .iter()
            .any(|(p, f, _)| p == "/acme.inventory.v1.Inventory/GetItem" && f == "f6"),
        "{emails:?}"
    );
    for (_, _, example) in &emails {
        assert!(!example.contains("buyer1@acme.example"), "{example}");
    }
    store.close().await;

    let (_dir, store) = ingest(true).await;
    assert_inventory_fields_named(&store).await;
    store.close().await;
}

/// No descriptor set, but the capture's third call is server reflection
/// (`ServerReflectionInfo`, `file_containing_symbol: acme.inventory.v1.Inventory`), whose
/// `file_descriptor_response` carries `inventory.proto`: the calls observed after it (every
/// Inventory call) get field names as with `--proto-descriptor`. The health checks, observed
/// before it and not in that file, keep field numbers.
#[tokio::test]
async fn reflection_on_the_wire_names_fields_without_a_descriptor() {
    let (_dir, store) = ingest_with(false, true).await;
    assert_inventory_fields_named(&store).await;
    let health = shape(&store, "/grpc.health.v1.Health/Check", "response").await;
    assert!(health.contains("\"f1\""), "{health}");
    store.close().await;
}

/// The Inventory service's fields carry their names (from a descriptor set or reflection):
/// in the response and request shapes, and as the field of the e-mail address found.
async fn assert_inventory_fields_named(store: &Store) {
    let item = shape(store, "/acme.inventory.v1.Inventory/GetItem", "response").await;
    for name in ["sku", "price", "cents", "currency", "owner_email", "tags"] {
        assert!(item.contains(&format!("\"{name}\"")), "{name}: {item}");
    }
    assert!(!item.contains("\"f3\""), "{item}");
    let req = shape(store, "/acme.inventory.v1.Inventory/RecordStock", "request").await;
    assert!(
        req.contains("\"delta\"") && req.contains("\"at_ms\""),
        "{req}"
    );
    let sql = support::sql(store).await;
    let fields: Vec<(String,)> = sqlx::query_as(
        "SELECT s.field FROM endpoint_sensitive s JOIN endpoints e ON e.id = s.endpoint_id
         WHERE s.class = 'email' AND e.path_template = '/acme.inventory.v1.Inventory/GetItem'",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    assert!(fields.iter().any(|(f,)| f == "owner_email"), "{fields:?}");
}

#[tokio::test]
async fn the_views_columns_are_additive() {
    let (_dir, store) = ingest(false).await;
    let sql = support::sql(&store).await;
    let cols: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM pragma_table_info('api_endpoints') ORDER BY cid")
            .fetch_all(&sql)
            .await
            .unwrap();
    let cols: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        cols,
        [
            "id",
            "host",
            "method",
            "path_template",
            "first_seen",
            "last_seen",
            "request_count",
            "error_count",
            "client_count",
            "auth_schemes",
            "sensitive_data",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "documented",
            "deprecated",
            "classification",
            "graphql_operation",
            "protocol",
            "grpc_service",
            "grpc_method",
            // Migration 0012 (risk).
            "risk_score",
            "max_severity",
            // Migration 0013 (noise control).
            "scope",
            "scope_reason",
        ]
    );
    let cols: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM pragma_table_info('api_grpc') ORDER BY cid")
            .fetch_all(&sql)
            .await
            .unwrap();
    let cols: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        cols,
        [
            "endpoint_id",
            "host",
            "service",
            "method",
            "service_kind",
            "streaming",
            "calls",
            "messages_in",
            "messages_out",
            "grpc_status_counts",
            "grpc_errors",
            "request_size_min",
            "request_size_max",
            "response_size_min",
            "response_size_max",
            "compressed_messages",
            "truncated_bodies",
        ]
    );
    store.close().await;
}

#[tokio::test]
async fn openapi_lists_grpc_methods_apart() {
    let (_dir, store) = ingest(true).await;
    let doc = store.export_openapi(Some(HOST)).await.unwrap();
    // No gRPC path is an OpenAPI operation.
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.is_empty(), "{:?}", paths.keys());
    let methods = doc["x-grpc-methods"].as_array().unwrap();
    let kinds = kinds();
    assert_eq!(methods.len(), kinds.len());
    for m in methods {
        let path = m["path"].as_str().unwrap();
        assert_eq!(
            format!(
                "/{}/{}",
                m["service"].as_str().unwrap(),
                m["method"].as_str().unwrap()
            ),
            path
        );
        assert_eq!(
            Some(m["streaming"].as_str().unwrap()),
            kinds.get(path).map(String::as_str)
        );
        assert!(m["calls"].as_i64().unwrap() >= 1);
    }
    let get = methods.iter().find(|m| m["method"] == "GetItem").unwrap();
    assert_eq!(get["grpc_status_counts"], "0:6,5:1");
    assert!(
        get["response_schema"]["properties"]["price"].is_object(),
        "{get}"
    );
    store.close().await;
}

#[tokio::test]
async fn the_dashboard_shows_and_filters_by_protocol() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use shadowtap::web::{self, AppState, AuthConfig};
    use tower::ServiceExt;

    let (dir, store) = ingest(false).await;
    // A plain HTTP/1.1 endpoint beside the gRPC ones.
    ingest_files(
        &store,
        &[captures().join("keepalive.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    store.close().await;
    let store = Store::open_read_only(&dir.path().join("inv.db"))
        .await
        .unwrap();
    let app = web::app(AppState::new(store, AuthConfig::default()).unwrap());
    let get = |path: &str| {
        let app = app.clone();
        let req = Request::get(path)
            .header(header::HOST, "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, json) = get("/api/endpoints?protocol=grpc&per=100").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = v["endpoints"].as_array().expect("endpoints");
    assert_eq!(rows.len(), kinds().len());
    assert!(rows.iter().all(|r| r["protocol"] == "grpc"), "{json}");
    let (_, all) = get("/api/endpoints?per=100").await;
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert!(
        all["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["protocol"] == "http/1.1"),
        "{all}"
    );
    let (status, _) = get("/api/endpoints?protocol=gopher").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, html) = get("/endpoints?protocol=grpc").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/acme.inventory.v1.Inventory/GetItem"));
    assert!(
        !html.contains("keepalive") && !html.contains("/index.html"),
        "filtered"
    );
    assert!(html.contains(r#"<span class="badge proto" title="Protocol">grpc</span>"#));
    assert!(
        html.contains(r#"<option value="grpc" selected>"#),
        "the filter keeps its value"
    );
    let id = rows[0]["id"].as_i64().unwrap();
    let (status, page) = get(&format!("/endpoints/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<span class="badge proto" title="Protocol">grpc</span>"#));
}

#[test]
fn ingest_takes_proto_descriptors_and_refuses_a_file_that_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let run = |desc: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_shadowtap"))
            .arg("ingest")
            .arg("--db")
            .arg(&db)
            .arg("--proto-descriptor")
            .arg(desc)
            .arg(captures().join("grpc.pcap"))
            .output()
            .unwrap()
    };
    let out = run(&captures().join("grpc.desc"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT b.schema FROM api_bodies b JOIN api_endpoints e ON e.id = b.endpoint_id WHERE e.grpc_method = 'GetItem' AND b.direction = 'response'")
        .output();
    if let Ok(out) = out {
        // sqlite3 is optional here; when present, the schema names the fields.
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() || text.contains("owner_email"),
            "{text}"
        );
    }
    let bad = dir.path().join("not.desc");
    std::fs::write(&bad, b"\xff\xff\xff\xff not a descriptor set").unwrap();
    let out = run(&bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--proto-descriptor") && err.contains("FileDescriptorSet"),
        "{err}"
    );
}

// --- gRPC-Web over HTTP/1.1 ------------------------------------------------------------------

/// tshark's rows of `grpc_web.pcap` (`grpc_web.expected.tsv`, tools/grpc_web_expected.py):
/// (path, content type, grpc-status of the trailer frame, request messages, response messages).
fn web_oracle() -> Vec<(String, String, i64, i64, i64)> {
    std::fs::read_to_string(captures().join("grpc_web.expected.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn grpc_web_over_http1_agrees_with_tshark_and_the_client() {
    // `captures/grpc_web.pcap` (make.sh grpc_web): sonora's gRPC-Web server on waitress, its
    // client in binary mode and hand-made text-mode (base64) calls; the grpc-status of each
    // call is in the trailer frame at the end of the response body.
    let oracle = web_oracle();
    assert_eq!(oracle.len(), 6);
    // The client's own record agrees with tshark, call for call.
    let calls: Vec<(String, String, i64, i64, i64)> =
        std::fs::read_to_string(captures().join("grpc_web.expected-calls.tsv"))
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                    f[4].parse().unwrap(),
                )
            })
            .collect();
    assert_eq!(calls, oracle);
    assert!(oracle.iter().any(|r| r.1 == "application/grpc-web-text"));

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest_files(
        &store,
        &[captures().join("grpc_web.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let sql = support::sql(&store).await;
    let got: BTreeMap<String, (String, String, i64, i64)> = sqlx::query_as(
        "SELECT path_template, method, protocol, request_count, error_count FROM api_endpoints",
    )
    .fetch_all(&sql)
    .await
    .unwrap()
    .into_iter()
    .map(|(p, m, pr, n, e): (String, String, String, i64, i64)| (p, (m, pr, n, e)))
    .collect();
    let mut want: BTreeMap<String, (String, String, i64, i64)> = BTreeMap::new();
    for (path, _, status, _, _) in &oracle {
        let e = want
            .entry(path.clone())
            .or_insert(("POST".into(), "grpc".into(), 0, 0));
        e.2 += 1;
        e.3 += i64::from(*status != 0);
    }
    assert_eq!(
        got, want,
        "endpoints named POST /package.Service/Method exactly"
    );
    // Statuses from the trailer frames, per method.
    let statuses: BTreeMap<(String, i64), i64> = sqlx::query_as(
        "SELECT e.path_template, s.status, s.count FROM endpoint_grpc_status s
         JOIN endpoints e ON e.id = s.endpoint_id",
    )
    .fetch_all(&sql)
    .await
    .unwrap()
    .into_iter()
    .map(|(p, s, n): (String, i64, i64)| ((p, s), n))
    .collect();
    let mut want_status: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (path, _, status, _, _) in &oracle {
        *want_status.entry((path.clone(), *status)).or_default() += 1;
    }
    assert_eq!(statuses, want_status);
    // Messages per direction (the trailer frame is not a message) and the streaming kind.
    let rows: Vec<(String, String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT '/' || service || '/' || method, streaming, calls, messages_in, messages_out,
                grpc_status_counts
         FROM api_grpc ORDER BY 1",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    let mut msgs: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
    for (path, _, _, i, o) in &oracle {
        let e = msgs.entry(path).or_default();
        e.0 += 1;
        e.1 += i;
        e.2 += o;
    }
    assert_eq!(rows.len(), msgs.len());
    for (path, streaming, calls, m_in, m_out, statuses) in &rows {
        assert_eq!((*calls, *m_in, *m_out), msgs[path.as_str()], "{path}");
        match path.as_str() {
            "/acme.inventory.v1.Inventory/GetItem" => {
                assert_eq!(streaming, "unary");
                assert_eq!(statuses, "0:3,5:1");
            }
            "/acme.inventory.v1.Inventory/ListItems" => {
                assert_eq!(streaming, "server_streaming");
                assert_eq!(statuses, "0:2");
            }
            p => panic!("unexpected method {p}"),
        }
    }
    store.close().await;
    sql.close().await;
}
