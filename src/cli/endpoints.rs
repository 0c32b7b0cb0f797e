//! `shadowtap endpoints`: list an inventory.

use super::{EndpointsArgs, TableFormat, central_url, clean, runtime, write_table};
use crate::store::pg::PgInventory;
use crate::store::{EndpointRow, ListFilter, Store};
use std::io::Write;

/// Runs `shadowtap endpoints`.
pub fn run(args: &EndpointsArgs) -> anyhow::Result<()> {
    let filter = ListFilter {
        host: args.host.clone(),
    };
    let rows = runtime()?.block_on(async {
        if let Some(url) = central_url(&args.db) {
            let centre = PgInventory::open(url).await?;
            let rows = centre.endpoints(&filter).await;
            centre.close().await;
            return anyhow::Ok(rows?);
        }
        let store = Store::open_read_only(&args.db).await?;
        let rows = store.endpoints(&filter).await;
        store.close().await;
        anyhow::Ok(rows?)
    })?;
    let mut out = std::io::stdout().lock();
    match args.format {
        TableFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        TableFormat::Tsv => {
            writeln!(out, "{}", COLUMNS.join("\t"))?;
            for r in &rows {
                writeln!(out, "{}", cells(r).join("\t"))?;
            }
        }
        TableFormat::Table => {
            let cols = [
                "host",
                "method",
                "path_template",
                "requests",
                "errors",
                "clients",
                "auth",
                "sensitive",
                "p50_ms",
                "p99_ms",
                "class",
            ];
            let data: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        clean(&r.host),
                        clean(&r.method),
                        clean(&r.path_template),
                        r.request_count.to_string(),
                        r.error_count.to_string(),
                        r.client_count.to_string(),
                        clean(r.auth_schemes.as_deref().unwrap_or_default()),
                        clean(r.sensitive_data.as_deref().unwrap_or_default()),
                        ms(r.p50_ms),
                        ms(r.p99_ms),
                        clean(r.classification.as_deref().unwrap_or_default()),
                    ]
                })
                .collect();
            write_table(&mut out, &cols, data)?;
            writeln!(out, "{} endpoints", rows.len())?;
        }
    }
    Ok(())
}

const COLUMNS: [&str; 17] = [
    "id",
    "host",
    "method",
    "path_template",
    "first_seen",
    "last_seen",
    "request_count",
    "error_count",
    "client_count",
    "auth_schemes",
    "sensitive_data",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "documented",
    "deprecated",
    "classification",
];

fn cells(r: &EndpointRow) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let num = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
    vec![
        r.id.to_string(),
        clean(&r.host),
        clean(&r.method),
        clean(&r.path_template),
        r.first_seen.clone(),
        r.last_seen.clone(),
        r.request_count.to_string(),
        r.error_count.to_string(),
        r.client_count.to_string(),
        opt(&r.auth_schemes),
        opt(&r.sensitive_data),
        ms(r.p50_ms),
        ms(r.p90_ms),
        ms(r.p99_ms),
        num(r.documented),
        num(r.deprecated),
        opt(&r.classification),
    ]
}

fn ms(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "-".into())
}
