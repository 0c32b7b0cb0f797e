//! Reassembly: TCP segments in, ordered byte streams (with explicit gaps) out.
//!
//! The [`Reassembler`] keeps a flow table (least recently used first out when full) of
//! connections; each has two [`stream`]s and an application state `A` (the HTTP parser) that
//! receives in-order data, gaps and end-of-stream through [`FlowApp`].
//!
//! Rules, in the order a segment meets them:
//! - A connection is created by a SYN or by a segment with payload (mid-stream pickup); bare ACKs,
//!   FINs and RSTs of unknown connections are counted and ignored. A new bare SYN with another
//!   initial sequence number on a known 4-tuple ends the old connection (port reuse).
//! - Without a SYN, the first byte seen starts the stream, unless the peer already acknowledged
//!   an earlier sequence number (then the stream starts there and the missing start is a hole).
//! - When a segment carries an acknowledgment beyond what was captured from the other side, the
//!   other side's missing bytes were sent but not captured: they become a gap at once if this
//!   segment carries data (so the application sees both sides in the order they happened) or if
//!   data is already held beyond the hole.
//! - Holes are also given up on (turned into gaps) when a buffer cap is reached and when the
//!   connection ends (both FINs, RST, idle timeout, eviction).

mod flow;
pub mod stream;

pub use flow::{Dir, Endpoint, FlowId, FlowKey, FlowMeta};
pub use stream::Chunk;

use crate::decode::TcpSegment;
use crate::time::Timestamp;
use lru::LruCache;
use stream::{Event, GapReason, Stream};

/// Bounds and timeouts of reassembly.
#[derive(Clone, Debug)]
pub struct ReassemblyConfig {
    /// Connections tracked at once; the least recently active is evicted beyond this.
    pub max_flows: usize,
    /// A connection idle this long (packet time, nanoseconds) is closed.
    pub idle_timeout_ns: i64,
    /// Bytes held out of order per direction before holes are given up on.
    pub max_buffered_per_dir: usize,
    /// Out-of-order pieces held per direction.
    pub max_segments_per_dir: usize,
    /// Bytes held out of order across all connections.
    pub max_buffered_total: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            max_flows: 262_144,
            idle_timeout_ns: 300_000_000_000,
            max_buffered_per_dir: 1 << 20,
            max_segments_per_dir: 1024,
            max_buffered_total: 512 << 20,
        }
    }
}

/// Counters of reassembly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ReassemblyStats {
    /// TCP segments processed.
    pub segments: u64,
    /// Payload bytes in them.
    pub payload_bytes: u64,
    /// Segments that belonged to no known connection and could not open one (bare ACK/FIN/RST).
    pub segments_without_flow: u64,
    /// Connections opened.
    pub flows_opened: u64,
    /// Connections picked up without their handshake.
    pub flows_midstream: u64,
    /// Connections closed by FIN in both directions.
    pub flows_closed_fin: u64,
    /// Connections closed by RST.
    pub flows_closed_rst: u64,
    /// Connections closed after idling past the timeout.
    pub flows_timed_out: u64,
    /// Connections evicted to stay within `max_flows`.
    pub flows_evicted: u64,
    /// Connections replaced by a new one on the same 4-tuple.
    pub flows_reused: u64,
    /// Connections still open at the end of the input.
    pub flows_open_at_end: u64,
    /// Most connections tracked at once.
    pub flows_peak: u64,
    /// Segments delivered straight through.
    pub in_order_segments: u64,
    /// Segments that arrived ahead of a hole.
    pub out_of_order_segments: u64,
    /// Segments entirely made of bytes already received.
    pub retransmitted_segments: u64,
    /// Bytes received more than once.
    pub retransmitted_bytes: u64,
    /// Overlapping copies whose bytes differed from the first copy (kept).
    pub overlap_conflicts: u64,
    /// Segments whose payload the snap length cut.
    pub truncated_segments: u64,
    /// Holes given up on.
    pub gaps: u64,
    /// Bytes in those holes.
    pub gap_bytes: u64,
    /// ... because the other side acknowledged bytes never captured.
    pub gaps_acked_unseen: u64,
    /// ... because a buffer cap was reached.
    pub gaps_buffer_cap: u64,
    /// ... because the connection ended with holes.
    pub gaps_at_close: u64,
    /// Times a buffer cap forced holes to be given up on.
    pub cap_flushes: u64,
    /// Most bytes held out of order at once.
    pub peak_buffered_bytes: u64,
    /// Segments with payload not reassembled because the application stopped wanting it
    /// (tunnels after 101/CONNECT, connections that are not HTTP).
    pub ignored_segments: u64,
    /// Payload bytes in them.
    pub ignored_bytes: u64,
}

crate::counters!(ReassemblyStats {
    segments, payload_bytes, segments_without_flow, flows_opened, flows_midstream, flows_closed_fin,
    flows_closed_rst, flows_timed_out, flows_evicted, flows_reused, in_order_segments,
    out_of_order_segments, retransmitted_segments, retransmitted_bytes, overlap_conflicts,
    truncated_segments, gaps, gap_bytes, gaps_acked_unseen, gaps_buffer_cap, gaps_at_close, cap_flushes,
    ignored_segments, ignored_bytes,
} gauges { flows_open_at_end, flows_peak, peak_buffered_bytes });

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// FIN in both directions, all bytes delivered.
    Fin,
    /// RST.
    Rst,
    /// Idle past the timeout.
    Timeout,
    /// Evicted to make room.
    Evicted,
    /// A new connection reused the 4-tuple.
    Reused,
    /// End of input.
    End,
}

/// The application on top of reassembly (one value per connection).
pub trait FlowApp: Sized {
    /// Shared state handed to every call (output queue, counters, budgets).
    type Ctx;
    /// A new connection.
    fn open(ctx: &mut Self::Ctx, meta: &FlowMeta) -> Self;
    /// In-order bytes of direction `dir`.
    fn data(&mut self, ctx: &mut Self::Ctx, meta: &FlowMeta, dir: Dir, chunk: Chunk<'_>);
    /// `len` bytes of direction `dir` at `offset` were lost.
    fn gap(
        &mut self,
        ctx: &mut Self::Ctx,
        meta: &FlowMeta,
        dir: Dir,
        offset: u64,
        len: u64,
        ts: Timestamp,
    );
    /// Direction `dir` ended (its FIN was reached, or the connection is closing).
    fn eof(&mut self, ctx: &mut Self::Ctx, meta: &FlowMeta, dir: Dir, ts: Timestamp);
    /// The connection is gone; the value is dropped after this.
    fn close(&mut self, ctx: &mut Self::Ctx, meta: &FlowMeta, ts: Timestamp, reason: CloseReason);
    /// False when the application has lost interest (not its protocol): payload is then no longer
    /// reassembled for this connection.
    fn wants_data(&self) -> bool {
        true
    }
    /// `len` payload bytes of direction `dir` were skipped because [`FlowApp::wants_data`] is false.
    fn ignored(&mut self, _ctx: &mut Self::Ctx, _dir: Dir, _len: u64) {}
}

struct Flow<A> {
    meta: FlowMeta,
    last_ts: Timestamp,
    dirs: [Stream; 2],
    app: A,
}

/// TCP reassembly over a bounded flow table.
pub struct Reassembler<A: FlowApp> {
    cfg: ReassemblyConfig,
    flows: LruCache<FlowKey, Flow<A>, foldhash::fast::RandomState>,
    buffered: usize,
    stats: ReassemblyStats,
}

/// Acknowledgments further ahead than this are ignored as bogus.
const MAX_ACK_JUMP: i64 = 1 << 30;

impl<A: FlowApp> Reassembler<A> {
    /// An empty reassembler.
    pub fn new(cfg: ReassemblyConfig) -> Self {
        Reassembler {
            cfg,
            flows: LruCache::unbounded_with_hasher(foldhash::fast::RandomState::default()),
            buffered: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Connections tracked now.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// Bytes held out of order now.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Processes one segment captured at `ts`.
    pub fn segment(&mut self, ctx: &mut A::Ctx, ts: Timestamp, seg: &TcpSegment<'_>) {
        self.stats.segments += 1;
        self.stats.payload_bytes += seg.payload.len() as u64;
        if seg.missing > 0 {
            self.stats.truncated_segments += 1;
        }
        // Packet time is the clock, even when a capture's clock jumps back: a flow is idle only
        // when the current packet is later than its last one by more than the timeout.
        self.expire(ctx, ts);
        let (key, dir) = FlowKey::of(seg);
        let flags = seg.flags;

        // The common case: a known connection, one hash lookup.
        let fresh_syn = flags.syn() && !flags.ack();
        let mut reused = false;
        if let Some(flow) = self.flows.get_mut(&key) {
            let d = &flow.dirs[dir.index()];
            // Port reuse: a fresh SYN with another ISN on a known 4-tuple starts a new connection.
            reused = fresh_syn && (d.isn.is_some_and(|isn| isn != seg.seq) || d.next > 0);
            if !reused {
                flow.last_ts = ts;
                let closed = Self::process(
                    &self.cfg,
                    &mut self.buffered,
                    &mut self.stats,
                    ctx,
                    flow,
                    dir,
                    ts,
                    seg,
                );
                self.after(ctx, &key, ts, closed);
                return;
            }
        }
        if reused && let Some(flow) = self.flows.pop(&key) {
            self.stats.flows_reused += 1;
            self.finish_flow(ctx, flow, ts, CloseReason::Reused);
        }
        if !flags.syn() && seg.payload.is_empty() {
            self.stats.segments_without_flow += 1;
            return;
        }
        while self.flows.len() >= self.cfg.max_flows.max(1) {
            match self.flows.pop_lru() {
                Some((_, victim)) => {
                    self.stats.flows_evicted += 1;
                    self.finish_flow(ctx, victim, ts, CloseReason::Evicted);
                }
                None => break,
            }
        }
        let meta = FlowMeta {
            id: FlowId::derive(&key, ts, self.stats.flows_opened),
            key,
            first_ts: ts,
            opener: None,
            midstream: !flags.syn(),
        };
        self.stats.flows_midstream += u64::from(!flags.syn());
        let app = A::open(ctx, &meta);
        self.flows.push(
            key,
            Flow {
                meta,
                last_ts: ts,
                dirs: [Stream::default(), Stream::default()],
                app,
            },
        );
        self.stats.flows_opened += 1;
        self.stats.flows_peak = self.stats.flows_peak.max(self.flows.len() as u64);
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let closed = Self::process(
            &self.cfg,
            &mut self.buffered,
            &mut self.stats,
            ctx,
            flow,
            dir,
            ts,
            seg,
        );
        self.after(ctx, &key, ts, closed);
    }

    /// Book-keeping after a segment: peak memory, and removal of a connection that ended.
    fn after(
        &mut self,
        ctx: &mut A::Ctx,
        key: &FlowKey,
        ts: Timestamp,
        closed: Option<CloseReason>,
    ) {
        self.stats.peak_buffered_bytes = self.stats.peak_buffered_bytes.max(self.buffered as u64);
        if let Some(reason) = closed
            && let Some(flow) = self.flows.pop(key)
        {
            self.finish_flow(ctx, flow, ts, reason);
        }
    }

    /// Applies one segment to its connection. Returns why the connection ended, if it did.
    #[allow(clippy::too_many_arguments)]
    fn process(
        cfg: &ReassemblyConfig,
        buffered: &mut usize,
        stats: &mut ReassemblyStats,
        ctx: &mut A::Ctx,
        flow: &mut Flow<A>,
        dir: Dir,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
    ) -> Option<CloseReason> {
        let Flow {
            meta, dirs, app, ..
        } = flow;
        let (first, second) = dirs.split_at_mut(1);
        let (me, peer) = match dir {
            Dir::AtoB => (&mut first[0], &mut second[0]),
            Dir::BtoA => (&mut second[0], &mut first[0]),
        };
        let flags = seg.flags;

        if flags.syn() {
            if meta.opener.is_none() {
                meta.opener = Some(if flags.ack() { dir.flip() } else { dir });
            }
            if me.isn.is_none() && me.next == 0 && me.held_bytes == 0 {
                me.isn = Some(seg.seq);
                me.start(seg.seq.wrapping_add(1));
            }
        }
        if !me.started {
            // Mid-stream: start at the first byte seen, or where the peer says the stream is.
            let base = match peer.last_ack {
                Some(a)
                    if i64::from(seg.seq.wrapping_sub(a) as i32) > 0
                        && i64::from(seg.seq.wrapping_sub(a) as i32) < 1 << 20 =>
                {
                    a
                }
                _ => seg.seq,
            };
            me.start(base);
        }

        // The peer's bytes this segment acknowledges.
        let mut peer_ack = None;
        if flags.ack() && !flags.rst() {
            me.last_ack = Some(seg.ack);
            if peer.started {
                let a = peer.offset(seg.ack);
                if a >= 0 {
                    peer_ack = Some(a as u64);
                }
                let jump = a - peer.next as i64;
                if jump > 0 && jump < MAX_ACK_JUMP && app.wants_data() {
                    let mut target = a as u64;
                    if let Some(fin) = peer.fin {
                        target = target.min(fin);
                    }
                    if target > peer.next && (!seg.payload.is_empty() || peer.holds_below(target)) {
                        let pdir = dir.flip();
                        peer.flush_to(target, buffered, stats, GapReason::Ack, ts, &mut |ev| {
                            deliver(app, ctx, meta, pdir, ev)
                        });
                    }
                }
                if peer.fin == Some(peer.next) && !peer.eof {
                    peer.eof = true;
                    app.eof(ctx, meta, dir.flip(), ts);
                }
            }
        }

        if !seg.payload.is_empty() && !app.wants_data() {
            stats.ignored_segments += 1;
            stats.ignored_bytes += seg.payload.len() as u64;
            app.ignored(ctx, dir, seg.payload.len() as u64);
        }
        if !seg.payload.is_empty() && app.wants_data() {
            let off = me.offset(seg.seq) + i64::from(flags.syn());
            me.insert(
                cfg,
                buffered,
                stats,
                off,
                seg.payload,
                ts,
                peer_ack,
                &mut |ev| deliver(app, ctx, meta, dir, ev),
            );
        }
        if flags.fin() && me.fin.is_none() {
            let off = me.offset(seg.seq)
                + i64::from(flags.syn())
                + seg.payload.len() as i64
                + i64::from(seg.missing);
            me.fin = Some(off.max(me.next as i64) as u64);
        }
        if !app.wants_data() && me.fin.is_some() {
            // Not our protocol: the FIN ends the stream whatever was skipped.
            me.next = me.next.max(me.fin.unwrap_or(0));
        }
        if me.fin == Some(me.next) && !me.eof {
            me.eof = true;
            app.eof(ctx, meta, dir, ts);
        }
        if flags.rst() {
            return Some(CloseReason::Rst);
        }
        if me.eof && peer.eof {
            return Some(CloseReason::Fin);
        }
        None
    }

    /// Ends a connection: gives up on its holes, reports end of both streams and closes it.
    fn finish_flow(
        &mut self,
        ctx: &mut A::Ctx,
        mut flow: Flow<A>,
        ts: Timestamp,
        reason: CloseReason,
    ) {
        match reason {
            CloseReason::Fin => self.stats.flows_closed_fin += 1,
            CloseReason::Rst => self.stats.flows_closed_rst += 1,
            CloseReason::Timeout => self.stats.flows_timed_out += 1,
            CloseReason::End => self.stats.flows_open_at_end += 1,
            CloseReason::Evicted | CloseReason::Reused => {}
        }
        let Flow {
            meta, dirs, app, ..
        } = &mut flow;
        for dir in [Dir::AtoB, Dir::BtoA] {
            let s = &mut dirs[dir.index()];
            if app.wants_data() && s.started {
                s.flush_all(
                    &mut self.buffered,
                    &mut self.stats,
                    GapReason::Close,
                    ts,
                    &mut |ev| deliver(app, ctx, meta, dir, ev),
                );
            }
            s.clear(&mut self.buffered);
            if !s.eof {
                s.eof = true;
                app.eof(ctx, meta, dir, ts);
            }
        }
        app.close(ctx, meta, ts, reason);
    }

    /// Closes connections idle for longer than the timeout at packet time `now`.
    pub fn expire(&mut self, ctx: &mut A::Ctx, now: Timestamp) {
        while let Some((_, f)) = self.flows.peek_lru() {
            if now.nanos_since(f.last_ts) <= self.cfg.idle_timeout_ns {
                break;
            }
            if let Some((_, flow)) = self.flows.pop_lru() {
                let at = flow.last_ts.plus_nanos(self.cfg.idle_timeout_ns);
                self.finish_flow(ctx, flow, at, CloseReason::Timeout);
            }
        }
    }

    /// Ends every connection (end of input, shutdown).
    pub fn finish(&mut self, ctx: &mut A::Ctx) {
        while let Some((_, flow)) = self.flows.pop_lru() {
            let ts = flow.last_ts;
            self.finish_flow(ctx, flow, ts, CloseReason::End);
        }
    }
}

fn deliver<A: FlowApp>(app: &mut A, ctx: &mut A::Ctx, meta: &FlowMeta, dir: Dir, ev: Event<'_>) {
    match ev {
        Event::Data(chunk) => app.data(ctx, meta, dir, chunk),
        Event::Gap { offset, len, ts } => app.gap(ctx, meta, dir, offset, len, ts),
    }
}
