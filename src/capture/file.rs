//! Capture files (pcap and pcapng) through libpcap.

use super::{CaptureError, LinkType, Next, PacketSource, RawPacket, timestamp_of};
use pcap::{Capture, Offline, Precision};
use std::path::Path;

/// Reads a pcap or pcapng file, in either byte order and with micro- or nanosecond timestamps
/// (libpcap scales both to nanoseconds here).
pub struct FileSource {
    cap: Capture<Offline>,
    link: LinkType,
    name: String,
}

impl FileSource {
    /// Opens `path`, optionally applying a BPF filter expression.
    pub fn open(path: &Path, bpf: Option<&str>) -> Result<FileSource, CaptureError> {
        let name = path.display().to_string();
        // libpcap's words for a missing file repeat the path and say nothing of what to do.
        let file_error = |error| CaptureError::File {
            what: name.clone(),
            error,
        };
        match std::fs::metadata(path) {
            Err(e) => return Err(file_error(e)),
            Ok(m) if m.is_dir() => {
                return Err(file_error(std::io::Error::from(
                    std::io::ErrorKind::IsADirectory,
                )));
            }
            Ok(_) => {}
        }
        let mut cap =
            Capture::from_file_with_precision(path, Precision::Nano).map_err(|source| {
                CaptureError::Unreadable {
                    what: name.clone(),
                    reason: source.to_string(),
                }
            })?;
        if let Some(expr) = bpf.filter(|e| !e.trim().is_empty()) {
            cap.filter(expr, true)
                .map_err(|source| CaptureError::Filter {
                    expr: expr.to_string(),
                    source,
                })?;
        }
        let link = LinkType(cap.get_datalink().0 as u32);
        Ok(FileSource { cap, link, name })
    }

    /// The file's link type.
    pub fn link_type(&self) -> LinkType {
        self.link
    }
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<Next<'_>, CaptureError> {
        match self.cap.next_packet() {
            Ok(p) => Ok(Next::Packet(RawPacket {
                ts: timestamp_of(p.header),
                link: self.link,
                orig_len: p.header.len,
                data: p.data,
            })),
            Err(pcap::Error::NoMorePackets) => Ok(Next::End),
            Err(source) => Err(CaptureError::Read {
                what: self.name.clone(),
                source,
            }),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
