//! `shadowtap export`: SQL dump, CSV, JSON, OpenAPI or SARIF (findings triaged as false
//! positives left out of CSV, JSON and SARIF unless `--include-suppressed`).

use super::{ExportArgs, ExportFormat, central_url, runtime};
use crate::store::Store;
use crate::store::dashboard::{FindingQuery, StateFilter};
use crate::store::pg::PgInventory;
use std::io::Write;

/// Runs `shadowtap export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    if let Some(url) = central_url(&args.db) {
        return runtime()?.block_on(central(args, url));
    }
    runtime()?.block_on(async {
        let store = Store::open_read_only(&args.db).await?;
        let mut out: Box<dyn Write> = match (&args.out, args.format) {
            (_, ExportFormat::Csv) => Box::new(std::io::sink()),
            (Some(p), _) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
            (None, _) => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        };
        match args.format {
            ExportFormat::Sql => store.export_sql(&mut out).await?,
            ExportFormat::Csv => {
                let dir = args
                    .out
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("--format csv needs --out DIRECTORY"))?;
                for p in store.export_csv_with(dir, args.include_suppressed).await? {
                    eprintln!("wrote {}", p.display());
                }
            }
            ExportFormat::Json => serde_json::to_writer_pretty(
                &mut out,
                &store
                    .export_json_with(args.host.as_deref(), args.include_suppressed)
                    .await?,
            )?,
            ExportFormat::Openapi => serde_json::to_writer_pretty(
                &mut out,
                &store.export_openapi(args.host.as_deref()).await?,
            )?,
            ExportFormat::Sarif => {
                let rows = store
                    .findings_listing_matching(&crate::store::dashboard::FindingQuery {
                        host: args.host.clone(),
                        state: if args.include_suppressed {
                            crate::store::dashboard::StateFilter::All
                        } else {
                            crate::store::dashboard::StateFilter::NotSuppressed
                        },
                        limit: i64::MAX,
                        ..Default::default()
                    })
                    .await?;
                serde_json::to_writer_pretty(&mut out, &super::findings::sarif(&rows))?
            }
        }
        out.flush()?;
        store.close().await;
        anyhow::Ok(())
    })
}

/// `export` of a fleet's central inventory on PostgreSQL: csv, json and sarif.
async fn central(args: &ExportArgs, url: &str) -> anyhow::Result<()> {
    let format = match args.format {
        ExportFormat::Sql => anyhow::bail!(
            "--format sql writes a SQLite dump; a central inventory on PostgreSQL is dumped with pg_dump"
        ),
        ExportFormat::Openapi => anyhow::bail!(
            "--format openapi reads a SQLite inventory only (the centre lacks the gRPC and GraphQL \
             figures it lists); export it from a sensor's file"
        ),
        f => f,
    };
    let centre = PgInventory::open(url).await?;
    let r = async {
        let mut out: Box<dyn Write> = match (&args.out, format) {
            (_, ExportFormat::Csv) => Box::new(std::io::sink()),
            (Some(p), _) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
            (None, _) => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        };
        match format {
            ExportFormat::Csv => {
                let dir = args
                    .out
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("--format csv needs --out DIRECTORY"))?;
                for p in centre.export_csv_with(dir, args.include_suppressed).await? {
                    eprintln!("wrote {}", p.display());
                }
            }
            ExportFormat::Json => serde_json::to_writer_pretty(
                &mut out,
                &centre
                    .export_json_with(args.host.as_deref(), args.include_suppressed)
                    .await?,
            )?,
            _ => {
                let rows = centre
                    .findings_listing_matching(&FindingQuery {
                        host: args.host.clone(),
                        state: if args.include_suppressed {
                            StateFilter::All
                        } else {
                            StateFilter::NotSuppressed
                        },
                        limit: i64::MAX,
                        ..Default::default()
                    })
                    .await?;
                serde_json::to_writer_pretty(&mut out, &super::findings::sarif(&rows))?
            }
        }
        out.flush()?;
        anyhow::Ok(())
    }
    .await;
    centre.close().await;
    r
}
