//! Re-templating stored endpoints when the template learner changes its mind.
//!
//! The learner only ever generalises (`/users/alice` → `/users/{user}`), so a stored row is
//! either renamed (no row has the new template yet) or merged into the row that has it:
//! counts, status codes, clients, latency histograms, the distinct-client sketch, query and
//! body shapes, auth schemes, sensitive data, per-minute counts, findings, transitions and
//! three-call paths add up, first/last seen widen, and spec links follow. The merged row's
//! id is recorded in `endpoint_aliases`, so `/endpoints/{old id}` still leads to the
//! survivor. Nothing is lost and nothing is counted twice.

use super::db::{Conn, DbRow};
use super::write::{
    V, finding_key, hist_bytes, hist_from, merged_body_shape, quantile_ms, query_param_rows,
    upsert_on,
};
use super::{Store, StoreError};
use crate::analyze::form::{FormShape, merge_form};
use crate::analyze::hll::Hll;
use crate::analyze::template::TemplateMatch;
use crate::analyze::template::book::TemplateBook;
use sqlx::Row;
use std::collections::HashMap;

/// Rows looked at per host and flush (the endpoint cap bounds it anyway).
const MAX_ROWS_PER_HOST: i64 = 200_000;

/// What re-templating did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetemplateReport {
    /// Rows given a new template (no row had it yet).
    pub renamed: u64,
    /// Rows merged into the row with the new template.
    pub merged: u64,
}

/// Re-templates the stored endpoints of `hosts` with `book` (inside the caller's
/// transaction). gRPC endpoints are left alone: a method's path is its name, never a template.
pub(super) async fn retemplate_hosts(
    c: &mut Conn<'_>,
    book: &TemplateBook,
    hosts: &[String],
    max_clients: i64,
) -> Result<RetemplateReport, StoreError> {
    let mut report = RetemplateReport::default();
    for host in hosts {
        let rows = stored_templates(c, host).await?;
        let r = retemplate_rows(
            c,
            host,
            &rows,
            max_clients,
            |r, base| book.retemplate(host, base, Some(&r.example)),
            |_, _| {},
        )
        .await?;
        report.renamed += r.renamed;
        report.merged += r.merged;
    }
    Ok(report)
}

/// A stored endpoint that re-templating may move.
pub(crate) struct StoredTemplate {
    /// Row id.
    pub id: i64,
    /// Method.
    pub method: String,
    /// Its template now.
    pub template: String,
    /// A concrete path of it.
    pub example: String,
    /// Per-segment rules it was decided by (`/`-joined).
    pub rule: String,
    /// Requests.
    pub requests: i64,
}

/// The endpoints of `host` that templates apply to (not documented, seen, not gRPC), oldest
/// first.
pub(crate) async fn stored_templates(
    c: &mut Conn<'_>,
    host: &str,
) -> Result<Vec<StoredTemplate>, StoreError> {
    let rows = c
        .query(
            "SELECT id, method, path_template, example_path, coalesce(template_rule, ''), request_count
             FROM endpoints
             WHERE host = ? AND coalesce(documented, 0) = 0 AND request_count > 0
               AND coalesce(protocol, '') <> 'grpc'
             ORDER BY id LIMIT ?",
        )
        .bind(host)
        .bind(MAX_ROWS_PER_HOST)
        .fetch_all()
        .await?;
    Ok(rows
        .iter()
        .map(|r| StoredTemplate {
            id: r.get(0),
            method: r.get(1),
            template: r.get(2),
            example: r.get(3),
            rule: r.get(4),
            requests: r.get(5),
        })
        .collect())
}

/// Re-templates `rows` (of `host`) with `current`, which gives a row's current template
/// from the row and its URL part (`None`: still current). `moved` is told each move (the
/// row, its new template).
pub(crate) async fn retemplate_rows(
    c: &mut Conn<'_>,
    host: &str,
    rows: &[StoredTemplate],
    max_clients: i64,
    current: impl Fn(&StoredTemplate, &str) -> Option<TemplateMatch>,
    mut moved: impl FnMut(&StoredTemplate, &str),
) -> Result<RetemplateReport, StoreError> {
    let mut report = RetemplateReport::default();
    for r in rows {
        // A GraphQL operation's endpoint (`/graphql#query GetUser`): its URL part is
        // re-templated, its operation stays.
        let base = r
            .template
            .split_once('#')
            .map_or(r.template.as_str(), |(b, _)| b);
        let Some(mut m) = current(r, base) else {
            continue;
        };
        m.template = crate::analyze::inventory::with_operation(&m.template, &r.template);
        if m.template == r.template {
            continue;
        }
        // The row may be gone already (merged as the target of an earlier move).
        let alive: Option<i64> = c
            .query("SELECT id FROM endpoints WHERE id = ?")
            .bind(r.id)
            .fetch_optional_scalar()
            .await?;
        if alive.is_none() {
            continue;
        }
        if move_endpoint(c, r.id, host, &r.method, &r.template, &m, max_clients).await? {
            report.merged += 1;
        } else {
            report.renamed += 1;
        }
        moved(r, &m.template);
    }
    Ok(report)
}

/// Gives endpoint `id` (stored as `host method template`) the template of `m`: renames it, or
/// merges it into the row that has that template already. Returns whether it merged.
pub(super) async fn move_endpoint(
    c: &mut Conn<'_>,
    id: i64,
    host: &str,
    method: &str,
    template: &str,
    m: &TemplateMatch,
    max_clients: i64,
) -> Result<bool, StoreError> {
    let target: Option<i64> = c
        .query(
            "SELECT id FROM endpoints WHERE host = ? AND method = ? AND path_template = ? AND id <> ?",
        )
        .bind(host)
        .bind(method)
        .bind(&m.template)
        .bind(id)
        .fetch_optional_scalar()
        .await?;
    let explain = crate::analyze::inventory::explain_json(m);
    match target {
        None => {
            c.query(
                "UPDATE endpoints SET path_template = ?, template_rule = ?, template_confidence = ?,
                    template_explain = ?, example_path = CASE WHEN example_path LIKE '%{%' THEN ? ELSE example_path END
                 WHERE id = ?",
            )
            .bind(&m.template)
            .bind(m.rules())
            .bind(f64::from(m.confidence()))
            .bind(&explain)
            .bind(&m.template)
            .bind(id)
            .execute()
            .await?;
            rekey_findings(c, host, method, template, &m.template).await?;
            rewrite_path_params(c, id, m).await?;
            Ok(false)
        }
        Some(to) => {
            merge_rows(c, id, to, max_clients).await?;
            rekey_findings(c, host, method, template, &m.template).await?;
            rewrite_path_params(c, to, m).await?;
            c.query(
                "INSERT INTO endpoint_aliases (old_id, new_id, host, method, old_template, merged_at)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id, host = excluded.host,
                    method = excluded.method, old_template = excluded.old_template,
                    merged_at = excluded.merged_at",
            )
            .bind(id)
            .bind(to)
            .bind(host)
            .bind(method)
            .bind(template)
            .bind(crate::time::Timestamp::now().as_nanos())
            .execute()
            .await?;
            c.query("UPDATE endpoint_aliases SET new_id = ? WHERE new_id = ?")
                .bind(to)
                .bind(id)
                .execute()
                .await?;
            c.query("DELETE FROM endpoints WHERE id = ?")
                .bind(id)
                .execute()
                .await?;
            Ok(true)
        }
    }
}

/// Adds row `from` into row `to`: the endpoint's counters and every detail table.
async fn merge_rows(
    c: &mut Conn<'_>,
    from: i64,
    to: i64,
    max_clients: i64,
) -> Result<(), StoreError> {
    let q = "SELECT first_seen, last_seen, request_count, response_count, error_count, bytes_in, bytes_out,
                    clients_hll, clients_capped, latency_hist, query_shape
             FROM endpoints WHERE id = ?";
    let (Some(a), Some(b)) = (
        c.query(q).bind(from).fetch_optional().await?,
        c.query(q).bind(to).fetch_optional().await?,
    ) else {
        return Ok(());
    };
    let opt_min = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let opt_max = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let hll = union(b.get(7), a.get(7));
    let mut hist = hist_from(b.get::<Option<Vec<u8>>, _>(9))?;
    hist.add(hist_from(a.get::<Option<Vec<u8>>, _>(9))?)
        .map_err(|e| StoreError::Corrupt(format!("latency histogram: {e:?}")))?;
    let shape = |r: &DbRow| -> FormShape {
        r.get::<Option<String>, _>(10)
            .and_then(|q| serde_json::from_str(&q).ok())
            .unwrap_or_default()
    };
    let query = merge_form(&shape(&b), &shape(&a));
    let capped = a.get::<i64, _>(8) != 0 || b.get::<i64, _>(8) != 0;
    c.query(
        "UPDATE endpoints SET first_seen = ?, last_seen = ?,
            request_count = request_count + ?, response_count = response_count + ?, error_count = error_count + ?,
            bytes_in = bytes_in + ?, bytes_out = bytes_out + ?,
            clients_hll = ?, clients_capped = ?, client_estimate = ?,
            latency_hist = ?, p50_ms = ?, p90_ms = ?, p99_ms = ?, query_shape = ?
         WHERE id = ?",
    )
    .bind(opt_min(a.get(0), b.get(0)))
    .bind(opt_max(a.get(1), b.get(1)))
    .bind(a.get::<i64, _>(2))
    .bind(a.get::<i64, _>(3))
    .bind(a.get::<i64, _>(4))
    .bind(a.get::<i64, _>(5))
    .bind(a.get::<i64, _>(6))
    .bind(hll.to_bytes())
    .bind(i64::from(capped))
    .bind(hll.estimate() as i64)
    .bind(hist_bytes(&hist)?)
    .bind(quantile_ms(&hist, 0.5))
    .bind(quantile_ms(&hist, 0.9))
    .bind(quantile_ms(&hist, 0.99))
    .bind(serde_json::to_string(&query).ok())
    .bind(to)
    .execute()
    .await?;

    // The query parameters' rows follow the merged query shape (their times widen).
    let mut times: HashMap<String, (Option<i64>, Option<i64>)> = HashMap::new();
    for r in c
        .query(
            "SELECT name, first_seen, last_seen FROM endpoint_params
             WHERE endpoint_id IN (?, ?) AND location = 'query'",
        )
        .bind(from)
        .bind(to)
        .fetch_all()
        .await?
    {
        let t = times.entry(r.get(0)).or_insert((None, None));
        t.0 = opt_min(t.0, r.get(1));
        t.1 = opt_max(t.1, r.get(2));
    }
    c.query("DELETE FROM endpoint_params WHERE endpoint_id = ? AND location = 'query'")
        .bind(to)
        .execute()
        .await?;
    let (first, last) = (
        opt_min(a.get(0), b.get(0)).unwrap_or(0),
        opt_max(a.get(1), b.get(1)).unwrap_or(0),
    );
    let rows: Vec<Vec<V>> = query_param_rows(&query, &FormShape::default(), &times, first, last)
        .into_iter()
        .map(|q| {
            vec![
                V::I(to),
                V::T("query".into()),
                V::T(q.name),
                V::T(q.types),
                V::I(q.present),
                q.first_seen.map_or(V::N, V::I),
                q.last_seen.map_or(V::N, V::I),
            ]
        })
        .collect();
    upsert_on(
        c,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, location, name) DO NOTHING",
        rows,
    )
    .await?;

    // Detail tables whose rows add up (the centre's attribution too: on a sensor's own file
    // `endpoint_sensors` is empty).
    let d = c.dialect();
    let widen = |t: &str| {
        format!(
            "first_seen = {}, last_seen = {}",
            d.least(&format!("{t}.first_seen"), "excluded.first_seen"),
            d.greatest(&format!("{t}.last_seen"), "excluded.last_seen")
        )
    };
    let statements = [
        "INSERT INTO endpoint_status (endpoint_id, status, count)
         SELECT ?1, status, count FROM endpoint_status WHERE endpoint_id = ?2 AND true
         ON CONFLICT (endpoint_id, status) DO UPDATE SET count = endpoint_status.count + excluded.count"
            .to_string(),
        format!(
            "INSERT INTO endpoint_auth (endpoint_id, scheme, location, count, ok_count, first_seen, last_seen)
             SELECT ?1, scheme, location, count, ok_count, first_seen, last_seen FROM endpoint_auth WHERE endpoint_id = ?2 AND true
             ON CONFLICT (endpoint_id, scheme, location) DO UPDATE SET count = endpoint_auth.count + excluded.count,
                ok_count = endpoint_auth.ok_count + excluded.ok_count,
                first_seen = {},
                last_seen = {}",
            d.least("endpoint_auth.first_seen", "excluded.first_seen"),
            d.greatest(
                "coalesce(endpoint_auth.last_seen, excluded.last_seen)",
                "coalesce(excluded.last_seen, endpoint_auth.last_seen)"
            )
        ),
        format!(
            "INSERT INTO endpoint_sensitive (endpoint_id, class, location, field, count, example, first_seen, last_seen)
             SELECT ?1, class, location, field, count, example, first_seen, last_seen FROM endpoint_sensitive
             WHERE endpoint_id = ?2 AND true
             ON CONFLICT (endpoint_id, class, location, field) DO UPDATE SET count = endpoint_sensitive.count + excluded.count,
                {}",
            widen("endpoint_sensitive")
        ),
        "INSERT INTO endpoint_minutes (endpoint_id, minute, count, errors)
         SELECT ?1, minute, count, errors FROM endpoint_minutes WHERE endpoint_id = ?2 AND true
         ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = endpoint_minutes.count + excluded.count,
            errors = endpoint_minutes.errors + excluded.errors"
            .to_string(),
        format!(
            "{} drift (endpoint_id, kind, item, detail)
             SELECT ?1, kind, item, detail FROM drift WHERE endpoint_id = ?2{}",
            d.insert_or_ignore(),
            d.or_ignore_end()
        ),
        "UPDATE spec_operations SET endpoint_id = ?1 WHERE endpoint_id = ?2".to_string(),
    ]
    .into_iter()
    // Rows of one (endpoint, key) with a count and times: clients, sources, sensors.
    .chain(
        [
            ("endpoint_clients", "client"),
            ("endpoint_sources", "source"),
            ("endpoint_sensors", "sensor"),
        ]
        .map(|(table, key)| {
            format!(
                "INSERT INTO {table} (endpoint_id, {key}, count, first_seen, last_seen)
                 SELECT ?1, {key}, count, first_seen, last_seen FROM {table} WHERE endpoint_id = ?2 AND true
                 ON CONFLICT (endpoint_id, {key}) DO UPDATE SET count = {table}.count + excluded.count, {}",
                widen(table)
            )
        }),
    );
    for sql in statements {
        c.query(sql).bind(to).bind(from).execute().await?;
    }
    super::websocket::move_websocket(c, to, from).await?;
    // The per-endpoint client cap holds after a merge too: the least active go, and the
    // sketch still counts them.
    let n: i64 = c
        .query("SELECT COUNT(*) FROM endpoint_clients WHERE endpoint_id = ?")
        .bind(to)
        .fetch_scalar()
        .await?;
    if n > max_clients {
        c.query(
            "DELETE FROM endpoint_clients WHERE endpoint_id = ?1 AND client IN (
                SELECT client FROM endpoint_clients WHERE endpoint_id = ?1
                ORDER BY count ASC, last_seen ASC LIMIT ?2)",
        )
        .bind(to)
        .bind(n - max_clients)
        .execute()
        .await?;
        c.query("UPDATE endpoints SET clients_capped = 1 WHERE id = ?")
            .bind(to)
            .execute()
            .await?;
    }

    // Body shapes merge per (direction, status, content type).
    let bodies = c
        .query(
            "SELECT direction, status, content_type, count, samples, shape FROM endpoint_bodies WHERE endpoint_id = ?",
        )
        .bind(from)
        .fetch_all()
        .await?;
    for r in bodies {
        let (dir, status, ct): (String, i64, String) = (r.get(0), r.get(1), r.get(2));
        let prev = c
            .query(
                "SELECT count, samples, shape FROM endpoint_bodies
                 WHERE endpoint_id = ? AND direction = ? AND status = ? AND content_type = ?",
            )
            .bind(to)
            .bind(&dir)
            .bind(status)
            .bind(&ct)
            .fetch_optional()
            .await?;
        let theirs: Option<String> = r.get(5);
        let (count, samples, shape_json, schema) = match prev {
            None => {
                let (s, schema) = merged_body_shape_json(None, theirs.as_deref());
                (r.get::<i64, _>(3), r.get::<i64, _>(4), s, schema)
            }
            Some(p) => {
                let mine: Option<String> = p.get(2);
                let (s, schema) = merged_body_shape_json(mine.as_deref(), theirs.as_deref());
                (
                    p.get::<i64, _>(0) + r.get::<i64, _>(3),
                    p.get::<i64, _>(1) + r.get::<i64, _>(4),
                    s,
                    schema,
                )
            }
        };
        c.query(
            "INSERT INTO endpoint_bodies (endpoint_id, direction, status, content_type, count, samples, shape, schema)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (endpoint_id, direction, status, content_type)
             DO UPDATE SET count = excluded.count, samples = excluded.samples, shape = excluded.shape, schema = excluded.schema",
        )
        .bind(to)
        .bind(&dir)
        .bind(status)
        .bind(&ct)
        .bind(count)
        .bind(samples)
        .bind(shape_json)
        .bind(schema)
        .execute()
        .await?;
    }

    move_sequences(c, from, to).await?;
    Ok(())
}

/// Two stored body shapes (`{"json": ..}` / `{"form": ..}`) merged, with their schema.
fn merged_body_shape_json(
    mine: Option<&str>,
    theirs: Option<&str>,
) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize, Default)]
    struct Stored {
        #[serde(default)]
        json: Option<crate::analyze::shape::Shape>,
        #[serde(default)]
        form: Option<FormShape>,
    }
    let theirs: Stored = theirs
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let samples = theirs.json.as_ref().map_or(0, |j| j.samples);
    merged_body_shape(mine, theirs.json.as_ref(), theirs.form.as_ref(), samples)
}

/// Transitions and three-call paths that name `from` now name `to` (rows that collide add
/// up, their client sketches merge).
async fn move_sequences(c: &mut Conn<'_>, from: i64, to: i64) -> Result<(), StoreError> {
    let d = c.dialect();
    let rows = c
        .query(
            "SELECT from_endpoint, to_endpoint, count, first_seen, last_seen, clients_hll, gap_sum_ms
             FROM transitions WHERE from_endpoint = ?1 OR to_endpoint = ?1",
        )
        .bind(from)
        .fetch_all()
        .await?;
    c.query("DELETE FROM transitions WHERE from_endpoint = ?1 OR to_endpoint = ?1")
        .bind(from)
        .execute()
        .await?;
    let conflict = format!(
        "ON CONFLICT (from_endpoint, to_endpoint) DO UPDATE SET count = transitions.count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = {}, last_seen = {},
            gap_sum_ms = transitions.gap_sum_ms + excluded.gap_sum_ms",
        d.least("transitions.first_seen", "excluded.first_seen"),
        d.greatest("transitions.last_seen", "excluded.last_seen")
    );
    for r in rows {
        let swap = |x: i64| if x == from { to } else { x };
        let (f, t): (i64, i64) = (swap(r.get(0)), swap(r.get(1)));
        let prev: Option<Option<Vec<u8>>> = c
            .query(
                "SELECT clients_hll FROM transitions WHERE from_endpoint = ? AND to_endpoint = ?",
            )
            .bind(f)
            .bind(t)
            .fetch_optional_scalar()
            .await?;
        let hll = union(prev.flatten(), r.get(5));
        upsert_on(
            c,
            "transitions (from_endpoint, to_endpoint, count, clients, first_seen, last_seen, clients_hll, gap_sum_ms)",
            &conflict,
            vec![vec![
                V::I(f),
                V::I(t),
                V::I(r.get(2)),
                V::I(hll.estimate().max(1) as i64),
                V::I(r.get(3)),
                V::I(r.get(4)),
                V::B(hll.to_bytes()),
                V::I(r.get(6)),
            ]],
        )
        .await?;
    }
    let rows = c
        .query(
            "SELECT step1, step2, step3, count, clients_hll, first_seen, last_seen FROM sequence_paths
             WHERE step1 = ?1 OR step2 = ?1 OR step3 = ?1",
        )
        .bind(from)
        .fetch_all()
        .await?;
    c.query("DELETE FROM sequence_paths WHERE step1 = ?1 OR step2 = ?1 OR step3 = ?1")
        .bind(from)
        .execute()
        .await?;
    let conflict = format!(
        "ON CONFLICT (step1, step2, step3) DO UPDATE SET count = sequence_paths.count + excluded.count,
            clients = excluded.clients, clients_hll = excluded.clients_hll,
            first_seen = {}, last_seen = {}",
        d.least("sequence_paths.first_seen", "excluded.first_seen"),
        d.greatest("sequence_paths.last_seen", "excluded.last_seen")
    );
    for r in rows {
        let swap = |x: i64| if x == from { to } else { x };
        let s = [swap(r.get(0)), swap(r.get(1)), swap(r.get(2))];
        let prev: Option<Option<Vec<u8>>> = c
            .query(
                "SELECT clients_hll FROM sequence_paths WHERE step1 = ? AND step2 = ? AND step3 = ?",
            )
            .bind(s[0])
            .bind(s[1])
            .bind(s[2])
            .fetch_optional_scalar()
            .await?;
        let hll = union(prev.flatten(), r.get(4));
        upsert_on(
            c,
            "sequence_paths (step1, step2, step3, count, clients, clients_hll, first_seen, last_seen)",
            &conflict,
            vec![vec![
                V::I(s[0]),
                V::I(s[1]),
                V::I(s[2]),
                V::I(r.get(3)),
                V::I(hll.estimate().max(1) as i64),
                V::B(hll.to_bytes()),
                V::I(r.get(5)),
                V::I(r.get(6)),
            ]],
        )
        .await?;
    }
    Ok(())
}

/// Findings of (host, method, old template) move to the new template; rows that collide add
/// up.
async fn rekey_findings(
    c: &mut Conn<'_>,
    host: &str,
    method: &str,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    let d = c.dialect();
    let rows = c
        .query(
            "SELECT id, kind, coalesce(client, ''), count, first_seen, last_seen FROM findings
             WHERE host = ? AND method = ? AND path_template = ?",
        )
        .bind(host)
        .bind(method)
        .bind(old)
        .fetch_all()
        .await?;
    for r in rows {
        let id: i64 = r.get(0);
        let kind: String = r.get(1);
        let client: String = r.get(2);
        let key = finding_key(&kind, host, method, new, &client);
        let existing: Option<i64> = c
            .query("SELECT id FROM findings WHERE dedup_key = ?")
            .bind(&key)
            .fetch_optional_scalar()
            .await?;
        match existing {
            Some(other) if other != id => {
                c.query(format!(
                    "UPDATE findings SET count = count + ?, first_seen = {}, last_seen = {} WHERE id = ?",
                    d.least("first_seen", "?"),
                    d.greatest("last_seen", "?")
                ))
                .bind(r.get::<i64, _>(3))
                .bind(r.get::<i64, _>(4))
                .bind(r.get::<i64, _>(5))
                .bind(other)
                .execute()
                .await?;
                c.query("DELETE FROM findings WHERE id = ?")
                    .bind(id)
                    .execute()
                    .await?;
            }
            _ => {
                c.query("UPDATE findings SET path_template = ?, dedup_key = ? WHERE id = ?")
                    .bind(new)
                    .bind(&key)
                    .bind(id)
                    .execute()
                    .await?;
            }
        }
    }
    Ok(())
}

/// The path parameters of `m` replace the endpoint's stored ones.
async fn rewrite_path_params(
    c: &mut Conn<'_>,
    id: i64,
    m: &TemplateMatch,
) -> Result<(), StoreError> {
    // Every request to the endpoint carried its path parameters: they were first and last
    // seen when the endpoint was.
    let (requests, first, last) = c
        .query("SELECT request_count, first_seen, last_seen FROM endpoints WHERE id = ?")
        .bind(id)
        .fetch_optional()
        .await?
        .map_or((0, None, None), |r| (r.get(0), r.get(1), r.get(2)));
    let opt = |v: Option<i64>| v.map_or(V::N, V::I);
    c.query("DELETE FROM endpoint_params WHERE endpoint_id = ? AND location = 'path'")
        .bind(id)
        .execute()
        .await?;
    let rows: Vec<Vec<V>> = crate::analyze::inventory::path_params(m)
        .into_iter()
        .map(|(name, kind)| {
            vec![
                V::I(id),
                V::T("path".into()),
                V::T(name),
                V::T(kind.into()),
                V::I(requests),
                opt(first),
                opt(last),
            ]
        })
        .collect();
    upsert_on(
        c,
        "endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)",
        "ON CONFLICT (endpoint_id, location, name) DO UPDATE SET present = excluded.present",
        rows,
    )
    .await
}

impl Store {
    /// Re-templates the stored endpoints of `hosts` with `book` in one transaction (for
    /// `shadowtap template pin`, which changes templates outside an ingest).
    pub async fn retemplate(
        &self,
        book: &TemplateBook,
        hosts: &[String],
    ) -> Result<RetemplateReport, StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = retemplate_hosts(
            &mut Conn::Sqlite(&mut tx),
            book,
            hosts,
            self.limits.max_clients_per_endpoint,
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// The endpoint an id leads to: itself, or the survivor it was merged into.
    pub async fn resolve_endpoint_id(&self, id: i64) -> Result<Option<i64>, StoreError> {
        self.dashboard().resolve_endpoint_id(id).await
    }
}

/// A template pinned by a user.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PinRow {
    /// The host it applies to (`None`: every host).
    pub host: Option<String>,
    /// The template.
    pub path_template: String,
    /// When it was pinned (ISO 8601).
    pub created_at: String,
}

/// A learned template of a host, with how it was decided.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LearnedTemplateRow {
    /// Host.
    pub host: String,
    /// Template.
    pub path_template: String,
    /// Methods seen on it.
    pub methods: String,
    /// Requests, all methods.
    pub requests: i64,
    /// Per-segment rules (`/`-joined).
    pub template_rule: String,
    /// Lowest segment confidence.
    pub confidence: f64,
    /// Per-segment explanation (JSON array).
    pub explain: String,
}

impl Store {
    /// Pins a template (`host` `None`: every host). Returns false when it was pinned already.
    pub async fn add_pin(&self, host: Option<&str>, template: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT OR IGNORE INTO template_pins (host, path_template, created_at) VALUES (?, ?, ?)",
        )
        .bind(host.unwrap_or(""))
        .bind(template)
        .bind(crate::time::Timestamp::now().as_nanos())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Removes a pin. Returns false when there was none.
    pub async fn remove_pin(&self, host: Option<&str>, template: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM template_pins WHERE host = ? AND path_template = ?")
            .bind(host.unwrap_or(""))
            .bind(template)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The users' pins.
    pub async fn pins(&self) -> Result<Vec<PinRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT host, path_template, created_at FROM api_template_pins ORDER BY host, path_template",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| PinRow {
                host: r.get(0),
                path_template: r.get(1),
                created_at: r.get::<Option<String>, _>(2).unwrap_or_default(),
            })
            .collect())
    }

    /// Gives every stored endpoint (of `host`, or of every host) that a pin of `learner`
    /// matches the pinned template: a pin with parameters merges the rows of the paths it
    /// covers. Rows are never split: a literal pin beside a learned parameter applies to the
    /// traffic that comes after it. gRPC endpoints keep their paths (pins do not apply to
    /// gRPC traffic either).
    pub async fn apply_pins(
        &self,
        learner: &crate::analyze::template::TemplateLearner,
        host: Option<&str>,
    ) -> Result<RetemplateReport, StoreError> {
        let mut report = RetemplateReport::default();
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, host, method, path_template, example_path FROM endpoints
             WHERE (?1 IS NULL OR host = ?1) AND coalesce(documented, 0) = 0 AND request_count > 0
               AND coalesce(protocol, '') <> 'grpc'
             ORDER BY id",
        )
        .bind(host)
        .fetch_all(&mut *tx)
        .await?;
        for r in rows {
            let id: i64 = r.get(0);
            let (h, method, template, example): (String, String, String, String) =
                (r.get(1), r.get(2), r.get(3), r.get(4));
            let probe = if example.is_empty() || example.contains(['{', '}']) {
                &template
            } else {
                &example
            };
            let Some(m) = learner.pinned_match(probe) else {
                continue;
            };
            if m.template == template {
                continue;
            }
            let alive: Option<i64> = sqlx::query_scalar("SELECT id FROM endpoints WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if alive.is_none() {
                continue;
            }
            if move_endpoint(
                &mut Conn::Sqlite(&mut tx),
                id,
                &h,
                &method,
                &template,
                &m,
                self.limits.max_clients_per_endpoint,
            )
            .await?
            {
                report.merged += 1;
            } else {
                report.renamed += 1;
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// Learned templates (of `host`, or every host), with how they were decided: one row
    /// per (host, template), busiest first.
    pub async fn learned_templates(
        &self,
        host: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LearnedTemplateRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT host, path_template, group_concat(method, ','), sum(request_count),
                    max(template_rule), min(template_confidence), max(template_explain)
             FROM endpoints WHERE (?1 IS NULL OR host = ?1) AND request_count > 0
             GROUP BY host, path_template ORDER BY sum(request_count) DESC, host, path_template LIMIT ?2",
        )
        .bind(host)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| LearnedTemplateRow {
                host: r.get(0),
                path_template: r.get(1),
                methods: r.get::<Option<String>, _>(2).unwrap_or_default(),
                requests: r.get::<Option<i64>, _>(3).unwrap_or(0),
                template_rule: r.get::<Option<String>, _>(4).unwrap_or_default(),
                confidence: r.get::<Option<f64>, _>(5).unwrap_or(1.0),
                explain: r.get::<Option<String>, _>(6).unwrap_or_else(|| "[]".into()),
            })
            .collect())
    }
}

/// The union of two stored distinct-count sketches (either may be missing).
fn union(a: Option<Vec<u8>>, b: Option<Vec<u8>>) -> Hll {
    let mut hll = a.map(|b| Hll::from_bytes(&b)).unwrap_or_default();
    if let Some(b) = b {
        hll.merge(&Hll::from_bytes(&b));
    }
    hll
}
