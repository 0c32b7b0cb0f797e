//! TLS record framing over one direction's in-order byte stream, and handshake messages
//! reassembled across records and TCP segments.
//!
//! A [`RecordReader`] is pulled step by step ([`RecordReader::next`]), like the HTTP layer's
//! half parser: it consumes what it can of the input and returns a [`Step`] when there is
//! something to report (a whole handshake message, a ChangeCipherSpec, an alert, a cap, a
//! framing error), or `None` when the input is used up. Only two things are buffered: the 5
//! bytes of a record header cut by a segment boundary, and a handshake message that spans
//! records or segments, at most `max` bytes (a message that arrives whole in one piece is
//! handed out without a copy).
//!
//! Once told the handshake is over or encrypted ([`RecordReader::set_encrypted`]) it frees its
//! buffer and only frames records and counts their bytes: no allocation, one step per record.
//! After a gap or a header that is not TLS the framing is lost for good and bytes are only
//! counted.
//!
//! What it owns: record headers, content types, handshake message boundaries. What it may not
//! touch: what handshake messages mean (that is [`hello`](super::hello) and
//! [`conn`](super::conn)).

/// Content type of a ChangeCipherSpec record.
pub const CHANGE_CIPHER_SPEC: u8 = 20;
/// Content type of an alert record.
pub const ALERT: u8 = 21;
/// Content type of a handshake record.
pub const HANDSHAKE: u8 = 22;
/// Content type of an application-data record.
pub const APPLICATION_DATA: u8 = 23;
/// Content type of a heartbeat record.
pub const HEARTBEAT: u8 = 24;
/// Longest record payload accepted (2^14 plus the 2048 bytes of expansion TLS 1.2 allows).
pub const MAX_RECORD_LEN: usize = 16384 + 2048;
/// Length of a record header.
pub const HEADER_LEN: usize = 5;

/// What a reader does with the records it frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Handshake messages are read.
    Handshake,
    /// Records are framed and counted; handshake records are not read (encrypted, over, or
    /// given up on).
    Encrypted,
    /// Framing is lost (a gap, a header that is not TLS, SSL 2.0): bytes are only counted.
    Lost,
}

/// What a reader reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A whole handshake message: its type and body (the 4-byte header left out).
    Handshake {
        /// Handshake message type (1 ClientHello, 2 ServerHello, 11 Certificate, ...).
        msg_type: u8,
        /// The message body.
        body: &'a [u8],
    },
    /// A ChangeCipherSpec record began.
    ChangeCipherSpec,
    /// An application-data record began (reported only in [`Mode::Handshake`]).
    ApplicationData,
    /// An alert in the clear (a 2-byte alert record, read while in [`Mode::Handshake`]).
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// Alert description code.
        description: u8,
    },
    /// A handshake message longer than the cap began: the reader stops reading handshake
    /// messages ([`Mode::Encrypted`]).
    TooLarge {
        /// Its length, header included.
        len: usize,
    },
    /// Buffering a handshake message would go past the memory left to all connections: the
    /// reader stops reading handshake messages ([`Mode::Encrypted`]).
    NoMemory {
        /// The message's length, header included (4 when its header was not complete).
        len: usize,
    },
    /// A record header that is not TLS: framing is lost ([`Mode::Lost`]).
    BadRecord,
    /// The stream begins with an SSL 2.0-compatible ClientHello: framing is lost
    /// ([`Mode::Lost`]).
    Sslv2ClientHello,
}

/// Byte counts of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// Records framed (headers read whole and valid).
    pub records: u64,
    /// Payload bytes of application-data records.
    pub app_bytes: u64,
    /// Payload bytes of handshake records.
    pub handshake_bytes: u64,
    /// Payload bytes of other records (ChangeCipherSpec, alerts, heartbeats).
    pub other_bytes: u64,
    /// Bytes counted without framing after it was lost, gap lengths included.
    pub unframed_bytes: u64,
}

/// Record framing and handshake reassembly of one direction.
#[derive(Debug)]
pub struct RecordReader {
    mode: Mode,
    max: usize,
    /// Stream bytes consumed (gaps included).
    pos: u64,
    hdr: [u8; HEADER_LEN],
    hdr_len: usize,
    /// Inside a record: its type, payload length and payload bytes left.
    in_record: bool,
    rtype: u8,
    rlen: usize,
    left: usize,
    alert: [u8; 2],
    alert_len: usize,
    /// A handshake message in pieces: its first bytes (header included).
    hs: Vec<u8>,
    /// The message's whole length once its header is in `hs`; 0 before.
    hs_need: usize,
    /// `hs` holds a message already handed out: cleared on the next call.
    handed_out: bool,
    /// What `hs` may still grow by during this call.
    budget: usize,
    counts: RecordCounts,
}

impl RecordReader {
    /// A reader at the start of a stream that reads handshake messages of at most `max` bytes
    /// (header included).
    pub fn new(max: usize) -> RecordReader {
        RecordReader {
            mode: Mode::Handshake,
            max: max.max(4),
            pos: 0,
            hdr: [0; HEADER_LEN],
            hdr_len: 0,
            in_record: false,
            rtype: 0,
            rlen: 0,
            left: 0,
            alert: [0; 2],
            alert_len: 0,
            hs: Vec::new(),
            hs_need: 0,
            handed_out: false,
            budget: 0,
            counts: RecordCounts::default(),
        }
    }

    /// What the reader does now.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Byte counts so far.
    pub fn counts(&self) -> RecordCounts {
        self.counts
    }

    /// Heap bytes held (the handshake message buffer's capacity).
    pub fn held(&self) -> usize {
        self.hs.capacity()
    }

    /// A handshake message has begun and not ended.
    pub fn in_message(&self) -> bool {
        !self.handed_out && !self.hs.is_empty()
    }

    /// Stops reading handshake messages (the rest of the direction is encrypted, or its
    /// handshake facts are known) and frees the buffer; framing and counting go on.
    pub fn set_encrypted(&mut self) {
        if self.mode == Mode::Handshake {
            self.mode = Mode::Encrypted;
        }
        self.free();
    }

    /// `len` bytes of the stream were lost (or skipped): framing is lost for good, and they are
    /// counted as unframed.
    pub fn gap(&mut self, len: u64) {
        self.lose();
        self.pos += len;
        self.counts.unframed_bytes += len;
    }

    fn lose(&mut self) {
        self.mode = Mode::Lost;
        self.free();
    }

    fn free(&mut self) {
        self.hs = Vec::new();
        self.hs_need = 0;
        self.handed_out = false;
    }

    /// Consumes `input` up to the next thing to report. Returns `None` when `input` is used up.
    /// `room` is the memory the buffer may still grow by. A step borrows the reader (a message
    /// that was buffered) or the input (a message that came whole).
    pub fn next<'s, 'a: 's>(&'s mut self, input: &mut &'a [u8], room: usize) -> Option<Step<'s>> {
        if self.handed_out {
            self.hs.clear();
            self.hs_need = 0;
            self.handed_out = false;
        }
        self.budget = room;
        loop {
            let data: &'a [u8] = input;
            if data.is_empty() {
                return None;
            }
            if self.mode == Mode::Lost {
                self.counts.unframed_bytes += data.len() as u64;
                self.pos += data.len() as u64;
                *input = &[];
                return None;
            }
            if !self.in_record {
                let take = (HEADER_LEN - self.hdr_len).min(data.len());
                self.hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&data[..take]);
                self.hdr_len += take;
                *input = &data[take..];
                if self.hdr_len < HEADER_LEN {
                    self.pos += take as u64;
                    continue;
                }
                let at_start = self.pos + (take as u64) == HEADER_LEN as u64;
                self.pos += take as u64;
                self.hdr_len = 0;
                let [t, major, minor, hi, lo] = self.hdr;
                let len = usize::from(u16::from_be_bytes([hi, lo]));
                if !(CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&t)
                    || major != 3
                    || minor > 4
                    || len > MAX_RECORD_LEN
                {
                    let sslv2 = at_start && t & 0x80 != 0 && minor == 1 && matches!(hi, 0 | 3);
                    self.counts.unframed_bytes += HEADER_LEN as u64;
                    self.lose();
                    return Some(if sslv2 {
                        Step::Sslv2ClientHello
                    } else {
                        Step::BadRecord
                    });
                }
                self.counts.records += 1;
                self.in_record = len > 0;
                self.rtype = t;
                self.rlen = len;
                self.left = len;
                self.alert_len = 0;
                if t == CHANGE_CIPHER_SPEC {
                    return Some(Step::ChangeCipherSpec);
                }
                if t == APPLICATION_DATA && self.mode == Mode::Handshake {
                    return Some(Step::ApplicationData);
                }
                continue;
            }
            let n = self.left.min(data.len());
            let piece = &data[..n];
            let (used, step) = match (self.rtype, self.mode) {
                (HANDSHAKE, Mode::Handshake) => self.handshake_bytes(piece),
                (ALERT, Mode::Handshake) if self.rlen == 2 => {
                    let take = (2 - self.alert_len).min(n);
                    self.alert[self.alert_len..self.alert_len + take]
                        .copy_from_slice(&piece[..take]);
                    self.alert_len += take;
                    self.counts.other_bytes += take as u64;
                    let step = (self.alert_len == 2).then_some(HsStep::Other(Step::Alert {
                        level: self.alert[0],
                        description: self.alert[1],
                    }));
                    (take, step)
                }
                (APPLICATION_DATA, _) => {
                    self.counts.app_bytes += n as u64;
                    (n, None)
                }
                (HANDSHAKE, _) => {
                    self.counts.handshake_bytes += n as u64;
                    (n, None)
                }
                _ => {
                    self.counts.other_bytes += n as u64;
                    (n, None)
                }
            };
            self.left -= used;
            self.pos += used as u64;
            self.in_record = self.left > 0;
            *input = &data[used..];
            match step {
                None => {}
                Some(HsStep::Other(s)) => return Some(s),
                Some(HsStep::Whole(msg_type, body)) => {
                    return Some(Step::Handshake { msg_type, body });
                }
                Some(HsStep::Buffered) => {
                    self.handed_out = true;
                    return Some(Step::Handshake {
                        msg_type: self.hs[0],
                        body: &self.hs[4..],
                    });
                }
            }
        }
    }

    /// Reads handshake bytes `piece` (all within the current record): returns how many were
    /// used, and a message or a cap when there is one.
    fn handshake_bytes<'a>(&mut self, piece: &'a [u8]) -> (usize, Option<HsStep<'a>>) {
        if self.hs.is_empty()
            && let [t, a, b, c, ..] = *piece
        {
            let need = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
            if need > self.max {
                return (0, Some(self.too_large(need)));
            }
            if need <= piece.len() {
                self.counts.handshake_bytes += need as u64;
                return (need, Some(HsStep::Whole(t, &piece[4..need])));
            }
        }
        let want = if self.hs_need == 0 { 4 } else { self.hs_need };
        let take = (want - self.hs.len()).min(piece.len());
        if !self.grow_to(want) {
            self.counts.handshake_bytes += take as u64;
            self.set_encrypted();
            return (take, Some(HsStep::Other(Step::NoMemory { len: want })));
        }
        self.hs.extend_from_slice(&piece[..take]);
        self.counts.handshake_bytes += take as u64;
        if self.hs_need == 0 && self.hs.len() == 4 {
            let need = 4
                + (usize::from(self.hs[1]) << 16
                    | usize::from(self.hs[2]) << 8
                    | usize::from(self.hs[3]));
            if need > self.max {
                return (take, Some(self.too_large(need)));
            }
            self.hs_need = need;
            if !self.grow_to(need) {
                self.set_encrypted();
                return (take, Some(HsStep::Other(Step::NoMemory { len: need })));
            }
        }
        if self.hs_need != 0 && self.hs.len() == self.hs_need {
            return (take, Some(HsStep::Buffered));
        }
        (take, None)
    }

    /// Makes room in `hs` for `total` bytes within this call's budget; false when it would not
    /// fit.
    fn grow_to(&mut self, total: usize) -> bool {
        let cap = self.hs.capacity();
        if total <= cap {
            return true;
        }
        if total - cap > self.budget {
            return false;
        }
        self.hs.reserve_exact(total - self.hs.len());
        self.budget = self.budget.saturating_sub(self.hs.capacity() - cap);
        true
    }

    fn too_large<'a>(&mut self, len: usize) -> HsStep<'a> {
        self.set_encrypted();
        HsStep::Other(Step::TooLarge { len })
    }
}

/// What [`RecordReader::handshake_bytes`] found.
enum HsStep<'a> {
    /// A message whole in the piece.
    Whole(u8, &'a [u8]),
    /// The buffered message is complete.
    Buffered,
    /// A cap.
    Other(Step<'static>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(t: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 3, 3];
        v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn msg(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    /// What a reader reports for `stream` fed in pieces cut at `cuts`, as owned values.
    fn run(r: &mut RecordReader, stream: &[u8], cuts: &[usize]) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = 0;
        for &end in cuts.iter().chain([stream.len()].iter()) {
            let end = end.clamp(at, stream.len());
            let mut input = &stream[at..end];
            while let Some(s) = r.next(&mut input, usize::MAX) {
                out.push(match s {
                    Step::Handshake { msg_type, body } => format!("hs {msg_type} {body:?}"),
                    other => format!("{other:?}"),
                });
            }
            assert!(input.is_empty());
            at = end;
        }
        out
    }

    #[test]
    fn messages_across_records_and_segments() {
        // Two messages in one record, then one message over two records.
        let m1 = msg(1, b"hello");
        let m2 = msg(2, b"world!");
        let m3 = msg(11, &[7u8; 40]);
        let mut stream = record(HANDSHAKE, &[m1.clone(), m2.clone()].concat());
        stream.extend(record(HANDSHAKE, &m3[..10]));
        stream.extend(record(HANDSHAKE, &m3[10..]));
        stream.extend(record(CHANGE_CIPHER_SPEC, &[1]));
        stream.extend(record(APPLICATION_DATA, &[0xaa; 30]));
        stream.extend(record(ALERT, &[2, 40]));
        let whole = run(&mut RecordReader::new(1024), &stream, &[]);
        assert_eq!(
            whole,
            [
                format!("hs 1 {:?}", b"hello"),
                format!("hs 2 {:?}", b"world!"),
                format!("hs 11 {:?}", [7u8; 40]),
                "ChangeCipherSpec".to_string(),
                "ApplicationData".to_string(),
                "Alert { level: 2, description: 40 }".to_string(),
            ]
        );
        // The same at every single cut and byte by byte.
        for cut in 0..stream.len() {
            let mut r = RecordReader::new(1024);
            assert_eq!(run(&mut r, &stream, &[cut]), whole, "cut at {cut}");
            assert_eq!(r.counts().app_bytes, 30);
        }
        let mut r = RecordReader::new(1024);
        let cuts: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(run(&mut r, &stream, &cuts), whole);
        let c = r.counts();
        assert_eq!(c.records, 6);
        assert_eq!(c.handshake_bytes, (m1.len() + m2.len() + m3.len()) as u64);
        assert_eq!(c.other_bytes, 3);
        assert_eq!(r.held(), 44, "one buffer, sized to the split message");
    }

    #[test]
    fn message_over_the_cap_stops_handshake_reading() {
        let big = msg(11, &[0u8; 100]);
        let mut stream = record(HANDSHAKE, &big);
        stream.extend(record(APPLICATION_DATA, b"abc"));
        for cut in [0, 3, 7, 50] {
            let mut r = RecordReader::new(64);
            let steps = run(&mut r, &stream, &[cut]);
            assert_eq!(steps, ["TooLarge { len: 104 }"], "cut {cut}");
            assert_eq!(r.mode(), Mode::Encrypted);
            assert_eq!(r.counts().app_bytes, 3);
            assert_eq!(r.counts().handshake_bytes, 104);
            assert_eq!(r.held(), 0);
        }
    }

    #[test]
    fn memory_cap_refuses_buffering() {
        let m = msg(1, &[5u8; 50]);
        let stream = record(HANDSHAKE, &m);
        let mut r = RecordReader::new(1024);
        let mut input = &stream[..20];
        assert_eq!(r.next(&mut input, 10), Some(Step::NoMemory { len: 54 }));
        assert_eq!(r.held(), 0);
        assert_eq!(r.next(&mut input, 10), None);
        let mut input = &stream[20..];
        assert_eq!(r.next(&mut input, 10), None);
        assert_eq!(r.counts().handshake_bytes, 54);
    }

    /// Fuzz finding (tls_handshake, finding-10): the 4 bytes of a message header and then its
    /// body, in two records of one input, each fitted the room but not together.
    #[test]
    fn memory_cap_holds_across_growths_in_one_call() {
        let m = msg(1, &[5u8; 10]);
        let mut stream = record(HANDSHAKE, &m[..2]);
        stream.extend(record(HANDSHAKE, &m[2..]));
        for room in 0..20 {
            let mut r = RecordReader::new(1024);
            let mut input = &stream[..];
            let mut steps = Vec::new();
            while let Some(s) = r.next(&mut input, room) {
                steps.push(format!("{s:?}"));
            }
            assert!(r.held() <= room, "room {room}: held {}", r.held());
            assert_eq!(steps.len(), 1);
            assert_eq!(
                steps[0].starts_with("Handshake"),
                room >= 14,
                "room {room}: {steps:?}"
            );
        }
    }

    #[test]
    fn bad_header_loses_framing_and_counts_the_rest() {
        let mut stream = record(APPLICATION_DATA, b"xyz");
        stream.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let mut r = RecordReader::new(1024);
        assert_eq!(run(&mut r, &stream, &[]), ["ApplicationData", "BadRecord"]);
        assert_eq!(r.mode(), Mode::Lost);
        assert_eq!(r.counts().app_bytes, 3);
        assert_eq!(r.counts().unframed_bytes, 16);
        r.gap(100);
        assert_eq!(r.counts().unframed_bytes, 116);
    }

    #[test]
    fn sslv2_hello_at_start() {
        let v2 = [0x80, 0x2e, 1, 3, 1, 0, 0x15, 0, 0, 0, 0x10];
        let mut r = RecordReader::new(1024);
        assert_eq!(run(&mut r, &v2, &[2]), ["Sslv2ClientHello"]);
        // The same bytes later in a stream are a bad record.
        let mut stream = record(HANDSHAKE, &msg(1, b"x"));
        stream.extend_from_slice(&v2);
        let mut r = RecordReader::new(1024);
        assert_eq!(run(&mut r, &stream, &[])[1], "BadRecord");
    }

    #[test]
    fn encrypted_mode_frames_without_reading() {
        let mut stream = record(HANDSHAKE, &msg(20, &[9; 12]));
        stream.extend(record(APPLICATION_DATA, &[1; 100]));
        stream.extend(record(ALERT, &[1; 26]));
        let mut r = RecordReader::new(1024);
        r.set_encrypted();
        assert!(run(&mut r, &stream, &[9]).is_empty());
        let c = r.counts();
        assert_eq!(
            (c.records, c.handshake_bytes, c.app_bytes, c.other_bytes),
            (3, 16, 100, 26)
        );
        assert_eq!(r.held(), 0);
    }

    #[test]
    fn empty_records_and_truncated_input() {
        let mut stream = record(APPLICATION_DATA, &[]);
        stream.extend(record(HANDSHAKE, &msg(1, &[1, 2, 3])));
        let mut r = RecordReader::new(1024);
        assert_eq!(
            run(&mut r, &stream[..stream.len() - 1], &[]),
            ["ApplicationData"]
        );
        assert!(r.in_message());
        assert_eq!(r.counts().records, 2);
    }
}
