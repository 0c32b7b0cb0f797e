//! `shadowtap findings`: posture findings as a table, JSON or SARIF, with their triage state;
//! `shadowtap findings triage`: sets a finding's triage state.

use super::{FindingsArgs, FindingsCommand, FindingsFormat, FindingsListArgs, TriageArgs};
use super::{central_url, clean, runtime};
use crate::analyze::posture::Severity;
use crate::store::dashboard::{FindingQuery, StateFilter};
use crate::store::db::Db;
use crate::store::pg::PgInventory;
use crate::store::{FindingListing, Store, TriageState};

pub use crate::web::sarif::{SARIF_SCHEMA, sarif};

/// Runs `shadowtap findings` (the listing, or `triage`).
pub fn run(args: &FindingsArgs) -> anyhow::Result<()> {
    match &args.command {
        Some(FindingsCommand::Triage(t)) => triage(t),
        Some(FindingsCommand::List(l)) => list(l),
        None => list(&args.list),
    }
}

/// The actor of a CLI change: `--by`, else `$USER`, else `cli`.
fn actor(by: &Option<String>) -> String {
    by.clone()
        .filter(|b| !b.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "cli".into())
}

/// Runs `shadowtap findings triage`.
fn triage(args: &TriageArgs) -> anyhow::Result<()> {
    let state = TriageState::parse(&args.state).map_err(|e| anyhow::anyhow!("--state: {e}"))?;
    let by = actor(&args.by);
    let e = runtime()?.block_on(async {
        // A sensor's file, or the centre as its owner role (the reader role may not write).
        let (db, store) = match central_url(&args.db) {
            Some(url) => (Db::Pg(crate::fleet::central::open(url).await?), None),
            None => {
                let store = Store::open(&args.db).await?;
                (store.db(), Some(store))
            }
        };
        let r = crate::store::triage::set_triage_on(
            &db,
            &args.finding,
            state,
            &by,
            &args.reason,
            crate::time::Timestamp::now().as_nanos(),
        )
        .await;
        match (store, &db) {
            (Some(store), _) => store.close().await,
            (None, Db::Pg(pool)) => pool.close().await,
            (None, Db::Sqlite(_)) => {}
        }
        anyhow::Ok(r?)
    })?;
    println!(
        "{}: {} -> {} by {}{}",
        clean(&e.dedup_key),
        e.from_state,
        e.to_state,
        clean(&e.actor),
        if e.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", clean(&e.reason))
        }
    );
    Ok(())
}

/// Runs the listing.
fn list(args: &FindingsListArgs) -> anyhow::Result<()> {
    let min = Severity::parse(&args.min_severity).ok_or_else(|| {
        anyhow::anyhow!("--min-severity takes info, low, medium, high or critical")
    })?;
    let state = match &args.state {
        Some(s) => StateFilter::parse(s)
            .ok_or_else(|| anyhow::anyhow!("--state takes {}", StateFilter::names().join(", ")))?,
        None if args.include_suppressed => StateFilter::All,
        None => StateFilter::NotSuppressed,
    };
    let db = args
        .db
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("--db PATH is required"))?;
    let query = FindingQuery {
        state,
        limit: i64::MAX,
        ..Default::default()
    };
    let rows = runtime()?.block_on(async {
        if let Some(url) = central_url(db) {
            let centre = PgInventory::open(url).await?;
            let rows = centre.findings_listing_matching(&query).await;
            centre.close().await;
            return anyhow::Ok(rows?);
        }
        let store = Store::open_read_only(db).await?;
        let rows = store.findings_listing_matching(&query).await;
        store.close().await;
        anyhow::Ok(rows?)
    })?;
    let mut findings: Vec<FindingListing> = rows
        .into_iter()
        .filter(|f| Severity::parse(&f.severity).unwrap_or(Severity::Info) >= min)
        .collect();
    findings.sort_by(|a, b| {
        let sa = Severity::parse(&a.severity).unwrap_or(Severity::Info);
        let sb = Severity::parse(&b.severity).unwrap_or(Severity::Info);
        sb.cmp(&sa)
            .then(a.kind.cmp(&b.kind))
            .then(a.host.cmp(&b.host))
            .then(a.path_template.cmp(&b.path_template))
    });
    match args.format {
        FindingsFormat::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        FindingsFormat::Sarif => println!("{}", serde_json::to_string_pretty(&sarif(&findings))?),
        FindingsFormat::Table => {
            for f in &findings {
                let what = match (&f.method, &f.path_template) {
                    (Some(m), Some(p)) => format!("{m} {}{p}", f.host.clone().unwrap_or_default()),
                    _ => f.host.clone().unwrap_or_default(),
                };
                println!(
                    "#{:<6} {:<8} {:<14} {:<30} {}{}  ×{}",
                    f.id,
                    f.severity.to_uppercase(),
                    f.triage_state,
                    f.kind,
                    clean(&what),
                    f.client
                        .as_ref()
                        .map(|c| format!(" (client {})", clean(c)))
                        .unwrap_or_default(),
                    f.count
                );
                println!("         {}", clean(&f.detail));
                if let (Some(by), Some(reason)) = (&f.triage_by, &f.triage_reason) {
                    println!(
                        "         {} by {}{}",
                        f.triage_state,
                        clean(by),
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", clean(reason))
                        }
                    );
                }
            }
            println!("{} findings", findings.len());
        }
    }
    Ok(())
}
