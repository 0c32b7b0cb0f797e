//! `shadowtap code scan`: the routes source code declares (issue 19), found by parsing it.

use super::{CodeCommand, CodeScanArgs, TableFormat, clean};
use crate::code::{self, DeclaredRoute, ScanLimits, ScanReport};
use serde_json::json;
use std::io::Write;

/// Runs a `shadowtap code` subcommand.
pub fn run(cmd: &CodeCommand) -> anyhow::Result<()> {
    match cmd {
        CodeCommand::Scan(args) => scan(args),
    }
}

fn scan(args: &CodeScanArgs) -> anyhow::Result<()> {
    for dir in &args.dirs {
        if !dir.is_dir() {
            anyhow::bail!("{}: not a directory", dir.display());
        }
    }
    let limits = ScanLimits {
        max_file_bytes: args.max_file_bytes,
        ..ScanLimits::default()
    };
    let report = code::scan(&args.dirs, limits);
    let mut out = std::io::stdout().lock();
    out.write_all(render(&report, args.format).as_bytes())?;
    out.flush()?;
    drop(out);
    let w = &report.walk;
    let p = &report.parse;
    eprintln!(
        "{} route{} in {} file{} ({} with syntax errors, {} unparsed; skipped: {} too large, {} over the file cap, {} unreadable)",
        report.routes.len(),
        if report.routes.len() == 1 { "" } else { "s" },
        w.files,
        if w.files == 1 { "" } else { "s" },
        p.with_errors,
        p.failed,
        w.too_large,
        w.over_count,
        w.unreadable,
    );
    if let Some(db) = &args.db {
        store(db, &args.dirs, &args.hosts, &report)?;
    }
    Ok(())
}

/// Stores the scan in the inventory at `db` and re-assesses it.
fn store(
    db: &std::path::Path,
    dirs: &[std::path::PathBuf],
    hosts: &[String],
    report: &ScanReport,
) -> anyhow::Result<()> {
    // One name per set of directories, wherever the command runs from.
    let name = dirs
        .iter()
        .map(|d| {
            std::fs::canonicalize(d)
                .unwrap_or_else(|_| d.clone())
                .to_string_lossy()
                .into_owned()
        })
        .collect::<Vec<_>>()
        .join(" ");
    super::runtime()?.block_on(async {
        // A sensor's file, or the fleet's centre (as its owner role): the scan is joined with
        // every sensor's endpoints there.
        let (inventory, label) = match super::central_url(db) {
            Some(url) => (
                crate::store::db::Db::Pg(crate::fleet::central::open(url).await?),
                crate::store::pg::PgInventory::label(url),
            ),
            None => (
                crate::store::Store::open(db).await?.db(),
                db.display().to_string(),
            ),
        };
        let stored = crate::store::code::store_scan_on(&inventory, &name, hosts, report).await?;
        let a = crate::store::spec::assess_on(&inventory).await?;
        eprintln!(
            "{}: {} stored{}",
            label,
            crate::counters::plural(stored.routes, "route", "routes"),
            if stored.replaced {
                " (replacing the earlier scan of these directories)"
            } else {
                ""
            }
        );
        eprintln!("inventory: {}", a.summary());
        match inventory {
            crate::store::db::Db::Sqlite(pool) => pool.close().await,
            crate::store::db::Db::Pg(pool) => pool.close().await,
        }
        anyhow::Ok(())
    })
}

/// The columns of the table and TSV outputs.
const COLUMNS: [&str; 7] = [
    "method",
    "path",
    "framework",
    "file",
    "line",
    "handler",
    "auth",
];

/// One route's cells, escaped for a terminal or a TSV reader (no control character, tab
/// or newline is printed raw).
fn cells(r: &DeclaredRoute) -> [String; 7] {
    [
        clean(&r.method),
        clean(&r.path),
        r.framework.name().to_string(),
        clean(&r.file.to_string_lossy()),
        r.line.to_string(),
        clean(r.handler.as_deref().unwrap_or_default()),
        clean(&r.auth.join(",")),
    ]
}

/// The report in a format: JSON (paths lossy where not UTF-8), TSV with a header, or an
/// aligned table.
pub fn render(report: &ScanReport, format: TableFormat) -> String {
    match format {
        TableFormat::Json => {
            let routes: Vec<_> = report
                .routes
                .iter()
                .map(|r| {
                    json!({
                        "method": r.method,
                        "path": r.path,
                        "framework": r.framework.name(),
                        "file": r.file.to_string_lossy(),
                        "line": r.line,
                        "handler": r.handler,
                        "auth": r.auth,
                    })
                })
                .collect();
            let doc = json!({ "routes": routes, "walk": report.walk, "parse": report.parse });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )
        }
        TableFormat::Tsv => {
            let mut s = COLUMNS.join("\t");
            s.push('\n');
            for r in &report.routes {
                s.push_str(&cells(r).join("\t"));
                s.push('\n');
            }
            s
        }
        TableFormat::Table => {
            let rows: Vec<[String; 7]> = report.routes.iter().map(cells).collect();
            let mut width: Vec<usize> = COLUMNS.iter().map(|c| c.len()).collect();
            for row in &rows {
                for (w, c) in width.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count()).min(70);
                }
            }
            let line = |cells: &[String]| {
                cells
                    .iter()
                    .zip(&width)
                    .map(|(c, w)| {
                        let c: String = c.chars().take(*w).collect();
                        format!("{c:<w$}", w = *w)
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            let header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
            let mut s = line(&header);
            s.push('\n');
            for row in &rows {
                s.push_str(&line(row));
                s.push('\n');
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Framework;
    use std::path::PathBuf;

    #[test]
    fn no_output_format_prints_a_control_character_raw() {
        let report = ScanReport {
            routes: vec![DeclaredRoute {
                method: "GET".into(),
                path: "/a\tb\u{1b}[31m/\u{202e}x".into(),
                file: PathBuf::from("src/evil\nname.js"),
                line: 3,
                handler: Some("h\r".into()),
                framework: Framework::Express,
                auth: vec!["requireAuth\u{7}".into()],
            }],
            ..ScanReport::default()
        };
        for format in [TableFormat::Table, TableFormat::Tsv] {
            let out = render(&report, format);
            let body = out.lines().nth(1).unwrap();
            assert!(
                !body.chars().any(|c| c.is_control() && c != '\t'),
                "{format:?}: {body:?}"
            );
            assert!(!body.contains('\u{202e}'));
            assert_eq!(out.lines().count(), 2, "{format:?}");
        }
        let tsv = render(&report, TableFormat::Tsv);
        assert_eq!(tsv.lines().nth(1).unwrap().split('\t').count(), 7);
        let json = render(&report, TableFormat::Json);
        assert!(!json.contains('\u{1b}') && !json.contains('\u{202e}') || json.contains("\\u"));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["routes"][0]["line"], 3);
    }
}
