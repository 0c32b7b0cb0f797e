//! The chunked decoder, fed whole and fed in pieces.
//!
//! Input: byte 0 is the number of cut points (mod 16), then two bytes per cut point (a
//! little-endian u16 taken modulo the body length), then the chunked body.
//!
//! Checks: no panic, no empty `Data` step; splitting the body anywhere changes nothing: the same
//! data bytes, the same outcome (Done / Error / NeedMore), at the same input position, with the
//! same final state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::http::body::{ChunkState, ChunkStep};

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    NeedMore,
    Done,
    Error,
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    data: Vec<u8>,
    outcome: Outcome,
    /// Input bytes consumed when the outcome was reached.
    used: usize,
    state: ChunkState,
}

fn run(body: &[u8], cuts: &[usize]) -> Run {
    let mut st = ChunkState::default();
    let mut data = Vec::new();
    let mut used = 0usize;
    let mut prev = 0usize;
    let ends = cuts.iter().copied().chain(std::iter::once(body.len()));
    for end in ends {
        let mut input = &body[prev..end];
        prev = end;
        loop {
            let before = input.len();
            let step = st.step(&mut input);
            used += before - input.len();
            match step {
                ChunkStep::Data(d) => {
                    assert!(!d.is_empty(), "empty Data step");
                    data.extend_from_slice(d);
                }
                ChunkStep::NeedMore => {
                    assert!(input.is_empty(), "NeedMore with {} bytes left", input.len());
                    break;
                }
                ChunkStep::Done => {
                    return Run {
                        data,
                        outcome: Outcome::Done,
                        used,
                        state: st,
                    };
                }
                ChunkStep::Error => {
                    return Run {
                        data,
                        outcome: Outcome::Error,
                        used,
                        state: st,
                    };
                }
            }
        }
    }
    Run {
        data,
        outcome: Outcome::NeedMore,
        used,
        state: st,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&n, rest)) = input.split_first() else {
        return;
    };
    let n = usize::from(n % 16).min(rest.len() / 2);
    let (cut_bytes, body) = rest.split_at(n * 2);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|c| {
            let v = usize::from(u16::from_le_bytes([c[0], c[1]]));
            if body.is_empty() {
                0
            } else {
                v % (body.len() + 1)
            }
        })
        .collect();
    cuts.sort_unstable();

    let whole = run(body, &[]);
    let split = run(body, &cuts);
    assert_eq!(whole, split, "cuts {cuts:?} changed the decoding");
    // Byte at a time, the most extreme split.
    if body.len() <= 4096 {
        let every: Vec<usize> = (1..body.len()).collect();
        assert_eq!(
            whole,
            run(body, &every),
            "byte-at-a-time changed the decoding"
        );
    }
    assert!(whole.data.len() <= whole.used);
});
