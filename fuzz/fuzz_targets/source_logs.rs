//! Access logs and HAR files (`source::read`): every line format (`Format::LINES`: nginx/Apache
//! combined, nginx JSON, Envoy default and JSON, HAProxy, Caddy, Traefik, AWS ALB, Kong) and
//! HAR 1.2, with `source::detect` on the same bytes.
//!
//! Input: one selector byte (`% 10` picks the format), then the file.
//!
//! Checks: no panic; every line or entry is either a transaction or counted once (lines =
//! transactions + blank lines + skipped, for the line formats); each transaction has a request;
//! what a HAR body keeps stays within the sample cap; the line cap holds (a line longer than it
//! is skipped, never parsed). Memory is bounded by the caps below and libFuzzer's
//! `-rss_limit_mb`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::source::{self, Format, SourceConfig, SourceStats};

const FORMATS: [Format; 10] = [
    Format::Combined,
    Format::NginxJson,
    Format::Envoy,
    Format::Har,
    Format::Haproxy,
    Format::Caddy,
    Format::Traefik,
    Format::Alb,
    Format::EnvoyJson,
    Format::Kong,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(sel) % FORMATS.len()];
    let cfg = SourceConfig {
        max_line_bytes: 512,
        max_entry_bytes: 4096,
        body_sample_bytes: 64,
        host: None,
    };
    let mut stats = SourceStats::default();
    let mut made = 0u64;
    let _ = source::read(format, file, &cfg, &mut stats, |_, t| {
        let request = t.request.as_ref().expect("a transaction without its request");
        for m in std::iter::once(request).chain(t.response.as_ref()) {
            assert!(m.body.sample.len() <= cfg.body_sample_bytes, "body sample over the cap");
        }
        made += 1;
    });
    assert_eq!(made, stats.transactions);
    if format != Format::Har {
        assert_eq!(
            stats.lines,
            stats.transactions + stats.blank_lines + stats.skipped(),
            "{stats:?}"
        );
    }
    let _ = source::detect(file);
});
