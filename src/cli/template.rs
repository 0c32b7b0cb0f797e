//! `shadowtap template pin|unpin|list`: correct and explain the learned templates.

use super::{TemplateCommand, clean, runtime};
use crate::analyze::template::TemplateLearner;
use crate::store::Store;
use std::io::Write;

/// Runs a `template` subcommand.
pub fn run(cmd: &TemplateCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match cmd {
            TemplateCommand::Pin(args) => {
                let mut learner = TemplateLearner::new();
                for t in &args.templates {
                    learner
                        .pin(t)
                        .map_err(|e| anyhow::anyhow!("{t}: {e}"))?;
                }
                let store = Store::open(&args.db).await?;
                for t in &args.templates {
                    let added = store.add_pin(args.host.as_deref(), t).await?;
                    println!(
                        "{} {}{}",
                        if added { "pinned" } else { "already pinned" },
                        clean(t),
                        args.host
                            .as_deref()
                            .map(|h| format!(" on {}", clean(h)))
                            .unwrap_or_else(|| " on every host".into())
                    );
                }
                let r = store.apply_pins(&learner, args.host.as_deref()).await?;
                println!(
                    "stored endpoints: {} renamed, {} merged into the pinned templates",
                    r.renamed, r.merged
                );
                store.close().await;
            }
            TemplateCommand::Unpin(args) => {
                let store = Store::open(&args.db).await?;
                for t in &args.templates {
                    let removed = store.remove_pin(args.host.as_deref(), t).await?;
                    println!(
                        "{} {}",
                        if removed { "unpinned" } else { "was not pinned:" },
                        clean(t)
                    );
                }
                println!(
                    "stored endpoints keep their templates; traffic from now on is templated by learning"
                );
                store.close().await;
            }
            TemplateCommand::List(args) => {
                let store = Store::open_read_only(&args.db).await?;
                let pins = store.pins().await?;
                let learned = if args.learned {
                    store
                        .learned_templates(args.host.as_deref(), args.limit)
                        .await?
                } else {
                    Vec::new()
                };
                store.close().await;
                let mut out = std::io::stdout().lock();
                if args.json {
                    writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "pins": pins,
                            "learned": learned.iter().map(|l| serde_json::json!({
                                "host": l.host,
                                "path_template": l.path_template,
                                "methods": l.methods,
                                "requests": l.requests,
                                "template_rule": l.template_rule,
                                "confidence": l.confidence,
                                "explain": serde_json::from_str::<serde_json::Value>(&l.explain).unwrap_or_default(),
                            })).collect::<Vec<_>>(),
                        }))?
                    )?;
                    return Ok(());
                }
                if pins.is_empty() {
                    writeln!(out, "no pinned templates")?;
                } else {
                    writeln!(out, "pinned templates:")?;
                    for p in &pins {
                        writeln!(
                            out,
                            "  {}  {}  (since {})",
                            clean(p.host.as_deref().unwrap_or("*")),
                            clean(&p.path_template),
                            p.created_at
                        )?;
                    }
                }
                if args.learned {
                    writeln!(out, "learned templates (busiest first):")?;
                    for l in &learned {
                        writeln!(
                            out,
                            "  {} {} [{}] {} requests, confidence {:.2}",
                            clean(&l.host),
                            clean(&l.path_template),
                            clean(&l.methods),
                            l.requests,
                            l.confidence
                        )?;
                        let explain: serde_json::Value =
                            serde_json::from_str(&l.explain).unwrap_or_default();
                        for seg in explain.as_array().into_iter().flatten() {
                            let why = seg["why"].as_str().unwrap_or("");
                            if seg["param"].as_bool().unwrap_or(false) || !why.is_empty() {
                                writeln!(
                                    out,
                                    "      {}  {} {:.2}{}",
                                    clean(seg["segment"].as_str().unwrap_or("")),
                                    clean(seg["rule"].as_str().unwrap_or("")),
                                    seg["confidence"].as_f64().unwrap_or(0.0),
                                    if why.is_empty() {
                                        String::new()
                                    } else {
                                        format!(": {}", clean(why))
                                    }
                                )?;
                            }
                        }
                    }
                }
            }
        }
        anyhow::Ok(())
    })
}
