//! Importing API descriptions of different styles, and holding the observed inventory against
//! the REST scenario's published OpenAPI document.

mod support;

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::openapi::parse;
use shadowtap::store::Store;
use sqlx::Row;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/specs")
            .join(name),
    )
    .unwrap()
}

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

fn names(s: &BTreeSet<String>) -> Vec<&str> {
    s.iter().map(String::as_str).collect()
}

#[test]
fn openapi_30_yaml_with_refs_server_variables_and_path_level_parameters() {
    let spec = parse(&fixture("petstore-3.0.yaml")).unwrap();
    assert_eq!(
        (spec.format, spec.title.as_str(), spec.version.as_str()),
        (
            "openapi-3.0",
            "Swagger Petstore (shadowtap fixture)",
            "1.0.7"
        )
    );
    assert_eq!(spec.servers.len(), 1);
    assert_eq!(spec.servers[0].host.as_deref(), Some("pets.eu.example.com"));
    assert_eq!(spec.servers[0].base_path, "/v1");
    let ops: Vec<String> = spec
        .operations
        .iter()
        .map(|o| format!("{} {}", o.method, o.path))
        .collect();
    assert_eq!(
        ops,
        [
            "GET /v1/pets",
            "POST /v1/pets",
            "GET /v1/pets/{petId}",
            "DELETE /v1/pets/{petId}"
        ]
    );
    let list = &spec.operations[0];
    assert_eq!(
        names(&list.query_params),
        ["limit", "tags"],
        "$ref'd and inline parameters"
    );
    assert!(
        list.public,
        "an empty security alternative makes auth optional"
    );
    assert_eq!(names(&list.statuses), ["200", "default"]);
    let create = &spec.operations[1];
    assert!(!create.public);
    assert_eq!(names(&create.security_types), ["api_key_header"]);
    assert_eq!(
        names(&create.body_fields),
        ["name", "owner", "owner.email", "tag"]
    );
    let show = &spec.operations[2];
    assert_eq!(
        names(&show.response_types),
        ["application/json", "application/problem+json"],
        "$ref'd response"
    );
    assert!(spec.operations[3].deprecated);
}

#[test]
fn swagger_20_json_with_base_path_definitions_and_form_data() {
    let spec = parse(&fixture("inventory-swagger-2.0.json")).unwrap();
    assert_eq!(spec.format, "swagger-2.0");
    assert_eq!(
        spec.servers[0].host.as_deref(),
        Some("inventory.internal:8080")
    );
    let ops: Vec<String> = spec
        .operations
        .iter()
        .map(|o| format!("{} {}", o.method, o.path))
        .collect();
    assert_eq!(
        ops,
        [
            "GET /api/items/{sku}",
            "PUT /api/items/{sku}",
            "POST /api/items/{sku}/stock"
        ]
    );
    let get = &spec.operations[0];
    assert_eq!(
        names(&get.security_types),
        ["bearer_jwt", "bearer_opaque"],
        "oauth2 is a bearer token"
    );
    assert_eq!(names(&get.statuses), ["200", "4XX"]);
    assert_eq!(names(&get.response_types), ["application/json"]);
    let put = &spec.operations[1];
    assert_eq!(names(&put.security_types), ["api_key_query", "basic"]);
    assert_eq!(
        names(&put.query_params),
        ["access_token"],
        "a query API key is a documented parameter"
    );
    assert_eq!(names(&put.body_fields), ["dims", "dims.w", "qty", "sku"]);
    let stock = &spec.operations[2];
    assert_eq!(
        names(&stock.request_types),
        ["application/x-www-form-urlencoded"]
    );
    assert_eq!(names(&stock.body_fields), ["delta"]);
}

#[test]
fn openapi_31_json_with_several_servers_and_security_alternatives() {
    let spec = parse(&fixture("billing-3.1.json")).unwrap();
    assert_eq!(spec.format, "openapi-3.1");
    assert_eq!(spec.servers.len(), 2);
    // Both servers share the base path: each operation once.
    assert_eq!(spec.operations.len(), 3);
    let op = |p: &str| spec.operations.iter().find(|o| o.path == p).unwrap();
    let list = op("/billing/invoices");
    assert_eq!(names(&list.security_types), ["bearer_jwt", "cookie"]);
    let pay = op("/billing/invoices/{id}/pay");
    assert_eq!(names(&pay.body_fields), ["card", "card.number"]);
    assert_eq!(
        names(&pay.security_types),
        ["bearer_jwt", "bearer_opaque"],
        "OpenID Connect gives bearer tokens"
    );
    assert!(op("/billing/health").public, "security: [] is public");
}

#[tokio::test]
async fn rest_scenario_against_its_published_spec() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest_files(
        &store,
        &[captures().join("rest_api.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let doc = std::fs::read(captures().join("rest_api.openapi.yaml")).unwrap();
    let r = shadowtap::store::spec::import(&store, "rest_api.openapi.yaml", &doc)
        .await
        .unwrap();
    assert_eq!(r.format, "openapi-3.1");
    let pool = &support::sql(&store).await;
    let class = |c: &'static str| async move {
        sqlx::query("SELECT method || ' ' || path_template FROM api_endpoints WHERE classification = ? ORDER BY 1")
            .bind(c)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect::<Vec<_>>()
    };
    // Ground truth: captures/rest_api.expected.md. The scanner's two 404-only requests that
    // match no documented template are probes, not shadow APIs.
    assert_eq!(
        class("shadow").await,
        [
            "GET /api/v1/admin/export",
            "GET /api/v1/internal/config",
            "GET /api/v1/internal/debug",
            "POST /api/v1/admin/users/{user_id}/impersonate",
        ]
    );
    assert_eq!(
        class("probe").await,
        ["GET /.env", "GET /api/v3/users/{user_id}"]
    );
    assert_eq!((r.assessment.shadow, r.assessment.probes), (4, 2));
    let probing: Vec<String> =
        sqlx::query_scalar("SELECT client FROM api_findings WHERE kind = 'scanner_probe'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(probing, ["127.0.0.7"], "the scanner persona");
    assert_eq!(
        class("zombie").await,
        [
            "GET /api/v1/orders/{order_id}",
            "GET /api/v1/products",
            "GET /api/v1/users/{user_id}"
        ]
    );
    assert_eq!(
        class("dormant").await,
        [
            "DELETE /api/v2/users/{user_id}",
            "GET /api/v2/orders",
            "GET /api/v2/products/{product_id}/reviews",
            "POST /api/v1/auth/refresh"
        ]
    );
    let dormant_requests: i64 = sqlx::query(
        "SELECT SUM(request_count) FROM api_endpoints WHERE classification = 'dormant'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(dormant_requests, 0);
    let documented: i64 = sqlx::query(
        "SELECT COUNT(*) FROM api_endpoints WHERE documented = 1 AND request_count > 0",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(
        documented,
        30 + 1,
        "30 documented operations exercised, and one 404 probe under a documented template"
    );
    // Shadow findings only for routes the server really answered (not the 404-only probes).
    let shadow: Vec<String> = sqlx::query("SELECT method || ' ' || path_template FROM api_findings WHERE kind = 'shadow_api' ORDER BY 1")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(shadow.len(), 4, "{shadow:?}");
    // Importing the same document again changes nothing.
    let again = shadowtap::store::spec::import(&store, "copy.yaml", &doc)
        .await
        .unwrap();
    assert!(again.already_imported);
    assert_eq!(again.assessment, r.assessment);
    // Traffic for a dormant operation later makes it documented, under the spec's template.
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM api_spec_operations WHERE status = 'dormant'")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 4);
}

#[tokio::test]
async fn garbage_is_refused_without_touching_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    for doc in [
        &b"not yaml: [unclosed"[..],
        b"{\"openapi\": 3}",
        b"swagger: '1.2'",
        b"",
    ] {
        assert!(
            shadowtap::store::spec::import(&store, "bad", doc)
                .await
                .is_err()
        );
    }
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM specs")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}
