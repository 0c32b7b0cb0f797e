//! Capture: where packets come from.
//!
//! Two sources share one shape ([`PacketSource`]): capture files read through libpcap ([`FileSource`],
//! pcap and pcapng, either byte order, micro- or nanosecond timestamps) and network interfaces
//! ([`LiveSource`]). Both hand out [`RawPacket`]s that borrow libpcap's buffer: nothing is copied
//! here. [`PcapWriter`] writes classic pcap files (used by `shadowtap record` and by tests that
//! build packets by hand).

mod file;
mod live;
mod writer;

pub use file::FileSource;
pub use live::{LiveOptions, LiveSource};
pub use writer::PcapWriter;

use crate::time::Timestamp;
use std::fmt;

/// A link-layer header type as numbered by tcpdump.org's `LINKTYPE_*` list (and libpcap's `DLT_*`).
///
/// Unknown values are kept, not rejected, so that statistics can name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the byte order of the capturing host.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (with optional 802.1Q / 802.1ad tags).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP, as numbered by some BSDs.
    pub const RAW_BSD12: LinkType = LinkType(12);
    /// Raw IP, as numbered by OpenBSD.
    pub const RAW_BSD14: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6 (version from the first nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture, version 1 (16-byte header).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter log messages (TLVs; the payload TLV holds the IP packet).
    pub const NFLOG: LinkType = LinkType(239);
    /// Linux "cooked" capture, version 2 (20-byte header).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// A short stable name for statistics.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::NULL => "null",
            LinkType::ETHERNET => "ethernet",
            LinkType::RAW | LinkType::RAW_BSD12 | LinkType::RAW_BSD14 => "raw",
            LinkType::LOOP => "loop",
            LinkType::LINUX_SLL => "linux_sll",
            LinkType::IPV4 => "ipv4",
            LinkType::IPV6 => "ipv6",
            LinkType::NFLOG => "nflog",
            LinkType::LINUX_SLL2 => "linux_sll2",
            _ => "other",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            "other" => write!(f, "linktype-{}", self.0),
            n => f.write_str(n),
        }
    }
}

/// One captured frame, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct RawPacket<'a> {
    /// When the frame was captured.
    pub ts: Timestamp,
    /// Link-layer type of `data`.
    pub link: LinkType,
    /// Length of the frame on the wire (may exceed `data.len()` when the snap length cut it).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// What [`PacketSource::next_packet`] produced.
#[derive(Debug)]
pub enum Next<'a> {
    /// A frame.
    Packet(RawPacket<'a>),
    /// A live source's read timeout passed without a frame (lets the caller check for shutdown
    /// and expire idle flows).
    Idle,
    /// The file is exhausted.
    End,
}

/// Counters a live source reads from the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Frames the kernel handed to libpcap.
    pub received: u64,
    /// Frames the kernel dropped because the capture buffer was full.
    pub dropped: u64,
    /// Frames dropped by the interface or driver.
    pub if_dropped: u64,
}

/// Errors of the capture layer.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// libpcap could not open the file or interface.
    #[error("cannot open {what}: {source}")]
    Open {
        /// File path or interface name.
        what: String,
        /// libpcap's reason.
        source: pcap::Error,
    },
    /// A capture file that cannot be opened (missing, unreadable, a directory).
    #[error(
        "{what}: {}; give the path of a pcap or pcapng capture file",
        io_reason(error)
    )]
    File {
        /// The path.
        what: String,
        /// Why.
        error: std::io::Error,
    },
    /// A file libpcap cannot read as a capture (a cut or corrupt header, another format).
    #[error(
        "{what}: libpcap cannot read it as a capture ({reason}); {}",
        FILE_HINT
    )]
    Unreadable {
        /// The path.
        what: String,
        /// libpcap's words.
        reason: String,
    },
    /// The BPF expression did not compile.
    #[error("invalid capture filter {expr:?}: {source}")]
    Filter {
        /// The expression as given.
        expr: String,
        /// libpcap's reason.
        source: pcap::Error,
    },
    /// Reading failed part way (a truncated or corrupt file, an interface going down).
    #[error("reading {what}: {source}")]
    Read {
        /// File path or interface name.
        what: String,
        /// libpcap's reason.
        source: pcap::Error,
    },
    /// Writing a capture file failed.
    #[error("writing {what}: {source}")]
    Write {
        /// File path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What to do about a capture file that cannot be read.
const FILE_HINT: &str = "give the path of a pcap or pcapng capture file";

/// A file error in a few words ("no such file", "permission denied"), without the OS's code.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

/// Anything that yields captured frames.
pub trait PacketSource {
    /// The next frame, an idle tick (live only) or the end (files only).
    fn next_packet(&mut self) -> Result<Next<'_>, CaptureError>;
    /// Kernel counters, when the source has them.
    fn stats(&mut self) -> Option<SourceStats> {
        None
    }
    /// A name for messages (file path or interface).
    fn name(&self) -> &str;
}

pub(crate) fn timestamp_of(header: &pcap::PacketHeader) -> Timestamp {
    // Sources are opened with nanosecond precision, so tv_usec carries nanoseconds.
    #[allow(clippy::unnecessary_cast)] // time_t is not i64 on every target
    Timestamp::from_parts(header.ts.tv_sec as i64, header.ts.tv_usec as u32)
}
