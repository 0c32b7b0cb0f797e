//! Every posture rule (finding kind) end to end, both ways: the traffic that must raise it, and
//! the look-alike traffic that must leave it quiet (a false positive costs the user's trust in
//! every other finding).
//!
//! Each test hand-builds HTTP/1.1 conversations (real TCP, realistic headers and bodies, packet
//! times chosen on purpose), writes them into a pcap file, ingests it into a fresh inventory
//! (after importing [`SPEC`] when the rule depends on an API description), and asserts exactly
//! which kinds `api_findings` holds and on which endpoints. Every test also checks that no
//! finding carries the secrets the traffic held (tokens, passwords, API keys, personal data).
//!
//! The behavioural kinds of the call-sequence analysis (`enumeration`, `novel_transition`,
//! `rate_anomaly`, `fingerprint_change`) have their own scenario (`tests/sequences.rs`) and are
//! left out of the kind sets here; they are included in the secret checks.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use sqlx::Row;
use std::collections::BTreeSet;
use support::{Conv, Frame, write_pcap};

// ---------------------------------------------------------------------------------------------
// Scenario building.

/// The API host every request names.
const HOST: &str = "api.shop.test";
/// The server's address.
const SERVER: &str = "10.1.0.10:80";
/// Packet time at which every scenario starts: 2023-11-14T22:13:20Z, years before the wall
/// clock of any test run, so "expired" can only mean "expired at packet time".
const T0: i64 = 1_700_000_000;
/// The production HS256 key: 43 random characters, in no list of common secrets.
const STRONG_KEY: &[u8] = b"q7Vd2LxN9pR4tZ8wK1mB6cJ3hF0sY5gA_eU-oI2nT8r";

/// The behavioural kinds, checked by `tests/sequences.rs`.
const SEQUENCE_KINDS: [&str; 4] = [
    "enumeration",
    "novel_transition",
    "rate_anomaly",
    "fingerprint_change",
];

/// A capture being built: each connection is its own TCP conversation (own client port).
struct Capture {
    frames: Vec<Frame>,
    port: u16,
    /// Request/response exchanges written: every one must come out as a transaction.
    exchanges: u64,
}

impl Capture {
    fn new() -> Capture {
        Capture {
            frames: Vec::new(),
            port: 40_000,
            exchanges: 0,
        }
    }

    /// One keep-alive connection from `client` (an IPv4 address) opened `at_ms` milliseconds
    /// after [`T0`], carrying `calls` (request, response) in order, `gap_ms` apart.
    fn connection(&mut self, client: &str, at_ms: i64, gap_ms: i64, calls: &[(Vec<u8>, Vec<u8>)]) {
        self.port += 1;
        let mut c = Conv::new(&format!("{client}:{}", self.port), SERVER);
        c.clock = (T0 * 1000 + at_ms) * 1_000_000;
        c.handshake();
        for (request, response) in calls {
            c.exchange(request, response, 1400);
            c.wait_us(gap_ms * 1000);
            self.exchanges += 1;
        }
        c.close();
        self.frames.append(&mut c.frames);
    }

    /// A connection carrying one exchange, opened `at_ms` milliseconds after [`T0`].
    fn call(&mut self, client: &str, at_ms: i64, request: Vec<u8>, response: Vec<u8>) {
        self.connection(client, at_ms, 0, &[(request, response)]);
    }
}

/// An HTTP/1.1 request to [`HOST`] as a mobile app sends it, with `extra` headers and an optional
/// JSON body.
fn request(method: &str, target: &str, extra: &[(&str, &str)], body: Option<&Value>) -> Vec<u8> {
    let mut s = format!(
        "{method} {target} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: ShopApp/4.2 (Android 14; okhttp/4.12)\r\nAccept: application/json\r\nAccept-Language: en-GB\r\nAccept-Encoding: gzip\r\n"
    );
    for (name, value) in extra {
        s.push_str(&format!("{name}: {value}\r\n"));
    }
    match body {
        Some(b) => {
            let b = b.to_string();
            s.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ));
        }
        None => s.push_str("\r\n"),
    }
    s.into_bytes()
}

/// `GET target` with `extra` headers.
fn get(target: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    request("GET", target, extra, None)
}

/// A response with `extra` headers and a body of type `content_type` (none for 204).
fn response(status: u16, extra: &[(&str, &str)], content_type: &str, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut s = format!(
        "HTTP/1.1 {status} {reason}\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: nginx/1.24.0\r\n"
    );
    for (name, value) in extra {
        s.push_str(&format!("{name}: {value}\r\n"));
    }
    if status == 204 {
        s.push_str("\r\n");
    } else {
        s.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    }
    s.into_bytes()
}

/// A JSON response.
fn json_response(status: u16, extra: &[(&str, &str)], body: &Value) -> Vec<u8> {
    response(
        status,
        extra,
        "application/json; charset=utf-8",
        &body.to_string(),
    )
}

/// `200 OK` with a JSON body.
fn ok_json(body: &Value) -> Vec<u8> {
    json_response(200, &[], body)
}

/// The refusal of a request without valid credentials.
fn unauthorized() -> Vec<u8> {
    json_response(
        401,
        &[(
            "WWW-Authenticate",
            "Bearer realm=\"shop\", error=\"invalid_token\"",
        )],
        &json!({"error": "unauthorized", "message": "A valid bearer token is required."}),
    )
}

/// A page of the public catalogue: no personal data.
fn products() -> Value {
    json!({
        "page": 2,
        "limit": 10,
        "items": [
            {"id": 17, "sku": "LMP-2041", "name": "Desk lamp", "price": 49.99, "in_stock": true},
            {"id": 18, "sku": "CHR-0310", "name": "Office chair", "price": 189.0, "in_stock": false}
        ]
    })
}

/// A customer record: personal data (email, phone).
fn customer() -> Value {
    json!({
        "id": 5,
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "phone": "+44 20 7946 0958",
        "tier": "gold"
    })
}

// ---------------------------------------------------------------------------------------------
// Tokens.

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A real HS256 JWT: `claims` signed with `key`.
fn hs256(claims: &Value, key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(claims.to_string().as_bytes())
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64url(&mac.finalize().into_bytes()))
}

/// An unsigned JWT (`alg` as given, e.g. `none`), empty signature.
fn unsigned(alg: &str, claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64url(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// Seconds since the epoch `secs` after [`T0`] (packet time).
fn at(secs: i64) -> i64 {
    T0 + secs
}

/// A clean token for a request at `T0 + secs`: strong key, issued a minute before, valid 15 min.
fn clean_token(sub: &str, secs: i64) -> String {
    hs256(
        &json!({"sub": sub, "iss": "https://id.shop.test", "iat": at(secs - 60), "exp": at(secs - 60 + 900)}),
        STRONG_KEY,
    )
}

/// `Bearer <token>`.
fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The parts of a JWT that must never be stored: the whole token, its payload and signature.
fn token_parts(token: &str) -> Vec<String> {
    let mut out = vec![token.to_string()];
    out.extend(
        token
            .split('.')
            .skip(1)
            .filter(|p| p.len() >= 8)
            .map(String::from),
    );
    out
}

// ---------------------------------------------------------------------------------------------
// The API description.

/// The published description of the shop API: bearer JWT required globally; public, optional,
/// deprecated and non-deprecated operations.
const SPEC: &str = r#"
openapi: 3.0.3
info:
  title: Shop API (posture rules test)
  version: 2.1.0
servers:
  - url: http://api.shop.test
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
paths:
  /api/health:
    get:
      operationId: getHealth
      security: []
      responses:
        '200': {description: Healthy}
  /api/v2/products:
    get:
      operationId: listProducts
      security: []
      parameters:
        - {name: page, in: query, schema: {type: integer}}
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        '200': {description: A page of products}
  /api/v2/products/{product_id}:
    get:
      operationId: getProduct
      security: []
      parameters:
        - {name: product_id, in: path, required: true, schema: {type: integer}}
      responses:
        '200': {description: A product}
        '404': {description: No such product}
  /api/v2/catalog/{item_id}:
    get:
      operationId: getCatalogItem
      summary: Public, personalised when a token is sent
      security:
        - {}
        - bearerAuth: []
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: integer}}
      responses:
        '200': {description: An item}
  /api/v2/search:
    get:
      operationId: search
      deprecated: true
      security: []
      parameters:
        - {name: q, in: query, schema: {type: string}}
      responses:
        '200': {description: Results}
  /api/v2/export:
    get:
      operationId: exportOrders
      deprecated: false
      responses:
        '200': {description: CSV}
  /api/v2/reports:
    get:
      operationId: listReports
      deprecated: true
      responses:
        '200': {description: Reports}
  /api/v2/orders/{order_id}:
    get:
      operationId: getOrder
      parameters:
        - {name: order_id, in: path, required: true, schema: {type: integer}}
      responses:
        '200': {description: An order}
        '401': {description: No credentials}
  /api/v2/customers/{customer_id}:
    get:
      operationId: getCustomer
      parameters:
        - {name: customer_id, in: path, required: true, schema: {type: integer}}
      responses:
        '200': {description: A customer}
        '401': {description: No credentials}
"#;

// ---------------------------------------------------------------------------------------------
// Ingest and look.

/// One row of `api_findings`.
#[derive(Debug)]
struct Found {
    kind: String,
    method: String,
    path: String,
    client: Option<String>,
    detail: String,
    evidence: String,
    count: i64,
}

/// An inventory built from one capture.
struct Inventory {
    _dir: tempfile::TempDir,
    store: Store,
    findings: Vec<Found>,
}

/// Writes the capture, imports [`SPEC`] first when `with_spec`, ingests, reads the findings.
async fn analyse(cap: &Capture, with_spec: bool) -> Inventory {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("capture.pcap");
    write_pcap(&pcap, &cap.frames);
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    if with_spec {
        shadowtap::store::spec::import(&store, "shop.openapi.yaml", SPEC.as_bytes())
            .await
            .unwrap();
    }
    let (reports, _, _) = ingest_files(&store, &[&pcap], &IngestOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(reports[0].outcome, "ingested");
    // A quiet case must be quiet about traffic that was there: every exchange written was
    // decoded into a transaction and attributed to an endpoint.
    assert!(
        cap.exchanges > 0,
        "a capture without traffic proves nothing"
    );
    assert_eq!(
        reports[0].transactions, cap.exchanges,
        "transactions decoded from the capture"
    );
    let attributed: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(request_count), 0) FROM endpoints")
            .fetch_one(&support::sql(&store).await)
            .await
            .unwrap();
    assert_eq!(
        attributed as u64, cap.exchanges,
        "requests counted on endpoints"
    );
    let findings = sqlx::query(
        "SELECT kind, method, path_template, client, detail, evidence, count FROM api_findings ORDER BY kind, method, path_template",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap()
    .into_iter()
    .map(|r| Found {
        kind: r.get(0),
        method: r.get(1),
        path: r.get(2),
        client: r.get(3),
        detail: r.get(4),
        evidence: r.get(5),
        count: r.get(6),
    })
    .collect();
    Inventory {
        _dir: dir,
        store,
        findings,
    }
}

impl Inventory {
    /// The posture kinds raised.
    fn kinds(&self) -> BTreeSet<&str> {
        self.findings
            .iter()
            .map(|f| f.kind.as_str())
            .filter(|k| !SEQUENCE_KINDS.contains(k))
            .collect()
    }

    /// Exactly these posture kinds were raised.
    #[track_caller]
    fn assert_kinds(&self, want: &[&str]) {
        let want: BTreeSet<&str> = want.iter().copied().collect();
        assert_eq!(self.kinds(), want, "findings: {:#?}", self.findings);
    }

    /// No posture finding at all.
    #[track_caller]
    fn assert_quiet(&self) {
        self.assert_kinds(&[]);
    }

    /// The endpoints (`METHOD template`) a kind was raised on, sorted.
    fn endpoints(&self, kind: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| format!("{} {}", f.method, f.path))
            .collect();
        v.sort();
        v
    }

    /// The findings of one kind.
    fn of(&self, kind: &str) -> Vec<&Found> {
        self.findings.iter().filter(|f| f.kind == kind).collect()
    }

    /// No finding (any kind) holds any of `secrets` in any of its texts.
    #[track_caller]
    fn assert_no_secret<S: AsRef<str>>(&self, secrets: &[S]) {
        for f in &self.findings {
            let texts = [
                f.path.as_str(),
                f.client.as_deref().unwrap_or(""),
                f.detail.as_str(),
                f.evidence.as_str(),
            ];
            for s in secrets {
                let s = s.as_ref();
                assert!(
                    !texts.iter().any(|t| t.contains(s)),
                    "{} carries the secret {s:?}: {f:#?}",
                    f.kind
                );
            }
        }
    }

    /// The classification of an endpoint (`None` until a spec is imported).
    async fn classification(&self, method: &str, template: &str) -> Option<String> {
        sqlx::query_scalar(
            "SELECT classification FROM api_endpoints WHERE host = ? AND method = ? AND path_template = ?",
        )
        .bind(HOST)
        .bind(method)
        .bind(template)
        .fetch_one(&support::sql(&self.store).await)
        .await
        .unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// shadow_api: served and called, but in no imported API description.

/// A route missing from the spec fires, and so does a documented path called with a method the
/// spec does not list; documented operations next to them stay quiet.
#[tokio::test]
async fn shadow_api_fires_for_undocumented_routes_and_methods() {
    let token = clean_token("ops-1", 3);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                get("/api/health", &[]),
                ok_json(&json!({"status": "ok", "version": "2.4.1"})),
            ),
            (
                get("/api/v2/products?page=2&limit=10", &[]),
                ok_json(&products()),
            ),
            (
                get("/api/internal/metrics", &[("Authorization", &auth)]),
                ok_json(&json!({"requests_total": 48213, "p99_ms": 41})),
            ),
            (
                request(
                    "DELETE",
                    "/api/v2/products/17",
                    &[("Authorization", &auth)],
                    None,
                ),
                response(204, &[], "", ""),
            ),
        ],
    );
    let inv = analyse(&cap, true).await;
    inv.assert_kinds(&["shadow_api"]);
    assert_eq!(
        inv.endpoints("shadow_api"),
        [
            "DELETE /api/v2/products/{product_id}",
            "GET /api/internal/metrics"
        ]
    );
    let delete = inv
        .of("shadow_api")
        .into_iter()
        .find(|f| f.method == "DELETE")
        .unwrap();
    assert!(delete.detail.contains("only for GET"), "{}", delete.detail);
    assert_eq!(
        inv.classification("GET", "/api/internal/metrics")
            .await
            .as_deref(),
        Some("shadow")
    );
    assert_eq!(
        inv.classification("GET", "/api/v2/products")
            .await
            .as_deref(),
        Some("documented")
    );
    inv.assert_no_secret(&token_parts(&token));
}

/// A scanner's probes that the server answers 404 are not APIs: classified `probe` and no
/// `shadow_api`; the scanner is reported (`scanner_probe`); documented operations are quiet.
#[tokio::test]
async fn shadow_api_is_quiet_for_documented_routes_and_404_probes() {
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (get("/api/health", &[]), ok_json(&json!({"status": "ok"}))),
            (
                get("/api/v2/products/17", &[]),
                ok_json(&json!({"id": 17, "sku": "LMP-2041", "price": 49.99})),
            ),
        ],
    );
    let not_found = || {
        response(
            404,
            &[],
            "text/html",
            "<html><body><h1>404 Not Found</h1></body></html>",
        )
    };
    cap.connection(
        "10.0.0.66",
        500,
        200,
        &[
            (get("/.env", &[]), not_found()),
            (get("/wp-login.php", &[]), not_found()),
            (get("/api/internal/debug", &[]), not_found()),
        ],
    );
    let inv = analyse(&cap, true).await;
    inv.assert_kinds(&["scanner_probe"]);
    assert_eq!(
        inv.of("scanner_probe")[0].client.as_deref(),
        Some("10.0.0.66")
    );
    assert_eq!(
        inv.classification("GET", "/api/v2/products/{product_id}")
            .await
            .as_deref(),
        Some("documented")
    );
    assert_eq!(
        inv.classification("GET", "/.env").await.as_deref(),
        Some("probe")
    );
}

// ---------------------------------------------------------------------------------------------
// scanner_probe: a client trying paths that are no API (never answered with success).

/// A scanner's probes (`/.env`, `/.git/config`, `/wp-login.php`, `/phpmyadmin/`,
/// `/actuator/env`) answered 403 or 404 are no shadow APIs, not even those a 403 shows to be
/// routed: they stay in the inventory, classified `probe`, and the probing client is reported
/// once, as `scanner_probe`, with the paths it tried. An undocumented route that answered with
/// success, or that three clients were refused on, is a shadow API as before.
#[tokio::test]
async fn scanner_probe_fires_for_the_probing_client_instead_of_shadow_api() {
    let key = "ops_key_7f3c9a1e5b2d8c4f";
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (get("/api/health", &[]), ok_json(&json!({"status": "ok"}))),
            (
                get("/api/internal/metrics", &[("X-API-Key", key)]),
                ok_json(&json!({"requests_total": 48213})),
            ),
        ],
    );
    let refused = |status: u16| {
        response(
            status,
            &[],
            "text/html",
            "<html><body><h1>Request refused</h1></body></html>",
        )
    };
    let probes = [
        ("/.env", 404),
        ("/.git/config", 403),
        ("/wp-login.php", 404),
        ("/phpmyadmin/", 403),
        ("/actuator/env", 403),
    ];
    let mut calls: Vec<(Vec<u8>, Vec<u8>)> = probes
        .iter()
        .map(|(path, status)| {
            (
                request(
                    "GET",
                    path,
                    &[("User-Agent", "Mozilla/5.0 zgrab/0.x")],
                    None,
                ),
                refused(*status),
            )
        })
        .collect();
    // The scanner also got the health check: a served route is no probe.
    calls.push((get("/api/health", &[]), ok_json(&json!({"status": "ok"}))));
    cap.connection("10.0.0.66", 2000, 150, &calls);
    // Three clients refused on the same undocumented route: that is an API (a shadow one).
    for (i, client) in ["10.0.0.3", "10.0.0.4", "10.0.0.5"].iter().enumerate() {
        cap.call(
            client,
            4000 + i as i64 * 500,
            get("/api/v2/legacy/export", &[]),
            refused(403),
        );
    }
    for with_spec in [true, false] {
        let inv = analyse(&cap, with_spec).await;
        if with_spec {
            inv.assert_kinds(&["scanner_probe", "shadow_api"]);
            assert_eq!(
                inv.endpoints("shadow_api"),
                ["GET /api/internal/metrics", "GET /api/v2/legacy/export"]
            );
            for (path, _) in &probes[..2] {
                assert_eq!(
                    inv.classification("GET", path).await.as_deref(),
                    Some("probe"),
                    "{path}"
                );
            }
        } else {
            inv.assert_kinds(&["scanner_probe"]);
            assert_eq!(inv.classification("GET", "/.git/config").await, None);
        }
        let found = inv.of("scanner_probe");
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = found[0];
        assert_eq!(f.client.as_deref(), Some("10.0.0.66"));
        assert_eq!(f.count, 5);
        assert!(f.evidence.starts_with("5 probed paths: "), "{}", f.evidence);
        for p in [
            "/.env",
            "/.git/config",
            "/wp-login.php",
            "/phpmyadmin",
            "/actuator/env",
        ] {
            assert!(
                f.evidence.contains(&format!("GET {p}")),
                "{p}: {}",
                f.evidence
            );
        }
        assert!(f.detail.contains("403 ×3, 404 ×2"), "{}", f.detail);
        // The probes are traffic: still in the inventory.
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_endpoints WHERE path_template IN ('/.env', '/.git/config', '/wp-login.php', '/actuator/env')",
        )
        .fetch_one(&support::sql(&inv.store).await)
        .await
        .unwrap();
        assert_eq!(n, 4);
        inv.assert_no_secret(&[key]);
    }
}

/// HTTP plumbing on documented paths is not an undocumented API: `DELETE` refused with
/// 405 Method Not Allowed (the route lacks it), a CORS preflight (`OPTIONS`, answered by the
/// HTTP stack) and `HEAD` of a documented `GET` (GET without the body).
#[tokio::test]
async fn shadow_api_is_quiet_for_unserved_methods_preflights_and_head() {
    let token = clean_token("customer-5", 0);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                request(
                    "DELETE",
                    "/api/v2/products/17",
                    &[("Authorization", &auth)],
                    None,
                ),
                json_response(
                    405,
                    &[("Allow", "GET")],
                    &json!({"error": "method_not_allowed"}),
                ),
            ),
            (
                request(
                    "OPTIONS",
                    "/api/v2/orders/1001",
                    &[
                        ("Origin", "https://app.shop.test"),
                        ("Access-Control-Request-Method", "GET"),
                        ("Access-Control-Request-Headers", "authorization"),
                    ],
                    None,
                ),
                response(
                    204,
                    &[
                        ("Access-Control-Allow-Origin", "https://app.shop.test"),
                        ("Access-Control-Allow-Methods", "GET, POST"),
                        (
                            "Access-Control-Allow-Headers",
                            "authorization, content-type",
                        ),
                        ("Access-Control-Allow-Credentials", "true"),
                        ("Access-Control-Max-Age", "600"),
                    ],
                    "",
                    "",
                ),
            ),
            (
                get(
                    "/api/v2/orders/1001",
                    &[
                        ("Origin", "https://app.shop.test"),
                        ("Authorization", &auth),
                    ],
                ),
                json_response(
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "https://app.shop.test"),
                        ("Access-Control-Allow-Credentials", "true"),
                    ],
                    &json!({"id": 1001, "status": "shipped"}),
                ),
            ),
        ],
    );
    cap.call(
        "10.0.0.14",
        4000,
        request("HEAD", "/api/health", &[], None),
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n".to_vec(),
    );
    let inv = analyse(&cap, true).await;
    inv.assert_quiet();
    assert_eq!(
        inv.classification("OPTIONS", "/api/v2/orders/{order_id}")
            .await
            .as_deref(),
        Some("documented")
    );
    assert_eq!(
        inv.classification("HEAD", "/api/health").await.as_deref(),
        Some("documented")
    );
    inv.assert_no_secret(&token_parts(&token));
}

/// Without an imported API description nothing is "undocumented": no shadow API, no
/// classification.
#[tokio::test]
async fn shadow_api_is_quiet_without_a_spec() {
    let mut cap = Capture::new();
    cap.call(
        "10.0.0.2",
        0,
        get(
            "/api/internal/metrics",
            &[("X-API-Key", "ops_key_7f3c9a1e5b2d8c4f")],
        ),
        ok_json(&json!({"requests_total": 48213})),
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    assert_eq!(
        inv.classification("GET", "/api/internal/metrics").await,
        None
    );
    inv.assert_no_secret(&["ops_key_7f3c9a1e5b2d8c4f"]);
}

// ---------------------------------------------------------------------------------------------
// zombie_api: documented as deprecated, or an older version superseded by a documented one,
// still called.

/// A `deprecated: true` operation still answered, and `/api/v1/products` while only its
/// successor `/api/v2/products` is documented: both zombies, neither also a shadow API.
#[tokio::test]
async fn zombie_api_fires_for_deprecated_and_superseded_routes() {
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.3",
        0,
        1500,
        &[
            (
                get("/api/v2/search?q=lamp", &[]),
                json_response(
                    200,
                    &[("Deprecation", "true")],
                    &json!({"results": [{"id": 17, "name": "Desk lamp"}]}),
                ),
            ),
            (get("/api/v1/products?page=1", &[]), ok_json(&products())),
        ],
    );
    let inv = analyse(&cap, true).await;
    inv.assert_kinds(&["zombie_api"]);
    assert_eq!(
        inv.endpoints("zombie_api"),
        ["GET /api/v1/products", "GET /api/v2/search"]
    );
    assert_eq!(
        inv.classification("GET", "/api/v1/products")
            .await
            .as_deref(),
        Some("zombie")
    );
}

/// `deprecated: false` is documented, not a zombie; a deprecated operation nobody calls is
/// dormant; a deprecated route the server no longer serves (404, 410 Gone) was switched off as
/// it should.
#[tokio::test]
async fn zombie_api_is_quiet_for_live_dormant_and_removed_operations() {
    let token = clean_token("analyst", 0);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.4",
        0,
        1500,
        &[
            (
                get("/api/v2/export", &[("Authorization", &auth)]),
                response(200, &[], "text/csv", "id,total\n1001,42.50\n1002,17.00\n"),
            ),
            (
                get("/api/v2/search?q=lamp", &[]),
                json_response(
                    404,
                    &[],
                    &json!({"error": "not_found", "message": "Use /api/v2/products."}),
                ),
            ),
            (
                get("/api/v2/search?q=desk", &[]),
                json_response(
                    410,
                    &[("Sunset", "Wed, 01 Nov 2023 00:00:00 GMT")],
                    &json!({"error": "gone", "message": "Use /api/v2/products."}),
                ),
            ),
        ],
    );
    let inv = analyse(&cap, true).await;
    inv.assert_quiet();
    assert_eq!(
        inv.classification("GET", "/api/v2/export").await.as_deref(),
        Some("documented")
    );
    assert_eq!(
        inv.classification("GET", "/api/v2/reports")
            .await
            .as_deref(),
        Some("dormant")
    );
    inv.assert_no_secret(&token_parts(&token));
}

// ---------------------------------------------------------------------------------------------
// unauthenticated_endpoint: the description requires credentials, the endpoint answered 2xx to
// requests that carried none.

/// An order endpoint that requires a bearer token (global `security`) answers 200 to an
/// anonymous caller.
#[tokio::test]
async fn unauthenticated_endpoint_fires_when_required_credentials_are_missing() {
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.11",
        0,
        1200,
        &[
            (
                get("/api/v2/orders/1001", &[]),
                ok_json(&json!({"id": 1001, "status": "shipped", "total_cents": 4250})),
            ),
            (
                get("/api/v2/orders/1002", &[]),
                ok_json(&json!({"id": 1002, "status": "pending", "total_cents": 1700})),
            ),
        ],
    );
    let inv = analyse(&cap, true).await;
    inv.assert_kinds(&["unauthenticated_endpoint"]);
    assert_eq!(
        inv.endpoints("unauthenticated_endpoint"),
        ["GET /api/v2/orders/{order_id}"]
    );
    let f = &inv.of("unauthenticated_endpoint")[0];
    assert!(f.detail.contains("bearer_jwt"), "{}", f.detail);
    assert_eq!(f.count, 2);
}

/// Refused anonymous calls (401) on a protected route, a `security: []` route and an
/// optional-security route (`[{}, bearerAuth]`) answering anonymous callers: all quiet.
#[tokio::test]
async fn unauthenticated_endpoint_is_quiet_for_refusals_and_documented_public_routes() {
    let token = clean_token("customer-5", 1);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.11",
        0,
        1200,
        &[
            (get("/api/v2/customers/5", &[]), unauthorized()),
            (get("/api/health", &[]), ok_json(&json!({"status": "ok"}))),
            (
                get("/api/v2/catalog/9", &[]),
                ok_json(&json!({"id": 9, "name": "Desk lamp", "price": 49.99})),
            ),
        ],
    );
    cap.call(
        "10.0.0.2",
        600,
        get("/api/v2/customers/5", &[("Authorization", &auth)]),
        ok_json(&customer()),
    );
    let inv = analyse(&cap, true).await;
    inv.assert_quiet();
    inv.assert_no_secret(&token_parts(&token));
}

/// Without a description, a host where nothing ever carries credentials is simply public, and a
/// host with public and protected routes is not judged route by route: quiet.
#[tokio::test]
async fn unauthenticated_endpoint_is_quiet_without_a_spec() {
    // Every endpoint public.
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.11",
        0,
        1000,
        &[
            (get("/api/health", &[]), ok_json(&json!({"status": "ok"}))),
            (
                get("/api/v2/products?page=2&limit=10", &[]),
                ok_json(&products()),
            ),
            (
                get("/api/v2/products/17", &[]),
                ok_json(&json!({"id": 17, "sku": "LMP-2041", "price": 49.99})),
            ),
        ],
    );
    analyse(&cap, false).await.assert_quiet();

    // Public health check next to a protected customer route.
    let token = clean_token("customer-5", 0);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.call(
        "10.0.0.2",
        0,
        get("/api/v2/customers/5", &[("Authorization", &auth)]),
        ok_json(&customer()),
    );
    cap.call(
        "10.0.0.14",
        500,
        get("/api/health", &[]),
        ok_json(&json!({"status": "ok"})),
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    inv.assert_no_secret(&token_parts(&token));
}

// ---------------------------------------------------------------------------------------------
// unauthenticated_sensitive_data: personal or secret data answered to a request without any
// credential.

/// Product reviews that embed each reviewer's email and phone, served to an anonymous caller.
#[tokio::test]
async fn unauthenticated_sensitive_data_fires_for_personal_data_served_anonymously() {
    let mut cap = Capture::new();
    cap.call(
        "10.0.0.11",
        0,
        get("/api/v2/products/17/reviews", &[]),
        ok_json(&json!({
            "product_id": 17,
            "reviews": [
                {"rating": 5, "text": "Bright and sturdy.",
                 "reviewer": {"name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+44 20 7946 0958"}}
            ]
        })),
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["unauthenticated_sensitive_data"]);
    let f = &inv.of("unauthenticated_sensitive_data")[0];
    assert!(f.path.ends_with("/reviews"), "{f:?}");
    assert!(
        f.detail.contains("email") && f.detail.contains("phone"),
        "{}",
        f.detail
    );
    inv.assert_no_secret(&["jane.doe@example.com", "7946 0958"]);
}

/// A health check with versions and dates, a catalogue page, personal data answered to a bearer
/// token, an anonymous call refused with 401, and a login (password in the body) that answers a
/// token and the user's email: nothing sensitive went to a caller without credentials.
#[tokio::test]
async fn unauthenticated_sensitive_data_is_quiet_for_public_data_refusals_and_logins() {
    let token = clean_token("customer-5", 3);
    let auth = bearer(&token);
    let issued = clean_token("customer-5", 5);
    let password = "correct horse battery staple";
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.11",
        0,
        1000,
        &[
            (
                get("/api/health", &[]),
                ok_json(&json!({"status": "ok", "version": "2.4.1", "uptime_seconds": 86400, "built": "2023-11-14T09:00:00Z"})),
            ),
            (get("/api/v2/products?page=2&limit=10", &[]), ok_json(&products())),
            (get("/api/v2/customers/6", &[]), unauthorized()),
        ],
    );
    cap.connection(
        "10.0.0.2",
        2500,
        1000,
        &[
            (
                get("/api/v2/customers/5", &[("Authorization", &auth)]),
                ok_json(&customer()),
            ),
            (
                request(
                    "POST",
                    "/api/v2/auth/login",
                    &[],
                    Some(&json!({"username": "jane", "password": password})),
                ),
                ok_json(&json!({
                    "access_token": issued,
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "user": {"id": 5, "email": "jane.doe@example.com"}
                })),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&token);
    secrets.extend(token_parts(&issued));
    secrets.push(password.into());
    inv.assert_no_secret(&secrets);
}

// ---------------------------------------------------------------------------------------------
// auth_inconsistent: the same endpoint answered 2xx both with and without credentials.

/// Orders answered 200 to the SPA's bearer token and 200 to an anonymous caller.
#[tokio::test]
async fn auth_inconsistent_fires_when_an_endpoint_answers_with_and_without_credentials() {
    let token = clean_token("customer-5", 0);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                get("/api/v2/orders/1001", &[("Authorization", &auth)]),
                ok_json(&json!({"id": 1001, "status": "shipped"})),
            ),
            (
                get("/api/v2/orders/1002", &[("Authorization", &auth)]),
                ok_json(&json!({"id": 1002, "status": "pending"})),
            ),
        ],
    );
    cap.call(
        "10.0.0.11",
        3000,
        get("/api/v2/orders/1003", &[]),
        ok_json(&json!({"id": 1003, "status": "shipped"})),
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["auth_inconsistent"]);
    assert_eq!(
        inv.endpoints("auth_inconsistent"),
        ["GET /api/v2/orders/{order_id}"]
    );
    let f = &inv.of("auth_inconsistent")[0];
    assert!(f.evidence.contains("bearer_jwt 2"), "{}", f.evidence);
    inv.assert_no_secret(&token_parts(&token));
}

/// A protected route that refuses anonymous callers, a public route only ever called
/// anonymously, and a route accepting two credential styles (bearer and API key): quiet.
#[tokio::test]
async fn auth_inconsistent_is_quiet_for_consistent_endpoints() {
    let token = clean_token("customer-5", 0);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                get("/api/v2/customers/5", &[("Authorization", &auth)]),
                ok_json(&customer()),
            ),
            (
                get("/api/v2/stock/17", &[("Authorization", &auth)]),
                ok_json(&json!({"product_id": 17, "available": 12})),
            ),
        ],
    );
    cap.connection(
        "10.0.0.5",
        500,
        1000,
        &[(
            get(
                "/api/v2/stock/18",
                &[("X-API-Key", "pk_partner_3b9f0c2d7e1a4f68")],
            ),
            ok_json(&json!({"product_id": 18, "available": 0})),
        )],
    );
    cap.connection(
        "10.0.0.11",
        800,
        1000,
        &[
            (get("/api/v2/customers/6", &[]), unauthorized()),
            (
                get("/api/v2/products?page=2&limit=10", &[]),
                ok_json(&products()),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&token);
    secrets.push("pk_partner_3b9f0c2d7e1a4f68".into());
    inv.assert_no_secret(&secrets);
}

/// Browsers send the session cookie with every request, so a logged-in user calls public routes
/// with credentials and an anonymous one without. When the API description documents the route
/// as public (`security: []`) or optionally authenticated (`[{}, bearerAuth]`), both answering
/// 2xx is the documented behaviour, not an inconsistency.
#[tokio::test]
async fn auth_inconsistent_is_quiet_on_routes_documented_as_public() {
    let token = clean_token("customer-5", 0);
    let auth = bearer(&token);
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/products?page=2&limit=10",
                    &[("Cookie", "sessionid=s_4f1c8e2a9b7d3f60; theme=dark")],
                ),
                ok_json(&products()),
            ),
            (
                get("/api/v2/catalog/9", &[("Authorization", &auth)]),
                ok_json(
                    &json!({"id": 9, "name": "Desk lamp", "price": 44.99, "member_price": true}),
                ),
            ),
        ],
    );
    cap.connection(
        "10.0.0.11",
        500,
        1000,
        &[
            (
                get("/api/v2/products?page=1&limit=10", &[]),
                ok_json(&products()),
            ),
            (
                get("/api/v2/catalog/9", &[]),
                ok_json(&json!({"id": 9, "name": "Desk lamp", "price": 49.99})),
            ),
        ],
    );
    let inv = analyse(&cap, true).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&token);
    secrets.push("s_4f1c8e2a9b7d3f60".into());
    inv.assert_no_secret(&secrets);
}

// ---------------------------------------------------------------------------------------------
// jwt_alg_none_accepted: an unsigned token answered 2xx.

/// An unsigned admin token answered 200, whatever the case of `none`; without `exp` it is still
/// one finding (nothing else can be said about a token anyone can write).
#[tokio::test]
async fn jwt_alg_none_accepted_fires_for_unsigned_tokens_answered_2xx() {
    let forged = unsigned(
        "none",
        &json!({"sub": "attacker", "role": "admin", "iat": at(-60), "exp": at(840)}),
    );
    let forged_no_exp = unsigned("None", &json!({"sub": "attacker", "role": "admin"}));
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.13",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/admin/users",
                    &[("Authorization", &bearer(&forged))],
                ),
                ok_json(
                    &json!({"users": [{"id": 1, "role": "admin"}, {"id": 2, "role": "staff"}]}),
                ),
            ),
            (
                get(
                    "/api/v2/admin/audit",
                    &[("Authorization", &bearer(&forged_no_exp))],
                ),
                ok_json(&json!({"entries": 0})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["jwt_alg_none_accepted"]);
    assert_eq!(
        inv.endpoints("jwt_alg_none_accepted"),
        ["GET /api/v2/admin/audit", "GET /api/v2/admin/users"]
    );
    let mut secrets = token_parts(&forged);
    secrets.extend(token_parts(&forged_no_exp));
    inv.assert_no_secret(&secrets);
}

/// The same unsigned token refused (401, 403): the server checked the signature.
#[tokio::test]
async fn jwt_alg_none_accepted_is_quiet_when_refused() {
    let forged = unsigned(
        "none",
        &json!({"sub": "attacker", "role": "admin", "iat": at(-60), "exp": at(840)}),
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.13",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/admin/users",
                    &[("Authorization", &bearer(&forged))],
                ),
                unauthorized(),
            ),
            (
                get(
                    "/api/v2/admin/audit",
                    &[("Authorization", &bearer(&forged))],
                ),
                json_response(403, &[], &json!({"error": "forbidden"})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    inv.assert_no_secret(&token_parts(&forged));
}

// ---------------------------------------------------------------------------------------------
// jwt_expired_accepted: `exp` before the packet time of the request, answered 2xx.

/// A token that expired an hour before the request was answered 200.
#[tokio::test]
async fn jwt_expired_accepted_fires_for_a_token_expired_at_packet_time() {
    let expired = hs256(
        &json!({"sub": "kiosk-7", "iat": at(-4500), "exp": at(-3600)}),
        STRONG_KEY,
    );
    let mut cap = Capture::new();
    cap.call(
        "10.0.0.8",
        0,
        get(
            "/api/v2/loyalty/balance",
            &[("Authorization", &bearer(&expired))],
        ),
        ok_json(&json!({"points": 1250})),
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["jwt_expired_accepted"]);
    let f = &inv.of("jwt_expired_accepted")[0];
    assert_eq!(f.path, "/api/v2/loyalty/balance");
    assert!(f.detail.contains("60 minutes"), "{}", f.detail);
    assert!(f.evidence.contains("2023-11-14T21:13:20"), "{}", f.evidence);
    inv.assert_no_secret(&token_parts(&expired));
}

/// Judged against packet time, not the wall clock: a token valid at capture time (its `exp`
/// long past today) is not expired. An expired token answered 401 was refused as it should be,
/// and a token that expired seconds before the request is within the clock skew servers allow.
#[tokio::test]
async fn jwt_expired_accepted_is_quiet_for_valid_refused_and_skew_tolerant_cases() {
    let valid_then = hs256(
        &json!({"sub": "kiosk-7", "iat": at(-300), "exp": at(3600)}),
        STRONG_KEY,
    );
    let expired = hs256(
        &json!({"sub": "kiosk-7", "iat": at(-4500), "exp": at(-3600)}),
        STRONG_KEY,
    );
    let just_expired = hs256(
        &json!({"sub": "kiosk-7", "iat": at(-930), "exp": at(-30)}),
        STRONG_KEY,
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.8",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&valid_then))],
                ),
                ok_json(&json!({"points": 1250})),
            ),
            (
                get(
                    "/api/v2/loyalty/history",
                    &[("Authorization", &bearer(&expired))],
                ),
                unauthorized(),
            ),
            (
                get(
                    "/api/v2/loyalty/rewards",
                    &[("Authorization", &bearer(&just_expired))],
                ),
                ok_json(&json!({"rewards": []})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&valid_then);
    secrets.extend(token_parts(&expired));
    secrets.extend(token_parts(&just_expired));
    inv.assert_no_secret(&secrets);
}

// ---------------------------------------------------------------------------------------------
// jwt_no_expiry: a token without `exp`, answered 2xx.

/// A batch job's token without `exp`, answered 200 twice.
#[tokio::test]
async fn jwt_no_expiry_fires_for_a_token_without_exp() {
    let forever = hs256(
        &json!({"sub": "loyalty-sync", "iat": at(-86_400)}),
        STRONG_KEY,
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.9",
        0,
        2000,
        &[
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&forever))],
                ),
                ok_json(&json!({"points": 1250})),
            ),
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&forever))],
                ),
                ok_json(&json!({"points": 1300})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["jwt_no_expiry"]);
    assert_eq!(
        inv.endpoints("jwt_no_expiry"),
        ["GET /api/v2/loyalty/balance"]
    );
    assert_eq!(inv.of("jwt_no_expiry")[0].count, 2);
    inv.assert_no_secret(&token_parts(&forever));
}

/// An exp-less token refused, a clean 15-minute token, and an `exp` written as a numeric string
/// (which JWT libraries such as PyJWT read and check): none is a token without expiry.
#[tokio::test]
async fn jwt_no_expiry_is_quiet_for_refused_tokens_and_tokens_with_exp() {
    let forever = hs256(
        &json!({"sub": "loyalty-sync", "iat": at(-86_400)}),
        STRONG_KEY,
    );
    let clean = clean_token("customer-5", 1);
    let string_exp = hs256(
        &json!({"sub": "customer-5", "iat": at(-60).to_string(), "exp": at(840).to_string()}),
        STRONG_KEY,
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.9",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&forever))],
                ),
                unauthorized(),
            ),
            (
                get(
                    "/api/v2/loyalty/history",
                    &[("Authorization", &bearer(&clean))],
                ),
                ok_json(&json!({"entries": []})),
            ),
            (
                get(
                    "/api/v2/loyalty/rewards",
                    &[("Authorization", &bearer(&string_exp))],
                ),
                ok_json(&json!({"rewards": []})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&forever);
    secrets.extend(token_parts(&clean));
    secrets.extend(token_parts(&string_exp));
    inv.assert_no_secret(&secrets);
}

// ---------------------------------------------------------------------------------------------
// jwt_long_lived: accepted tokens valid for more than 30 days.

/// A 90-day token (`exp - iat`), and a token without `iat` that is still valid 60 days after
/// the request (`exp - packet time`).
#[tokio::test]
async fn jwt_long_lived_fires_for_tokens_valid_for_months() {
    let ninety_days = hs256(
        &json!({"sub": "mobile-4.2", "iat": at(-3600), "exp": at(-3600 + 90 * 86_400)}),
        STRONG_KEY,
    );
    let no_iat = hs256(
        &json!({"sub": "mobile-4.2", "exp": at(60 * 86_400)}),
        STRONG_KEY,
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.3",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&ninety_days))],
                ),
                ok_json(&json!({"points": 1250})),
            ),
            (
                get(
                    "/api/v2/loyalty/history",
                    &[("Authorization", &bearer(&no_iat))],
                ),
                ok_json(&json!({"entries": []})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["jwt_long_lived"]);
    assert_eq!(
        inv.endpoints("jwt_long_lived"),
        ["GET /api/v2/loyalty/balance", "GET /api/v2/loyalty/history"]
    );
    let detail: Vec<&str> = inv
        .of("jwt_long_lived")
        .iter()
        .map(|f| f.detail.as_str())
        .collect();
    assert!(detail.iter().any(|d| d.contains("90 days")), "{detail:?}");
    let mut secrets = token_parts(&ninety_days);
    secrets.extend(token_parts(&no_iat));
    inv.assert_no_secret(&secrets);
}

/// A 15-minute token, a token of exactly 30 days (the limit itself), and a 90-day token refused
/// with 403: quiet.
#[tokio::test]
async fn jwt_long_lived_is_quiet_for_short_and_limit_lifetimes_and_refusals() {
    let short = clean_token("customer-5", 0);
    let thirty_days = hs256(
        &json!({"sub": "mobile-4.2", "iat": at(-60), "exp": at(-60 + 30 * 86_400)}),
        STRONG_KEY,
    );
    let ninety_days = hs256(
        &json!({"sub": "mobile-4.2", "iat": at(-3600), "exp": at(-3600 + 90 * 86_400)}),
        STRONG_KEY,
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.3",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&short))],
                ),
                ok_json(&json!({"points": 1250})),
            ),
            (
                get(
                    "/api/v2/loyalty/history",
                    &[("Authorization", &bearer(&thirty_days))],
                ),
                ok_json(&json!({"entries": []})),
            ),
            (
                get(
                    "/api/v2/loyalty/rewards",
                    &[("Authorization", &bearer(&ninety_days))],
                ),
                json_response(403, &[], &json!({"error": "token_lifetime_exceeded"})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&short);
    secrets.extend(token_parts(&thirty_days));
    secrets.extend(token_parts(&ninety_days));
    inv.assert_no_secret(&secrets);
}

// ---------------------------------------------------------------------------------------------
// jwt_weak_secret: an accepted HS256 token whose key is one of the well-known default secrets.

/// Tokens signed with `secret` and with jwt.io's `your-256-bit-secret`, both answered 200 and
/// otherwise clean (15 minutes, so no other JWT finding).
#[tokio::test]
async fn jwt_weak_secret_fires_for_tokens_signed_with_a_default_secret() {
    let secret = hs256(
        &json!({"sub": "customer-5", "iat": at(-60), "exp": at(840)}),
        b"secret",
    );
    let jwtio = hs256(
        &json!({"sub": "customer-6", "iat": at(-60), "exp": at(840)}),
        b"your-256-bit-secret",
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.13",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&secret))],
                ),
                ok_json(&json!({"points": 1250})),
            ),
            (
                get(
                    "/api/v2/loyalty/history",
                    &[("Authorization", &bearer(&jwtio))],
                ),
                ok_json(&json!({"entries": []})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["jwt_weak_secret"]);
    assert_eq!(
        inv.endpoints("jwt_weak_secret"),
        ["GET /api/v2/loyalty/balance", "GET /api/v2/loyalty/history"]
    );
    let mut secrets = token_parts(&secret);
    secrets.extend(token_parts(&jwtio));
    secrets.push("your-256-bit-secret".into());
    inv.assert_no_secret(&secrets);
    for f in inv.of("jwt_weak_secret") {
        assert!(!f.evidence.contains("\"secret\"") && !f.detail.contains("`secret`"));
    }
}

/// A token signed with the strong production key, one signed with a key that merely starts like
/// a default (`secret-` + random), and a `secret`-signed token refused with 401: quiet.
#[tokio::test]
async fn jwt_weak_secret_is_quiet_for_strong_keys_and_refused_tokens() {
    let strong = clean_token("customer-5", 0);
    let lookalike = hs256(
        &json!({"sub": "customer-6", "iat": at(-60), "exp": at(840)}),
        b"secret-9c41e07b2fd84a6e8b15c3d7a0f26e94",
    );
    let weak = hs256(
        &json!({"sub": "admin", "iat": at(-60), "exp": at(840)}),
        b"secret",
    );
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.13",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/loyalty/balance",
                    &[("Authorization", &bearer(&strong))],
                ),
                ok_json(&json!({"points": 1250})),
            ),
            (
                get(
                    "/api/v2/loyalty/history",
                    &[("Authorization", &bearer(&lookalike))],
                ),
                ok_json(&json!({"entries": []})),
            ),
            (
                get(
                    "/api/v2/loyalty/rewards",
                    &[("Authorization", &bearer(&weak))],
                ),
                unauthorized(),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&strong);
    secrets.extend(token_parts(&lookalike));
    secrets.extend(token_parts(&weak));
    inv.assert_no_secret(&secrets);
}

// ---------------------------------------------------------------------------------------------
// credentials_in_url: API keys, tokens or passwords in the query string.

/// `?api_key=`, `?token=`, `?password=` with values, and a JWT in a parameter of any name.
#[tokio::test]
async fn credentials_in_url_fires_for_keys_tokens_and_passwords_in_the_query() {
    let jwt = clean_token("customer-5", 3);
    let api_key = "pk_live_51HqLyjWDarjtT1zdp7dc";
    let token = "tok_8c1f3e9a7b2d4c6e";
    let password = "Winter2023!";
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.6",
        0,
        1000,
        &[
            (
                get(
                    &format!("/api/v2/price-list?category=lamps&api_key={api_key}"),
                    &[],
                ),
                ok_json(
                    &json!({"category": "lamps", "prices": [{"sku": "LMP-2041", "price": 49.99}]}),
                ),
            ),
            (
                get(&format!("/api/v2/export?format=csv&token={token}"), &[]),
                response(200, &[], "text/csv", "id,total\n1001,42.50\n"),
            ),
            (
                get(&format!("/api/v2/session/resume?state={jwt}"), &[]),
                ok_json(&json!({"resumed": true})),
            ),
            (
                get(
                    &format!(
                        "/api/v1/legacy-login?user=jane&password={}",
                        "Winter2023%21"
                    ),
                    &[],
                ),
                ok_json(&json!({"ok": true})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["credentials_in_url"]);
    assert_eq!(
        inv.endpoints("credentials_in_url"),
        [
            "GET /api/v1/legacy-login",
            "GET /api/v2/export",
            "GET /api/v2/price-list",
            "GET /api/v2/session/resume"
        ]
    );
    let price = inv
        .of("credentials_in_url")
        .into_iter()
        .find(|f| f.path == "/api/v2/price-list")
        .unwrap();
    assert!(price.detail.contains("`api_key`"), "{}", price.detail);
    let mut secrets = token_parts(&jwt);
    secrets.extend([
        api_key.to_string(),
        token.into(),
        password.into(),
        "Winter2023".into(),
    ]);
    inv.assert_no_secret(&secrets);
}

/// Pagination, an empty `token=`, credential words as *values* (`q=token`, `sort=key`), and names
/// that merely contain one (`keyword`, `monkey`, `tokens_left`): quiet.
#[tokio::test]
async fn credentials_in_url_is_quiet_for_ordinary_parameters() {
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.11",
        0,
        1000,
        &[
            (
                get("/api/v2/products?page=2&limit=10", &[]),
                ok_json(&products()),
            ),
            (
                get("/api/v2/export?format=csv&token=", &[]),
                json_response(
                    400,
                    &[],
                    &json!({"error": "bad_request", "message": "token is empty"}),
                ),
            ),
            (
                get("/api/v2/search?q=token&sort=key", &[]),
                ok_json(&json!({"results": []})),
            ),
            (
                get("/api/v2/products?keyword=lamp&monkey=1&tokens_left=3", &[]),
                ok_json(&products()),
            ),
        ],
    );
    analyse(&cap, false).await.assert_quiet();
}

// ---------------------------------------------------------------------------------------------
// basic_auth_cleartext: HTTP Basic credentials on plain HTTP (everything the sensor sees is).

/// Basic credentials answered 200, then a wrong password answered 401: the password travelled
/// either way, so both count.
#[tokio::test]
async fn basic_auth_cleartext_fires_whatever_the_answer() {
    let good = STANDARD.encode("finance:Tr0ub4dor&3-ledger");
    let bad = STANDARD.encode("finance:tr0ub4dor-typo");
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.7",
        0,
        1500,
        &[
            (
                get(
                    "/api/v2/reports/sales?month=2023-10",
                    &[("Authorization", &format!("Basic {good}"))],
                ),
                ok_json(&json!({"month": "2023-10", "revenue": 182340.5, "orders": 4211})),
            ),
            (
                get(
                    "/api/v2/reports/sales?month=2023-09",
                    &[("Authorization", &format!("Basic {bad}"))],
                ),
                json_response(
                    401,
                    &[("WWW-Authenticate", "Basic realm=\"reports\"")],
                    &json!({"error": "unauthorized"}),
                ),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["basic_auth_cleartext"]);
    let f = &inv.of("basic_auth_cleartext")[0];
    assert_eq!(f.path, "/api/v2/reports/sales");
    assert_eq!(f.count, 2);
    assert!(f.detail.contains("`finance`"), "{}", f.detail);
    inv.assert_no_secret(&[
        good.as_str(),
        bad.as_str(),
        "Tr0ub4dor&3-ledger",
        "tr0ub4dor-typo",
    ]);
}

/// A bearer token, a Digest response (no password on the wire), and an anonymous request
/// answered by a `WWW-Authenticate: Basic` challenge: no Basic credentials were sent.
#[tokio::test]
async fn basic_auth_cleartext_is_quiet_without_basic_credentials() {
    let token = clean_token("finance", 0);
    let digest = r#"Digest username="finance", realm="reports", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/api/v2/reports/sales?month=2023-08", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1""#;
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.7",
        0,
        1500,
        &[
            (
                get(
                    "/api/v2/reports/sales?month=2023-10",
                    &[("Authorization", &bearer(&token))],
                ),
                ok_json(&json!({"month": "2023-10", "revenue": 182340.5})),
            ),
            (
                get(
                    "/api/v2/reports/sales?month=2023-08",
                    &[("Authorization", digest)],
                ),
                ok_json(&json!({"month": "2023-08", "revenue": 170021.0})),
            ),
        ],
    );
    cap.call(
        "10.0.0.11",
        4000,
        get("/api/v2/reports/sales?month=2023-10", &[]),
        json_response(
            401,
            &[(
                "WWW-Authenticate",
                "Basic realm=\"reports\", charset=\"UTF-8\"",
            )],
            &json!({"error": "unauthorized"}),
        ),
    );
    let inv = analyse(&cap, false).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&token);
    secrets.push("6629fae49393a05397450978507c4ef1".into());
    inv.assert_no_secret(&secrets);
}

// ---------------------------------------------------------------------------------------------
// sensitive_data_in_url: personal data in the path or query string.

/// An email in the query (raw `@` and percent-encoded) and a card number in the path; the
/// evidence holds only redacted forms.
#[tokio::test]
async fn sensitive_data_in_url_fires_for_emails_and_card_numbers() {
    let auth = bearer(&clean_token("support-1", 0));
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.4",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/customers/lookup?email=jane.doe@example.com",
                    &[("Authorization", &auth)],
                ),
                ok_json(&customer()),
            ),
            (
                get(
                    "/api/v2/customers/lookup?email=nobody%40example.com",
                    &[("Authorization", &auth)],
                ),
                json_response(404, &[], &json!({"error": "not_found"})),
            ),
            (
                get(
                    "/api/v2/cards/4111111111111111/limits",
                    &[("Authorization", &auth)],
                ),
                ok_json(&json!({"daily_limit": 2000, "currency": "GBP"})),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["sensitive_data_in_url"]);
    let found = inv.endpoints("sensitive_data_in_url");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.contains(&"GET /api/v2/customers/lookup".to_string()),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("GET /api/v2/cards/") && e.ends_with("/limits")),
        "{found:?}"
    );
    let lookup = inv
        .of("sensitive_data_in_url")
        .into_iter()
        .find(|f| f.path == "/api/v2/customers/lookup")
        .unwrap();
    assert_eq!(lookup.count, 2);
    assert!(lookup.detail.contains("email"), "{}", lookup.detail);
    inv.assert_no_secret(&[
        "jane.doe@example.com",
        "nobody@example.com",
        "4111111111111111",
    ]);
}

/// A 16-digit order number that fails Luhn (in the path and the query), dates, a UUID, and
/// parameter *names* about personal data with harmless values: quiet.
#[tokio::test]
async fn sensitive_data_in_url_is_quiet_for_look_alikes() {
    let auth = bearer(&clean_token("support-1", 0));
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.4",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/orders/4111111111111112",
                    &[("Authorization", &auth)],
                ),
                ok_json(&json!({"id": "4111111111111112", "status": "shipped"})),
            ),
            (
                get(
                    "/api/v2/payments?ref=4111111111111112&from=2023-11-01&to=2023-11-14",
                    &[("Authorization", &auth)],
                ),
                ok_json(&json!({"payments": []})),
            ),
            (
                get(
                    "/api/v2/shipments/3f2c1a9e-6b7d-4e8a-9c0f-1d2e3f4a5b6c",
                    &[("Authorization", &auth)],
                ),
                ok_json(&json!({"carrier": "DHL", "eta": "2023-11-16"})),
            ),
            (
                get(
                    "/api/v2/products?email_opt_in=true&phone_country=GB&page=2",
                    &[("Authorization", &auth)],
                ),
                ok_json(&products()),
            ),
        ],
    );
    analyse(&cap, false).await.assert_quiet();
}

// ---------------------------------------------------------------------------------------------
// verbose_errors: stack traces and debug pages in responses.

/// A Python traceback (text/plain), a Spring Boot error with `trace` (JSON, escaped tabs) and a
/// Node error with `stack` (JSON, escaped newlines), all 500s.
#[tokio::test]
async fn verbose_errors_fires_for_stack_traces() {
    let auth = bearer(&clean_token("customer-5", 0));
    let python = "Traceback (most recent call last):\n  File \"/srv/shop/app/views.py\", line 88, in create_order\n    total = compute_total(payload[\"items\"])\n  File \"/srv/shop/app/pricing.py\", line 31, in compute_total\n    return sum(i[\"price\"] * i[\"qty\"] for i in items)\nKeyError: 'price'\n";
    let spring = json!({
        "timestamp": "2023-11-14T22:13:21.000+00:00",
        "status": 500,
        "error": "Internal Server Error",
        "trace": "java.lang.NullPointerException: Cannot invoke \"com.shop.Invoice.getTotal()\" because \"invoice\" is null\n\tat com.shop.web.InvoiceController.show(InvoiceController.java:57)\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n",
        "path": "/api/v2/invoices/77"
    });
    let node = json!({
        "error": "internal",
        "stack": "TypeError: coupon.trim is not a function\n    at normalizeCoupon (/srv/shop/server.js:212:18)\n    at Server.handle (/srv/shop/server.js:90:5)"
    });
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                request(
                    "POST",
                    "/api/v2/orders",
                    &[("Authorization", &auth)],
                    Some(&json!({"items": [{"sku": "LMP-2041", "qty": 1}]})),
                ),
                response(500, &[], "text/plain; charset=utf-8", python),
            ),
            (
                get("/api/v2/invoices/77", &[("Authorization", &auth)]),
                json_response(500, &[], &spring),
            ),
            (
                get("/api/v2/coupons/WELCOME10", &[("Authorization", &auth)]),
                json_response(500, &[], &node),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["verbose_errors"]);
    let found = inv.endpoints("verbose_errors");
    assert_eq!(found.len(), 3, "{found:?}");
    let details: Vec<&str> = inv
        .of("verbose_errors")
        .iter()
        .map(|f| f.detail.as_str())
        .collect();
    for what in ["Python", "Java", "JavaScript"] {
        assert!(
            details.iter().any(|d| d.contains(what)),
            "{what}: {details:?}"
        );
    }
}

/// A 500 with a plain JSON error and request id, a 404 HTML page, a 400 whose message says
/// "at position", and a proxy's 503 text: no stack trace, quiet.
#[tokio::test]
async fn verbose_errors_is_quiet_for_plain_error_bodies() {
    let auth = bearer(&clean_token("customer-5", 0));
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                request(
                    "POST",
                    "/api/v2/orders",
                    &[("Authorization", &auth)],
                    Some(&json!({"items": [{"sku": "LMP-2041", "qty": 1}]})),
                ),
                json_response(
                    500,
                    &[],
                    &json!({"error": "internal", "message": "Something went wrong. Please try again.", "request_id": "req_01HF3K8Z4W9"}),
                ),
            ),
            (
                get("/api/v2/invoices/99999", &[("Authorization", &auth)]),
                response(
                    404,
                    &[],
                    "text/html",
                    "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>",
                ),
            ),
            (
                get("/api/v2/payments?from=2023-13-01", &[("Authorization", &auth)]),
                json_response(
                    400,
                    &[],
                    &json!({"error": "bad_request", "message": "Invalid date at position 5 of `from`: month must be 1-12"}),
                ),
            ),
            (
                get("/api/v2/coupons/WELCOME10", &[("Authorization", &auth)]),
                response(503, &[], "text/plain", "upstream connect error or disconnect/reset before headers. reset reason: connection termination"),
            ),
        ],
    );
    analyse(&cap, false).await.assert_quiet();
}

// ---------------------------------------------------------------------------------------------
// cors_wildcard_credentials: another origin may read responses with the user's credentials.

/// `*` with credentials, a foreign origin reflected with credentials, and the `null` origin
/// (sandboxed iframes, `file:` pages) reflected with credentials.
#[tokio::test]
async fn cors_wildcard_credentials_fires_for_wildcard_foreign_and_null_origins() {
    let auth = bearer(&clean_token("customer-5", 0));
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/wishlist",
                    &[
                        ("Authorization", &auth),
                        ("Origin", "https://app.shop.test"),
                    ],
                ),
                json_response(
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "*"),
                        ("Access-Control-Allow-Credentials", "true"),
                    ],
                    &json!({"items": [17, 18]}),
                ),
            ),
            (
                get(
                    "/api/v2/profile",
                    &[("Authorization", &auth), ("Origin", "https://evil.example")],
                ),
                json_response(
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "https://evil.example"),
                        ("Access-Control-Allow-Credentials", "true"),
                        ("Vary", "Origin"),
                    ],
                    &json!({"id": 5, "tier": "gold"}),
                ),
            ),
            (
                get(
                    "/api/v2/settings",
                    &[
                        ("Cookie", "sessionid=s_4f1c8e2a9b7d3f60"),
                        ("Origin", "null"),
                    ],
                ),
                json_response(
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "null"),
                        ("Access-Control-Allow-Credentials", "true"),
                        ("Vary", "Origin"),
                    ],
                    &json!({"theme": "dark", "newsletter": false}),
                ),
            ),
        ],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["cors_wildcard_credentials"]);
    assert_eq!(
        inv.endpoints("cors_wildcard_credentials"),
        [
            "GET /api/v2/profile",
            "GET /api/v2/settings",
            "GET /api/v2/wishlist"
        ]
    );
    inv.assert_no_secret(&["s_4f1c8e2a9b7d3f60"]);
}

/// `*` without credentials (a public catalogue), the site's own origin reflected with
/// credentials, a fixed allow-listed origin with credentials, and a foreign origin the server
/// does not echo: quiet.
#[tokio::test]
async fn cors_wildcard_credentials_is_quiet_for_safe_cors() {
    let auth = bearer(&clean_token("customer-5", 0));
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                get(
                    "/api/v2/products?page=2&limit=10",
                    &[("Origin", "https://evil.example")],
                ),
                json_response(200, &[("Access-Control-Allow-Origin", "*")], &products()),
            ),
            (
                get(
                    "/api/v2/customers/5",
                    &[
                        ("Authorization", &auth),
                        ("Origin", "https://app.shop.test"),
                    ],
                ),
                json_response(
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "https://app.shop.test"),
                        ("Access-Control-Allow-Credentials", "true"),
                        ("Vary", "Origin"),
                    ],
                    &customer(),
                ),
            ),
            (
                get("/api/v2/cart", &[("Authorization", &auth)]),
                json_response(
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "https://app.shop.test"),
                        ("Access-Control-Allow-Credentials", "true"),
                    ],
                    &json!({"items": []}),
                ),
            ),
            (
                get(
                    "/api/v2/wishlist",
                    &[("Authorization", &auth), ("Origin", "https://evil.example")],
                ),
                json_response(
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "https://app.shop.test"),
                        ("Access-Control-Allow-Credentials", "true"),
                    ],
                    &json!({"items": [17]}),
                ),
            ),
        ],
    );
    analyse(&cap, false).await.assert_quiet();
}

// ---------------------------------------------------------------------------------------------
// no_rate_limiting: one client far faster than its peers, never throttled (429) nor told of a
// rate limit.

/// Normal partners checking stock about once a second; `n` requests from a scraper 20 ms apart,
/// each answered by `answer(i)`.
fn stock_traffic(
    scraper: &str,
    n: usize,
    answer: impl Fn(usize) -> Vec<u8>,
    partners: &[&str],
) -> Capture {
    let key = "pk_scraper_0d9e8f7a6b5c4d3e";
    let mut cap = Capture::new();
    for (p, partner) in partners.iter().enumerate() {
        let calls: Vec<(Vec<u8>, Vec<u8>)> = (0..6)
            .map(|i| {
                (
                    get(
                        &format!("/api/v2/stock/{}", 17 + i),
                        &[("X-API-Key", "pk_partner_3b9f0c2d7e1a4f68")],
                    ),
                    ok_json(&json!({"product_id": 17 + i, "available": 12})),
                )
            })
            .collect();
        cap.connection(partner, 100 * p as i64, 1000, &calls);
    }
    let calls: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            (
                get(
                    &format!("/api/v2/stock/{}", 17 + i % 8),
                    &[("X-API-Key", key)],
                ),
                answer(i),
            )
        })
        .collect();
    cap.connection(scraper, 1000, 20, &calls);
    cap
}

/// 120 requests in about 2.5 s from one client, all 200, while three partners send one a second.
#[tokio::test]
async fn no_rate_limiting_fires_for_a_client_far_above_its_peers() {
    let cap = stock_traffic(
        "10.0.0.12",
        120,
        |i| ok_json(&json!({"product_id": 17 + i % 8, "available": 12})),
        &["10.0.0.5", "10.0.0.6", "10.0.0.7"],
    );
    let inv = analyse(&cap, false).await;
    inv.assert_kinds(&["no_rate_limiting"]);
    let found = inv.of("no_rate_limiting");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].client.as_deref(), Some("10.0.0.12"));
    assert!(
        found[0].path.starts_with("/api/v2/stock/"),
        "{:?}",
        found[0]
    );
    assert_eq!(found[0].count, 120);
    inv.assert_no_secret(&["pk_scraper_0d9e8f7a6b5c4d3e", "pk_partner_3b9f0c2d7e1a4f68"]);
}

/// The same burst, throttled with 429 after 60 requests: the server does limit the rate.
#[tokio::test]
async fn no_rate_limiting_is_quiet_for_a_throttled_client() {
    let cap = stock_traffic(
        "10.0.0.12",
        120,
        |i| {
            if i < 60 {
                ok_json(&json!({"product_id": 17 + i % 8, "available": 12}))
            } else {
                json_response(
                    429,
                    &[("Retry-After", "10")],
                    &json!({"error": "rate_limited"}),
                )
            }
        },
        &["10.0.0.5", "10.0.0.6", "10.0.0.7"],
    );
    analyse(&cap, false).await.assert_quiet();
}

/// The same burst, all answered 200 by a server that counts the client's requests and says so
/// (`RateLimit-*` headers): it has a rate limit, which this client stayed under.
#[tokio::test]
async fn no_rate_limiting_is_quiet_when_the_server_advertises_a_limit() {
    let cap = stock_traffic(
        "10.0.0.12",
        120,
        |i| {
            let remaining = (1000 - i).to_string();
            json_response(
                200,
                &[
                    ("RateLimit-Limit", "1000"),
                    ("RateLimit-Remaining", &remaining),
                    ("RateLimit-Reset", "60"),
                ],
                &json!({"product_id": 17 + i % 8, "available": 12}),
            )
        },
        &["10.0.0.5", "10.0.0.6", "10.0.0.7"],
    );
    analyse(&cap, false).await.assert_quiet();
}

/// A nightly batch client with many requests at a steady pace (150 requests, 3 s apart: at most
/// four in any 10 s), and clients at a normal rate: quiet. A lone fast client with no peers to
/// compare with is not judged either.
#[tokio::test]
async fn no_rate_limiting_is_quiet_for_steady_and_normal_clients() {
    let mut cap = stock_traffic(
        "10.0.0.12",
        0,
        |_| Vec::new(),
        &["10.0.0.5", "10.0.0.6", "10.0.0.7"],
    );
    let calls: Vec<(Vec<u8>, Vec<u8>)> = (0..150)
        .map(|i| {
            (
                get(
                    &format!("/api/v2/stock/{}", 17 + i % 8),
                    &[("X-API-Key", "pk_batch_5e4d3c2b1a0f9e8d")],
                ),
                ok_json(&json!({"product_id": 17 + i % 8, "available": 12})),
            )
        })
        .collect();
    cap.connection("10.0.0.20", 2000, 3000, &calls);
    analyse(&cap, false).await.assert_quiet();

    let lone = stock_traffic(
        "10.0.0.12",
        120,
        |i| ok_json(&json!({"product_id": 17 + i % 8, "available": 12})),
        &[],
    );
    analyse(&lone, false).await.assert_quiet();
}

// ---------------------------------------------------------------------------------------------
// All rules together.

/// A well-run API against its description: public routes answered anonymously, protected routes
/// with clean tokens (and 401 without), allow-listed CORS, plain JSON errors, pagination. Not
/// one posture finding.
#[tokio::test]
async fn a_well_behaved_api_raises_no_posture_finding() {
    let spa = clean_token("customer-5", 0);
    let support = clean_token("support-1", 2);
    let origin = [("Origin", "https://app.shop.test")];
    let cors = [
        ("Access-Control-Allow-Origin", "https://app.shop.test"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin"),
    ];
    let mut cap = Capture::new();
    cap.connection(
        "10.0.0.2",
        0,
        1000,
        &[
            (
                get("/api/v2/products?page=1&limit=10", &origin),
                ok_json(&products()),
            ),
            (
                get("/api/v2/products?page=2&limit=10", &origin),
                ok_json(&products()),
            ),
            (
                get("/api/v2/products/17", &origin),
                ok_json(&json!({"id": 17, "sku": "LMP-2041", "price": 49.99})),
            ),
            (
                get(
                    "/api/v2/customers/5",
                    &[origin[0], ("Authorization", &bearer(&spa))],
                ),
                json_response(200, &cors, &customer()),
            ),
            (
                get(
                    "/api/v2/orders/1001",
                    &[origin[0], ("Authorization", &bearer(&spa))],
                ),
                json_response(200, &cors, &json!({"id": 1001, "status": "shipped"})),
            ),
        ],
    );
    cap.connection(
        "10.0.0.4",
        500,
        1500,
        &[
            (
                get(
                    "/api/v2/customers/6",
                    &[("Authorization", &bearer(&support))],
                ),
                ok_json(&json!({"id": 6, "name": "John Roe", "email": "john.roe@example.com"})),
            ),
            (
                get("/api/v2/products/9999", &[]),
                json_response(
                    404,
                    &[],
                    &json!({"error": "not_found", "message": "No such product."}),
                ),
            ),
        ],
    );
    cap.connection(
        "10.0.0.11",
        700,
        1000,
        &[
            (get("/api/health", &[]), ok_json(&json!({"status": "ok"}))),
            (get("/api/v2/orders/1001", &[]), unauthorized()),
            (get("/api/v2/customers/5", &[]), unauthorized()),
        ],
    );
    let inv = analyse(&cap, true).await;
    inv.assert_quiet();
    let mut secrets = token_parts(&spa);
    secrets.extend(token_parts(&support));
    inv.assert_no_secret(&secrets);
}
