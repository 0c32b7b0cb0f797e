//! End to end over `captures/graphql.pcap` (made by `captures/make.sh graphql`: graphql-core
//! behind Python's HTTP/1.1 server, three real clients): every GraphQL operation is an endpoint
//! of its own (`POST /graphql#query GetUser`), with exactly the requests the clients sent
//! (`graphql.expected-operations.tsv`, written by the client from what it sent); the findings
//! are the designed ones; the OpenAPI export lists the operations under their URL; an
//! imported description of `POST /graphql` documents them all.

mod support;

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

async fn ingest() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest_files(
        &store,
        &[captures().join("graphql.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    (dir, store)
}

/// (method, path template, requests) as the clients sent them.
fn expected() -> BTreeSet<(String, String, i64)> {
    std::fs::read_to_string(captures().join("graphql.expected-operations.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn every_operation_is_an_endpoint_with_its_requests() {
    let (_dir, store) = ingest().await;
    let sql = support::sql(&store).await;
    let got: BTreeSet<(String, String, i64)> = sqlx::query_as(
        "SELECT method, path_template, request_count FROM api_endpoints
         WHERE host = 'graphql.acme.test'",
    )
    .fetch_all(&sql)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let want = expected();
    assert_eq!(got, want);
    assert!(want.len() >= 14, "{want:?}");
    // The view's column names the operation (NULL for the other endpoints).
    let ops: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT path_template, graphql_operation FROM api_endpoints
         WHERE host = 'graphql.acme.test' ORDER BY path_template",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    for (template, op) in ops {
        match template.split_once('#') {
            Some((url, name)) => {
                assert_eq!(url, "/graphql");
                assert_eq!(op.as_deref(), Some(name));
            }
            None => assert_eq!(op, None, "{template}"),
        }
    }
    store.close().await;
}

#[tokio::test]
async fn graphql_findings_are_the_designed_ones() {
    let (_dir, store) = ingest().await;
    let sql = support::sql(&store).await;
    let got: BTreeSet<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT kind, path_template, client FROM api_findings
         WHERE host = 'graphql.acme.test' AND kind LIKE 'graphql%'",
    )
    .fetch_all(&sql)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let tester = Some("127.0.0.23".to_string());
    let want: BTreeSet<(String, String, Option<String>)> = [
        (
            "graphql_introspection",
            "/graphql#query IntrospectionQuery",
            None,
        ),
        (
            "graphql_alias_abuse",
            "/graphql#query {user}",
            tester.clone(),
        ),
        (
            "graphql_alias_abuse",
            "/graphql#batch [query GetUser]",
            tester.clone(),
        ),
        ("graphql_deep_query", "/graphql#query Deep", tester.clone()),
    ]
    .into_iter()
    .map(|(k, t, c)| (k.to_string(), t.to_string(), c))
    .collect();
    assert_eq!(got, want);
    // The failing resolver's traceback (user 13): verbose errors, on the operations that
    // leaked it (the 30 aliases ask for users 1 to 30).
    let verbose: Vec<(String,)> = sqlx::query_as(
        "SELECT path_template FROM api_findings
         WHERE host = 'graphql.acme.test' AND kind = 'verbose_errors' ORDER BY path_template",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    assert_eq!(
        verbose,
        [
            ("/graphql#query GetUser".to_string(),),
            ("/graphql#query {user}".to_string(),)
        ]
    );
    // The password in the login's variables is sensitive data of the login operation only.
    let passwords: Vec<(String,)> = sqlx::query_as(
        "SELECT e.path_template FROM endpoint_sensitive s JOIN endpoints e ON e.id = s.endpoint_id
         WHERE e.host = 'graphql.acme.test' AND s.class = 'password'",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    assert_eq!(passwords, [("/graphql#mutation Login".to_string(),)]);
    store.close().await;
}

#[tokio::test]
async fn openapi_lists_operations_under_their_url_and_a_spec_documents_them() {
    let (_dir, store) = ingest().await;
    let doc = store
        .export_openapi(Some("graphql.acme.test"))
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| !p.contains('#')), "{:?}", paths.keys());
    let post = &paths["/graphql"]["post"];
    let listed: BTreeSet<String> = post["x-graphql-operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["operation"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = expected()
        .into_iter()
        .filter(|(m, _, _)| m == "POST")
        .filter_map(|(_, t, _)| t.split_once('#').map(|(_, op)| op.to_string()))
        .collect();
    assert_eq!(listed, want);
    // The plain POST /graphql (a body that is not GraphQL) keeps its own operation fields.
    assert!(post["operationId"].is_string());
    assert!(paths["/graphql"]["get"]["x-graphql-operations"].is_array());

    // A description of POST and GET /graphql documents every operation; nothing is shadow.
    let spec = br#"{"openapi": "3.0.3", "info": {"title": "g", "version": "1"},
        "servers": [{"url": "http://graphql.acme.test"}],
        "paths": {"/graphql": {
            "post": {"responses": {"200": {"description": "ok"}}},
            "get": {"responses": {"200": {"description": "ok"}}}},
          "/health": {"get": {"responses": {"200": {"description": "ok"}}}}}}"#;
    shadowtap::store::spec::import(&store, "graphql.json", spec)
        .await
        .unwrap();
    let sql = support::sql(&store).await;
    let classes: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT path_template, classification FROM api_endpoints WHERE host = 'graphql.acme.test'",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    for (t, c) in &classes {
        assert_eq!(c.as_deref(), Some("documented"), "{t}");
    }
    store.close().await;
}

#[tokio::test]
async fn the_transaction_log_is_unchanged_and_complete() {
    // GraphQL is an interpretation of HTTP transactions: the log shows every one as sent.
    let text = std::fs::read_to_string(captures().join("graphql.expected.tsv")).unwrap();
    let want = text.lines().count() - 1;
    let (_dir, store) = ingest().await;
    let sql = support::sql(&store).await;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT SUM(request_count) FROM api_endpoints WHERE host = 'graphql.acme.test'",
    )
    .fetch_one(&sql)
    .await
    .unwrap();
    assert_eq!(n as usize, want);
    store.close().await;
}
