//! Re-templating across sensors: the centre makes one endpoint of what several sensors
//! learned apart.
//!
//! Each sensor learns its templates from its own share of the traffic. When a host's traffic
//! is split across sensors (several taps, ECMP), they may decide the same parameter position
//! differently: one names it `{user_id}` (its values looked like ids), another `{user}` (it
//! collapsed by cardinality), a third has not seen enough values yet and still has literal
//! `/users/alice` rows. The single store of all the traffic would have one endpoint; the
//! centre must too. After a group of deltas added rows to a host, the centre re-templates
//! the host's endpoints from what every sensor learned:
//!
//! 1. **One name per parameter position.** Templates of a host are compared position by
//!    position (the literal segments before it, every parameter as `{}`). Where sensors gave a
//!    position different names, the most informative wins — a typed name (`{user_id}`,
//!    `{id}`, `{order_date}`, `{email}`, `v{version}`) over a name taken from the segment
//!    before it (`{user}`) over the generic `{param}` — then the one with more requests, then
//!    the byte order: the choice does not depend on the order deltas arrived in.
//! 2. **Literal rows fold into a parameter another sensor decided on evidence.** A template
//!    learner is seeded with every parameter template (with its rules, as a sensor's learner
//!    is seeded at start-up), and each row is re-templated with it (`TemplateLearner::
//!    retemplate`, the sensor's own): `/users/alice` becomes `/users/{user_id}` when some
//!    sensor collapsed that position. A literal stays a literal when a sensor that saw it
//!    also generalised that position: that sensor kept it apart on purpose (`/users/me`).
//! 3. **Moves are the store's.** A row is renamed, or merged into the row that has its new
//!    template with `store::retemplate`'s merge (counts, histograms, sketches, clients,
//!    bodies, findings, transitions, attribution, ...), on the centre's transaction.
//!
//! Every move is remembered in `template_moves` (host, method, old template → new), and the
//! apply rewrites a delta's keys through it, so a sensor that keeps sending its own name for
//! an endpoint adds to the centre's row instead of making the old row again.

use super::wire::Delta;
use crate::analyze::template::{TemplateConfig, TemplateLearner};
use crate::store::RetemplateReport;
use crate::store::StoreError;
use crate::store::db::Conn;
use crate::store::retemplate::{StoredTemplate, retemplate_rows, stored_templates};
use sqlx::{Postgres, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Client rows kept per endpoint after a merge (as the apply's).
const MAX_CLIENTS: i64 = 1000;

/// One segment of a template: its skeleton (`{}` for each parameter, `v{}`, `{}.json`) and
/// its parameters' names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seg {
    skeleton: String,
    names: Vec<String>,
}

/// A template's URL part split into segments (a GraphQL `#operation` is left out).
fn segments(template: &str) -> Vec<Seg> {
    let base = template.split_once('#').map_or(template, |(b, _)| b);
    base.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut skeleton = String::with_capacity(s.len());
            let mut names = Vec::new();
            let mut rest = s;
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                    break;
                };
                let name = &rest[open + 1..close];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    skeleton.push_str(&rest[..=close]);
                } else {
                    skeleton.push_str(&rest[..open]);
                    skeleton.push_str("{}");
                    names.push(name.to_string());
                }
                rest = &rest[close + 1..];
            }
            skeleton.push_str(rest);
            Seg { skeleton, names }
        })
        .collect()
}

/// The key of position `i` of a template: the skeletons of its segments up to `i`.
fn position(segs: &[Seg], i: usize) -> String {
    let mut k = String::new();
    for s in &segs[..=i] {
        k.push('/');
        k.push_str(&s.skeleton);
    }
    k
}

/// How much a parameter's name says about its values: 2 for a typed name (an id, a date, a
/// hash, an e-mail address, a token, a version), 1 for a name taken from the segment before
/// it, 0 for the generic `param`.
fn informative(name: &str) -> u8 {
    const TYPED: &[&str] = &["id", "date", "hash", "email", "token", "version"];
    if name == "param" {
        0
    } else if TYPED.contains(&name) || ["_id", "_date", "_hash"].iter().any(|s| name.ends_with(s)) {
        2
    } else {
        1
    }
}

/// The name each parameter position of a host's templates gets: the most informative, then
/// the one with more requests, then the least in byte order.
fn chosen_names(rows: &[StoredTemplate]) -> HashMap<(String, usize), String> {
    // (position, index in the segment) -> name -> requests
    let mut seen: BTreeMap<(String, usize), BTreeMap<String, i64>> = BTreeMap::new();
    for r in rows {
        let segs = segments(&r.template);
        for (i, s) in segs.iter().enumerate() {
            for (k, name) in s.names.iter().enumerate() {
                *seen
                    .entry((position(&segs, i), k))
                    .or_default()
                    .entry(name.clone())
                    .or_default() += r.requests;
            }
        }
    }
    seen.into_iter()
        .filter_map(|(pos, names)| {
            names
                .into_iter()
                .max_by(|(a, na), (b, nb)| {
                    informative(a)
                        .cmp(&informative(b))
                        .then(na.cmp(nb))
                        .then(b.cmp(a))
                })
                .map(|(name, _)| (pos, name))
        })
        .collect()
}

/// `template` with the chosen names.
fn renamed(template: &str, names: &HashMap<(String, usize), String>) -> String {
    let segs = segments(template);
    let op = template.split_once('#').map(|(_, op)| op);
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        out.push('/');
        let pos = position(&segs, i);
        let mut parts = s.skeleton.split("{}");
        out.push_str(parts.next().unwrap_or(""));
        for (k, (part, own)) in parts.zip(&s.names).enumerate() {
            let name = names.get(&(pos.clone(), k)).unwrap_or(own);
            out.push('{');
            out.push_str(name);
            out.push('}');
            out.push_str(part);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    if let Some(op) = op {
        out.push('#');
        out.push_str(op);
    }
    out
}

/// Re-templates the endpoints of `hosts` across sensors (see the module docs), inside the
/// apply's transaction.
pub(super) async fn retemplate_hosts(
    tx: &mut Transaction<'_, Postgres>,
    hosts: &BTreeSet<String>,
) -> Result<RetemplateReport, StoreError> {
    let mut report = RetemplateReport::default();
    for host in hosts {
        let rows = stored_templates(&mut Conn::Pg(tx), host).await?;
        if rows.len() < 2 || !rows.iter().any(|r| r.template.contains('{')) {
            continue;
        }
        let names = chosen_names(&rows);
        // Which sensors saw each row, and which generalised each position.
        let sensors: Vec<(i64, String)> = sqlx::query_as(
            "SELECT endpoint_id, sensor FROM endpoint_sensors WHERE endpoint_id = ANY($1)",
        )
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .fetch_all(&mut **tx)
        .await?;
        let mut seen_by: HashMap<i64, HashSet<String>> = HashMap::new();
        for (id, sensor) in sensors {
            seen_by.entry(id).or_default().insert(sensor);
        }
        let mut generalised: HashMap<String, HashSet<String>> = HashMap::new();
        for r in &rows {
            let segs = segments(&r.template);
            for (i, s) in segs.iter().enumerate() {
                if s.names.is_empty() {
                    continue;
                }
                if let Some(by) = seen_by.get(&r.id) {
                    generalised
                        .entry(position(&segs, i))
                        .or_default()
                        .extend(by.iter().cloned());
                }
            }
        }
        // The learner of the whole host: every parameter template, with the chosen names,
        // busiest first.
        let mut learner = TemplateLearner::with_config(TemplateConfig::default());
        let mut seeds: Vec<&StoredTemplate> =
            rows.iter().filter(|r| r.template.contains('{')).collect();
        seeds.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then(a.template.cmp(&b.template))
        });
        for r in seeds {
            let t = renamed(&r.template, &names);
            let base = t.split_once('#').map_or(t.as_str(), |(b, _)| b);
            learner.seed(base, &r.rule);
        }
        let vetoed = |r: &StoredTemplate, new: &str| {
            let (old, new) = (segments(&r.template), segments(new));
            old.len() == new.len()
                && old.iter().zip(&new).enumerate().any(|(i, (o, n))| {
                    o.names.is_empty()
                        && !n.names.is_empty()
                        && generalised
                            .get(&position(&new, i))
                            .zip(seen_by.get(&r.id))
                            .is_some_and(|(g, s)| !g.is_disjoint(s))
                })
        };
        let mut moves: Vec<(String, String, String)> = Vec::new();
        let r = retemplate_rows(
            &mut Conn::Pg(tx),
            host,
            &rows,
            MAX_CLIENTS,
            |r, base| {
                learner
                    .retemplate(base, Some(&r.example))
                    .filter(|m| !vetoed(r, &m.template))
            },
            |r, new| moves.push((r.method.clone(), r.template.clone(), new.to_string())),
        )
        .await?;
        report.renamed += r.renamed;
        report.merged += r.merged;
        for (method, old, new) in moves {
            remember_move(tx, host, &method, &old, &new).await?;
        }
    }
    Ok(report)
}

/// Records a move in `template_moves`: earlier moves to `old` now lead to `new`, and `new`
/// is a live template again if it was moved away once.
async fn remember_move(
    tx: &mut Transaction<'_, Postgres>,
    host: &str,
    method: &str,
    old: &str,
    new: &str,
) -> Result<(), sqlx::Error> {
    let now = crate::time::Timestamp::now().as_nanos();
    sqlx::query(
        "DELETE FROM template_moves WHERE host = $1 AND method = $2 AND from_template = $3",
    )
    .bind(host)
    .bind(method)
    .bind(new)
    .execute(&mut **tx)
    .await?;
    // Moves that led to `old` now lead to `new`; then `old` itself moves (both with the same
    // arguments).
    for sql in [
        "UPDATE template_moves SET to_template = $4, moved_at = $5
         WHERE host = $1 AND method = $2 AND to_template = $3",
        "INSERT INTO template_moves (host, method, from_template, to_template, moved_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (host, method, from_template) DO UPDATE
         SET to_template = excluded.to_template, moved_at = excluded.moved_at",
    ] {
        sqlx::query(sql)
            .bind(host)
            .bind(method)
            .bind(old)
            .bind(new)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Rewrites the keys of a delta (its endpoints, transitions and paths) through the centre's
/// `template_moves`.
pub(super) async fn translate(
    tx: &mut Transaction<'_, Postgres>,
    d: &mut Delta,
) -> Result<(), sqlx::Error> {
    let mut keys: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for e in &d.endpoints {
        keys.insert((&e.host, &e.method, &e.template));
    }
    for t in &d.transitions {
        for k in [&t.from, &t.to] {
            keys.insert((&k.host, &k.method, &k.template));
        }
    }
    for p in &d.paths {
        for k in &p.steps {
            keys.insert((&k.host, &k.method, &k.template));
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT m.host, m.method, m.from_template, m.to_template
         FROM template_moves m JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(host, method, t)
           ON m.host = k.host AND m.method = k.method AND m.from_template = k.t",
    )
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.2).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let moved: HashMap<(String, String, String), String> = rows
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
        .collect();
    let to = |host: &str, method: &str, template: &mut String| {
        if let Some(new) = moved.get(&(host.to_string(), method.to_string(), template.clone())) {
            template.clone_from(new);
        }
    };
    for e in &mut d.endpoints {
        to(&e.host, &e.method, &mut e.template);
    }
    for t in &mut d.transitions {
        for k in [&mut t.from, &mut t.to] {
            to(&k.host, &k.method, &mut k.template);
        }
    }
    for p in &mut d.paths {
        for k in &mut p.steps {
            to(&k.host, &k.method, &mut k.template);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(template: &str, requests: i64) -> StoredTemplate {
        StoredTemplate {
            id: 0,
            method: "GET".into(),
            template: template.into(),
            example: String::new(),
            rule: String::new(),
            requests,
        }
    }

    #[test]
    fn segments_keep_glued_parts_and_operations_apart() {
        let s = segments("/api/v{version}/users/{user_id}.json#query GetUser");
        assert_eq!(
            s.iter().map(|s| s.skeleton.as_str()).collect::<Vec<_>>(),
            ["api", "v{}", "users", "{}.json"]
        );
        assert_eq!(s[1].names, ["version"]);
        assert_eq!(s[3].names, ["user_id"]);
        // Not a parameter name: kept as text.
        assert_eq!(segments("/a/{x-y}")[1].skeleton, "{x-y}");
    }

    #[test]
    fn the_most_informative_name_wins_then_traffic() {
        let rows = [
            row("/users/{user}", 19),
            row("/users/{user_id}/repos", 6),
            row("/repos/{repo}/{param}", 15),
            row("/repos/{repo}/{id}/issues", 4),
            row("/orgs/{org}", 3),
            row("/orgs/{organization}", 5),
        ];
        let names = chosen_names(&rows);
        assert_eq!(renamed("/users/{user}", &names), "/users/{user_id}");
        assert_eq!(
            renamed("/repos/{repo}/{param}", &names),
            "/repos/{repo}/{id}"
        );
        assert_eq!(renamed("/orgs/{org}", &names), "/orgs/{organization}");
        assert_eq!(
            renamed("/users/{user}/x.json#query Q", &names),
            "/users/{user_id}/x.json#query Q"
        );
        assert_eq!(renamed("/", &names), "/");
        // The order of the rows does not matter.
        let mut rev = rows;
        rev.reverse();
        assert_eq!(chosen_names(&rev), names);
    }
}
