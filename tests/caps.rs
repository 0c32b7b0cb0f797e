//! Hostile traffic can neither fill the disk nor blind the sensor: every crafted capture here
//! attacks one cap, and the real API traffic that follows the attack is still inventoried.

mod support;

use shadowtap::analyze::inventory::InventoryConfig;
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::{Store, StoreLimits};
use support::{Conv, Frame, Rng, write_pcap};

/// English words (the learner keeps them literal at the top level: distinct endpoints).
fn words(n: usize) -> Vec<String> {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/analyze/vocab/english.txt"
    ))
    .unwrap()
    .lines()
    .filter(|w| (6..=9).contains(&w.len()))
    .step_by(7)
    .take(n)
    .map(String::from)
    .collect()
}

/// One keep-alive connection from `client` carrying `reqs` (method, host, path), each
/// answered with `status` and a small JSON body.
fn conversation(client: &str, reqs: &[(String, String, String)], status: u16) -> Vec<Frame> {
    let mut c = Conv::new(&format!("{client}:41000"), "10.0.0.1:80");
    c.handshake();
    for (method, host, path) in reqs {
        let req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: t/1\r\n\r\n");
        let body = r#"{"id":1,"name":"x","ok":true}"#;
        let resp = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        c.exchange(req.as_bytes(), resp.as_bytes(), 1400);
        c.wait_us(3_000);
    }
    c.close();
    c.frames
}

fn get(host: &str, path: &str) -> (String, String, String) {
    ("GET".into(), host.into(), path.into())
}

async fn ingest(
    frames: &[Frame],
    opts: &IngestOptions,
    limits: StoreLimits,
) -> (tempfile::TempDir, Store, u64) {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    write_pcap(&pcap, frames);
    let size = std::fs::metadata(&pcap).unwrap().len();
    let store = Store::open(&dir.path().join("inv.db"))
        .await
        .unwrap()
        .with_limits(limits);
    ingest_files(&store, &[pcap], opts, |_| {}).await.unwrap();
    (dir, store, size)
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&support::sql(store).await)
        .await
        .unwrap()
}

/// The real API traffic every test sends after its attack: 50 calls to 5 endpoints.
fn real_api(client: &str) -> Vec<Frame> {
    let reqs: Vec<(String, String, String)> = (0..50)
        .map(|i| {
            let p = match i % 5 {
                0 => format!("/v1/orders/{}", 1000 + i),
                1 => "/v1/orders".to_string(),
                2 => format!("/v1/customers/{}", 2000 + i),
                3 => "/v1/health".to_string(),
                _ => format!("/v1/orders/{}/items", 1000 + i),
            };
            get("api.real.test", &p)
        })
        .collect();
    conversation(client, &reqs, 200)
}

async fn real_api_is_whole(store: &Store) {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT path_template, request_count FROM api_endpoints WHERE host = 'api.real.test' ORDER BY 1",
    )
    .fetch_all(&support::sql(store).await)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("/v1/customers/{customer_id}".to_string(), 10),
            ("/v1/health".to_string(), 10),
            ("/v1/orders".to_string(), 10),
            ("/v1/orders/{order_id}".to_string(), 10),
            ("/v1/orders/{order_id}/items".to_string(), 10),
        ],
        "the real API after the attack"
    );
}

#[tokio::test]
async fn rotating_endpoints_cannot_grow_transitions_without_limit() {
    // Requests rotating among 1,000 endpoints in random order make a new (from, to)
    // transition on almost every call; the store keeps the busiest within its caps.
    let mut rng = Rng(0x5eed);
    let w = words(1000);
    let mut frames = Vec::new();
    for c in 0..6 {
        let reqs: Vec<_> = (0..2500)
            .map(|_| get("rot.test", &format!("/{}", w[(rng.next() % 1000) as usize])))
            .collect();
        frames.extend(conversation(&format!("10.9.0.{}", c + 2), &reqs, 200));
    }
    frames.extend(real_api("10.9.1.1"));
    let limits = StoreLimits {
        max_transitions: 3000,
        max_sequence_paths: 3000,
        ..StoreLimits::default()
    };
    let opts = IngestOptions {
        flush_every: 2000,
        ..IngestOptions::default()
    };
    let (dir, store, input) = ingest(&frames, &opts, limits).await;
    let endpoints = count(
        &store,
        "SELECT COUNT(*) FROM endpoints WHERE host = 'rot.test'",
    )
    .await;
    assert!(endpoints > 900, "{endpoints} distinct endpoints");
    let transitions = count(&store, "SELECT COUNT(*) FROM transitions").await;
    let paths = count(&store, "SELECT COUNT(*) FROM sequence_paths").await;
    assert!(transitions <= 3000, "{transitions}");
    assert!(paths <= 3000, "{paths}");
    real_api_is_whole(&store).await;
    let used = shadowtap::store::retention::db_size(&store)
        .await
        .unwrap()
        .0;
    store.close().await;
    let file = std::fs::metadata(dir.path().join("inv.db")).unwrap().len();
    eprintln!(
        "rotating endpoints: {input} bytes of capture, {used} bytes of pages in use ({:.2} per input byte), file {file}",
        used as f64 / input as f64
    );
    assert!(
        used < 2 * input,
        "bounded amplification: {used} for {input}"
    );
}

#[tokio::test]
async fn unknown_method_tokens_fold_into_one_bucket() {
    let mut rng = Rng(77);
    let reqs: Vec<_> = (0..3000)
        .map(|_| {
            let m = rng.word(6).to_ascii_uppercase();
            (m, "api.real.test".to_string(), "/v1/orders".to_string())
        })
        .collect();
    let mut frames = conversation("10.8.0.2", &reqs, 405);
    frames.extend(real_api("10.8.0.3"));
    let (_dir, store, _) = ingest(&frames, &IngestOptions::default(), StoreLimits::default()).await;
    let other: i64 = count(
        &store,
        "SELECT request_count FROM api_endpoints WHERE method = 'OTHER' AND path_template = '/v1/orders'",
    )
    .await;
    assert_eq!(other, 3000);
    let endpoints = count(&store, "SELECT COUNT(*) FROM api_endpoints").await;
    assert_eq!(endpoints, 6, "5 real endpoints and one bucket");
}

#[tokio::test]
async fn junk_hosts_do_not_displace_a_real_api() {
    // 16 bogus Host values fill a 16-host table first; the real API still gets learned.
    let reqs: Vec<_> = (0..16)
        .flat_map(|i| (0..3).map(move |j| get(&format!("bogus{i}.test"), &format!("/x{j}"))))
        .collect();
    let mut frames = conversation("10.7.0.2", &reqs, 404);
    frames.extend(real_api("10.7.0.3"));
    let opts = IngestOptions {
        inventory: InventoryConfig {
            max_hosts: 16,
            ..InventoryConfig::default()
        },
        ..IngestOptions::default()
    };
    let (_dir, store, _) = ingest(&frames, &opts, StoreLimits::default()).await;
    real_api_is_whole(&store).await;
}

#[tokio::test]
async fn junk_endpoints_make_room_for_real_ones() {
    // 600 distinct never-answered paths against a 100-endpoint store: the real API, answered
    // 200, still gets in; junk makes room.
    let mut rng = Rng(99);
    let reqs: Vec<_> = (0..600)
        .map(|_| get("junk.test", &format!("/{}/{}", rng.word(5), rng.word(7))))
        .collect();
    let mut frames = conversation("10.6.0.2", &reqs, 404);
    frames.extend(real_api("10.6.0.3"));
    let limits = StoreLimits {
        max_endpoints: 100,
        ..StoreLimits::default()
    };
    let opts = IngestOptions {
        flush_every: 100,
        ..IngestOptions::default()
    };
    let (_dir, store, _) = ingest(&frames, &opts, limits).await;
    let total = count(&store, "SELECT COUNT(*) FROM endpoints").await;
    assert!(total <= 100, "{total}");
    real_api_is_whole(&store).await;
}

#[tokio::test]
async fn the_size_budget_holds_under_a_flood_and_real_traffic_still_gets_in() {
    use shadowtap::store::retention::{db_size, hold_budget};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("b.db")).await.unwrap();
    let mut inv = shadowtap::ingest::inventory_for(&store, InventoryConfig::default())
        .await
        .unwrap();
    let budget: u64 = 1 << 20;
    let mut rng = Rng(4242);
    let w = words(3000);
    let mut engine = shadowtap::engine::Engine::new(shadowtap::engine::EngineConfig::default());
    let now = shadowtap::time::Timestamp::now().as_nanos();
    let mut peak = 0u64;
    for round in 0..40 {
        let reqs: Vec<_> = (0..1500)
            .map(|_| {
                let a = &w[(rng.next() % 3000) as usize];
                let b = &w[(rng.next() % 3000) as usize];
                get(
                    &format!("flood{}.test", rng.next() % 50),
                    &format!("/{a}/{b}"),
                )
            })
            .collect();
        let mut frames = conversation(&format!("10.5.{}.2", round % 200), &reqs, 404);
        if round == 39 {
            frames.extend(real_api("10.5.250.3"));
        }
        for f in &frames {
            engine.packet(&shadowtap::capture::RawPacket {
                ts: f.ts,
                link: shadowtap::capture::LinkType::RAW,
                orig_len: f.ip.len() as u32,
                data: &f.ip,
            });
            for t in engine.drain() {
                inv.observe(&t);
            }
        }
        if round == 39 {
            engine.finish();
            for t in engine.drain() {
                inv.observe(&t);
            }
        }
        store.merge(&inv.drain()).await.unwrap();
        hold_budget(&store, budget, now).await.unwrap();
        peak = peak.max(db_size(&store).await.unwrap().0);
    }
    let endpoints = count(&store, "SELECT COUNT(*) FROM endpoints").await;
    eprintln!("size budget {budget} bytes, peak pages in use {peak}, {endpoints} endpoints kept");
    assert!(
        peak <= budget + budget / 10,
        "peak {peak} over budget {budget}"
    );
    real_api_is_whole(&store).await;
}

/// Many one-time clients of an endpoint fill its client rows up to the cap, and what does not
/// fit is counted (`store_clients`); a repeat client evicts a one-time one
/// (`store_clients_evicted`); the distinct-client estimate still counts everyone.
#[tokio::test]
async fn client_rows_at_their_cap_are_counted() {
    let mut frames = Vec::new();
    for i in 0..60u32 {
        frames.extend(conversation(
            &format!("10.9.{}.{}", i / 250, i % 250 + 1),
            &[get("api.real.test", "/v1/health")],
            200,
        ));
    }
    // A busy client arrives last.
    frames.extend(conversation(
        "10.8.0.1",
        &(0..5)
            .map(|_| get("api.real.test", "/v1/health"))
            .collect::<Vec<_>>(),
        200,
    ));
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    write_pcap(&pcap, &frames);
    let store = Store::open(&dir.path().join("inv.db"))
        .await
        .unwrap()
        .with_limits(StoreLimits {
            max_clients_per_endpoint: 20,
            ..StoreLimits::default()
        });
    let opts = IngestOptions {
        flush_every: 10,
        ..IngestOptions::default()
    };
    let (reports, _, _) = ingest_files(&store, &[pcap], &opts, |_| {}).await.unwrap();
    let f = &reports[0].flush;
    assert_eq!(f.clients_dropped, 40, "{f:?}");
    assert_eq!(f.clients_evicted, 1, "{f:?}");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM endpoint_clients").await,
        20
    );
    assert_eq!(
        count(
            &store,
            "SELECT count FROM endpoint_clients WHERE client = '10.8.0.1'"
        )
        .await,
        5
    );
    let estimate = count(&store, "SELECT client_estimate FROM endpoints").await;
    assert!((58..=64).contains(&estimate), "{estimate}");
}
