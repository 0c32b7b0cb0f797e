//! Encrypted services: merging the TLS inventory's deltas (`tls_services`, `tls_clients`) in
//! the flush's transaction, and reading them back as typed rows (`shadowtap tls`, the JSON API,
//! the dashboard).

use super::db::Conn;
use super::{Store, StoreError};
use crate::analyze::tls::TlsServiceDelta;
use sqlx::{Row, Sqlite, Transaction};
use std::collections::BTreeMap;

/// Distinct names kept per counted map of a stored service (versions, ciphers, ALPN).
const MAX_NAMES: usize = 64;

/// Adds `add` to the counted map stored as JSON in `stored`, keeping at most [`MAX_NAMES`]
/// names (the busiest); returns the new JSON.
pub(crate) fn merge_counts(stored: &str, add: &BTreeMap<String, u64>) -> String {
    let mut m: BTreeMap<String, u64> = serde_json::from_str(stored).unwrap_or_default();
    for (k, v) in add {
        let c = m.entry(k.clone()).or_default();
        *c = c.saturating_add(*v);
    }
    if m.len() > MAX_NAMES {
        let mut by_count: Vec<(String, u64)> = m.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_count.truncate(MAX_NAMES);
        m = by_count.into_iter().collect();
    }
    serde_json::to_string(&m).unwrap_or_else(|_| "{}".into())
}

/// The store's caps on encrypted services.
#[derive(Clone, Copy, Debug)]
pub(super) struct TlsLimits {
    /// Services kept.
    pub max_services: i64,
    /// Client rows per service.
    pub max_clients: i64,
    /// New rows are admitted (false while the database is over its size budget).
    pub admit_new: bool,
}

/// What a merge of TLS services left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TlsMerge {
    /// New services not stored.
    pub services_dropped: u64,
    /// Client rows not stored.
    pub clients_dropped: u64,
}

/// Merges the TLS services of one flush: new services stop at `max_services` (or when new
/// rows are not admitted), client rows at `max_clients` per service.
pub(super) async fn merge_tls(
    tx: &mut Transaction<'_, Sqlite>,
    services: &[TlsServiceDelta],
    limits: TlsLimits,
) -> Result<TlsMerge, StoreError> {
    let mut out = TlsMerge::default();
    if services.is_empty() {
        return Ok(out);
    }
    let mut total: i64 = sqlx::query("SELECT COUNT(*) FROM tls_services")
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    let max_clients = limits.max_clients;
    for d in services {
        let server_ip = d.key.server_ip.to_string();
        let existing = sqlx::query(
            "SELECT versions, ciphers, alpn_offered, alpn_selected FROM tls_services
             WHERE server_ip = ? AND server_port = ? AND sni = ?",
        )
        .bind(&server_ip)
        .bind(i64::from(d.key.server_port))
        .bind(&d.key.sni)
        .fetch_optional(&mut **tx)
        .await?;
        let (versions, ciphers, offered, selected) = match &existing {
            Some(r) => (
                merge_counts(r.get::<&str, _>(0), &d.versions),
                merge_counts(r.get::<&str, _>(1), &d.ciphers),
                merge_counts(r.get::<&str, _>(2), &d.alpn_offered),
                merge_counts(r.get::<&str, _>(3), &d.alpn_selected),
            ),
            None => (
                merge_counts("{}", &d.versions),
                merge_counts("{}", &d.ciphers),
                merge_counts("{}", &d.alpn_offered),
                merge_counts("{}", &d.alpn_selected),
            ),
        };
        if existing.is_none() {
            if !limits.admit_new || total >= limits.max_services {
                out.services_dropped += 1;
                out.clients_dropped += d.clients.len() as u64;
                continue;
            }
            total += 1;
        }
        // One statement for a new service and a known one: counts add, times widen, the
        // mixes were merged above, the negotiated version and suite keep their last value.
        let id: i64 = sqlx::query(
            "INSERT INTO tls_services (host, sni, server_ip, server_port, first_seen, last_seen,
                handshakes, incomplete, resumed, client_bytes, server_bytes, versions, ciphers,
                alpn_offered, alpn_selected, version, cipher)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (server_ip, server_port, sni) DO UPDATE SET
                first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen),
                handshakes = handshakes + excluded.handshakes,
                incomplete = incomplete + excluded.incomplete,
                resumed = resumed + excluded.resumed,
                client_bytes = client_bytes + excluded.client_bytes,
                server_bytes = server_bytes + excluded.server_bytes,
                versions = excluded.versions, ciphers = excluded.ciphers,
                alpn_offered = excluded.alpn_offered, alpn_selected = excluded.alpn_selected,
                version = coalesce(excluded.version, version),
                cipher = coalesce(excluded.cipher, cipher)
             RETURNING id",
        )
        .bind(d.key.host())
        .bind(&d.key.sni)
        .bind(&server_ip)
        .bind(i64::from(d.key.server_port))
        .bind(d.first_seen.as_nanos())
        .bind(d.last_seen.as_nanos())
        .bind(d.handshakes as i64)
        .bind(d.incomplete as i64)
        .bind(d.resumed as i64)
        .bind(d.client_bytes as i64)
        .bind(d.server_bytes as i64)
        .bind(&versions)
        .bind(&ciphers)
        .bind(&offered)
        .bind(&selected)
        .bind(&d.version)
        .bind(&d.cipher)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
        if let Some(c) = &d.cert {
            sqlx::query(
                "UPDATE tls_services SET cert_subject = ?, cert_issuer = ?, cert_sans = ?,
                    cert_not_before = ?, cert_not_after = ?, cert_key = ?, cert_self_signed = ?,
                    cert_chain_len = ?, cert_sha256 = ?
                 WHERE id = ?",
            )
            .bind(&c.subject)
            .bind(&c.issuer)
            .bind(serde_json::to_string(&c.sans).unwrap_or_else(|_| "[]".into()))
            .bind(c.not_before)
            .bind(c.not_after)
            .bind(&c.key)
            .bind(i64::from(c.self_signed))
            .bind(i64::from(c.chain_len))
            .bind(&c.sha256)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        let mut held: i64 = sqlx::query("SELECT COUNT(*) FROM tls_clients WHERE service_id = ?")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?
            .get(0);
        let mut clients: Vec<_> = d.clients.iter().collect();
        clients.sort_by(|a, b| a.0.cmp(b.0));
        for ((ip, ja4, ja4s), c) in clients {
            let updated = sqlx::query(
                "UPDATE tls_clients SET handshakes = handshakes + ?,
                    first_seen = min(first_seen, ?), last_seen = max(last_seen, ?)
                 WHERE service_id = ? AND client = ? AND ja4 = ? AND ja4s = ?",
            )
            .bind(c.handshakes as i64)
            .bind(c.first_seen.as_nanos())
            .bind(c.last_seen.as_nanos())
            .bind(id)
            .bind(ip.to_string())
            .bind(ja4)
            .bind(ja4s)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if updated > 0 {
                continue;
            }
            if held >= max_clients || !limits.admit_new {
                out.clients_dropped += 1;
                continue;
            }
            sqlx::query(
                "INSERT INTO tls_clients (service_id, client, ja4, ja4s, handshakes, first_seen, last_seen)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(ip.to_string())
            .bind(ja4)
            .bind(ja4s)
            .bind(c.handshakes as i64)
            .bind(c.first_seen.as_nanos())
            .bind(c.last_seen.as_nanos())
            .execute(&mut **tx)
            .await?;
            held += 1;
        }
    }
    Ok(out)
}

/// One encrypted service as listed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TlsServiceRow {
    /// Row id.
    pub id: i64,
    /// The SNI, or the server address without one.
    pub host: String,
    /// The SNI ("" without one).
    pub sni: String,
    /// Server address.
    pub server_ip: String,
    /// Server port.
    pub server_port: i64,
    /// First handshake (ISO 8601).
    pub first_seen: String,
    /// Last event.
    pub last_seen: String,
    /// ClientHellos.
    pub handshakes: i64,
    /// Connections without a server hello.
    pub incomplete: i64,
    /// Resumed sessions.
    pub resumed: i64,
    /// Bytes after the handshake, client to server.
    pub client_bytes: i64,
    /// Bytes after the handshake, server to client.
    pub server_bytes: i64,
    /// Distinct client addresses.
    pub client_count: i64,
    /// Distinct JA4 fingerprints.
    pub ja4_count: i64,
    /// The latest negotiated version.
    pub version: Option<String>,
    /// The latest chosen cipher suite.
    pub cipher: Option<String>,
    /// Negotiated versions with their handshakes.
    pub versions: BTreeMap<String, i64>,
    /// Chosen cipher suites with their handshakes.
    pub ciphers: BTreeMap<String, i64>,
    /// ALPN protocols offered.
    pub alpn_offered: BTreeMap<String, i64>,
    /// ALPN protocols selected.
    pub alpn_selected: BTreeMap<String, i64>,
    /// Certificate subject (TLS ≤ 1.2).
    pub cert_subject: Option<String>,
    /// Certificate issuer.
    pub cert_issuer: Option<String>,
    /// Certificate names.
    pub cert_sans: Vec<String>,
    /// Certificate validity start (ISO 8601).
    pub cert_not_before: Option<String>,
    /// Certificate validity end (ISO 8601).
    pub cert_not_after: Option<String>,
    /// Key type and size.
    pub cert_key: Option<String>,
    /// Self-signed.
    pub cert_self_signed: Option<bool>,
}

/// One (client, JA4) of a service as listed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TlsClientRow {
    /// The service's row id.
    pub service_id: i64,
    /// The service's host.
    pub host: String,
    /// Client address.
    pub client: String,
    /// JA4 of its ClientHello.
    pub ja4: String,
    /// JA4S of the server's answer.
    pub ja4s: String,
    /// Handshakes.
    pub handshakes: i64,
    /// First handshake (ISO 8601).
    pub first_seen: String,
    /// Last handshake.
    pub last_seen: String,
}

fn counts(json: Option<String>) -> BTreeMap<String, i64> {
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

impl Store {
    /// Encrypted services, busiest first (`host`: only those of this host).
    pub async fn tls_services(&self, host: Option<&str>) -> Result<Vec<TlsServiceRow>, StoreError> {
        self.dashboard().tls_services(host).await
    }

    /// The clients of the encrypted services (`host`: only those of this host), busiest first.
    pub async fn tls_clients(&self, host: Option<&str>) -> Result<Vec<TlsClientRow>, StoreError> {
        self.dashboard().tls_clients(host).await
    }
}

impl crate::store::dashboard::Dashboard {
    /// Encrypted services, busiest first (`host`: only those of this host).
    pub async fn tls_services(&self, host: Option<&str>) -> Result<Vec<TlsServiceRow>, StoreError> {
        self.tls_services_in(host, &crate::store::dashboard::Window::ALL)
            .await
    }

    /// [`Self::tls_services`] whose span (first to last handshake) meets `window`.
    pub async fn tls_services_in(
        &self,
        host: Option<&str>,
        window: &crate::store::dashboard::Window,
    ) -> Result<Vec<TlsServiceRow>, StoreError> {
        let sw = window
            .span_sql("s")
            .map(|c| format!(" AND id IN (SELECT s.id FROM tls_services s WHERE {c})"))
            .unwrap_or_default();
        let rows = self
            .db
            .query(format!(
                "SELECT id, host, sni, server_ip, server_port, first_seen, last_seen, handshakes,
                incomplete, resumed, client_bytes, server_bytes, client_count, ja4_count, version,
                cipher, versions, ciphers, alpn_offered, alpn_selected, cert_subject, cert_issuer,
                cert_sans, cert_not_before, cert_not_after, cert_key, cert_self_signed
             FROM api_tls_services WHERE (?1 IS NULL OR host = ?1){sw}
             ORDER BY handshakes DESC, host, server_port"
            ))
            .bind(host)
            .fetch_all()
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| TlsServiceRow {
                id: r.get(0),
                host: r.get(1),
                sni: r.get(2),
                server_ip: r.get(3),
                server_port: r.get(4),
                first_seen: r.get(5),
                last_seen: r.get(6),
                handshakes: r.get(7),
                incomplete: r.get(8),
                resumed: r.get(9),
                client_bytes: r.get(10),
                server_bytes: r.get(11),
                client_count: r.get(12),
                ja4_count: r.get(13),
                version: r.get(14),
                cipher: r.get(15),
                versions: counts(r.get(16)),
                ciphers: counts(r.get(17)),
                alpn_offered: counts(r.get(18)),
                alpn_selected: counts(r.get(19)),
                cert_subject: r.get(20),
                cert_issuer: r.get(21),
                cert_sans: r
                    .get::<Option<String>, _>(22)
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .unwrap_or_default(),
                cert_not_before: r.get(23),
                cert_not_after: r.get(24),
                cert_key: r.get(25),
                cert_self_signed: r.get::<Option<i64>, _>(26).map(|v| v != 0),
            })
            .collect())
    }

    /// The clients of the encrypted services (`host`: only those of this host), busiest first.
    pub async fn tls_clients(&self, host: Option<&str>) -> Result<Vec<TlsClientRow>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT service_id, host, client, ja4, ja4s, handshakes, first_seen, last_seen
             FROM api_tls_clients WHERE ?1 IS NULL OR host = ?1
             ORDER BY handshakes DESC, host, client, ja4",
            )
            .bind(host)
            .fetch_all()
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| TlsClientRow {
                service_id: r.get(0),
                host: r.get(1),
                client: r.get(2),
                ja4: r.get(3),
                ja4s: r.get(4),
                handshakes: r.get(5),
                first_seen: r.get(6),
                last_seen: r.get(7),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_maps_add_and_keep_the_busiest() {
        let add: BTreeMap<String, u64> = [("TLS 1.3".to_string(), 2)].into();
        assert_eq!(
            merge_counts(r#"{"TLS 1.2":1,"TLS 1.3":3}"#, &add),
            r#"{"TLS 1.2":1,"TLS 1.3":5}"#
        );
        assert_eq!(merge_counts("not json", &add), r#"{"TLS 1.3":2}"#);
        let many: BTreeMap<String, u64> = (0..100).map(|i| (format!("p{i:03}"), i)).collect();
        let kept: BTreeMap<String, u64> = serde_json::from_str(&merge_counts("{}", &many)).unwrap();
        assert_eq!(kept.len(), MAX_NAMES);
        assert!(kept.contains_key("p099") && !kept.contains_key("p000"));
    }
}

/// The finding kinds judged on encrypted services (recomputed from the stored services at
/// every assessment).
pub const TLS_KINDS: [&str; 8] = [
    "tls_legacy_version",
    "tls_weak_cipher",
    "tls_certificate_expired",
    "tls_name_mismatch",
    "cleartext_and_tls",
    "tls_self_signed",
    "tls_no_sni",
    "tls_new_client_fingerprint",
];

/// A service's client fingerprints are learnt during its first hour (capture time): a JA4 first
/// seen later is new to it.
const FINGERPRINT_LEARNING_NS: i64 = 3600 * 1_000_000_000;
/// The learnt set is stable (worth judging newcomers against) with this many handshakes by
/// its fingerprints ...
const FINGERPRINT_STABLE_HANDSHAKES: i64 = 20;
/// ... from at most this many fingerprints (a public service called by every browser
/// version has no stable set).
const FINGERPRINT_STABLE_MAX: usize = 8;
/// New fingerprints reported per service; beyond, the last finding says how many more.
const FINGERPRINT_NEW_MAX: usize = 5;

/// Whether certificate name `pattern` (a DNS SAN, possibly `*.example.com`) covers `host`
/// (RFC 6125: a wildcard stands for exactly one whole left-most label).
pub fn name_covers(pattern: &str, host: &str) -> bool {
    let (p, h) = (
        pattern.trim_end_matches('.').to_ascii_lowercase(),
        host.trim_end_matches('.').to_ascii_lowercase(),
    );
    match p.strip_prefix("*.") {
        Some(rest) => h
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
        None => p == h,
    }
}

/// A finding judged on one service.
struct TlsFinding {
    kind: &'static str,
    host: String,
    /// `address:port` of the service ("" for host-wide findings): part of its identity.
    server: String,
    client: Option<String>,
    detail: String,
    evidence: String,
    count: i64,
    first_seen: i64,
    last_seen: i64,
}

/// `"TLS 1.0"`, `"SSL 3.0"`: a version no longer fit for use (RFC 8996).
fn legacy_version(name: &str) -> bool {
    matches!(name, "SSL 2.0" | "SSL 3.0" | "TLS 1.0" | "TLS 1.1")
}

/// Why a cipher suite (IANA name) is weak, if it is: no encryption or authentication, export
/// strength, a broken cipher, or CBC with a SHA-1 MAC (Lucky13-class padding oracles).
pub fn weak_cipher(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_uppercase();
    if n.contains("_NULL_") || n.ends_with("_NULL") || n.contains("WITH_NULL") {
        Some("no encryption")
    } else if n.contains("EXPORT") {
        Some("export-grade")
    } else if n.contains("_anon_") || n.contains("_ANON_") {
        Some("no server authentication")
    } else if n.contains("RC4") {
        Some("RC4")
    } else if n.contains("3DES") || n.contains("_DES_") || n.contains("DES40") {
        Some("DES/3DES")
    } else if n.contains("_CBC_") && n.ends_with("_SHA") {
        Some("CBC with SHA-1")
    } else {
        None
    }
}

/// Recomputes the findings on encrypted services: legacy versions and weak suites negotiated,
/// certificates expired (or not yet valid) when served, names not covering the SNI,
/// self-signed certificates of services with several clients, handshakes without SNI, and
/// hosts that take credentials in clear HTTP while they also speak TLS. Returns how many.
pub(super) async fn assess_tls(c: &mut Conn<'_>) -> Result<u64, StoreError> {
    let kinds = TLS_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    c.query(format!("DELETE FROM findings WHERE kind IN ({kinds})"))
        .execute()
        .await?;
    let rows = c
        .query(
            "SELECT s.id, s.host, s.sni, s.server_ip, s.server_port, s.first_seen, s.last_seen,
            s.handshakes, s.versions, s.ciphers, s.cert_subject, s.cert_sans, s.cert_not_before,
            s.cert_not_after, s.cert_self_signed,
            (SELECT COUNT(DISTINCT c.client) FROM tls_clients c WHERE c.service_id = s.id)
         FROM tls_services s ORDER BY s.id",
        )
        .fetch_all()
        .await?;
    let mut out: Vec<TlsFinding> = Vec::new();
    for r in &rows {
        let host: String = r.get(1);
        let sni: String = r.get(2);
        let server = format!("{}:{}", r.get::<String, _>(3), r.get::<i64, _>(4));
        let (first, last): (i64, i64) = (r.get(5), r.get(6));
        let handshakes: i64 = r.get(7);
        let versions = counts(r.get(8));
        let ciphers = counts(r.get(9));
        let subject: Option<String> = r.get(10);
        let sans: Vec<String> = r
            .get::<Option<String>, _>(11)
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        let (not_before, not_after): (Option<i64>, Option<i64>) = (r.get(12), r.get(13));
        let self_signed = r.get::<Option<i64>, _>(14) == Some(1);
        let clients: i64 = r.get(15);
        let mut push = |kind, detail: String, evidence: String, count: i64| {
            out.push(TlsFinding {
                kind,
                host: host.clone(),
                server: server.clone(),
                client: None,
                detail,
                evidence,
                count,
                first_seen: first,
                last_seen: last,
            });
        };
        let legacy: Vec<(&String, &i64)> =
            versions.iter().filter(|(v, _)| legacy_version(v)).collect();
        if !legacy.is_empty() {
            let n = legacy.iter().map(|(_, n)| **n).sum();
            let list = legacy
                .iter()
                .map(|(v, n)| format!("{v} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            push(
                "tls_legacy_version",
                format!(
                    "{server} negotiated {list}: versions deprecated by RFC 8996 (no AEAD suites, weak handshake hashes); the server should accept TLS 1.2 and 1.3 only."
                ),
                format!("negotiated: {list}"),
                n,
            );
        }
        let weak: Vec<(String, &'static str, i64)> = ciphers
            .iter()
            .filter_map(|(c, n)| weak_cipher(c).map(|why| (c.clone(), why, *n)))
            .collect();
        if !weak.is_empty() {
            let list = weak
                .iter()
                .map(|(c, why, n)| format!("{c} ({why}) ×{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            push(
                "tls_weak_cipher",
                format!(
                    "{server} chose weak cipher suites: {list}. Prefer ECDHE with AES-GCM or ChaCha20-Poly1305."
                ),
                format!("chosen: {list}"),
                weak.iter().map(|w| w.2).sum(),
            );
        }
        let (seen_first, seen_last) = (first / 1_000_000_000, last / 1_000_000_000);
        if let (Some(nb), Some(na)) = (not_before, not_after) {
            let subj = subject.clone().unwrap_or_default();
            if na < seen_last {
                push(
                    "tls_certificate_expired",
                    format!(
                        "{server} served a certificate ({subj}) that had expired: valid until {}, served until {}.",
                        iso(na),
                        iso(seen_last)
                    ),
                    format!("not_after {}", iso(na)),
                    handshakes,
                );
            } else if nb > seen_first {
                push(
                    "tls_certificate_expired",
                    format!(
                        "{server} served a certificate ({subj}) that was not yet valid: valid from {}, served from {}.",
                        iso(nb),
                        iso(seen_first)
                    ),
                    format!("not_before {}", iso(nb)),
                    handshakes,
                );
            }
            if self_signed && clients >= 2 {
                push(
                    "tls_self_signed",
                    format!(
                        "{server} presents a self-signed certificate ({subj}) to {clients} clients: they can only accept it by skipping verification (or pinning it), which also accepts an impostor."
                    ),
                    format!("{clients} clients"),
                    handshakes,
                );
            }
            if !sni.is_empty() && !sans.iter().any(|n| name_covers(n, &sni)) {
                push(
                    "tls_name_mismatch",
                    format!(
                        "{server} answered the name {sni} with a certificate for {}: clients that verify refuse it, clients that connect anyway do not verify.",
                        if sans.is_empty() {
                            subj.clone()
                        } else {
                            sans.join(", ")
                        }
                    ),
                    format!("SNI {sni}; names {}", sans.join(", ")),
                    handshakes,
                );
            }
        }
        if sni.is_empty() && handshakes > 0 {
            push(
                "tls_no_sni",
                format!(
                    "{handshakes} handshake(s) to {server} without SNI: the client cannot be checked against a name (and name-based routing and policies do not apply)."
                ),
                String::new(),
                handshakes,
            );
        }
    }
    new_fingerprints(c, &mut out).await?;
    // Credentials sent in clear to a host that also speaks TLS (its name, with or without
    // the port), schemes in byte order.
    let tls_hosts: std::collections::BTreeSet<String> = c
        .query("SELECT DISTINCT host FROM tls_services")
        .fetch_all_scalar::<String>()
        .await?
        .into_iter()
        .collect();
    let mut clear: BTreeMap<String, (std::collections::BTreeSet<String>, i64, i64, i64)> =
        BTreeMap::new();
    for r in c
        .query(
            "SELECT e.host, a.scheme, SUM(a.count), MIN(e.first_seen), MAX(e.last_seen)
             FROM endpoints e JOIN endpoint_auth a ON a.endpoint_id = e.id
             WHERE a.scheme <> 'none'
             GROUP BY e.host, a.scheme",
        )
        .fetch_all()
        .await?
    {
        let host: String = r.get(0);
        let name = host.split(':').next().unwrap_or_default();
        if !tls_hosts.contains(&host) && !tls_hosts.contains(name) {
            continue;
        }
        let (first, last): (Option<i64>, Option<i64>) = (r.get(3), r.get(4));
        let e = clear
            .entry(host)
            .or_insert_with(|| (Default::default(), 0, i64::MAX, i64::MIN));
        e.0.insert(r.get(1));
        e.1 = e.1.saturating_add(r.get(2));
        e.2 = e.2.min(first.unwrap_or(i64::MAX));
        e.3 = e.3.max(last.unwrap_or(i64::MIN));
    }
    for (host, (schemes, count, first, last)) in clear {
        let schemes = schemes.into_iter().collect::<Vec<_>>().join(",");
        out.push(TlsFinding {
            kind: "cleartext_and_tls",
            host: host.clone(),
            server: String::new(),
            client: None,
            detail: format!("{host} takes credentials ({schemes}) over cleartext HTTP although it also speaks TLS: anyone on the path reads them. Redirect HTTP to HTTPS before any credential is sent, and set HSTS."),
            evidence: format!("credentials in clear: {schemes}"),
            count,
            first_seen: if first == i64::MAX { 0 } else { first },
            last_seen: if last == i64::MIN { 0 } else { last },
        });
    }
    let n = out.len() as u64;
    for f in out {
        let key = super::finding_key(
            f.kind,
            &f.host,
            "",
            &f.server,
            f.client.as_deref().unwrap_or(""),
        );
        super::upsert_assessed(
            c,
            &super::AssessedFinding {
                kind: f.kind,
                host: Some(&f.host),
                method: None,
                path_template: None,
                client: f.client.as_deref(),
                detail: &f.detail,
                evidence: &f.evidence,
                count: f.count,
                first_seen: f.first_seen,
                last_seen: f.last_seen,
                key,
            },
        )
        .await?;
    }
    Ok(n)
}

/// `tls_new_client_fingerprint`: per service, the JA4s first seen within its first hour are
/// its set; when that set is stable (at least 20 handshakes from at most 8 fingerprints),
/// each JA4 first seen after the hour is a client stack the service had not met (at most 5 per
/// service, the last saying how many more).
async fn new_fingerprints(c: &mut Conn<'_>, out: &mut Vec<TlsFinding>) -> Result<(), StoreError> {
    let d = c.dialect();
    let rows = c
        .query(format!(
            "SELECT s.id, s.host, s.server_ip, s.server_port, s.first_seen, c.ja4,
                MIN(c.first_seen), MAX(c.last_seen), SUM(c.handshakes), COUNT(DISTINCT c.client),
                MIN({client})
             FROM tls_services s JOIN tls_clients c ON c.service_id = s.id
             WHERE c.ja4 <> ''
             GROUP BY s.id, s.host, s.server_ip, s.server_port, s.first_seen, c.ja4
             ORDER BY s.id, MIN(c.first_seen), {ja4}",
            client = d.bytes("c.client"),
            ja4 = d.bytes("c.ja4"),
        ))
        .fetch_all()
        .await?;
    let mut i = 0;
    while i < rows.len() {
        let service: i64 = rows[i].get(0);
        let end = rows[i..]
            .iter()
            .position(|r| r.get::<i64, _>(0) != service)
            .map_or(rows.len(), |n| i + n);
        let group = &rows[i..end];
        i = end;
        let learnt_until = group[0].get::<i64, _>(4) + FINGERPRINT_LEARNING_NS;
        let (known, new): (Vec<_>, Vec<_>) = group
            .iter()
            .partition(|r| r.get::<i64, _>(6) < learnt_until);
        let known_handshakes: i64 = known.iter().map(|r| r.get::<i64, _>(8)).sum();
        if new.is_empty()
            || known.len() > FINGERPRINT_STABLE_MAX
            || known_handshakes < FINGERPRINT_STABLE_HANDSHAKES
        {
            continue;
        }
        let host: String = group[0].get(1);
        let server = format!(
            "{}:{}",
            group[0].get::<String, _>(2),
            group[0].get::<i64, _>(3)
        );
        let set = known
            .iter()
            .map(|r| r.get::<String, _>(5))
            .collect::<Vec<_>>()
            .join(", ");
        for (n, r) in new.iter().take(FINGERPRINT_NEW_MAX).enumerate() {
            let ja4: String = r.get(5);
            let clients: i64 = r.get(9);
            let more = if n + 1 == FINGERPRINT_NEW_MAX && new.len() > FINGERPRINT_NEW_MAX {
                format!(
                    " ({} more new fingerprints not listed)",
                    new.len() - FINGERPRINT_NEW_MAX
                )
            } else {
                String::new()
            };
            out.push(TlsFinding {
                kind: "tls_new_client_fingerprint",
                host: host.clone(),
                // The fingerprint is part of the finding's identity.
                server: format!("{server} {ja4}"),
                client: Some(r.get(10)),
                detail: format!(
                    "{server} ({host}) was called by a client stack it had not met: JA4 {ja4} from {clients} client(s), after {} handshakes from its usual set ({set}){more}. A new tool, library or agent talking to an API is worth a look.",
                    known_handshakes
                ),
                evidence: format!("ja4 {ja4}"),
                count: r.get(8),
                first_seen: r.get(6),
                last_seen: r.get(7),
            });
        }
    }
    Ok(())
}

/// Unix seconds as ISO 8601.
fn iso(secs: i64) -> String {
    crate::time::Timestamp::from_parts(secs, 0)
        .iso8601()
        .to_string()
}

#[cfg(test)]
mod judge_tests {
    use super::*;

    #[test]
    fn certificate_names_cover_by_rfc_6125() {
        assert!(name_covers("api.tls.test", "API.tls.test."));
        assert!(name_covers("*.tls.test", "api.tls.test"));
        assert!(!name_covers("*.tls.test", "tls.test"));
        assert!(!name_covers("*.tls.test", "a.b.tls.test"));
        assert!(!name_covers("www.other.test", "shop.tls.test"));
    }

    #[test]
    fn weak_suites_and_versions() {
        assert_eq!(
            weak_cipher("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            Some("CBC with SHA-1")
        );
        assert_eq!(weak_cipher("TLS_RSA_WITH_RC4_128_SHA"), Some("RC4"));
        assert_eq!(
            weak_cipher("TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
            Some("DES/3DES")
        );
        assert_eq!(
            weak_cipher("TLS_RSA_WITH_NULL_SHA256"),
            Some("no encryption")
        );
        assert_eq!(
            weak_cipher("TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
            Some("export-grade")
        );
        assert_eq!(
            weak_cipher("TLS_DH_anon_WITH_AES_128_CBC_SHA"),
            Some("no server authentication")
        );
        assert_eq!(weak_cipher("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"), None);
        assert_eq!(weak_cipher("TLS_AES_128_GCM_SHA256"), None);
        assert_eq!(
            weak_cipher("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
            None
        );
        assert!(legacy_version("TLS 1.1") && !legacy_version("TLS 1.2"));
    }
}
