//! HPACK (RFC 7541) for a passive decoder: one decoder per direction of a connection.
//!
//! Huffman decoding is the `httlib-huffman` crate's (table driven, no dependencies); the field
//! walk, the integer and string reading and the dynamic table are here, because a passive
//! decoder needs what an endpoint's decoder does not: to go on after what it cannot resolve.
//! The crates that decode whole header blocks (`hpack`, `loona-hpack`/`fluke-hpack`,
//! `httlib-hpack`) stop at the first field they cannot decode, and one of them panics on a
//! size above its limit.
//!
//! The dynamic table knows the entries inserted since the decoder started or since its table
//! was lost, and whether older, unknown entries may sit behind them ([`Hpack::lost`]): a
//! connection picked up mid-way, a header block lost in a gap or dropped by a cap. Then a
//! reference to a known entry, the static table and literals still decode; a reference into
//! the unknown part yields [`Field::Unknown`]. Eviction follows the real table's rule, so the
//! known entries stay exact: an eviction of a known entry means every unknown (older) entry is
//! gone too, and the table is whole again.
//!
//! Bounds: the table's size is at most the configured cap whatever size updates ask for (an
//! update above the cap is clamped and the table counted as lost, as entries the peer keeps
//! may be evicted here); strings are at most the header block's size; decoding is linear in
//! the block (a reference to a large entry yields a borrowed slice, nothing is copied unless
//! the caller keeps it).

use std::collections::VecDeque;

/// One decoded field representation.
#[derive(Debug, PartialEq, Eq)]
pub enum Field<'a> {
    /// A header field.
    Header(&'a [u8], &'a [u8]),
    /// A field whose name or value is in the unknown part of a lost table.
    Unknown,
}

/// Why a header block could not be decoded to its end (the table is lost after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    /// An integer or string ran past the end of the block.
    #[error("truncated field")]
    Truncated,
    /// An integer too large.
    #[error("integer overflow")]
    Overflow,
    /// Invalid Huffman code.
    #[error("bad huffman string")]
    Huffman,
    /// An index beyond a table that is known whole.
    #[error("index out of range")]
    Index,
}

/// What decoding one header block did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockReport {
    /// Fields that referenced the unknown part of a lost table.
    pub unknown: u32,
    /// Size updates above the cap (clamped).
    pub clamped: u32,
    /// The error that ended decoding early.
    pub error: Option<HpackError>,
}

/// A dynamic table entry: name and value.
type Entry = (Box<[u8]>, Box<[u8]>);

/// One direction's HPACK decoder.
#[derive(Debug)]
pub struct Hpack {
    /// Known entries, newest first.
    entries: VecDeque<Entry>,
    /// Size of the known entries (RFC 7541 section 4.1).
    size: usize,
    /// Current maximum size.
    max_size: usize,
    /// Hard cap on the maximum size.
    cap: usize,
    /// Older entries may exist that are not known.
    lost: bool,
    /// `max_size` is the peer's (false after [`Hpack::lose_size`], until a size update).
    size_known: bool,
    scratch: [Vec<u8>; 2],
}

/// The size of an entry as HPACK counts it.
fn entry_size(n: &[u8], v: &[u8]) -> usize {
    n.len() + v.len() + 32
}

impl Hpack {
    /// A decoder whose table starts empty with the default size (4096), never above `cap`.
    pub fn new(cap: usize) -> Hpack {
        Hpack {
            entries: VecDeque::new(),
            size: 0,
            max_size: 4096.min(cap),
            cap,
            lost: false,
            size_known: true,
            scratch: [Vec::new(), Vec::new()],
        }
    }

    /// True when entries older than the known ones may exist.
    pub fn lost(&self) -> bool {
        self.lost
    }

    /// Forgets the table: what comes next may reference entries never seen.
    pub fn lose(&mut self) {
        self.entries.clear();
        self.size = 0;
        self.lost = true;
    }

    /// Forgets the table and its size: a connection picked up mid-way, whose SETTINGS and
    /// size updates were not seen. Indices stay sound: an entry inserted since is at the same
    /// position from the newest in the peer's table, whatever its size, and a peer references
    /// only entries it still has. What is not known is when the peer evicts: the table is
    /// kept at the cap (entries the peer evicted are kept and never referenced) and an
    /// eviction here no longer proves the unknown entries gone, so the table stays lost until
    /// a size update in a header block says the size again.
    pub fn lose_size(&mut self) {
        self.lose();
        self.size_known = false;
        self.max_size = self.cap;
    }

    /// Bytes held by the table.
    pub fn held(&self) -> usize {
        self.size
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            let Some((n, v)) = self.entries.pop_back() else {
                break;
            };
            self.size -= entry_size(&n, &v);
            // The real table evicts older (unknown) entries first: they are all gone now (if
            // its size is the one evicted to).
            self.lost &= !self.size_known;
        }
    }

    fn insert(&mut self, n: &[u8], v: &[u8]) {
        let s = entry_size(n, v);
        if s > self.max_size {
            // An entry larger than the table empties it (RFC 7541 section 4.4).
            self.entries.clear();
            self.size = 0;
            self.lost &= !self.size_known;
            return;
        }
        if self.size + s > self.max_size {
            self.evict_to(self.max_size - s);
            // The room was made by evicting known entries (the unknown ones went first).
            self.lost &= !self.size_known;
        }
        self.entries.push_front((n.into(), v.into()));
        self.size += s;
    }

    fn set_max(&mut self, new: usize, report: &mut BlockReport) {
        let clamped = new > self.cap;
        let new = if clamped {
            report.clamped += 1;
            self.evict_to(self.cap);
            self.lost = true;
            self.cap
        } else {
            new
        };
        // A size update says the peer's size (the evictions below are then the peer's), unless
        // it was clamped.
        self.size_known = !clamped;
        self.max_size = new;
        self.evict_to(new);
        if new == 0 {
            self.lost = false;
        }
    }

    /// `Some(Some(entry))`, `Some(None)` for an unknown entry, `None` for a bad index.
    fn get(&self, index: usize) -> Option<Option<(&[u8], &[u8])>> {
        if index == 0 {
            return None;
        }
        if let Some(&(n, v)) = STATIC_TABLE.get(index - 1) {
            return Some(Some((n, v)));
        }
        let d = index - 1 - STATIC_TABLE.len();
        match self.entries.get(d) {
            Some((n, v)) => Some(Some((n, v))),
            None if self.lost => Some(None),
            None => None,
        }
    }

    /// Decodes a whole header block, calling `each` for every field in order. On an error,
    /// the table is lost (fields after the error are not known, and may have been inserted).
    pub fn decode(&mut self, block: &[u8], mut each: impl FnMut(Field<'_>)) -> BlockReport {
        let mut report = BlockReport::default();
        let mut pos = 0;
        while pos < block.len() {
            match self.field(block, &mut pos, &mut each, &mut report) {
                Ok(()) => {}
                Err(e) => {
                    report.error = Some(e);
                    self.lose();
                    break;
                }
            }
        }
        report
    }

    fn field(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        each: &mut impl FnMut(Field<'_>),
        report: &mut BlockReport,
    ) -> Result<(), HpackError> {
        let b = block[*pos];
        if b & 0x80 != 0 {
            // Indexed field (section 6.1).
            let i = integer(block, pos, 7)?;
            match self.get(i).ok_or(HpackError::Index)? {
                Some((n, v)) => each(Field::Header(n, v)),
                None => {
                    report.unknown += 1;
                    each(Field::Unknown);
                }
            }
            return Ok(());
        }
        if b & 0xe0 == 0x20 {
            // Dynamic table size update (section 6.3).
            let n = integer(block, pos, 5)?;
            self.set_max(n, report);
            return Ok(());
        }
        let (index, prefix) = if b & 0x40 != 0 { (true, 6) } else { (false, 4) };
        let ni = integer(block, pos, prefix)?;
        let [mut name_buf, mut value_buf] = std::mem::take(&mut self.scratch);
        let name = if ni == 0 {
            Some(string(block, pos, &mut name_buf)?)
        } else {
            // Keep the name: the table may change before the field is used.
            match self.get(ni).ok_or(HpackError::Index)? {
                Some((n, _)) => {
                    name_buf.clear();
                    name_buf.extend_from_slice(n);
                    Some(&name_buf[..])
                }
                None => None,
            }
        };
        let value = string(block, pos, &mut value_buf);
        let result = match (name, value) {
            (_, Err(e)) => Err(e),
            (Some(n), Ok(v)) => {
                each(Field::Header(n, v));
                if index {
                    // Owned copies go into the table; `n`/`v` may borrow the block or scratch.
                    let (n, v): (Box<[u8]>, Box<[u8]>) = (n.into(), v.into());
                    self.insert(&n, &v);
                }
                Ok(())
            }
            (None, Ok(_)) => {
                report.unknown += 1;
                each(Field::Unknown);
                if index {
                    // An entry of unknown content: nothing older is known by position now.
                    self.lose();
                }
                Ok(())
            }
        };
        self.scratch = [name_buf, value_buf];
        result
    }
}

/// Reads an integer with an `n`-bit prefix (section 5.1) at `*pos`.
fn integer(block: &[u8], pos: &mut usize, n: u8) -> Result<usize, HpackError> {
    let mask = (1u16 << n) as usize - 1;
    let first = *block.get(*pos).ok_or(HpackError::Truncated)? as usize & mask;
    *pos += 1;
    if first < mask {
        return Ok(first);
    }
    let mut value = mask;
    let mut shift = 0u32;
    loop {
        let b = *block.get(*pos).ok_or(HpackError::Truncated)?;
        *pos += 1;
        if shift > 28 {
            return Err(HpackError::Overflow);
        }
        value = value
            .checked_add(((b & 0x7f) as usize) << shift)
            .ok_or(HpackError::Overflow)?;
        if value > u32::MAX as usize {
            return Err(HpackError::Overflow);
        }
        if b & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

/// Reads a string literal (section 5.2) at `*pos`: raw strings are borrowed from the block,
/// Huffman ones decoded into `buf`.
fn string<'a>(
    block: &'a [u8],
    pos: &mut usize,
    buf: &'a mut Vec<u8>,
) -> Result<&'a [u8], HpackError> {
    let huffman = block.get(*pos).ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = integer(block, pos, 7)?;
    let end = pos.checked_add(len).ok_or(HpackError::Truncated)?;
    let raw = block.get(*pos..end).ok_or(HpackError::Truncated)?;
    *pos = end;
    if !huffman {
        return Ok(raw);
    }
    buf.clear();
    httlib_huffman::decode(raw, buf, httlib_huffman::DecoderSpeed::FourBits)
        .map_err(|_| HpackError::Huffman)?;
    Ok(&buf[..])
}

/// The static table (RFC 7541 appendix A).
pub static STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(h: &mut Hpack, block: &[u8]) -> (Vec<Option<(String, String)>>, BlockReport) {
        let mut out = Vec::new();
        let r = h.decode(block, |f| {
            out.push(match f {
                Field::Header(n, v) => Some((
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )),
                Field::Unknown => None,
            })
        });
        (out, r)
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn kv(n: &str, v: &str) -> Option<(String, String)> {
        Some((n.into(), v.into()))
    }

    /// RFC 7541 C.4: requests with Huffman coding, sharing a dynamic table.
    #[test]
    fn rfc7541_c4() {
        let mut h = Hpack::new(65536);
        let (f, r) = decode(&mut h, &hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        assert_eq!(r, BlockReport::default());
        assert_eq!(
            f,
            vec![
                kv(":method", "GET"),
                kv(":scheme", "http"),
                kv(":path", "/"),
                kv(":authority", "www.example.com")
            ]
        );
        let (f, _) = decode(&mut h, &hex("8286 84be 5886 a8eb 1064 9cbf"));
        assert_eq!(f[3], kv(":authority", "www.example.com"));
        assert_eq!(f[4], kv("cache-control", "no-cache"));
        let (f, r) = decode(
            &mut h,
            &hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
        );
        assert_eq!(r.error, None);
        assert_eq!(f[2], kv(":path", "/index.html"));
        assert_eq!(f[3], kv(":authority", "www.example.com"));
        assert_eq!(f[4], kv("custom-key", "custom-value"));
        assert_eq!(h.held(), 164);
    }

    /// A decoder that starts mid-connection: static and literal fields decode, references into
    /// the unknown table do not, and entries inserted since are known.
    #[test]
    fn lost_table_recovers_what_it_can() {
        let mut h = Hpack::new(65536);
        h.lose();
        // Indexed 62 (unknown), :method GET, literal with indexing "x-a: 1", then index 62 (now
        // the new entry) and 63 (unknown).
        let block = [0xbe, 0x82, 0x40, 3, b'x', b'-', b'a', 1, b'1', 0xbe, 0xbf];
        let (f, r) = decode(&mut h, &block);
        assert_eq!(r.unknown, 2);
        assert_eq!(
            f,
            vec![
                None,
                kv(":method", "GET"),
                kv("x-a", "1"),
                kv("x-a", "1"),
                None
            ]
        );
        assert!(h.lost());
        // A size update to 0 empties the real table: nothing is unknown any more.
        let (_, r) = decode(&mut h, &[0x20, 0x82]);
        assert_eq!(r.error, None);
        assert!(!h.lost());
        let (_, r) = decode(&mut h, &[0xbe]);
        assert_eq!(r.error, Some(HpackError::Index));
        assert!(h.lost());
    }

    /// A table lost with its size (a connection picked up mid-way): entries inserted since are
    /// found by index, and evicting them does not make the table whole (the peer's size is
    /// not known) until a size update says it.
    #[test]
    fn lost_size_keeps_the_table_lost_until_a_size_update() {
        let mut h = Hpack::new(4096);
        h.lose_size();
        assert_eq!(h.max_size, 4096);
        // 40 entries of 32 + 2 + 100 bytes: more than 4096, so the first ones are evicted here.
        for i in 0..40u8 {
            let mut block = vec![0x40, 1, b'a' + (i % 26), 100];
            block.extend_from_slice(&[b'v'; 100]);
            let (f, r) = decode(&mut h, &block);
            assert_eq!((f.len(), r.unknown), (1, 0));
        }
        assert!(h.lost(), "an eviction at a guessed size proves nothing");
        // The newest entry is index 62; beyond the known ones, unknown.
        let (f, r) = decode(&mut h, &[0xbe, 0xff, 0x7f]);
        assert_eq!(f[0].as_ref().map(|(n, _)| n.as_str()), Some("n"));
        assert_eq!((f[1].clone(), r.unknown, r.error), (None, 1, None));
        // A size update of 0 empties the peer's table: whole again.
        let (_, r) = decode(&mut h, &[0x20]);
        assert_eq!(r.error, None);
        assert!(!h.lost());
    }

    #[test]
    fn size_update_above_cap_is_clamped() {
        let mut h = Hpack::new(100);
        let (_, r) = decode(&mut h, &[0x3f, 0xe1, 0x1f, 0x82]);
        assert_eq!(r.clamped, 1);
        assert!(h.lost());
        assert_eq!(h.max_size, 100);
    }

    #[test]
    fn truncated_and_overflowing_input_errs() {
        for block in [
            &[0x40u8, 5, b'a'][..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            &[0x00],
        ] {
            let mut h = Hpack::new(4096);
            let (_, r) = decode(&mut h, block);
            assert!(r.error.is_some(), "{block:?}");
            assert!(h.lost());
        }
    }
}
