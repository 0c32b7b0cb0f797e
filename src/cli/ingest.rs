//! `shadowtap ingest`: capture files into an inventory.

use super::{IngestArgs, StatsFormat, report, runtime};
use crate::analyze::inventory::InventoryConfig;
use crate::config::Config;
use crate::counters::plural;
use crate::ingest::{IngestOptions, ingest_files};
use crate::store::{FlushReport, Store};
use std::io::Write;

/// Runs `shadowtap ingest`.
pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let mut cfg = args.engine.config_with_keys()?;
    cfg.http.body_sample_bytes = args.engine.body_sample.unwrap_or(64 * 1024);
    cfg.websocket = Some(
        config
            .websocket
            .config(cfg.http.body_sample_bytes)
            .map_err(anyhow::Error::msg)?,
    );
    let mut opts = IngestOptions {
        engine: cfg,
        inventory: InventoryConfig {
            pinned: config
                .templates
                .iter()
                .map(|t| (t.host.clone(), t.path.clone()))
                .collect(),
            ..InventoryConfig::default()
        },
        ..IngestOptions::default()
    };
    config.sequences.apply(&mut opts.inventory.sequence);
    opts.inventory.grpc_descriptors = super::grpc_descriptors(&config, &args.proto_descriptor)?;
    opts.flush_every = args.flush_every;
    opts.force = args.force;
    let json = args.json;
    // The [hosts] rules are valid and every file is a capture, before the database is
    // touched.
    if let Some(hosts) = &config.hosts {
        hosts.rules().map_err(anyhow::Error::msg)?;
    }
    for f in &args.files {
        crate::ingest::check_capture_file(f)?;
    }
    super::removed_on_failure(&args.db, || ingest(args, &config, &opts, json))
}

fn ingest(
    args: &IngestArgs,
    config: &Config,
    opts: &IngestOptions,
    json: bool,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = Store::open(&args.db).await?;
        for (observed, spec_host) in &config.spec.hosts {
            crate::store::spec::map_host(&store, observed, spec_host).await?;
        }
        if let Some(hosts) = &config.hosts {
            store
                .set_scope_rules(&hosts.rules().map_err(anyhow::Error::msg)?)
                .await?;
        }
        let (reports, _, inv) = ingest_files(&store, &args.files, opts, |r| {
            if json {
                return;
            }
            match r.outcome {
                "skipped" => eprintln!("{}: already ingested (same content), skipped (--force ingests it again)", r.path),
                outcome => {
                    if outcome == "resumed" {
                        eprintln!(
                            "{}: resumed after packet {} (an earlier ingest was interrupted)",
                            r.path,
                            r.resumed_after.unwrap_or(0)
                        );
                    }
                    eprintln!(
                        "{}: {}, {}, {} new, {} updated{} ({:.2} s, {:.0} MB/s)",
                        r.path,
                        plural(r.packets, "packet", "packets"),
                        plural(r.transactions, "transaction", "transactions"),
                        plural(r.flush.created, "endpoint", "endpoints"),
                        r.flush.updated,
                        if r.flush.dropped > 0 { format!(", {} dropped (endpoint cap)", r.flush.dropped) } else { String::new() },
                        r.seconds,
                        r.bytes as f64 / 1e6 / r.seconds.max(1e-9)
                    );
                    if let Some(why) = &r.truncated {
                        eprintln!(
                            "{}: the file ends in damage ({why}): what came before it was ingested; the capture is recorded as truncated, not complete",
                            r.path
                        );
                    }
                }
            }
        })
        .await?;
        // What this run did, summed over the files it read.
        let mut total: Option<crate::ingest::RunStats> = None;
        let mut flush = FlushReport::default();
        for r in &reports {
            crate::counters::Counters::add(&mut total, &r.stats);
            flush += &r.flush;
        }
        // No totals when no file was read (all skipped).
        let caps = total.as_ref().map(|t| report::cap_drops(t, &flush)).unwrap_or_default();
        if json {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", serde_json::json!({ "files": reports, "inventory": inv }))?;
        }
        let mut err = std::io::stderr().lock();
        match args.stats {
            Some(StatsFormat::Text) => report::write_ingest_text(&mut err, total.as_ref(), &flush)?,
            Some(StatsFormat::Json) => writeln!(
                err,
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "engine": total.as_ref().map(|t| &t.engine),
                    "inventory": total.as_ref().map(|t| &t.inventory),
                    "store": flush,
                    "caps": caps,
                }))?
            )?,
            None => {
                if let Some(w) = report::cap_warning(&caps) {
                    writeln!(err, "shadowtap: {w}")?;
                }
            }
        }
        store.close().await;
        anyhow::Ok(())
    })
}
