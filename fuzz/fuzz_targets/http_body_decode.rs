//! Content decoding (gzip, deflate, br, and stacks of them) with the decompression-bomb bound.
//!
//! Input: byte 0 picks the codings (low 4 bits) and a small second limit (high 4 bits, times
//! 256); the rest is the encoded body. The text of the rest also goes through `parse_codings`.
//!
//! Checks: no panic; output never exceeds the limit (1 << 16, and the small one); with a single
//! coding, the output under the small limit is a prefix of the output under the large one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::http::body::{Coding, decode, parse_codings};

const SETS: [&[Coding]; 12] = [
    &[Coding::Gzip],
    &[Coding::Deflate],
    &[Coding::Brotli],
    &[Coding::Gzip, Coding::Gzip],
    &[Coding::Deflate, Coding::Gzip],
    &[Coding::Gzip, Coding::Deflate],
    &[Coding::Brotli, Coding::Gzip],
    &[Coding::Gzip, Coding::Brotli],
    &[Coding::Deflate, Coding::Brotli],
    &[Coding::Gzip, Coding::Deflate, Coding::Brotli],
    &[],
    &[Coding::Brotli, Coding::Brotli],
];

const LIMIT: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let codings = SETS[usize::from(sel & 0x0f) % SETS.len()];
    let small = usize::from(sel >> 4) * 256;

    let big = decode(body, codings, LIMIT);
    if let Ok(out) = &big {
        assert!(
            out.len() <= LIMIT,
            "{} bytes out with limit {LIMIT}",
            out.len()
        );
    }
    let little = decode(body, codings, small);
    if let Ok(out) = &little {
        assert!(
            out.len() <= small,
            "{} bytes out with limit {small}",
            out.len()
        );
    }
    if codings.len() <= 1
        && let (Ok(b), Ok(l)) = (&big, &little)
    {
        assert!(
            b.starts_with(l),
            "{codings:?}: limit {small} gave {} bytes that are not a prefix of the {} bytes \
             under limit {LIMIT}",
            l.len(),
            b.len()
        );
    }

    if let Ok(list) = parse_codings(body) {
        assert!(list.len() <= 4);
    }
});
