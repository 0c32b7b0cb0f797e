//! End-to-end test of the dashboard in a real headless browser (Debian's `chromium`), driven
//! over the DevTools protocol (a websocket, JSON messages).
//!
//! Over the demo inventory (every capture in `captures/`, their OpenAPI documents imported,
//! `hostile.pcap` included) it checks that every page loads with no console error, no uncaught
//! exception and no Content-Security-Policy violation; that the endpoint filters narrow the
//! table (form submit and the auto-submitting select); that the hostile strings never execute
//! (`alert`, `confirm` and `prompt` are replaced by a flag before any page script runs).
//!
//! The TLS pages are checked the same way, and once more after an encrypted service whose every
//! string is a payload is written into the inventory.
//!
//! Every page is loaded again at a phone's 390 px: none scrolls sideways, the navigation
//! folds behind a Menu button that reaches every page, tables read as labelled lists and
//! charts are drawn for the narrow width.
//!
//! `SHADOWTAP_SCREENSHOTS=1` saves screenshots of the main pages to `docs/screenshots/`, at
//! 1440 px (`NAME.png`) and at 390 px (`NAME-phone.png`).
//! Without chromium the test is skipped, unless `SHADOWTAP_REQUIRE_BROWSER=1` (CI).

use serde_json::{Value, json};
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

const WIDTH: u32 = 1440;
const HEIGHT: u32 = 900;
/// A phone's viewport (CSS pixels).
const PHONE_WIDTH: u32 = 390;
const PHONE_HEIGHT: u32 = 844;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn find_chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SHADOWTAP_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The demo inventory: every capture, every OpenAPI document.
async fn build_inventory(db: &Path) {
    // Relative paths when run from the repository root (as cargo does), as `shadowtap demo`
    // records them.
    let captures = if Path::new("captures").is_dir() {
        PathBuf::from("captures")
    } else {
        root().join("captures")
    };
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&captures)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    assert!(pcaps.iter().any(|p| p.ends_with("hostile.pcap")));
    let store = Store::open(db).await.unwrap();
    ingest_files(&store, &pcaps, &IngestOptions::default(), |_| {})
        .await
        .unwrap();
    store.close().await;
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&captures)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".openapi.yaml"))
        })
        .collect();
    specs.sort();
    for s in specs {
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        web::spec_import::import_spec(db, &name, &std::fs::read(&s).unwrap())
            .await
            .unwrap();
    }
}

/// Adds an encrypted service of the hostile host whose every string is a payload, and a client.
fn hostile_tls(db: &Path) {
    let db = db.to_path_buf();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&db)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await
                .unwrap();
            let now = shadowtap::time::Timestamp::now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tls_services (host, sni, server_ip, server_port, first_seen, last_seen,
                    handshakes, versions, ciphers, alpn_offered, alpn_selected, version, cipher,
                    cert_subject, cert_issuer, cert_sans, cert_not_before, cert_not_after, cert_key,
                    cert_self_signed)
                 VALUES ('<script>alert(1)</script>', '<script>alert(1)</script>', '10.9.9.9', 443,
                    ?1, ?1, 2, '{\"<img src=x onerror=alert(2)>\": 2}',
                    '{\"<svg/onload=alert(5)>\": 2}', '{\"<script>alert(6)</script>\": 2}',
                    '{\"<script>alert(6)</script>\": 2}', '<img src=x onerror=alert(2)>',
                    '<svg/onload=alert(5)>', 'CN=\"><img src=x onerror=alert(8)>',
                    'CN=<script>alert(7)</script>', '[\"<svg/onload=alert(10)>\"]', ?2, ?3,
                    '<script>alert(2)</script>', 1)
                 RETURNING id",
            )
            .bind(now.as_nanos())
            .bind(now.secs() - 400 * 86_400)
            .bind(now.secs() - 86_400)
            .fetch_one(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO tls_clients (service_id, client, ja4, ja4s, handshakes, first_seen, last_seen)
                 VALUES (?1, '<img src=x onerror=alert(1)>', '<script>alert(6)</script>',
                    '\"><svg/onload=alert(10)>', 2, ?2, ?2)",
            )
            .bind(id)
            .bind(now.as_nanos())
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        });
    })
    .join()
    .unwrap();
}

/// Starts the dashboard on 127.0.0.1:0 in a background thread; returns its base URL.
fn start_server(db: PathBuf) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            build_inventory(&db).await;
            let store = Store::open_read_only(&db).await.unwrap();
            let state = AppState::new(store, AuthConfig::default()).unwrap();
            let listener = web::bind("127.0.0.1:0", &AuthConfig::default())
                .await
                .unwrap();
            tx.send(web::url_of(&listener)).unwrap();
            web::serve(listener, state, std::future::pending())
                .await
                .unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the dashboard did not start")
        .trim_end_matches('/')
        .to_string()
}

/// A headless chromium, killed on drop.
struct Browser {
    child: Child,
    ws_url: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(bin: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--mute-audio",
                &format!("--window-size={WIDTH},{HEIGHT}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "--remote-debugging-port=0",
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(i) = line.find("ws://") {
                    let _ = tx.send(line[i..].trim().to_string());
                    sent = true;
                }
                // Keep draining so chromium never blocks on a full pipe.
            }
        });
        let ws_url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!("chromium did not print its DevTools address");
            }
        };
        Browser {
            child,
            ws_url,
            _profile: profile,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What went wrong on a page, from the browser's events.
#[derive(Debug, Default)]
struct Problems {
    errors: Vec<String>,
    alerts: Vec<String>,
}

/// A DevTools protocol session on one page.
struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
    events: VecDeque<Value>,
    problems: Problems,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let rest = url.strip_prefix("ws://").unwrap();
        let hostport = &rest[..rest.find('/').unwrap()];
        let stream = TcpStream::connect(hostport).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let (ws, _) = tungstenite::client(url, stream).expect("DevTools websocket handshake");
        // From now on reads poll, so waits can have deadlines.
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut cdp = Cdp {
            ws,
            next_id: 0,
            session: String::new(),
            events: VecDeque::new(),
            problems: Problems::default(),
        };
        let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = cdp.call(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        );
        cdp.session = attached["sessionId"].as_str().unwrap().to_string();
        cdp
    }

    /// Reads one message if one arrives within the read timeout.
    fn read(&mut self) -> Option<Value> {
        match self.ws.read() {
            Ok(Message::Text(t)) => serde_json::from_str(t.as_str()).ok(),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("DevTools connection: {e}"),
        }
    }

    /// Records problems from an event and keeps it for waiters.
    fn event(&mut self, v: Value) {
        let method = v["method"].as_str().unwrap_or("");
        let p = &v["params"];
        match method {
            "Runtime.exceptionThrown" => self.problems.errors.push(format!(
                "exception: {}",
                p["exceptionDetails"]["exception"]["description"]
                    .as_str()
                    .or(p["exceptionDetails"]["text"].as_str())
                    .unwrap_or("?")
            )),
            "Runtime.consoleAPICalled" => {
                let text: Vec<String> = p["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| {
                                x["value"]
                                    .as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| x["description"].to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let text = text.join(" ");
                if text.starts_with("shadowtap-test: dialog") {
                    self.problems.alerts.push(text);
                } else if text.starts_with("shadowtap-test: csp") {
                    self.problems.errors.push(text);
                } else if matches!(p["type"].as_str(), Some("error" | "assert")) {
                    self.problems.errors.push(format!("console.error: {text}"));
                }
            }
            "Log.entryAdded" => {
                let e = &p["entry"];
                if e["level"] == "error" {
                    self.problems.errors.push(format!(
                        "log ({}): {} {}",
                        e["source"].as_str().unwrap_or(""),
                        e["text"].as_str().unwrap_or(""),
                        e["url"].as_str().unwrap_or("")
                    ));
                }
            }
            "Page.javascriptDialogOpening" => {
                self.problems
                    .alerts
                    .push(format!("dialog: {}", p["message"]));
                self.send_raw("Page.handleJavaScriptDialog", json!({ "accept": true }));
            }
            _ => {}
        }
        self.events.push_back(v);
        if self.events.len() > 2000 {
            self.events.pop_front();
        }
    }

    fn send_raw(&mut self, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let mut msg = json!({ "id": self.next_id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        self.next_id
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_raw(method, params);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(v) = self.read() {
                if v["id"].as_u64() == Some(id) {
                    if let Some(e) = v.get("error") {
                        panic!("{method}: {e}");
                    }
                    return v["result"].clone();
                }
                if v.get("method").is_some() {
                    self.event(v);
                }
            }
        }
        panic!("{method}: no answer in 30 s");
    }

    /// Waits for an event (after those already seen are cleared by the caller).
    fn wait_event(&mut self, method: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
                return self.events.remove(i).unwrap();
            }
            assert!(Instant::now() < deadline, "no {method} within {timeout:?}");
            if let Some(v) = self.read()
                && v.get("method").is_some()
            {
                self.event(v);
            }
        }
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("evaluating {expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Lets late events (deferred scripts, images) arrive.
    fn settle(&mut self) {
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            if let Some(v) = self.read()
                && v.get("method").is_some()
            {
                self.event(v);
            }
        }
    }

    /// Runs `action` (which starts a navigation) and waits for the new page to load.
    fn navigate_by(&mut self, action: impl FnOnce(&mut Cdp)) {
        self.events.clear();
        action(self);
        self.wait_event("Page.loadEventFired", Duration::from_secs(30));
        self.settle();
    }

    fn goto(&mut self, url: &str) {
        let url = url.to_string();
        self.navigate_by(|c| {
            let r = c.call("Page.navigate", json!({ "url": url }));
            assert!(r.get("errorText").is_none(), "navigating to {url}: {r}");
        });
    }

    fn take_problems(&mut self) -> Problems {
        std::mem::take(&mut self.problems)
    }

    /// The page at the viewport's width, down to 2,400 px (at least the viewport's height).
    fn screenshot(&mut self, path: &Path) {
        let size = self.eval(
            "[document.documentElement.clientWidth, window.innerHeight, Math.ceil(document.documentElement.scrollHeight)]",
        );
        let at = |i: usize, or: u32| size[i].as_f64().unwrap_or(f64::from(or));
        let width = at(0, WIDTH);
        let height = at(2, HEIGHT).clamp(at(1, HEIGHT), 2400.0);
        let r = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 }
            }),
        );
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// Runs before any page script: dialogs set a flag (reported through the console), CSP
/// violations are reported too.
const INSTRUMENT: &str = r#"
(() => {
  const flag = (kind) => function (msg) { console.warn('shadowtap-test: dialog ' + kind + ' ' + String(msg)); return kind === 'confirm' ? false : null; };
  window.alert = flag('alert');
  window.confirm = flag('confirm');
  window.prompt = flag('prompt');
  document.addEventListener('securitypolicyviolation', (e) => {
    console.warn('shadowtap-test: csp violation ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
  });
})();
"#;

fn rows(cdp: &mut Cdp) -> u64 {
    cdp.eval("document.querySelectorAll('#endpoint-table tbody tr').length")
        .as_u64()
        .unwrap()
}

#[test]
fn dashboard_in_a_real_browser() {
    let required = std::env::var("SHADOWTAP_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let Some(bin) = find_chromium() else {
        assert!(
            !required,
            "SHADOWTAP_REQUIRE_BROWSER=1 but no chromium found (apt-get install -y chromium)"
        );
        eprintln!("browser test skipped: no chromium (apt-get install -y chromium to run it)");
        return;
    };
    let shots = std::env::var("SHADOWTAP_SCREENSHOTS").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    let base = start_server(dir.path().join("inventory.db"));
    let browser = Browser::launch(&bin);
    let mut cdp = Cdp::connect(&browser.ws_url);
    cdp.call("Page.enable", json!({}));
    cdp.call("Runtime.enable", json!({}));
    cdp.call("Log.enable", json!({}));
    cdp.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": INSTRUMENT }),
    );
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": false }),
    );
    // The harness sees what it must: a console error, a dialog, a CSP violation (an inline
    // script added to the page is blocked).
    cdp.goto(&format!("{base}/"));
    cdp.eval(
        "console.error('harness self-check'); alert('self-check'); const s = document.createElement('script'); s.textContent = 'window.inlineRan = 1'; document.body.appendChild(s); true",
    );
    cdp.settle();
    assert_eq!(
        cdp.eval("window.inlineRan === undefined"),
        json!(true),
        "the CSP blocks inline scripts"
    );
    let p = cdp.take_problems();
    assert!(
        p.errors.iter().any(|e| e.contains("harness self-check")),
        "{p:?}"
    );
    assert!(p.alerts.iter().any(|a| a.contains("self-check")), "{p:?}");
    assert!(
        p.errors
            .iter()
            .any(|e| e.contains("csp violation") || e.contains("Content Security Policy")),
        "{p:?}"
    );

    // Risk first: the overview leads with "Fix these first", above the fold at 1440x900, and
    // it lists the critical findings of captures/ on their endpoints (unsigned tokens accepted
    // on the admin endpoints, a guessable signing secret).
    cdp.goto(&format!("{base}/"));
    let fix = cdp.eval(
        "(() => { const h = [...document.querySelectorAll('h2')].find(h => h.textContent.trim() === 'Fix these first'); \
         const t = document.getElementById('fix-first-table'); \
         const rows = t ? [...t.querySelectorAll('tbody tr')] : []; \
         const crit = rows.filter(r => r.querySelector('.badge.critical')); \
         return { heading: h ? h.getBoundingClientRect().top : null, \
                  critical_rows: crit.length, \
                  visible_critical: crit.filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length, \
                  text: t ? t.innerText : '' }; })()",
    );
    let heading = fix["heading"].as_f64().expect("a Fix these first heading");
    assert!(
        heading < f64::from(HEIGHT),
        "Fix these first is above the fold: top {heading}"
    );
    assert!(
        fix["critical_rows"].as_u64().unwrap() >= 3,
        "critical endpoints in Fix these first: {fix}"
    );
    assert!(
        fix["visible_critical"].as_u64().unwrap() >= 3,
        "critical rows above the fold: {fix}"
    );
    let text = fix["text"].as_str().unwrap();
    // The riskiest endpoint of the bundled captures, a JWT with alg=none accepted on an admin
    // action, is there; which others make the ten depends on the captures bundled, so the
    // rest is checked as an order: riskiest first.
    for needle in [
        "Unsigned tokens accepted",
        "/api/v1/admin/users/{user_id}/impersonate",
    ] {
        assert!(text.contains(needle), "{needle} in Fix these first: {text}");
    }
    let scores: Vec<u32> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit('\t').next()?.trim().parse().ok())
        .collect();
    assert!(scores.len() >= 3, "risk scores in Fix these first: {text}");
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "Fix these first is ordered by risk: {scores:?}"
    );

    // Endpoint ids for the detail pages, from the JSON API.
    cdp.goto(&format!("{base}/"));
    let ids = cdp.eval(
        "fetch('/api/endpoints?per=500&sort=requests').then(r => r.json()).then(j => j.endpoints.map(e => [e.id, e.host, e.method, e.path_template]))",
    );
    let ids = ids.as_array().unwrap().clone();
    let find = |pred: &dyn Fn(&Value) -> bool| -> i64 {
        ids.iter()
            .find(|e| pred(e))
            .map(|e| e[0].as_i64().unwrap())
            .expect("endpoint")
    };
    let users_me = find(&|e| e[3] == "/api/v1/users/me");
    let busiest = ids[0][0].as_i64().unwrap();
    let hostile: Vec<i64> = ids
        .iter()
        .filter(|e| {
            let h = e[1].as_str().unwrap();
            h.contains('<') || h.contains('"')
        })
        .map(|e| e[0].as_i64().unwrap())
        .collect();
    assert!(hostile.len() >= 4, "hostile endpoints: {hostile:?}");
    let hostile_host = web::fmt::qs("<script>alert(1)</script>");
    // TLS service ids (the demo has tls12, tls13 and tls_weak).
    let tls = cdp.eval(
        "fetch('/api/tls').then(r => r.json()).then(j => j.services.map(s => [s.id, s.host, s.server_port]))",
    );
    let tls = tls.as_array().unwrap().clone();
    let tls_id = |host: &str, port: i64| -> i64 {
        tls.iter()
            .find(|s| s[1] == host && s[2] == port)
            .map(|s| s[0].as_i64().unwrap())
            .unwrap_or_else(|| panic!("no TLS service {host}:{port}"))
    };
    let tls_api = tls_id("api.tls.test", 8443);
    let tls_expired = tls_id("expired.tls.test", 443);

    let mut pages: Vec<(String, Option<&str>)> = vec![
        (format!("{base}/"), Some("overview")),
        (format!("{base}/endpoints"), Some("endpoints")),
        (format!("{base}/endpoints/{users_me}"), Some("endpoint")),
        (format!("{base}/endpoints/{busiest}"), None),
        (format!("{base}/findings"), Some("findings")),
        (format!("{base}/sequences"), Some("sequences")),
        (format!("{base}/spec"), Some("spec")),
        (format!("{base}/sensor"), Some("sensor")),
        (format!("{base}/tls"), Some("tls")),
        (format!("{base}/tls/{tls_api}"), Some("tls_service")),
        (format!("{base}/tls/{tls_expired}"), None),
        (format!("{base}/endpoints?host=api.tls.test"), None),
        (format!("{base}/hosts"), Some("hosts")),
        (format!("{base}/hosts/api.acme.test"), Some("host")),
        (format!("{base}/hosts/{hostile_host}"), None),
        (format!("{base}/changes?since=30d"), Some("changes")),
        (
            format!("{base}/changes?since=30d&host={hostile_host}"),
            None,
        ),
        (format!("{base}/export"), None),
        (format!("{base}/endpoints?host={hostile_host}"), None),
        (format!("{base}/findings?host={hostile_host}"), None),
        (format!("{base}/sequences?host={hostile_host}"), None),
        (format!("{base}/endpoints?per=500&sort=path"), None),
        (format!("{base}/api/overview"), None),
        (format!("{base}/no-such-page"), None),
        // A range in effect: its bar (label, Show all time) fits too; then all time again.
        (
            format!("{base}/endpoints?range=custom&from=2000-01-01+00:00"),
            None,
        ),
        (format!("{base}/?range=all"), None),
    ];
    for id in &hostile {
        pages.push((format!("{base}/endpoints/{id}"), None));
    }
    for (url, shot) in &pages {
        cdp.goto(url);
        let title = cdp.eval("document.title");
        let p = cdp.take_problems();
        // The 404 page's own resource error is expected; nothing else is.
        let errors: Vec<&String> = p
            .errors
            .iter()
            .filter(|e| !(url.ends_with("/no-such-page") && e.contains("404")))
            .collect();
        assert!(errors.is_empty(), "{url} ({title}): {errors:#?}");
        assert!(p.alerts.is_empty(), "{url}: a payload ran: {:?}", p.alerts);
        // No element came out of captured data: no <img>, no inline <script>.
        let injected = cdp.eval(
            "document.querySelectorAll('img, script:not([src]), iframe, object, embed').length",
        );
        assert_eq!(injected, json!(0), "{url}: injected elements");
        if let (true, Some(name)) = (shots, shot) {
            cdp.screenshot(&root().join(format!("docs/screenshots/{name}.png")));
        }
    }

    // The TLS page: the services table, the expiry timeline with the expired certificate.
    cdp.goto(&format!("{base}/tls"));
    assert_eq!(
        cdp.eval("document.querySelectorAll('#tls-table tbody tr').length"),
        json!(tls.len())
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('.chart-wide svg.timeline g.cert-row.expired').length"),
        json!(1)
    );
    // An encrypted service whose every string is a payload (written by hand while the
    // dashboard runs: a capture cannot carry all of them) shows them as text.
    hostile_tls(&dir.path().join("inventory.db"));
    cdp.goto(&format!("{base}/tls"));
    let text = cdp.eval("document.body.innerText");
    assert!(
        text.as_str().unwrap().contains("<script>alert(1)</script>"),
        "hostile SNI shown as text"
    );
    let hostile_tls_id = cdp.eval(
        "fetch('/api/tls').then(r => r.json()).then(j => j.services.find(s => s.host.startsWith('<')).id)",
    );
    for url in [
        format!("{base}/tls"),
        format!("{base}/tls/{hostile_tls_id}"),
        format!("{base}/endpoints?host={hostile_host}"),
        format!("{base}/hosts"),
        format!("{base}/hosts/{hostile_host}"),
    ] {
        cdp.goto(&url);
        let p = cdp.take_problems();
        assert!(p.errors.is_empty(), "{url}: {:#?}", p.errors);
        assert!(p.alerts.is_empty(), "{url}: a payload ran: {:?}", p.alerts);
        let injected = cdp.eval(
            "document.querySelectorAll('img, script:not([src]), iframe, object, embed').length",
        );
        assert_eq!(injected, json!(0), "{url}: injected elements");
    }

    // The hostile strings are on screen, as text.
    cdp.goto(&format!("{base}/endpoints?per=500"));
    let text = cdp.eval("document.body.innerText");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("<script>alert(1)</script>"),
        "hostile host shown as text"
    );
    assert!(text.contains("\"><svg/onload=alert(10)>"));

    // A search narrows the table (form submit).
    let all = rows(&mut cdp);
    assert!(all > 20, "{all} rows");
    cdp.navigate_by(|c| {
        c.eval(
            "document.getElementById('filter-q').value = 'admin'; document.getElementById('endpoint-filters').submit(); true",
        );
    });
    let admin = rows(&mut cdp);
    assert!(admin > 0 && admin < all, "search: {admin} of {all} rows");
    let url = cdp.eval("location.search");
    assert!(url.as_str().unwrap().contains("q=admin"), "{url}");
    // A filter select submits itself (app.js) and narrows the table further.
    cdp.goto(&format!("{base}/endpoints?per=500"));
    cdp.navigate_by(|c| {
        c.eval(
            "const s = document.querySelector('select[name=host]'); s.value = 'api.acme.test'; s.dispatchEvent(new Event('change')); true",
        );
    });
    let acme = rows(&mut cdp);
    assert!(acme > 0 && acme < all, "host filter: {acme} of {all} rows");
    cdp.navigate_by(|c| {
        c.eval(
            "const s = document.querySelector('select[name=auth]'); s.value = 'basic'; s.dispatchEvent(new Event('change')); true",
        );
    });
    let basic = rows(&mut cdp);
    assert!(
        basic > 0 && basic < acme,
        "auth filter: {basic} of {acme} rows"
    );
    // Sorting by a column header.
    cdp.navigate_by(|c| {
        c.eval("document.querySelector('th a.sort[href*=\"sort=errors\"]').click(); true");
    });
    assert!(
        cdp.eval("location.search")
            .as_str()
            .unwrap()
            .contains("sort=errors")
    );

    // The service map fits the width of the page: no horizontal scrolling, labels inside.
    cdp.goto(&format!("{base}/hosts"));
    let fit = cdp.eval(
        "(() => { const s = document.querySelector('svg.svc-map'); if (!s) return null; const r = s.getBoundingClientRect(); \
         return { w: r.width, page: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth, \
                  nodes: s.querySelectorAll('g.svc-node').length }; })()",
    );
    assert!(fit.is_object(), "a service map on /hosts");
    assert!(
        fit["w"].as_f64().unwrap() <= fit["page"].as_f64().unwrap()
            && fit["scroll"].as_f64().unwrap() <= fit["page"].as_f64().unwrap(),
        "the service map fits: {fit}"
    );
    assert!(fit["nodes"].as_u64().unwrap() >= 2, "{fit}");

    // The graph's hover highlight (app.js), when there is a graph.
    cdp.goto(&format!("{base}/sequences"));
    let has_graph = cdp.eval("!!document.getElementById('seq-graph')");
    if has_graph == json!(true) {
        let focused = cdp.eval(
            "const n = document.querySelector('#seq-graph g.node'); n.dispatchEvent(new MouseEvent('mouseenter')); document.getElementById('seq-graph').classList.contains('focus')",
        );
        assert_eq!(focused, json!(true));
    }

    // The graph's zoom buttons scale it (app.js).
    if has_graph == json!(true) {
        let w = |c: &mut Cdp| {
            c.eval("parseFloat(document.getElementById('seq-graph').getAttribute('width'))")
                .as_f64()
                .unwrap()
        };
        let before = w(&mut cdp);
        cdp.eval("document.querySelector('.graph-tools [data-zoom=in]').click(); true");
        assert!(w(&mut cdp) > before, "zoom in");
        cdp.eval("document.querySelector('.graph-tools [data-zoom=fit]').click(); true");
        let fit = w(&mut cdp);
        let room = cdp
            .eval("document.querySelector('.graph-wrap').clientWidth")
            .as_f64()
            .unwrap();
        assert!(fit <= room, "fitted graph {fit} in {room}");
    }

    // The time range: picking "Last hour" narrows the overview's figures, the range follows
    // the user to the other pages (their counts agree), a custom range takes typed times,
    // and "Show all time" brings every figure back.
    let kpi = |c: &mut Cdp, label: &str| -> i64 {
        let v = c.eval(&format!(
            "[...document.querySelectorAll('.kpi')].find(k => k.querySelector('.kpi-label').textContent === '{label}').querySelector('.kpi-value').textContent"
        ));
        v.as_str().unwrap().replace(',', "").parse().unwrap()
    };
    let lead = |c: &mut Cdp| -> i64 {
        let v = c.eval("document.querySelector('.page-head p.muted').textContent");
        v.as_str()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    cdp.goto(&format!("{base}/"));
    let all_endpoints = kpi(&mut cdp, "Endpoints");
    let all_hosts = kpi(&mut cdp, "Hosts");
    assert_eq!(
        cdp.eval("getComputedStyle(document.querySelector('.rangebar .range-custom')).display"),
        json!("none"),
        "the custom fields wait for Custom range"
    );
    cdp.navigate_by(|c| {
        c.eval("const s = document.getElementById('range-preset'); s.value = '1h'; s.dispatchEvent(new Event('change')); true");
    });
    assert!(
        cdp.eval("location.search")
            .as_str()
            .unwrap()
            .contains("range=1h")
    );
    let hour_endpoints = kpi(&mut cdp, "Endpoints");
    let hour_hosts = kpi(&mut cdp, "Hosts");
    assert!(
        0 < hour_endpoints && hour_endpoints < all_endpoints,
        "last hour {hour_endpoints} of {all_endpoints} endpoints"
    );
    assert!(hour_hosts <= all_hosts);
    assert!(
        cdp.eval("document.getElementById('range-label').textContent")
            .as_str()
            .unwrap()
            .starts_with("Last hour: ")
    );
    cdp.navigate_by(|c| {
        c.eval("[...document.querySelectorAll('#site-nav a')].find(a => a.textContent === 'Endpoints').click(); true");
    });
    assert_eq!(
        lead(&mut cdp),
        hour_endpoints,
        "the endpoint list in the range"
    );
    assert_eq!(
        cdp.eval("document.getElementById('range-preset').value"),
        json!("1h"),
        "the range followed"
    );
    cdp.navigate_by(|c| {
        c.eval("[...document.querySelectorAll('#site-nav a')].find(a => a.textContent === 'Hosts').click(); true");
    });
    assert_eq!(lead(&mut cdp), hour_hosts, "the host list in the range");
    // A custom range before any traffic: every count is zero.
    cdp.goto(&format!("{base}/"));
    cdp.eval("const s = document.getElementById('range-preset'); s.value = 'custom'; s.dispatchEvent(new Event('change')); true");
    cdp.navigate_by(|c| {
        c.eval("const f = document.querySelector('.rangebar'); f.querySelector('[name=from]').value = '2000-01-01 00:00'; f.querySelector('[name=to]').value = '2000-01-02 00:00'; f.querySelector('button[type=submit]').click(); true");
    });
    assert_eq!(kpi(&mut cdp, "Endpoints"), 0);
    assert_eq!(kpi(&mut cdp, "Findings"), 0);
    cdp.navigate_by(|c| {
        c.eval("document.querySelector('.range-clear').click(); true");
    });
    assert_eq!(kpi(&mut cdp, "Endpoints"), all_endpoints, "all time again");
    assert_eq!(
        cdp.eval("!!document.getElementById('range-label')"),
        json!(false)
    );
    let p = cdp.take_problems();
    assert!(p.errors.is_empty(), "time range: {:#?}", p.errors);

    // A phone, 390 px wide: no page scrolls sideways (wide tables and graphs scroll inside
    // their card), the navigation folds behind its Menu button and reaches every page once
    // opened, tables read as labelled lists, charts are drawn for the narrow width.
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": PHONE_WIDTH, "height": PHONE_HEIGHT, "deviceScaleFactor": 1, "mobile": true }),
    );
    for (url, shot) in &pages {
        if url.contains("/api/") {
            continue;
        }
        cdp.goto(url);
        let m = cdp.eval(
            "(() => { const de = document.documentElement; \
               const over = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > de.clientWidth + 1 \
                   || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0)) \
                 .slice(0, 6).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + e.scrollWidth + '/' + e.clientWidth); \
               return { scroll: de.scrollWidth, client: de.clientWidth, over }; })()",
        );
        assert!(
            m["scroll"].as_f64().unwrap() <= m["client"].as_f64().unwrap(),
            "{url} scrolls sideways at {PHONE_WIDTH} px: {m}"
        );
        let p = cdp.take_problems();
        let errors: Vec<&String> = p
            .errors
            .iter()
            .filter(|e| !(url.ends_with("/no-such-page") && e.contains("404")))
            .collect();
        assert!(errors.is_empty(), "{url} at {PHONE_WIDTH} px: {errors:#?}");
        if let (true, Some(name)) = (shots, shot) {
            cdp.screenshot(&root().join(format!("docs/screenshots/{name}-phone.png")));
        }
    }
    cdp.goto(&format!("{base}/"));
    let nav = "[...document.querySelectorAll('#site-nav a')].filter(a => { const r = a.getBoundingClientRect(); \
               return r.width > 0 && r.right <= document.documentElement.clientWidth; }).length";
    assert_eq!(cdp.eval(nav), json!(0), "the navigation is folded");
    let links = cdp.eval("document.querySelectorAll('#site-nav a').length");
    cdp.eval("document.querySelector('.nav-toggle').click(); true");
    assert_eq!(
        cdp.eval(nav),
        links,
        "every page is reachable from the menu"
    );
    assert_eq!(
        cdp.eval("document.querySelector('.nav-toggle').getAttribute('aria-expanded')"),
        json!("true")
    );
    // Fix these first reads as a list: cells labelled by their column, no header row.
    let stacked = cdp.eval(
        "(() => { const t = document.getElementById('fix-first-table'); const td = t.querySelector('tbody td'); \
           return { stack: t.classList.contains('stack'), label: td.getAttribute('data-label'), \
                    head: getComputedStyle(t.tHead).display }; })()",
    );
    assert_eq!(stacked["stack"], json!(true), "{stacked}");
    assert_eq!(stacked["head"], json!("none"), "{stacked}");
    assert!(stacked["label"].is_string(), "{stacked}");
    // The narrow drawing of the traffic chart is the one shown.
    assert_eq!(
        cdp.eval(
            "[...document.querySelectorAll('.chart-narrow svg, .chart-wide svg')].filter(s => s.getClientRects().length > 0).every(s => s.closest('.chart-narrow'))"
        ),
        json!(true)
    );

    let p = cdp.take_problems();
    assert!(p.errors.is_empty(), "{:#?}", p.errors);
    assert!(p.alerts.is_empty(), "a payload ran: {:?}", p.alerts);
    drop(cdp);
    drop(browser);
}
