//! Access logs followed by the daemon (`[[follow]]`, `--follow`): one thread per file reads
//! what is appended ([`crate::source::follow::Follower`]: rotations by renaming and by
//! truncation followed), observes each line's transaction in an inventory of its own (source
//! `access_log`), and answers the writer's flush epochs like a capture worker: to the writer a
//! followed log is one more worker.

use super::FollowSpec;
use super::metrics::SensorMetrics;
use super::pipeline::{Report, answer_epoch};
use crate::analyze::inventory::Inventory;
use crate::engine::EngineStats;
use crate::source::follow::Follower;
use crate::source::{Origin, SourceConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The pause between two reads that found nothing new.
pub const IDLE_POLL: Duration = Duration::from_millis(250);

/// What a follower thread needs.
pub struct FollowTask {
    /// Its worker index (after the capture workers).
    pub id: usize,
    /// Its index among the followed logs (`metrics.follows`).
    pub index: usize,
    /// The file.
    pub spec: FollowSpec,
    /// Its inventory (prepared with `inventory_with_book`).
    pub inventory: Inventory,
    /// To the writer.
    pub out: tokio::sync::mpsc::Sender<Report>,
    /// Raised by the writer at every flush interval.
    pub epoch: Arc<AtomicU64>,
    /// Counters.
    pub metrics: Arc<SensorMetrics>,
    /// Raised at shutdown: what the file holds is read, then the last report goes.
    pub stop: Arc<AtomicBool>,
}

/// Follows one log until `stop`, then sends its last report.
pub fn follow_loop(t: FollowTask) {
    let FollowTask {
        id,
        index,
        spec,
        mut inventory,
        out,
        epoch,
        metrics,
        stop,
    } = t;
    let cfg = SourceConfig {
        host: spec.host.clone(),
        ..SourceConfig::default()
    };
    let mut follower = Follower::new(&spec.path, spec.format, cfg, spec.from_start);
    inventory.set_origin(Origin::AccessLog);
    let wm = &metrics.workers[id];
    let fm = &metrics.follows[index];
    let mut seen_epoch = epoch.load(Ordering::Relaxed);
    let mut deferred_epoch = u64::MAX;
    let mut warned = Instant::now() - Duration::from_secs(3600);
    let publish = |inv: &Inventory, f: &Follower| {
        *wm.snapshot.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((EngineStats::default(), inv.stats().clone()));
        *fm.stats.lock().unwrap_or_else(|p| p.into_inner()) = (f.source, f.follow);
    };
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let read = match follower.poll(|tx| inventory.observe(&tx)) {
            Ok(read) => read,
            Err(e) => {
                // A file that cannot be read (permissions, an I/O error) is retried; said at
                // most once a minute.
                if warned.elapsed() >= Duration::from_secs(60) {
                    warned = Instant::now();
                    tracing::warn!(path = %spec.path.display(), error = %e, "followed log unreadable; retrying");
                }
                false
            }
        };
        publish(&inventory, &follower);
        if stopping && !read {
            break;
        }
        let answered = answer_epoch(
            &out,
            &epoch,
            &mut seen_epoch,
            &mut deferred_epoch,
            wm,
            |e| Report {
                worker: id,
                epoch: e,
                drain: inventory.drain(),
                engine: EngineStats::default(),
                inventory: inventory.stats().clone(),
                last: false,
            },
        );
        if answered.is_err() {
            break;
        }
        if !read {
            std::thread::sleep(IDLE_POLL);
        }
    }
    tracing::info!(
        path = %spec.path.display(),
        format = follower.format().map(|f| f.name()),
        lines = follower.source.lines,
        transactions = follower.source.transactions,
        skipped = follower.source.skipped(),
        rotations = follower.follow.rotations,
        truncations = follower.follow.truncations,
        "followed log closed"
    );
    let _ = out.blocking_send(Report {
        worker: id,
        epoch: u64::MAX,
        drain: inventory.drain(),
        engine: EngineStats::default(),
        inventory: inventory.stats().clone(),
        last: true,
    });
}
