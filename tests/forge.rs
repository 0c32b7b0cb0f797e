//! Endpoint templates learned from a real application with string identifiers everywhere: the
//! GitHub-like Forge API (`captures/forge.pcap`: `captures/tools/forge_server.py` behind nginx,
//! eight `http.client` personas, heavy-tailed over owners, repositories, users and gists; see
//! `captures/README.md`). The ground truth, `captures/forge.expected-templates.tsv`, is written by
//! `forge_client.py truth` from the server's route table and the client log, never from
//! shadowtap: one row per operation the clients called, with the request count.

mod support;

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const HOST: &str = "api.forge.test";

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// `/repos/{repo}/{id}/issues/{issue_id}` -> `/repos/{}/{}/issues/{}`: parameter names are not
/// part of an endpoint's identity (a suffix stays: `{name}.json` -> `{}.json`).
fn anonymous(template: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in template.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    out.push('{');
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    out.push('}');
                }
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// (method, template) -> requests, from forge.expected-templates.tsv.
fn expected_templates() -> BTreeMap<(String, String), i64> {
    let text = std::fs::read_to_string(captures().join("forge.expected-templates.tsv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines
            .next()
            .unwrap()
            .split('\t')
            .take(3)
            .collect::<Vec<_>>(),
        ["method", "template", "requests"]
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            ((c[0].to_string(), c[1].to_string()), c[2].parse().unwrap())
        })
        .collect()
}

/// The inventory of the capture: (method, anonymous template) -> (requests, learned template).
async fn learned() -> BTreeMap<(String, String), (i64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest_files(
        &store,
        &[captures().join("forge.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let hosts: Vec<String> = sqlx::query_scalar("SELECT DISTINCT host FROM api_endpoints")
        .fetch_all(&support::sql(&store).await)
        .await
        .unwrap();
    assert_eq!(hosts, [HOST], "every request names Host: {HOST}");
    let rows = sqlx::query(
        "SELECT method, path_template, request_count FROM api_endpoints WHERE host = ?
         ORDER BY path_template, method",
    )
    .bind(HOST)
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        let (method, template, n): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
        let prev = out.insert(
            (method.clone(), anonymous(&template)),
            (n, template.clone()),
        );
        assert!(
            prev.is_none(),
            "two endpoints with one shape: {method} {template}"
        );
    }
    out
}

fn explain(
    want: &BTreeMap<(String, String), i64>,
    got: &BTreeMap<(String, String), (i64, String)>,
) -> String {
    let mut s = String::new();
    for ((m, t), n) in want {
        if !got.contains_key(&(m.clone(), t.clone())) {
            s.push_str(&format!(
                "\n  expected, not learned: {m} {t} ({n} requests)"
            ));
        }
    }
    for ((m, t), (n, learned)) in got {
        if let Some(w) = want.get(&(m.clone(), t.clone())).filter(|w| *w != n) {
            s.push_str(&format!(
                "\n  requests differ: {m} {t}: {w} expected, {n} learned ({learned})"
            ));
        }
        if !want.contains_key(&(m.clone(), t.clone())) {
            s.push_str(&format!(
                "\n  learned, not expected: {m} {t} ({n} requests; {learned})"
            ));
        }
    }
    s
}

#[tokio::test]
async fn learned_templates_are_exactly_the_routes_the_clients_called() {
    let want = expected_templates();
    let got = learned().await;
    let want_keys: BTreeSet<_> = want.keys().cloned().collect();
    let got_keys: BTreeSet<_> = got.keys().cloned().collect();
    assert!(
        want_keys == got_keys,
        "templates differ from forge.expected-templates.tsv:{}",
        explain(&want, &got)
    );
    // The same requests behind every template (none counted under another endpoint).
    let counts: BTreeMap<_, _> = got.iter().map(|(k, (n, _))| (k.clone(), *n)).collect();
    assert_eq!(counts, want);
}

#[tokio::test]
async fn every_username_lands_on_one_endpoint() {
    let want = expected_templates();
    let got = learned().await;
    let key = ("GET".to_string(), "/users/{}".to_string());
    let n = want[&key];
    assert!(n >= 20, "the scenario asks for many users ({n})");
    assert_eq!(
        got.get(&key).map(|(n, _)| *n),
        Some(n),
        "GET /users/{{}} sums the requests of every username:{}",
        explain(&want, &got)
    );
    // No username became an endpoint of its own.
    let strays: Vec<_> = got
        .keys()
        .filter(|(_, t)| t.starts_with("/users/") && !t.starts_with("/users/{}"))
        .collect();
    assert!(strays.is_empty(), "literal usernames: {strays:?}");
}

#[tokio::test]
async fn route_words_next_to_values_stay_literal() {
    let want = expected_templates();
    let got = learned().await;
    for (m, t) in [
        ("GET", "/gists/public"),
        ("GET", "/gists/starred"),
        ("GET", "/user"),
        ("GET", "/repos/{}/{}/releases/latest"),
        ("GET", "/rate_limit"),
        ("GET", "/search/repositories"),
        ("GET", "/search/users"),
    ] {
        let key = (m.to_string(), t.to_string());
        assert!(want.contains_key(&key), "{m} {t} is in the ground truth");
        assert_eq!(
            got.get(&key).map(|(n, _)| *n),
            Some(want[&key]),
            "{m} {t} stays literal:{}",
            explain(&want, &got)
        );
    }
    assert!(
        !got.keys()
            .any(|(_, t)| t == "/gists/{}/{}" || t.starts_with("/repos/{}/{}/releases/{}")),
        "{:?}",
        got.keys()
    );
}

/// `shadowtap log --format tsv` (the binary) gives exactly the transactions of the client log.
#[test]
fn log_agrees_with_the_client_log() {
    const COLS: [&str; 5] = [
        "method",
        "uri",
        "status_code",
        "request_body_len",
        "response_body_len",
    ];
    let pick = |text: &str| -> Vec<String> {
        let mut lines = text.lines().filter(|l| !l.is_empty());
        let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
        let idx: Vec<usize> = COLS
            .iter()
            .map(|c| head.iter().position(|h| h == c).unwrap())
            .collect();
        lines
            .map(|l| {
                let cells: Vec<&str> = l.split('\t').collect();
                idx.iter().map(|&i| cells[i]).collect::<Vec<_>>().join("\t")
            })
            .collect()
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shadowtap"))
        .args(["log", "--format", "tsv"])
        .arg(captures().join("forge.pcap"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = pick(&String::from_utf8(out.stdout).unwrap());
    let want = pick(&std::fs::read_to_string(captures().join("forge.expected.tsv")).unwrap());
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "row {}", i + 1);
    }
    let requests: i64 = expected_templates().values().sum();
    assert_eq!(requests as usize, want.len(), "every request is of a route");
}
