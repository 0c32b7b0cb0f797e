//! The centre's side of the delta path: `shadowtap central --db postgres://...` applies the
//! deltas sensors put in `deltas`, in `seq` order per sensor. Up to [`GROUP`] deltas share
//! one PostgreSQL transaction (one durable commit), each merged inside a savepoint of its own
//! and recorded in `delta_applied` with its merge (so a killed centre resumes at the first
//! unapplied delta, nothing is counted twice, and a delta the database refuses is rolled back
//! alone). One writer: every transaction holds a transaction-level advisory lock.
//!
//! The merge is `store::write`'s, in PostgreSQL's dialect: the same upserts (counts add,
//! first seen the least, last seen the greatest, histograms and sketches merged, body shapes
//! and query shapes merged by the same functions), with the columns qualified by their
//! table (PostgreSQL finds `count` ambiguous between the row and `excluded`), `LEAST` and
//! `GREATEST` for SQLite's scalar `min` and `max`, `$n` placeholders and typed NULLs. Unlike
//! the SQLite merge it writes a delta's endpoints together, a statement per table (arrays bound
//! with `unnest`): the apply is bound by round trips to the server, not by work. The
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
use crate::store::db::Conn;
use crate::store::{
    finding_severity, hist_bytes, hist_from, merged_body_shape, quantile_ms, query_param_rows,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, QueryBuilder, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

/// Client rows kept per endpoint (as `StoreLimits::max_clients_per_endpoint`).
const MAX_CLIENTS_PER_ENDPOINT: i64 = 1000;
/// Deltas read per round.
const ROUND: i64 = 32;
/// Deltas applied per transaction: one durable commit for them all.
const GROUP: usize = 8;

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
    /// Endpoints given another template by the re-templating across sensors (renamed, or
    /// merged into the row with the template; `fleet::retemplate`).
    pub retemplated: u64,
    /// Hosts that got an endpoint the centre did not have (re-templated across sensors once
    /// the group's deltas are in).
    #[serde(skip)]
    pub new_hosts: std::collections::BTreeSet<String>,
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
        let keys: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        for group in keys.chunks(GROUP) {
            apply_group(pool, group, key_fingerprint, &mut report).await?;
        }
    }
}

/// Runs the assessment ([`crate::store::spec::assess_on`]: scope, scanner probes, TLS
/// findings, auth consistency, the code's and the descriptions' joins) over the whole central
/// inventory, holding the writers' lock, so it judges the fleet's traffic as one sensor would
/// judge all of it and never sees half a delta group.
pub async fn assess(pool: &PgPool) -> Result<crate::store::spec::Assessment, FleetError> {
    Ok(crate::store::spec::assess_on(&crate::store::db::Db::Pg(pool.clone())).await?)
}

/// Deletes the centre's per-client detail older than `days` days before `now_ns` (wall clock,
/// ns), as a sensor's retention does (`store::retention`): client rows, per-minute counts,
/// sensitive-data samples and per-client findings; endpoints and their totals stay. Returns
/// the rows deleted of each, in that order (`RetentionReport::deleted`'s, whose order is
/// clients, minutes, sensitive, findings).
pub async fn age_out(pool: &PgPool, days: u32, now_ns: i64) -> Result<[u64; 4], FleetError> {
    let cutoff = now_ns.saturating_sub(i64::from(days).saturating_mul(86_400_000_000_000));
    Ok(
        crate::store::retention::age_out_on(&crate::store::db::Db::Pg(pool.clone()), cutoff)
            .await?,
    )
}

/// Applies a few deltas in one transaction (one durable commit for them all), each inside a
/// savepoint of its own: a delta the database refuses is rolled back alone and parked, and
/// the others commit. A connection error rolls the whole group back for the next round.
async fn apply_group(
    pool: &PgPool,
    keys: &[(String, i64)],
    key_fingerprint: &str,
    report: &mut ApplyReport,
) -> Result<(), FleetError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(crate::store::pg::WRITERS_LOCK)
        .execute(&mut *tx)
        .await?;
    let mut done = ApplyReport::default();
    let mut parked = Vec::new();
    // Hosts that got endpoints the centre did not have: re-templated across sensors once the
    // group's deltas are in.
    let mut touched = std::collections::BTreeSet::new();
    for (sensor, seq) in keys {
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
            continue;
        };
        let refusal = match Delta::decode(&payload) {
            Err(e) => e.to_string(),
            Ok(d) if d.key_fingerprint != key_fingerprint => {
                done.wrong_key += 1;
                format!(
                    "hash key fingerprint {} is not the centre's {key_fingerprint}",
                    d.key_fingerprint
                )
            }
            Ok(mut d) => {
                drop(payload);
                let mut savepoint = tx.begin().await?;
                let mut merged = ApplyReport::default();
                let result = async {
                    super::retemplate::translate(&mut savepoint, &mut d).await?;
                    merge(&mut savepoint, sensor, &d, &mut merged).await
                }
                .await;
                match result {
                    Ok(()) => {
                        mark(&mut savepoint, sensor, *seq, "applied", merged.rows).await?;
                        sensor_health(&mut savepoint, sensor, &d).await?;
                        savepoint.commit().await?;
                        done.applied += 1;
                        done.rows += merged.rows;
                        done.clients_dropped += merged.clients_dropped;
                        touched.append(&mut merged.new_hosts);
                        continue;
                    }
                    // What the database refuses in this delta's data is the delta's fault.
                    Err(sqlx::Error::Database(e)) => {
                        savepoint.rollback().await?;
                        format!("refused by the database: {e}")
                    }
                    // What the merge found unreadable in the delta (see `corrupt`).
                    Err(sqlx::Error::Protocol(m)) if m.starts_with(CORRUPT) => {
                        savepoint.rollback().await?;
                        m
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let outcome: String = format!("parked: {refusal}").chars().take(500).collect();
        mark(&mut tx, sensor, *seq, &outcome, 0).await?;
        sensor_parked(&mut tx, sensor).await?;
        done.parked += 1;
        parked.push((sensor, *seq, refusal));
    }
    if !touched.is_empty() {
        // A failure here must not hold the deltas back: the hosts are looked at again when
        // they next get a new endpoint.
        let mut savepoint = tx.begin().await?;
        match super::retemplate::retemplate_hosts(&mut savepoint, &touched).await {
            Ok(r) => {
                savepoint.commit().await?;
                done.retemplated += r.renamed + r.merged;
            }
            Err(e) => {
                savepoint.rollback().await?;
                tracing::warn!(hosts = touched.len(), error = %e, "re-templating across sensors failed");
            }
        }
    }
    tx.commit().await?;
    for (sensor, seq, reason) in parked {
        tracing::warn!(sensor = sensor.as_str(), seq, reason = %reason, "delta parked");
    }
    report.applied += done.applied;
    report.parked += done.parked;
    report.wrong_key += done.wrong_key;
    report.rows += done.rows;
    report.clients_dropped += done.clients_dropped;
    report.retemplated += done.retemplated;
    Ok(())
}

/// The sensor's row of `sensors` (`api_sensors`) after one of its deltas was applied: one
/// more delta, the first and last delta times widened, and the newest delta's word on its
/// version, host, interfaces and counters.
async fn sensor_health(
    tx: &mut Transaction<'_, Postgres>,
    sensor: &str,
    d: &Delta,
) -> Result<(), sqlx::Error> {
    let h = &d.health;
    let newest = |col: &str| {
        format!(
            "{col} = CASE WHEN excluded.last_delta_at >= sensors.last_delta_at THEN excluded.{col} ELSE sensors.{col} END"
        )
    };
    let cols = [
        "version",
        "host",
        "interfaces",
        "started_at",
        "packets",
        "bytes",
        "kernel_dropped",
        "if_dropped",
        "queue_dropped",
        "cap_drops",
    ];
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sensors (sensor, version, host, interfaces, started_at, first_delta_at, last_delta_at,
                              last_applied_at, deltas, packets, bytes, kernel_dropped, if_dropped,
                              queue_dropped, cap_drops)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 1, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (sensor) DO UPDATE SET deltas = sensors.deltas + 1,
            first_delta_at = LEAST(sensors.first_delta_at, excluded.first_delta_at),
            last_applied_at = excluded.last_applied_at, {},
            last_delta_at = GREATEST(sensors.last_delta_at, excluded.last_delta_at)",
        cols.map(newest).join(", ")
    )))
    .bind(sensor)
    .bind(&d.sensor_version)
    .bind(&h.host)
    .bind(h.interfaces.join(","))
    .bind((h.started_at != 0).then_some(h.started_at))
    .bind(d.created_at)
    .bind(crate::time::Timestamp::now().as_nanos())
    .bind(clamp(h.packets))
    .bind(clamp(h.bytes))
    .bind(clamp(h.kernel_dropped))
    .bind(clamp(h.if_dropped))
    .bind(clamp(h.queue_dropped))
    .bind(clamp(h.cap_drops))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The sensor's row of `sensors` after one of its deltas was parked (a sensor whose every
/// delta was parked is listed with the times the centre read them).
async fn sensor_parked(
    tx: &mut Transaction<'_, Postgres>,
    sensor: &str,
) -> Result<(), sqlx::Error> {
    let now = crate::time::Timestamp::now().as_nanos();
    sqlx::query(
        "INSERT INTO sensors (sensor, first_delta_at, last_delta_at, last_applied_at, parked)
         VALUES ($1, $2, $2, $2, 1)
         ON CONFLICT (sensor) DO UPDATE SET parked = sensors.parked + 1",
    )
    .bind(sensor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
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
///
/// The apply is round-trip bound, so every step works on all the delta's endpoints at once:
/// one statement per table (arrays bound with `unnest`), not one per endpoint. Endpoints are
/// merged in waves of distinct keys: a sensor's delta has one entry per endpoint, and one that
/// repeats a key is merged entry after entry, as a sequence of merges would.
async fn merge(
    tx: &mut Transaction<'_, Postgres>,
    sensor: &str,
    d: &Delta,
    report: &mut ApplyReport,
) -> Result<(), sqlx::Error> {
    let mut waves: Vec<Vec<&Endpoint>> = Vec::new();
    let mut occurrences: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for e in &d.endpoints {
        let n = occurrences
            .entry((&e.host, &e.method, &e.template))
            .or_default();
        if waves.len() <= *n {
            waves.push(Vec::new());
        }
        waves[*n].push(e);
        *n += 1;
    }
    let mut ids: HashMap<Key, i64> = HashMap::new();
    let mut seen_by: BTreeMap<i64, (u64, i64, i64)> = BTreeMap::new();
    for wave in &waves {
        let wave_ids = merge_endpoints(tx, wave, report).await?;
        report.rows += merge_grpc(tx, wave, &wave_ids).await?;
        for (e, id) in wave.iter().zip(wave_ids) {
            ids.insert(key_of(e), id);
            if e.requests > 0 {
                let s = seen_by.entry(id).or_insert((0, i64::MAX, i64::MIN));
                s.0 = s.0.saturating_add(e.requests);
                s.1 = s.1.min(e.first_seen);
                s.2 = s.2.max(e.last_seen);
            }
        }
    }
    // WebSocket figures: few endpoints carry them; read, merged and written one by one.
    for e in &d.endpoints {
        if let (Some(w), Some(id)) = (&e.websocket, ids.get(&key_of(e))) {
            crate::store::websocket::merge_websocket(&mut Conn::Pg(tx), *id, w)
                .await
                .map_err(store_error)?;
            report.rows += 1;
        }
    }
    // Attribution: which sensors saw each endpoint (`api_endpoint_sensors`).
    report.rows += upsert(
        tx,
        "endpoint_sensors (endpoint_id, sensor, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, sensor) DO UPDATE SET count = endpoint_sensors.count + excluded.count,
            first_seen = LEAST(endpoint_sensors.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_sensors.last_seen, excluded.last_seen)",
        seen_by
            .into_iter()
            .map(|(id, (n, first, last))| {
                vec![
                    P::I(id),
                    P::T(sensor.to_string()),
                    int(n),
                    P::I(first),
                    P::I(last),
                ]
            })
            .collect(),
    )
    .await?;
    report.rows += merge_tls(tx, &d.tls).await?;
    merge_sequences(tx, d, &mut ids, report).await
}

/// Merges a delta's encrypted services as the sensor's store does (`store::tls::merge_tls`):
/// counts add, times widen, the version, cipher and ALPN mixes merge (their caps kept), the
/// latest version and suite and the certificate replace, client rows add up to the store's
/// cap per service. New services stop at the store's cap on services (a sensor's default:
/// a fleet's centre takes what one sensor would). A service whose address does not parse
/// is left out.
async fn merge_tls(
    tx: &mut Transaction<'_, Postgres>,
    services: &[crate::store::delta::TlsService],
) -> Result<u64, sqlx::Error> {
    use crate::store::tls::merge_counts;
    if services.is_empty() {
        return Ok(0);
    }
    let limits = crate::store::StoreLimits::default();
    let mut total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tls_services")
        .fetch_one(&mut **tx)
        .await?;
    let mut rows = 0;
    for d in services.iter().filter_map(|s| s.delta()) {
        let server_ip = d.key.server_ip.to_string();
        let existing = sqlx::query(
            "SELECT versions, ciphers, alpn_offered, alpn_selected FROM tls_services
             WHERE server_ip = $1 AND server_port = $2 AND sni = $3",
        )
        .bind(&server_ip)
        .bind(i64::from(d.key.server_port))
        .bind(&d.key.sni)
        .fetch_optional(&mut **tx)
        .await?;
        let stored = |k: usize| {
            existing
                .as_ref()
                .map_or_else(|| "{}".to_string(), |r| r.get::<String, _>(k))
        };
        if existing.is_none() {
            if total >= limits.max_tls_services {
                continue;
            }
            total += 1;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tls_services (host, sni, server_ip, server_port, first_seen, last_seen,
                handshakes, incomplete, resumed, client_bytes, server_bytes, versions, ciphers,
                alpn_offered, alpn_selected, version, cipher)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (server_ip, server_port, sni) DO UPDATE SET
                first_seen = LEAST(tls_services.first_seen, excluded.first_seen),
                last_seen = GREATEST(tls_services.last_seen, excluded.last_seen),
                handshakes = tls_services.handshakes + excluded.handshakes,
                incomplete = tls_services.incomplete + excluded.incomplete,
                resumed = tls_services.resumed + excluded.resumed,
                client_bytes = tls_services.client_bytes + excluded.client_bytes,
                server_bytes = tls_services.server_bytes + excluded.server_bytes,
                versions = excluded.versions, ciphers = excluded.ciphers,
                alpn_offered = excluded.alpn_offered, alpn_selected = excluded.alpn_selected,
                version = coalesce(excluded.version, tls_services.version),
                cipher = coalesce(excluded.cipher, tls_services.cipher)
             RETURNING id",
        )
        .bind(d.key.host())
        .bind(&d.key.sni)
        .bind(&server_ip)
        .bind(i64::from(d.key.server_port))
        .bind(d.first_seen.as_nanos())
        .bind(d.last_seen.as_nanos())
        .bind(clamp(d.handshakes))
        .bind(clamp(d.incomplete))
        .bind(clamp(d.resumed))
        .bind(clamp(d.client_bytes))
        .bind(clamp(d.server_bytes))
        .bind(merge_counts(&stored(0), &d.versions))
        .bind(merge_counts(&stored(1), &d.ciphers))
        .bind(merge_counts(&stored(2), &d.alpn_offered))
        .bind(merge_counts(&stored(3), &d.alpn_selected))
        .bind(&d.version)
        .bind(&d.cipher)
        .fetch_one(&mut **tx)
        .await?;
        rows += 1;
        if let Some(c) = &d.cert {
            sqlx::query(
                "UPDATE tls_services SET cert_subject = $1, cert_issuer = $2, cert_sans = $3,
                    cert_not_before = $4, cert_not_after = $5, cert_key = $6, cert_self_signed = $7,
                    cert_chain_len = $8, cert_sha256 = $9
                 WHERE id = $10",
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
        let mut held: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tls_clients WHERE service_id = $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
        let mut clients: Vec<_> = d.clients.iter().collect();
        clients.sort_by(|a, b| a.0.cmp(b.0));
        for ((ip, ja4, ja4s), c) in clients {
            let updated = sqlx::query(
                "UPDATE tls_clients SET handshakes = handshakes + $1,
                    first_seen = LEAST(first_seen, $2), last_seen = GREATEST(last_seen, $3)
                 WHERE service_id = $4 AND client = $5 AND ja4 = $6 AND ja4s = $7",
            )
            .bind(clamp(c.handshakes))
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
                rows += 1;
                continue;
            }
            if held >= limits.max_clients_per_endpoint {
                continue;
            }
            sqlx::query(
                "INSERT INTO tls_clients (service_id, client, ja4, ja4s, handshakes, first_seen, last_seen)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(ip.to_string())
            .bind(ja4)
            .bind(ja4s)
            .bind(clamp(c.handshakes))
            .bind(c.first_seen.as_nanos())
            .bind(c.last_seen.as_nanos())
            .execute(&mut **tx)
            .await?;
            held += 1;
            rows += 1;
        }
    }
    Ok(rows)
}

/// Adds a wave's gRPC figures to its endpoints' (`endpoint_grpc`, `endpoint_grpc_status`)
/// with the arithmetic of the sensor's store (`store::write`): counts add, streaming flags and
/// size bounds widen. The names come from [`Endpoint::grpc`]; a figure without names is left.
async fn merge_grpc(
    tx: &mut Transaction<'_, Postgres>,
    wave: &[&Endpoint],
    ids: &[i64],
) -> Result<u64, sqlx::Error> {
    let mut figures = Vec::new();
    let mut statuses = Vec::new();
    for (e, id) in wave.iter().zip(ids) {
        let (Some(g), Some((service, method))) = (&e.grpc_figures, &e.grpc) else {
            continue;
        };
        let m = g.figures(service, method);
        let size = |s: Option<(u32, u32)>, hi: bool| match s {
            Some((l, h)) => P::I(i64::from(if hi { h } else { l })),
            None => P::NI,
        };
        figures.push(vec![
            P::I(*id),
            P::T(m.service.clone()),
            P::T(m.method.clone()),
            P::T(m.service_kind().name().to_string()),
            P::I(i64::from(m.client_streamed)),
            P::I(i64::from(m.server_streamed)),
            int(m.calls),
            int(m.messages_in),
            int(m.messages_out),
            size(m.in_sizes, false),
            size(m.in_sizes, true),
            size(m.out_sizes, false),
            size(m.out_sizes, true),
            int(m.compressed),
            int(m.truncated),
        ]);
        for (status, n) in &m.status {
            statuses.push(vec![P::I(*id), P::I(status.map_or(-1, i64::from)), int(*n)]);
        }
    }
    let mut rows = upsert(
        tx,
        "endpoint_grpc (endpoint_id, service, method, service_kind, client_streamed, server_streamed, calls,
            messages_in, messages_out, request_size_min, request_size_max, response_size_min, response_size_max,
            compressed_messages, truncated_bodies)",
        "ON CONFLICT (endpoint_id) DO UPDATE SET
            client_streamed = GREATEST(endpoint_grpc.client_streamed, excluded.client_streamed),
            server_streamed = GREATEST(endpoint_grpc.server_streamed, excluded.server_streamed),
            calls = endpoint_grpc.calls + excluded.calls,
            messages_in = endpoint_grpc.messages_in + excluded.messages_in,
            messages_out = endpoint_grpc.messages_out + excluded.messages_out,
            request_size_min = LEAST(endpoint_grpc.request_size_min, excluded.request_size_min),
            request_size_max = GREATEST(endpoint_grpc.request_size_max, excluded.request_size_max),
            response_size_min = LEAST(endpoint_grpc.response_size_min, excluded.response_size_min),
            response_size_max = GREATEST(endpoint_grpc.response_size_max, excluded.response_size_max),
            compressed_messages = endpoint_grpc.compressed_messages + excluded.compressed_messages,
            truncated_bodies = endpoint_grpc.truncated_bodies + excluded.truncated_bodies",
        figures,
    )
    .await?;
    rows += upsert(
        tx,
        "endpoint_grpc_status (endpoint_id, status, count)",
        "ON CONFLICT (endpoint_id, status) DO UPDATE SET count = endpoint_grpc_status.count + excluded.count",
        statuses,
    )
    .await?;
    Ok(rows)
}

fn key_of(e: &Endpoint) -> Key {
    Key {
        host: e.host.clone(),
        method: e.method.clone(),
        template: e.template.clone(),
    }
}

/// Prefix of the errors [`corrupt`] makes.
const CORRUPT: &str = "unreadable in the delta: ";

/// A value of the delta the merge cannot read: the delta is parked.
fn corrupt(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("{CORRUPT}{what}"))
}

/// A store function's error inside a merge: the database's own as it is (a refusal parks the
/// delta, a lost connection ends the round), anything else (a stored value that does not read
/// back) as the delta's fault.
fn store_error(e: crate::store::StoreError) -> sqlx::Error {
    match e {
        crate::store::StoreError::Db(e) => e,
        other => corrupt(&other.to_string()),
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What the centre holds of an endpoint before a merge.
struct Stored {
    id: i64,
    hist: Option<Vec<u8>>,
    hll: Option<Vec<u8>>,
    query: Option<String>,
    capped: bool,
    scope: String,
}

/// The ids of `keys` that the centre has, by key.
async fn stored_ids(
    tx: &mut Transaction<'_, Postgres>,
    keys: &[&Key],
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT e.id, e.host, e.method, e.path_template
         FROM endpoints e JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(host, method, path_template)
           ON e.host = k.host AND e.method = k.method AND e.path_template = k.path_template",
    )
    .bind(keys.iter().map(|k| k.host.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.method.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.template.as_str()).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                Key {
                    host: r.get(1),
                    method: r.get(2),
                    template: r.get(3),
                },
                r.get(0),
            )
        })
        .collect())
}

/// Merges endpoints of distinct keys; returns their ids, in order.
async fn merge_endpoints(
    tx: &mut Transaction<'_, Postgres>,
    es: &[&Endpoint],
    report: &mut ApplyReport,
) -> Result<Vec<i64>, sqlx::Error> {
    // What the centre has of them.
    let rows = sqlx::query(
        "SELECT e.id, e.host, e.method, e.path_template, e.latency_hist, e.clients_hll, e.query_shape,
                e.clients_capped, e.scope
         FROM endpoints e JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(host, method, path_template)
           ON e.host = k.host AND e.method = k.method AND e.path_template = k.path_template",
    )
    .bind(es.iter().map(|e| e.host.as_str()).collect::<Vec<_>>())
    .bind(es.iter().map(|e| e.method.as_str()).collect::<Vec<_>>())
    .bind(es.iter().map(|e| e.template.as_str()).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    let mut stored: HashMap<Key, Stored> = rows
        .iter()
        .map(|r| {
            (
                Key {
                    host: r.get(1),
                    method: r.get(2),
                    template: r.get(3),
                },
                Stored {
                    id: r.get(0),
                    hist: r.get(4),
                    hll: r.get(5),
                    query: r.get(6),
                    capped: r.get::<i64, _>(7) != 0,
                    scope: r.get(8),
                },
            )
        })
        .collect();
    let existing: Vec<i64> = stored.values().map(|s| s.id).collect();

    // New endpoints, in one statement per chunk.
    let new: Vec<&Endpoint> = es
        .iter()
        .filter(|e| !stored.contains_key(&key_of(e)))
        .copied()
        .collect();
    report.new_hosts.extend(new.iter().map(|e| e.host.clone()));
    for chunk in new.chunks(400) {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO endpoints (host, method, path_template, template_rule, template_confidence, \
             template_explain, example_path, first_seen, last_seen) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(e.host.as_str())
                .push_bind(e.method.as_str())
                .push_bind(e.template.as_str())
                .push_bind(e.rule.as_str())
                .push_bind(f64::from(e.confidence))
                .push_bind(if e.explain.is_empty() {
                    "[]"
                } else {
                    e.explain.as_str()
                })
                .push_bind(e.example_path.as_str())
                .push_bind(e.first_seen)
                .push_bind(e.last_seen);
        });
        q.push(" RETURNING id, host, method, path_template, scope");
        for r in q.build().fetch_all(&mut **tx).await? {
            stored.insert(
                Key {
                    host: r.get(1),
                    method: r.get(2),
                    template: r.get(3),
                },
                Stored {
                    id: r.get(0),
                    hist: None,
                    hll: None,
                    query: None,
                    capped: false,
                    scope: r.get(4),
                },
            );
        }
    }
    let mut ids = Vec::with_capacity(es.len());
    for e in es {
        ids.push(
            stored
                .get(&key_of(e))
                .map(|s| s.id)
                .ok_or_else(|| corrupt("an endpoint key PostgreSQL does not match as written"))?,
        );
    }
    report.rows += es.len() as u64;

    // Clients: how many each endpoint has, and which of the delta's it knows.
    let mut have: HashMap<i64, i64> = HashMap::new();
    let mut known: std::collections::HashSet<(i64, String)> = Default::default();
    if !existing.is_empty() {
        for r in sqlx::query(
            "SELECT endpoint_id, count(*) FROM endpoint_clients WHERE endpoint_id = ANY($1) GROUP BY endpoint_id",
        )
        .bind(&existing)
        .fetch_all(&mut **tx)
        .await?
        {
            have.insert(r.get(0), r.get(1));
        }
        let (cid, cip): (Vec<i64>, Vec<&str>) = es
            .iter()
            .zip(&ids)
            .flat_map(|(e, id)| e.clients.iter().map(move |c| (*id, c.ip.as_str())))
            .unzip();
        for r in sqlx::query(
            "SELECT c.endpoint_id, c.client FROM endpoint_clients c
             JOIN unnest($1::bigint[], $2::text[]) AS k(id, client) ON c.endpoint_id = k.id AND c.client = k.client",
        )
        .bind(&cid)
        .bind(&cip)
        .fetch_all(&mut **tx)
        .await?
        {
            known.insert((r.get(0), r.get(1)));
        }
    }

    // Query parameters' times and the stored bodies, for every endpoint at once.
    let mut times: HashMap<i64, HashMap<String, Span>> = HashMap::new();
    let mut bodies: HashMap<BodyKey, (Option<String>, i64, i64)> = HashMap::new();
    if !existing.is_empty() {
        for r in sqlx::query(
            "SELECT endpoint_id, name, first_seen, last_seen FROM endpoint_params
             WHERE endpoint_id = ANY($1) AND location = 'query'",
        )
        .bind(&existing)
        .fetch_all(&mut **tx)
        .await?
        {
            times
                .entry(r.get(0))
                .or_default()
                .insert(r.get(1), (r.get(2), r.get(3)));
        }
        for r in sqlx::query(
            "SELECT endpoint_id, direction, status, content_type, shape, count, samples FROM endpoint_bodies
             WHERE endpoint_id = ANY($1)",
        )
        .bind(&existing)
        .fetch_all(&mut **tx)
        .await?
        {
            bodies.insert(
                (r.get(0), r.get(1), r.get(2), r.get(3)),
                (r.get(4), r.get(5), r.get(6)),
            );
        }
    }

    // Everything per endpoint, computed here; written below, a statement per table.
    let mut up = EndpointUpdates::default();
    let mut clients = Vec::new();
    let mut status = Vec::new();
    let mut params = Vec::new();
    let mut query_rows = Vec::new();
    let (mut keep_id, mut keep_name) = (Vec::new(), Vec::new());
    // Each body merged onto the last merge of its key (a delta may list a key twice).
    type BodyRow = (Option<String>, Option<String>, i64, i64);
    let mut body_rows: BTreeMap<BodyKey, BodyRow> = BTreeMap::new();
    let mut auth = Vec::new();
    let mut sensitive = Vec::new();
    let mut findings = Vec::new();
    let mut minutes = Vec::new();
    let mut sources = Vec::new();
    let opt = |v: Option<i64>| v.map_or(P::NI, P::I);
    for (e, &id) in es.iter().zip(&ids) {
        let s = stored.get(&key_of(e)).expect("every key was stored above");
        let mut hist =
            hist_from(s.hist.clone()).map_err(|_| corrupt("stored latency histogram"))?;
        if !e.latency.is_empty() {
            if !super::wire::plain_v2_histogram(&e.latency) {
                return Err(corrupt("latency histogram"));
            }
            let h = hist_from(Some(e.latency.clone())).map_err(|_| corrupt("latency histogram"))?;
            hist.add(&h).map_err(|_| corrupt("latency histogram"))?;
        }
        let mut hll = s.hll.as_deref().map(Hll::from_bytes).unwrap_or_default();
        hll.merge(&Hll::from_bytes(&e.clients_hll));
        let stored_query: crate::analyze::form::FormShape = s
            .query
            .as_deref()
            .and_then(|q| serde_json::from_str(q).ok())
            .unwrap_or_default();
        let query = merge_form(&stored_query, &e.query);

        // Clients up to the cap: known ones updated, new ones added while there is room.
        let mut capped = s.capped;
        let mut room = MAX_CLIENTS_PER_ENDPOINT - have.get(&id).copied().unwrap_or(0);
        for c in &e.clients {
            if !known.contains(&(id, c.ip.clone())) {
                if room <= 0 {
                    capped = true;
                    report.clients_dropped += 1;
                    continue;
                }
                room -= 1;
            }
            clients.push(vec![
                P::I(id),
                P::T(c.ip.clone()),
                int(c.count),
                P::I(c.first_seen),
                P::I(c.last_seen),
            ]);
        }
        capped |= e.clients_over_cap;

        up.id.push(id);
        up.first.push(e.first_seen);
        up.last.push(e.last_seen);
        up.requests.push(clamp(e.requests));
        up.responses.push(clamp(e.responses));
        up.errors.push(clamp(e.errors));
        up.bytes_in.push(clamp(e.bytes_in));
        up.bytes_out.push(clamp(e.bytes_out));
        up.hll.push(hll.to_bytes());
        up.capped.push(i64::from(capped));
        up.estimate.push(hll.estimate() as i64);
        up.hist
            .push(hist_bytes(&hist).map_err(|_| corrupt("latency histogram"))?);
        up.p50.push(quantile_ms(&hist, 0.5));
        up.p90.push(quantile_ms(&hist, 0.9));
        up.p99.push(quantile_ms(&hist, 0.99));
        up.query.push(serde_json::to_string(&query).ok());
        up.protocol.push(e.protocol.clone());
        // A newer template explanation replaces the stored one (documented endpoints keep
        // the spec's); written in the same UPDATE.
        let explained = !e.explain.is_empty() && !e.rule.is_empty();
        up.rule.push(explained.then(|| e.rule.clone()));
        up.confidence.push(f64::from(e.confidence));
        up.explain.push(explained.then(|| e.explain.clone()));
        up.grpc_service.push(e.grpc.as_ref().map(|g| g.0.clone()));
        up.grpc_method.push(e.grpc.as_ref().map(|g| g.1.clone()));

        status.extend(
            e.status
                .iter()
                .map(|(s, n)| vec![P::I(id), P::I(i64::from(*s)), int(*n)]),
        );
        let (first, last) = (e.first_seen, e.last_seen);
        params.extend(e.path_params.iter().map(|(name, kind)| {
            vec![
                P::I(id),
                P::T("path".into()),
                P::T(name.clone()),
                P::T(kind.clone()),
                int(e.requests),
                P::I(first),
                P::I(last),
            ]
        }));
        // Query parameters, rewritten from the merged shape with their times carried over.
        for name in query.fields.keys() {
            keep_id.push(id);
            keep_name.push(name.clone());
        }
        let no_times = HashMap::new();
        let t = times.get(&id).unwrap_or(&no_times);
        query_rows.extend(
            query_param_rows(&query, &e.query, t, first, last)
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
                }),
        );
        for b in &e.bodies {
            let k = (
                id,
                b.direction.clone(),
                i64::from(b.status),
                b.content_type.clone(),
            );
            let (prev_shape, count, samples) = match body_rows.get(&k) {
                Some((shape, _, count, samples)) => (shape.clone(), *count, *samples),
                None => bodies.get(&k).cloned().unwrap_or((None, 0, 0)),
            };
            let count = count.saturating_add(clamp(b.count));
            let samples = samples.saturating_add(clamp(b.samples));
            let (shape, schema) = merged_body_shape(
                prev_shape.as_deref(),
                b.json.as_ref(),
                b.form.as_ref(),
                samples as u64,
            );
            body_rows.insert(k, (shape, schema, count, samples));
        }
        auth.extend(e.auth.iter().map(|a| {
            vec![
                P::I(id),
                P::T(a.scheme.clone()),
                P::T(a.location.clone()),
                int(a.count),
                int(a.ok),
                P::I(first),
                P::I(last),
            ]
        }));
        sensitive.extend(e.sensitive.iter().map(|s| {
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
        }));
        // Findings, with the endpoint's scope as in the SQLite merge.
        if s.scope != "ignored" {
            findings.extend(e.findings.iter().map(|f| {
                let client = f.client.clone().unwrap_or_default();
                let severity = finding_severity(&f.kind, &s.scope);
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
            }));
        }
        minutes.extend(
            e.minutes
                .iter()
                .map(|(m, n, x)| vec![P::I(id), P::I(*m), int(*n), int(*x)]),
        );
        sources.extend(e.sources.iter().map(|s| {
            vec![
                P::I(id),
                P::T(s.source.clone()),
                int(s.count),
                P::I(s.first_seen),
                P::I(s.last_seen),
            ]
        }));
    }

    report.rows += upsert(
        tx,
        "endpoint_clients (endpoint_id, client, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, client) DO UPDATE SET count = endpoint_clients.count + excluded.count,
            first_seen = LEAST(endpoint_clients.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_clients.last_seen, excluded.last_seen)",
        clients,
    )
    .await?;
    sqlx::query(
        "UPDATE endpoints e SET
            first_seen = LEAST(e.first_seen, k.first_seen), last_seen = GREATEST(e.last_seen, k.last_seen),
            request_count = e.request_count + k.requests, response_count = e.response_count + k.responses,
            error_count = e.error_count + k.errors,
            bytes_in = e.bytes_in + k.bytes_in, bytes_out = e.bytes_out + k.bytes_out,
            clients_hll = k.hll, clients_capped = k.capped, client_estimate = k.estimate,
            latency_hist = k.hist, p50_ms = k.p50, p90_ms = k.p90, p99_ms = k.p99, query_shape = k.query,
            protocol = CASE WHEN e.protocol IN ('grpc', 'graphql', 'websocket')
                             AND k.protocol NOT IN ('grpc', 'graphql', 'websocket') THEN e.protocol ELSE k.protocol END,
            grpc_service = coalesce(k.grpc_service, e.grpc_service),
            grpc_method = coalesce(k.grpc_method, e.grpc_method),
            template_rule = CASE WHEN k.rule IS NULL OR coalesce(e.documented, 0) <> 0
                                 THEN e.template_rule ELSE k.rule END,
            template_confidence = CASE WHEN k.rule IS NULL OR coalesce(e.documented, 0) <> 0
                                       THEN e.template_confidence ELSE k.confidence END,
            template_explain = CASE WHEN k.rule IS NULL OR coalesce(e.documented, 0) <> 0
                                    THEN e.template_explain ELSE k.explain END
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
                     $7::bigint[], $8::bigint[], $9::bytea[], $10::bigint[], $11::bigint[], $12::bytea[],
                     $13::float8[], $14::float8[], $15::float8[], $16::text[], $17::text[], $18::text[],
                     $19::text[], $20::text[], $21::float8[], $22::text[])
           AS k(id, first_seen, last_seen, requests, responses, errors, bytes_in, bytes_out, hll, capped,
                estimate, hist, p50, p90, p99, query, protocol, grpc_service, grpc_method, rule, confidence,
                explain)
         WHERE e.id = k.id",
    )
    .bind(&up.id)
    .bind(&up.first)
    .bind(&up.last)
    .bind(&up.requests)
    .bind(&up.responses)
    .bind(&up.errors)
    .bind(&up.bytes_in)
    .bind(&up.bytes_out)
    .bind(&up.hll)
    .bind(&up.capped)
    .bind(&up.estimate)
    .bind(&up.hist)
    .bind(&up.p50)
    .bind(&up.p90)
    .bind(&up.p99)
    .bind(&up.query)
    .bind(&up.protocol)
    .bind(&up.grpc_service)
    .bind(&up.grpc_method)
    .bind(&up.rule)
    .bind(&up.confidence)
    .bind(&up.explain)
    .execute(&mut **tx)
    .await?;

    report.rows += upsert(
        tx,
        "endpoint_status (endpoint_id, status, count)",
        "ON CONFLICT (endpoint_id, status) DO UPDATE SET count = endpoint_status.count + excluded.count",
        status,
    )
    .await?;
    report.rows += upsert(
        tx,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, location, name) DO UPDATE SET present = endpoint_params.present + excluded.present,
            first_seen = LEAST(endpoint_params.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_params.last_seen, excluded.last_seen)",
        params,
    )
    .await?;
    if !existing.is_empty() {
        sqlx::query(
            "DELETE FROM endpoint_params p WHERE p.location = 'query' AND p.endpoint_id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::text[]) AS k(id, name)
                               WHERE k.id = p.endpoint_id AND k.name = p.name)",
        )
        .bind(&ids)
        .bind(&keep_id)
        .bind(&keep_name)
        .execute(&mut **tx)
        .await?;
    }
    report.rows += upsert(
        tx,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, location, name) DO UPDATE SET types = excluded.types,
            present = excluded.present, first_seen = excluded.first_seen, last_seen = excluded.last_seen",
        query_rows,
    )
    .await?;
    report.rows += upsert(
        tx,
        "endpoint_bodies (endpoint_id, direction, status, content_type, count, samples, shape, schema)",
        "ON CONFLICT (endpoint_id, direction, status, content_type) DO UPDATE SET count = excluded.count,
            samples = excluded.samples, shape = excluded.shape, schema = excluded.schema",
        body_rows
            .into_iter()
            .map(|((id, direction, status, content_type), (shape, schema, count, samples))| {
                vec![
                    P::I(id),
                    P::T(direction),
                    P::I(status),
                    P::T(content_type),
                    P::I(count),
                    P::I(samples),
                    opt_text(shape.as_deref()),
                    opt_text(schema.as_deref()),
                ]
            })
            .collect(),
    )
    .await?;
    report.rows += upsert(
        tx,
        "endpoint_auth (endpoint_id, scheme, location, count, ok_count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, scheme, location) DO UPDATE SET count = endpoint_auth.count + excluded.count,
            ok_count = endpoint_auth.ok_count + excluded.ok_count,
            first_seen = LEAST(endpoint_auth.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_auth.last_seen, excluded.last_seen)",
        auth,
    )
    .await?;
    report.rows += upsert(
        tx,
        "endpoint_sensitive (endpoint_id, class, location, field, count, example, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, class, location, field) DO UPDATE SET
            count = endpoint_sensitive.count + excluded.count,
            first_seen = LEAST(endpoint_sensitive.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_sensitive.last_seen, excluded.last_seen)",
        sensitive,
    )
    .await?;
    report.rows += upsert(
        tx,
        "findings (kind, severity, host, method, path_template, client, detail, evidence, count, first_seen, last_seen, dedup_key)",
        "ON CONFLICT (dedup_key) DO UPDATE SET count = findings.count + excluded.count,
            first_seen = LEAST(findings.first_seen, excluded.first_seen),
            last_seen = GREATEST(findings.last_seen, excluded.last_seen),
            detail = excluded.detail, evidence = excluded.evidence",
        findings,
    )
    .await?;
    report.rows += upsert(
        tx,
        "endpoint_minutes (endpoint_id, minute, count, errors)",
        "ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = endpoint_minutes.count + excluded.count,
            errors = endpoint_minutes.errors + excluded.errors",
        minutes,
    )
    .await?;
    report.rows += upsert(
        tx,
        "endpoint_sources (endpoint_id, source, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, source) DO UPDATE SET count = endpoint_sources.count + excluded.count,
            first_seen = LEAST(endpoint_sources.first_seen, excluded.first_seen),
            last_seen = GREATEST(endpoint_sources.last_seen, excluded.last_seen)",
        sources,
    )
    .await?;
    Ok(ids)
}

/// A stored first and last seen.
type Span = (Option<i64>, Option<i64>);
/// A body row's key: endpoint, direction, status, content type.
type BodyKey = (i64, String, i64, String);

/// The endpoint columns one `UPDATE ... FROM unnest(...)` writes, an array per column.
#[derive(Default)]
struct EndpointUpdates {
    id: Vec<i64>,
    first: Vec<i64>,
    last: Vec<i64>,
    requests: Vec<i64>,
    responses: Vec<i64>,
    errors: Vec<i64>,
    bytes_in: Vec<i64>,
    bytes_out: Vec<i64>,
    hll: Vec<Vec<u8>>,
    capped: Vec<i64>,
    estimate: Vec<i64>,
    hist: Vec<Vec<u8>>,
    p50: Vec<Option<f64>>,
    p90: Vec<Option<f64>>,
    p99: Vec<Option<f64>>,
    query: Vec<Option<String>>,
    protocol: Vec<String>,
    grpc_service: Vec<Option<String>>,
    grpc_method: Vec<Option<String>>,
    rule: Vec<Option<String>>,
    confidence: Vec<f64>,
    explain: Vec<Option<String>>,
}

/// Transitions and paths: counts add up, principal sketches merge. A delta's repeated
/// transition or path (none from a sensor) is added up before it is written.
async fn merge_sequences(
    tx: &mut Transaction<'_, Postgres>,
    d: &Delta,
    ids: &mut HashMap<Key, i64>,
    report: &mut ApplyReport,
) -> Result<(), sqlx::Error> {
    let wanted: Vec<&Key> = {
        let mut seen = std::collections::HashSet::new();
        d.transitions
            .iter()
            .flat_map(|t| [&t.from, &t.to])
            .chain(d.paths.iter().flat_map(|p| p.steps.iter()))
            .filter(|k| !ids.contains_key(*k) && seen.insert(*k))
            .collect()
    };
    ids.extend(stored_ids(tx, &wanted).await?);

    // (from, to) -> (count, first, last, gap sum, principals).
    type Sums = (u64, i64, i64, u64, Hll);
    let mut transitions: BTreeMap<(i64, i64), Sums> = BTreeMap::new();
    for t in &d.transitions {
        let (Some(&f), Some(&g)) = (ids.get(&t.from), ids.get(&t.to)) else {
            continue;
        };
        let x = transitions
            .entry((f, g))
            .or_insert((0, i64::MAX, i64::MIN, 0, Hll::default()));
        x.0 = x.0.saturating_add(t.count);
        x.1 = x.1.min(t.first_seen);
        x.2 = x.2.max(t.last_seen);
        x.3 = x.3.saturating_add(t.gap_sum_ms);
        x.4.merge(&Hll::from_bytes(&t.principals));
    }
    if !transitions.is_empty() {
        let (f, g): (Vec<i64>, Vec<i64>) = transitions.keys().copied().unzip();
        for r in sqlx::query(
            "SELECT t.from_endpoint, t.to_endpoint, t.clients_hll FROM transitions t
             JOIN unnest($1::bigint[], $2::bigint[]) AS k(f, g) ON t.from_endpoint = k.f AND t.to_endpoint = k.g",
        )
        .bind(&f)
        .bind(&g)
        .fetch_all(&mut **tx)
        .await?
        {
            if let (Some(x), Some(b)) = (
                transitions.get_mut(&(r.get(0), r.get(1))),
                r.get::<Option<Vec<u8>>, _>(2),
            ) {
                x.4.merge(&Hll::from_bytes(&b));
            }
        }
    }
    report.rows += upsert(
        tx,
        "transitions (from_endpoint, to_endpoint, count, clients, first_seen, last_seen, clients_hll, gap_sum_ms)",
        "ON CONFLICT (from_endpoint, to_endpoint) DO UPDATE SET count = transitions.count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = LEAST(transitions.first_seen, excluded.first_seen),
            last_seen = GREATEST(transitions.last_seen, excluded.last_seen),
            gap_sum_ms = transitions.gap_sum_ms + excluded.gap_sum_ms",
        transitions
            .into_iter()
            .map(|((f, g), (count, first, last, gaps, hll))| {
                vec![
                    P::I(f),
                    P::I(g),
                    int(count),
                    P::I(hll.estimate().max(1) as i64),
                    P::I(first),
                    P::I(last),
                    P::B(hll.to_bytes()),
                    int(gaps),
                ]
            })
            .collect(),
    )
    .await?;

    // (step1, step2, step3) -> (count, first, last, principals).
    let mut paths: BTreeMap<[i64; 3], (u64, i64, i64, Hll)> = BTreeMap::new();
    for p in &d.paths {
        let steps: Option<Vec<i64>> = p.steps.iter().map(|k| ids.get(k).copied()).collect();
        let Some(steps) = steps else {
            continue;
        };
        let x = paths.entry([steps[0], steps[1], steps[2]]).or_insert((
            0,
            i64::MAX,
            i64::MIN,
            Hll::default(),
        ));
        x.0 = x.0.saturating_add(p.count);
        x.1 = x.1.min(p.first_seen);
        x.2 = x.2.max(p.last_seen);
        x.3.merge(&Hll::from_bytes(&p.principals));
    }
    if !paths.is_empty() {
        let cols = |i: usize| paths.keys().map(|s| s[i]).collect::<Vec<_>>();
        for r in sqlx::query(
            "SELECT s.step1, s.step2, s.step3, s.clients_hll FROM sequence_paths s
             JOIN unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS k(a, b, c)
               ON s.step1 = k.a AND s.step2 = k.b AND s.step3 = k.c",
        )
        .bind(cols(0))
        .bind(cols(1))
        .bind(cols(2))
        .fetch_all(&mut **tx)
        .await?
        {
            if let (Some(x), Some(b)) = (
                paths.get_mut(&[r.get(0), r.get(1), r.get(2)]),
                r.get::<Option<Vec<u8>>, _>(3),
            ) {
                x.3.merge(&Hll::from_bytes(&b));
            }
        }
    }
    report.rows += upsert(
        tx,
        "sequence_paths (step1, step2, step3, count, clients, clients_hll, first_seen, last_seen)",
        "ON CONFLICT (step1, step2, step3) DO UPDATE SET count = sequence_paths.count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = LEAST(sequence_paths.first_seen, excluded.first_seen),
            last_seen = GREATEST(sequence_paths.last_seen, excluded.last_seen)",
        paths
            .into_iter()
            .map(|(s, (count, first, last, hll))| {
                vec![
                    P::I(s[0]),
                    P::I(s[1]),
                    P::I(s[2]),
                    int(count),
                    P::I(hll.estimate().max(1) as i64),
                    P::B(hll.to_bytes()),
                    P::I(first),
                    P::I(last),
                ]
            })
            .collect(),
    )
    .await?;
    Ok(())
}
