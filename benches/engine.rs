//! Criterion benchmarks of the packet-to-transaction core, reported as bytes per second.
//!
//! `cargo bench --bench engine` runs them; `benches/e2e.sh` measures the whole binary against
//! tshark and tcpdump on a large capture.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shadowtap::capture::{FileSource, LinkType, Next, PacketSource, RawPacket};
use shadowtap::engine::{Engine, EngineConfig};
use shadowtap::http::MessageHead;
use shadowtap::time::Timestamp;
use std::hint::black_box;
use support::*;

type Frames = Vec<(Timestamp, Vec<u8>)>;

fn keepalive(exchanges: usize, chunked: bool) -> Frames {
    let body = format!(
        "{{\"items\":[{}]}}",
        (0..40)
            .map(|i| format!("{{\"id\":{i},\"name\":\"item-{i}\",\"price\":12.5}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    for i in 0..exchanges {
        let req = format!(
            "GET /api/v1/items/{i}?fields=all HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench/1.0\r\nAccept: application/json\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n"
        );
        let resp = if chunked {
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for part in body.as_bytes().chunks(700) {
                r.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                r.extend_from_slice(part);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        } else {
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
        };
        c.exchange(req.as_bytes(), &resp, 1448);
    }
    c.close();
    c.frames
        .iter()
        .map(|f| (f.ts, wrap(LinkType::ETHERNET, &f.ip)))
        .collect()
}

fn run(frames: &Frames, link: LinkType) -> usize {
    let mut e = Engine::new(EngineConfig::default());
    let mut n = 0;
    for (ts, data) in frames {
        e.packet(&RawPacket {
            ts: *ts,
            link,
            orig_len: data.len() as u32,
            data,
        });
        n += e.drain().count();
    }
    e.finish();
    n + e.drain().count()
}

fn load(path: &std::path::Path) -> Option<(LinkType, Frames)> {
    let mut src = FileSource::open(path, None).ok()?;
    let link = src.link_type();
    let mut frames = Vec::new();
    while let Ok(Next::Packet(p)) = src.next_packet() {
        frames.push((p.ts, p.data.to_vec()));
    }
    Some((link, frames))
}

fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.sample_size(20);
    for (name, frames) in [
        ("keepalive_json", keepalive(500, false)),
        ("keepalive_chunked", keepalive(500, true)),
    ] {
        let bytes: usize = frames.iter().map(|(_, d)| d.len()).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(run(&frames, LinkType::ETHERNET)))
        });
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == "pcap"));
    files.sort();
    for path in files {
        let Some((link, frames)) = load(&path) else {
            continue;
        };
        let bytes: usize = frames.iter().map(|(_, d)| d.len()).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        g.bench_with_input(BenchmarkId::new("capture", name), &frames, |b, f| {
            b.iter(|| black_box(run(f, link)))
        });
    }
    g.finish();
}

fn head(c: &mut Criterion) {
    let raw = b"POST /api/v2/orders/3f0c6b1e-6a7d-4f8e-9a3b-2c1d0e9f8a7b/items?expand=true HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\nAccept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nContent-Type: application/json\r\nContent-Length: 512\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig\r\nCookie: session=abc; theme=dark\r\nX-Request-Id: 1b2c3d4e\r\n\r\n";
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("head_parse", |b| {
        b.iter(|| black_box(MessageHead::parse(black_box(raw), 128).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = engine, head
}
criterion_main!(benches);
