//! End to end over the real TLS captures (`captures/tls13.pcap`, `tls12.pcap`, `tls_weak.pcap`,
//! made by `captures/make.sh tls` with curl, Python and openssl clients against nginx): without
//! the key logs, the inventory holds every encrypted service with the versions, cipher suites,
//! JA4 and JA4S that the reference (`<name>.expected-tls.tsv`: tshark for the handshake fields,
//! the `ja4plus` package for the fingerprints) read on every connection, and no transaction
//! is invented from ciphertext.

mod support;

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// One connection as the reference read it.
struct Expected {
    server_port: i64,
    /// The SNI, or the server address without one.
    host: String,
    version: String,
    cipher: String,
    ja4: String,
    ja4s: String,
    resumed: bool,
}

fn expected(name: &str) -> Vec<Expected> {
    let text =
        std::fs::read_to_string(captures().join(format!("{name}.expected-tls.tsv"))).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (server, sni, version, cipher, ja4, ja4s, resumed) = (
        col("server"),
        col("sni"),
        col("version"),
        col("cipher"),
        col("ja4"),
        col("ja4s"),
        col("resumed"),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let (ip, port) = f[server].rsplit_once(':').unwrap();
            Expected {
                server_port: port.parse().unwrap(),
                host: if f[sni] == "-" { ip } else { f[sni] }.to_string(),
                // tshark writes `TLSv1.2`; the inventory `TLS 1.2`.
                version: f[version].replace("TLSv", "TLS "),
                cipher: f[cipher].to_string(),
                ja4: f[ja4].to_string(),
                ja4s: f[ja4s].to_string(),
                resumed: f[resumed] == "yes",
            }
        })
        .collect()
}

async fn ingest(name: &str) -> (tempfile::TempDir, Store, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    let (reports, _, _) = ingest_files(
        &store,
        &[captures().join(format!("{name}.pcap"))],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let transactions = reports[0].transactions;
    (dir, store, transactions)
}

/// (server port, host, version) → handshakes, and the same for cipher suites.
type Mix = BTreeMap<(i64, String, String), i64>;

async fn check(name: &str, transactions_in_clear: u64) {
    let want = expected(name);
    assert!(!want.is_empty(), "{name}: a reference without connections");
    let (_dir, store, transactions) = ingest(name).await;
    assert_eq!(
        transactions, transactions_in_clear,
        "{name}: transactions are only those sent in clear"
    );

    // Every (service, JA4, JA4S) with its handshakes.
    let mut want_clients: BTreeMap<(i64, String, String, String), i64> = BTreeMap::new();
    let (mut want_versions, mut want_ciphers) = (Mix::new(), Mix::new());
    let mut want_resumed: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for e in &want {
        *want_clients
            .entry((e.server_port, e.host.clone(), e.ja4.clone(), e.ja4s.clone()))
            .or_default() += 1;
        *want_versions
            .entry((e.server_port, e.host.clone(), e.version.clone()))
            .or_default() += 1;
        *want_ciphers
            .entry((e.server_port, e.host.clone(), e.cipher.clone()))
            .or_default() += 1;
        *want_resumed
            .entry((e.server_port, e.host.clone()))
            .or_default() += i64::from(e.resumed);
    }
    let services = store.tls_services(None).await.unwrap();
    let clients = store.tls_clients(None).await.unwrap();
    let port_of: BTreeMap<i64, i64> = services.iter().map(|s| (s.id, s.server_port)).collect();
    let mut got_clients = BTreeMap::new();
    for c in &clients {
        *got_clients
            .entry((
                port_of[&c.service_id],
                c.host.clone(),
                c.ja4.clone(),
                c.ja4s.clone(),
            ))
            .or_default() += c.handshakes;
    }
    assert_eq!(
        got_clients, want_clients,
        "{name}: JA4 and JA4S per service"
    );
    let (mut got_versions, mut got_ciphers) = (Mix::new(), Mix::new());
    let mut got_resumed = BTreeMap::new();
    for s in &services {
        for (v, n) in &s.versions {
            got_versions.insert((s.server_port, s.host.clone(), v.clone()), *n);
        }
        for (c, n) in &s.ciphers {
            got_ciphers.insert((s.server_port, s.host.clone(), c.clone()), *n);
        }
        got_resumed.insert((s.server_port, s.host.clone()), s.resumed);
        assert_eq!(
            s.incomplete, 0,
            "{name}: every handshake got its server hello"
        );
    }
    assert_eq!(got_versions, want_versions, "{name}: negotiated versions");
    assert_eq!(got_ciphers, want_ciphers, "{name}: chosen cipher suites");
    assert_eq!(got_resumed, want_resumed, "{name}: resumed sessions");
    store.close().await;
}

#[tokio::test]
async fn tls13_services_and_fingerprints_match_the_reference() {
    check("tls13", 0).await;
    // Modern versions and suites, valid names: nothing to report.
    let (_dir, store, _) = ingest("tls13").await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_findings")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
    assert_eq!(n, 0);
    store.close().await;
}

#[tokio::test]
async fn tls12_services_and_fingerprints_match_the_reference() {
    check("tls12", 0).await;
    // TLS ≤ 1.2 shows the server certificate.
    let (_dir, store, _) = ingest("tls12").await;
    let services = store.tls_services(Some("api.tls.test")).await.unwrap();
    let s = &services[0];
    assert!(
        s.cert_subject
            .as_deref()
            .unwrap()
            .contains("CN=api.tls.test"),
        "{s:?}"
    );
    assert_eq!(s.cert_sans, ["api.tls.test"]);
    assert_eq!(s.cert_not_after.as_deref(), Some("2034-01-01T00:00:00Z"));
    assert_eq!(s.cert_key.as_deref(), Some("rsa 2048"));
    assert_eq!(s.cert_self_signed, Some(false));
    store.close().await;
}

#[tokio::test]
async fn weak_tls_services_match_the_reference() {
    // Three requests were sent in clear on port 80.
    check("tls_weak", 3).await;
    let (_dir, store, _) = ingest("tls_weak").await;
    let services = store.tls_services(None).await.unwrap();
    let expired = services
        .iter()
        .find(|s| s.host == "expired.tls.test")
        .unwrap();
    assert_eq!(expired.cert_self_signed, Some(true));
    assert_eq!(
        expired.cert_not_after.as_deref(),
        Some("2021-01-01T00:00:00Z")
    );
    let no_sni = services.iter().find(|s| s.sni.is_empty()).unwrap();
    assert_eq!(no_sni.host, no_sni.server_ip);
    // What the scenario put on the wire on purpose, each judged once (see captures/README.md).
    let findings: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, host FROM api_findings WHERE kind LIKE 'tls_%' OR kind = 'cleartext_and_tls'
         ORDER BY kind, host",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    let found: Vec<(&str, &str)> = findings
        .iter()
        .map(|(k, h)| (k.as_str(), h.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("cleartext_and_tls", "api.tls.test"),
            ("tls_certificate_expired", "expired.tls.test"),
            ("tls_legacy_version", "legacy.tls.test"),
            ("tls_name_mismatch", "shop.tls.test"),
            ("tls_no_sni", "127.0.0.1"),
            ("tls_weak_cipher", "legacy.tls.test"),
        ]
    );
    store.close().await;
}

#[tokio::test]
async fn a_second_ingest_of_the_same_traffic_adds_to_each_service() {
    let (_dir, store, _) = ingest("tls12").await;
    let before = store.tls_services(None).await.unwrap();
    let again = IngestOptions {
        force: true,
        ..IngestOptions::default()
    };
    ingest_files(&store, &[captures().join("tls12.pcap")], &again, |_| {})
        .await
        .unwrap();
    let after = store.tls_services(None).await.unwrap();
    assert_eq!(before.len(), after.len(), "no service twice");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((a.id, &a.host), (b.id, &b.host));
        assert_eq!(a.handshakes, 2 * b.handshakes, "{}", a.host);
        assert_eq!(a.client_bytes, 2 * b.client_bytes, "{}", a.host);
        assert_eq!((&a.first_seen, &a.last_seen), (&b.first_seen, &b.last_seen));
        assert_eq!((&a.version, &a.cipher), (&b.version, &b.cipher));
        let doubled: BTreeMap<String, i64> =
            b.versions.iter().map(|(k, v)| (k.clone(), 2 * v)).collect();
        assert_eq!(a.versions, doubled, "{}", a.host);
        assert_eq!(a.cert_subject, b.cert_subject);
    }
    store.close().await;
}

/// Seeds one service (`sni`, first seen at `t0`) with `(client, ja4, handshakes, first seen
/// minutes after t0)` rows.
async fn seed_service(sql: &sqlx::SqlitePool, sni: &str, clients: &[(&str, &str, i64, i64)]) {
    const MIN: i64 = 60 * 1_000_000_000;
    let t0: i64 = 1_800_000_000 * 1_000_000_000;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tls_services (host, sni, server_ip, server_port, first_seen, last_seen,
            handshakes, versions, ciphers, alpn_offered, alpn_selected)
         VALUES (?1, ?1, '10.1.1.1', 443, ?2, ?3, ?4, '{}', '{}', '{}', '{}') RETURNING id",
    )
    .bind(sni)
    .bind(t0)
    .bind(t0 + 300 * MIN)
    .bind(clients.iter().map(|c| c.2).sum::<i64>())
    .fetch_one(sql)
    .await
    .unwrap();
    for (client, ja4, handshakes, after) in clients {
        sqlx::query(
            "INSERT INTO tls_clients (service_id, client, ja4, ja4s, handshakes, first_seen, last_seen)
             VALUES (?, ?, ?, 't1312h2_1302_a56c5b993250', ?, ?, ?)",
        )
        .bind(id)
        .bind(client)
        .bind(ja4)
        .bind(handshakes)
        .bind(t0 + after * MIN)
        .bind(t0 + (after + 5) * MIN)
        .execute(sql)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_client_stack_new_to_a_stable_service_is_a_finding_and_an_alert() {
    use shadowtap::sensor::alerts::{AlertKind, AlertSettings, Detector};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    let sql = support::sql(&store).await;
    let (curl, python, go) = (
        "t13d3112h2_e8f1e7e78f70_6bebaf5329ac",
        "t13d4907h2_0d8feac7bc37_7395dae3b2f3",
        "t13d1312h2_f57a46bbacb6_ab7e3b40a677",
    );
    let mut detector = Detector::start(&store).await.unwrap();
    // Stable: 25 handshakes from two stacks in the first hour; Go arrives two hours later.
    seed_service(
        &sql,
        "orders.internal",
        &[
            ("10.0.0.1", curl, 15, 0),
            ("10.0.0.2", python, 10, 20),
            ("10.0.0.9", go, 2, 120),
        ],
    )
    .await;
    // Too few handshakes to call its set stable.
    seed_service(
        &sql,
        "quiet.internal",
        &[("10.0.0.1", curl, 5, 0), ("10.0.0.9", go, 1, 120)],
    )
    .await;
    // Called by many stacks from the start: no stable set.
    let many: Vec<String> = (0..9)
        .map(|i| format!("t13d15{i:02}h2_aaaaaaaaaaaa_bbbbbbbbbbbb"))
        .collect();
    let mut rows: Vec<(&str, &str, i64, i64)> = many
        .iter()
        .map(|j| ("10.0.0.3", j.as_str(), 5, 0))
        .collect();
    rows.push(("10.0.0.9", go, 1, 120));
    seed_service(&sql, "public.example", &rows).await;
    // A stack first seen within the learning hour is part of the set.
    seed_service(
        &sql,
        "early.internal",
        &[("10.0.0.1", curl, 30, 0), ("10.0.0.9", go, 1, 59)],
    )
    .await;

    shadowtap::store::spec::assess(&store).await.unwrap();
    let found: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT host, severity, client, evidence FROM api_findings
         WHERE kind = 'tls_new_client_fingerprint'",
    )
    .fetch_all(&sql)
    .await
    .unwrap();
    assert_eq!(
        found,
        [(
            "orders.internal".to_string(),
            "medium".to_string(),
            Some("10.0.0.9".to_string()),
            format!("ja4 {go}")
        )]
    );
    // The daemon's detector turns it into its own alert kind (medium is below the default
    // `min_severity`, and this alert does not depend on it) ...
    let alerts = detector
        .detect(&store, &AlertSettings::default())
        .await
        .unwrap();
    let kinds: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AlertKind::NewTlsFingerprint], "{alerts:?}");
    assert_eq!(alerts[0].body["host"], "orders.internal");
    // ... once: assessing again re-creates the finding, which does not alert again.
    shadowtap::store::spec::assess(&store).await.unwrap();
    let again = detector
        .detect(&store, &AlertSettings::default())
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    // Switched off, a fresh detector over a fresh finding says nothing.
    sqlx::query("DELETE FROM findings")
        .execute(&sql)
        .await
        .unwrap();
    let mut off = Detector::start(&store).await.unwrap();
    shadowtap::store::spec::assess(&store).await.unwrap();
    let settings = AlertSettings {
        new_tls_fingerprints: false,
        ..AlertSettings::default()
    };
    assert!(off.detect(&store, &settings).await.unwrap().is_empty());
    store.close().await;
}

#[tokio::test]
async fn tls_h2_services_and_fingerprints_match_the_reference() {
    // curl with ALPN h2 over TLS 1.3 and 1.2, then http/1.1. Without keys only TLS 1.2's
    // choice is visible (in the ServerHello); TLS 1.3 sends it in EncryptedExtensions.
    check("tls_h2", 0).await;
    let (_dir, store, _) = ingest("tls_h2").await;
    let services = store.tls_services(None).await.unwrap();
    assert_eq!(services.len(), 1);
    let s = &services[0];
    assert_eq!(s.alpn_offered.get("h2"), Some(&2));
    assert_eq!(s.alpn_offered.get("http/1.1"), Some(&3));
    assert_eq!(
        s.alpn_selected,
        BTreeMap::from([("h2".to_string(), 1)]),
        "TLS 1.2's choice only"
    );
    store.close().await;
}
