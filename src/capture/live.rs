//! Live capture from a network interface through libpcap.

use super::{CaptureError, LinkType, Next, PacketSource, RawPacket, SourceStats, timestamp_of};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use pcap::{Active, Capture, Precision};
use std::os::fd::AsFd;

/// How to open an interface.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Interface name (`eth0`, `lo`, `any`).
    pub interface: String,
    /// BPF filter expression, if any.
    pub bpf: Option<String>,
    /// Bytes kept of each frame. Loopback has a 64 KiB MTU, so the default is 262144.
    pub snaplen: i32,
    /// Put the interface in promiscuous mode (needs CAP_NET_ADMIN).
    pub promisc: bool,
    /// Kernel capture buffer in bytes.
    pub buffer_size: i32,
    /// How long a read waits before reporting [`Next::Idle`], in milliseconds.
    pub read_timeout_ms: i32,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            interface: String::new(),
            bpf: None,
            snaplen: 262_144,
            promisc: false,
            buffer_size: 32 << 20,
            read_timeout_ms: 100,
        }
    }
}

/// A live capture on one interface.
pub struct LiveSource {
    cap: Capture<Active>,
    link: LinkType,
    name: String,
    /// The last read found nothing: wait on the descriptor before reading again.
    drained: bool,
    timeout_ms: u16,
}

impl LiveSource {
    /// Opens the interface. Needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode).
    pub fn open(opts: &LiveOptions) -> Result<LiveSource, CaptureError> {
        let name = opts.interface.clone();
        let open_err = |source| CaptureError::Open {
            what: name.clone(),
            source,
        };
        let mut inactive = Capture::from_device(opts.interface.as_str())
            .map_err(open_err)?
            .snaplen(opts.snaplen)
            .promisc(opts.promisc)
            .timeout(opts.read_timeout_ms.max(1))
            .precision(Precision::Nano)
            // Not immediate mode: libpcap then uses TPACKET_V3 blocks (frames packed by size)
            // rather than one snap-length slot per frame, and hands over a block at the latest
            // after the read timeout.
            .immediate_mode(false);
        if opts.buffer_size > 0 {
            inactive = inactive.buffer_size(opts.buffer_size);
        }
        // Non-blocking, with our own poll: libpcap's read timeout does not reliably return on
        // Linux, and the caller needs idle ticks to expire flows and to notice Ctrl-C.
        let mut cap = inactive
            .open()
            .map_err(open_err)?
            .setnonblock()
            .map_err(open_err)?;
        if let Some(expr) = opts.bpf.as_deref().filter(|e| !e.trim().is_empty()) {
            cap.filter(expr, true)
                .map_err(|source| CaptureError::Filter {
                    expr: expr.to_string(),
                    source,
                })?;
        }
        let link = LinkType(cap.get_datalink().0 as u32);
        Ok(LiveSource {
            cap,
            link,
            name,
            drained: false,
            timeout_ms: opts.read_timeout_ms.clamp(1, 60_000) as u16,
        })
    }

    /// The interface's link type.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// The underlying libpcap handle, e.g. to save what is captured with `savefile`.
    pub fn handle(&mut self) -> &mut Capture<Active> {
        &mut self.cap
    }
}

impl PacketSource for LiveSource {
    fn next_packet(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.drained {
            self.drained = false;
            let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
            // EINTR (a signal) and timeouts both end in an idle tick.
            let _ = poll(&mut fds, PollTimeout::from(self.timeout_ms));
        }
        match self.cap.next_packet() {
            Ok(p) => Ok(Next::Packet(RawPacket {
                ts: timestamp_of(p.header),
                link: self.link,
                orig_len: p.header.len,
                data: p.data,
            })),
            Err(pcap::Error::TimeoutExpired) => {
                self.drained = true;
                Ok(Next::Idle)
            }
            Err(source) => Err(CaptureError::Read {
                what: self.name.clone(),
                source,
            }),
        }
    }

    fn stats(&mut self) -> Option<SourceStats> {
        self.cap.stats().ok().map(|s| SourceStats {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}
