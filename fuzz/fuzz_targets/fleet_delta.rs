//! A fleet's deltas as the centre reads them: `Delta::decode_json` (the JSON document a
//! payload inflates to), then what the centre and a spool fold do with a delta's figures:
//! the TLS services back into the analysis's form, the gRPC figures with their caps, the
//! WebSocket figures merged twice into stored ones, and the delta folded into a copy of
//! itself.
//!
//! Input: a JSON document (the fuzzer is given a few real deltas' JSON as seeds).
//!
//! Checks: no panic (no overflow: merges saturate); the folded delta has the same endpoints
//! and both copies' TLS services; the gRPC statuses stay within their cap; the WebSocket maps within theirs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::analyze::websocket::{MAX_SUBPROTOCOLS, WsDelta};
use shadowtap::store::delta::{Delta, MAX_GRPC_STATUSES};

fuzz_target!(|data: &[u8]| {
    let Ok(d) = Delta::decode_json(data) else {
        return;
    };
    for s in &d.tls {
        if let Some(t) = s.delta() {
            assert!(t.clients.len() <= s.clients.len());
        }
    }
    for e in &d.endpoints {
        if let Some(g) = &e.grpc_figures {
            let m = g.figures("s", "m");
            assert!(m.status.len() <= MAX_GRPC_STATUSES);
        }
        if let Some(w) = &e.websocket {
            let mut stored = WsDelta::default();
            stored.merge(w);
            stored.merge(w);
            assert!(stored.subprotocols.len() <= MAX_SUBPROTOCOLS);
            let _ = stored.sizes.quantile(0.99);
        }
    }
    let mut folded = d.clone();
    if folded.absorb(d.clone()) {
        let keys = |x: &Delta| {
            x.endpoints
                .iter()
                .map(|e| (e.host.clone(), e.method.clone(), e.template.clone()))
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(keys(&folded), keys(&d));
        assert_eq!(folded.tls.len(), 2 * d.tls.len());
    }
});
