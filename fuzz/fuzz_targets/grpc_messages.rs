//! gRPC bodies: `analyze::grpc::split` (length-prefixed framing), `inflate` (gzip messages)
//! and `walk` (the protobuf wire walker), without and with a descriptor.
//!
//! Input: a selector byte, then a body. `sel % 3` picks how the body is read: as gRPC framing
//! whose messages are walked, as one bare protobuf message walked without a descriptor, or
//! walked with a small descriptor (string, bytes, nested message, zig-zag and double fields,
//! including a message type that contains itself). `sel & 0x80`: compressed messages are
//! inflated as gzip first.
//!
//! Checks: no panic and no stack overflow; at most `MAX_MESSAGES` messages framed and
//! `MAX_WALKED` kept; the framed messages' bytes are within the input; a walk is a JSON object
//! no deeper than `MAX_DEPTH` whose strings are at most `MAX_STRING` bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shadowtap::analyze::grpc::{
    Descriptors, FieldInfo, FieldKind, MAX_DEPTH, MAX_MESSAGES, MAX_STRING, MAX_WALKED, inflate,
    split, walk,
};
use std::collections::HashMap;
use std::sync::OnceLock;

fn descriptors() -> &'static Descriptors {
    static D: OnceLock<Descriptors> = OnceLock::new();
    D.get_or_init(|| {
        let f = |name: &str, kind| FieldInfo {
            name: name.into(),
            kind,
        };
        let mut d = Descriptors::default();
        d.messages.insert(
            "t.Node".into(),
            HashMap::from([
                (1, f("name", FieldKind::String)),
                (2, f("blob", FieldKind::Bytes)),
                (3, f("child", FieldKind::Message("t.Node".into()))),
                (4, f("delta", FieldKind::Signed)),
                (5, f("ratio", FieldKind::Double)),
                (6, f("flag", FieldKind::Bool)),
                (7, f("gone", FieldKind::Message("t.Missing".into()))),
            ]),
        );
        d
    })
}

fn check(v: &Value, depth: usize) {
    assert!(depth <= MAX_DEPTH + 1, "depth {depth}");
    match v {
        Value::String(s) => assert!(s.len() <= MAX_STRING),
        Value::Array(a) => a.iter().for_each(|x| check(x, depth)),
        Value::Object(o) => o.values().for_each(|x| check(x, depth + 1)),
        _ => {}
    }
}

fn walk_checked(bytes: &[u8], typed: bool) {
    let names = typed.then(|| (descriptors(), "t.Node"));
    if let Some(w) = walk(bytes, names) {
        assert!(w.value.is_object());
        check(&w.value, 0);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    match sel % 3 {
        0 => {
            let s = split(body);
            assert!(s.messages as usize <= MAX_MESSAGES);
            assert!(s.frames.len() <= MAX_WALKED);
            assert!(s.compressed <= s.messages);
            for f in &s.frames {
                assert_eq!(f.data.len(), f.len as usize);
                let inflated;
                let bytes = if f.compressed && sel & 0x80 != 0 {
                    match inflate(f.data, b"gzip", 64 * 1024) {
                        Some(x) => {
                            assert!(x.len() <= 64 * 1024);
                            inflated = x;
                            &inflated[..]
                        }
                        None => continue,
                    }
                } else {
                    f.data
                };
                walk_checked(bytes, sel & 0x40 != 0);
            }
        }
        1 => walk_checked(body, false),
        _ => walk_checked(body, true),
    }
});
