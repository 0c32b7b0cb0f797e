//! Routes declared in source code beside the observed endpoints (issue 19).
//!
//! `shadowtap code scan DIR... --db FILE` stores a scan ([`store_scan`]): one row per declared
//! route. Every assessment ([`assess_code`], run inside `spec::assess`) then joins the routes
//! with the endpoints of the hosts the code serves and keeps, per endpoint, what the code says
//! of it (`endpoint_code`):
//!
//! - `declared`: observed, and a declared route matches it;
//! - `undeclared`: observed and served (not only 404/405/410/501) on a host the code serves,
//!   an API endpoint (not static content, a third party or ignored), and no route declares it:
//!   something else answers it, a gateway or proxy rule, a rewrite, another service;
//! - `unobserved`: declared and never observed; the route gets an endpoint row without
//!   requests (`template_rule` `code`), as a spec's dormant operations do.
//!
//! A declared route matches an observed endpoint when the methods agree (a route bound to
//! every method, `*`, matches any; `HEAD` is answered by a `GET` route, `OPTIONS` by any route
//! of the path) and the paths have as many segments, each declared literal equal to the
//! observed one and each declared parameter taking a literal or a parameter (the most literal
//! route wins). The hosts a scan serves are those given with `--host`, or else inferred: the
//! hosts where at least two of its routes (`/` aside) are observed, and at least half as many
//! as on the host where most are.
//!
//! The declared auth is compared with the auth observed on declared endpoints: a route that
//! declares auth yet answered 2xx to requests without credentials is `not_enforced`
//! (finding `declared_auth_not_enforced`); one that declares none while its requests without
//! credentials were refused and those with credentials answered is `outside_code` (finding
//! `auth_outside_code`: the check lives in a gateway or a global middleware, and the route is
//! open wherever that is bypassed).

use super::db::Conn;
use super::{Store, StoreError};
use crate::analyze::scope::Scope;
use crate::code::ScanReport;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Finding kinds of this assessment (replaced at every assessment).
pub const CODE_KINDS: [&str; 4] = [
    "undeclared_route",
    "unobserved_route",
    "declared_auth_not_enforced",
    "auth_outside_code",
];

/// A host serves a scan's code when at least this many of its routes are observed there ...
pub const INFER_MIN_ROUTES: usize = 2;

/// What storing a scan did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoredScan {
    /// The scan's row.
    pub scan_id: i64,
    /// Routes stored.
    pub routes: u64,
    /// An earlier scan of the same directories was replaced.
    pub replaced: bool,
}

/// What the assessment made of the declared routes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CodeAssessment {
    /// Scans stored.
    pub scans: u64,
    /// Hosts some scan serves (given or inferred).
    pub hosts: Vec<String>,
    /// Declared routes.
    pub routes: u64,
    /// ... observed on a host their code serves.
    pub observed: u64,
    /// ... never observed there.
    pub unobserved: u64,
    /// Observed endpoints a declared route matches.
    pub declared_endpoints: u64,
    /// Observed endpoints served on those hosts that no route declares.
    pub undeclared_endpoints: u64,
    /// Declared endpoints whose declared auth was not enforced.
    pub not_enforced: u64,
    /// Declared endpoints without declared auth whose auth is enforced elsewhere.
    pub outside_code: u64,
}

impl CodeAssessment {
    /// One line for a terminal.
    pub fn summary(&self) -> String {
        if self.scans == 0 {
            return String::new();
        }
        if self.hosts.is_empty() {
            return format!(
                "code: {} declared, none observed: no host serves these routes yet (give the host with `code scan --host`)",
                plural(self.routes, "route", "routes")
            );
        }
        format!(
            "code ({}): {} declared, {} observed, {} never observed; {} observed endpoint{} declared nowhere; declared auth not enforced on {}, enforced outside the code on {}",
            self.hosts.join(", "),
            plural(self.routes, "route", "routes"),
            self.observed,
            self.unobserved,
            self.undeclared_endpoints,
            if self.undeclared_endpoints == 1 {
                ""
            } else {
                "s"
            },
            self.not_enforced,
            self.outside_code
        )
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    crate::counters::plural(n, one, many)
}

/// Stores `report` as the scan named `name` (the directories as given), replacing an earlier
/// scan of the same name; `hosts` are the hosts the code serves (empty: inferred).
pub async fn store_scan(
    store: &Store,
    name: &str,
    hosts: &[String],
    report: &ScanReport,
) -> Result<StoredScan, StoreError> {
    store_scan_on(&store.db(), name, hosts, report).await
}

/// [`store_scan`] on either backend: on the fleet's centre the scan is joined with every
/// sensor's endpoints at its next assessment.
pub async fn store_scan_on(
    db: &super::db::Db,
    name: &str,
    hosts: &[String],
    report: &ScanReport,
) -> Result<StoredScan, StoreError> {
    let mut tx = db.begin().await?;
    let c = &mut tx.conn();
    let replaced = c
        .query("DELETE FROM code_scans WHERE name = ?")
        .bind(name)
        .execute()
        .await?
        > 0;
    let hosts: Vec<String> = hosts
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let scan_id: i64 = c
        .query(
            "INSERT INTO code_scans (name, hosts, scanned_at, files, routes) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(hosts.join(","))
        .bind(crate::time::Timestamp::now().as_nanos())
        .bind(report.walk.files as i64)
        .bind(report.routes.len() as i64)
        .fetch_scalar()
        .await?;
    for r in &report.routes {
        c.query(
            "INSERT INTO declared_routes (scan_id, method, path_template, framework, file, line, handler, auth, host)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(scan_id)
        .bind(r.method.as_str())
        .bind(r.path.as_str())
        .bind(r.framework.name())
        .bind(r.file.to_string_lossy().into_owned())
        .bind(i64::from(r.line))
        .bind(r.handler.as_deref().unwrap_or_default())
        .bind(r.auth.join(","))
        // Known before any assessment when given: the templates pin at once.
        .bind(hosts.first())
        .execute()
        .await?;
    }
    tx.commit().await?;
    Ok(StoredScan {
        scan_id,
        routes: report.routes.len() as u64,
        replaced,
    })
}

/// A path's segments, a trailing slash ignored (`/a/b/` is `/a/b`; `/` has none).
fn segments(path: &str) -> Vec<&str> {
    let p = crate::openapi::url_part(path);
    let p = p.strip_prefix('/').unwrap_or(p);
    let p = p.strip_suffix('/').unwrap_or(p);
    if p.is_empty() {
        Vec::new()
    } else {
        p.split('/').collect()
    }
}

fn is_param(seg: &str) -> bool {
    seg.len() >= 2 && seg.starts_with('{') && seg.ends_with('}')
}

/// How well the declared route `method path` fits the observed endpoint `ep_method
/// ep_template`: `None` when it does not, otherwise (literal segments that agree, the method
/// is the route's own): more is a closer match.
pub fn route_fit(
    method: &str,
    path: &str,
    ep_method: &str,
    ep_template: &str,
) -> Option<(usize, bool)> {
    fit_segments(method, &segments(path), ep_method, &segments(ep_template))
}

/// [`route_fit`] over paths already split into [`segments`].
fn fit_segments<A: AsRef<str>, B: AsRef<str>>(
    method: &str,
    d: &[A],
    ep_method: &str,
    o: &[B],
) -> Option<(usize, bool)> {
    if d.len() != o.len() {
        return None;
    }
    let exact = method.eq_ignore_ascii_case(ep_method);
    let method_ok = exact
        || method == "*"
        || (ep_method.eq_ignore_ascii_case("HEAD") && method.eq_ignore_ascii_case("GET"))
        || ep_method.eq_ignore_ascii_case("OPTIONS");
    if !method_ok {
        return None;
    }
    let mut literals = 0;
    for (a, b) in d.iter().zip(o) {
        let (a, b) = (a.as_ref(), b.as_ref());
        if is_param(a) {
            continue;
        }
        if a == b {
            literals += 1;
        } else {
            return None;
        }
    }
    Some((literals, exact))
}

/// [`route_fit`] of a route and an endpoint, their paths split once.
fn fits(r: &Route, e: &Ep) -> Option<(usize, bool)> {
    fit_segments(&r.method, &r.segs, &e.method, &e.segs)
}

/// A declared route as the assessment reads it.
struct Route {
    id: i64,
    segs: Vec<String>,
    scan: i64,
    method: String,
    path: String,
    file: String,
    line: i64,
    handler: String,
    framework: String,
    auth: String,
}

/// An endpoint as the assessment reads it.
struct Ep {
    id: i64,
    segs: Vec<String>,
    host: String,
    method: String,
    template: String,
    requests: i64,
    first: i64,
    last: i64,
    clients: i64,
}

/// What one route found on the hosts its code serves.
#[derive(Default)]
struct Seen {
    host: Option<String>,
    best: Option<(i64, i64)>,
    endpoints: i64,
    requests: i64,
}

/// A finding of this assessment: (kind, host, method, template, detail, evidence, count,
/// first seen, last seen).
type Finding = (
    &'static str,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
);

/// Joins the declared routes with the endpoints (see the module's documentation); `auth` is
/// the auth seen per endpoint (scheme → requests, 2xx), `routed` the endpoints that answered
/// something other than "no such route", `scope_of` each endpoint's scope.
pub(super) async fn assess_code(
    c: &mut Conn<'_>,
    auth: &HashMap<i64, BTreeMap<String, (i64, i64)>>,
    routed: &BTreeSet<i64>,
    scope_of: &(dyn Fn(i64) -> Scope + Sync),
) -> Result<CodeAssessment, StoreError> {
    let mut out = CodeAssessment::default();
    let kinds = CODE_KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    c.query(format!("DELETE FROM findings WHERE kind IN ({kinds})"))
        .execute()
        .await?;
    c.query("DELETE FROM endpoint_code").execute().await?;
    let scans: Vec<(i64, String, Vec<String>)> = c
        .query("SELECT id, name, hosts FROM code_scans ORDER BY id")
        .fetch_all()
        .await?
        .iter()
        .map(|r| {
            let hosts: String = r.get(2);
            (
                r.get(0),
                r.get(1),
                hosts
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(String::from)
                    .collect(),
            )
        })
        .collect();
    out.scans = scans.len() as u64;
    // Rows made for unobserved routes at the last assessment: kept if still needed.
    let mut stale_rows: BTreeSet<i64> = c.query(
        "SELECT id FROM endpoints WHERE template_rule = 'code' AND request_count = 0 AND coalesce(documented, 0) = 0",
    )
    .fetch_all_scalar()
    .await?
    .into_iter()
    .collect();
    if scans.is_empty() {
        delete_rows(c, &stale_rows).await?;
        return Ok(out);
    }
    let routes: Vec<Route> = c.query(
        "SELECT id, scan_id, method, path_template, file, line, handler, framework, auth FROM declared_routes ORDER BY id",
    )
    .fetch_all()
    .await?
    .iter()
    .map(|r| Route {
        id: r.get(0),
        segs: segments(r.get::<&str, _>(3)).into_iter().map(String::from).collect(),
        scan: r.get(1),
        method: r.get(2),
        path: r.get(3),
        file: r.get(4),
        line: r.get(5),
        handler: r.get(6),
        framework: r.get(7),
        auth: r.get(8),
    })
    .collect();
    out.routes = routes.len() as u64;
    let eps: Vec<Ep> = c.query(
        "SELECT id, host, method, path_template, request_count, coalesce(first_seen, 0), coalesce(last_seen, 0),
                (CASE WHEN clients_capped = 1 THEN client_estimate ELSE client_rows END)
         FROM endpoints WHERE path_template <> ''",
    )
    .fetch_all()
    .await?
    .iter()
    .map(|r| Ep {
        id: r.get(0),
        segs: segments(r.get::<&str, _>(3)).into_iter().map(String::from).collect(),
        host: r.get(1),
        method: r.get(2),
        template: r.get(3),
        requests: r.get(4),
        first: r.get(5),
        last: r.get(6),
        clients: r.get::<Option<i64>, _>(7).unwrap_or(0),
    })
    .collect();
    let observed: Vec<&Ep> = eps.iter().filter(|e| e.requests > 0).collect();
    let mut by_host: BTreeMap<&str, Vec<&Ep>> = BTreeMap::new();
    for e in &observed {
        by_host.entry(e.host.as_str()).or_default().push(e);
    }

    // The hosts each scan serves.
    let mut served: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (id, _, given) in &scans {
        let hosts = if !given.is_empty() {
            given.clone()
        } else {
            let mine: Vec<&Route> = routes
                .iter()
                .filter(|r| r.scan == *id && !segments(&r.path).is_empty())
                .collect();
            let counts: Vec<(&str, usize)> = by_host
                .iter()
                .map(|(host, eps)| {
                    let n = mine
                        .iter()
                        .filter(|r| eps.iter().any(|e| fits(r, e).is_some()))
                        .count();
                    (*host, n)
                })
                .collect();
            let best = counts.iter().map(|c| c.1).max().unwrap_or(0);
            counts
                .into_iter()
                .filter(|(_, n)| *n >= INFER_MIN_ROUTES && 2 * n >= best)
                .map(|(h, _)| h.to_string())
                .collect()
        };
        served.insert(*id, hosts);
    }
    let all_hosts: BTreeSet<&String> = served.values().flatten().collect();
    out.hosts = all_hosts.iter().map(|h| h.to_string()).collect();

    // Each observed endpoint of a served host against the routes of the scans serving it.
    let mut seen: HashMap<i64, Seen> = HashMap::new();
    let mut findings: Vec<Finding> = Vec::new();
    for host in &all_hosts {
        let scans_here: BTreeSet<i64> = served
            .iter()
            .filter(|(_, h)| h.contains(host))
            .map(|(id, _)| *id)
            .collect();
        let names: Vec<&str> = scans
            .iter()
            .filter(|s| scans_here.contains(&s.0))
            .map(|s| s.1.as_str())
            .collect();
        for e in by_host.get(host.as_str()).into_iter().flatten() {
            let best = routes
                .iter()
                .filter(|r| scans_here.contains(&r.scan))
                .filter_map(|r| fits(r, e).map(|f| (f, r)))
                .max_by_key(|(f, r)| (*f, std::cmp::Reverse(r.id)));
            match best {
                Some((_, r)) => {
                    let s = seen.entry(r.id).or_default();
                    s.host.get_or_insert_with(|| host.to_string());
                    s.endpoints += 1;
                    s.requests += e.requests;
                    if s.best.is_none_or(|(_, n)| e.requests > n) {
                        s.best = Some((e.id, e.requests));
                    }
                    out.declared_endpoints += 1;
                    let check = auth_check(r, e, auth.get(&e.id), &mut findings);
                    match check {
                        Some("not_enforced") => out.not_enforced += 1,
                        Some("outside_code") => out.outside_code += 1,
                        _ => {}
                    }
                    insert_code(c, e.id, "declared", Some(r.id), &r.auth, check).await?;
                }
                None if routed.contains(&e.id) && scope_of(e.id) == Scope::Api => {
                    out.undeclared_endpoints += 1;
                    insert_code(c, e.id, "undeclared", None, "", None).await?;
                    findings.push((
                        "undeclared_route",
                        e.host.clone(),
                        e.method.clone(),
                        e.template.clone(),
                        format!(
                            "Served on a host whose code was scanned ({}), but no route there declares it: something else answers it (a gateway or proxy rule, a rewrite, another service). Called {} time(s) by {} client(s).",
                            names.join("; "),
                            e.requests,
                            e.clients
                        ),
                        format!("{} {} {}", e.method, e.host, e.template),
                        e.requests,
                        e.first,
                        e.last,
                    ));
                }
                None => {}
            }
        }
    }

    // Routes: what they matched, and a row for each one never observed.
    for r in &routes {
        let s = seen.remove(&r.id).unwrap_or_default();
        let hosts = served.get(&r.scan).cloned().unwrap_or_default();
        let mut host = s.host.clone().or_else(|| hosts.first().cloned());
        let mut endpoint = s.best.map(|b| b.0);
        if s.requests > 0 {
            out.observed += 1;
        } else {
            out.unobserved += 1;
            // A route bound to every method has no one row to stand for it.
            if let (Some(h), false) = (&host, r.method == "*") {
                let id: i64 = c.query(
                    "INSERT INTO endpoints (host, method, path_template, template_rule, example_path, request_count)
                     VALUES (?, ?, ?, 'code', ?, 0)
                     ON CONFLICT (host, method, path_template) DO UPDATE SET request_count = endpoints.request_count
                     RETURNING id",
                )
                .bind(h)
                .bind(&r.method)
                .bind(&r.path)
                .bind(&r.path)
                .fetch_one()
                .await?
                .get(0);
                stale_rows.remove(&id);
                endpoint = Some(id);
                insert_code(c, id, "unobserved", Some(r.id), &r.auth, None).await?;
                findings.push((
                    "unobserved_route",
                    h.clone(),
                    r.method.clone(),
                    r.path.clone(),
                    format!(
                        "Declared in {}:{}{} ({}) but never observed on {h}: dead or unexposed code, or a route nobody has called yet. Either way it is attack surface that no traffic shows.",
                        r.file,
                        r.line,
                        if r.handler.is_empty() { String::new() } else { format!(", {}", r.handler) },
                        r.framework
                    ),
                    format!("{}:{} {} {}", r.file, r.line, r.method, r.path),
                    0,
                    0,
                    0,
                ));
            }
            if hosts.is_empty() {
                host = None;
            }
        }
        c.query(
            "UPDATE declared_routes SET host = ?, endpoint_id = ?, endpoints = ?, requests = ? WHERE id = ?",
        )
        .bind(host)
        .bind(endpoint)
        .bind(s.endpoints)
        .bind(s.requests)
        .bind(r.id)
        .execute()
        .await?;
    }
    delete_rows(c, &stale_rows).await?;

    // Findings on endpoints that are not APIs of ours: none (browsers send cookies with every
    // file; a third party's routes are not in our code).
    let scope_by_key: HashMap<(&str, &str, &str), i64> = eps
        .iter()
        .map(|e| {
            (
                (e.host.as_str(), e.method.as_str(), e.template.as_str()),
                e.id,
            )
        })
        .collect();
    for (kind, host, method, template, detail, evidence, count, first, last) in &findings {
        if let Some(id) = scope_by_key.get(&(host.as_str(), method.as_str(), template.as_str()))
            && scope_of(*id) != Scope::Api
        {
            continue;
        }
        let key = crate::store::finding_key(kind, host, method, template, "");
        crate::store::upsert_assessed(
            c,
            &crate::store::AssessedFinding {
                kind,
                host: Some(host),
                method: Some(method),
                path_template: Some(template),
                client: None,
                detail,
                evidence,
                count: *count,
                first_seen: *first,
                last_seen: *last,
                key,
            },
        )
        .await?;
    }
    Ok(out)
}

/// Deletes the rows made for routes that are now observed or gone.
async fn delete_rows(c: &mut Conn<'_>, ids: &BTreeSet<i64>) -> Result<(), StoreError> {
    for id in ids {
        c.query("DELETE FROM endpoints WHERE id = ? AND request_count = 0")
            .bind(*id)
            .execute()
            .await?;
    }
    Ok(())
}

async fn insert_code(
    c: &mut Conn<'_>,
    endpoint: i64,
    status: &str,
    route: Option<i64>,
    declared_auth: &str,
    check: Option<&str>,
) -> Result<(), StoreError> {
    c.query(
        "INSERT INTO endpoint_code (endpoint_id, status, route_id, declared_auth, auth_check) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (endpoint_id) DO NOTHING",
    )
    .bind(endpoint)
    .bind(status)
    .bind(route)
    .bind(declared_auth)
    .bind(check)
    .execute()
    .await?;
    Ok(())
}

/// The declared auth of `r` against the auth seen on `e` (scheme → requests, 2xx); pushes the
/// finding a mismatch makes. `None` when nothing was answered 2xx (nothing to judge).
fn auth_check(
    r: &Route,
    e: &Ep,
    seen: Option<&BTreeMap<String, (i64, i64)>>,
    findings: &mut Vec<Finding>,
) -> Option<&'static str> {
    let none = seen.and_then(|a| a.get("none")).copied().unwrap_or((0, 0));
    let with: Vec<(&str, i64)> = seen
        .into_iter()
        .flatten()
        .filter(|(s, x)| *s != "none" && x.1 > 0)
        .map(|(s, x)| (s.as_str(), x.1))
        .collect();
    let with_ok: i64 = with.iter().map(|x| x.1).sum();
    let schemes = with.iter().map(|x| x.0).collect::<Vec<_>>().join(", ");
    let at = format!("{}:{}", r.file, r.line);
    if !r.auth.is_empty() {
        if none.1 > 0 {
            findings.push((
                "declared_auth_not_enforced",
                e.host.clone(),
                e.method.clone(),
                e.template.clone(),
                format!(
                    "The code attaches authentication to this route ({} at {at}), yet it answered 2xx {} time(s) to requests that carried no credentials: the check does not reject a missing credential, or it is not applied where the code suggests.",
                    r.auth, none.1
                ),
                format!("declared auth {}; 2xx without credentials: {}", r.auth, none.1),
                none.1,
                e.first,
                e.last,
            ));
            return Some("not_enforced");
        }
        return (with_ok > 0).then_some("consistent");
    }
    if none.1 > 0 {
        return Some("consistent");
    }
    if none.0 > 0 && with_ok > 0 {
        findings.push((
            "auth_outside_code",
            e.host.clone(),
            e.method.clone(),
            e.template.clone(),
            format!(
                "The route declares no authentication in the code ({at}), yet its {} request(s) without credentials were refused while {with_ok} with credentials ({schemes}) were answered 2xx: the check lives outside the route (a gateway, a proxy or a global middleware), and the route is open wherever that is bypassed.",
                none.0
            ),
            format!("no declared auth; without credentials: {} refused; 2xx with: {schemes} {with_ok}", none.0),
            with_ok + none.0,
            e.first,
            e.last,
        ));
        return Some("outside_code");
    }
    None
}

/// What `spec diff` lists of the code: endpoints declared nowhere, routes never observed and
/// auth mismatches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CodeDiffRow {
    /// `undeclared`, `unobserved`, `not_enforced` or `outside_code`.
    pub kind: String,
    /// Method.
    pub method: String,
    /// Host.
    pub host: String,
    /// Path template.
    pub path_template: String,
    /// Requests.
    pub request_count: i64,
    /// Where the route is declared (`file:line`), when it is.
    pub declared_at: Option<String>,
    /// Its declared auth.
    pub declared_auth: String,
}

impl Store {
    /// The code's side of `spec diff`: the scans stored, and the endpoints of the hosts their
    /// code serves on which code and traffic disagree (only `host`'s when given).
    pub async fn code_diff(
        &self,
        host: Option<&str>,
    ) -> Result<(i64, Vec<CodeDiffRow>), StoreError> {
        let scans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM code_scans")
            .fetch_one(self.pool())
            .await?;
        let rows = sqlx::query_as(
            "SELECT CASE WHEN c.auth_check IN ('not_enforced', 'outside_code') THEN c.auth_check ELSE c.status END AS kind,
                    e.method, e.host, e.path_template, e.request_count,
                    CASE WHEN r.id IS NULL THEN NULL ELSE r.file || ':' || r.line END AS declared_at,
                    c.declared_auth
             FROM endpoint_code c JOIN endpoints e ON e.id = c.endpoint_id LEFT JOIN declared_routes r ON r.id = c.route_id
             WHERE (c.status IN ('undeclared', 'unobserved') OR c.auth_check IN ('not_enforced', 'outside_code'))
               AND (?1 IS NULL OR e.host = ?1)
             ORDER BY CASE kind WHEN 'undeclared' THEN 0 WHEN 'not_enforced' THEN 1 WHEN 'outside_code' THEN 2 ELSE 3 END,
                      e.host, e.path_template, e.method",
        )
        .bind(host)
        .fetch_all(self.pool())
        .await?;
        Ok((scans, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits() {
        assert_eq!(
            route_fit("GET", "/users/{id}", "GET", "/users/{user_id}"),
            Some((1, true))
        );
        assert_eq!(
            route_fit("GET", "/users/{id}", "GET", "/users/me"),
            Some((1, true))
        );
        assert_eq!(
            route_fit("GET", "/users/me", "GET", "/users/me"),
            Some((2, true))
        );
        assert_eq!(route_fit("GET", "/users/me", "GET", "/users/{id}"), None);
        assert_eq!(route_fit("GET", "/users/{id}", "POST", "/users/1"), None);
        assert_eq!(
            route_fit("*", "/users/{id}", "DELETE", "/users/1"),
            Some((1, false))
        );
        assert_eq!(
            route_fit("GET", "/users", "HEAD", "/users"),
            Some((1, false))
        );
        assert_eq!(
            route_fit("POST", "/users", "OPTIONS", "/users"),
            Some((1, false))
        );
        assert_eq!(
            route_fit("GET", "/api/orders/", "GET", "/api/orders"),
            Some((2, true))
        );
        assert_eq!(route_fit("GET", "/", "GET", "/"), Some((0, true)));
        assert_eq!(route_fit("GET", "/", "GET", "/x"), None);
        assert_eq!(
            route_fit("POST", "/graphql", "POST", "/graphql#query Me"),
            Some((1, true))
        );
        assert_eq!(route_fit("GET", "/a/{b}", "GET", "/a/{b}/c"), None);
    }
}
