//! The multi-core pipeline: capture threads → bounded queues → analysis workers → writer.
//!
//! A capture thread per interface only reads frames, picks a worker with [`Sharder`], and
//! copies the frame into that worker's open [`Batch`] (a pooled buffer holding up to
//! [`BATCH_PACKETS`] frames or [`BATCH_BYTES`] bytes). Full batches, and every partial batch
//! at least every few milliseconds, go to the worker over a bounded `sync_channel`; when the
//! queue is full the batch is dropped and its frames counted in
//! `shadowtap_queue_dropped_packets_total` — the capture thread never waits on analysis.
//!
//! Each worker owns an [`Engine`] and an [`Inventory`]: it feeds frames through the engine,
//! observes the transactions, and at every flush epoch hands its [`InventoryDrain`] to the
//! writer (if the writer is still busy with the previous one, the data stays in the inventory
//! for the next epoch: nothing is lost, and the deferral is counted). When its queue closes
//! (shutdown) it finishes the engine — open transactions are emitted as partial — and sends a
//! final report.

use super::metrics::SensorMetrics;
use super::shard::Sharder;
use crate::analyze::inventory::{Inventory, InventoryDrain, InventoryStats};
use crate::capture::{LinkType, LiveSource, Next, PacketSource, RawPacket};
use crate::engine::{Engine, EngineConfig, EngineStats};
use crate::time::Timestamp;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const R: Ordering = Ordering::Relaxed;

/// Frames per batch at most.
pub const BATCH_PACKETS: usize = 64;
/// Bytes per batch at most (a single larger frame gets a batch of its own).
pub const BATCH_BYTES: usize = 256 * 1024;
/// A partial batch waits at most this long before it is sent.
const BATCH_LINGER: Duration = Duration::from_millis(5);

#[derive(Clone, Copy, Debug)]
struct Meta {
    ts: Timestamp,
    orig_len: u32,
    start: u32,
    len: u32,
}

/// Frames copied out of libpcap's ring, for one worker.
#[derive(Debug, Default)]
pub struct Batch {
    link: Option<LinkType>,
    meta: Vec<Meta>,
    data: Vec<u8>,
}

impl Batch {
    /// Frames held.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// No frame held.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    fn fits(&self, len: usize) -> bool {
        self.is_empty() || (self.meta.len() < BATCH_PACKETS && self.data.len() + len <= BATCH_BYTES)
    }

    fn full(&self) -> bool {
        self.meta.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES
    }

    /// Copies a frame in (the caller checked [`Batch::fits`]).
    fn push(&mut self, p: &RawPacket<'_>) {
        self.link = Some(p.link);
        let start = self.data.len();
        self.data.extend_from_slice(p.data);
        self.meta.push(Meta {
            ts: p.ts,
            orig_len: p.orig_len,
            start: start as u32,
            len: p.data.len() as u32,
        });
    }

    /// The frames, as the engine takes them.
    pub fn packets(&self) -> impl Iterator<Item = RawPacket<'_>> {
        let link = self.link.unwrap_or(LinkType::ETHERNET);
        self.meta.iter().filter_map(move |m| {
            let data = self
                .data
                .get(m.start as usize..(m.start as usize).checked_add(m.len as usize)?)?;
            Some(RawPacket {
                ts: m.ts,
                link,
                orig_len: m.orig_len,
                data,
            })
        })
    }

    fn clear(&mut self) {
        self.meta.clear();
        self.data.clear();
        if self.data.capacity() > 2 * BATCH_BYTES {
            self.data = Vec::with_capacity(BATCH_BYTES / 4);
        }
    }
}

/// Empty batches for reuse: capture threads take, workers give back. Bounded: beyond `cap`
/// returned batches are freed.
#[derive(Debug)]
pub struct Pool {
    free: Mutex<Vec<Batch>>,
    cap: usize,
}

impl Pool {
    /// A pool keeping at most `cap` spare batches.
    pub fn new(cap: usize) -> Pool {
        Pool {
            free: Mutex::new(Vec::new()),
            cap,
        }
    }

    /// A spare batch, or a new one.
    pub fn get(&self) -> Batch {
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(|| Batch {
                link: None,
                meta: Vec::with_capacity(BATCH_PACKETS),
                data: Vec::with_capacity(BATCH_BYTES / 4),
            })
    }

    /// Gives a batch back.
    pub fn put(&self, mut b: Batch) {
        b.clear();
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.cap {
            free.push(b);
        }
    }
}

/// What a capture thread needs.
pub struct CaptureTask {
    /// The opened interface.
    pub source: LiveSource,
    /// Index of the interface in the metrics.
    pub index: usize,
    /// One queue per worker.
    pub queues: Vec<SyncSender<Batch>>,
    /// Spare batches.
    pub pool: Arc<Pool>,
    /// Picks the worker.
    pub sharder: Sharder,
    /// Raised at shutdown.
    pub stop: Arc<AtomicBool>,
    /// Counters.
    pub metrics: Arc<SensorMetrics>,
    /// After `stop`, frames are still read this long (the kernel hands over its last block
    /// only after the read timeout), then until the ring is empty.
    pub grace: Duration,
}

/// Runs a capture thread until `stop` (and the grace period) or a read error.
pub fn capture_loop(t: CaptureTask) -> Result<(), crate::capture::CaptureError> {
    let CaptureTask {
        mut source,
        index,
        queues,
        pool,
        sharder,
        stop,
        metrics: m,
        grace,
    } = t;
    let out = Out {
        queues: &queues,
        pool: &pool,
        metrics: &m,
    };
    let n = queues.len().max(1);
    let mut open: Vec<Option<Batch>> = (0..n).map(|_| None).collect();
    let mut last_send = Instant::now();
    let mut last_stats = Instant::now();
    let mut stopping: Option<Instant> = None;
    let me = &m.interfaces[index];
    let mut since_check = 0u32;
    let result = loop {
        if stopping.is_none() && stop.load(R) {
            stopping = Some(Instant::now());
        }
        match source.next_packet() {
            Ok(Next::Packet(p)) => {
                me.packets.fetch_add(1, R);
                me.bytes.fetch_add(p.data.len() as u64, R);
                let w = sharder.worker(p.link, p.data, n);
                if open[w].as_ref().is_some_and(|b| !b.fits(p.data.len())) {
                    send(&out, &mut open, w, stopping.is_some());
                }
                let b = open[w].get_or_insert_with(|| pool.get());
                b.push(&p);
                if b.full() {
                    send(&out, &mut open, w, stopping.is_some());
                }
                since_check += 1;
                if since_check >= 32 {
                    since_check = 0;
                    if last_send.elapsed() >= BATCH_LINGER {
                        send_all(&out, &mut open, stopping.is_some());
                        last_send = Instant::now();
                    }
                    // Under constant traffic no idle tick comes: stop anyway after the grace.
                    if stopping.is_some_and(|s| s.elapsed() >= grace * 4) {
                        break Ok(());
                    }
                }
            }
            Ok(Next::Idle) => {
                send_all(&out, &mut open, stopping.is_some());
                last_send = Instant::now();
                if stopping.is_some_and(|s| s.elapsed() >= grace) {
                    break Ok(());
                }
            }
            Ok(Next::End) => break Ok(()),
            Err(e) => {
                me.errors.fetch_add(1, R);
                break Err(e);
            }
        }
        if last_stats.elapsed() >= Duration::from_secs(1) {
            last_stats = Instant::now();
            kernel_stats(&mut source, &m, index);
        }
    };
    send_all(&out, &mut open, true);
    kernel_stats(&mut source, &m, index);
    result
}

fn kernel_stats(src: &mut LiveSource, m: &SensorMetrics, i: usize) {
    if let Some(s) = src.stats() {
        let me = &m.interfaces[i];
        me.kernel_received.store(s.received, R);
        me.kernel_dropped.store(s.dropped, R);
        me.if_dropped.store(s.if_dropped, R);
    }
}

/// Where a capture thread sends batches.
struct Out<'a> {
    queues: &'a [SyncSender<Batch>],
    pool: &'a Pool,
    metrics: &'a SensorMetrics,
}

fn send_all(t: &Out<'_>, open: &mut [Option<Batch>], wait: bool) {
    for w in 0..open.len() {
        send(t, open, w, wait);
    }
}

/// Hands worker `w`'s open batch over; drops it (counted) when the queue is full, unless
/// `wait` (shutdown: everything captured is analysed).
fn send(t: &Out<'_>, open: &mut [Option<Batch>], w: usize, wait: bool) {
    let Some(b) = open[w].take() else {
        return;
    };
    if b.is_empty() {
        t.pool.put(b);
        return;
    }
    let n = b.len() as i64;
    let wm = &t.metrics.workers[w];
    wm.queued.fetch_add(n, R);
    let res = if wait {
        t.queues[w]
            .send(b)
            .map_err(|e| TrySendError::Disconnected(e.0))
    } else {
        t.queues[w].try_send(b)
    };
    match res {
        Ok(()) => {}
        Err(TrySendError::Full(b)) | Err(TrySendError::Disconnected(b)) => {
            wm.queued.fetch_sub(n, R);
            wm.queue_dropped.fetch_add(n as u64, R);
            t.pool.put(b);
        }
    }
}

/// What a worker hands to the writer.
pub struct Report {
    /// Which worker.
    pub worker: usize,
    /// The flush epoch it answers (`u64::MAX` for the final report).
    pub epoch: u64,
    /// The aggregates since its last report.
    pub drain: InventoryDrain,
    /// Its counters now.
    pub engine: EngineStats,
    /// Its inventory counters now.
    pub inventory: InventoryStats,
    /// Last report of this worker.
    pub last: bool,
}

/// What a worker needs.
pub struct WorkerTask {
    /// Index.
    pub id: usize,
    /// Its queue.
    pub queue: Receiver<Batch>,
    /// Spare batches.
    pub pool: Arc<Pool>,
    /// Engine limits.
    pub engine: EngineConfig,
    /// Its inventory (prepared with `inventory_for`).
    pub inventory: Inventory,
    /// To the writer.
    pub out: tokio::sync::mpsc::Sender<Report>,
    /// Raised by the writer at every flush interval.
    pub epoch: Arc<AtomicU64>,
    /// Counters.
    pub metrics: Arc<SensorMetrics>,
}

/// Answers a new flush epoch with `report(epoch)` when the writer has room; when it has none
/// the data waits in the inventory for the next epoch (counted once per epoch in
/// `flush_deferred`). `Err` when the writer is gone.
pub(super) fn answer_epoch(
    out: &tokio::sync::mpsc::Sender<Report>,
    epoch: &AtomicU64,
    seen_epoch: &mut u64,
    deferred_epoch: &mut u64,
    wm: &super::metrics::WorkerMetrics,
    report: impl FnOnce(u64) -> Report,
) -> Result<(), ()> {
    let e = epoch.load(R);
    if e == *seen_epoch {
        return Ok(());
    }
    match out.try_reserve() {
        Ok(permit) => {
            permit.send(report(e));
            *seen_epoch = e;
            Ok(())
        }
        Err(tokio::sync::mpsc::error::TrySendError::Full(())) => {
            if *deferred_epoch != e {
                *deferred_epoch = e;
                wm.flush_deferred.fetch_add(1, R);
            }
            Ok(())
        }
        Err(tokio::sync::mpsc::error::TrySendError::Closed(())) => Err(()),
    }
}

/// Runs a worker until its queue closes, then finishes and sends its last report.
pub fn worker_loop(t: WorkerTask) {
    let WorkerTask {
        id,
        queue,
        pool,
        engine: cfg,
        mut inventory,
        out,
        epoch,
        metrics,
    } = t;
    let mut engine = Engine::new(cfg);
    let wm = &metrics.workers[id];
    let mut seen_epoch = epoch.load(R);
    let mut deferred_epoch = u64::MAX;
    let mut last_tick = Instant::now();
    let publish = |engine: &Engine, inv: &Inventory| {
        *wm.snapshot.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((engine.stats(), inv.stats().clone()));
    };
    loop {
        match queue.recv_timeout(Duration::from_millis(50)) {
            Ok(batch) => {
                wm.queued.fetch_sub(batch.len() as i64, R);
                for p in batch.packets() {
                    engine.packet(&p);
                    for tx in engine.drain() {
                        inventory.observe(&tx);
                    }
                    for ev in engine.drain_tls() {
                        inventory.observe_tls(&ev);
                    }
                }
                pool.put(batch);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            // Live capture: packet time is wall time, so idle connections close on time even
            // when no packet comes.
            engine.tick(Timestamp::now());
            for tx in engine.drain() {
                inventory.observe(&tx);
            }
            for ev in engine.drain_tls() {
                inventory.observe_tls(&ev);
            }
            publish(&engine, &inventory);
        }
        let answered = answer_epoch(
            &out,
            &epoch,
            &mut seen_epoch,
            &mut deferred_epoch,
            wm,
            |e| {
                publish(&engine, &inventory);
                Report {
                    worker: id,
                    epoch: e,
                    drain: inventory.drain(),
                    engine: engine.stats(),
                    inventory: inventory.stats().clone(),
                    last: false,
                }
            },
        );
        if answered.is_err() {
            break;
        }
    }
    // Shutdown: every queued frame was analysed; close what is open (partial transactions).
    engine.finish();
    for tx in engine.drain() {
        inventory.observe(&tx);
    }
    for ev in engine.drain_tls() {
        inventory.observe_tls(&ev);
    }
    let drain = inventory.drain();
    publish(&engine, &inventory);
    let _ = out.blocking_send(Report {
        worker: id,
        epoch: u64::MAX,
        drain,
        engine: engine.stats(),
        inventory: inventory.stats().clone(),
        last: true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_frames_and_respect_their_bounds() {
        let pool = Pool::new(2);
        let mut b = pool.get();
        let frame = vec![7u8; 1000];
        let p = RawPacket {
            ts: Timestamp(5),
            link: LinkType::RAW,
            orig_len: 1500,
            data: &frame,
        };
        while b.fits(frame.len()) {
            b.push(&p);
        }
        assert_eq!(b.len(), BATCH_PACKETS);
        assert!(b.full());
        let got: Vec<_> = b.packets().collect();
        assert_eq!(got.len(), BATCH_PACKETS);
        assert!(
            got.iter()
                .all(|q| q.data == &frame[..] && q.orig_len == 1500)
        );
        // A frame larger than a batch gets one of its own.
        let big = vec![1u8; BATCH_BYTES + 10];
        let mut c = pool.get();
        assert!(c.fits(big.len()));
        c.push(&RawPacket { data: &big, ..p });
        assert!(!c.fits(1));
        pool.put(b);
        pool.put(c);
        pool.put(Batch::default());
        assert_eq!(pool.free.lock().unwrap().len(), 2);
        assert!(pool.get().is_empty());
    }
}
