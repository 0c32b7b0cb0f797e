//! The API inventory over the REST scenario capture, against its ground truth
//! (`captures/rest_api.expected.md`, written from what the clients did).

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::{ListFilter, Store};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// `/users/{user_id}` -> `/users/{}`: parameter names are not part of an endpoint's identity.
fn shape_of(template: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in template.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push('{');
            }
            '}' => {
                depth -= 1;
                out.push('}');
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

struct Expected {
    method: String,
    template: String,
    requests: i64,
    statuses: BTreeMap<i64, i64>,
    auth: BTreeSet<String>,
    query: BTreeSet<String>,
    sensitive_req: BTreeSet<String>,
    sensitive_resp: BTreeSet<String>,
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect()
}

fn auth_name(s: &str) -> &'static str {
    if s.starts_with("Bearer JWT") {
        "bearer_jwt"
    } else if s.starts_with("Bearer opaque") {
        "bearer_opaque"
    } else if s.starts_with("session cookie") {
        "cookie"
    } else if s.starts_with("X-API-Key") {
        "api_key_header"
    } else if s.starts_with("api_key query") {
        "api_key_query"
    } else if s == "Basic" {
        "basic"
    } else if s == "none" {
        "none"
    } else {
        panic!("unknown auth style {s}")
    }
}

fn classes(cell: &str) -> BTreeSet<String> {
    cell.split(',')
        .map(str::trim)
        .filter(|c| *c != "-" && !c.is_empty())
        .map(|c| c.split('×').next().unwrap_or("").to_string())
        .collect()
}

fn expected() -> Vec<Expected> {
    let md = std::fs::read_to_string(captures().join("rest_api.expected.md")).unwrap();
    let section = |title: &str| -> Vec<Vec<String>> {
        let start = md.find(title).unwrap_or_else(|| panic!("{title} missing"));
        md[start..]
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(cells)
            .collect()
    };
    let mut by_key: BTreeMap<(String, String), Expected> = BTreeMap::new();
    for c in section("## Endpoints exercised") {
        let statuses = c[3]
            .split(", ")
            .map(|s| {
                let (code, n) = s.split_once('×').unwrap();
                (code.parse().unwrap(), n.parse().unwrap())
            })
            .collect();
        let auth = c[6].split("; ").map(|s| auth_name(s).to_string()).collect();
        by_key.insert(
            (c[0].clone(), c[1].clone()),
            Expected {
                method: c[0].clone(),
                template: c[1].clone(),
                requests: c[2].parse().unwrap(),
                statuses,
                auth,
                query: BTreeSet::new(),
                sensitive_req: BTreeSet::new(),
                sensitive_resp: BTreeSet::new(),
            },
        );
    }
    for c in section("## Query parameters and bodies per endpoint") {
        let e = by_key.get_mut(&(c[0].clone(), c[1].clone())).unwrap();
        if c[2] != "-" {
            e.query = c[2]
                .split(", ")
                .map(|p| p.split(':').next().unwrap().trim_matches('`').to_string())
                .collect();
        }
    }
    for c in section("## Sensitive data per endpoint") {
        let e = by_key.get_mut(&(c[0].clone(), c[1].clone())).unwrap();
        e.sensitive_req = classes(&c[2]);
        e.sensitive_resp = classes(&c[3]);
    }
    by_key.into_values().collect()
}

/// Our class names for the scenario's kinds, and the kinds we do not claim to detect.
fn ours(kind: &str) -> Option<&'static str> {
    match kind {
        "email" => Some("email"),
        "phone" => Some("phone"),
        "us_ssn" => Some("us_ssn"),
        "credit_card" => Some("credit_card"),
        "iban" => Some("iban"),
        "aws_access_key_id" => Some("aws_access_key"),
        "jwt" => Some("jwt"),
        // Fields named like secrets are reported as `password` (a credential value).
        "password" | "aws_secret_access_key" | "oauth_client_secret" => Some("password"),
        // Opaque tokens in JSON fields are not a class of their own.
        _ => None,
    }
}

async fn ingest(db: &Path) -> Store {
    let store = Store::open(db).await.unwrap();
    ingest_files(
        &store,
        &[captures().join("rest_api.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    store
}

#[tokio::test]
async fn rest_api_inventory_matches_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let store = ingest(&db).await;
    let rows = store
        .endpoints(&ListFilter {
            host: Some("api.acme.test".into()),
        })
        .await
        .unwrap();
    let pool = &support::sql(&store).await;

    // Endpoints that only ever answered 404 are requests the router rejected (a scanner's
    // probes): they are in the inventory, and are kept out of the template comparison.
    let mut routed = BTreeMap::new();
    let mut unrouted = BTreeSet::new();
    for r in &rows {
        let statuses: Vec<(i64, i64)> =
            sqlx::query("SELECT status, count FROM api_endpoint_status WHERE endpoint_id = ?")
                .bind(r.id)
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|x| (x.get(0), x.get(1)))
                .collect();
        if statuses.iter().all(|(s, _)| *s == 404) {
            unrouted.insert(format!("{} {}", r.method, r.path_template));
        } else {
            routed.insert(
                (r.method.clone(), shape_of(&r.path_template)),
                (r, statuses),
            );
        }
    }
    let want = expected();
    let want_keys: BTreeSet<(String, String)> = want
        .iter()
        .map(|e| (e.method.clone(), shape_of(&e.template)))
        .collect();
    let got_keys: BTreeSet<(String, String)> = routed.keys().cloned().collect();
    let hits = want_keys.intersection(&got_keys).count();
    let (precision, recall) = (
        hits as f64 / got_keys.len() as f64,
        hits as f64 / want_keys.len() as f64,
    );
    eprintln!(
        "template precision {precision:.3}, recall {recall:.3} ({hits} of {} expected, {} found)",
        want_keys.len(),
        got_keys.len()
    );
    assert_eq!(got_keys, want_keys, "endpoint templates");
    assert_eq!(
        unrouted,
        [
            "GET /.env",
            "GET /api/v1/users/{user_id}/orders/not-a-uuid",
            "GET /api/v3/users/{user_id}"
        ]
        .into_iter()
        .map(String::from)
        .collect(),
    );

    for e in &want {
        let (r, statuses) = &routed[&(e.method.clone(), shape_of(&e.template))];
        let what = format!("{} {}", e.method, e.template);
        assert_eq!(r.request_count, e.requests, "{what}: requests");
        let statuses: BTreeMap<i64, i64> = statuses.iter().copied().collect();
        assert_eq!(statuses, e.statuses, "{what}: status codes");
        let errors: i64 = e
            .statuses
            .iter()
            .filter(|(s, _)| **s >= 400)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(r.error_count, errors, "{what}: errors");
        let auth: BTreeSet<String> = r
            .auth_schemes
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(String::from)
            .collect();
        assert_eq!(auth, e.auth, "{what}: auth schemes");
        let query: BTreeSet<String> = sqlx::query(
            "SELECT name FROM api_parameters WHERE endpoint_id = ? AND location = 'query'",
        )
        .bind(r.id)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|x| x.get(0))
        .collect();
        assert_eq!(query, e.query, "{what}: query parameters");
        for (location, kinds) in [
            ("request", &e.sensitive_req),
            ("response", &e.sensitive_resp),
        ] {
            let got: BTreeSet<String> = sqlx::query(
                "SELECT DISTINCT class FROM api_sensitive_data WHERE endpoint_id = ? AND location LIKE ? || '_%'",
            )
            .bind(r.id)
            .bind(location)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|x| x.get(0))
            .collect();
            let must: BTreeSet<String> = kinds
                .iter()
                .filter_map(|k| ours(k))
                .map(String::from)
                .collect();
            // Every planted kind is found; nothing is found that was not planted (a JWT in a JSON
            // `access_token` field is a JWT).
            let mut may = must.clone();
            if kinds.contains("access_token") {
                may.insert("jwt".into());
            }
            assert!(
                must.is_subset(&got),
                "{what}: {location} sensitive data: want {must:?}, got {got:?}"
            );
            assert!(
                got.is_subset(&may),
                "{what}: {location} sensitive data: unexpected {got:?} (planted {kinds:?})"
            );
        }
    }

    // Typed path parameters.
    let params: Vec<(String, String)> = sqlx::query(
        "SELECT p.name, p.types FROM api_parameters p JOIN api_endpoints e ON e.id = p.endpoint_id
         WHERE p.location = 'path' AND e.path_template = '/api/v1/users/{user_id}/orders/{order_id}'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|x| (x.get(0), x.get(1)))
    .collect();
    assert_eq!(
        params,
        [
            ("order_id".to_string(), "uuid".to_string()),
            ("user_id".to_string(), "integer".to_string())
        ]
    );

    // Distinct clients and latency percentiles.
    let health = rows
        .iter()
        .find(|r| r.path_template == "/api/v1/health")
        .unwrap();
    assert_eq!(health.client_count, 1);
    assert!(health.p50_ms.is_some() && health.p99_ms >= health.p50_ms);
    let orders = rows
        .iter()
        .find(|r| r.path_template == "/api/v1/users/{user_id}/orders")
        .unwrap();
    assert_eq!(orders.client_count, 3);

    // JSON response schema with formats (int64 ledger numbers, uuids, date-times).
    let schema: String = sqlx::query(
        "SELECT b.schema FROM api_bodies b JOIN api_endpoints e ON e.id = b.endpoint_id
         WHERE e.path_template = '/api/v2/orders/{order_id}' AND b.direction = 'response' AND b.status = 200",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .get(0);
    for fmt in ["\"int64\"", "\"uuid\"", "\"date-time\""] {
        assert!(schema.contains(fmt), "{fmt} missing from {schema}");
    }
}

#[tokio::test]
async fn secrets_never_reach_the_database_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let store = ingest(&db).await;
    store.close().await;
    // Everything in the file (tables, views, free pages), as text.
    let dump = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(".dump")
        .output();
    let text = match dump {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => String::from_utf8_lossy(&std::fs::read(&db).unwrap()).into_owned(),
    };
    for secret in [
        "correct horse battery staple",
        "hunter2",
        "ak_live_partner_7f3a9c2e51",
        "pk_geo_51b2e0d4a9",
        "ik_internal_0c4f9b7e",
        "4111111111111111",
        "4000000000000002",
        "GB82WEST12345698765432",
        "AKIAIOSFODNN7EXAMPLE",
        "123-45-6789",
        "partner-s3cret",
        "ops-console-client-secret",
        "admin-s3cret",
        "acme-captures-hs256-secret",
    ] {
        assert!(!text.contains(secret), "{secret} is stored in clear");
    }
    // Email addresses only in redacted form (`j***@example.com`).
    for (i, _) in text.match_indices("@example.com") {
        assert!(
            text[..i].ends_with("***"),
            "an email address is stored in clear: {}",
            &text[i.saturating_sub(20)..i + 12]
        );
    }
    assert!(
        text.contains("***@example.com"),
        "emails are recorded (redacted)"
    );
    // No whole JWT (header.payload) either.
    let jwt = text.match_indices("eyJ").any(|(i, _)| {
        let rest = &text[i..];
        let seg: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        seg.len() > 10 && rest[seg.len()..].starts_with('.')
    });
    assert!(!jwt, "a JWT is stored in clear");
    // The key of the keyed hashes is next to the database, not in it.
    let key = std::fs::read_to_string(format!("{}.key", db.display())).unwrap();
    assert!(!text.contains(key.trim()));
}

#[tokio::test]
async fn ingesting_twice_counts_once_and_templates_stay_stable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let store = ingest(&db).await;
    let before = store.endpoints(&ListFilter::default()).await.unwrap();
    let (reports, _, _) = ingest_files(
        &store,
        &[captures().join("rest_api.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(reports[0].outcome, "skipped");
    // Other captures added later do not disturb existing endpoints.
    ingest_files(
        &store,
        &[captures().join("keepalive.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let after = store
        .endpoints(&ListFilter {
            host: Some("api.acme.test".into()),
        })
        .await
        .unwrap();
    let before: Vec<_> = before
        .into_iter()
        .filter(|r| r.host == "api.acme.test")
        .collect();
    assert_eq!(before, after);
}

mod support;

#[tokio::test]
async fn a_flood_of_random_paths_stays_bounded() {
    use shadowtap::analyze::inventory::{Inventory, InventoryConfig};
    use shadowtap::analyze::template::TemplateConfig;
    use shadowtap::engine::{Engine, EngineConfig};
    use shadowtap::store::StoreLimits;
    // 20,000 requests for random literal paths, 3 levels deep, pipelined 50 at a time on one
    // connection.
    let mut c = support::Conv::new("10.9.0.1:40000", "10.9.0.2:80");
    c.handshake();
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut word = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (0..8)
            .map(|i| (b'a' + ((rng >> (i * 5)) % 26) as u8) as char)
            .collect::<String>()
    };
    for _ in 0..400 {
        let mut reqs = Vec::new();
        let mut resps = Vec::new();
        for _ in 0..50 {
            reqs.extend_from_slice(
                format!(
                    "GET /{}/{}/{} HTTP/1.1\r\nHost: flood.test\r\n\r\n",
                    word(),
                    word(),
                    word()
                )
                .as_bytes(),
            );
            resps.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
        c.client_send(&reqs, 60_000);
        c.server_send(&resps, 60_000);
    }
    c.close();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db"))
        .await
        .unwrap()
        .with_limits(StoreLimits {
            max_endpoints: 500,
            max_clients_per_endpoint: 10,
            ..StoreLimits::default()
        });
    let cfg = InventoryConfig {
        max_endpoints: 300,
        template: TemplateConfig {
            max_nodes: 2_000,
            ..TemplateConfig::default()
        },
        ..InventoryConfig::default()
    };
    let mut inv = Inventory::new(cfg);
    let mut engine = Engine::new(EngineConfig::default());
    let mut merged = shadowtap::store::FlushReport::default();
    for f in &c.frames {
        engine.packet(&shadowtap::capture::RawPacket {
            ts: f.ts,
            link: shadowtap::capture::LinkType::RAW,
            orig_len: f.ip.len() as u32,
            data: &f.ip,
        });
        for t in engine.drain() {
            inv.observe(&t);
        }
        if inv.pending() >= 250 {
            let r = store.merge(&inv.drain()).await.unwrap();
            merged.created += r.created;
            merged.dropped += r.dropped;
        }
    }
    engine.finish();
    for t in engine.drain() {
        inv.observe(&t);
    }
    let r = store.merge(&inv.drain()).await.unwrap();
    merged.created += r.created;
    merged.dropped += r.dropped;
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM endpoints")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap()
        .get(0);
    eprintln!(
        "flood: {} endpoints stored, {} dropped at the store cap, inventory {:?}",
        n,
        merged.dropped,
        inv.stats()
    );
    assert!(n <= 500, "{n} endpoints stored");
    assert_eq!(
        inv.stats().transactions + inv.stats().endpoints_over_cap,
        20_000
    );
    assert_eq!(inv.stats().without_request, 0);
    // Random literals collapse into parameters long before the caps: few endpoints in the end.
    assert!(
        n < 50,
        "random paths should be templated, got {n} endpoints"
    );
}

/// Auth names end to end: GitHub's `Authorization: token <opaque>` is a bearer token
/// (`bearer_opaque`; `token <jwt>` is `bearer_jwt`), never an API key header, and a header is
/// one `api_auth` row whatever case the clients write its name in.
#[tokio::test]
async fn auth_locations_are_canonical_and_github_tokens_are_bearer_tokens() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let jwt = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64(r#"{"sub":"octocat","exp":4102444800}"#),
        b64("not-a-real-signature-but-base64url")
    );
    let opaque = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    let calls: [(&str, &str, String); 6] = [
        ("10.7.0.1", "Authorization", format!("token {opaque}")),
        ("10.7.0.2", "authorization", format!("Bearer {opaque}")),
        ("10.7.0.3", "AUTHORIZATION", format!("token {jwt}")),
        ("10.7.0.4", "Authorization", format!("Bearer {jwt}")),
        ("10.7.0.5", "X-API-Key", "key-5f2b9c1d7e3a".to_string()),
        ("10.7.0.6", "x-api-key", "key-5f2b9c1d7e3a".to_string()),
    ];
    let mut frames = Vec::new();
    for (i, (client, header, value)) in calls.iter().enumerate() {
        let mut c = support::Conv::new(&format!("{client}:4100{i}"), "10.7.0.100:80");
        c.clock += i as i64 * 1_000_000_000;
        c.handshake();
        c.exchange(
            format!(
                "GET /user/repos HTTP/1.1\r\nHost: api.github.test\r\nUser-Agent: gh/2.40\r\n{header}: {value}\r\n\r\n"
            )
            .as_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]",
            1400,
        );
        c.close();
        frames.extend(c.frames);
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("auth.pcap");
    support::write_pcap(&pcap, &frames);
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest_files(&store, &[&pcap], &IngestOptions::default(), |_| {})
        .await
        .unwrap();
    let rows: Vec<(String, String, i64, i64)> = sqlx::query(
        "SELECT a.scheme, a.location, a.count, a.ok_count FROM api_auth a
         JOIN api_endpoints e ON e.id = a.endpoint_id
         WHERE e.path_template = '/user/repos' ORDER BY 1, 2",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect();
    assert_eq!(
        rows,
        [
            ("api_key_header".into(), "x-api-key".into(), 2, 2),
            ("bearer_jwt".into(), "authorization".into(), 2, 2),
            ("bearer_opaque".into(), "authorization".into(), 2, 2),
        ]
    );
    let schemes: String = sqlx::query_scalar(
        "SELECT auth_schemes FROM api_endpoints WHERE path_template = '/user/repos'",
    )
    .fetch_one(&support::sql(&store).await)
    .await
    .unwrap();
    assert!(!schemes.contains("none"), "{schemes}");
    // The credentials themselves are nowhere in the database.
    let mut dump = Vec::new();
    store.export_sql(&mut dump).await.unwrap();
    let dump = String::from_utf8_lossy(&dump);
    assert!(!dump.contains(opaque) && !dump.contains(&jwt));
}
