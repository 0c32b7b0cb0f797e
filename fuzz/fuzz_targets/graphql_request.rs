//! GraphQL recognition on arbitrary request bodies and query strings:
//! `analyze::graphql::recognize` and `judge`.
//!
//! Input: a selector byte, then the payload. `sel % 4` picks how the payload arrives: a JSON
//! body (parsed by serde_json first, as the inventory does; invalid JSON is wrapped as the
//! `query` string of `{"query": ...}`), an `application/graphql` body, a GET query string
//! (`query=` + payload), or a batch (`[{"query": payload}, {"query": payload}]`).
//!
//! Checks: no panic and no stack overflow (documents nested past the parser's recursion
//! limit, fragment chains and cycles, fragment bombs); labels are at most 256 bytes of
//! printable ASCII (and `…` for a name cut short) without `#` (they become the part of a template after `#`); at most 64
//! operations read from a batch; every finding kind is one of the three documented. Time is
//! bounded by libFuzzer's `-timeout` (the walk visits at most 20,000 selections).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use shadowtap::analyze::graphql::{judge, recognize};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let got = match sel % 4 {
        0 => {
            let v: Value = serde_json::from_slice(rest).unwrap_or_else(|_| json!({"query": text}));
            recognize(b"POST", "application/json", Some(&v), None, std::iter::empty())
        }
        1 => recognize(b"POST", "application/graphql", None, Some(rest), std::iter::empty()),
        2 => {
            let pairs = [("query", text.as_ref()), ("operationName", "Q")];
            recognize(b"GET", "", None, None, pairs.into_iter())
        }
        _ => {
            let v = json!([{"query": text}, {"query": text, "operationName": "A"}]);
            recognize(b"POST", "application/json", Some(&v), None, std::iter::empty())
        }
    };
    let Some(g) = got else {
        return;
    };
    assert!(g.operations.len() <= 64);
    assert!(!g.operations.is_empty());
    let label = g.label();
    assert!(label.len() <= 256, "{label}");
    assert!(
        label.chars().all(|c| (c.is_ascii_graphic() || c == ' ' || c == '…') && c != '#'),
        "{label:?}"
    );
    for (kind, _, _, _) in judge(&g, 200, None) {
        assert!(matches!(
            kind,
            "graphql_introspection" | "graphql_alias_abuse" | "graphql_deep_query"
        ));
    }
});
