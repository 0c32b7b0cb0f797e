//! `shadowtap spec import|diff`.

use super::{SpecCommand, clean, runtime};
use crate::store::Store;
use sqlx::Row;

/// Runs a `spec` subcommand.
pub fn run(cmd: &SpecCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match cmd {
            SpecCommand::Import(args) => {
                // At most the size limit is read (a device or a huge file is refused), before
                // the database is touched.
                let content = crate::spec::read_bounded(&args.file, crate::spec::bounds::MAX_DOC)?;
                let store = Store::open(&args.db).await?;
                if let Some(path) = &args.config {
                    let config = crate::config::Config::load(path)?;
                    for (observed, spec_host) in &config.spec.hosts {
                        crate::spec::map_host(&store, observed, spec_host).await?;
                    }
                }
                for m in &args.map_host {
                    let (observed, spec) = m.split_once('=').ok_or_else(|| anyhow::anyhow!("--map-host takes OBSERVED=SPECHOST, got {m:?}"))?;
                    crate::spec::map_host(&store, observed, spec).await?;
                }
                let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let r = crate::spec::import(&store, &name, &content).await.map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
                let a = &r.assessment;
                println!(
                    "{}: {} {} ({}), {} operations{}",
                    args.file.display(),
                    if r.title.is_empty() { "(untitled)".to_string() } else { clean(&r.title) },
                    clean(&r.version),
                    r.format,
                    r.operations,
                    if r.already_imported { " (already imported)" } else { "" }
                );
                println!(
                    "inventory: {} documented, {} shadow, {} zombie, {} dormant; {} drift items; {} endpoint findings",
                    a.documented, a.shadow, a.zombie, a.dormant, a.drift, a.findings
                );
                store.close().await;
            }
            SpecCommand::Diff(args) => {
                let store = Store::open_read_only(&args.db).await?;
                let pool = store.pool();
                let specs: i64 = sqlx::query("SELECT COUNT(*) FROM specs").fetch_one(pool).await?.get(0);
                let rows = sqlx::query(
                    "SELECT classification, method, host, path_template, request_count FROM api_endpoints
                     WHERE classification IN ('shadow', 'zombie', 'dormant') AND (?1 IS NULL OR host = ?1)
                     ORDER BY CASE classification WHEN 'shadow' THEN 0 WHEN 'zombie' THEN 1 ELSE 2 END, host, path_template, method",
                )
                .bind(args.host.as_deref())
                .fetch_all(pool)
                .await?;
                let drift = sqlx::query(
                    "SELECT method, host, path_template, kind, item, detail FROM api_drift WHERE (?1 IS NULL OR host = ?1)
                     ORDER BY host, path_template, method, kind, item",
                )
                .bind(args.host.as_deref())
                .fetch_all(pool)
                .await?;
                if args.json {
                    let classes: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|r| serde_json::json!({"classification": r.get::<String, _>(0), "method": r.get::<String, _>(1), "host": r.get::<String, _>(2), "path_template": r.get::<String, _>(3), "request_count": r.get::<i64, _>(4)}))
                        .collect();
                    let drift: Vec<serde_json::Value> = drift
                        .iter()
                        .map(|r| serde_json::json!({"method": r.get::<String, _>(0), "host": r.get::<String, _>(1), "path_template": r.get::<String, _>(2), "kind": r.get::<String, _>(3), "item": r.get::<String, _>(4), "detail": r.get::<String, _>(5)}))
                        .collect();
                    println!("{}", serde_json::json!({"specs": specs, "endpoints": classes, "drift": drift}));
                } else {
                    if specs == 0 {
                        println!("No API description imported: run `shadowtap spec import --db {} FILE`.", args.db.display());
                    }
                    for r in &rows {
                        println!(
                            "{:<8} {:<7} {}{}  ({} requests)",
                            r.get::<String, _>(0),
                            clean(&r.get::<String, _>(1)),
                            clean(&r.get::<String, _>(2)),
                            clean(&r.get::<String, _>(3)),
                            r.get::<i64, _>(4)
                        );
                    }
                    for r in &drift {
                        println!(
                            "drift    {:<7} {}{}  {}: {}",
                            clean(&r.get::<String, _>(0)),
                            clean(&r.get::<String, _>(1)),
                            clean(&r.get::<String, _>(2)),
                            r.get::<String, _>(3),
                            clean(&r.get::<String, _>(5))
                        );
                    }
                }
                store.close().await;
            }
        }
        anyhow::Ok(())
    })
}
