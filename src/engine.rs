//! The packet-to-transaction engine: decode → reassembly → (TLS | HTTP/1.x | HTTP/2),
//! synchronous and pure.
//!
//! [`Engine::packet`] takes one captured frame; transactions come out of [`Engine::drain`] as
//! they complete, the TLS layer's handshakes and traffic out of [`Engine::drain_tls`] (a
//! connection's first bytes decide its layer: `dispatch`). Nothing here blocks, allocates per byte, or trusts its input: every stage has
//! caps, and every packet and byte is accounted for in [`EngineStats`].

use crate::capture::{LinkType, RawPacket, SourceStats};
use crate::decode::frag::DefragStats;
use crate::decode::{self, DecodeError, DefragConfig, Defragmenter, IpPacket, LinkPayload};
use crate::dispatch::{Conn, Layers};
use crate::http::{HttpConfig, HttpCtx, HttpStats, HttpTransaction};
use crate::http2::{H2Ctx, Http2Config, Http2Stats};
use crate::reassembly::{Reassembler, ReassemblyConfig, ReassemblyStats};
use crate::time::Timestamp;
use crate::tls::{TlsConfig, TlsCtx, TlsEvent, TlsStats};
use crate::websocket::{WsConfig, WsCtx, WsStats};
use std::collections::BTreeMap;

/// Configuration of every stage.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// IP fragment reassembly bounds.
    pub defrag: DefragConfig,
    /// TCP reassembly bounds.
    pub reassembly: ReassemblyConfig,
    /// HTTP limits.
    pub http: HttpConfig,
    /// TLS handshake limits.
    pub tls: TlsConfig,
    /// HTTP/2 limits (`None`: derived from the HTTP limits, [`Http2Config::from_http`]).
    pub http2: Option<Http2Config>,
    /// WebSocket limits (`None`: messages sampled like bodies, [`WsConfig::from_http`]).
    pub websocket: Option<WsConfig>,
}

/// Per link type counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LinkCount {
    /// Frames.
    pub packets: u64,
    /// Captured bytes.
    pub bytes: u64,
}

crate::counters!(LinkCount { packets, bytes });

/// What happened to every packet before TCP reassembly.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PacketStats {
    /// Frames read.
    pub packets: u64,
    /// Captured bytes.
    pub bytes: u64,
    /// Bytes on the wire (before any snap length).
    pub wire_bytes: u64,
    /// Frames cut by the snap length.
    pub truncated_frames: u64,
    /// By link type name.
    pub by_link: BTreeMap<String, LinkCount>,
    /// Frames that did not decode, by reason.
    pub decode_errors: BTreeMap<String, u64>,
    /// Frames that were not IP, by EtherType (hex).
    pub not_ip: BTreeMap<String, u64>,
    /// IPv4 packets.
    pub ipv4: u64,
    /// IPv6 packets.
    pub ipv6: u64,
    /// IP packets that were not TCP, by protocol name/number.
    pub not_tcp: BTreeMap<String, u64>,
    /// TCP segments (including those from reassembled fragments).
    pub tcp: u64,
}

crate::counters!(PacketStats {
    packets,
    bytes,
    wire_bytes,
    truncated_frames,
    by_link,
    decode_errors,
    not_ip,
    ipv4,
    ipv6,
    not_tcp,
    tcp,
});

/// Everything the engine counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EngineStats {
    /// Link, IP and transport decoding.
    pub packets: PacketStats,
    /// IP fragment reassembly.
    pub defrag: DefragCounts,
    /// TCP reassembly.
    pub tcp: ReassemblyStats,
    /// HTTP parsing.
    pub http: HttpStats,
    /// TLS handshakes.
    pub tls: TlsStats,
    /// HTTP/2 framing, HPACK and streams.
    pub http2: Http2Stats,
    /// WebSocket frames and messages.
    pub websocket: WsStats,
    /// Connections tracked now.
    pub flows_now: u64,
    /// Bytes held out of order now.
    pub reassembly_bytes_now: u64,
    /// Bytes held by the HTTP layer now.
    pub http_bytes_now: u64,
    /// Bytes held by the TLS layer now (handshake messages in progress).
    pub tls_bytes_now: u64,
    /// Bytes held by the HTTP/2 layer now (frames, header blocks, HPACK tables, bodies).
    pub http2_bytes_now: u64,
    /// Bytes held by the WebSocket layer now (message samples, inflaters).
    pub websocket_bytes_now: u64,
    /// Kernel counters of a live source.
    pub capture: Option<CaptureCounts>,
}

crate::counters!(EngineStats { packets, defrag, tcp, http, tls, http2, websocket, capture } gauges { flows_now, reassembly_bytes_now, http_bytes_now, tls_bytes_now, http2_bytes_now, websocket_bytes_now });

/// Serializable copy of [`DefragStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DefragCounts {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped after the timeout.
    pub timed_out: u64,
    /// Datagrams dropped to stay within bounds.
    pub evicted: u64,
    /// Datagrams dropped as invalid.
    pub invalid: u64,
    /// Overlapping fragments.
    pub overlaps: u64,
    /// Fragments refused because their datagram alone would not fit in the memory cap (their
    /// datagram is also counted in `evicted`).
    pub over_budget: u64,
}

crate::counters!(DefragCounts {
    fragments,
    reassembled,
    timed_out,
    evicted,
    invalid,
    overlaps,
    over_budget
});

impl From<DefragStats> for DefragCounts {
    fn from(s: DefragStats) -> Self {
        DefragCounts {
            fragments: s.fragments,
            reassembled: s.reassembled,
            timed_out: s.timed_out,
            evicted: s.evicted,
            invalid: s.invalid,
            overlaps: s.overlaps,
            over_budget: s.over_budget,
        }
    }
}

/// Serializable copy of [`SourceStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CaptureCounts {
    /// Frames the kernel handed over.
    pub received: u64,
    /// Frames the kernel dropped (buffer full).
    pub dropped: u64,
    /// Frames dropped by the interface.
    pub if_dropped: u64,
    /// Frames the daemon dropped at full worker queues (0 for other sources).
    pub queue_dropped: u64,
}

crate::counters!(CaptureCounts {
    received,
    dropped,
    if_dropped,
    queue_dropped
});

impl From<SourceStats> for CaptureCounts {
    fn from(s: SourceStats) -> Self {
        CaptureCounts {
            received: s.received,
            dropped: s.dropped,
            if_dropped: s.if_dropped,
            queue_dropped: 0,
        }
    }
}

/// The engine.
pub struct Engine {
    defrag: Defragmenter,
    tcp: Reassembler<Conn>,
    layers: Layers,
    packets: PacketStats,
    links: Vec<(LinkType, LinkCount)>,
    capture: Option<CaptureCounts>,
}

impl Engine {
    /// An engine with the given configuration.
    pub fn new(cfg: EngineConfig) -> Engine {
        Engine {
            defrag: Defragmenter::new(cfg.defrag),
            tcp: Reassembler::new(cfg.reassembly),
            layers: Layers {
                h2: H2Ctx::new(
                    cfg.http2
                        .clone()
                        .unwrap_or_else(|| Http2Config::from_http(&cfg.http)),
                ),
                ws: WsCtx::new(
                    cfg.websocket
                        .clone()
                        .unwrap_or_else(|| WsConfig::from_http(cfg.http.body_sample_bytes)),
                ),
                http: HttpCtx::new(cfg.http),
                tls: TlsCtx::new(cfg.tls),
            },
            packets: PacketStats::default(),
            links: Vec::new(),
            capture: None,
        }
    }

    /// Processes one captured frame.
    pub fn packet(&mut self, pkt: &RawPacket<'_>) {
        let p = &mut self.packets;
        p.packets += 1;
        p.bytes += pkt.data.len() as u64;
        p.wire_bytes += u64::from(pkt.orig_len.max(pkt.data.len() as u32));
        if (pkt.orig_len as usize) > pkt.data.len() {
            p.truncated_frames += 1;
        }
        match self.links.iter_mut().find(|(l, _)| *l == pkt.link) {
            Some((_, c)) => {
                c.packets += 1;
                c.bytes += pkt.data.len() as u64;
            }
            None => self.links.push((
                pkt.link,
                LinkCount {
                    packets: 1,
                    bytes: pkt.data.len() as u64,
                },
            )),
        }

        let ip = match decode::link::strip(pkt.link, pkt.data) {
            Ok(LinkPayload::Ipv4(b)) => {
                self.packets.ipv4 += 1;
                b
            }
            Ok(LinkPayload::Ipv6(b)) => {
                self.packets.ipv6 += 1;
                b
            }
            Ok(LinkPayload::NotIp(t)) => {
                *self.packets.not_ip.entry(format!("0x{t:04x}")).or_default() += 1;
                return;
            }
            Err(e) => return self.decode_error(&e),
        };
        match decode::ip::parse(ip) {
            Ok(IpPacket::Tcp(seg)) => {
                self.packets.tcp += 1;
                self.tcp.segment(&mut self.layers, pkt.ts, &seg);
            }
            Ok(IpPacket::Fragment(frag)) => {
                if let Some((proto, datagram)) = self.defrag.push(pkt.ts, &frag) {
                    if proto == 6 {
                        match decode::ip::tcp(frag.src, frag.dst, &datagram, 0) {
                            Ok(seg) => {
                                self.packets.tcp += 1;
                                self.tcp.segment(&mut self.layers, pkt.ts, &seg);
                            }
                            Err(e) => self.decode_error(&e),
                        }
                    } else {
                        *self.packets.not_tcp.entry(proto_name(proto)).or_default() += 1;
                    }
                }
            }
            Ok(IpPacket::Other(proto)) => {
                *self.packets.not_tcp.entry(proto_name(proto)).or_default() += 1;
            }
            Err(e) => self.decode_error(&e),
        }
    }

    fn decode_error(&mut self, e: &DecodeError) {
        let key = match e {
            DecodeError::Truncated(layer) | DecodeError::Malformed(layer) => {
                format!("{}_{}", e.kind(), layer.replace(' ', "_"))
            }
            DecodeError::UnsupportedLink(l) => format!("unsupported_link_{}", l.0),
            DecodeError::TooManyVlanTags => e.kind().to_string(),
        };
        *self.packets.decode_errors.entry(key).or_default() += 1;
    }

    /// Lets packet time advance without a packet (live capture): closes idle connections.
    pub fn tick(&mut self, now: Timestamp) {
        self.tcp.expire(&mut self.layers, now);
        self.defrag.expire(now);
    }

    /// Ends every connection, emitting what is pending (end of input or shutdown).
    pub fn finish(&mut self) {
        self.tcp.finish(&mut self.layers);
    }

    /// Takes the transactions completed so far.
    pub fn drain(&mut self) -> std::vec::Drain<'_, HttpTransaction> {
        self.layers.http.out.drain(..)
    }

    /// Takes the TLS layer's events so far (handshakes, and each TLS connection's traffic at
    /// its close). A caller that does not want them must still take them.
    pub fn drain_tls(&mut self) -> std::vec::Drain<'_, TlsEvent> {
        self.layers.tls.out.drain(..)
    }

    /// Records a live source's kernel counters for [`Engine::stats`].
    pub fn set_capture_stats(&mut self, s: SourceStats) {
        self.capture = Some(s.into());
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> EngineStats {
        let mut packets = self.packets.clone();
        for (l, c) in &self.links {
            let e = packets.by_link.entry(l.to_string()).or_default();
            e.packets += c.packets;
            e.bytes += c.bytes;
        }
        EngineStats {
            packets,
            defrag: self.defrag.stats().into(),
            tcp: self.tcp.stats(),
            http: self.layers.http.stats,
            tls: self.layers.tls.all_stats(),
            http2: self.layers.h2.stats,
            websocket: self.layers.ws.stats,
            flows_now: self.tcp.flow_count() as u64,
            reassembly_bytes_now: self.tcp.buffered_bytes() as u64,
            http_bytes_now: self.layers.http.memory() as u64,
            tls_bytes_now: self.layers.tls.memory() as u64,
            http2_bytes_now: self.layers.h2.memory() as u64,
            websocket_bytes_now: self.layers.ws.memory() as u64,
            capture: self.capture,
        }
    }
}

fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        2 => "igmp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        132 => "sctp".into(),
        other => format!("ip_proto_{other}"),
    }
}
