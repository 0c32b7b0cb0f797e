//! `shadowtap spec import|diff`.

use super::{SpecCommand, SpecImportArgs, clean, runtime};
use crate::store::Store;

/// Runs a `spec` subcommand.
pub fn run(cmd: &SpecCommand) -> anyhow::Result<()> {
    match cmd {
        SpecCommand::Import(args) if super::central_url(&args.db).is_some() => {
            runtime()?.block_on(import_central(args))
        }
        // A document that cannot be imported leaves no new inventory behind.
        SpecCommand::Import(args) => super::removed_on_failure(&args.db, || run_in(cmd)),
        SpecCommand::Diff(args) if super::central_url(&args.db).is_some() => anyhow::bail!(
            "spec diff reads a sensor's file; on the centre, the dashboard's Spec page (`shadowtap serve --db {}`, /spec and /api/spec) and the views api_endpoints (classification) and api_drift list the same",
            crate::store::pg::PgInventory::label(super::central_url(&args.db).unwrap_or_default())
        ),
        SpecCommand::Diff(_) => run_in(cmd),
    }
}

/// `spec import --db postgres://...`: the document, the host mappings and the `[hosts]`
/// rules go to the fleet's centre, whose assessment then judges every sensor's endpoints
/// against it (as `shadowtap central` does after each round). Runs as the centre's owner
/// role (the reader role may not write).
async fn import_central(args: &SpecImportArgs) -> anyhow::Result<()> {
    let url = super::central_url(&args.db).unwrap_or_default();
    let content = crate::store::spec::read_bounded(&args.file, crate::openapi::bounds::MAX_DOC)?;
    let pool = crate::fleet::central::open(url).await?;
    let db = crate::store::db::Db::Pg(pool.clone());
    if let Some(path) = &args.config {
        let config = crate::config::Config::load(path)?;
        for (observed, spec_host) in &config.spec.hosts {
            crate::store::spec::map_host_on(&db, observed, spec_host).await?;
        }
        if let Some(hosts) = &config.hosts {
            let rules = hosts.rules().map_err(anyhow::Error::msg)?;
            crate::store::scope::set_scope_rules_on(&db, &rules).await?;
        }
    }
    for m in &args.map_host {
        let (observed, spec) = m
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--map-host takes OBSERVED=SPECHOST, got {m:?}"))?;
        crate::store::spec::map_host_on(&db, observed, spec).await?;
    }
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let r = crate::store::spec::import_on(&db, &name, &content, &Default::default())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    print_import(args, &r);
    pool.close().await;
    Ok(())
}

/// What an import says: the document, then the inventory's classification.
fn print_import(args: &SpecImportArgs, r: &crate::store::spec::ImportReport) {
    println!(
        "{}: {} {} ({}), {}{}",
        args.file.display(),
        if r.title.is_empty() {
            "(untitled)".to_string()
        } else {
            clean(&r.title)
        },
        clean(&r.version),
        r.format,
        crate::counters::plural(r.operations as u64, "operation", "operations"),
        if r.already_imported {
            " (already imported)"
        } else {
            ""
        }
    );
    println!("inventory: {}", r.assessment.summary());
}

fn run_in(cmd: &SpecCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match cmd {
            SpecCommand::Import(args) => {
                // At most the size limit is read (a device or a huge file is refused), before
                // the database is touched.
                let content = crate::store::spec::read_bounded(&args.file, crate::openapi::bounds::MAX_DOC)?;
                let store = Store::open(&args.db).await?;
                if let Some(path) = &args.config {
                    let config = crate::config::Config::load(path)?;
                    for (observed, spec_host) in &config.spec.hosts {
                        crate::store::spec::map_host(&store, observed, spec_host).await?;
                    }
                    if let Some(hosts) = &config.hosts {
                        store.set_scope_rules(&hosts.rules().map_err(anyhow::Error::msg)?).await?;
                    }
                }
                for m in &args.map_host {
                    let (observed, spec) = m.split_once('=').ok_or_else(|| anyhow::anyhow!("--map-host takes OBSERVED=SPECHOST, got {m:?}"))?;
                    crate::store::spec::map_host(&store, observed, spec).await?;
                }
                let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let r = crate::store::spec::import(&store, &name, &content).await.map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
                print_import(args, &r);
                store.close().await;
            }
            SpecCommand::Diff(args) => {
                let store = Store::open_read_only(&args.db).await?;
                let diff = store.spec_diff(args.host.as_deref()).await?;
                if args.json {
                    println!("{}", serde_json::to_string(&diff)?);
                } else {
                    if diff.specs == 0 && diff.code_scans == 0 {
                        println!("No API description imported: run `shadowtap spec import --db {} FILE`.", args.db.display());
                    }
                    for r in &diff.endpoints {
                        println!(
                            "{:<8} {:<7} {}{}  ({} requests)",
                            r.classification,
                            clean(&r.method),
                            clean(&r.host),
                            clean(&r.path_template),
                            r.request_count
                        );
                    }
                    for u in &diff.uncovered {
                        println!(
                            "uncovered {}  ({}, {}): no imported description covers this host",
                            clean(&u.host),
                            crate::counters::plural(u.endpoints, "endpoint", "endpoints"),
                            crate::counters::plural(u.requests, "request", "requests")
                        );
                    }
                    for r in &diff.code {
                        let why = match r.kind.as_str() {
                            "undeclared" => "served, declared in no scanned code".to_string(),
                            "unobserved" => format!("declared at {}, never observed", clean(r.declared_at.as_deref().unwrap_or("?"))),
                            "not_enforced" => format!("declared auth {} at {}, yet answered 2xx without credentials", clean(&r.declared_auth), clean(r.declared_at.as_deref().unwrap_or("?"))),
                            _ => format!("no auth declared at {}, enforced outside the code", clean(r.declared_at.as_deref().unwrap_or("?"))),
                        };
                        println!(
                            "{:<12} {:<7} {}{}  ({} requests): {why}",
                            r.kind,
                            clean(&r.method),
                            clean(&r.host),
                            clean(&r.path_template),
                            r.request_count
                        );
                    }
                    for r in &diff.drift {
                        println!(
                            "drift    {:<7} {}{}  {}: {}",
                            clean(&r.method),
                            clean(&r.host),
                            clean(&r.path_template),
                            r.kind,
                            clean(&r.detail)
                        );
                    }
                }
                store.close().await;
            }
        }
        anyhow::Ok(())
    })
}
