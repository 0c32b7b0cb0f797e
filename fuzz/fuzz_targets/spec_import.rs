//! API descriptions (JSON and YAML, as uploaded): `openapi::parse_checked`, and the
//! pre-scan `openapi::bounds::check_nesting` held against what the parsers build.
//!
//! Input: the document, as it is (UTF-8, UTF-16 with a byte order mark, or anything).
//!
//! Checks: no panic; a document the pre-scan refuses is refused as too deep or too large
//! (before any parser runs); for a document it lets through, what serde_json or serde_yaml_ng
//! builds of it has at most twice the nodes the scan counted (aliases expanded: a YAML alias is
//! a copy of its anchored node), and, without aliases, a depth at most one more than the scan
//! found. Hangs and memory are bounded by libFuzzer's `-timeout` and `-rss_limit_mb`: with the
//! limits below, no input may take long or much memory (run with `-max_len=65536` or more, so
//! that deep and wide documents fit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shadowtap::openapi::bounds::{SpecLimits, check_nesting, to_utf8};
use shadowtap::openapi::{ParseError, parse_checked};
use std::time::Duration;

const LIMITS: SpecLimits = SpecLimits {
    max_bytes: 1 << 20,
    max_depth: 128,
    max_nodes: 20_000,
    parse_budget: Duration::from_secs(10),
};

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(nodes).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(|x| 1 + nodes(x)).sum::<usize>(),
        _ => 1,
    }
}

fuzz_target!(|data: &[u8]| {
    let result = parse_checked(data, &LIMITS);
    if data.len() > LIMITS.max_bytes {
        assert!(matches!(result, Err(ParseError::TooLarge { .. })));
        return;
    }
    let text = to_utf8(data);
    let Ok(m) = check_nesting(&text, LIMITS.max_depth, LIMITS.max_nodes) else {
        assert!(
            matches!(
                result,
                Err(ParseError::TooDeep { .. } | ParseError::TooManyNodes { .. })
            ),
            "refused by the scan, but parse_checked says {result:?}"
        );
        return;
    };
    let (value, json) = match serde_json::from_slice::<Value>(&text) {
        Ok(v) => (Some(v), true),
        Err(_) => (serde_yaml_ng::from_slice::<Value>(&text).ok(), false),
    };
    let Some(v) = value else { return };
    let n = nodes(&v);
    assert!(
        n <= 2 * m.nodes + 2,
        "{n} nodes parsed, {} counted by the scan",
        m.nodes
    );
    if json || !text.contains(&b'*') {
        let d = depth(&v);
        assert!(d <= m.depth + 1, "depth {d} parsed, {} found by the scan", m.depth);
    }
});
