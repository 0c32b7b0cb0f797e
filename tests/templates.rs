//! Endpoint templates end to end: when the learner changes its mind between flushes, the
//! store merges the rows of the specific templates into the general one (counts, clients,
//! status codes, findings, transitions), `/endpoints/{old id}` still leads to the survivor,
//! pins correct the learner, and two ingests of the same traffic agree.

mod support;

use shadowtap::analyze::inventory::{Inventory, InventoryConfig};
use shadowtap::capture::{LinkType, RawPacket};
use shadowtap::engine::{Engine, EngineConfig};
use shadowtap::store::Store;
use sqlx::Row;
use support::Conv;

/// Requests from one client, each on its own keep-alive connection, answered 200 with a
/// small JSON body.
fn traffic(paths: &[String], client: &str) -> Vec<support::Frame> {
    let mut c = Conv::new(&format!("{client}:40000"), "10.0.0.1:80");
    c.handshake();
    for p in paths {
        let req = format!(
            "GET {p} HTTP/1.1\r\nHost: api.people.test\r\nUser-Agent: t/1\r\nAuthorization: Bearer opaque-token-123456\r\n\r\n"
        );
        let body = r#"{"name":"x","email_verified":true,"followers":3}"#;
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        c.exchange(req.as_bytes(), resp.as_bytes(), 1400);
        c.wait_us(20_000);
    }
    c.close();
    c.frames
}

fn feed(engine: &mut Engine, inv: &mut Inventory, frames: &[support::Frame]) {
    for f in frames {
        engine.packet(&RawPacket {
            ts: f.ts,
            link: LinkType::RAW,
            orig_len: f.ip.len() as u32,
            data: &f.ip,
        });
        for t in engine.drain() {
            inv.observe(&t);
        }
    }
}

fn names(n: usize, seed: u64) -> Vec<String> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (0..7)
                .map(|i| char::from(b'a' + ((x >> (i * 5)) % 26) as u8))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn rows_merge_when_the_learner_generalises() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).await.unwrap();
    let mut inv = shadowtap::ingest::inventory_for(&store, InventoryConfig::default())
        .await
        .unwrap();
    let mut engine = Engine::new(EngineConfig::default());
    // Flush 1: one person, seen a few times, stays literal (no evidence yet).
    let first: Vec<String> = (0..3)
        .map(|_| "/people/alice/profile".to_string())
        .collect();
    feed(&mut engine, &mut inv, &traffic(&first, "10.1.0.1"));
    let r = store.merge(&inv.drain()).await.unwrap();
    assert_eq!(r.created, 1);
    let old_id: i64 = sqlx::query_scalar(
        "SELECT id FROM api_endpoints WHERE path_template = '/people/alice/profile'",
    )
    .fetch_one(&support::sql(&store).await)
    .await
    .unwrap();
    // Flush 2: many people: the position collapses and the stored row merges in.
    let many: Vec<String> = names(60, 0x1234_5678)
        .into_iter()
        .map(|n| format!("/people/{n}/profile"))
        .collect();
    feed(&mut engine, &mut inv, &traffic(&many, "10.1.0.2"));
    engine.finish();
    for t in engine.drain() {
        inv.observe(&t);
    }
    let r = store.merge(&inv.drain()).await.unwrap();
    assert_eq!(r.merged, 1, "{r:?}");
    let rows = sqlx::query(
        "SELECT id, path_template, request_count, client_count FROM api_endpoints WHERE host = 'api.people.test'",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    let (id, template, requests, clients): (i64, String, i64, i64) = (
        rows[0].get(0),
        rows[0].get(1),
        rows[0].get(2),
        rows[0].get(3),
    );
    assert_eq!(template, "/people/{person}/profile");
    assert_eq!(requests, 63);
    assert_eq!(clients, 2);
    // The requests per (host, client) kept by triggers (migration 0017) followed the merge:
    // the old row's client moved to the survivor, nothing counted twice or left behind.
    let pairs: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT client, endpoints, requests FROM host_clients WHERE host = 'api.people.test' ORDER BY client",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    let fresh: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT c.client, COUNT(*), SUM(c.count) FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id
         WHERE e.host = 'api.people.test' GROUP BY c.client ORDER BY c.client",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(pairs, fresh);
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(pairs.iter().map(|p| p.2).sum::<i64>(), 63, "{pairs:?}");
    // The change feed's counts per hour (migration 0018) followed the merge too: they equal
    // the public view's things per hour of first sight.
    let kept: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT host, kind, hour, n FROM change_hours WHERE n <> 0 ORDER BY 1, 2, 3",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    let fresh: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT host, kind, CAST(strftime('%s', first_seen) AS INTEGER) / 3600, COUNT(*) FROM api_changes
         WHERE kind <> 'tls_client' AND first_seen IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    assert!(!kept.is_empty());
    assert_eq!(kept, fresh);
    let statuses: i64 =
        sqlx::query_scalar("SELECT sum(count) FROM api_endpoint_status WHERE endpoint_id = ?")
            .bind(id)
            .fetch_one(&support::sql(&store).await)
            .await
            .unwrap();
    assert_eq!(statuses, 63);
    // The old id leads to the survivor; the merge is recorded in the public view.
    assert_eq!(store.resolve_endpoint_id(old_id).await.unwrap(), Some(id));
    let merged: (i64, String) = sqlx::query_as(
        "SELECT new_id, old_path_template FROM api_endpoint_merges WHERE old_id = ?",
    )
    .bind(old_id)
    .fetch_one(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(merged, (id, "/people/alice/profile".to_string()));
    // The explanation says why.
    let explain: String = sqlx::query_scalar("SELECT template_explain FROM endpoints WHERE id = ?")
        .bind(id)
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&explain).unwrap();
    assert_eq!(v[1]["segment"], "{person}");
    assert_eq!(v[1]["param"], true);
    assert!(v[1]["why"].as_str().unwrap().contains("siblings"), "{v}");

    // The dashboard: the old page redirects, the JSON answers as the survivor, and the
    // endpoint page explains the template.
    use tower::ServiceExt;
    let path = store.path().to_path_buf();
    store.close().await;
    let ro = Store::open_read_only(&path).await.unwrap();
    let app = shadowtap::web::app(
        shadowtap::web::AppState::new(ro, shadowtap::web::AuthConfig::default()).unwrap(),
    );
    let get = |uri: String| {
        axum::http::Request::get(uri)
            .header("host", "127.0.0.1:8080")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let resp = app
        .clone()
        .oneshot(get(format!("/endpoints/{old_id}")))
        .await
        .unwrap();
    assert_eq!(resp.status(), axum::http::StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        format!("/endpoints/{id}")
    );
    let resp = app
        .clone()
        .oneshot(get(format!("/api/endpoints/{old_id}")))
        .await
        .unwrap();
    assert_eq!(resp.status(), axum::http::StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["merged_from"], old_id);
    assert_eq!(json["endpoint"]["id"], id);
    assert_eq!(json["template_segments"][1]["param"], true);
    let resp = app.oneshot(get(format!("/endpoints/{id}"))).await.unwrap();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&body);
    assert!(
        html.contains("{person}") && html.contains("siblings"),
        "explanation on the page"
    );
}

#[tokio::test]
async fn pins_merge_stored_rows_and_win_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("p.db")).await.unwrap();
    let mut inv = shadowtap::ingest::inventory_for(&store, InventoryConfig::default())
        .await
        .unwrap();
    let mut engine = Engine::new(EngineConfig::default());
    let paths: Vec<String> = ["alpha", "beta"]
        .iter()
        .map(|p| format!("/teams/{p}/roster"))
        .collect();
    feed(&mut engine, &mut inv, &traffic(&paths, "10.2.0.1"));
    engine.finish();
    for t in engine.drain() {
        inv.observe(&t);
    }
    store.merge(&inv.drain()).await.unwrap();
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_endpoints")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
    assert_eq!(before, 2, "two words, two literal endpoints");
    let mut learner = shadowtap::analyze::template::TemplateLearner::new();
    learner.pin("/teams/{team}/roster").unwrap();
    store
        .add_pin(Some("api.people.test"), "/teams/{team}/roster")
        .await
        .unwrap();
    let r = store
        .apply_pins(&learner, Some("api.people.test"))
        .await
        .unwrap();
    assert_eq!((r.renamed, r.merged), (1, 1));
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT path_template, request_count FROM api_endpoints")
            .fetch_all(&support::sql(&store).await)
            .await
            .unwrap();
    assert_eq!(rows, [("/teams/{team}/roster".to_string(), 2)]);
    // The next ingest honours the pin.
    let inv2 = shadowtap::ingest::inventory_for(&store, InventoryConfig::default())
        .await
        .unwrap();
    let m = inv2.book().observe(
        "api.people.test",
        shadowtap::analyze::template::Observation {
            query: None,
            path: "/teams/delta/roster",
            method: "GET",
        },
        true,
    );
    assert_eq!(m.template, "/teams/{team}/roster");
}

#[tokio::test]
async fn the_same_traffic_split_across_workers_gives_the_same_inventory() {
    // The daemon's workers each see a share of the connections but learn in one shared
    // book: the inventory equals a single inventory's.
    let people: Vec<String> = names(80, 0xabcdef)
        .into_iter()
        .map(|n| format!("/people/{n}/profile"))
        .collect();
    let (a, b) = people.split_at(40);
    let fa = traffic(a, "10.3.0.1");
    let fb = traffic(b, "10.3.0.2");

    async fn inventory_of(parts: &[&[support::Frame]], shared: bool) -> Vec<(String, i64)> {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.db")).await.unwrap();
        let first = shadowtap::ingest::inventory_for(&store, InventoryConfig::default())
            .await
            .unwrap();
        let mut invs = vec![first];
        for _ in 1..parts.len() {
            let inv = if shared {
                let book = invs[0].book().clone();
                shadowtap::ingest::inventory_with_book(&store, InventoryConfig::default(), book)
                    .await
                    .unwrap()
            } else {
                shadowtap::ingest::inventory_for(&store, InventoryConfig::default())
                    .await
                    .unwrap()
            };
            invs.push(inv);
        }
        for (inv, frames) in invs.iter_mut().zip(parts) {
            let mut engine = Engine::new(EngineConfig::default());
            feed(&mut engine, inv, frames);
            engine.finish();
            for t in engine.drain() {
                inv.observe(&t);
            }
        }
        for inv in &mut invs {
            store.merge(&inv.drain()).await.unwrap();
        }
        sqlx::query_as(
            "SELECT path_template, request_count FROM api_endpoints ORDER BY path_template",
        )
        .fetch_all(&support::sql(&store).await)
        .await
        .unwrap()
    }
    let whole = inventory_of(&[&[fa.clone(), fb.clone()].concat()], true).await;
    let split = inventory_of(&[&fa, &fb], true).await;
    assert_eq!(whole, [("/people/{person}/profile".to_string(), 80)]);
    assert_eq!(split, whole);
}
