//! A classic pcap file writer (nanosecond timestamps, host byte order).
//!
//! `shadowtap record` writes what it captures with it, and tests use it to store hand-built frames.

use super::{CaptureError, LinkType};
use crate::time::Timestamp;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Magic number of a nanosecond-resolution pcap file.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Writes frames into a classic pcap file.
pub struct PcapWriter<W: Write> {
    out: W,
    name: String,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the file header.
    pub fn create(path: &Path, link: LinkType, snaplen: u32) -> Result<Self, CaptureError> {
        let name = path.display().to_string();
        let file = File::create(path).map_err(|source| CaptureError::Write {
            what: name.clone(),
            source,
        })?;
        PcapWriter::new(BufWriter::new(file), link, snaplen, name)
    }
}

impl<W: Write> PcapWriter<W> {
    /// Wraps any writer and writes the file header.
    pub fn new(
        mut out: W,
        link: LinkType,
        snaplen: u32,
        name: String,
    ) -> Result<Self, CaptureError> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_NANOS.to_ne_bytes());
        h.extend_from_slice(&2u16.to_ne_bytes());
        h.extend_from_slice(&4u16.to_ne_bytes());
        h.extend_from_slice(&0i32.to_ne_bytes());
        h.extend_from_slice(&0u32.to_ne_bytes());
        h.extend_from_slice(&snaplen.to_ne_bytes());
        h.extend_from_slice(&link.0.to_ne_bytes());
        out.write_all(&h).map_err(|source| CaptureError::Write {
            what: name.clone(),
            source,
        })?;
        Ok(PcapWriter { out, name })
    }

    /// Appends one frame. `orig_len` is the length on the wire (at least `data.len()`).
    pub fn write(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> Result<(), CaptureError> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(ts.secs() as u32).to_ne_bytes());
        h[4..8].copy_from_slice(&ts.subsec_nanos().to_ne_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_ne_bytes());
        h[12..16].copy_from_slice(&orig_len.max(data.len() as u32).to_ne_bytes());
        self.out
            .write_all(&h)
            .and_then(|_| self.out.write_all(data))
            .map_err(|source| CaptureError::Write {
                what: self.name.clone(),
                source,
            })
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> Result<W, CaptureError> {
        self.out.flush().map_err(|source| CaptureError::Write {
            what: self.name.clone(),
            source,
        })?;
        Ok(self.out)
    }
}
