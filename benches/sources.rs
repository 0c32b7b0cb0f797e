//! Criterion benchmarks of the log and HAR sources: lines (or HAR entries) read into
//! transactions per second, for every format, on the samples in `captures/` (the forge traffic
//! each format logs) repeated to about 27,000 lines, read from memory (no disk in the figure).
//!
//! `cargo bench --bench sources` runs them; each group reports lines per second. Reading only:
//! the inventory's `observe` on the transactions is `benches/analyze.rs`'s figure.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shadowtap::source::{Format, SourceConfig, SourceStats, read};
use std::hint::black_box;
use std::path::Path;

/// Copies of each sample read per iteration (274 lines each).
const COPIES: usize = 100;

/// (format, sample file in `captures/`).
const SAMPLES: &[(Format, &str)] = &[
    (Format::Combined, "forge.access.log"),
    (Format::NginxJson, "forge.access.json.log"),
    (Format::Haproxy, "forge.haproxy.log"),
    (Format::Caddy, "forge.caddy.log"),
    (Format::Traefik, "forge.traefik.log"),
    (Format::Alb, "forge.alb.log"),
    (Format::EnvoyJson, "forge.envoy-json.log"),
    (Format::Kong, "forge.kong.log"),
];

fn sources(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let cfg = SourceConfig {
        // HAProxy's and combined logs name no Host.
        host: Some("api.forge.test".into()),
        ..SourceConfig::default()
    };
    let mut g = c.benchmark_group("sources");
    for (format, file) in SAMPLES {
        let sample = std::fs::read(dir.join(file)).unwrap();
        let input = sample.repeat(COPIES);
        let lines = input.iter().filter(|b| **b == b'\n').count() as u64;
        // Every line reads: the figure is of transactions made, not of lines refused.
        let mut stats = SourceStats::default();
        read(*format, &input[..], &cfg, &mut stats, |_, _| {}).unwrap();
        assert_eq!(stats.transactions, lines, "{file}: {stats:?}");
        g.throughput(Throughput::Elements(lines));
        g.bench_function(format.name(), |b| {
            b.iter(|| {
                let mut stats = SourceStats::default();
                read(*format, &input[..], &cfg, &mut stats, |_, t| {
                    black_box(t);
                })
                .unwrap();
                stats.transactions
            })
        });
    }
    let har = std::fs::read(dir.join("dashboard.har")).unwrap();
    let mut stats = SourceStats::default();
    read(Format::Har, &har[..], &cfg, &mut stats, |_, _| {}).unwrap();
    g.throughput(Throughput::Elements(stats.lines));
    g.bench_function("har", |b| {
        b.iter(|| {
            let mut stats = SourceStats::default();
            read(Format::Har, &har[..], &cfg, &mut stats, |_, t| {
                black_box(t);
            })
            .unwrap();
            stats.transactions
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = sources
}
criterion_main!(benches);
