//! Spec: the documented inventory, held against what was observed.
//!
//! [`import`] stores an OpenAPI 3.0/3.1 or Swagger 2.0 document; [`assess`] then (and after
//! every ingest) classifies each observed endpoint as `documented`, `shadow` (in no spec, or a
//! documented path with an undocumented method) or `zombie` (documented as deprecated, or an
//! older version such as `/v1/...` still called while its successor is documented and it is
//! not); documented operations never called are listed as `dormant` with no requests. It also
//! records drift (undocumented parameters, body fields, status codes, media types, missing
//! security) and the endpoint-level posture findings.
//!
//! Scanner probes are not APIs: an endpoint only ever refused (4xx: 404, 403, 401, 405, ...)
//! or not answered, to requests without credentials, by at most [`PROBE_MAX_CLIENTS`] clients
//! at most [`PROBE_MAX_TRIES`] times each (`/.env`, `/.git/config`, `/wp-login.php`,
//! `/actuator/env` tried once by a scanner) is a *probe*. (A 5xx says the route exists and
//! failed; a request with credentials that is refused is an authorization failure of a
//! client, not a scan.) It stays in the inventory (it is traffic) but is never classified
//! `shadow` or `zombie` (its classification is `probe`) nor counted as one, and raises no
//! `shadow_api`. Instead, a client that tried at least [`PROBE_MIN_PATHS`] probes gets one
//! `scanner_probe` finding (medium), listing the paths it probed (at most [`PROBE_LIST`],
//! sanitised) and their number. An endpoint ever answered with success (2xx, 3xx), or called by
//! three or more clients, is not a probe. Probes are judged with or without an API description; only
//! the classification needs one.

pub use crate::openapi::bounds::{SpecLimits, read_bounded};

use super::db::{Conn, Db};
use super::{Store, StoreError};
use crate::analyze::scope::Scope;
use crate::counters::plural;
use crate::openapi::{self, ApiSpec, bounds, fit};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The document could not be read.
    #[error(transparent)]
    Parse(#[from] openapi::ParseError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SpecError {
    fn from(e: sqlx::Error) -> Self {
        SpecError::Store(StoreError::Db(e))
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Id of the stored document.
    pub spec_id: i64,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `openapi-3.0`, `openapi-3.1` or `swagger-2.0`.
    pub format: String,
    /// Operations stored.
    pub operations: usize,
    /// The same document was imported before (nothing new stored).
    pub already_imported: bool,
    /// Classification of the whole inventory afterwards.
    pub assessment: Assessment,
}

/// Counts after [`assess`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Assessment {
    /// Observed endpoints in a spec.
    pub documented: u64,
    /// Observed endpoints in no spec.
    pub shadow: u64,
    /// Observed endpoints documented as deprecated, or superseded by a newer version.
    pub zombie: u64,
    /// Documented operations never observed.
    pub dormant: u64,
    /// Drift items recorded.
    pub drift: u64,
    /// Endpoint-level findings recorded.
    pub findings: u64,
    /// Observed endpoints in no spec that are scanner probes (not shadow APIs).
    pub probes: u64,
    /// Clients reported as `scanner_probe`.
    pub probing_clients: u64,
    /// Findings on encrypted services (`store::tls::TLS_KINDS`).
    pub tls_findings: u64,
    /// Observed endpoints of hosts that no imported description covers (classified
    /// `uncovered`: neither documented nor shadow).
    pub uncovered: u64,
    /// Hosts that no imported description covers (each with one `uncovered_host` finding at
    /// most).
    pub uncovered_hosts: u64,
    /// Observed endpoints serving static content (not counted above).
    pub static_assets: u64,
    /// Observed endpoints of hosts that are not ours (not counted above).
    pub third_party: u64,
    /// Observed endpoints matched by an ignore rule (not counted above).
    pub ignored: u64,
    /// Every finding of the inventory after the assessment (what `api_findings` lists and
    /// the dashboard counts; `findings` is the part this assessment recomputed).
    pub findings_total: u64,
    /// The declared routes against the observed endpoints (`store::code`).
    pub code: super::code::CodeAssessment,
}

impl Assessment {
    /// The counts in words, the same for `spec import`, `demo` and the dashboard's upload:
    /// endpoints by classification, then drift items and every finding of the inventory
    /// (what the dashboard and `api_findings` count).
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!(
                "{} documented, {} shadow, {} zombie",
                self.documented, self.shadow, self.zombie
            ),
            plural(self.dormant, "dormant operation", "dormant operations"),
        ];
        if self.probes > 0 {
            parts.push(plural(self.probes, "scanner probe", "scanner probes"));
        }
        if self.uncovered > 0 {
            parts.push(format!(
                "{} on {} no description covers",
                plural(self.uncovered, "endpoint", "endpoints"),
                plural(self.uncovered_hosts, "host", "hosts")
            ));
        }
        if self.static_assets + self.third_party + self.ignored > 0 {
            parts.push(format!(
                "not APIs of ours: {} static, {} third-party, {} ignored",
                self.static_assets, self.third_party, self.ignored
            ));
        }
        let code = self.code.summary();
        format!(
            "{}; {}; {}{}{}",
            parts.join(", "),
            plural(self.drift, "drift item", "drift items"),
            plural(self.findings_total, "finding", "findings"),
            if code.is_empty() { "" } else { "; " },
            code
        )
    }
}

/// Imports a document (JSON or YAML) and re-assesses the inventory, within the default
/// [`SpecLimits`]: the document is parsed off the async runtime, after its size and depth are
/// checked, within a time budget (see [`bounds`]).
pub async fn import(store: &Store, name: &str, content: &[u8]) -> Result<ImportReport, SpecError> {
    import_with(store, name, content, &SpecLimits::default()).await
}

/// [`import`] within other limits.
pub async fn import_with(
    store: &Store,
    name: &str,
    content: &[u8],
    limits: &SpecLimits,
) -> Result<ImportReport, SpecError> {
    import_on(&store.db(), name, content, limits).await
}

/// [`import_with`] on either backend: a sensor's store, or the fleet's centre, whose
/// assessment then judges the whole fleet's endpoints against the document.
pub async fn import_on(
    db: &Db,
    name: &str,
    content: &[u8],
    limits: &SpecLimits,
) -> Result<ImportReport, SpecError> {
    if content.len() > limits.max_bytes {
        return Err(openapi::ParseError::TooLarge {
            limit: limits.max_bytes,
        }
        .into());
    }
    let spec = bounds::parse_bounded(content.to_vec(), limits).await?;
    let sha = {
        use sha2::{Digest, Sha256};
        Sha256::digest(content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut report = ImportReport {
        title: spec.title.clone(),
        version: spec.version.clone(),
        format: spec.format.to_string(),
        operations: spec.operations.len(),
        ..Default::default()
    };
    if let Some(id) = db
        .query("SELECT id FROM specs WHERE sha256 = ?")
        .bind(&sha)
        .fetch_optional_scalar::<i64>()
        .await?
    {
        report.spec_id = id;
        report.already_imported = true;
    } else {
        report.spec_id = store_spec(db, name, &sha, &spec).await?;
    }
    report.assessment = assess_on(db).await?;
    Ok(report)
}

async fn store_spec(db: &Db, name: &str, sha: &str, spec: &ApiSpec) -> Result<i64, SpecError> {
    let mut tx = db.begin().await?;
    let c = &mut tx.conn();
    let d = c.dialect();
    let servers = serde_json::to_string(&spec.servers).unwrap_or_else(|_| "[]".into());
    let id: i64 = c
        .query(
            "INSERT INTO specs (name, sha256, title, version, format, servers, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name.chars().take(200).collect::<String>())
        .bind(sha)
        .bind(spec.title.as_str())
        .bind(spec.version.as_str())
        .bind(spec.format.to_string())
        .bind(servers)
        .bind(crate::time::Timestamp::now().as_nanos())
        .fetch_scalar()
        .await?;
    let hosts: Vec<Option<String>> = {
        let mut h: Vec<Option<String>> = spec.servers.iter().map(|s| s.host.clone()).collect();
        h.sort();
        h.dedup();
        h
    };
    let json = |s: &BTreeSet<String>| serde_json::to_string(s).unwrap_or_else(|_| "[]".into());
    for op in &spec.operations {
        for host in &hosts {
            c.query(format!(
                "{} spec_operations (spec_id, host, method, path_template, operation_id, summary, deprecated, security,
                    security_types, query_params, statuses, request_types, response_types, body_fields)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?){}",
                d.insert_or_ignore(),
                d.or_ignore_end()
            ))
            .bind(id)
            .bind(host.as_deref())
            .bind(op.method.as_str())
            .bind(op.path.as_str())
            .bind(op.operation_id.clone())
            .bind(op.summary.clone())
            .bind(i64::from(op.deprecated))
            .bind(serde_json::to_string(&op.security).unwrap_or_else(|_| "[]".into()))
            .bind(if op.public { String::new() } else { op.security_types.iter().cloned().collect::<Vec<_>>().join(",") })
            .bind(json(&op.query_params))
            .bind(json(&op.statuses))
            .bind(json(&op.request_types))
            .bind(json(&op.response_types))
            .bind(json(&op.body_fields))
            .execute()
            .await?;
        }
    }
    tx.commit().await?;
    Ok(id)
}

/// Records that an observed host stands for a spec's server host.
pub async fn map_host(store: &Store, observed: &str, spec_host: &str) -> Result<(), SpecError> {
    map_host_on(&store.db(), observed, spec_host).await
}

/// [`map_host`] on either backend.
pub async fn map_host_on(db: &Db, observed: &str, spec_host: &str) -> Result<(), SpecError> {
    db.query("INSERT INTO spec_hosts (observed, spec_host) VALUES (?, ?) ON CONFLICT (observed) DO UPDATE SET spec_host = excluded.spec_host")
        .bind(observed.to_ascii_lowercase())
        .bind(spec_host.to_ascii_lowercase())
        .execute()
        .await?;
    Ok(())
}

struct Op {
    id: i64,
    host: Option<String>,
    method: String,
    path: String,
    deprecated: bool,
    security_types: Vec<String>,
    query: BTreeSet<String>,
    statuses: BTreeSet<String>,
    request_types: BTreeSet<String>,
    response_types: BTreeSet<String>,
    body_fields: BTreeSet<String>,
}

struct Ep {
    id: i64,
    host: String,
    method: String,
    template: String,
    requests: i64,
    first: Option<i64>,
    last: Option<i64>,
    clients: i64,
}

fn set(s: String) -> BTreeSet<String> {
    serde_json::from_str(&s).unwrap_or_default()
}

/// Kinds of finding computed over the whole inventory (replaced at every assessment).
pub const ENDPOINT_KINDS: [&str; 6] = [
    "shadow_api",
    "zombie_api",
    "unauthenticated_endpoint",
    "auth_inconsistent",
    "scanner_probe",
    "uncovered_host",
];

/// A probe was tried by at most this many clients (three or more make it traffic of an API).
pub const PROBE_MAX_CLIENTS: usize = 2;
/// ... each at most this many times.
pub const PROBE_MAX_TRIES: i64 = 2;
/// A client is reported as `scanner_probe` from this many probes.
pub const PROBE_MIN_PATHS: usize = 2;
/// Paths listed in a `scanner_probe` finding.
pub const PROBE_LIST: usize = 10;

/// One client's share of a probe: (client, requests, first seen, last seen).
type ProbeClient = (String, i64, i64, i64);

/// Scanner probes: endpoint id -> its clients (see the module docs).
async fn probes(c: &mut Conn<'_>) -> Result<BTreeMap<i64, Vec<ProbeClient>>, SpecError> {
    let mut out: BTreeMap<i64, Vec<ProbeClient>> = BTreeMap::new();
    let rows = c
        .query(
            "SELECT e.id, e.client_estimate, c.client, c.count, c.first_seen, c.last_seen
         FROM endpoints e JOIN endpoint_clients c ON c.endpoint_id = e.id
         WHERE e.request_count > 0 AND e.clients_capped = 0
           AND NOT EXISTS (SELECT 1 FROM endpoint_status s WHERE s.endpoint_id = e.id
                           AND s.status <> 0 AND (s.status < 400 OR s.status > 499))
           AND NOT EXISTS (SELECT 1 FROM endpoint_auth a WHERE a.endpoint_id = e.id
                           AND a.scheme <> 'none')",
        )
        .fetch_all()
        .await?;
    let mut estimate: HashMap<i64, i64> = HashMap::new();
    for r in rows {
        let id: i64 = r.get(0);
        estimate.insert(id, r.get(1));
        out.entry(id)
            .or_default()
            .push((r.get(2), r.get(3), r.get(4), r.get(5)));
    }
    out.retain(|id, clients| {
        let estimated = estimate.get(id).copied().unwrap_or(0);
        let n = clients
            .len()
            .max(usize::try_from(estimated).unwrap_or(usize::MAX));
        n <= PROBE_MAX_CLIENTS && clients.iter().all(|c| c.1 <= PROBE_MAX_TRIES)
    });
    Ok(out)
}

/// A path fit to list in a finding: control characters replaced, cut to 100 characters.
fn listed(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(100)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}

/// The `scanner_probe` findings: one per client that tried at least [`PROBE_MIN_PATHS`]
/// probes. Returns how many clients were reported.
async fn probing_clients(
    c: &mut Conn<'_>,
    eps: &[Ep],
    probes: &BTreeMap<i64, Vec<ProbeClient>>,
) -> Result<u64, SpecError> {
    let by_id: HashMap<i64, &Ep> = eps.iter().map(|e| (e.id, e)).collect();
    // Client -> its probes: (endpoint, requests, first, last).
    type Tried<'a> = Vec<(&'a Ep, i64, i64, i64)>;
    let mut by_client: BTreeMap<&str, Tried<'_>> = BTreeMap::new();
    for (id, clients) in probes {
        let Some(e) = by_id.get(id) else { continue };
        for (client, n, first, last) in clients {
            by_client
                .entry(client.as_str())
                .or_default()
                .push((e, *n, *first, *last));
        }
    }
    let mut reported = 0;
    for (client, mut tried) in by_client {
        if tried.len() < PROBE_MIN_PATHS {
            continue;
        }
        tried.sort_by(|a, b| {
            (&a.0.host, &a.0.template, &a.0.method).cmp(&(&b.0.host, &b.0.template, &b.0.method))
        });
        let mut hosts: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &tried {
            *hosts.entry(t.0.host.as_str()).or_default() += 1;
        }
        // The most probed host (the first by name among equals).
        let host = hosts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(h, _)| h.to_string());
        let mut statuses: BTreeMap<i64, i64> = BTreeMap::new();
        for t in &tried {
            for r in c
                .query("SELECT status, count FROM endpoint_status WHERE endpoint_id = ?")
                .bind(t.0.id)
                .fetch_all()
                .await?
            {
                *statuses.entry(r.get(0)).or_default() += r.get::<i64, _>(1);
            }
        }
        let answers = statuses
            .iter()
            .filter(|(s, _)| **s != 0)
            .chain(statuses.get_key_value(&0))
            .map(|(s, n)| {
                if *s == 0 {
                    format!("no answer ×{n}")
                } else {
                    format!("{s} ×{n}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let requests: i64 = tried.iter().map(|t| t.1).sum();
        let first = tried.iter().map(|t| t.2).min().unwrap_or(0);
        let last = tried.iter().map(|t| t.3).max().unwrap_or(0);
        let many_hosts = hosts.len() > 1;
        let mut list: Vec<String> = tried
            .iter()
            .take(PROBE_LIST)
            .map(|t| {
                let path = listed(&t.0.template);
                if many_hosts {
                    format!("{} {}{path}", t.0.method, listed(&t.0.host))
                } else {
                    format!("{} {path}", t.0.method)
                }
            })
            .collect();
        if tried.len() > PROBE_LIST {
            list.push(format!("and {} more", tried.len() - PROBE_LIST));
        }
        let on = if many_hosts {
            format!("{} hosts", hosts.len())
        } else {
            listed(host.as_deref().unwrap_or_default())
        };
        let detail = format!(
            "{client} tried {} paths on {on} that were never answered with success ({answers}) and that hardly any other client tried: probing for exposed files, consoles and admin pages, not calling an API. The paths stay in the inventory (classified `probe` against an API description), not as shadow APIs.",
            tried.len()
        );
        let evidence = format!("{} probed paths: {}", tried.len(), list.join(", "));
        let key = crate::store::finding_key("scanner_probe", "", "", "", client);
        crate::store::upsert_assessed(
            c,
            &crate::store::AssessedFinding {
                kind: "scanner_probe",
                host: host.as_deref(),
                method: None,
                path_template: None,
                client: Some(client),
                detail: &detail,
                evidence: &evidence,
                count: requests,
                first_seen: first,
                last_seen: last,
                key,
            },
        )
        .await?;
        reported += 1;
    }
    Ok(reported)
}

/// Re-classifies every endpoint against the imported specs, lists dormant operations, records
/// drift and the endpoint-level findings. Runs in one transaction.
pub async fn assess(store: &Store) -> Result<Assessment, SpecError> {
    assess_on(&store.db()).await
}

/// [`assess`] on either backend: a sensor's store, or the fleet's centre (`shadowtap
/// central`), which holds the merge of every sensor's inventory and so judges it as one.
pub async fn assess_on(db: &Db) -> Result<Assessment, SpecError> {
    let mut tx = db.begin().await?;
    let out = assess_in(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`assess_on`] inside a transaction the caller commits. On the centre it first takes the
/// writers' lock ([`super::pg::WRITERS_LOCK`]), so it never sees half a delta group and two
/// centres never assess at once.
pub async fn assess_in(tx: &mut super::db::DbTx) -> Result<Assessment, SpecError> {
    let c = &mut tx.conn();
    c.lock_writers().await?;
    let ops: Vec<Op> = c.query(
        "SELECT id, host, method, path_template, deprecated, security_types, query_params, statuses, request_types, response_types, body_fields
         FROM spec_operations",
    )
    .fetch_all()
    .await?
    .into_iter()
    .map(|r| Op {
        id: r.get(0),
        host: r.get(1),
        method: r.get(2),
        path: r.get(3),
        deprecated: r.get::<i64, _>(4) != 0,
        security_types: r.get::<String, _>(5).split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
        query: set(r.get(6)),
        statuses: set(r.get(7)),
        request_types: set(r.get(8)),
        response_types: set(r.get(9)),
        body_fields: set(r.get(10)),
    })
    .collect();
    let host_map: HashMap<String, String> = c
        .query("SELECT observed, spec_host FROM spec_hosts")
        .fetch_all()
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let eps: Vec<Ep> = c.query(
        "SELECT e.id, e.host, e.method, e.path_template, e.request_count, e.first_seen, e.last_seen,
                (SELECT COUNT(*) FROM endpoint_clients c WHERE c.endpoint_id = e.id)
         FROM endpoints e",
    )
    .fetch_all()
    .await?
    .into_iter()
    .map(|r| Ep {
        id: r.get(0),
        host: r.get(1),
        method: r.get(2),
        template: r.get(3),
        requests: r.get(4),
        first: r.get(5),
        last: r.get(6),
        clients: r.get(7),
    })
    .collect();
    let mut eps = eps;
    if !ops.is_empty() {
        rename_to_spec(c, &mut eps, &ops, &host_map).await?;
    }
    let eps: Vec<Ep> = eps.into_iter().filter(|e| !e.template.is_empty()).collect();
    let mut out = Assessment::default();
    // Static content, third-party hosts and ignored endpoints first: they are no APIs of ours.
    let scopes = super::scope::assess_scope(c).await?;
    let scope_of = |id: i64| scopes.get(&id).copied().unwrap_or(Scope::Api);
    c.query("DELETE FROM drift").execute().await?;
    // ENDPOINT_KINDS.
    c.query("DELETE FROM findings WHERE kind IN ('shadow_api', 'zombie_api', 'unauthenticated_endpoint', 'auth_inconsistent', 'scanner_probe', 'uncovered_host')")
        .execute()
        .await?;
    let probes = probes(c).await?;
    out.probing_clients = probing_clients(c, &eps, &probes).await?;
    out.tls_findings = super::tls::assess_tls(c).await.map_err(|e| match e {
        StoreError::Db(d) => SpecError::from(d),
        other => SpecError::Store(other),
    })?;
    // Auth seen per endpoint: scheme -> (requests, 2xx).
    let mut auth: HashMap<i64, BTreeMap<String, (i64, i64)>> = HashMap::new();
    for r in c
        .query("SELECT endpoint_id, scheme, count, ok_count FROM endpoint_auth")
        .fetch_all()
        .await?
    {
        let e = auth
            .entry(r.get(0))
            .or_default()
            .entry(r.get(1))
            .or_default();
        e.0 += r.get::<i64, _>(2);
        e.1 += r.get::<i64, _>(3);
    }
    let mut new_findings: Vec<(String, &Ep, String, String)> = Vec::new();
    // uncovered_host: (host, detail, evidence, requests, first seen, last seen).
    let mut uncovered_findings: Vec<(String, String, String, i64, i64, i64)> = Vec::new();
    // Endpoints that answered something other than "no such route" (404 Not Found, 405 Method
    // Not Allowed, 410 Gone, 501 Not Implemented): the others are not served (a scanner's
    // probes, a method the route lacks, a version switched off), so they are not reported as
    // shadow or zombie APIs.
    let routed: BTreeSet<i64> = c.query(
        "SELECT DISTINCT endpoint_id FROM endpoint_status WHERE status NOT IN (0, 404, 405, 410, 501)",
    )
    .fetch_all()
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();

    // Auth consistency holds with or without a spec.
    for e in eps.iter().filter(|e| e.requests > 0) {
        let a = auth.get(&e.id);
        let none_ok = a.and_then(|a| a.get("none")).map_or(0, |x| x.1);
        let cred_ok: Vec<(&String, i64)> = a
            .into_iter()
            .flatten()
            .filter(|(s, x)| *s != "none" && x.1 > 0)
            .map(|(s, x)| (s, x.1))
            .collect();
        if none_ok > 0 && !cred_ok.is_empty() {
            new_findings.push((
                "auth_inconsistent".into(),
                e,
                format!(
                    "Answered 2xx {none_ok} time(s) without credentials and {} time(s) with them ({}): either the credentials are not needed or the check is missing on some path.",
                    cred_ok.iter().map(|x| x.1).sum::<i64>(),
                    cred_ok.iter().map(|x| x.0.as_str()).collect::<Vec<_>>().join(", ")
                ),
                format!("2xx without credentials: {none_ok}; with: {}", cred_ok.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")),
            ));
        }
    }

    if !ops.is_empty() {
        let host_ok = |op: &Op, host: &str| -> bool {
            match &op.host {
                None => true,
                Some(h) => h == host || host_map.get(host).is_some_and(|m| m == h),
            }
        };
        // A description covers the hosts its servers name (and those mapped to them with
        // `[spec.hosts]` or `--map-host`); one without a server host covers every host.
        // Endpoints of other hosts are not judged against it: they are `uncovered`, not
        // shadow APIs, and their host gets one `uncovered_host` finding.
        let every_host = ops.iter().any(|o| o.host.is_none());
        let covered = |host: &str| every_host || ops.iter().any(|o| host_ok(o, host));
        let mut uncovered: BTreeMap<&str, Uncovered> = BTreeMap::new();
        let mut matched_ops: BTreeSet<i64> = BTreeSet::new();
        // Endpoints whose operation asks for no credential (`security: []`, or an empty
        // alternative making them optional).
        let mut documented_public: BTreeSet<i64> = BTreeSet::new();
        for e in eps.iter().filter(|e| e.requests > 0) {
            let best = ops
                .iter()
                .filter(|o| o.method.eq_ignore_ascii_case(&e.method) && host_ok(o, &e.host))
                .filter_map(|o| fit(&e.template, &o.path).map(|score| (score, o)))
                .max_by_key(|(score, o)| (*score, std::cmp::Reverse(o.id)));
            let (documented, deprecated, class) = match best {
                Some((_, op)) => {
                    matched_ops.insert(op.id);
                    if op.security_types.is_empty() {
                        documented_public.insert(e.id);
                    }
                    c.query("UPDATE spec_operations SET endpoint_id = ? WHERE id = ?")
                        .bind(e.id)
                        .bind(op.id)
                        .execute()
                        .await?;
                    out.drift += drift(c, e, op, auth.get(&e.id)).await?;
                    if op.deprecated && routed.contains(&e.id) {
                        new_findings.push((
                            "zombie_api".into(),
                            e,
                            format!(
                                "Documented as deprecated, yet called {} time(s) by {} client(s) up to {}.",
                                e.requests,
                                e.clients,
                                e.last.map(crate::store::iso).unwrap_or_default()
                            ),
                            format!("spec operation {} {} (deprecated: true)", op.method, op.path),
                        ));
                        (1, 1, "zombie")
                    } else {
                        (1, 0, "documented")
                    }
                }
                // A scanner's probe is no API: neither shadow nor zombie.
                None if probes.contains_key(&e.id) && !implied_method(e, &ops, &host_ok) => {
                    (0, 0, "probe")
                }
                None if !covered(&e.host) => {
                    // Only APIs of ours ask for their host's description.
                    if scope_of(e.id) == Scope::Api {
                        let u = uncovered
                            .entry(e.host.as_str())
                            .or_insert_with(|| Uncovered {
                                first: i64::MAX,
                                ..Uncovered::default()
                            });
                        u.endpoints += 1;
                        u.requests += e.requests;
                        u.routed |= routed.contains(&e.id);
                        u.first = u.first.min(e.first.unwrap_or(i64::MAX));
                        u.last = u.last.max(e.last.unwrap_or(0));
                    }
                    (0, 0, "uncovered")
                }
                None => match successor(e, &ops, &host_ok) {
                    Some(succ) => {
                        if routed.contains(&e.id) {
                            new_findings.push((
                            "zombie_api".into(),
                            e,
                            format!(
                                "An older version still called ({} time(s) by {} client(s)) although its successor {} is documented and it is not.",
                                e.requests, e.clients, succ
                            ),
                            format!("successor {} {}", e.method, succ),
                        ));
                        }
                        (0, 0, "zombie")
                    }
                    None if implied_method(e, &ops, &host_ok) => (1, 0, "documented"),
                    None => {
                        let methods: Vec<&str> = ops
                            .iter()
                            .filter(|o| host_ok(o, &e.host) && fit(&e.template, &o.path).is_some())
                            .map(|o| o.method.as_str())
                            .collect();
                        let why = if methods.is_empty() {
                            "This path is in no imported API description.".to_string()
                        } else {
                            format!(
                                "The path is documented, but only for {}; {} is not.",
                                methods.join(", "),
                                e.method
                            )
                        };
                        if routed.contains(&e.id) {
                            new_findings.push((
                                "shadow_api".into(),
                                e,
                                format!(
                                    "{why} Called {} time(s) by {} client(s).",
                                    e.requests, e.clients
                                ),
                                format!("{} {} {}", e.method, e.host, e.template),
                            ));
                        }
                        (0, 0, "shadow")
                    }
                },
            };
            match (scope_of(e.id), class) {
                (Scope::Static, _) => out.static_assets += 1,
                (Scope::ThirdParty, _) => out.third_party += 1,
                (Scope::Ignored, _) => out.ignored += 1,
                (Scope::Api, "documented") => out.documented += 1,
                (Scope::Api, "zombie") => out.zombie += 1,
                (Scope::Api, "probe") => out.probes += 1,
                (Scope::Api, "uncovered") => out.uncovered += 1,
                (Scope::Api, _) => out.shadow += 1,
            }
            c.query("UPDATE endpoints SET documented = ?, deprecated = ?, classification = ? WHERE id = ?")
                .bind(documented)
                .bind(deprecated)
                .bind(class)
                .bind(e.id)
                .execute()
                .await?;
            // Required credentials the endpoint did without.
            if let Some((_, op)) = best {
                let none_ok = auth
                    .get(&e.id)
                    .and_then(|a| a.get("none"))
                    .map_or(0, |x| x.1);
                if !op.security_types.is_empty() && none_ok > 0 {
                    new_findings.push((
                        "unauthenticated_endpoint".into(),
                        e,
                        format!(
                            "The API description requires credentials ({}), but the endpoint answered 2xx {none_ok} time(s) to requests that carried none.",
                            op.security_types.join(" or ")
                        ),
                        format!("spec security {}; 2xx without credentials: {none_ok}", op.security_types.join(",")),
                    ));
                }
            }
        }
        out.uncovered_hosts = uncovered.len() as u64;
        for (host, u) in uncovered.iter().filter(|(_, u)| u.routed) {
            let hosts: BTreeSet<&str> = ops.iter().filter_map(|o| o.host.as_deref()).collect();
            let mut specs: Vec<&str> = hosts.iter().copied().take(5).collect();
            if hosts.len() > 5 {
                specs.push("...");
            }
            uncovered_findings.push((
                host.to_string(),
                format!(
                    "{} of this host called {}, but no imported API description covers it (their servers name {}). They are not judged as shadow APIs: import this host's description, or map it to a described one with `--map-host {host}=SERVER` or `[spec.hosts]`.",
                    plural(u.endpoints, "endpoint", "endpoints"),
                    plural(u.requests, "time", "times"),
                    specs.join(", ")
                ),
                format!(
                    "{}, {}",
                    plural(u.endpoints, "endpoint", "endpoints"),
                    plural(u.requests, "request", "requests")
                ),
                u.requests,
                u.first,
                u.last,
            ));
        }
        // A route documented as public answering with and without credentials does what its
        // description says (browsers send their session cookie to public routes too).
        new_findings.retain(|(kind, e, _, _)| {
            kind != "auth_inconsistent" || !documented_public.contains(&e.id)
        });
        // Documented operations nobody called: listed with no requests.
        let default_host = eps
            .iter()
            .filter(|e| e.requests > 0)
            .map(|e| e.host.clone())
            .next();
        for op in ops.iter().filter(|o| !matched_ops.contains(&o.id)) {
            let host = op
                .host
                .clone()
                .or_else(|| default_host.clone())
                .unwrap_or_else(|| "*".into());
            c.query("UPDATE spec_operations SET endpoint_id = NULL WHERE id = ?")
                .bind(op.id)
                .execute()
                .await?;
            let id: i64 = c.query(
                "INSERT INTO endpoints (host, method, path_template, template_rule, example_path, request_count, documented, deprecated, classification)
                 VALUES (?, ?, ?, 'spec', ?, 0, 1, ?, 'dormant')
                 ON CONFLICT (host, method, path_template) DO UPDATE SET documented = 1, deprecated = excluded.deprecated,
                    classification = CASE WHEN endpoints.request_count = 0 THEN 'dormant' ELSE endpoints.classification END
                 RETURNING id",
            )
            .bind(&host)
            .bind(&op.method)
            .bind(&op.path)
            .bind(&op.path)
            .bind(i64::from(op.deprecated))
            .fetch_one()
            .await?
            .get(0);
            c.query("UPDATE spec_operations SET endpoint_id = ? WHERE id = ? AND ? IN (SELECT id FROM endpoints WHERE request_count = 0)")
                .bind(id)
                .bind(op.id)
                .bind(id)
                .execute()
                .await?;
            out.dormant += 1;
        }
    }
    // No finding about an ignored endpoint; no shadow or zombie API, nor auth inconsistency
    // (browsers send their cookies with every file), about static content or a third party.
    new_findings.retain(|(kind, e, _, _)| match scope_of(e.id) {
        Scope::Api => true,
        Scope::Ignored => false,
        Scope::Static | Scope::ThirdParty => !matches!(
            kind.as_str(),
            "shadow_api" | "zombie_api" | "auth_inconsistent"
        ),
    });
    out.findings = new_findings.len() as u64;
    for (kind, e, detail, evidence) in new_findings {
        let key = crate::store::finding_key(&kind, &e.host, &e.method, &e.template, "");
        crate::store::upsert_assessed(
            c,
            &crate::store::AssessedFinding {
                kind: &kind,
                host: Some(&e.host),
                method: Some(&e.method),
                path_template: Some(&e.template),
                client: None,
                detail: &detail,
                evidence: &evidence,
                count: e.requests,
                first_seen: e.first.unwrap_or(0),
                last_seen: e.last.unwrap_or(0),
                key,
            },
        )
        .await?;
    }
    let code = super::code::assess_code(c, &auth, &routed, &scope_of).await?;
    out.findings += uncovered_findings.len() as u64;
    for (host, detail, evidence, requests, first, last) in uncovered_findings {
        let key = crate::store::finding_key("uncovered_host", &host, "", "", "");
        crate::store::upsert_assessed(
            c,
            &crate::store::AssessedFinding {
                kind: "uncovered_host",
                host: Some(&host),
                method: None,
                path_template: None,
                client: None,
                detail: &detail,
                evidence: &evidence,
                count: requests,
                first_seen: if first == i64::MAX { 0 } else { first },
                last_seen: last,
                key,
            },
        )
        .await?;
    }
    out.findings += c
        .query(format!(
            "SELECT COUNT(*) FROM findings WHERE kind IN ({})",
            super::code::CODE_KINDS.map(|k| format!("'{k}'")).join(", ")
        ))
        .fetch_scalar::<i64>()
        .await? as u64;
    out.code = code;
    out.findings_total = c
        .query("SELECT COUNT(*) FROM findings")
        .fetch_scalar::<i64>()
        .await? as u64;
    crate::store::triage::reopen_seen_again(c, crate::time::Timestamp::now().as_nanos()).await?;
    Ok(out)
}

/// What the endpoints of a host no description covers add up to.
#[derive(Default)]
struct Uncovered {
    endpoints: u64,
    requests: i64,
    routed: bool,
    first: i64,
    last: i64,
}

/// Gives observed endpoints the template names of the operation they match when both have
/// parameters at the same places (`/stock/{stock_id}` becomes `/stock/{product_id}`), so the
/// inventory speaks the spec's language and later traffic lands on the same rows.
async fn rename_to_spec(
    c: &mut Conn<'_>,
    eps: &mut [Ep],
    ops: &[Op],
    host_map: &HashMap<String, String>,
) -> Result<(), SpecError> {
    let same_shape = |a: &str, b: &str| openapi::pattern(a) == openapi::pattern(b);
    for i in 0..eps.len() {
        let e = &eps[i];
        if e.requests == 0 || e.template.is_empty() {
            continue;
        }
        let target = ops
            .iter()
            .filter(|o| o.method.eq_ignore_ascii_case(&e.method))
            .filter(|o| {
                o.host
                    .as_ref()
                    .is_none_or(|h| *h == e.host || host_map.get(&e.host).is_some_and(|m| m == h))
            })
            .find(|o| {
                o.path != e.template && same_shape(&o.path, &e.template) && o.path.contains('{')
            });
        let Some(op) = target else { continue };
        // A dormant row for the operation gives way; a row with traffic keeps both.
        let other = eps
            .iter()
            .position(|x| x.host == e.host && x.method == e.method && x.template == op.path);
        if let Some(j) = other {
            if eps[j].requests > 0 {
                continue;
            }
            let dormant = eps[j].id;
            c.query("UPDATE spec_operations SET endpoint_id = NULL WHERE endpoint_id = ?")
                .bind(dormant)
                .execute()
                .await?;
            c.query("DELETE FROM endpoints WHERE id = ?")
                .bind(dormant)
                .execute()
                .await?;
            eps[j].template = String::new();
        }
        let (id, host, method, old) = (
            eps[i].id,
            eps[i].host.clone(),
            eps[i].method.clone(),
            eps[i].template.clone(),
        );
        c.query("UPDATE endpoints SET path_template = ? WHERE id = ?")
            .bind(&op.path)
            .bind(id)
            .execute()
            .await?;
        // Rows the rename would make twins of give way (the renamed row keeps its triage),
        // then the rename.
        for sql in [
            "DELETE FROM findings WHERE dedup_key IN (SELECT kind || '|' || host || '|' || method || '|' || ?1 || '|' || coalesce(client, '')
                FROM findings WHERE host = ?2 AND method = ?3 AND path_template = ?4)",
            "UPDATE findings SET path_template = ?1,
                dedup_key = kind || '|' || host || '|' || method || '|' || ?1 || '|' || coalesce(client, '')
             WHERE host = ?2 AND method = ?3 AND path_template = ?4",
        ] {
            c.query(sql)
                .bind(&op.path)
                .bind(&host)
                .bind(&method)
                .bind(&old)
                .execute()
                .await?;
        }
        // Path parameter rows take the spec's names, position by position.
        let names: Vec<&str> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let old_names: Vec<String> = old
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(String::from)
            .collect();
        for (from, to) in old_names.iter().zip(&names) {
            for sql in [
                "DELETE FROM endpoint_params WHERE endpoint_id = ?2 AND location = 'path' AND name = ?1 AND ?1 <> ?3",
                "UPDATE endpoint_params SET name = ?1 WHERE endpoint_id = ?2 AND location = 'path' AND name = ?3",
            ] {
                c.query(sql).bind(*to).bind(id).bind(from).execute().await?;
            }
        }
        eps[i].template = op.path.clone();
    }
    Ok(())
}

/// Whether an endpoint no operation documents is implied by the operations of its path: HEAD is
/// GET without the body (servers answer it for every GET route), and OPTIONS is answered by the
/// HTTP stack itself (CORS preflight); API descriptions list neither.
fn implied_method(e: &Ep, ops: &[Op], host_ok: &dyn Fn(&Op, &str) -> bool) -> bool {
    let head = e.method.eq_ignore_ascii_case("HEAD");
    if !head && !e.method.eq_ignore_ascii_case("OPTIONS") {
        return false;
    }
    ops.iter().any(|o| {
        (!head || o.method.eq_ignore_ascii_case("GET"))
            && host_ok(o, &e.host)
            && fit(&e.template, &o.path).is_some()
    })
}

/// For `/v1/...` (or `/api/v2/...`), the documented path of a newer version, if any.
fn successor(e: &Ep, ops: &[Op], host_ok: &dyn Fn(&Op, &str) -> bool) -> Option<String> {
    let segs: Vec<&str> = e.template.split('/').collect();
    for (i, s) in segs.iter().enumerate() {
        let Some(n) = s
            .strip_prefix(['v', 'V'])
            .and_then(|d| d.parse::<u32>().ok())
        else {
            continue;
        };
        for newer in n + 1..=n + 5 {
            let mut candidate = segs.clone();
            let v = format!("v{newer}");
            candidate[i] = &v;
            let path = candidate.join("/");
            if let Some(op) = ops.iter().find(|o| {
                o.method.eq_ignore_ascii_case(&e.method)
                    && host_ok(o, &e.host)
                    && fit(&path, &o.path).is_some()
            }) {
                return Some(op.path.clone());
            }
        }
    }
    None
}

/// Records what the endpoint did that its operation does not document; returns the count.
async fn drift(
    c: &mut Conn<'_>,
    e: &Ep,
    op: &Op,
    auth: Option<&BTreeMap<String, (i64, i64)>>,
) -> Result<u64, SpecError> {
    let mut items: Vec<(&str, String, String)> = Vec::new();
    for r in c
        .query("SELECT name FROM endpoint_params WHERE endpoint_id = ? AND location = 'query'")
        .bind(e.id)
        .fetch_all()
        .await?
    {
        let name: String = r.get(0);
        if !op.query.contains(&name) {
            items.push((
                "undocumented_query_param",
                name.clone(),
                format!("query parameter `{name}` is not in the API description"),
            ));
        }
    }
    let documented_status = |code: i64| -> bool {
        let c = code.to_string();
        op.statuses.contains(&c)
            || op.statuses.contains(&format!("{}XX", &c[..1]))
            || op.statuses.contains("default")
    };
    for r in c
        .query("SELECT status, count FROM endpoint_status WHERE endpoint_id = ? AND status > 0")
        .bind(e.id)
        .fetch_all()
        .await?
    {
        let (code, n): (i64, i64) = (r.get(0), r.get(1));
        if !documented_status(code) {
            items.push((
                "undocumented_status",
                code.to_string(),
                format!(
                    "answered {code} ({n} time(s)), a status the API description does not list"
                ),
            ));
        }
    }
    for r in c.query("SELECT DISTINCT direction, content_type, schema FROM endpoint_bodies WHERE endpoint_id = ?").bind(e.id).fetch_all().await? {
        let (dir, ct, schema): (String, String, Option<String>) = (r.get(0), r.get(1), r.get(2));
        let documented = if dir == "request" { &op.request_types } else { &op.response_types };
        if !ct.is_empty() && !documented.is_empty() && !documented.contains(&ct) && !documented.iter().any(|d| d == "*/*" || d.ends_with("/*") && ct.starts_with(d.trim_end_matches('*'))) {
            items.push(("undocumented_content_type", format!("{dir} {ct}"), format!("{dir} body of type {ct} is not in the API description")));
        }
        if dir == "request" && !op.body_fields.is_empty() {
            let observed: Vec<String> = schema
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|v| v.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()))
                .unwrap_or_default();
            for f in observed {
                if !op.body_fields.contains(&f) {
                    items.push(("undocumented_body_field", f.clone(), format!("request body field `{f}` is not in the API description")));
                }
            }
        }
    }
    if !op.security_types.is_empty()
        && let Some(none) = auth.and_then(|a| a.get("none")).filter(|x| x.1 > 0)
    {
        items.push((
            "missing_security",
            "none".into(),
            format!(
                "answered 2xx {} time(s) without the credentials the description requires",
                none.1
            ),
        ));
    }
    let n = items.len() as u64;
    for (kind, item, detail) in items {
        let d = c.dialect();
        c.query(format!(
            "{} drift (endpoint_id, kind, item, detail) VALUES (?, ?, ?, ?){}",
            d.insert_or_ignore(),
            d.or_ignore_end()
        ))
        .bind(e.id)
        .bind(kind)
        .bind(item)
        .bind(detail)
        .execute()
        .await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    const SPEC: &str = r#"
openapi: 3.0.3
info: {title: Shop, version: '1'}
servers: [{url: 'http://api.shop.test'}]
security: [{bearerAuth: []}]
components: {securitySchemes: {bearerAuth: {type: http, scheme: bearer, bearerFormat: JWT}}}
paths:
  /products:
    get: {security: [], responses: {'200': {description: ok}}}
  /catalog/{item_id}:
    get: {security: [{}, {bearerAuth: []}], responses: {'200': {description: ok}}}
  /orders/{order_id}:
    get: {responses: {'200': {description: ok}}}
  /search:
    get: {deprecated: true, security: [], responses: {'200': {description: ok}}}
"#;

    /// An observed endpoint of `api.shop.test`: (status, count) and (auth scheme, requests, 2xx).
    async fn observed(
        store: &Store,
        method: &str,
        template: &str,
        statuses: &[(i64, i64)],
        auth: &[(&str, i64, i64)],
    ) {
        let id: i64 = sqlx::query(
            "INSERT INTO endpoints (host, method, path_template, first_seen, last_seen, request_count)
             VALUES ('api.shop.test', ?, ?, 1, 2, ?) RETURNING id",
        )
        .bind(method)
        .bind(template)
        .bind(statuses.iter().map(|s| s.1).sum::<i64>())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
        for (status, count) in statuses {
            sqlx::query(
                "INSERT INTO endpoint_status (endpoint_id, status, count) VALUES (?, ?, ?)",
            )
            .bind(id)
            .bind(status)
            .bind(count)
            .execute(store.pool())
            .await
            .unwrap();
        }
        for (scheme, count, ok) in auth {
            sqlx::query("INSERT INTO endpoint_auth (endpoint_id, scheme, location, count, ok_count) VALUES (?, ?, '', ?, ?)")
                .bind(id)
                .bind(scheme)
                .bind(count)
                .bind(ok)
                .execute(store.pool())
                .await
                .unwrap();
        }
    }

    /// (kind, "METHOD template") of every endpoint-level finding, sorted.
    async fn findings(store: &Store) -> Vec<(String, String)> {
        sqlx::query("SELECT kind, method || ' ' || path_template FROM findings ORDER BY 1, 2")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    async fn class(store: &Store, method: &str, template: &str) -> Option<String> {
        sqlx::query_scalar(
            "SELECT classification FROM endpoints WHERE method = ? AND path_template = ?",
        )
        .bind(method)
        .bind(template)
        .fetch_one(store.pool())
        .await
        .unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn routes_the_server_does_not_serve_are_not_shadow_or_zombie_apis() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).await.unwrap();
        observed(
            &store,
            "DELETE",
            "/products",
            &[(405, 2)],
            &[("none", 2, 0)],
        )
        .await;
        observed(&store, "GET", "/search", &[(410, 3)], &[("none", 3, 0)]).await;
        observed(&store, "PATCH", "/admin", &[(501, 1)], &[("none", 1, 0)]).await;
        observed(
            &store,
            "GET",
            "/internal",
            &[(200, 1)],
            &[("bearer_jwt", 1, 1)],
        )
        .await;
        import(&store, "shop.yaml", SPEC.as_bytes()).await.unwrap();
        assert_eq!(
            findings(&store).await,
            pairs(&[("shadow_api", "GET /internal")])
        );
    }

    /// An observed endpoint of `api.shop.test` answered `statuses`, called by `clients`
    /// (address, requests).
    async fn called_by(
        store: &Store,
        method: &str,
        template: &str,
        statuses: &[(i64, i64)],
        clients: &[(&str, i64)],
    ) {
        observed(store, method, template, statuses, &[("none", 1, 0)]).await;
        for (client, n) in clients {
            sqlx::query(
                "INSERT INTO endpoint_clients (endpoint_id, client, count, first_seen, last_seen)
                 SELECT id, ?, ?, 10, 20 FROM endpoints WHERE method = ? AND path_template = ?",
            )
            .bind(client)
            .bind(n)
            .bind(method)
            .bind(template)
            .execute(store.pool())
            .await
            .unwrap();
        }
        sqlx::query(
            "UPDATE endpoints SET client_estimate = ? WHERE method = ? AND path_template = ?",
        )
        .bind(clients.len() as i64)
        .bind(method)
        .bind(template)
        .execute(store.pool())
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn scanner_probes_are_not_shadow_apis_their_clients_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).await.unwrap();
        let scanner = "10.0.0.66";
        called_by(&store, "GET", "/.env", &[(404, 1)], &[(scanner, 1)]).await;
        called_by(&store, "GET", "/.git/config", &[(403, 1)], &[(scanner, 1)]).await;
        called_by(&store, "GET", "/actuator/env", &[(403, 2)], &[(scanner, 2)]).await;
        called_by(&store, "POST", "/phpmyadmin/", &[(0, 1)], &[(scanner, 1)]).await;
        // One probe only: not a probing client, still not a shadow API.
        called_by(
            &store,
            "GET",
            "/wp-login.php",
            &[(403, 1)],
            &[("10.0.0.67", 1)],
        )
        .await;
        // Served, or called by three clients, or tried again and again: not probes.
        called_by(
            &store,
            "GET",
            "/internal",
            &[(200, 1), (403, 1)],
            &[(scanner, 2)],
        )
        .await;
        called_by(
            &store,
            "GET",
            "/legacy",
            &[(403, 3)],
            &[("10.0.0.2", 1), ("10.0.0.3", 1), ("10.0.0.4", 1)],
        )
        .await;
        called_by(&store, "GET", "/admin", &[(403, 3)], &[("10.0.0.5", 3)]).await;
        // A route that crashed exists; a refused credential is an authorization failure.
        called_by(&store, "GET", "/crash", &[(500, 1)], &[(scanner, 1)]).await;
        called_by(&store, "GET", "/vault", &[(401, 1)], &[(scanner, 1)]).await;
        sqlx::query("UPDATE endpoint_auth SET scheme = 'bearer_jwt' WHERE endpoint_id = (SELECT id FROM endpoints WHERE path_template = '/vault')")
            .execute(store.pool())
            .await
            .unwrap();
        // Without a description: the probing client is reported, nothing is classified.
        let a = assess(&store).await.unwrap();
        assert_eq!((a.probes, a.probing_clients), (0, 1));
        assert_eq!(class(&store, "GET", "/.env").await, None);
        import(&store, "shop.yaml", SPEC.as_bytes()).await.unwrap();
        let a = assess(&store).await.unwrap();
        assert_eq!((a.probes, a.probing_clients, a.shadow), (5, 1, 5));
        for (m, t) in [
            ("GET", "/.env"),
            ("GET", "/.git/config"),
            ("GET", "/actuator/env"),
            ("POST", "/phpmyadmin/"),
            ("GET", "/wp-login.php"),
        ] {
            assert_eq!(
                class(&store, m, t).await.as_deref(),
                Some("probe"),
                "{m} {t}"
            );
        }
        for (m, t) in [
            ("GET", "/internal"),
            ("GET", "/legacy"),
            ("GET", "/admin"),
            ("GET", "/crash"),
            ("GET", "/vault"),
        ] {
            assert_eq!(
                class(&store, m, t).await.as_deref(),
                Some("shadow"),
                "{m} {t}"
            );
        }
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            i64,
        );
        let rows: Vec<Row> =
            sqlx::query(
                "SELECT kind, host, path_template, client, detail, evidence, count FROM findings ORDER BY kind, path_template",
            )
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
            .collect();
        let kinds: Vec<(&str, Option<&str>)> = rows
            .iter()
            .map(|r| (r.0.as_str(), r.2.as_deref().or(r.3.as_deref())))
            .collect();
        assert_eq!(
            kinds,
            [
                ("scanner_probe", Some(scanner)),
                ("shadow_api", Some("/admin")),
                ("shadow_api", Some("/crash")),
                ("shadow_api", Some("/internal")),
                ("shadow_api", Some("/legacy")),
                ("shadow_api", Some("/vault")),
            ]
        );
        let probe = &rows[0];
        assert_eq!(probe.1.as_deref(), Some("api.shop.test"));
        assert_eq!(probe.6, 5, "five probing requests");
        assert_eq!(
            probe.5,
            "4 probed paths: GET /.env, GET /.git/config, GET /actuator/env, POST /phpmyadmin/"
        );
        assert!(
            probe.4.contains("403 ×3, 404 ×1, no answer ×1"),
            "{}",
            probe.4
        );
        // Replaced, not duplicated, at the next assessment.
        assess(&store).await.unwrap();
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE kind = 'scanner_probe'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn a_probe_list_is_bounded_and_sanitised() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).await.unwrap();
        for i in 0..25 {
            called_by(
                &store,
                "GET",
                &format!("/probe{i:02}\u{1b}[31m"),
                &[(404, 1)],
                &[("10.0.0.9", 1)],
            )
            .await;
        }
        assess(&store).await.unwrap();
        let evidence: String =
            sqlx::query_scalar("SELECT evidence FROM findings WHERE kind = 'scanner_probe'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert!(
            evidence.starts_with("25 probed paths: GET /probe00?[31m, "),
            "{evidence}"
        );
        assert!(evidence.ends_with(", and 15 more"), "{evidence}");
        assert!(!evidence.contains('\u{1b}'));
    }

    #[tokio::test]
    async fn head_and_options_on_documented_paths_are_documented() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).await.unwrap();
        observed(&store, "HEAD", "/products", &[(200, 2)], &[("none", 2, 2)]).await;
        observed(
            &store,
            "OPTIONS",
            "/orders/{order_id}",
            &[(204, 4)],
            &[("none", 4, 4)],
        )
        .await;
        observed(
            &store,
            "OPTIONS",
            "/nowhere",
            &[(204, 1)],
            &[("none", 1, 1)],
        )
        .await;
        observed(
            &store,
            "HEAD",
            "/orders/{id}/items",
            &[(200, 1)],
            &[("none", 1, 1)],
        )
        .await;
        import(&store, "shop.yaml", SPEC.as_bytes()).await.unwrap();
        assert_eq!(
            class(&store, "HEAD", "/products").await.as_deref(),
            Some("documented")
        );
        assert_eq!(
            class(&store, "OPTIONS", "/orders/{order_id}")
                .await
                .as_deref(),
            Some("documented")
        );
        assert_eq!(
            findings(&store).await,
            pairs(&[
                ("shadow_api", "HEAD /orders/{id}/items"),
                ("shadow_api", "OPTIONS /nowhere"),
            ])
        );
    }

    #[tokio::test]
    async fn auth_inconsistent_is_not_raised_on_routes_documented_as_public() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).await.unwrap();
        let mixed: &[(&str, i64, i64)] = &[("none", 2, 2), ("cookie", 1, 1)];
        observed(&store, "GET", "/products", &[(200, 3)], mixed).await;
        observed(&store, "GET", "/catalog/{item_id}", &[(200, 3)], mixed).await;
        observed(&store, "GET", "/orders/{order_id}", &[(200, 3)], mixed).await;
        // Without a description every mixed endpoint is inconsistent.
        assess(&store).await.unwrap();
        assert_eq!(findings(&store).await.len(), 3);
        import(&store, "shop.yaml", SPEC.as_bytes()).await.unwrap();
        assert_eq!(
            findings(&store).await,
            pairs(&[
                ("auth_inconsistent", "GET /orders/{order_id}"),
                ("unauthenticated_endpoint", "GET /orders/{order_id}"),
            ])
        );
    }
}
