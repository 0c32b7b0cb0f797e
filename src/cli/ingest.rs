//! `shadowtap ingest`: capture files into an inventory.

use super::{IngestArgs, runtime};
use crate::analyze::inventory::InventoryConfig;
use crate::config::Config;
use crate::ingest::{IngestOptions, ingest_files};
use crate::store::Store;

/// Runs `shadowtap ingest`.
pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let mut cfg = args.engine.config();
    cfg.http.body_sample_bytes = args.engine.body_sample.unwrap_or(64 * 1024);
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
    let json = args.json;
    runtime()?.block_on(async {
        let store = Store::open(&args.db).await?;
        for (observed, spec_host) in &config.spec.hosts {
            crate::spec::map_host(&store, observed, spec_host).await?;
        }
        let (reports, _, inv) = ingest_files(&store, &args.files, &opts, |r| {
            if !json {
                match r.outcome {
                    "ingested" => eprintln!(
                        "{}: {} packets, {} transactions, {} endpoints new, {} updated{} ({:.2} s, {:.0} MB/s)",
                        r.path,
                        r.packets,
                        r.transactions,
                        r.flush.created,
                        r.flush.updated,
                        if r.flush.dropped > 0 { format!(", {} dropped (endpoint cap)", r.flush.dropped) } else { String::new() },
                        r.seconds,
                        r.bytes as f64 / 1e6 / r.seconds.max(1e-9)
                    ),
                    "skipped" => eprintln!("{}: already ingested (same content), skipped", r.path),
                    _ => eprintln!("{}: an earlier ingest of this file was interrupted; not ingested again", r.path),
                }
            }
        })
        .await?;
        if json {
            println!("{}", serde_json::json!({ "files": reports, "inventory": inv }));
        }
        store.close().await;
        anyhow::Ok(())
    })
}
