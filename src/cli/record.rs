//! `shadowtap record`: capture an interface into a pcap file.

use super::{RecordArgs, interrupt_flag};
use crate::capture::{LiveOptions, LiveSource, Next, PacketSource, PcapWriter};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Runs `shadowtap record`.
pub fn run(args: &RecordArgs) -> anyhow::Result<()> {
    let stop = interrupt_flag();
    let opts = LiveOptions {
        interface: args.interface.clone(),
        bpf: args.bpf.clone(),
        snaplen: args.snaplen,
        read_timeout_ms: 50,
        buffer_size: args.buffer_size,
        ..LiveOptions::default()
    };
    let mut src = LiveSource::open(&opts)?;
    let mut out = PcapWriter::create(&args.write, src.link_type(), args.snaplen.max(0) as u32)?;
    if let Some(ready) = &args.ready_file {
        std::fs::write(ready, b"ready\n")?;
    }
    let started = Instant::now();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if args.count.is_some_and(|c| n >= c)
            || args
                .duration
                .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
        {
            break;
        }
        if let Next::Packet(p) = src.next_packet()? {
            out.write(p.ts, p.data, p.orig_len)?;
            n += 1;
        }
    }
    // Drain what the kernel already holds, so the last frames before the signal are kept.
    while args.count.is_none_or(|c| n < c) {
        match src.next_packet()? {
            Next::Packet(p) => {
                out.write(p.ts, p.data, p.orig_len)?;
                n += 1;
            }
            Next::Idle | Next::End => break,
        }
    }
    let stats = src.stats();
    out.finish()?;
    eprintln!(
        "shadowtap record: {n} frames written to {}{}",
        args.write.display(),
        stats
            .map(|s| format!(" (kernel dropped {})", s.dropped))
            .unwrap_or_default()
    );
    Ok(())
}
