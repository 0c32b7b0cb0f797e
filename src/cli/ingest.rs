//! `shadowtap ingest`: capture files into an inventory.

use super::{IngestArgs, SourceKind, StatsFormat, report, runtime};
use crate::analyze::inventory::InventoryConfig;
use crate::config::Config;
use crate::counters::plural;
use crate::ingest::{FileReport, IngestOptions, ingest_files, ingest_sources};
use crate::source::{Format, SourceConfig};
use crate::store::{FlushReport, Store};
use std::io::Write;
use std::path::PathBuf;

/// The files of one run, split by kind: captures, and access logs and HAR files with their
/// format.
struct Files {
    captures: Vec<PathBuf>,
    logs: Vec<(PathBuf, Format)>,
}

/// Sorts the files by `--source` (captures without it), checking each before the database
/// is touched.
fn classify(args: &IngestArgs) -> anyhow::Result<Files> {
    let mut files = Files {
        captures: Vec::new(),
        logs: Vec::new(),
    };
    for f in &args.files {
        let format = match args.source {
            None | Some(SourceKind::Pcap) => {
                crate::ingest::check_capture_file(f)?;
                files.captures.push(f.clone());
                continue;
            }
            Some(SourceKind::Auto) => {
                if crate::ingest::check_capture_file(f).is_ok() {
                    files.captures.push(f.clone());
                    continue;
                }
                crate::ingest::detect_source(f)?
            }
            Some(SourceKind::Har) => Format::Har,
            Some(SourceKind::Nginx | SourceKind::Apache) => Format::Combined,
            Some(SourceKind::NginxJson) => Format::NginxJson,
            Some(SourceKind::Envoy) => Format::Envoy,
            Some(SourceKind::Haproxy) => Format::Haproxy,
            Some(SourceKind::Caddy) => Format::Caddy,
            Some(SourceKind::Traefik) => Format::Traefik,
            Some(SourceKind::Alb) => Format::Alb,
            Some(SourceKind::EnvoyJson) => Format::EnvoyJson,
            Some(SourceKind::Kong) => Format::Kong,
        };
        files.logs.push((f.clone(), format));
    }
    Ok(files)
}

/// The progress line of a file (stderr).
fn print_progress(r: &FileReport) {
    if r.outcome == "skipped" {
        eprintln!(
            "{}: already ingested (same content), skipped (--force ingests it again)",
            r.path
        );
        return;
    }
    let unit = match r.format {
        Some("har") => ("entry", "entries"),
        Some(_) => ("line", "lines"),
        None => ("packet", "packets"),
    };
    if r.outcome == "resumed" {
        eprintln!(
            "{}: resumed after {} {} (an earlier ingest was interrupted)",
            r.path,
            unit.0,
            r.resumed_after.unwrap_or(0)
        );
    }
    let skipped = match (r.format, &r.stats) {
        (Some(_), Some(s)) => {
            let reasons: Vec<String> = s
                .source
                .skipped_by_reason()
                .iter()
                .map(|(why, n)| format!("{why} {n}"))
                .collect();
            if reasons.is_empty() {
                ", none skipped".to_string()
            } else {
                format!(", {} skipped ({})", s.source.skipped(), reasons.join(", "))
            }
        }
        _ => String::new(),
    };
    eprintln!(
        "{}: {}{}, {}{}, {} new, {} updated{} ({:.2} s, {:.0} MB/s)",
        r.path,
        r.format.map(|f| format!("{f}, ")).unwrap_or_default(),
        plural(r.packets, unit.0, unit.1),
        plural(r.transactions, "transaction", "transactions"),
        skipped,
        plural(r.flush.created, "endpoint", "endpoints"),
        r.flush.updated,
        if r.flush.dropped > 0 {
            format!(", {} dropped (endpoint cap)", r.flush.dropped)
        } else {
            String::new()
        },
        r.seconds,
        r.bytes as f64 / 1e6 / r.seconds.max(1e-9)
    );
    if let Some(why) = &r.truncated {
        eprintln!(
            "{}: the file ends in damage ({why}): what came before it was ingested; it is recorded as truncated, not complete",
            r.path
        );
    }
}

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
    let files = classify(args)?;
    super::removed_on_failure(&args.db, || ingest(args, &files, &config, &opts, json))
}

fn ingest(
    args: &IngestArgs,
    files: &Files,
    config: &Config,
    opts: &IngestOptions,
    json: bool,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = Store::open(&args.db).await?;
        let sensor = match &args.central {
            Some(_) => Some(store.enable_outbox(args.sensor.as_deref()).await?),
            None => None,
        };
        for (observed, spec_host) in &config.spec.hosts {
            crate::store::spec::map_host(&store, observed, spec_host).await?;
        }
        if let Some(hosts) = &config.hosts {
            store
                .set_scope_rules(&hosts.rules().map_err(anyhow::Error::msg)?)
                .await?;
        }
        let progress = |r: &FileReport| {
            if !json {
                print_progress(r);
            }
        };
        let mut reports = Vec::new();
        let mut inv = None;
        if !files.captures.is_empty() {
            let (r, _, i) = ingest_files(&store, &files.captures, opts, progress).await?;
            reports.extend(r);
            inv = Some(i);
        }
        if !files.logs.is_empty() {
            let cfg = SourceConfig {
                max_line_bytes: args.max_line_bytes,
                max_entry_bytes: args.max_har_entry_bytes,
                body_sample_bytes: opts.engine.http.body_sample_bytes,
                host: args.host.clone(),
            };
            let (r, i) = ingest_sources(&store, &files.logs, opts, &cfg, progress).await?;
            reports.extend(r);
            crate::counters::Counters::add(&mut inv, &Some(i));
        }
        let inv = inv.unwrap_or_default();
        // What this run did, summed over the files it read.
        let mut total: Option<crate::ingest::RunStats> = None;
        let mut flush = FlushReport::default();
        for r in &reports {
            crate::counters::Counters::add(&mut total, &r.stats);
            flush += &r.flush;
        }
        // No totals when no file was read (all skipped).
        let caps = total
            .as_ref()
            .map(|t| report::cap_drops(t, &flush))
            .unwrap_or_default();
        if json {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}",
                serde_json::json!({ "files": reports, "inventory": inv })
            )?;
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
        if let (Some(url), Some(sensor)) = (&args.central, &sensor) {
            ship_at_end(&store, url, sensor).await?;
        }
        store.close().await;
        anyhow::Ok(())
    })
}

/// Ships the outbox after an ingest: three tries a second or two apart; a centre still down
/// leaves the deltas in the outbox for the next `--central` run (not an error).
async fn ship_at_end(store: &Store, url: &str, sensor: &str) -> anyhow::Result<()> {
    let stats = crate::fleet::ship::ShipStats::default();
    for wait in [1, 2, 0] {
        if crate::fleet::ship::ship_round(store, url, sensor, &stats).await {
            eprintln!(
                "shadowtap: sensor {sensor}: {} delta(s) shipped to the centre ({} bytes)",
                stats.shipped.load(std::sync::atomic::Ordering::Relaxed),
                stats.bytes.load(std::sync::atomic::Ordering::Relaxed)
            );
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }
    let (n, bytes) = store.outbox_pending().await?;
    let summarised = stats.summarised.load(std::sync::atomic::Ordering::Relaxed);
    let folded = if summarised > 0 {
        format!(" ({summarised} older delta(s) folded to keep the outbox within its bound)")
    } else {
        String::new()
    };
    eprintln!(
        "shadowtap: sensor {sensor}: the centre is unreachable; {n} delta(s) ({bytes} bytes) wait in the outbox for the next --central run{folded}"
    );
    Ok(())
}
