//! Criterion benchmarks of the analyses above the engine: the template learner, the sensitive
//! data scanners, JSON shape inference and the call-sequence tracker.
//!
//! `cargo bench --bench analyze` runs them. Inputs are built here from fixed seeds, so runs
//! compare; each group reports elements (paths, calls) or bytes per second.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shadowtap::analyze::auth::AuthEvidence;
use shadowtap::analyze::endpoint::EndpointKey;
use shadowtap::analyze::sensitive::{Finding, scan_text};
use shadowtap::analyze::sequence::{Call, SequenceConfig, SequenceTracker};
use shadowtap::analyze::shape;
use shadowtap::analyze::template::TemplateLearner;
use shadowtap::time::Timestamp;
use std::hint::black_box;
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

criterion_group!(benches, templates, sensitive, shapes, sequences);
criterion_main!(benches);
