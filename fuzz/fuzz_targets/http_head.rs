//! Message heads: `MessageHead::parse`, `find_head_end`, `find_start_in_line`.
//!
//! Checks: no panic; `find_head_end` returns a position within the buffer, at or after `from`,
//! just past an empty line; a parsed head keeps the input bytes, every accessor returns a
//! sub-slice of them, the indexed lookup of the known fields agrees with a scan of all fields,
//! and the framing functions do not panic; `find_start_in_line` returns a position within the line
//! where a start line of the asked kind really begins.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::http::MessageHead;
use shadowtap::http::body::{request_framing, response_framing};
use shadowtap::http::head::{KNOWN_HEADERS, find_head_end, find_start_in_line, is_start_line};

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn check_head(data: &[u8], max: usize) {
    let Ok(h) = MessageHead::parse(data, max) else {
        return;
    };
    let raw = h.raw();
    assert_eq!(raw, data);
    assert!(
        h.header_count() <= max,
        "{} fields > max {max}",
        h.header_count()
    );
    for part in [h.method(), h.target(), h.reason()] {
        assert!(inside(raw, part));
    }
    for (n, v) in h.headers() {
        assert!(inside(raw, n) && inside(raw, v));
        assert!(!n.is_empty(), "empty field name");
    }
    if h.is_request() {
        assert_eq!(h.status(), 0);
        assert!(!h.method().is_empty());
    } else {
        assert!(h.status() <= 999);
        assert!(h.method().is_empty() && h.target().is_empty());
    }
    for name in KNOWN_HEADERS {
        let indexed = h.header(name);
        let scanned = h.header_all(name).next();
        assert_eq!(
            indexed, scanned,
            "header({name:?}) disagrees with header_all (max_headers {max})"
        );
        let count = h.header_all(name).count();
        assert_eq!(
            h.header_repeated(name),
            count > 1,
            "header_repeated({name:?}) with {count} fields (max_headers {max})"
        );
    }
    let _ = request_framing(&h);
    let _ = response_framing(&h, Some(b"GET"));
    let _ = response_framing(&h, Some(b"CONNECT"));
    let _ = response_framing(&h, None);
}

fuzz_target!(|data: &[u8]| {
    // Head end, from the start and from a position chosen by the first byte.
    for from in [
        0usize,
        usize::from(data.first().copied().unwrap_or(0)),
        usize::MAX,
    ] {
        if let Some(end) = find_head_end(data, from) {
            assert!(
                end <= data.len(),
                "find_head_end {end} > len {}",
                data.len()
            );
            assert!(end >= from.min(data.len()) + 2);
            let h = &data[..end];
            assert!(h.ends_with(b"\n\n") || h.ends_with(b"\n\r\n"));
        }
    }

    check_head(data, 32);
    // The command line accepts any --max-headers; the indexed lookup must hold beyond 255 too.
    if data.len() >= 512 {
        check_head(data, 1024);
    }

    for line in data.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        for request in [true, false] {
            if let Some(at) = find_start_in_line(line, request) {
                assert!(at <= body.len(), "start {at} beyond line of {}", body.len());
                assert!(
                    is_start_line(&body[at..], request),
                    "find_start_in_line({request}) = {at} but no start line there"
                );
            }
            // (A status line other than HTTP/1.x is a start line, but resynchronisation only
            // looks for HTTP/1.x ones.)
            if is_start_line(body, request) && (request || body.starts_with(b"HTTP/1.")) {
                assert_eq!(find_start_in_line(line, request), Some(0));
            }
        }
    }
});
