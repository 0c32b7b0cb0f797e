//! One direction's HTTP parser (`HalfParser`), fed whole and fed in pieces.
//!
//! Input:
//! - byte 0: bit 0 picks the kind (0 request, 1 response); bit 1 starts the parser in resync
//!   mode (a stream picked up mid-way); bits 2..6 are the number of cut points (0..=15);
//!   bit 7 leaves the kind unknown (the parser guesses it, as on a connection without handshake).
//! - byte 1: limits: bits 0-1 max_head_bytes (64, 256, 1024, 65536), bits 2-3 max_resync_line
//!   (64, 256, 1024, 8192), bit 4 max_headers (8 or 32), bits 5-6 max_paused_bytes (0, 16, 256,
//!   65536), bit 7 pauses after CONNECT/Upgrade requests as the connection layer does.
//! - then two bytes per cut point (little-endian u16, modulo the stream length);
//! - then the stream.
//!
//! Each `Step::Head` gets its framing from `request_framing` / `response_framing`. The steps are
//! recorded (heads with their raw bytes, offset and resync flag; each message's body bytes
//! concatenated; ends; errors) and must be the same whatever the cuts. After the input, the parser
//! must have accounted for every byte (`offset == len`), and `eof` must report the same effect.
//! No head is larger than `max_head_bytes` (a head over the cap that is not a valid head either
//! would show as a difference: cut, it is refused as too large).
//!
//! The three whole-vs-split differences found earlier (head cap skipped when unsplit, start-of-
//! stream check skipped when unsplit, resync lines cut only when split) are fixed and checked
//! like any other difference (see fuzz/README.md, findings 4-6).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::http::MessageHead;
use shadowtap::http::body::{Framing, request_framing, response_framing};
use shadowtap::http::parser::{EofEffect, HalfParser, Kind, ParserLimits, Step};
use shadowtap::time::Timestamp;

#[derive(Debug, PartialEq, Eq, Clone)]
enum Ev {
    Head {
        raw: Vec<u8>,
        offset: u64,
        resynced: bool,
    },
    Body(Vec<u8>),
    End,
    BadHead(String),
    HeadTooLarge,
    BadChunk,
    NotHttp,
    Resumed(usize),
}

#[derive(Debug, PartialEq)]
struct Run {
    events: Vec<Ev>,
    offset: u64,
    eof: EofEffect,
    messages: u64,
}

struct Setup {
    kind: Option<Kind>,
    resync: bool,
    lim: ParserLimits,
    pause_upgrades: bool,
}

fn framing(head: &MessageHead) -> Framing {
    if head.is_request() {
        request_framing(head).0
    } else {
        response_framing(head, None).0
    }
}

fn push(events: &mut Vec<Ev>, ev: Ev) {
    if let (Some(Ev::Body(prev)), Ev::Body(more)) = (events.last_mut(), &ev) {
        prev.extend_from_slice(more);
        return;
    }
    events.push(ev);
}

fn feed(p: &mut HalfParser, setup: &Setup, mut input: &[u8], events: &mut Vec<Ev>) {
    // Every step consumes input or moves the parser on; a parser that never returns NeedMore
    // would hang the sensor.
    let bound = 3 * input.len() + 16;
    for _ in 0..bound {
        let step = p.advance(&mut input, Timestamp(0), None, &setup.lim, usize::MAX);
        if let Step::Head(head, _) = &step {
            assert!(
                head.raw().len() <= setup.lim.max_head_bytes,
                "head of {} bytes with max_head_bytes {}",
                head.raw().len(),
                setup.lim.max_head_bytes
            );
        }
        match step {
            Step::NeedMore => {
                assert!(
                    input.is_empty(),
                    "NeedMore with {} bytes unread",
                    input.len()
                );
                return;
            }
            Step::Head(head, info) => {
                if setup.pause_upgrades && head.is_request() {
                    p.pause_after = head.method().eq_ignore_ascii_case(b"CONNECT")
                        || head.header("upgrade").is_some();
                }
                push(
                    events,
                    Ev::Head {
                        raw: head.raw().to_vec(),
                        offset: info.offset,
                        resynced: info.resynced,
                    },
                );
                p.begin_body(framing(&head));
            }
            Step::Body(d) => {
                assert!(!d.is_empty(), "empty Body step");
                push(events, Ev::Body(d.to_vec()))
            }
            Step::End => push(events, Ev::End),
            Step::BadHead(e) => push(events, Ev::BadHead(format!("{e:?}"))),
            Step::HeadTooLarge => push(events, Ev::HeadTooLarge),
            Step::BadChunk => push(events, Ev::BadChunk),
            Step::NotHttp => push(events, Ev::NotHttp),
        }
    }
    panic!("no NeedMore after {bound} steps: the parser loops");
}

fn run(stream: &[u8], cuts: &[usize], setup: &Setup) -> Run {
    let mut p = HalfParser::new(setup.kind, setup.resync);
    let mut events = Vec::new();
    let mut prev = 0;
    for end in cuts.iter().copied().chain(std::iter::once(stream.len())) {
        feed(&mut p, setup, &stream[prev..end], &mut events);
        prev = end;
    }
    assert_eq!(
        p.offset,
        stream.len() as u64,
        "parser offset {} after {} bytes",
        p.offset,
        stream.len()
    );
    if p.is_paused() {
        let (held, _, _) = p.resume();
        events.push(Ev::Resumed(held.len()));
        feed(&mut p, setup, &held, &mut events);
    }
    let messages = p.messages;
    let eof = p.eof();
    Run {
        events,
        offset: p.offset,
        eof,
        messages,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (b0, b1) = (data[0], data[1]);
    let setup = Setup {
        kind: if b0 & 0x80 != 0 {
            None
        } else if b0 & 1 == 0 {
            Some(Kind::Request)
        } else {
            Some(Kind::Response)
        },
        resync: b0 & 2 != 0,
        lim: ParserLimits {
            max_head_bytes: [64, 256, 1024, 65536][usize::from(b1 & 3)],
            max_resync_line: [64, 256, 1024, 8192][usize::from((b1 >> 2) & 3)],
            max_headers: if b1 & 0x10 != 0 { 32 } else { 8 },
            max_paused_bytes: [0, 16, 256, 65536][usize::from((b1 >> 5) & 3)],
        },
        pause_upgrades: b1 & 0x80 != 0,
    };
    let rest = &data[2..];
    let n = usize::from((b0 >> 2) & 0x0f).min(rest.len() / 2);
    let (cut_bytes, stream) = rest.split_at(n * 2);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();

    let whole = run(stream, &[], &setup);
    let split = run(stream, &cuts, &setup);
    if whole != split {
        let first = whole
            .events
            .iter()
            .zip(&split.events)
            .position(|(a, b)| a != b)
            .unwrap_or(whole.events.len().min(split.events.len()));
        panic!(
            "split at {cuts:?} changed the parse (kind {:?}, resync {}, limits {:?}): first \
             difference at event {first}\nwhole: {:?}\nsplit: {:?}",
            setup.kind,
            setup.resync,
            setup.lim,
            DebugRun(&whole),
            DebugRun(&split)
        );
    }
});

/// Prints events with raw bytes as lossy text.
struct DebugRun<'a>(&'a Run);

impl std::fmt::Debug for DebugRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        for e in &self.0.events {
            match e {
                Ev::Head {
                    raw,
                    offset,
                    resynced,
                } => l.entry(&format!(
                    "Head@{offset}{} {:?}",
                    if *resynced { " resync" } else { "" },
                    String::from_utf8_lossy(raw)
                )),
                Ev::Body(b) => l.entry(&format!("Body {:?}", String::from_utf8_lossy(b))),
                other => l.entry(other),
            };
        }
        l.entry(&format!(
            "offset {} eof {:?} messages {}",
            self.0.offset, self.0.eof, self.0.messages
        ));
        l.finish()
    }
}
