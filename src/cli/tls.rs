//! `shadowtap tls`: the encrypted services of an inventory, from their TLS handshakes: versions
//! and cipher suites negotiated, ALPN, the server certificate (TLS ≤ 1.2), and who called them
//! with which client stack (JA4).

use super::{TlsArgs, clean, runtime};
use crate::store::Store;
use crate::store::tls::{TlsClientRow, TlsServiceRow};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Runs `shadowtap tls`.
pub fn run(args: &TlsArgs) -> anyhow::Result<()> {
    let (services, clients) = runtime()?.block_on(async {
        let store = Store::open_read_only(&args.db).await?;
        let s = store.tls_services(args.host.as_deref()).await;
        let c = store.tls_clients(args.host.as_deref()).await;
        store.close().await;
        anyhow::Ok((s?, c?))
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "services": services, "clients": clients }))?
        );
    } else if services.is_empty() {
        println!(
            "No TLS service{}: no TLS handshake was seen.",
            args.host
                .as_deref()
                .map(|h| format!(" for host {}", clean(h)))
                .unwrap_or_default()
        );
    } else {
        print!("{}", render(&services, &clients, args.clients));
    }
    Ok(())
}

/// `{"TLS 1.3": 4, "TLS 1.2": 1}` as `TLS 1.3 ×4, TLS 1.2 ×1`, busiest first.
fn mix(m: &BTreeMap<String, i64>) -> String {
    let mut v: Vec<(&String, &i64)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{} ×{n}", clean(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render(services: &[TlsServiceRow], clients: &[TlsClientRow], per_service: usize) -> String {
    let mut out = String::new();
    for s in services {
        let _ = writeln!(
            out,
            "{} ({}:{}) — {} handshake{}, {} client{}, {} JA4",
            clean(&s.host),
            clean(&s.server_ip),
            s.server_port,
            s.handshakes,
            if s.handshakes == 1 { "" } else { "s" },
            s.client_count,
            if s.client_count == 1 { "" } else { "s" },
            s.ja4_count,
        );
        if s.sni.is_empty() {
            let _ = writeln!(out, "  no SNI");
        }
        let _ = writeln!(out, "  versions    {}", mix(&s.versions));
        let _ = writeln!(out, "  ciphers     {}", mix(&s.ciphers));
        if !s.alpn_offered.is_empty() {
            let _ = writeln!(
                out,
                "  ALPN        offered {}; selected {}",
                mix(&s.alpn_offered),
                if s.alpn_selected.is_empty() {
                    "none".to_string()
                } else {
                    mix(&s.alpn_selected)
                }
            );
        }
        let _ = writeln!(
            out,
            "  traffic     {} resumed, {} incomplete, {} B from clients, {} B from the server",
            s.resumed, s.incomplete, s.client_bytes, s.server_bytes
        );
        if let Some(subject) = &s.cert_subject {
            let _ = writeln!(
                out,
                "  certificate {} (issuer {}{}), {} to {}, {}",
                clean(subject),
                clean(s.cert_issuer.as_deref().unwrap_or("?")),
                if s.cert_self_signed == Some(true) {
                    ", self-signed"
                } else {
                    ""
                },
                s.cert_not_before.as_deref().unwrap_or("?"),
                s.cert_not_after.as_deref().unwrap_or("?"),
                clean(s.cert_key.as_deref().unwrap_or("?")),
            );
            if !s.cert_sans.is_empty() {
                let names: Vec<String> = s.cert_sans.iter().map(|n| clean(n)).collect();
                let _ = writeln!(out, "  names       {}", names.join(", "));
            }
        }
        let mine: Vec<&TlsClientRow> = clients.iter().filter(|c| c.service_id == s.id).collect();
        for c in mine.iter().take(per_service) {
            let _ = writeln!(
                out,
                "  client      {:<15} {:<36} {:>5}×  JA4S {}",
                clean(&c.client),
                if c.ja4.is_empty() { "-" } else { &c.ja4 },
                c.handshakes,
                if c.ja4s.is_empty() { "-" } else { &c.ja4s },
            );
        }
        if mine.len() > per_service {
            let _ = writeln!(out, "  … {} more (--clients N)", mine.len() - per_service);
        }
        out.push('\n');
    }
    out
}
