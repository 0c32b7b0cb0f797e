//! Call sequences end to end: the sequence scenario (`captures/sequences.pcap`, real clients of a
//! real server on loopback) against its ground truth: every transition with its count and
//! principals, and findings that name exactly the misbehaving principals.

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use sqlx::Row;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// The scenario's configuration (captures/sequences.md): a 19 s baseline, defaults otherwise.
fn options() -> IngestOptions {
    let mut o = IngestOptions::default();
    o.inventory.sequence.baseline_secs = 19;
    o
}

fn expected(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(captures().join(name))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

async fn ingested(opts: &IngestOptions) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest_files(&store, &[captures().join("sequences.pcap")], opts, |_| {})
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn transitions_match_the_ground_truth() {
    let (_dir, store) = ingested(&options()).await;
    let rows = sqlx::query(
        "SELECT from_method, from_path_template, to_method, to_path_template, count, clients, host
         FROM api_transitions ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    let got: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.get::<String, _>(6), "shop.seq.test");
            vec![
                r.get::<String, _>(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get::<i64, _>(4).to_string(),
                r.get::<i64, _>(5).to_string(),
            ]
        })
        .collect();
    let mut want = expected("sequences.expected-transitions.tsv");
    want.sort();
    assert_eq!(got, want);
    let total: i64 = sqlx::query_scalar("SELECT SUM(count) FROM api_transitions")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
    // 404 requests of 24 principals (24 sessions): 380 transitions between their calls, and
    // 12 more from a login to the first call with the token it handed out (the same address and
    // User-Agent right after it: one session across the login boundary).
    assert_eq!(total, 392, "404 requests, 24 sessions, 12 logins");
    let paths: i64 = sqlx::query_scalar("SELECT SUM(count) FROM api_sequence_paths")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
    // A session of n calls has n - 2 three-call paths; ten principals made a single call (a
    // login without a token): 404 - 2 × 24 + 10 = 366; each of the 12 sessions continued from
    // its login has one more (login, first call, second call).
    assert_eq!(paths, 366 + 12);
}

#[tokio::test]
async fn findings_name_exactly_the_misbehaving_principals() {
    let (_dir, store) = ingested(&options()).await;
    let rows = sqlx::query(
        "SELECT kind, client, method, path_template, detail FROM api_findings
         WHERE kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change')
         ORDER BY kind, client",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    let got: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
    let want: BTreeSet<(String, String)> = expected("sequences.expected-findings.tsv")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(rows.len(), want.len(), "one finding each");
    for r in &rows {
        let (kind, detail): (String, String) = (r.get(0), r.get(4));
        let endpoint = format!("{} {}", r.get::<String, _>(2), r.get::<String, _>(3));
        match kind.as_str() {
            "enumeration" => {
                assert_eq!(endpoint, "GET /api/users/{user_id}");
                assert!(detail.contains("1000..1099 (100 values)"), "{detail}");
            }
            "novel_transition" => {
                assert_eq!(endpoint, "POST /api/checkout");
                assert!(
                    detail.contains("right after GET /api/products/{product_id}"),
                    "{detail}"
                );
            }
            "rate_anomaly" => {
                assert_eq!(endpoint, "GET /api/products/{product_id}");
                assert!(detail.contains("150 requests within 10 s"), "{detail}");
            }
            "fingerprint_change" => assert!(detail.contains("127.0.0.60"), "{detail}"),
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn the_default_baseline_of_an_hour_raises_no_novel_transition() {
    // The whole capture lasts 46 s: with the default baseline every transition is baseline.
    let (_dir, store) = ingested(&IngestOptions::default()).await;
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM api_findings WHERE kind = 'novel_transition'")
            .fetch_one(&support::sql(&store).await)
            .await
            .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_later_ingest_continues_the_baseline_of_earlier_ones() {
    // Flushing after every transaction re-templates and merges many times: the counts must not
    // change.
    let mut opts = options();
    opts.flush_every = 7;
    let (_dir, store) = ingested(&opts).await;
    let total: i64 = sqlx::query_scalar("SELECT SUM(count) FROM api_transitions")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
    assert_eq!(total, 392);
    let clients: i64 = sqlx::query_scalar(
        "SELECT clients FROM api_transitions WHERE from_path_template = '/api/products' AND to_path_template = '/api/products/{product_id}'",
    )
    .fetch_one(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(clients, 12, "principal sketches merge across flushes");
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT kind FROM api_findings WHERE kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change') ORDER BY 1",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        [
            "enumeration",
            "fingerprint_change",
            "novel_transition",
            "rate_anomaly"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Hand-built traffic: string identifiers and sessions across a login.

mod support;

use base64::Engine as _;

/// Packet time at which the hand-built scenarios start.
const T0_NS: i64 = 1_700_000_000_000_000_000;

/// A capture being built, one TCP conversation per connection.
struct Capture {
    frames: Vec<support::Frame>,
    port: u16,
}

impl Capture {
    fn new() -> Capture {
        Capture {
            frames: Vec::new(),
            port: 30_000,
        }
    }

    /// One keep-alive connection from `client` opened `at_ms` after [`T0_NS`], carrying
    /// `calls` (request, response) `gap_ms` apart.
    fn connection(&mut self, client: &str, at_ms: i64, gap_ms: i64, calls: &[(String, String)]) {
        self.port += 1;
        let mut c = support::Conv::new(&format!("{client}:{}", self.port), "10.200.0.1:80");
        c.clock = T0_NS + at_ms * 1_000_000;
        c.handshake();
        for (request, response) in calls {
            c.exchange(request.as_bytes(), response.as_bytes(), 1400);
            c.wait_us(gap_ms * 1000);
        }
        c.close();
        self.frames.append(&mut c.frames);
    }

    async fn ingest(&self, opts: &IngestOptions) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let pcap = dir.path().join("capture.pcap");
        support::write_pcap(&pcap, &self.frames);
        let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
        ingest_files(&store, &[&pcap], opts, |_| {}).await.unwrap();
        (dir, store)
    }
}

/// A request to `host` with `headers` (and a JSON body when given).
fn request(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> String {
    let mut s =
        format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n");
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    match body {
        Some(b) => s.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => s.push_str("\r\n"),
    }
    s
}

/// A JSON response with `headers`.
fn response(status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let mut s = format!("HTTP/1.1 {status} Status\r\nServer: test\r\n");
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    s
}

/// A JWT for `sub` (the signature is not checked by the sensor).
fn jwt(sub: &str) -> String {
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b(r#"{"alg":"HS256","typ":"JWT"}"#),
        b(&format!(r#"{{"sub":"{sub}","exp":4102444800}}"#)),
        b("signature-of-the-test-token")
    )
}

/// `/users/{x}` -> `/users/{}`.
fn shape(template: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in template.chars() {
        match c {
            '{' => {
                skip = true;
                out.push('{');
            }
            '}' => {
                skip = false;
                out.push('}');
            }
            _ if skip => {}
            _ => out.push(c),
        }
    }
    out
}

async fn sequence_findings(store: &Store) -> Vec<(String, String, String, String, String)> {
    sqlx::query(
        "SELECT kind, client, method || ' ' || path_template, detail, evidence FROM api_findings
         WHERE kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change')
         ORDER BY 1, 2",
    )
    .fetch_all(&support::sql(store).await)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect()
}

/// One client asking for a hundred user names in four minutes, most of them unknown (404), is
/// enumeration of a string identifier; ordinary clients looking up a few users, and a busy bot
/// reading 30 repositories of its organisation over an hour (all 200), are not. The finding
/// gives counts, never the names.
#[tokio::test]
async fn string_identifiers_walked_mostly_not_found_are_enumeration() {
    const HOST: &str = "api.forge.test";
    let mut cap = Capture::new();
    let known = ["octocat", "torvalds", "gaearon", "sindresorhus"];
    // Ten developers look a few users up.
    for u in 0..10usize {
        let token = format!("Bearer {}", jwt(&format!("dev{u}")));
        let calls: Vec<(String, String)> = (0..=(u % 3))
            .map(|k| {
                let name = known[(u + k) % known.len()];
                (
                    request(
                        "GET",
                        &format!("/users/{name}"),
                        HOST,
                        &[("Authorization", &token), ("User-Agent", "gh/2.40")],
                        None,
                    ),
                    response(200, &[], &format!(r#"{{"login":"{name}","type":"User"}}"#)),
                )
            })
            .collect();
        cap.connection(&format!("10.2.0.{}", u + 1), u as i64 * 1000, 2000, &calls);
    }
    // A busy CI bot reads 30 repositories of its organisation over an hour.
    let bot = format!("Bearer {}", jwt("ci-bot"));
    for r in 0..30i64 {
        cap.connection(
            "10.2.0.50",
            20_000 + r * 120_000,
            0,
            &[(
                request(
                    "GET",
                    &format!("/repos/acme/service-{r}"),
                    HOST,
                    &[("Authorization", &bot), ("User-Agent", "ci/1.0")],
                    None,
                ),
                response(200, &[], r#"{"private":true}"#),
            )],
        );
    }
    // The enumerator: 120 names in 4 minutes, one in eight exists.
    let scout = format!("Bearer {}", jwt("scout"));
    let guesses: Vec<String> = (0..120).map(|i| format!("user{i:03}q")).collect();
    let calls: Vec<(String, String)> = guesses
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let found = i % 8 == 0;
            (
                request(
                    "GET",
                    &format!("/users/{name}"),
                    HOST,
                    &[
                        ("Authorization", &scout),
                        ("User-Agent", "python-requests/2.31.0"),
                    ],
                    None,
                ),
                if found {
                    response(200, &[], &format!(r#"{{"login":"{name}","type":"User"}}"#))
                } else {
                    response(404, &[], r#"{"message":"Not Found"}"#)
                },
            )
        })
        .collect();
    cap.connection("10.2.0.66", 60_000, 2000, &calls);

    // With the template pinned (a parameter from the first call), and learned (the names are
    // literals until the learner generalises them at the flush: the finding waits for it).
    for pinned in [true, false] {
        let mut opts = IngestOptions::default();
        if pinned {
            opts.inventory.pinned = vec![(Some(HOST.into()), "/users/{username}".into())];
        }
        let (_dir, store) = cap.ingest(&opts).await;
        let found = sequence_findings(&store).await;
        assert_eq!(found.len(), 1, "{found:#?}");
        let (kind, client, endpoint, detail, evidence) = &found[0];
        assert_eq!(
            (kind.as_str(), client.as_str(), shape(endpoint).as_str()),
            ("enumeration", "sub:scout", "GET /users/{}")
        );
        // 120 names: past 64 values the count is a HyperLogLog estimate (within a few percent).
        let n: u64 = detail
            .split("requested about ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!((110..=130).contains(&n), "{detail}");
        assert!(
            detail.contains("105 of the 120 requests were answered 404/410"),
            "{detail}"
        );
        assert!(evidence.contains("10.2.0.66"), "{evidence}");
        for name in &guesses {
            assert!(
                !detail.contains(name.as_str()) && !evidence.contains(name.as_str()),
                "{detail} / {evidence}"
            );
        }
    }
}

/// A browser that looks at a product anonymously, gets its session cookie with the reviews
/// page and goes on to the cart with it is one session: `GET .../reviews -> POST /cart/items`
/// is a transition. So is an app's JSON login followed by calls with the token it returned. A
/// credential first used from the same address by another client (User-Agent) is not linked.
#[tokio::test]
async fn a_login_joins_anonymous_browsing_and_the_session_that_follows() {
    const HOST: &str = "shop.test";
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
    let app = "ShopApp/4.2 (Android 14)";
    let session = "s%3Aq8Zr4mT1vX0bN6cY2wK9pL3hJ5fD7gA";
    let token = jwt("app-user-77");
    let mut cap = Capture::new();
    cap.connection(
        "10.3.0.5",
        0,
        3000,
        &[
            (
                request("GET", "/products/7", HOST, &[("User-Agent", firefox)], None),
                response(200, &[], r#"{"id":7,"name":"Desk lamp"}"#),
            ),
            (
                request(
                    "GET",
                    "/products/7/reviews",
                    HOST,
                    &[("User-Agent", firefox)],
                    None,
                ),
                response(
                    200,
                    &[(
                        "Set-Cookie",
                        &format!("connect.sid={session}; Path=/; HttpOnly; SameSite=Lax"),
                    )],
                    r#"{"reviews":[{"stars":5}]}"#,
                ),
            ),
            (
                request(
                    "POST",
                    "/cart/items",
                    HOST,
                    &[
                        ("User-Agent", firefox),
                        ("Cookie", &format!("theme=dark; connect.sid={session}")),
                    ],
                    Some(r#"{"product_id":7,"quantity":1}"#),
                ),
                response(201, &[], r#"{"items":1}"#),
            ),
            (
                request(
                    "POST",
                    "/checkout",
                    HOST,
                    &[
                        ("User-Agent", firefox),
                        ("Cookie", &format!("connect.sid={session}")),
                    ],
                    Some("{}"),
                ),
                response(201, &[], r#"{"order_id":5001}"#),
            ),
        ],
    );
    cap.connection(
        "10.3.0.6",
        1000,
        2000,
        &[
            (
                request("GET", "/products", HOST, &[("User-Agent", app)], None),
                response(200, &[], r#"{"items":[]}"#),
            ),
            (
                request(
                    "POST",
                    "/login",
                    HOST,
                    &[("User-Agent", app)],
                    Some(r#"{"username":"u77","password":"hunter2hunter2"}"#),
                ),
                response(
                    200,
                    &[],
                    &format!(
                        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#
                    ),
                ),
            ),
            (
                request(
                    "GET",
                    "/me",
                    HOST,
                    &[
                        ("User-Agent", app),
                        ("Authorization", &format!("Bearer {token}")),
                    ],
                    None,
                ),
                response(200, &[], r#"{"id":77}"#),
            ),
        ],
    );
    // Another client behind the first one's address, with its own (older) credential: not the
    // browser's session.
    let other = jwt("other-88");
    cap.connection(
        "10.3.0.5",
        4000,
        0,
        &[(
            request(
                "GET",
                "/me",
                HOST,
                &[
                    ("User-Agent", "curl/8.5.0"),
                    ("Authorization", &format!("Bearer {other}")),
                ],
                None,
            ),
            response(200, &[], r#"{"id":88}"#),
        )],
    );
    let (_dir, store) = cap.ingest(&IngestOptions::default()).await;
    let got: BTreeSet<(String, String, i64)> = sqlx::query(
        "SELECT from_method || ' ' || from_path_template, to_method || ' ' || to_path_template, count FROM api_transitions",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap()
    .iter()
    .map(|r| (shape(&r.get::<String, _>(0)), shape(&r.get::<String, _>(1)), r.get(2)))
    .collect();
    let want: BTreeSet<(String, String, i64)> = [
        ("GET /products/{}", "GET /products/{}/reviews"),
        ("GET /products/{}/reviews", "POST /cart/items"),
        ("POST /cart/items", "POST /checkout"),
        ("GET /products", "POST /login"),
        ("POST /login", "GET /me"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string(), 1))
    .collect();
    assert_eq!(got, want);
    let paths: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_sequence_paths WHERE step1_path_template LIKE '/products/%/reviews'
         AND step2_path_template = '/cart/items' AND step3_path_template = '/checkout'",
    )
    .fetch_one(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(paths, 1);
    // Neither the cookie nor the token is stored.
    let mut dump = Vec::new();
    store.export_sql(&mut dump).await.unwrap();
    let dump = String::from_utf8_lossy(&dump);
    assert!(!dump.contains(session) && !dump.contains(&token));
}
