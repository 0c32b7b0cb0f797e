//! `shadowtap demo`: ingests the bundled captures (and their OpenAPI documents) into a fresh
//! inventory and serves the dashboard over it.

use super::{DemoArgs, runtime};
use crate::counters::plural;
use crate::ingest::{IngestOptions, ingest_files};
use crate::store::Store;
use crate::web::spec_import::{self, ImportError};
use crate::web::{self, AppState, AuthConfig};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The default `--listen` of `demo`: when it is busy, the demo picks a free port instead.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The captures directory: as given, or the repository's when run through cargo elsewhere.
fn captures_dir(given: &Path) -> anyhow::Result<PathBuf> {
    if given.is_dir() {
        return Ok(given.to_path_buf());
    }
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    if given == Path::new("captures") && bundled.is_dir() {
        return Ok(bundled);
    }
    anyhow::bail!(
        "no captures directory at {} (run the demo from the repository root, or pass --captures DIR)",
        given.display()
    )
}

fn files_with(dir: &Path, suffixes: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The default demo inventory: `shadowtap-demo/inventory.db` under `tmp`, one directory for
/// every run, each run starting it afresh (the previous run's inventory, its write-ahead log
/// and its key are removed), so that demos do not pile up directories.
fn demo_db(tmp: &Path) -> anyhow::Result<PathBuf> {
    let dir = tmp.join("shadowtap-demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join("inventory.db");
    for suffix in ["", "-wal", "-shm", ".key"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| {
                    format!(
                        "removing the previous demo inventory {}",
                        Path::new(&p).display()
                    )
                });
            }
            _ => {}
        }
    }
    Ok(db)
}

/// Runs `shadowtap demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let dir = captures_dir(&args.captures)?;
    let pcaps = files_with(&dir, &[".pcap", ".pcapng"])?;
    anyhow::ensure!(!pcaps.is_empty(), "no capture files in {}", dir.display());
    let specs = files_with(&dir, &[".openapi.yaml", ".openapi.yml", ".openapi.json"])?;
    let db = match &args.db {
        Some(p) => p.clone(),
        None => demo_db(&std::env::temp_dir())?,
    };
    // The bundled captures' own settings (their scenarios last seconds, not hours).
    let mut opts = IngestOptions::default();
    let config_file = dir.join("shadowtap.toml");
    let mut scope_rules = None;
    if config_file.is_file() {
        let config = crate::config::Config::load(&config_file)?;
        scope_rules = config
            .hosts
            .as_ref()
            .map(|h| h.rules())
            .transpose()
            .map_err(anyhow::Error::msg)?;
        opts.inventory.pinned = config
            .templates
            .iter()
            .map(|t| (t.host.clone(), t.path.clone()))
            .collect();
        config.sequences.apply(&mut opts.inventory.sequence);
    }
    // The key logs the TLS captures were recorded with (`<name>.keys`): their encrypted APIs
    // are decrypted into the same inventory, as `--keylog` does.
    let key_files = files_with(&dir, &[".keys"])?;
    if !key_files.is_empty() {
        let mut log =
            crate::tls::keylog::KeyLog::new(crate::tls::keylog::KeyLog::DEFAULT_MAX_ENTRIES);
        for f in &key_files {
            let text = std::fs::read(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            log.add_text(&text);
        }
        opts.engine.tls.keys = Some(std::sync::Arc::new(crate::tls::KeyStore::fixed(log)));
    }
    // The protobuf descriptor sets beside the captures (`<name>.desc`): gRPC message fields
    // are named from them, as `--proto-descriptor` does.
    let desc_files = files_with(&dir, &[".desc"])?;
    if !desc_files.is_empty() {
        opts.inventory.grpc_descriptors = Some(std::sync::Arc::new(
            crate::analyze::grpc::Descriptors::load_all(&desc_files)?,
        ));
    }
    runtime()?.block_on(async {
        // The port first: when it is busy, nothing has been done yet.
        let auth = AuthConfig {
            allow_spec_upload: args.allow_spec_upload,
            ..AuthConfig::default()
        };
        let listener = if args.no_serve {
            None
        } else {
            Some(match web::bind(&args.listen, &auth).await {
                Ok(l) => l,
                Err(e) if args.listen == DEFAULT_LISTEN => {
                    eprintln!("shadowtap demo: {e}; using a free port instead");
                    web::bind("127.0.0.1:0", &auth)
                        .await
                        .map_err(anyhow::Error::msg)?
                }
                Err(e) => anyhow::bail!("{e} (give --listen a free address)"),
            })
        };
        let started = std::time::Instant::now();
        eprintln!(
            "shadowtap demo: ingesting {} from {} into {}",
            plural(pcaps.len() as u64, "capture", "captures"),
            dir.display(),
            db.display()
        );
        if !key_files.is_empty() {
            eprintln!(
                "shadowtap demo: decrypting TLS with the {} beside them",
                plural(key_files.len() as u64, "key log", "key logs")
            );
        }
        let store = Store::open(&db).await?;
        if let Some(rules) = &scope_rules {
            store.set_scope_rules(rules).await?;
        }
        let (reports, _, _) = ingest_files(&store, &pcaps, &opts, |r| {
            let name = Path::new(&r.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| r.path.clone());
            match r.outcome {
                "ingested" => eprintln!(
                    "  {name}: {}, {} new",
                    plural(r.transactions, "transaction", "transactions"),
                    plural(r.flush.created, "endpoint", "endpoints")
                ),
                other => eprintln!("  {name}: {other}"),
            }
        })
        .await?;
        store.close().await;
        for spec in &specs {
            let name = spec
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let content =
                std::fs::read(spec).with_context(|| format!("reading {}", spec.display()))?;
            match spec_import::import_spec(&db, &name, &content).await {
                Ok(o) => eprintln!("  {name}: {}", o.summary),
                Err(e @ ImportError::Unavailable) => eprintln!("  {name}: not imported ({e})"),
                Err(e) => eprintln!("  {name}: WARNING: {e}"),
            }
        }
        // The scenario servers' own code (captures/tools/code_app): its declared routes joined
        // with what was observed, as `code scan --db` does.
        let code_dir = dir.join("tools").join("code_app");
        if code_dir.is_dir() {
            let report = crate::code::scan(
                std::slice::from_ref(&code_dir),
                crate::code::ScanLimits::default(),
            );
            let name = std::fs::canonicalize(&code_dir)
                .unwrap_or_else(|_| code_dir.clone())
                .to_string_lossy()
                .into_owned();
            let store = Store::open(&db).await?;
            crate::store::code::store_scan(&store, &name, &[], &report).await?;
            let a = crate::store::spec::assess(&store).await?;
            store.close().await;
            eprintln!("  tools/code_app: {}", a.code.summary());
        }
        let transactions: u64 = reports.iter().map(|r| r.transactions).sum();
        eprintln!(
            "shadowtap demo: {} ingested in {:.1} s",
            plural(transactions, "transaction", "transactions"),
            started.elapsed().as_secs_f64()
        );
        let Some(listener) = listener else {
            println!("{}", db.display());
            return anyhow::Ok(());
        };
        let store = Store::open_read_only(&db).await?;
        let state = AppState::new(store, auth).map_err(anyhow::Error::msg)?;
        let url = web::url_of(&listener);
        println!(
            "shadowtap demo: open {url} (Ctrl-C stops; the inventory stays in {})",
            db.display()
        );
        web::serve(listener, state, super::serve::shutdown()).await?;
        anyhow::Ok(())
    })
}
