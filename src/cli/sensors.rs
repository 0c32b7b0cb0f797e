//! `shadowtap sensors`: the fleet's sensors and their health, from the centre's `api_sensors`.

use super::{SensorsArgs, TableFormat, central_url, clean, runtime, write_table};
use crate::store::Store;
use crate::store::pg::PgInventory;
use std::io::Write;

/// Runs `shadowtap sensors`.
pub fn run(args: &SensorsArgs) -> anyhow::Result<()> {
    let rows = runtime()?.block_on(async {
        if let Some(url) = central_url(&args.db) {
            let centre = PgInventory::open(url).await?;
            let rows = centre.sensors().await;
            centre.close().await;
            return anyhow::Ok(rows?);
        }
        let store = Store::open_read_only(&args.db).await?;
        let rows = store.sensors().await;
        store.close().await;
        anyhow::Ok(rows?)
    })?;
    let mut out = std::io::stdout().lock();
    match args.format {
        TableFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        TableFormat::Tsv => {
            writeln!(out, "{}", COLUMNS.join("\t"))?;
            for r in &rows {
                let cells = [
                    clean(&r.sensor),
                    clean(&r.version),
                    clean(&r.host),
                    clean(&r.interfaces),
                    r.started_at.clone().unwrap_or_default(),
                    r.first_delta_at.clone(),
                    r.last_delta_at.clone(),
                    r.last_applied_at.clone(),
                    r.apply_lag_ms.to_string(),
                    r.deltas.to_string(),
                    r.parked.to_string(),
                    r.packets.to_string(),
                    r.bytes.to_string(),
                    r.kernel_dropped.to_string(),
                    r.if_dropped.to_string(),
                    r.queue_dropped.to_string(),
                    r.cap_drops.to_string(),
                ];
                writeln!(out, "{}", cells.join("\t"))?;
            }
        }
        TableFormat::Table => {
            if rows.is_empty() {
                writeln!(
                    out,
                    "no sensors: a sensor's own inventory lists none; give the centre's URL \
                     (--db postgres://...) to list the fleet"
                )?;
                return Ok(());
            }
            let cols = [
                "sensor",
                "version",
                "host",
                "interfaces",
                "last delta",
                "lag_ms",
                "deltas",
                "parked",
                "packets",
                "dropped",
                "cap_drops",
            ];
            let data = rows
                .iter()
                .map(|r| {
                    vec![
                        clean(&r.sensor),
                        clean(&r.version),
                        clean(&r.host),
                        clean(&r.interfaces),
                        r.last_delta_at.clone(),
                        r.apply_lag_ms.to_string(),
                        r.deltas.to_string(),
                        r.parked.to_string(),
                        r.packets.to_string(),
                        (r.kernel_dropped + r.if_dropped + r.queue_dropped).to_string(),
                        r.cap_drops.to_string(),
                    ]
                })
                .collect();
            write_table(&mut out, &cols, data)?;
            writeln!(out, "{} sensors", rows.len())?;
        }
    }
    Ok(())
}

/// The columns of `--format tsv`: `api_sensors`'s.
const COLUMNS: [&str; 17] = [
    "sensor",
    "version",
    "host",
    "interfaces",
    "started_at",
    "first_delta_at",
    "last_delta_at",
    "last_applied_at",
    "apply_lag_ms",
    "deltas",
    "parked",
    "packets",
    "bytes",
    "kernel_dropped",
    "if_dropped",
    "queue_dropped",
    "cap_drops",
];
