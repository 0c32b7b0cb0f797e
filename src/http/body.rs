//! Message bodies: framing (RFC 9112 section 6), the chunked decoder, bounded samples and
//! content decoding (gzip, deflate, br) with a decompression-bomb bound.

use super::head::MessageHead;
use std::io::Read;

/// How a message's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
    /// The connection stops being HTTP after this head (101, 2xx to CONNECT).
    Tunnel,
}

/// What framing analysis noticed about a head.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramingNotes {
    /// Content-Length was unreadable or contradicted itself.
    pub bad_length: bool,
    /// Both Transfer-Encoding and Content-Length (a request smuggling vector).
    pub ambiguous: bool,
    /// A request's Transfer-Encoding did not end with chunked.
    pub bad_transfer_encoding: bool,
}

/// The values of field `name`: the indexed first one, or all of them when it is repeated.
fn values<'a>(head: &'a MessageHead, name: &'static str) -> impl Iterator<Item = &'a [u8]> + 'a {
    let first = head.header(name);
    let repeated = first.is_some() && head.header_repeated(name);
    let single = if repeated { None } else { first };
    single
        .into_iter()
        .chain(head.header_all(name).take_while(move |_| repeated))
}

/// Parses Content-Length values: every field and every comma-separated element must agree.
fn content_length(head: &MessageHead) -> Result<Option<u64>, ()> {
    let mut found: Option<u64> = None;
    for v in values(head, "content-length") {
        for part in v.split(|&b| b == b',') {
            let part = super::head::trim(part);
            if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                return Err(());
            }
            let n = part.iter().fold(0u64, |a, d| a * 10 + u64::from(d - b'0'));
            if found.is_some_and(|f| f != n) {
                return Err(());
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// True when the last transfer coding is `chunked`.
fn chunked_last(head: &MessageHead) -> Option<bool> {
    let mut last: Option<&[u8]> = None;
    for v in values(head, "transfer-encoding") {
        for part in v.split(|&b| b == b',') {
            let t = super::head::trim(part);
            if !t.is_empty() {
                last = Some(t);
            }
        }
    }
    last.map(|t| t.eq_ignore_ascii_case(b"chunked"))
}

/// Framing of a request body.
pub fn request_framing(head: &MessageHead) -> (Framing, FramingNotes) {
    let mut notes = FramingNotes::default();
    let cl = content_length(head);
    match chunked_last(head) {
        Some(true) => {
            notes.ambiguous = head.header("content-length").is_some();
            (Framing::Chunked, notes)
        }
        Some(false) => {
            notes.bad_transfer_encoding = true;
            (Framing::None, notes)
        }
        None => match cl {
            Ok(Some(n)) if n > 0 => (Framing::Length(n), notes),
            Ok(_) => (Framing::None, notes),
            Err(()) => {
                notes.bad_length = true;
                (Framing::None, notes)
            }
        },
    }
}

/// Framing of a response body, given the request method (when known).
pub fn response_framing(
    head: &MessageHead,
    request_method: Option<&[u8]>,
) -> (Framing, FramingNotes) {
    let mut notes = FramingNotes::default();
    let code = head.status();
    if code == 101 {
        return (Framing::Tunnel, notes);
    }
    if request_method.is_some_and(|m| m.eq_ignore_ascii_case(b"CONNECT"))
        && (200..300).contains(&code)
    {
        return (Framing::Tunnel, notes);
    }
    if request_method.is_some_and(|m| m.eq_ignore_ascii_case(b"HEAD"))
        || (100..200).contains(&code)
        || code == 204
        || code == 304
    {
        return (Framing::None, notes);
    }
    match chunked_last(head) {
        Some(true) => {
            notes.ambiguous = head.header("content-length").is_some();
            (Framing::Chunked, notes)
        }
        Some(false) => (Framing::UntilClose, notes),
        None => match content_length(head) {
            Ok(Some(0)) => (Framing::None, notes),
            Ok(Some(n)) => (Framing::Length(n), notes),
            Ok(None) => (Framing::UntilClose, notes),
            Err(()) => {
                notes.bad_length = true;
                (Framing::UntilClose, notes)
            }
        },
    }
}

/// Longest chunk-size line or trailer line accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// Most trailer bytes accepted.
const MAX_TRAILERS: usize = 64 * 1024;

/// State of the chunked decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkState {
    /// Reading a chunk-size line.
    Size {
        /// Size so far.
        value: u64,
        /// Hex digits read.
        digits: u8,
        /// Bytes of the line read.
        line: usize,
        /// Inside chunk extensions (after `;`).
        ext: bool,
    },
    /// Inside chunk data; this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd {
        /// The CR was read.
        seen_cr: bool,
    },
    /// Reading trailer lines after the last chunk.
    Trailer {
        /// Bytes of the current line.
        line: usize,
        /// Bytes of all trailers.
        total: usize,
    },
    /// Done.
    Done,
}

impl Default for ChunkState {
    fn default() -> Self {
        ChunkState::Size {
            value: 0,
            digits: 0,
            line: 0,
            ext: false,
        }
    }
}

/// Result of one step of the chunked decoder.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkStep<'a> {
    /// Entity bytes.
    Data(&'a [u8]),
    /// Input exhausted; feed more.
    NeedMore,
    /// The body ended; the rest of the input belongs to the next message.
    Done,
    /// The framing is broken.
    Error,
}

impl ChunkState {
    /// Consumes from `input`, returning entity bytes as they are found.
    pub fn step<'a>(&mut self, input: &mut &'a [u8]) -> ChunkStep<'a> {
        loop {
            if *self == ChunkState::Done {
                return ChunkStep::Done;
            }
            if let ChunkState::Data(left) = *self {
                if input.is_empty() {
                    return ChunkStep::NeedMore;
                }
                let n = (left.min(input.len() as u64)) as usize;
                let (data, rest) = input.split_at(n);
                *input = rest;
                *self = if left == n as u64 {
                    ChunkState::DataEnd { seen_cr: false }
                } else {
                    ChunkState::Data(left - n as u64)
                };
                return ChunkStep::Data(data);
            }
            let Some((&b, rest)) = input.split_first() else {
                return ChunkStep::NeedMore;
            };
            *input = rest;
            match self {
                ChunkState::Size {
                    value,
                    digits,
                    line,
                    ext,
                } => {
                    *line += 1;
                    if *line > MAX_CHUNK_LINE {
                        return ChunkStep::Error;
                    }
                    match b {
                        b'\n' => {
                            if *digits == 0 {
                                return ChunkStep::Error;
                            }
                            *self = if *value == 0 {
                                ChunkState::Trailer { line: 0, total: 0 }
                            } else {
                                ChunkState::Data(*value)
                            };
                        }
                        b'\r' => {}
                        _ if *ext => {}
                        b';' | b' ' | b'\t' => *ext = true,
                        _ => {
                            let Some(d) = (b as char).to_digit(16) else {
                                return ChunkStep::Error;
                            };
                            if *digits >= 16 {
                                return ChunkStep::Error;
                            }
                            *value = (*value << 4) | u64::from(d);
                            *digits += 1;
                        }
                    }
                }
                ChunkState::DataEnd { seen_cr } => match b {
                    b'\r' if !*seen_cr => *seen_cr = true,
                    b'\n' => *self = ChunkState::default(),
                    _ => return ChunkStep::Error,
                },
                ChunkState::Trailer { line, total } => {
                    *total += 1;
                    if *total > MAX_TRAILERS {
                        return ChunkStep::Error;
                    }
                    match b {
                        b'\n' => {
                            if *line == 0 {
                                *self = ChunkState::Done;
                                return ChunkStep::Done;
                            }
                            *line = 0;
                        }
                        b'\r' => {}
                        _ => {
                            *line += 1;
                            if *line > MAX_CHUNK_LINE {
                                return ChunkStep::Error;
                            }
                        }
                    }
                }
                ChunkState::Data(_) | ChunkState::Done => unreachable!("handled above"),
            }
        }
    }
}

/// A content coding shadowtap can undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// gzip / x-gzip.
    Gzip,
    /// deflate (zlib-wrapped, or raw as some servers send it).
    Deflate,
    /// Brotli.
    Brotli,
}

/// Why a body sample could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyDecodeError {
    /// A coding shadowtap does not know.
    #[error("unsupported content coding {0:?}")]
    Unsupported(String),
    /// The compressed data is corrupt from the start.
    #[error("corrupt {0:?} data")]
    Corrupt(Coding),
}

/// Reads the codings of a Content-Encoding value, in the order they were applied.
pub fn parse_codings(value: &[u8]) -> Result<Vec<Coding>, BodyDecodeError> {
    let mut out = Vec::new();
    for part in value.split(|&b| b == b',') {
        let t = super::head::trim(part);
        if t.is_empty() || t.eq_ignore_ascii_case(b"identity") {
            continue;
        }
        out.push(
            if t.eq_ignore_ascii_case(b"gzip") || t.eq_ignore_ascii_case(b"x-gzip") {
                Coding::Gzip
            } else if t.eq_ignore_ascii_case(b"deflate") {
                Coding::Deflate
            } else if t.eq_ignore_ascii_case(b"br") {
                Coding::Brotli
            } else {
                return Err(BodyDecodeError::Unsupported(
                    String::from_utf8_lossy(t).into_owned(),
                ));
            },
        );
        if out.len() > 4 {
            return Err(BodyDecodeError::Unsupported("too many codings".into()));
        }
    }
    Ok(out)
}

/// Undoes `codings` (applied in order) on `data`, producing at most `limit` bytes.
///
/// A sample is often the start of a longer body, so a stream that ends early yields what it
/// decoded so far. Output is capped at `limit` whatever the compression ratio: a bomb costs at
/// most `limit` bytes of memory and the time to inflate them.
pub fn decode(data: &[u8], codings: &[Coding], limit: usize) -> Result<Vec<u8>, BodyDecodeError> {
    let mut cur = data.to_vec();
    for &c in codings.iter().rev() {
        cur = decode_one(&cur, c, limit)?;
    }
    cur.truncate(limit);
    Ok(cur)
}

fn decode_one(data: &[u8], coding: Coding, limit: usize) -> Result<Vec<u8>, BodyDecodeError> {
    fn drain(mut r: impl Read, limit: usize) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let mut failed = false;
        while out.len() < limit {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n.min(limit - out.len())]),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        (out, failed)
    }
    let (out, failed) = match coding {
        Coding::Gzip => drain(flate2::read::MultiGzDecoder::new(data), limit),
        Coding::Brotli => drain(brotli_decompressor::Decompressor::new(data, 4096), limit),
        Coding::Deflate => {
            let (out, failed) = drain(flate2::read::ZlibDecoder::new(data), limit);
            if failed && out.is_empty() {
                drain(flate2::read::DeflateDecoder::new(data), limit)
            } else {
                (out, failed)
            }
        }
    };
    if failed && out.is_empty() && !data.is_empty() {
        return Err(BodyDecodeError::Corrupt(coding));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn head(s: &str) -> MessageHead {
        MessageHead::parse(s.as_bytes(), 32).unwrap()
    }

    #[test]
    fn request_framing_rules() {
        assert_eq!(
            request_framing(&head("GET / HTTP/1.1\r\n\r\n")).0,
            Framing::None
        );
        assert_eq!(
            request_framing(&head("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")).0,
            Framing::Length(5)
        );
        assert_eq!(
            request_framing(&head("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n")).0,
            Framing::Length(5)
        );
        let (f, n) = request_framing(&head(
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        ));
        assert_eq!((f, n.bad_length), (Framing::None, true));
        let (f, n) = request_framing(&head(
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
        ));
        assert_eq!((f, n.ambiguous), (Framing::Chunked, true));
        let (_, n) = request_framing(&head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"));
        assert!(n.bad_transfer_encoding);
        assert!(
            request_framing(&head("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"))
                .1
                .bad_length
        );
    }

    #[test]
    fn response_framing_rules() {
        let ok = head("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        assert_eq!(response_framing(&ok, Some(b"GET")).0, Framing::Length(10));
        assert_eq!(response_framing(&ok, Some(b"HEAD")).0, Framing::None);
        assert_eq!(response_framing(&ok, Some(b"CONNECT")).0, Framing::Tunnel);
        assert_eq!(response_framing(&ok, None).0, Framing::Length(10));
        for code in ["100 Continue", "204 No Content", "304 Not Modified"] {
            let h = head(&format!("HTTP/1.1 {code}\r\nContent-Length: 10\r\n\r\n"));
            assert_eq!(
                response_framing(&h, Some(b"GET")).0,
                Framing::None,
                "{code}"
            );
        }
        assert_eq!(
            response_framing(&head("HTTP/1.1 101 Switching\r\n\r\n"), Some(b"GET")).0,
            Framing::Tunnel
        );
        assert_eq!(
            response_framing(&head("HTTP/1.0 200 OK\r\n\r\n"), Some(b"GET")).0,
            Framing::UntilClose
        );
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(response_framing(&h, Some(b"GET")).0, Framing::Chunked);
        let h = head("HTTP/1.1 407 Nope\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(response_framing(&h, Some(b"CONNECT")).0, Framing::None);
    }

    fn dechunk(mut input: &[u8]) -> (Vec<u8>, ChunkStep<'static>, usize) {
        let total = input.len();
        let mut st = ChunkState::default();
        let mut out = Vec::new();
        loop {
            match st.step(&mut input) {
                ChunkStep::Data(d) => out.extend_from_slice(d),
                ChunkStep::NeedMore => return (out, ChunkStep::NeedMore, total - input.len()),
                ChunkStep::Done => return (out, ChunkStep::Done, total - input.len()),
                ChunkStep::Error => return (out, ChunkStep::Error, total - input.len()),
            }
        }
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let body = b"4;name=val\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let (out, st, used) = dechunk(body);
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!(st, ChunkStep::Done);
        assert_eq!(&body[used..], b"NEXT");
    }

    #[test]
    fn chunked_byte_by_byte() {
        let body = b"a\r\n0123456789\r\n0\r\n\r\n";
        let mut st = ChunkState::default();
        let mut out = Vec::new();
        for i in 0..body.len() {
            let mut one = &body[i..i + 1];
            loop {
                match st.step(&mut one) {
                    ChunkStep::Data(d) => out.extend_from_slice(d),
                    ChunkStep::NeedMore => break,
                    ChunkStep::Done => break,
                    ChunkStep::Error => panic!("error at {i}"),
                }
            }
        }
        assert_eq!(out, b"0123456789");
        assert_eq!(st, ChunkState::Done);
    }

    #[test]
    fn chunked_errors() {
        assert_eq!(dechunk(b"zz\r\n").1, ChunkStep::Error);
        assert_eq!(dechunk(b"\r\n").1, ChunkStep::Error);
        assert_eq!(dechunk(b"11111111111111111\r\n").1, ChunkStep::Error);
        assert_eq!(dechunk(b"2\r\nabX").1, ChunkStep::Error);
        let long_ext = format!("1;{}\r\n", "x".repeat(5000));
        assert_eq!(dechunk(long_ext.as_bytes()).1, ChunkStep::Error);
    }

    #[test]
    fn decoding_and_bomb_bound() {
        let text = b"{\"hello\": \"world\"}".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode(&gz, &[Coding::Gzip], 1 << 20).unwrap(), text);
        // a truncated sample decodes as far as it goes
        let noisy: Vec<u8> = (0..200_000u32)
            .map(|i| b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26)
            .collect();
        let mut gz2 = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz2.write_all(&noisy).unwrap();
        let gz2 = gz2.finish().unwrap();
        let part = decode(&gz2[..gz2.len() / 2], &[Coding::Gzip], 1 << 20).unwrap();
        assert!(!part.is_empty() && noisy.starts_with(&part));
        // deflate, zlib-wrapped and raw
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        assert_eq!(
            decode(&z.finish().unwrap(), &[Coding::Deflate], 1 << 20).unwrap(),
            text
        );
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(&text).unwrap();
        assert_eq!(
            decode(&d.finish().unwrap(), &[Coding::Deflate], 1 << 20).unwrap(),
            text
        );
        // bomb: 64 MiB of zeros compresses to ~64 KiB; output stops at the limit
        let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..64 {
            bomb.write_all(&[0u8; 1 << 20]).unwrap();
        }
        let bomb = bomb.finish().unwrap();
        assert_eq!(decode(&bomb, &[Coding::Gzip], 65536).unwrap().len(), 65536);
        assert!(decode(b"not gzip at all", &[Coding::Gzip], 100).is_err());
        assert_eq!(
            parse_codings(b"gzip, br").unwrap(),
            vec![Coding::Gzip, Coding::Brotli]
        );
        assert!(parse_codings(b"compress").is_err());
    }

    #[test]
    fn brotli() {
        let text = b"shadowtap brotli sample ".repeat(50);
        let mut out = Vec::new();
        {
            let mut w = brotli_encoder(&mut out);
            w.write_all(&text).unwrap();
        }
        assert_eq!(decode(&out, &[Coding::Brotli], 1 << 20).unwrap(), text);
    }

    // A minimal brotli stream writer is not in the dependency tree; use uncompressed meta-blocks.
    fn brotli_encoder(out: &mut Vec<u8>) -> impl Write + '_ {
        struct W<'a>(&'a mut Vec<u8>, Vec<u8>);
        impl Write for W<'_> {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.1.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        impl Drop for W<'_> {
            fn drop(&mut self) {
                // WBITS=16 (bit 0 = 0), then one uncompressed meta-block, then an empty last block.
                let data = std::mem::take(&mut self.1);
                let mut bits = BitWriter::default();
                bits.put(0, 1); // WBITS 16
                bits.put(0, 1); // ISLAST = 0
                bits.put(0, 2); // MNIBBLES = 4
                bits.put((data.len() - 1) as u64, 16); // MLEN - 1
                bits.put(1, 1); // ISUNCOMPRESSED
                bits.align();
                bits.bytes.extend_from_slice(&data);
                bits.put(1, 1); // ISLAST
                bits.put(1, 1); // ISLASTEMPTY
                bits.align();
                self.0.extend_from_slice(&bits.bytes);
            }
        }
        #[derive(Default)]
        struct BitWriter {
            bytes: Vec<u8>,
            used: u32,
        }
        impl BitWriter {
            fn put(&mut self, v: u64, n: u32) {
                for i in 0..n {
                    if self.used.is_multiple_of(8) {
                        self.bytes.push(0);
                    }
                    let bit = ((v >> i) & 1) as u8;
                    *self.bytes.last_mut().unwrap() |= bit << (self.used % 8);
                    self.used += 1;
                }
            }
            fn align(&mut self) {
                self.used = self.used.div_ceil(8) * 8;
            }
        }
        W(out, Vec::new())
    }
}
