//! The centre's side of the delta path: `shadowtap central --db postgres://...` applies the
//! deltas sensors put in `deltas`, in `seq` order per sensor, each in one PostgreSQL
//! transaction that merges it as `Store::merge` merges a flush into SQLite and records it in
//! `delta_applied` (so a killed centre resumes at the first unapplied delta, and nothing is
//! counted twice). One writer: every apply holds a transaction-level advisory lock.
//!
//! The merge is `store::write`'s, in PostgreSQL's dialect: the same upserts (counts add,
//! first seen the least, last seen the greatest, histograms and sketches merged, body shapes
//! and query shapes merged by the same functions), with the columns qualified by their
//! table (PostgreSQL finds `count` ambiguous between the row and `excluded`), `LEAST` and
//! `GREATEST` for SQLite's scalar `min` and `max`, `$n` placeholders and typed NULLs. The
//! differences from the SQLite merge are the caps: the centre keeps every endpoint and
//! every transition and path (no `max_endpoints` eviction, no trimming), and keeps client rows
//! up to the same per-endpoint cap without evicting one-time clients.
//!
//! Hostile input: a delta is the sensor's word. One that cannot be decoded, is over the size
//! bounds, was hashed with another key, or that PostgreSQL refuses (a NUL byte in a text, a
//! value out of range) is parked: recorded in `delta_applied` with the reason and counted,
//! never retried, never a panic.

use super::FleetError;
use super::wire::{Delta, Endpoint, Key};
use crate::analyze::form::merge_form;
use crate::analyze::hll::Hll;
use crate::store::{
    finding_severity, hist_bytes, hist_from, merged_body_shape, quantile_ms, query_param_rows,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};
use std::collections::HashMap;

/// Client rows kept per endpoint (as `StoreLimits::max_clients_per_endpoint`).
const MAX_CLIENTS_PER_ENDPOINT: i64 = 1000;
/// Deltas read per round.
const ROUND: i64 = 32;

/// What applying did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    /// Deltas merged.
    pub applied: u64,
    /// Deltas refused and parked (reason in `delta_applied.outcome`).
    pub parked: u64,
    /// Of them, hashed with another key.
    pub wrong_key: u64,
    /// Rows written by the merges (endpoints, detail rows, transitions, paths).
    pub rows: u64,
    /// Client rows not stored at the per-endpoint cap.
    pub clients_dropped: u64,
}

/// Opens the central database and brings its schema up to date (`migrations/postgres/`).
pub async fn open(url: &str) -> Result<PgPool, FleetError> {
    let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// Applies every unapplied delta, oldest first per sensor. `key_fingerprint` is the centre's
/// own ([`super::wire::key_fingerprint`] of the fleet's key): deltas of another are parked.
pub async fn apply_pending(
    pool: &PgPool,
    key_fingerprint: &str,
) -> Result<ApplyReport, FleetError> {
    let mut report = ApplyReport::default();
    loop {
        let rows = sqlx::query(
            "SELECT d.sensor, d.seq FROM deltas d
             WHERE NOT EXISTS (SELECT 1 FROM delta_applied a WHERE a.sensor = d.sensor AND a.seq = d.seq)
             ORDER BY d.seq, d.sensor LIMIT $1",
        )
        .bind(ROUND)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(report);
        }
        for r in rows {
            let (sensor, seq): (String, i64) = (r.get(0), r.get(1));
            apply_one(pool, &sensor, seq, key_fingerprint, &mut report).await?;
        }
    }
}

/// Applies one delta in its own transaction; parks it when it is refused.
async fn apply_one(
    pool: &PgPool,
    sensor: &str,
    seq: i64,
    key_fingerprint: &str,
    report: &mut ApplyReport,
) -> Result<(), FleetError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(18)")
        .execute(&mut *tx)
        .await?;
    let payload: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT d.payload FROM deltas d WHERE d.sensor = $1 AND d.seq = $2
         AND NOT EXISTS (SELECT 1 FROM delta_applied a WHERE a.sensor = d.sensor AND a.seq = d.seq)",
    )
    .bind(sensor)
    .bind(seq)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(payload) = payload else {
        // Applied by another writer meanwhile.
        return Ok(());
    };
    let refusal = match Delta::decode(&payload) {
        Err(e) => Some(e.to_string()),
        Ok(d) if d.key_fingerprint != key_fingerprint => {
            report.wrong_key += 1;
            Some(format!(
                "hash key fingerprint {} is not the centre's {key_fingerprint}",
                d.key_fingerprint
            ))
        }
        Ok(d) => {
            let mut merged = ApplyReport::default();
            match merge(&mut tx, sensor, &d, &mut merged).await {
                Ok(()) => {
                    mark(&mut tx, sensor, seq, "applied", merged.rows).await?;
                    tx.commit().await?;
                    report.applied += 1;
                    report.rows += merged.rows;
                    report.clients_dropped += merged.clients_dropped;
                    return Ok(());
                }
                // What the database refuses in this delta's data is the delta's fault.
                Err(sqlx::Error::Database(e)) => Some(format!("refused by the database: {e}")),
                // What the merge found unreadable in the delta (see `corrupt`).
                Err(sqlx::Error::Protocol(m)) if m.starts_with(CORRUPT) => Some(m),
                Err(e) => return Err(e.into()),
            }
        }
    };
    drop(tx);
    let reason = refusal.unwrap_or_default();
    tracing::warn!(sensor, seq, reason = %reason, "delta parked");
    let mut tx = pool.begin().await?;
    let outcome: String = format!("parked: {reason}").chars().take(500).collect();
    mark(&mut tx, sensor, seq, &outcome, 0).await?;
    tx.commit().await?;
    report.parked += 1;
    Ok(())
}

async fn mark(
    tx: &mut Transaction<'_, Postgres>,
    sensor: &str,
    seq: i64,
    outcome: &str,
    rows: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO delta_applied (sensor, seq, applied_at, outcome, rows) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sensor, seq) DO NOTHING",
    )
    .bind(sensor)
    .bind(seq)
    .bind(crate::time::Timestamp::now().as_nanos())
    .bind(outcome)
    .bind(rows as i64)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A value bound into a batched statement (PostgreSQL wants typed NULLs).
enum P {
    I(i64),
    NI,
    T(String),
    NT,
    B(Vec<u8>),
}

fn int(v: u64) -> P {
    P::I(i64::try_from(v).unwrap_or(i64::MAX))
}

fn opt_text(v: Option<&str>) -> P {
    v.map_or(P::NT, |s| P::T(s.to_string()))
}

/// `INSERT INTO <target> VALUES (...), (...) <conflict>` in chunks.
async fn upsert(
    tx: &mut Transaction<'_, Postgres>,
    target: &str,
    conflict: &str,
    rows: Vec<Vec<P>>,
) -> Result<u64, sqlx::Error> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(0);
    };
    let n = rows.len() as u64;
    for chunk in rows.chunks((4000 / width.max(1)).max(1)) {
        let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO {target} "));
        q.push_values(chunk, |mut b, row| {
            for v in row {
                match v {
                    P::I(i) => b.push_bind(*i),
                    P::NI => b.push_bind(None::<i64>),
                    P::T(t) => b.push_bind(t.as_str()),
                    P::NT => b.push_bind(None::<String>),
                    P::B(x) => b.push_bind(x.as_slice()),
                };
            }
        });
        q.push(" ");
        q.push(conflict);
        q.build().execute(&mut **tx).await?;
    }
    Ok(n)
}

/// Merges one delta of `sensor` (the transaction is the caller's).
async fn merge(
    tx: &mut Transaction<'_, Postgres>,
    sensor: &str,
    d: &Delta,
    report: &mut ApplyReport,
) -> Result<(), sqlx::Error> {
    let mut ids: HashMap<Key, i64> = HashMap::new();
    let mut seen_by = Vec::new();
    for e in &d.endpoints {
        let id = merge_endpoint(tx, e, report).await?;
        ids.insert(
            Key {
                host: e.host.clone(),
                method: e.method.clone(),
                template: e.template.clone(),
            },
            id,
        );
        if e.requests > 0 {
            seen_by.push(vec![
                P::I(id),
                P::T(sensor.to_string()),
                int(e.requests),
                P::I(e.first_seen),
                P::I(e.last_seen),
            ]);
        }
    }
    // Attribution: which sensors saw each endpoint (`api_endpoint_sensors`).
    report.rows += upsert(
        tx,
        "endpoint_sensors (endpoint_id, sensor, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, sensor) DO UPDATE SET count = endpoint_sensors.count + excluded.count,
            first_seen = LEAST(endpoint_sensors.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_sensors.last_seen, excluded.last_seen)",
        seen_by,
    )
    .await?;
    merge_sequences(tx, d, &mut ids, report).await
}

/// Prefix of the errors [`corrupt`] makes.
const CORRUPT: &str = "unreadable in the delta: ";

/// A value of the delta the merge cannot read: the delta is parked.
fn corrupt(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("{CORRUPT}{what}"))
}

async fn merge_endpoint(
    tx: &mut Transaction<'_, Postgres>,
    e: &Endpoint,
    report: &mut ApplyReport,
) -> Result<i64, sqlx::Error> {
    let existing = sqlx::query(
        "SELECT id, latency_hist, clients_hll, query_shape, clients_capped FROM endpoints
         WHERE host = $1 AND method = $2 AND path_template = $3",
    )
    .bind(&e.host)
    .bind(&e.method)
    .bind(&e.template)
    .fetch_optional(&mut **tx)
    .await?;
    let (id, hist, hll, query, mut capped) = match existing {
        Some(r) => {
            let id: i64 = r.get(0);
            if !e.explain.is_empty() && !e.rule.is_empty() {
                sqlx::query(
                    "UPDATE endpoints SET template_rule = $1, template_confidence = $2, template_explain = $3
                     WHERE id = $4 AND coalesce(documented, 0) = 0",
                )
                .bind(&e.rule)
                .bind(f64::from(e.confidence))
                .bind(&e.explain)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            }
            let hist = hist_from(r.get::<Option<Vec<u8>>, _>(1))
                .map_err(|_| corrupt("stored latency histogram"))?;
            let hll = r
                .get::<Option<Vec<u8>>, _>(2)
                .map(|b| Hll::from_bytes(&b))
                .unwrap_or_default();
            let query: crate::analyze::form::FormShape = r
                .get::<Option<String>, _>(3)
                .and_then(|q| serde_json::from_str(&q).ok())
                .unwrap_or_default();
            (id, hist, hll, query, r.get::<i64, _>(4) != 0)
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO endpoints (host, method, path_template, template_rule, template_confidence, template_explain, example_path, first_seen, last_seen)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&e.host)
            .bind(&e.method)
            .bind(&e.template)
            .bind(&e.rule)
            .bind(f64::from(e.confidence))
            .bind(if e.explain.is_empty() { "[]" } else { e.explain.as_str() })
            .bind(&e.example_path)
            .bind(e.first_seen)
            .bind(e.last_seen)
            .fetch_one(&mut **tx)
            .await?;
            (
                id,
                crate::analyze::inventory::new_latency_histogram(),
                Hll::default(),
                Default::default(),
                false,
            )
        }
    };
    report.rows += 1;
    let mut hist = hist;
    if !e.latency.is_empty() {
        if !super::wire::plain_v2_histogram(&e.latency) {
            return Err(corrupt("latency histogram"));
        }
        let h = hist_from(Some(e.latency.clone())).map_err(|_| corrupt("latency histogram"))?;
        hist.add(&h).map_err(|_| corrupt("latency histogram"))?;
    }
    let mut hll = hll;
    hll.merge(&Hll::from_bytes(&e.clients_hll));
    let query = merge_form(&query, &e.query);

    // Clients up to the cap: known ones updated, new ones added while there is room.
    let known: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT client FROM endpoint_clients WHERE endpoint_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
    let mut room = MAX_CLIENTS_PER_ENDPOINT - known.len() as i64;
    let mut rows = Vec::new();
    for c in &e.clients {
        if !known.contains(&c.ip) {
            if room <= 0 {
                capped = true;
                report.clients_dropped += 1;
                continue;
            }
            room -= 1;
        }
        rows.push(vec![
            P::I(id),
            P::T(c.ip.clone()),
            int(c.count),
            P::I(c.first_seen),
            P::I(c.last_seen),
        ]);
    }
    report.rows += upsert(
        tx,
        "endpoint_clients (endpoint_id, client, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, client) DO UPDATE SET count = endpoint_clients.count + excluded.count,
            first_seen = LEAST(endpoint_clients.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_clients.last_seen, excluded.last_seen)",
        rows,
    )
    .await?;
    capped |= e.clients_over_cap;

    sqlx::query(
        "UPDATE endpoints SET
            first_seen = LEAST(first_seen, $1), last_seen = GREATEST(last_seen, $2),
            request_count = request_count + $3, response_count = response_count + $4, error_count = error_count + $5,
            bytes_in = bytes_in + $6, bytes_out = bytes_out + $7,
            clients_hll = $8, clients_capped = $9, client_estimate = $10,
            latency_hist = $11, p50_ms = $12, p90_ms = $13, p99_ms = $14, query_shape = $15
         WHERE id = $16",
    )
    .bind(e.first_seen)
    .bind(e.last_seen)
    .bind(i64::try_from(e.requests).unwrap_or(i64::MAX))
    .bind(i64::try_from(e.responses).unwrap_or(i64::MAX))
    .bind(i64::try_from(e.errors).unwrap_or(i64::MAX))
    .bind(i64::try_from(e.bytes_in).unwrap_or(i64::MAX))
    .bind(i64::try_from(e.bytes_out).unwrap_or(i64::MAX))
    .bind(hll.to_bytes())
    .bind(i64::from(capped))
    .bind(hll.estimate() as i64)
    .bind(hist_bytes(&hist).map_err(|_| corrupt("latency histogram"))?)
    .bind(quantile_ms(&hist, 0.5))
    .bind(quantile_ms(&hist, 0.9))
    .bind(quantile_ms(&hist, 0.99))
    .bind(serde_json::to_string(&query).ok())
    .bind(id)
    .execute(&mut **tx)
    .await?;

    report.rows += upsert(
        tx,
        "endpoint_status (endpoint_id, status, count)",
        "ON CONFLICT (endpoint_id, status) DO UPDATE SET count = endpoint_status.count + excluded.count",
        e.status
            .iter()
            .map(|(s, n)| vec![P::I(id), P::I(i64::from(*s)), int(*n)])
            .collect(),
    )
    .await?;

    let (first, last) = (e.first_seen, e.last_seen);
    report.rows += upsert(
        tx,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, location, name) DO UPDATE SET present = endpoint_params.present + excluded.present,
            first_seen = LEAST(endpoint_params.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_params.last_seen, excluded.last_seen)",
        e.path_params
            .iter()
            .map(|(name, kind)| {
                vec![
                    P::I(id),
                    P::T("path".into()),
                    P::T(name.clone()),
                    P::T(kind.clone()),
                    int(e.requests),
                    P::I(first),
                    P::I(last),
                ]
            })
            .collect(),
    )
    .await?;
    // Query parameters, rewritten from the merged shape with their times carried over.
    let times: HashMap<String, (Option<i64>, Option<i64>)> = sqlx::query(
        "SELECT name, first_seen, last_seen FROM endpoint_params WHERE endpoint_id = $1 AND location = 'query'",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| (r.get(0), (r.get(1), r.get(2))))
    .collect();
    let names: Vec<String> = query.fields.keys().cloned().collect();
    sqlx::query(
        "DELETE FROM endpoint_params WHERE endpoint_id = $1 AND location = 'query' AND NOT (name = ANY($2))",
    )
    .bind(id)
    .bind(&names)
    .execute(&mut **tx)
    .await?;
    let opt = |v: Option<i64>| v.map_or(P::NI, P::I);
    report.rows += upsert(
        tx,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, location, name) DO UPDATE SET types = excluded.types,
            present = excluded.present, first_seen = excluded.first_seen, last_seen = excluded.last_seen",
        query_param_rows(&query, &e.query, &times, first, last)
            .into_iter()
            .map(|p| {
                vec![
                    P::I(id),
                    P::T("query".into()),
                    P::T(p.name),
                    P::T(p.types),
                    P::I(p.present),
                    opt(p.first_seen),
                    opt(p.last_seen),
                ]
            })
            .collect(),
    )
    .await?;

    for b in &e.bodies {
        let prev = sqlx::query(
            "SELECT shape, count, samples FROM endpoint_bodies
             WHERE endpoint_id = $1 AND direction = $2 AND status = $3 AND content_type = $4",
        )
        .bind(id)
        .bind(&b.direction)
        .bind(i64::from(b.status))
        .bind(&b.content_type)
        .fetch_optional(&mut **tx)
        .await?;
        let (prev_shape, count, samples) = match prev {
            Some(r) => (
                r.get::<Option<String>, _>(0),
                r.get::<i64, _>(1),
                r.get::<i64, _>(2),
            ),
            None => (None, 0, 0),
        };
        let count = count.saturating_add(i64::try_from(b.count).unwrap_or(i64::MAX));
        let samples = samples.saturating_add(i64::try_from(b.samples).unwrap_or(i64::MAX));
        let (shape_json, schema) = merged_body_shape(
            prev_shape.as_deref(),
            b.json.as_ref(),
            b.form.as_ref(),
            samples as u64,
        );
        report.rows += upsert(
            tx,
            "endpoint_bodies (endpoint_id, direction, status, content_type, count, samples, shape, schema)",
            "ON CONFLICT (endpoint_id, direction, status, content_type) DO UPDATE SET count = excluded.count,
                samples = excluded.samples, shape = excluded.shape, schema = excluded.schema",
            vec![vec![
                P::I(id),
                P::T(b.direction.clone()),
                P::I(i64::from(b.status)),
                P::T(b.content_type.clone()),
                P::I(count),
                P::I(samples),
                opt_text(shape_json.as_deref()),
                opt_text(schema.as_deref()),
            ]],
        )
        .await?;
    }

    report.rows += upsert(
        tx,
        "endpoint_auth (endpoint_id, scheme, location, count, ok_count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, scheme, location) DO UPDATE SET count = endpoint_auth.count + excluded.count,
            ok_count = endpoint_auth.ok_count + excluded.ok_count,
            first_seen = LEAST(endpoint_auth.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_auth.last_seen, excluded.last_seen)",
        e.auth
            .iter()
            .map(|a| {
                vec![
                    P::I(id),
                    P::T(a.scheme.clone()),
                    P::T(a.location.clone()),
                    int(a.count),
                    int(a.ok),
                    P::I(first),
                    P::I(last),
                ]
            })
            .collect(),
    )
    .await?;

    report.rows += upsert(
        tx,
        "endpoint_sensitive (endpoint_id, class, location, field, count, example, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, class, location, field) DO UPDATE SET
            count = endpoint_sensitive.count + excluded.count,
            first_seen = LEAST(endpoint_sensitive.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_sensitive.last_seen, excluded.last_seen)",
        e.sensitive
            .iter()
            .map(|s| {
                vec![
                    P::I(id),
                    P::T(s.class.clone()),
                    P::T(s.location.clone()),
                    P::T(s.field.clone()),
                    int(s.count),
                    P::T(s.example.clone()),
                    P::I(s.first_seen),
                    P::I(s.last_seen),
                ]
            })
            .collect(),
    )
    .await?;

    // Findings, with the endpoint's scope as in the SQLite merge.
    let scope: String = if e.findings.is_empty() {
        String::new()
    } else {
        sqlx::query_scalar("SELECT scope FROM endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_default()
    };
    report.rows += upsert(
        tx,
        "findings (kind, severity, host, method, path_template, client, detail, evidence, count, first_seen, last_seen, dedup_key)",
        "ON CONFLICT (dedup_key) DO UPDATE SET count = findings.count + excluded.count,
            first_seen = LEAST(findings.first_seen, excluded.first_seen),
            last_seen = GREATEST(findings.last_seen, excluded.last_seen),
            detail = excluded.detail, evidence = excluded.evidence",
        e.findings
            .iter()
            .filter(|_| scope != "ignored")
            .map(|f| {
                let client = f.client.clone().unwrap_or_default();
                let severity = finding_severity(&f.kind, &scope);
                vec![
                    P::T(f.kind.clone()),
                    P::T(severity.name().into()),
                    P::T(e.host.clone()),
                    P::T(e.method.clone()),
                    P::T(e.template.clone()),
                    opt_text(Some(client.as_str()).filter(|c| !c.is_empty())),
                    P::T(f.detail.clone()),
                    P::T(f.evidence.clone()),
                    int(f.count),
                    P::I(f.first_seen),
                    P::I(f.last_seen),
                    P::T(crate::store::finding_key(
                        &f.kind,
                        &e.host,
                        &e.method,
                        &e.template,
                        &client,
                    )),
                ]
            })
            .collect(),
    )
    .await?;

    report.rows += upsert(
        tx,
        "endpoint_minutes (endpoint_id, minute, count, errors)",
        "ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = endpoint_minutes.count + excluded.count,
            errors = endpoint_minutes.errors + excluded.errors",
        e.minutes
            .iter()
            .map(|(m, n, x)| vec![P::I(id), P::I(*m), int(*n), int(*x)])
            .collect(),
    )
    .await?;
    report.rows += upsert(
        tx,
        "endpoint_sources (endpoint_id, source, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, source) DO UPDATE SET count = endpoint_sources.count + excluded.count,
            first_seen = LEAST(endpoint_sources.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_sources.last_seen, excluded.last_seen)",
        e.sources
            .iter()
            .map(|s| {
                vec![
                    P::I(id),
                    P::T(s.source.clone()),
                    int(s.count),
                    P::I(s.first_seen),
                    P::I(s.last_seen),
                ]
            })
            .collect(),
    )
    .await?;
    sqlx::query(
        "UPDATE endpoints SET
            protocol = CASE WHEN protocol IN ('grpc', 'graphql', 'websocket')
                             AND $1 NOT IN ('grpc', 'graphql', 'websocket') THEN protocol ELSE $1 END,
            grpc_service = coalesce($2, grpc_service), grpc_method = coalesce($3, grpc_method)
         WHERE id = $4",
    )
    .bind(&e.protocol)
    .bind(e.grpc.as_ref().map(|g| g.0.as_str()))
    .bind(e.grpc.as_ref().map(|g| g.1.as_str()))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

async fn endpoint_id(
    tx: &mut Transaction<'_, Postgres>,
    ids: &mut HashMap<Key, i64>,
    key: &Key,
) -> Result<Option<i64>, sqlx::Error> {
    if let Some(id) = ids.get(key) {
        return Ok(Some(*id));
    }
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM endpoints WHERE host = $1 AND method = $2 AND path_template = $3",
    )
    .bind(&key.host)
    .bind(&key.method)
    .bind(&key.template)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        ids.insert(key.clone(), id);
    }
    Ok(id)
}

/// Transitions and paths: counts add up, principal sketches merge.
async fn merge_sequences(
    tx: &mut Transaction<'_, Postgres>,
    d: &Delta,
    ids: &mut HashMap<Key, i64>,
    report: &mut ApplyReport,
) -> Result<(), sqlx::Error> {
    let mut rows = Vec::with_capacity(d.transitions.len());
    for t in &d.transitions {
        let (Some(f), Some(g)) = (
            endpoint_id(tx, ids, &t.from).await?,
            endpoint_id(tx, ids, &t.to).await?,
        ) else {
            continue;
        };
        let prev: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT clients_hll FROM transitions WHERE from_endpoint = $1 AND to_endpoint = $2",
        )
        .bind(f)
        .bind(g)
        .fetch_optional(&mut **tx)
        .await?;
        let mut hll = prev
            .flatten()
            .map(|b| Hll::from_bytes(&b))
            .unwrap_or_default();
        hll.merge(&Hll::from_bytes(&t.principals));
        rows.push(vec![
            P::I(f),
            P::I(g),
            int(t.count),
            P::I(hll.estimate().max(1) as i64),
            P::I(t.first_seen),
            P::I(t.last_seen),
            P::B(hll.to_bytes()),
            int(t.gap_sum_ms),
        ]);
    }
    report.rows += upsert(
        tx,
        "transitions (from_endpoint, to_endpoint, count, clients, first_seen, last_seen, clients_hll, gap_sum_ms)",
        "ON CONFLICT (from_endpoint, to_endpoint) DO UPDATE SET count = transitions.count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = LEAST(transitions.first_seen, excluded.first_seen),
            last_seen = GREATEST(transitions.last_seen, excluded.last_seen),
            gap_sum_ms = transitions.gap_sum_ms + excluded.gap_sum_ms",
        rows,
    )
    .await?;
    let mut rows = Vec::with_capacity(d.paths.len());
    for p in &d.paths {
        let mut s = [0i64; 3];
        let mut all = true;
        for (i, k) in p.steps.iter().enumerate() {
            match endpoint_id(tx, ids, k).await? {
                Some(id) => s[i] = id,
                None => all = false,
            }
        }
        if !all {
            continue;
        }
        let prev: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT clients_hll FROM sequence_paths WHERE step1 = $1 AND step2 = $2 AND step3 = $3",
        )
        .bind(s[0])
        .bind(s[1])
        .bind(s[2])
        .fetch_optional(&mut **tx)
        .await?;
        let mut hll = prev
            .flatten()
            .map(|b| Hll::from_bytes(&b))
            .unwrap_or_default();
        hll.merge(&Hll::from_bytes(&p.principals));
        rows.push(vec![
            P::I(s[0]),
            P::I(s[1]),
            P::I(s[2]),
            int(p.count),
            P::I(hll.estimate().max(1) as i64),
            P::B(hll.to_bytes()),
            P::I(p.first_seen),
            P::I(p.last_seen),
        ]);
    }
    report.rows += upsert(
        tx,
        "sequence_paths (step1, step2, step3, count, clients, clients_hll, first_seen, last_seen)",
        "ON CONFLICT (step1, step2, step3) DO UPDATE SET count = sequence_paths.count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = LEAST(sequence_paths.first_seen, excluded.first_seen),
            last_seen = GREATEST(sequence_paths.last_seen, excluded.last_seen)",
        rows,
    )
    .await?;
    Ok(())
}
