//! Criterion benchmarks of the analyses above the engine: the template learner, the sensitive
//! data scanners, JSON shape inference, the call-sequence tracker, and the whole inventory's
//! `observe` on hand-built transactions (every analysis at once).
//!
//! `cargo bench --bench analyze` runs them. Inputs are built here from fixed seeds, so runs
//! compare; each group reports elements (paths, calls) or bytes per second.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shadowtap::analyze::auth::AuthEvidence;
use shadowtap::analyze::endpoint::EndpointKey;
use shadowtap::analyze::inventory::{Inventory, InventoryConfig};
use shadowtap::analyze::sensitive::{Finding, scan_text};
use shadowtap::analyze::sequence::{Call, SequenceConfig, SequenceTracker};
use shadowtap::analyze::shape;
use shadowtap::analyze::template::TemplateLearner;
use shadowtap::http::head::MessageHead;
use shadowtap::http::{Body, HttpMessage, HttpTransaction, Tags};
use shadowtap::reassembly::{Endpoint, FlowId};
use shadowtap::time::Timestamp;
use std::hint::black_box;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use support::Rng;

const OWNERS: &[&str] = &[
    "rust-lang",
    "facebook",
    "torvalds",
    "acme-corp",
    "octo-org",
    "vercel",
    "hashicorp",
    "jdoe",
];
const REPOS: &[&str] = &[
    "rustup",
    "next.js",
    "linux",
    "cargo",
    "terraform",
    "docs-site",
    "api-gateway",
    "dotfiles",
];
const SUBS: &[&str] = &[
    "issues", "pulls", "commits", "branches", "contents", "releases",
];

/// GitHub-like request paths: string slugs, integers, hashes and literal sub-resources.
fn paths(n: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed);
    (0..n)
        .map(|_| {
            let o = OWNERS[rng.below(OWNERS.len())];
            let r = REPOS[rng.below(REPOS.len())];
            match rng.below(5) {
                0 => format!("/repos/{o}/{r}"),
                1 => format!("/repos/{o}/{r}/{}", SUBS[rng.below(SUBS.len())]),
                2 => format!("/repos/{o}/{r}/issues/{}", rng.below(90_000)),
                3 => format!("/repos/{o}/{r}/commits/{:040x}", rng.next() as u128 * 7919),
                _ => format!("/users/{o}/repos?page={}", rng.below(9)),
            }
        })
        .collect()
}

fn templates(c: &mut Criterion) {
    let ps = paths(20_000);
    let mut g = c.benchmark_group("template");
    g.throughput(Throughput::Elements(ps.len() as u64));
    g.bench_function("observe_fresh_learner", |b| {
        b.iter(|| {
            let mut l = TemplateLearner::new();
            for p in &ps {
                black_box(l.observe(p));
            }
            l.settle();
            black_box(l.node_count())
        })
    });
    let mut warm = TemplateLearner::new();
    for p in &ps {
        warm.observe(p);
    }
    warm.settle();
    g.bench_function("resolve_settled", |b| {
        b.iter(|| {
            for p in &ps {
                black_box(warm.resolve(p));
            }
        })
    });
    g.finish();
}

/// A JSON response body of about 4 KB with a few sensitive values among ordinary fields.
fn body(sensitive: bool) -> String {
    let mut items = Vec::new();
    for i in 0..40 {
        let extra = if sensitive && i % 10 == 0 {
            format!(
                ",\"email\":\"user{i}@example.com\",\"card\":\"4111 1111 1111 1111\",\"note\":\"token ghp_{:036}\"",
                i
            )
        } else {
            String::new()
        };
        items.push(format!(
            "{{\"id\":{i},\"name\":\"item-{i}\",\"price\":12.5,\"created\":\"2024-03-01T10:00:00Z\"{extra}}}"
        ));
    }
    format!("{{\"items\":[{}],\"next\":null}}", items.join(","))
}

fn sensitive(c: &mut Criterion) {
    let mut g = c.benchmark_group("sensitive");
    for (name, text) in [("clean_json", body(false)), ("json_with_pii", body(true))] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        let mut out: Vec<Finding> = Vec::new();
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                scan_text(black_box(&text), &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn shapes(c: &mut Criterion) {
    let text = body(true);
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut g = c.benchmark_group("shape");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("infer", |b| b.iter(|| black_box(shape::infer(&value))));
    let a = shape::infer(&value);
    let other: serde_json::Value = serde_json::from_str(&body(false)).expect("valid JSON");
    let b_shape = shape::infer(&other);
    g.bench_function("merge", |b| {
        b.iter(|| black_box(shape::merge(&a, &b_shape)))
    });
    g.finish();
}

fn sequences(c: &mut Criterion) {
    let keys: Vec<EndpointKey> = [
        "/login",
        "/products/{product_id}",
        "/products/{product_id}/reviews",
        "/cart/items",
        "/checkout",
        "/orders/{order_id}",
    ]
    .iter()
    .map(|t| EndpointKey {
        host: "shop.example".into(),
        method: "GET".into(),
        template: (*t).into(),
    })
    .collect();
    let mut rng = Rng(42);
    let calls: Vec<(usize, IpAddr, String)> = (0..10_000)
        .map(|_| {
            let k = rng.below(keys.len());
            let client = IpAddr::V4(Ipv4Addr::new(
                10,
                0,
                (rng.below(4)) as u8,
                rng.below(250) as u8,
            ));
            let path = keys[k]
                .template
                .replace("{product_id}", &rng.below(500).to_string());
            (
                k,
                client,
                path.replace("{order_id}", &rng.below(9000).to_string()),
            )
        })
        .collect();
    let auth: Vec<AuthEvidence> = Vec::new();
    let mut g = c.benchmark_group("sequence");
    g.throughput(Throughput::Elements(calls.len() as u64));
    g.bench_function("observe_anonymous_clients", |b| {
        b.iter(|| {
            let mut t = SequenceTracker::new(SequenceConfig::default());
            for (i, (k, client, path)) in calls.iter().enumerate() {
                t.observe(Call {
                    key: &keys[*k],
                    path,
                    client: *client,
                    auth: &auth,
                    fingerprint: (b"bench/1.0", b"en"),
                    status: 200,
                    ts: Timestamp::from_parts(
                        1_700_000_000 + i as i64 / 20,
                        (i as u32 % 20) * 50_000_000,
                    ),
                    integer_params: 0,
                    issues_credential: false,
                });
            }
            black_box(t.principals())
        })
    });
    g.finish();
}

/// A message from a raw head and a body (sampled whole).
fn message(head: &str, body: Vec<u8>, ts: Timestamp) -> HttpMessage {
    HttpMessage {
        head: MessageHead::parse(head.as_bytes(), 128).expect("valid head"),
        first_ts: ts,
        last_ts: ts,
        body: Body {
            len: body.len() as u64,
            sample: body,
            gap_bytes: 0,
        },
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

/// A mix of API transactions as a sensor sees them: JSON reads with bearer JWTs and query
/// strings, gzip-encoded responses, form and JSON logins handing out tokens and cookies, API
/// keys in headers and queries, errors, and anonymous page loads.
fn transactions(n: usize) -> Vec<HttpTransaction> {
    let mut rng = Rng(7);
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjoxOTAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJl";
    let json = body(true);
    let gz = gzip(body(false).as_bytes());
    (0..n)
        .map(|i| {
            let ts = Timestamp::from_parts(1_700_000_000 + i as i64 / 50, (i as u32 % 50) * 20_000_000);
            let client = Endpoint {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, rng.below(4) as u8, rng.below(200) as u8)),
                port: 40_000 + (i % 20_000) as u16,
            };
            let o = OWNERS[rng.below(OWNERS.len())];
            let (req, resp) = match rng.below(6) {
                0 => (
                    message(&format!("GET /api/v1/users/{}/orders?page={}&per_page=50&sort=created%20desc HTTP/1.1\r\nHost: api.shop.example\r\nUser-Agent: app/2.1 (iOS)\r\nAccept: application/json\r\nAccept-Language: en-US\r\nAuthorization: Bearer {jwt}\r\n\r\n", rng.below(5000), rng.below(9)), Vec::new(), ts),
                    message(&format!("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nX-RateLimit-Remaining: 99\r\n\r\n", json.len()), json.as_bytes().to_vec(), ts),
                ),
                1 => (
                    message(&format!("GET /repos/{o}/{}/issues?state=open&api_key=k{:08} HTTP/1.1\r\nHost: api.code.example\r\nUser-Agent: curl/8.5.0\r\nAccept-Encoding: gzip\r\nCookie: theme=dark; sessionid=s{:012}\r\n\r\n", REPOS[rng.below(REPOS.len())], rng.below(100), rng.below(1000)), Vec::new(), ts),
                    message(&format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", gz.len()), gz.clone(), ts),
                ),
                2 => {
                    let form = format!("username=user{}%40example.com&password=hunter{}&remember=on", rng.below(300), rng.below(99));
                    (
                        message(&format!("POST /login HTTP/1.1\r\nHost: www.shop.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nOrigin: https://www.shop.example\r\n\r\n", form.len()), form.into_bytes(), ts),
                        message("HTTP/1.1 302 Found\r\nLocation: /account\r\nSet-Cookie: sessionid=8f2b1c9d7e0a; Path=/; HttpOnly\r\nSet-Cookie: theme=dark\r\nContent-Length: 0\r\n\r\n", Vec::new(), ts),
                    )
                }
                3 => {
                    let login = format!(r#"{{"email":"user{}@example.com","password":"correct horse"}}"#, rng.below(300));
                    let token = format!(r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":3600}}"#);
                    (
                        message(&format!("POST /api/v1/auth/token HTTP/1.1\r\nHost: api.shop.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\nUser-Agent: app/2.1 (iOS)\r\n\r\n", login.len()), login.into_bytes(), ts),
                        message(&format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\n\r\n", token.len()), token.into_bytes(), ts),
                    )
                }
                4 => (
                    message(&format!("DELETE /api/v1/carts/{:032x}/items/{} HTTP/1.1\r\nHost: api.shop.example\r\nX-API-Key: key-{:06}\r\nUser-Agent: python-requests/2.31\r\n\r\n", rng.next() as u128 * 31, rng.below(40), rng.below(20)), Vec::new(), ts),
                    message("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n\r\n", b"no such item in cart 42".to_vec(), ts),
                ),
                _ => (
                    message(&format!("GET /products/{}?utm_source=mail&q=red+shoes HTTP/1.1\r\nHost: www.shop.example\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\nAccept-Language: de-DE,de;q=0.9\r\nReferer: https://www.shop.example/\r\n\r\n", rng.below(800)), Vec::new(), ts),
                    message("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 60\r\n\r\n", b"<html><body>Contact: support@shop.example</body></html>\n\n\n\n\n".to_vec(), ts),
                ),
            };
            HttpTransaction {
                flow: FlowId(i as u64),
                orig: client,
                resp: Endpoint {
                    ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
                    port: 80,
                },
                depth: 1,
                request: Some(req),
                response: Some(resp),
                interim: Vec::new(),
                tags: Tags::default(),
                tls: None,
                websocket: None,
            }
        })
        .collect()
}

fn inventory(c: &mut Criterion) {
    let ts = transactions(5_000);
    let mut g = c.benchmark_group("inventory");
    g.throughput(Throughput::Elements(ts.len() as u64));
    g.bench_function("observe_mixed_api_traffic", |b| {
        b.iter(|| {
            let mut inv = Inventory::new(InventoryConfig {
                hash_key: b"bench-key".to_vec(),
                ..InventoryConfig::default()
            });
            for t in &ts {
                inv.observe(black_box(t));
            }
            black_box(inv.pending())
        })
    });
    g.finish();
}

criterion_group!(benches, templates, sensitive, shapes, sequences, inventory);
criterion_main!(benches);
