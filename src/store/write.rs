//! Writing: merging endpoint deltas and recording ingested captures.

use super::{Store, StoreError};
use crate::analyze::form::{FormShape, form_to_json_schema, merge_form};
use crate::analyze::hll::Hll;
use crate::analyze::inventory::{
    EndpointDelta, EndpointKey, InventoryDrain, new_latency_histogram,
};
use crate::analyze::shape::{self, Shape};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use sqlx::{Row, Sqlite, Transaction};
use std::collections::HashMap;

/// What a flush did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    /// Endpoints created.
    pub created: u64,
    /// Endpoints updated.
    pub updated: u64,
    /// New endpoints dropped because the database holds `max_endpoints` endpoints that all
    /// have real traffic.
    pub dropped: u64,
    /// Endpoints of no evidence (a request or two, never answered with success) evicted to
    /// make room for new ones at `max_endpoints`.
    pub evicted: u64,
    /// Transitions and three-call paths deleted at their caps (the least used).
    pub sequences_trimmed: u64,
    /// Client rows not stored: the endpoint holds `max_clients_per_endpoint` clients (or the
    /// size budget is closed); the distinct-client sketch still counts them.
    pub clients_dropped: u64,
    /// Client rows of a client seen once evicted for a busier client at that cap.
    pub clients_evicted: u64,
    /// Transitions merged.
    pub transitions: u64,
    /// Three-call paths merged.
    pub paths: u64,
    /// Stored endpoints given a more general template.
    pub retemplated: u64,
    /// Of them, merged into an existing endpoint.
    pub merged: u64,
    /// New encrypted services not stored (`max_tls_services`, or the size budget).
    pub tls_services_dropped: u64,
    /// Client rows of encrypted services not stored at the per-service cap.
    pub tls_clients_dropped: u64,
}

crate::counters!(FlushReport {
    created,
    updated,
    dropped,
    evicted,
    sequences_trimmed,
    clients_dropped,
    clients_evicted,
    transitions,
    paths,
    retemplated,
    merged,
    tls_services_dropped,
    tls_clients_dropped,
});

impl FlushReport {
    /// The store's caps, with what they dropped (zero included).
    pub fn cap_drops(&self) -> Vec<crate::counters::CapDrop> {
        use crate::counters::CapDrop;
        vec![
            CapDrop::new(
                "store_endpoints",
                "new endpoints not stored (endpoint cap or size budget)",
                self.dropped,
            ),
            CapDrop::new(
                "store_endpoints_evicted",
                "stored endpoints of no evidence evicted",
                self.evicted,
            ),
            CapDrop::new(
                "store_sequences",
                "transitions and paths trimmed",
                self.sequences_trimmed,
            ),
            CapDrop::new(
                "store_clients",
                "client rows not stored at the per-endpoint cap (the sketch counts them)",
                self.clients_dropped,
            ),
            CapDrop::new(
                "store_clients_evicted",
                "one-time clients evicted for busier ones",
                self.clients_evicted,
            ),
            CapDrop::new(
                "store_tls_services",
                "new encrypted services not stored (max_tls_services or size budget)",
                self.tls_services_dropped,
            ),
            CapDrop::new(
                "store_tls_clients",
                "client rows of encrypted services not stored at the per-service cap",
                self.tls_clients_dropped,
            ),
        ]
    }
}

/// A capture file as recorded after ingesting it.
#[derive(Clone, Debug, Default)]
pub struct CaptureRecord {
    /// SHA-256 of the file content, hex.
    pub sha256: String,
    /// Path as given.
    pub path: String,
    /// File size.
    pub size_bytes: u64,
    /// Packet time of the first and last frame (ns).
    pub first_ts: Option<i64>,
    /// See `first_ts`.
    pub last_ts: Option<i64>,
    /// Frames.
    pub packets: u64,
    /// Captured bytes.
    pub bytes: u64,
    /// Transactions.
    pub transactions: u64,
    /// `file` or `live:<iface>`.
    pub source: String,
    /// Every engine and inventory counter, as JSON.
    pub stats_json: String,
    /// The file ended in damage (libpcap's words): what came before was read, and the
    /// capture is recorded as truncated, not complete.
    pub truncated: Option<String>,
}

pub(crate) fn hist_from(blob: Option<Vec<u8>>) -> Result<Histogram<u32>, StoreError> {
    match blob {
        Some(b) if !b.is_empty() => {
            let h: Histogram<u32> = Deserializer::new()
                .deserialize(&mut std::io::Cursor::new(b))
                .map_err(|e| StoreError::Corrupt(format!("latency histogram: {e:?}")))?;
            let mut out = new_latency_histogram();
            out.add(&h)
                .map_err(|e| StoreError::Corrupt(format!("latency histogram: {e:?}")))?;
            Ok(out)
        }
        _ => Ok(new_latency_histogram()),
    }
}

pub(crate) fn hist_bytes(h: &Histogram<u32>) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut out)
        .map_err(|e| StoreError::Corrupt(format!("latency histogram: {e:?}")))?;
    Ok(out)
}

pub(crate) fn quantile_ms(h: &Histogram<u32>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0)
}

impl Store {
    /// Whether a capture with this content hash was ingested: `Some(true)` completely,
    /// `Some(false)` partly (an interrupted ingest), `None` never.
    pub async fn ingested(&self, sha256: &str) -> Result<Option<bool>, StoreError> {
        let row = sqlx::query("SELECT complete FROM captures WHERE sha256 = ?")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0) != 0))
    }

    /// Records that ingesting a capture began; returns its id.
    pub async fn begin_capture(&self, c: &CaptureRecord) -> Result<i64, StoreError> {
        let now = crate::time::Timestamp::now().as_nanos();
        let id = sqlx::query(
            "INSERT INTO captures (sha256, path, size_bytes, ingested_at, source, complete) VALUES (?, ?, ?, ?, ?, 0) RETURNING id",
        )
        .bind(&c.sha256)
        .bind(&c.path)
        .bind(c.size_bytes as i64)
        .bind(now)
        .bind(&c.source)
        .fetch_one(&self.pool)
        .await?
        .get(0);
        Ok(id)
    }

    /// Records that a capture was read to its end, with its counters: complete, or
    /// truncated when the file ended in damage.
    pub async fn finish_capture(&self, id: i64, c: &CaptureRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE captures SET first_ts = ?, last_ts = ?, packets = ?, bytes = ?, transactions = ?, stats_json = ?,
                    complete = ?, truncated = ?
             WHERE id = ?",
        )
        .bind(c.first_ts)
        .bind(c.last_ts)
        .bind(c.packets as i64)
        .bind(c.bytes as i64)
        .bind(c.transactions as i64)
        .bind(&c.stats_json)
        .bind(i64::from(c.truncated.is_none()))
        .bind(&c.truncated)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Updates a live capture's row with its counters so far (`size_bytes` follows the bytes
    /// seen: a live source has no file), and marks it complete when `complete`.
    pub async fn update_live_capture(
        &self,
        id: i64,
        c: &CaptureRecord,
        complete: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE captures SET first_ts = ?, last_ts = ?, packets = ?, bytes = ?, size_bytes = ?, transactions = ?, stats_json = ?,
                    complete = max(complete, ?)
             WHERE id = ?",
        )
        .bind(c.first_ts)
        .bind(c.last_ts)
        .bind(c.packets as i64)
        .bind(c.bytes as i64)
        .bind(c.bytes as i64)
        .bind(c.transactions as i64)
        .bind(&c.stats_json)
        .bind(i64::from(complete))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Templates learned in earlier runs, to seed the template learners so that the same
    /// traffic gets the same templates after a restart: (host, template, per-segment rules)
    /// of every observed endpoint with a parameter.
    pub async fn known_templates(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT host, path_template, min(template_rule) FROM endpoints
             WHERE path_template LIKE '%{%' AND request_count > 0 AND coalesce(documented, 0) = 0
             GROUP BY host, path_template",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<String, _>(1),
                    r.get::<String, _>(2),
                )
            })
            .collect())
    }

    /// Templates that win over learning: every documented one (a spec's literal
    /// `/customers/lookup` must win over its `/customers/{id}`), the users' pins
    /// (`shadowtap template pin`) and the routes declared in code, on the host they are
    /// matched on (`store::code`; catch-all routes, `*` or a parameter first, aside): (host, or `None` for every
    /// host, template).
    pub async fn pinned_templates(&self) -> Result<Vec<(Option<String>, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT host, path_template FROM endpoints WHERE documented = 1
             UNION SELECT nullif(host, ''), path_template FROM template_pins
             UNION SELECT host, path_template FROM declared_routes WHERE host IS NOT NULL AND host <> ''
                AND path_template NOT LIKE '%{wildcard}%' AND path_template NOT LIKE '/{%'",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<Option<String>, _>(0), r.get::<String, _>(1)))
            .collect())
    }

    /// Every transition stored, by endpoint key, with its count (to seed the sequence
    /// baseline of a new ingest), and the first packet time of every host.
    pub async fn known_sequences(
        &self,
    ) -> Result<(Vec<(EndpointKey, EndpointKey, u64)>, Vec<(String, i64)>), StoreError> {
        let key = |r: &sqlx::sqlite::SqliteRow, i: usize| EndpointKey {
            host: r.get(i),
            method: r.get(i + 1),
            template: r.get(i + 2),
        };
        let transitions = sqlx::query(
            "SELECT f.host, f.method, f.path_template, t.host, t.method, t.path_template, x.count
             FROM transitions x JOIN endpoints f ON f.id = x.from_endpoint JOIN endpoints t ON t.id = x.to_endpoint
             ORDER BY x.count DESC LIMIT 200000",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| (key(r, 0), key(r, 3), r.get::<i64, _>(6).max(0) as u64))
        .collect();
        let hosts = sqlx::query(
            "SELECT host, min(first_seen) FROM endpoints WHERE request_count > 0 GROUP BY host",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
        .collect();
        Ok((transitions, hosts))
    }

    /// Merges what a flush took from the inventory, in one short transaction. When it fails
    /// (disk full, I/O error), the transaction is rolled back and its connection closed, not
    /// returned to the pool: after an error SQLite may have rolled the transaction back by
    /// itself, and a connection whose idea of its transaction state is wrong could hold the
    /// write lock for good. The caller may retry the same drain.
    pub async fn merge(&self, drain: &InventoryDrain) -> Result<FlushReport, StoreError> {
        self.merge_recording(drain, None).await
    }

    /// [`Store::merge`], recording in the same transaction that the flushes of capture
    /// `progress.0` now cover its first `progress.1` packets (`captures.committed_packets`):
    /// an ingest killed at any point resumes exactly where its last commit ends.
    pub async fn merge_recording(
        &self,
        drain: &InventoryDrain,
        progress: Option<(i64, u64)>,
    ) -> Result<FlushReport, StoreError> {
        let mut conn = self.pool.acquire().await?;
        match self.merge_on(&mut conn, drain, progress).await {
            Ok(r) => Ok(r),
            Err(e) => {
                let _ = sqlx::Connection::close(conn.detach()).await;
                Err(e)
            }
        }
    }

    async fn merge_on(
        &self,
        conn: &mut sqlx::pool::PoolConnection<Sqlite>,
        drain: &InventoryDrain,
        progress: Option<(i64, u64)>,
    ) -> Result<FlushReport, StoreError> {
        let deltas = &drain.endpoints;
        let mut ids: HashMap<&EndpointKey, i64> = HashMap::with_capacity(deltas.len());
        let mut report = FlushReport::default();
        let mut tx = sqlx::Connection::begin(&mut **conn).await?;
        let mut total: i64 = sqlx::query("SELECT COUNT(*) FROM endpoints")
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        // Under a size budget, what one flush may add (bytes, estimated per new row); when
        // it is spent the flush behaves as over budget.
        let (mut room, per_endpoint) = self.room(&mut tx, total).await?;
        let mut evictions = 0u32;
        for d in deltas {
            let existing = sqlx::query(
                "SELECT id, latency_hist, clients_hll, query_shape, clients_capped FROM endpoints
                 WHERE host = ? AND method = ? AND path_template = ?",
            )
            .bind(&d.key.host)
            .bind(&d.key.method)
            .bind(&d.key.template)
            .fetch_optional(&mut *tx)
            .await?;
            let (id, hist, hll, query, capped) = match existing {
                Some(r) => {
                    report.updated += 1;
                    if !d.explain.is_empty() && !d.rule.is_empty() {
                        sqlx::query(
                            "UPDATE endpoints SET template_rule = ?, template_confidence = ?, template_explain = ?
                             WHERE id = ? AND coalesce(documented, 0) = 0",
                        )
                        .bind(&d.rule)
                        .bind(f64::from(d.confidence))
                        .bind(&d.explain)
                        .bind(r.get::<i64, _>(0))
                        .execute(&mut *tx)
                        .await?;
                    }
                    let hist = hist_from(r.get::<Option<Vec<u8>>, _>(1))?;
                    let hll = r
                        .get::<Option<Vec<u8>>, _>(2)
                        .map(|b| Hll::from_bytes(&b))
                        .unwrap_or_default();
                    let query: Option<String> = r.get(3);
                    let query: FormShape = query
                        .and_then(|q| serde_json::from_str(&q).ok())
                        .unwrap_or_default();
                    (
                        r.get::<i64, _>(0),
                        hist,
                        hll,
                        query,
                        r.get::<i64, _>(4) != 0,
                    )
                }
                None => {
                    let success = d.status.keys().any(|s| (200..400).contains(s));
                    let junk = d.requests <= 2 && !success;
                    // Over the size budget, new rows come only in place of junk, and only
                    // with more evidence than it (a second call): one call in place of
                    // another would be churn.
                    let closed = !self.admits_new() || room < per_endpoint;
                    room -= per_endpoint;
                    if closed && (junk || d.requests <= 1) {
                        report.dropped += 1;
                        continue;
                    }
                    if total >= self.limits.max_endpoints || closed {
                        // Room is made by evidence: an endpoint with a request or two that was
                        // never answered with success goes before an endpoint with traffic.
                        let victim = if junk || evictions >= MAX_EVICTIONS_PER_FLUSH {
                            None
                        } else {
                            evictions += 1;
                            evictable_endpoint(&mut tx, &d.key.host, d.requests, success).await?
                        };
                        match victim {
                            Some(v) => {
                                sqlx::query("DELETE FROM endpoints WHERE id = ?")
                                    .bind(v)
                                    .execute(&mut *tx)
                                    .await?;
                                sqlx::query("DELETE FROM transitions WHERE from_endpoint = ?1 OR to_endpoint = ?1")
                                    .bind(v)
                                    .execute(&mut *tx)
                                    .await?;
                                sqlx::query("DELETE FROM sequence_paths WHERE step1 = ?1 OR step2 = ?1 OR step3 = ?1")
                                    .bind(v)
                                    .execute(&mut *tx)
                                    .await?;
                                total -= 1;
                                report.evicted += 1;
                            }
                            None => {
                                report.dropped += 1;
                                continue;
                            }
                        }
                    }
                    total += 1;
                    report.created += 1;
                    let id: i64 = sqlx::query(
                        "INSERT INTO endpoints (host, method, path_template, template_rule, template_confidence, template_explain, example_path, first_seen, last_seen)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    )
                    .bind(&d.key.host)
                    .bind(&d.key.method)
                    .bind(&d.key.template)
                    .bind(&d.rule)
                    .bind(f64::from(d.confidence))
                    .bind(if d.explain.is_empty() { "[]" } else { d.explain.as_str() })
                    .bind(&d.example_path)
                    .bind(d.first_seen.as_nanos())
                    .bind(d.last_seen.as_nanos())
                    .fetch_one(&mut *tx)
                    .await?
                    .get(0);
                    (
                        id,
                        new_latency_histogram(),
                        Hll::default(),
                        FormShape::default(),
                        false,
                    )
                }
            };
            ids.insert(&d.key, id);
            // Over the size budget, no new client rows (the sketch still counts them).
            let max_clients = if self.admits_new() && room > 0 {
                self.limits.max_clients_per_endpoint
            } else {
                0
            };
            let (dropped, evicted) =
                merge_one(&mut tx, id, d, hist, hll, query, capped, max_clients).await?;
            report.clients_dropped += dropped;
            report.clients_evicted += evicted;
        }
        let admit = self.admits_new() && room > 0;
        merge_sequences(&mut tx, drain, &mut ids, &mut report, admit).await?;
        report.sequences_trimmed += trim(
            &mut tx,
            "transitions",
            "(from_endpoint, to_endpoint) IN (SELECT from_endpoint, to_endpoint FROM transitions ORDER BY count ASC, last_seen ASC LIMIT ?)",
            self.limits.max_transitions,
        )
        .await?;
        report.sequences_trimmed += trim(
            &mut tx,
            "sequence_paths",
            "(step1, step2, step3) IN (SELECT step1, step2, step3 FROM sequence_paths ORDER BY count ASC, last_seen ASC LIMIT ?)",
            self.limits.max_sequence_paths,
        )
        .await?;
        if let Some(book) = drain.book.as_deref()
            && !drain.changed_hosts.is_empty()
        {
            let r = super::retemplate::retemplate_hosts(
                &mut super::db::Conn::Sqlite(&mut tx),
                book,
                &drain.changed_hosts,
                self.limits.max_clients_per_endpoint,
            )
            .await?;
            report.retemplated += r.renamed + r.merged;
            report.merged += r.merged;
        }
        let tls = super::tls::merge_tls(
            &mut tx,
            &drain.tls,
            super::tls::TlsLimits {
                max_services: self.limits.max_tls_services,
                max_clients: self.limits.max_clients_per_endpoint,
                admit_new: self.admits_new(),
            },
        )
        .await?;
        report.tls_services_dropped += tls.services_dropped;
        report.tls_clients_dropped += tls.clients_dropped;
        super::triage::reopen_seen_again(
            &mut super::db::Conn::Sqlite(&mut tx),
            crate::time::Timestamp::now().as_nanos(),
        )
        .await?;
        self.write_outbox(&mut tx, drain).await?;
        if let Some((capture, packets)) = progress {
            sqlx::query("UPDATE captures SET committed_packets = ? WHERE id = ?")
                .bind(i64::try_from(packets).unwrap_or(i64::MAX))
                .bind(capture)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}

/// Bytes a new endpoint row and its detail rows take at least (for the size budget); the
/// estimate used is the larger of this and what an endpoint takes in the database so far.
const NEW_ENDPOINT_BYTES: i64 = 2048;

impl Store {
    /// What the next flush may add under the size budget: half of what is left below 90% of
    /// it (so that an estimate off by up to 2x cannot overshoot, and the room shrinks
    /// geometrically as the budget fills), and the bytes a new endpoint is expected to take
    /// (measured on the database: pages in use per endpoint). `i64::MAX` without a budget.
    async fn room(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        endpoints: i64,
    ) -> Result<(i64, i64), StoreError> {
        let budget = self.budget_bytes();
        if budget == 0 {
            return Ok((i64::MAX, NEW_ENDPOINT_BYTES));
        }
        let mut v = [0i64; 3];
        for (i, p) in ["page_size", "page_count", "freelist_count"]
            .iter()
            .enumerate()
        {
            v[i] = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {p}")))
                .fetch_one(&mut **tx)
                .await?;
        }
        let used = (v[1] - v[2]).max(0) * v[0].max(0);
        // With few endpoints the schema's own pages dominate; twice the floor until then.
        let per = if endpoints >= 64 {
            (used / endpoints).max(NEW_ENDPOINT_BYTES)
        } else {
            2 * NEW_ENDPOINT_BYTES
        };
        Ok((((budget / 10 * 9) as i64 - used) / 2, per))
    }
}

/// Evictions one flush may make (each looks over the whole table); new endpoints beyond them
/// are dropped and counted.
const MAX_EVICTIONS_PER_FLUSH: u32 = 256;

/// An endpoint that may go to make room (at `max_endpoints` or over the size budget) for a new
/// one of `host` called `requests` times, `success` when answered 2xx/3xx. Never a documented
/// one. First one of less evidence (fewer calls, or as many and never answered with
/// success), taken from the host that holds the most endpoints; failing that, when `host`
/// holds fewer endpoints than that host less one, the least called and longest unseen endpoint
/// of that host: a fair share per host, so that traffic that looks real (answered, called
/// often) spread over many names cannot keep a new host out. The caller admits only new
/// endpoints of two calls or more here.
async fn evictable_endpoint(
    tx: &mut Transaction<'_, Sqlite>,
    host: &str,
    requests: u64,
    success: bool,
) -> Result<Option<i64>, StoreError> {
    let weaker: Option<i64> = sqlx::query_scalar(
        "WITH c AS (SELECT e.id, e.host, e.request_count, e.last_seen,
                           EXISTS (SELECT 1 FROM endpoint_status s WHERE s.endpoint_id = e.id
                                   AND s.status BETWEEN 200 AND 399) AS ok
                    FROM endpoints e
                    WHERE coalesce(e.documented, 0) = 0 AND e.request_count <= ?1),
              h AS (SELECT host, COUNT(*) AS n FROM endpoints GROUP BY host)
         SELECT c.id FROM c JOIN h ON h.host = c.host
         WHERE c.request_count < ?1 OR (?2 AND NOT c.ok)
         ORDER BY h.n DESC, c.ok, c.request_count, c.last_seen LIMIT 1",
    )
    .bind(i64::try_from(requests).unwrap_or(i64::MAX))
    .bind(success)
    .fetch_optional(&mut **tx)
    .await?;
    if weaker.is_some() || !success {
        return Ok(weaker);
    }
    let mine: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM endpoints WHERE host = ?")
        .bind(host)
        .fetch_one(&mut **tx)
        .await?;
    let largest: Option<(String, i64)> = sqlx::query_as(
        "SELECT host, COUNT(*) AS n FROM endpoints WHERE coalesce(documented, 0) = 0
         GROUP BY host ORDER BY n DESC LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?;
    match largest {
        Some((big, n)) if mine + 1 < n => Ok(sqlx::query_scalar(
            "SELECT id FROM endpoints WHERE host = ? AND coalesce(documented, 0) = 0
             ORDER BY request_count, last_seen LIMIT 1",
        )
        .bind(big)
        .fetch_optional(&mut **tx)
        .await?),
        _ => Ok(None),
    }
}

/// Deletes the least used rows of `table` beyond `cap` (`which` selects them, its `?` is the
/// number to delete). Returns the rows deleted.
async fn trim(
    tx: &mut Transaction<'_, Sqlite>,
    table: &str,
    which: &str,
    cap: i64,
) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut **tx)
        .await?;
    if n <= cap {
        return Ok(0);
    }
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {table} WHERE {which}"
    )))
    .bind(n - cap)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected())
}

/// The id of an endpoint by key (cached for the flush); `None` when it is not stored (over the
/// endpoint cap).
async fn endpoint_id<'k>(
    tx: &mut Transaction<'_, Sqlite>,
    ids: &mut HashMap<&'k EndpointKey, i64>,
    key: &'k EndpointKey,
) -> Result<Option<i64>, StoreError> {
    if let Some(id) = ids.get(key) {
        return Ok(Some(*id));
    }
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM endpoints WHERE host = ? AND method = ? AND path_template = ?",
    )
    .bind(&key.host)
    .bind(&key.method)
    .bind(&key.template)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        ids.insert(key, id);
    }
    Ok(id)
}

/// Transitions and paths: counts add up, principal sketches merge.
async fn merge_sequences<'k>(
    tx: &mut Transaction<'_, Sqlite>,
    drain: &'k InventoryDrain,
    ids: &mut HashMap<&'k EndpointKey, i64>,
    report: &mut FlushReport,
    admit: bool,
) -> Result<(), StoreError> {
    let mut rows = Vec::with_capacity(drain.transitions.len());
    for (from, to, t) in &drain.transitions {
        let (Some(f), Some(g)) = (
            endpoint_id(tx, ids, from).await?,
            endpoint_id(tx, ids, to).await?,
        ) else {
            continue;
        };
        let prev: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT clients_hll FROM transitions WHERE from_endpoint = ? AND to_endpoint = ?",
        )
        .bind(f)
        .bind(g)
        .fetch_optional(&mut **tx)
        .await?;
        if prev.is_none() && !admit {
            report.sequences_trimmed += 1;
            continue;
        }
        let mut hll = prev
            .flatten()
            .map(|b| Hll::from_bytes(&b))
            .unwrap_or_default();
        hll.merge(&t.principals);
        rows.push(vec![
            V::I(f),
            V::I(g),
            V::I(t.count as i64),
            V::I(hll.estimate().max(1) as i64),
            V::I(t.first_seen.as_nanos()),
            V::I(t.last_seen.as_nanos()),
            V::B(hll.to_bytes()),
            V::I(t.gap_sum_ms.min(i64::MAX as u64) as i64),
        ]);
        report.transitions += 1;
    }
    upsert(
        tx,
        "transitions (from_endpoint, to_endpoint, count, clients, first_seen, last_seen, clients_hll, gap_sum_ms)",
        "ON CONFLICT (from_endpoint, to_endpoint) DO UPDATE SET count = count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
            gap_sum_ms = gap_sum_ms + excluded.gap_sum_ms",
        rows,
    )
    .await?;
    let mut rows = Vec::with_capacity(drain.paths.len());
    for (steps, p) in &drain.paths {
        let mut s = [0i64; 3];
        let mut all = true;
        for (i, k) in steps.iter().enumerate() {
            match endpoint_id(tx, ids, k).await? {
                Some(id) => s[i] = id,
                None => all = false,
            }
        }
        if !all {
            continue;
        }
        let prev: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT clients_hll FROM sequence_paths WHERE step1 = ? AND step2 = ? AND step3 = ?",
        )
        .bind(s[0])
        .bind(s[1])
        .bind(s[2])
        .fetch_optional(&mut **tx)
        .await?;
        if prev.is_none() && !admit {
            report.sequences_trimmed += 1;
            continue;
        }
        let mut hll = prev
            .flatten()
            .map(|b| Hll::from_bytes(&b))
            .unwrap_or_default();
        hll.merge(&p.principals);
        rows.push(vec![
            V::I(s[0]),
            V::I(s[1]),
            V::I(s[2]),
            V::I(p.count as i64),
            V::I(hll.estimate().max(1) as i64),
            V::B(hll.to_bytes()),
            V::I(p.first_seen.as_nanos()),
            V::I(p.last_seen.as_nanos()),
        ]);
        report.paths += 1;
    }
    upsert(
        tx,
        "sequence_paths (step1, step2, step3, count, clients, clients_hll, first_seen, last_seen)",
        "ON CONFLICT (step1, step2, step3) DO UPDATE SET count = count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
        rows,
    )
    .await?;
    Ok(())
}

/// A value bound into a batched statement.
pub(crate) enum V {
    I(i64),
    T(String),
    B(Vec<u8>),
    N,
}

/// A query parameter's row after a merge (both backends write these).
pub(crate) struct QueryParamRow {
    pub name: String,
    /// Its value types, comma-separated (`string` when none was told).
    pub types: String,
    pub present: i64,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// The query parameters' rows from the merged shape `merged`: the times are carried over from
/// `times` (the stored rows), a parameter `batch` did not carry keeps its own, one it did gets
/// the batch's `first` and `last`.
pub(crate) fn query_param_rows(
    merged: &FormShape,
    batch: &FormShape,
    times: &HashMap<String, (Option<i64>, Option<i64>)>,
    first: i64,
    last: i64,
) -> Vec<QueryParamRow> {
    merged
        .fields
        .iter()
        .map(|(name, f)| {
            let in_batch = batch.fields.contains_key(name);
            let (first_seen, last_seen) = match (times.get(name), in_batch) {
                (Some(&(f0, l0)), false) => (f0, l0),
                (Some(&(f0, l0)), true) => (
                    f0.map(|f0| f0.min(first)),
                    Some(l0.map_or(last, |l0| l0.max(last))),
                ),
                (None, _) => (Some(first), Some(last)),
            };
            let types: Vec<&str> = f.types.types().iter().map(|t| t.name()).collect();
            QueryParamRow {
                name: name.clone(),
                types: if types.is_empty() {
                    "string".to_string()
                } else {
                    types.join(",")
                },
                present: i64::try_from(f.present).unwrap_or(i64::MAX),
                first_seen,
                last_seen,
            }
        })
        .collect()
}

/// A finding's severity on an endpoint of `scope`: a static endpoint ranks the kinds of
/// `STATIC_LOWERED_KINDS` low.
pub(crate) fn finding_severity(kind: &str, scope: &str) -> crate::analyze::posture::Severity {
    if scope == "static" && super::scope::STATIC_LOWERED_KINDS.contains(&kind) {
        crate::analyze::posture::Severity::Low
    } else {
        crate::analyze::posture::severity(kind)
    }
}

/// A finding an assessment computes over the whole inventory (scanner probes, shadow APIs,
/// TLS, the code's join, ...), written by [`upsert_assessed`]: a row again with the same
/// identity keeps its id (and so its triage) and takes the new figures.
pub(crate) struct AssessedFinding<'a> {
    /// Kind (its severity is the kind's).
    pub kind: &'a str,
    /// Host (`None`: none, NULL).
    pub host: Option<&'a str>,
    /// Method, for a finding on an endpoint.
    pub method: Option<&'a str>,
    /// Path template, for a finding on an endpoint.
    pub path_template: Option<&'a str>,
    /// Client, for a finding on a principal.
    pub client: Option<&'a str>,
    /// Plain words.
    pub detail: &'a str,
    /// What was seen (redacted).
    pub evidence: &'a str,
    /// Occurrences.
    pub count: i64,
    /// First occurrence (ns).
    pub first_seen: i64,
    /// Last occurrence (ns).
    pub last_seen: i64,
    /// Its identity ([`finding_key`]).
    pub key: String,
}

/// Inserts an assessed finding, or updates the row of the same identity.
pub(crate) async fn upsert_assessed(
    c: &mut super::db::Conn<'_>,
    f: &AssessedFinding<'_>,
) -> Result<(), StoreError> {
    c.query(
        "INSERT INTO findings (kind, severity, host, method, path_template, client, detail, evidence, count, first_seen, last_seen, dedup_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (dedup_key) DO UPDATE SET host = excluded.host, detail = excluded.detail, evidence = excluded.evidence,
            count = excluded.count, first_seen = excluded.first_seen, last_seen = excluded.last_seen",
    )
    .bind(f.kind)
    .bind(crate::analyze::posture::severity(f.kind).name())
    .bind(f.host)
    .bind(f.method)
    .bind(f.path_template)
    .bind(f.client)
    .bind(f.detail)
    .bind(f.evidence)
    .bind(f.count)
    .bind(f.first_seen)
    .bind(f.last_seen)
    .bind(f.key.as_str())
    .execute()
    .await?;
    Ok(())
}

/// The identity of a finding: one row per kind, endpoint and (for per-client kinds) client.
pub fn finding_key(kind: &str, host: &str, method: &str, template: &str, client: &str) -> String {
    format!("{kind}|{host}|{method}|{template}|{client}")
}

/// `INSERT INTO <target> VALUES (...), (...) <conflict>` in chunks: one round trip to SQLite's
/// worker thread per few hundred rows instead of one per row.
pub(super) async fn upsert(
    tx: &mut Transaction<'_, Sqlite>,
    target: &str,
    conflict: &str,
    rows: Vec<Vec<V>>,
) -> Result<(), StoreError> {
    upsert_on(&mut super::db::Conn::Sqlite(tx), target, conflict, rows).await
}

/// [`upsert`] on either backend. [`V::N`] is a NULL integer (PostgreSQL types its NULLs).
pub(super) async fn upsert_on(
    c: &mut super::db::Conn<'_>,
    target: &str,
    conflict: &str,
    rows: Vec<Vec<V>>,
) -> Result<(), StoreError> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    let tuple = format!("({})", vec!["?"; width].join(", "));
    let per = (900 / width.max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let sql = format!(
            "INSERT INTO {target} VALUES {} {conflict}",
            vec![tuple.as_str(); chunk.len()].join(", ")
        );
        let mut q = c.query(sql);
        for v in chunk.into_iter().flatten() {
            q = match v {
                V::I(i) => q.bind(i),
                V::T(t) => q.bind(t),
                V::B(b) => q.bind(b),
                V::N => q.bind(None::<i64>),
            };
        }
        q.execute().await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn merge_one(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    d: &EndpointDelta,
    mut hist: Histogram<u32>,
    mut hll: Hll,
    query: FormShape,
    mut capped: bool,
    max_clients: i64,
) -> Result<(u64, u64), StoreError> {
    let (mut clients_dropped, mut clients_evicted) = (0u64, 0u64);
    d.latency
        .add_to(&mut hist)
        .map_err(|e| StoreError::Corrupt(format!("latency histogram: {e:?}")))?;
    hll.merge(&d.clients_hll);
    let query = merge_form(&query, &d.query);

    // Clients, up to the per-endpoint cap: known ones are updated, new ones added while there
    // is room.
    let known: std::collections::HashSet<String> =
        sqlx::query("SELECT client FROM endpoint_clients WHERE endpoint_id = ?")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    let mut room = max_clients - known.len() as i64;
    let mut rows = Vec::new();
    for (ip, c) in &d.clients {
        let ip = ip.to_string();
        if !known.contains(&ip) {
            if room <= 0 && c.count >= 2 {
                // Kept by evidence: a client seen once, longest ago, makes room for a busier
                // one (the sketch still counts both).
                let gone = sqlx::query(
                    "DELETE FROM endpoint_clients WHERE endpoint_id = ?1 AND client = (
                        SELECT client FROM endpoint_clients WHERE endpoint_id = ?1 AND count = 1
                        ORDER BY last_seen LIMIT 1)",
                )
                .bind(id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                room += gone as i64;
                clients_evicted += gone;
                capped = true;
            }
            if room <= 0 {
                capped = true;
                clients_dropped += 1;
                continue;
            }
            room -= 1;
        }
        rows.push(vec![
            V::I(id),
            V::T(ip),
            V::I(c.count as i64),
            V::I(c.first_seen.as_nanos()),
            V::I(c.last_seen.as_nanos()),
        ]);
    }
    upsert(
        tx,
        "endpoint_clients (endpoint_id, client, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, client) DO UPDATE SET count = count + excluded.count,
            first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
        rows,
    )
    .await?;
    capped |= d.clients_over_cap;

    sqlx::query(
        "UPDATE endpoints SET
            first_seen = coalesce(min(first_seen, ?1), ?1), last_seen = coalesce(max(last_seen, ?2), ?2),
            request_count = request_count + ?3, response_count = response_count + ?4, error_count = error_count + ?5,
            bytes_in = bytes_in + ?6, bytes_out = bytes_out + ?7,
            clients_hll = ?8, clients_capped = ?9, client_estimate = ?10,
            latency_hist = ?11, p50_ms = ?12, p90_ms = ?13, p99_ms = ?14, query_shape = ?15
         WHERE id = ?16",
    )
    .bind(d.first_seen.as_nanos())
    .bind(d.last_seen.as_nanos())
    .bind(d.requests as i64)
    .bind(d.responses as i64)
    .bind(d.errors as i64)
    .bind(d.bytes_in as i64)
    .bind(d.bytes_out as i64)
    .bind(hll.to_bytes())
    .bind(i64::from(capped))
    .bind(hll.estimate() as i64)
    .bind(hist_bytes(&hist)?)
    .bind(quantile_ms(&hist, 0.5))
    .bind(quantile_ms(&hist, 0.9))
    .bind(quantile_ms(&hist, 0.99))
    .bind(serde_json::to_string(&query).ok())
    .bind(id)
    .execute(&mut **tx)
    .await?;

    upsert(
        tx,
        "endpoint_status (endpoint_id, status, count)",
        "ON CONFLICT (endpoint_id, status) DO UPDATE SET count = count + excluded.count",
        d.status
            .iter()
            .map(|(s, n)| vec![V::I(id), V::I(i64::from(*s)), V::I(*n as i64)])
            .collect(),
    )
    .await?;

    // Parameters: path parameters from the template, query parameters from the merged shape.
    let (first, last) = (d.first_seen.as_nanos(), d.last_seen.as_nanos());
    upsert(
        tx,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        // Times (migration 0014): the earliest first and latest last; a row from before 0014
        // keeps its unknown (NULL) first_seen.
        "ON CONFLICT (endpoint_id, location, name) DO UPDATE SET present = present + excluded.present,
            first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(coalesce(last_seen, excluded.last_seen), excluded.last_seen)",
        d.path_params
            .iter()
            .map(|(name, kind)| vec![V::I(id), V::T("path".into()), V::T(name.clone()), V::T((*kind).into()), V::I(d.requests as i64), V::I(first), V::I(last)])
            .collect(),
    )
    .await?;
    // Query parameters are rewritten from the merged shape: their times are carried over (a
    // parameter this batch did not carry keeps its own; one it did gets the batch's).
    let times: HashMap<String, (Option<i64>, Option<i64>)> = sqlx::query(
        "SELECT name, first_seen, last_seen FROM endpoint_params WHERE endpoint_id = ? AND location = 'query'",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| (r.get(0), (r.get(1), r.get(2))))
    .collect();
    // Rows of names the merged shape no longer holds go; the others are updated in place (a
    // delete and re-insert of every row would move the change feed's kept counts each flush).
    let names: Vec<&str> = query.fields.keys().map(String::as_str).collect();
    sqlx::query(
        "DELETE FROM endpoint_params WHERE endpoint_id = ? AND location = 'query'
         AND name NOT IN (SELECT value FROM json_each(?))",
    )
    .bind(id)
    .bind(serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()))
    .execute(&mut **tx)
    .await?;
    let opt = |v: Option<i64>| v.map_or(V::N, V::I);
    upsert(
        tx,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, location, name) DO UPDATE SET types = excluded.types,
            present = excluded.present, first_seen = excluded.first_seen, last_seen = excluded.last_seen",
        query_param_rows(&query, &d.query, &times, first, last)
            .into_iter()
            .map(|p| {
                vec![
                    V::I(id),
                    V::T("query".into()),
                    V::T(p.name),
                    V::T(p.types),
                    V::I(p.present),
                    opt(p.first_seen),
                    opt(p.last_seen),
                ]
            })
            .collect(),
    )
    .await?;

    // Bodies: their shapes are merged with the stored ones.
    for ((dir, status, ct), b) in &d.bodies {
        let prev = sqlx::query(
            "SELECT shape, count, samples FROM endpoint_bodies WHERE endpoint_id = ? AND direction = ? AND status = ? AND content_type = ?",
        )
        .bind(id)
        .bind(dir.name())
        .bind(i64::from(*status))
        .bind(ct)
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
        let count = count + b.count as i64;
        let samples = samples + b.samples as i64;
        let (shape_json, schema) = merged_body_shape(
            prev_shape.as_deref(),
            b.json.as_ref(),
            b.form.as_ref(),
            samples as u64,
        );
        sqlx::query(
            "INSERT INTO endpoint_bodies (endpoint_id, direction, status, content_type, count, samples, shape, schema)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (endpoint_id, direction, status, content_type)
             DO UPDATE SET count = excluded.count, samples = excluded.samples, shape = excluded.shape, schema = excluded.schema",
        )
        .bind(id)
        .bind(dir.name())
        .bind(i64::from(*status))
        .bind(ct)
        .bind(count)
        .bind(samples)
        .bind(shape_json)
        .bind(schema)
        .execute(&mut **tx)
        .await?;
    }

    upsert(
        tx,
        "endpoint_auth (endpoint_id, scheme, location, count, ok_count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, scheme, location) DO UPDATE SET count = count + excluded.count, ok_count = ok_count + excluded.ok_count,
            first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(coalesce(last_seen, excluded.last_seen), excluded.last_seen)",
        d.auth
            .iter()
            .map(|((scheme, location), (n, ok))| {
                vec![V::I(id), V::T(scheme.name().into()), V::T(location.clone()), V::I(*n as i64), V::I(*ok as i64), V::I(first), V::I(last)]
            })
            .collect(),
    )
    .await?;

    upsert(
        tx,
        "endpoint_sensitive (endpoint_id, class, location, field, count, example, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, class, location, field) DO UPDATE SET
            count = count + excluded.count, first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(last_seen, excluded.last_seen)",
        d.sensitive
            .iter()
            .map(|((class, location, field), s)| {
                vec![
                    V::I(id),
                    V::T(class.name().into()),
                    V::T((*location).into()),
                    V::T(field.clone()),
                    V::I(s.count as i64),
                    V::T(s.example.clone()),
                    V::I(s.first_seen.as_nanos()),
                    V::I(s.last_seen.as_nanos()),
                ]
            })
            .collect(),
    )
    .await?;

    // The endpoint's scope, as the last assessment decided it: an ignored endpoint stores no
    // finding, a static one stores the kinds ranked low on static content as low (the
    // assessment adds the reason to the detail).
    let scope: String = if d.findings.is_empty() {
        String::new()
    } else {
        sqlx::query_scalar("SELECT scope FROM endpoints WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_default()
    };
    upsert(
        tx,
        "findings (kind, severity, host, method, path_template, client, detail, evidence, count, first_seen, last_seen, dedup_key)",
        "ON CONFLICT (dedup_key) DO UPDATE SET count = count + excluded.count, first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(last_seen, excluded.last_seen), detail = excluded.detail, evidence = excluded.evidence",
        d.findings
            .values()
            .filter(|_| scope != "ignored")
            .map(|f| {
                let client = f.client.clone().unwrap_or_default();
                let severity = finding_severity(f.kind, &scope);
                vec![
                    V::T(f.kind.into()),
                    V::T(severity.name().into()),
                    V::T(d.key.host.clone()),
                    V::T(d.key.method.clone()),
                    V::T(d.key.template.clone()),
                    if client.is_empty() { V::N } else { V::T(client.clone()) },
                    V::T(f.detail.clone()),
                    V::T(f.evidence.clone()),
                    V::I(f.count as i64),
                    V::I(f.first_seen.as_nanos()),
                    V::I(f.last_seen.as_nanos()),
                    V::T(finding_key(f.kind, &d.key.host, &d.key.method, &d.key.template, &client)),
                ]
            })
            .collect(),
    )
    .await?;

    upsert(
        tx,
        "endpoint_minutes (endpoint_id, minute, count, errors)",
        "ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = count + excluded.count, errors = errors + excluded.errors",
        d.minutes.iter().map(|(m, (n, e))| vec![V::I(id), V::I(*m), V::I(*n as i64), V::I(*e as i64)]).collect(),
    )
    .await?;
    upsert(
        tx,
        "endpoint_sources (endpoint_id, source, count, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, source) DO UPDATE SET count = count + excluded.count, first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)",
        d.sources
            .iter()
            .map(|(o, s)| {
                vec![
                    V::I(id),
                    V::T(o.as_str().to_string()),
                    V::I(s.count as i64),
                    V::I(s.first_seen.as_nanos()),
                    V::I(s.last_seen.as_nanos()),
                ]
            })
            .collect(),
    )
    .await?;
    merge_grpc(tx, id, d).await?;
    if let Some(w) = d.websocket.as_deref() {
        super::websocket::merge_websocket(&mut super::db::Conn::Sqlite(tx), id, w).await?;
    }
    Ok((clients_dropped, clients_evicted))
}

/// The endpoint's protocol (an API protocol stays when a later flush saw only HTTP) and a
/// gRPC method's figures.
async fn merge_grpc(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    d: &EndpointDelta,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE endpoints SET
            protocol = CASE WHEN protocol IN ('grpc', 'graphql', 'websocket')
                             AND ?1 NOT IN ('grpc', 'graphql', 'websocket') THEN protocol ELSE ?1 END,
            grpc_service = coalesce(?2, grpc_service), grpc_method = coalesce(?3, grpc_method)
         WHERE id = ?4",
    )
    .bind(d.protocol.name())
    .bind(d.grpc.as_ref().map(|g| g.service.as_str()))
    .bind(d.grpc.as_ref().map(|g| g.method.as_str()))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    let Some(g) = d.grpc.as_ref() else {
        return Ok(());
    };
    let size = |s: Option<(u32, u32)>, hi: bool| match s {
        Some((l, h)) => V::I(i64::from(if hi { h } else { l })),
        None => V::N,
    };
    upsert(
        tx,
        "endpoint_grpc (endpoint_id, service, method, service_kind, client_streamed, server_streamed, calls,
            messages_in, messages_out, request_size_min, request_size_max, response_size_min, response_size_max,
            compressed_messages, truncated_bodies)",
        "ON CONFLICT (endpoint_id) DO UPDATE SET
            client_streamed = max(client_streamed, excluded.client_streamed),
            server_streamed = max(server_streamed, excluded.server_streamed),
            calls = calls + excluded.calls,
            messages_in = messages_in + excluded.messages_in,
            messages_out = messages_out + excluded.messages_out,
            request_size_min = min(coalesce(request_size_min, excluded.request_size_min), coalesce(excluded.request_size_min, request_size_min)),
            request_size_max = max(coalesce(request_size_max, excluded.request_size_max), coalesce(excluded.request_size_max, request_size_max)),
            response_size_min = min(coalesce(response_size_min, excluded.response_size_min), coalesce(excluded.response_size_min, response_size_min)),
            response_size_max = max(coalesce(response_size_max, excluded.response_size_max), coalesce(excluded.response_size_max, response_size_max)),
            compressed_messages = compressed_messages + excluded.compressed_messages,
            truncated_bodies = truncated_bodies + excluded.truncated_bodies",
        vec![vec![
            V::I(id),
            V::T(g.service.clone()),
            V::T(g.method.clone()),
            V::T(g.service_kind().name().to_string()),
            V::I(i64::from(g.client_streamed)),
            V::I(i64::from(g.server_streamed)),
            V::I(g.calls as i64),
            V::I(g.messages_in as i64),
            V::I(g.messages_out as i64),
            size(g.in_sizes, false),
            size(g.in_sizes, true),
            size(g.out_sizes, false),
            size(g.out_sizes, true),
            V::I(g.compressed as i64),
            V::I(g.truncated as i64),
        ]],
    )
    .await?;
    upsert(
        tx,
        "endpoint_grpc_status (endpoint_id, status, count)",
        "ON CONFLICT (endpoint_id, status) DO UPDATE SET count = count + excluded.count",
        g.status
            .iter()
            .map(|(s, n)| vec![V::I(id), V::I(s.map_or(-1, i64::from)), V::I(*n as i64)])
            .collect(),
    )
    .await?;
    Ok(())
}

/// The stored shape is `{"json": Shape}` or `{"form": FormShape}`; returns it merged with the
/// delta's and the JSON Schema that describes it.
pub(crate) fn merged_body_shape(
    prev: Option<&str>,
    json: Option<&Shape>,
    form: Option<&FormShape>,
    samples: u64,
) -> (Option<String>, Option<String>) {
    #[derive(serde::Serialize, serde::Deserialize, Default)]
    struct Stored {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        json: Option<Shape>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        form: Option<FormShape>,
    }
    let mut st: Stored = prev
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    if let Some(j) = json {
        st.json = Some(match st.json.take() {
            Some(a) => shape::merge(&a, j),
            None => j.clone(),
        });
    }
    if let Some(f) = form {
        st.form = Some(match st.form.take() {
            Some(a) => merge_form(&a, f),
            None => f.clone(),
        });
    }
    let schema = if let Some(j) = &st.json {
        Some(shape::to_json_schema(
            j,
            j.samples.max(samples.min(j.samples)),
        ))
    } else {
        st.form.as_ref().map(|f| form_to_json_schema(f, f.samples))
    };
    if st.json.is_none() && st.form.is_none() {
        return (None, None);
    }
    (
        serde_json::to_string(&st).ok(),
        schema.map(|s| s.to_string()),
    )
}
