//! `shadowtap export`: SQL dump, CSV, JSON or OpenAPI.

use super::{ExportArgs, ExportFormat, runtime};
use crate::store::Store;
use std::io::Write;

/// Runs `shadowtap export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
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
                for p in store.export_csv(dir).await? {
                    eprintln!("wrote {}", p.display());
                }
            }
            ExportFormat::Json => serde_json::to_writer_pretty(
                &mut out,
                &store.export_json(args.host.as_deref()).await?,
            )?,
            ExportFormat::Openapi => serde_json::to_writer_pretty(
                &mut out,
                &store.export_openapi(args.host.as_deref()).await?,
            )?,
        }
        out.flush()?;
        store.close().await;
        anyhow::Ok(())
    })
}
