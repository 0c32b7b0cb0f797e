//! Exports of an inventory: a SQL dump, CSV files of the public views, one JSON document, and an
//! OpenAPI 3.1 document of what was observed.

use super::{Store, StoreError, iso};
use serde_json::{Map, Value, json};
use sqlx::Row;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The public views, exported one CSV file each.
pub const PUBLIC_VIEWS: [&str; 24] = [
    "api_endpoints",
    "api_findings",
    "api_transitions",
    "api_endpoint_status",
    "api_endpoint_clients",
    "api_parameters",
    "api_bodies",
    "api_auth",
    "api_sensitive_data",
    "api_captures",
    "api_sequence_paths",
    "api_spec_operations",
    "api_drift",
    "api_tls_services",
    "api_tls_clients",
    "api_grpc",
    "api_finding_triage",
    "api_websockets",
    "api_changes",
    "api_endpoint_sources",
    "api_endpoint_sensors",
    "api_sensors",
    "api_declared_routes",
    "api_endpoint_coverage",
];

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Writes a SQL dump that `sqlite3 new.db < dump.sql` loads: schema, rows, indexes, views.
    pub async fn export_sql(&self, out: &mut impl Write) -> Result<(), StoreError> {
        let w = |out: &mut dyn Write, s: &str| {
            out.write_all(s.as_bytes())
                .map_err(io_err(Path::new("<output>")))
        };
        w(
            out,
            "-- shadowtap inventory dump\nPRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n",
        )?;
        let tables = sqlx::query("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
            .fetch_all(&self.pool)
            .await?;
        for t in &tables {
            let name: String = t.get(0);
            let sql: String = t.get(1);
            w(out, &format!("{sql};\n"))?;
            let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info({})",
                quote_text(&name)
            )))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            if cols.is_empty() {
                continue;
            }
            let select = format!(
                "SELECT {} FROM {}",
                cols.iter()
                    .map(|c| format!("quote({})", quote_ident(c)))
                    .collect::<Vec<_>>()
                    .join(" || ',' || "),
                quote_ident(&name)
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(select))
                .fetch_all(&self.pool)
                .await?;
            for r in rows {
                let values: String = r.get(0);
                w(
                    out,
                    &format!("INSERT INTO {} VALUES({values});\n", quote_ident(&name)),
                )?;
            }
        }
        let rest = sqlx::query("SELECT sql FROM sqlite_master WHERE type IN ('index', 'view', 'trigger') AND sql IS NOT NULL ORDER BY rowid")
            .fetch_all(&self.pool)
            .await?;
        for r in rest {
            let sql: String = r.get(0);
            w(out, &format!("{sql};\n"))?;
        }
        w(out, "COMMIT;\n")?;
        Ok(())
    }

    /// Writes `<view>.csv` for every public view into `dir` (created if missing), findings
    /// triaged as false positives left out.
    pub async fn export_csv(&self, dir: &Path) -> Result<Vec<std::path::PathBuf>, StoreError> {
        self.export_csv_with(dir, false).await
    }

    /// [`Store::export_csv`], with the false positives when `include_suppressed`.
    pub async fn export_csv_with(
        &self,
        dir: &Path,
        include_suppressed: bool,
    ) -> Result<Vec<std::path::PathBuf>, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut written = Vec::new();
        for view in PUBLIC_VIEWS {
            let path = dir.join(format!("{view}.csv"));
            let f = std::fs::File::create(&path).map_err(io_err(&path))?;
            self.write_view_csv_with(view, std::io::BufWriter::new(f), include_suppressed)
                .await
                .map_err(|e| match e {
                    StoreError::Io { source, .. } => io_err(&path)(source),
                    other => other,
                })?;
            written.push(path);
        }
        Ok(written)
    }

    /// [`Store::write_view_csv`], with the false positives when `include_suppressed`.
    pub(super) async fn write_view_csv_with(
        &self,
        view: &str,
        out: impl std::io::Write,
        include_suppressed: bool,
    ) -> Result<(), StoreError> {
        debug_assert!(PUBLIC_VIEWS.contains(&view), "{view} is not a public view");
        let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info({})",
            quote_text(view)
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
        let select = view_as_text_sql(view, &cols, include_suppressed);
        let rows = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&self.pool)
            .await?;
        write_csv(
            view,
            &cols,
            rows.iter().map(|r| {
                (0..cols.len())
                    .map(|i| r.get::<Option<String>, _>(i))
                    .collect()
            }),
            out,
        )
    }

    /// Every endpoint with its details, as one JSON document (findings triaged as false
    /// positives left out).
    pub async fn export_json(&self, host: Option<&str>) -> Result<Value, StoreError> {
        self.export_json_with(host, false).await
    }

    /// [`Store::export_json`], with the false positives when `include_suppressed`.
    pub async fn export_json_with(
        &self,
        host: Option<&str>,
        include_suppressed: bool,
    ) -> Result<Value, StoreError> {
        let mut endpoints = Vec::new();
        for e in self
            .endpoints(&super::ListFilter {
                host: host.map(String::from),
            })
            .await?
        {
            let details = self.endpoint_details(e.id).await?;
            let mut v = serde_json::to_value(&e).map_err(|x| StoreError::Corrupt(x.to_string()))?;
            if let (Value::Object(m), Value::Object(d)) = (&mut v, details) {
                m.extend(d);
            }
            endpoints.push(v);
        }
        let findings = rows_as_json(
            self,
            if include_suppressed {
                "SELECT * FROM api_findings ORDER BY id"
            } else {
                "SELECT * FROM api_findings WHERE triage_state <> 'false_positive' ORDER BY id"
            },
        )
        .await?;
        let transitions =
            rows_as_json(self, "SELECT * FROM api_transitions ORDER BY count DESC").await?;
        let paths =
            rows_as_json(self, "SELECT * FROM api_sequence_paths ORDER BY count DESC").await?;
        let captures = rows_as_json(self, "SELECT * FROM api_captures ORDER BY id").await?;
        Ok(json!({
            "generator": format!("shadowtap {}", env!("CARGO_PKG_VERSION")),
            "endpoints": endpoints,
            "findings": findings,
            "transitions": transitions,
            "sequence_paths": paths,
            "captures": captures,
        }))
    }

    /// Status counts, clients, parameters, bodies (with schemas), auth and sensitive data of one
    /// endpoint, as a JSON object.
    pub async fn endpoint_details(&self, id: i64) -> Result<Value, StoreError> {
        let mut d = DetailRows::default();
        for (i, sql) in DETAIL_SQL.iter().enumerate() {
            let rows = sqlx::query(*sql).bind(id).fetch_all(&self.pool).await?;
            for r in &rows {
                d.add(i, r, 0);
            }
        }
        Ok(d.json())
    }

    /// An OpenAPI 3.1 document of the observed endpoints (optionally of one host).
    pub async fn export_openapi(&self, host: Option<&str>) -> Result<Value, StoreError> {
        let endpoints = self
            .endpoints(&super::ListFilter {
                host: host.map(String::from),
            })
            .await?;
        let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        let mut hosts: Vec<String> = Vec::new();
        let mut schemes: BTreeMap<String, Value> = BTreeMap::new();
        let mut op_ids: BTreeMap<String, u32> = BTreeMap::new();
        // GraphQL operations, per (URL template, method): OpenAPI paths are URLs, so the
        // operations are listed under their URL's operation (`x-graphql-operations`).
        let mut graphql: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
        // gRPC methods: OpenAPI describes HTTP operations, not RPCs over HTTP/2 with
        // length-prefixed protobuf bodies and a status in the trailers; they are listed apart
        // (`x-grpc-methods` at the top level), with what was observed of each.
        let mut grpc: Vec<Value> = Vec::new();
        for e in &endpoints {
            if !e.path_template.starts_with('/') {
                continue;
            }
            if e.protocol.as_deref() == Some("grpc") {
                grpc.push(self.grpc_method(e).await?);
                continue;
            }
            if let Some((url, operation)) = e.path_template.split_once('#') {
                if !hosts.contains(&e.host) {
                    hosts.push(e.host.clone());
                }
                graphql
                    .entry((url.to_string(), e.method.to_ascii_lowercase()))
                    .or_default()
                    .push({
                        let mut o = observed(e);
                        o["operation"] = json!(operation);
                        o
                    });
                continue;
            }
            let method = e.method.to_ascii_lowercase();
            if ![
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            if !hosts.contains(&e.host) {
                hosts.push(e.host.clone());
            }
            let d = self.endpoint_details(e.id).await?;
            let mut op = Map::new();
            op.insert(
                "operationId".into(),
                json!(unique_operation_id(&mut op_ids, &method, &e.path_template)),
            );
            op.insert("tags".into(), json!([e.host]));
            op.insert(
                "summary".into(),
                json!(format!("{} {} (observed)", e.method, e.path_template)),
            );

            let mut params = Vec::new();
            for name in path_param_names(&e.path_template) {
                let kind = d["parameters"]
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .find(|p| p["in"] == "path" && p["name"] == name.as_str())
                    })
                    .and_then(|p| p["types"].as_str())
                    .unwrap_or("string")
                    .to_string();
                params.push(json!({"name": name, "in": "path", "required": true, "schema": path_schema(&kind)}));
            }
            for p in d["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
            {
                let present = p["present"].as_i64().unwrap_or(0);
                params.push(json!({
                    "name": p["name"],
                    "in": "query",
                    "required": present >= e.request_count && e.request_count > 0,
                    "schema": scalar_schema(p["types"].as_str().unwrap_or("string")),
                }));
            }
            if !params.is_empty() {
                op.insert("parameters".into(), Value::Array(params));
            }

            let bodies = d["bodies"].as_array().cloned().unwrap_or_default();
            let mut req_content = Map::new();
            for b in bodies.iter().filter(|b| b["direction"] == "request") {
                req_content.insert(media(&b["content_type"]), json!({"schema": b["schema"].clone().as_object().map(|_| b["schema"].clone()).unwrap_or(json!({}))}));
            }
            if !req_content.is_empty() {
                op.insert("requestBody".into(), json!({"content": req_content}));
            }
            let mut responses = Map::new();
            if let Some(status) = d["status"].as_object() {
                for (code, _) in status.iter().filter(|(c, _)| c.as_str() != "0") {
                    let mut content = Map::new();
                    for b in bodies.iter().filter(|b| {
                        b["direction"] == "response"
                            && b["status"].as_i64().map(|s| s.to_string()).as_deref()
                                == Some(code.as_str())
                    }) {
                        content.insert(media(&b["content_type"]), json!({"schema": b["schema"].clone().as_object().map(|_| b["schema"].clone()).unwrap_or(json!({}))}));
                    }
                    let mut r = Map::new();
                    r.insert("description".into(), json!(reason(code)));
                    if !content.is_empty() {
                        r.insert("content".into(), Value::Object(content));
                    }
                    responses.insert(code.clone(), Value::Object(r));
                }
            }
            if responses.is_empty() {
                responses.insert(
                    "default".into(),
                    json!({"description": "No response was observed"}),
                );
            }
            op.insert("responses".into(), Value::Object(responses));

            // Security: what the endpoint accepted (answered 2xx with).
            let mut security = Vec::new();
            for a in d["auth"].as_array().into_iter().flatten() {
                let scheme = a["scheme"].as_str().unwrap_or("");
                let location = a["location"].as_str().unwrap_or("");
                if a["ok_count"].as_i64().unwrap_or(0) == 0 {
                    continue;
                }
                match security_scheme(scheme, location) {
                    Some((name, def)) => {
                        schemes.insert(name.clone(), def);
                        security.push(json!({ name: [] }));
                    }
                    None => security.push(json!({})),
                }
            }
            if !security.is_empty() {
                op.insert("security".into(), Value::Array(security));
            }
            op.insert("x-shadowtap".into(), observed(e));
            paths
                .entry(e.path_template.clone())
                .or_default()
                .insert(method, Value::Object(op));
        }
        for ((url, method), operations) in graphql {
            let op = paths
                .entry(url.clone())
                .or_default()
                .entry(method.clone())
                .or_insert_with(|| {
                    let mut op = Map::new();
                    op.insert(
                        "operationId".into(),
                        json!(unique_operation_id(&mut op_ids, &method, &url)),
                    );
                    op.insert(
                        "summary".into(),
                        json!(format!(
                            "{} {url} (GraphQL, observed)",
                            method.to_ascii_uppercase()
                        )),
                    );
                    if method != "get" {
                        op.insert(
                            "requestBody".into(),
                            json!({"content": {"application/json": {"schema": {
                                "type": "object",
                                "properties": {
                                    "query": {"type": "string"},
                                    "operationName": {"type": "string"},
                                    "variables": {"type": "object"},
                                    "extensions": {"type": "object"},
                                }
                            }}}}),
                        );
                    }
                    op.insert("responses".into(), json!({"200": {"description": "OK"}}));
                    Value::Object(op)
                });
            if let Value::Object(op) = op {
                op.insert("x-graphql-operations".into(), Value::Array(operations));
            }
        }
        let mut doc = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "APIs observed by shadowtap",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Generated from traffic observed on the wire, not from source code: every operation here was called. Extensions under x-shadowtap give counts, latency and what was seen.",
            },
            "servers": hosts.iter().map(|h| json!({"url": format!("http://{h}")})).collect::<Vec<_>>(),
            "paths": paths,
        });
        if !schemes.is_empty() {
            doc["components"] = json!({"securitySchemes": schemes});
        }
        if !grpc.is_empty() {
            doc["x-grpc-methods"] = Value::Array(grpc);
        }
        Ok(doc)
    }

    /// One gRPC method for `x-grpc-methods`: its names, kind, figures, the observed message
    /// shapes (JSON Schema of the protobuf walk) and the endpoint's observed figures.
    async fn grpc_method(&self, e: &super::EndpointRow) -> Result<Value, StoreError> {
        let g = sqlx::query(
            "SELECT service, method, service_kind, streaming, grpc_status_counts, calls, messages_in,
                    messages_out, request_size_max, response_size_max
             FROM api_grpc WHERE endpoint_id = ?",
        )
        .bind(e.id)
        .fetch_optional(&self.pool)
        .await?;
        let d = self.endpoint_details(e.id).await?;
        let schema = |dir: &str| {
            d["bodies"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|b| b["direction"] == dir && b["schema"].is_object())
                .map(|b| b["schema"].clone())
        };
        let mut m = json!({
            "path": e.path_template,
            "host": e.host,
            "request_schema": schema("request"),
            "response_schema": schema("response"),
            "x-shadowtap": observed(e),
        });
        if let Some(r) = g {
            for (i, k) in [
                "service",
                "method",
                "service_kind",
                "streaming",
                "grpc_status_counts",
            ]
            .iter()
            .enumerate()
            {
                m[*k] = json!(r.get::<Option<String>, _>(i));
            }
            for (i, k) in [
                "calls",
                "messages_in",
                "messages_out",
                "request_size_max",
                "response_size_max",
            ]
            .iter()
            .enumerate()
            {
                m[*k] = json!(r.get::<Option<i64>, _>(i + 5));
            }
        }
        Ok(m)
    }
}

async fn rows_as_json(store: &Store, sql: &'static str) -> Result<Vec<Value>, StoreError> {
    let rows = sqlx::query(sql).fetch_all(&store.pool).await?;
    Ok(rows.iter().map(row_json).collect())
}

/// A row as a JSON object of its columns: integers, reals and texts as themselves, NULL as
/// null (either backend).
pub(super) fn row_json<'r, R>(r: &'r R) -> Value
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use sqlx::{Column, ValueRef};
    let mut m = Map::new();
    for (i, c) in r.columns().iter().enumerate() {
        let v = match r.try_get_raw(i) {
            Ok(v) if v.is_null() => Value::Null,
            _ => {
                if let Ok(n) = r.try_get::<i64, _>(i) {
                    json!(n)
                } else if let Ok(f) = r.try_get::<f64, _>(i) {
                    json!(f)
                } else {
                    json!(r.try_get::<String, _>(i).unwrap_or_default())
                }
            }
        };
        m.insert(c.name().to_string(), v);
    }
    Value::Object(m)
}

/// `SELECT` of every column of `view` as text (NULL stays NULL), false positives left out of
/// `api_findings` unless `include_suppressed` (either backend).
pub(super) fn view_as_text_sql(view: &str, cols: &[String], include_suppressed: bool) -> String {
    format!(
        "SELECT {} FROM {}{}",
        cols.iter()
            .map(|c| format!("CAST({} AS TEXT)", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", "),
        quote_ident(view),
        if view == "api_findings" && !include_suppressed {
            " WHERE triage_state <> 'false_positive'"
        } else {
            ""
        }
    )
}

/// Writes one view's rows as CSV (the one CSV writer: `export --format csv`, either backend,
/// and the dashboard's CSV downloads): RFC 4180 with CRLF line ends, a header row of the
/// column names, NULL as an empty field, and cells a spreadsheet would run as a formula
/// prefixed with `'`.
pub(super) fn write_csv(
    view: &str,
    cols: &[String],
    rows: impl Iterator<Item = Vec<Option<String>>>,
    out: impl std::io::Write,
) -> Result<(), StoreError> {
    let csv_err = |e: csv::Error| StoreError::Io {
        path: view.into(),
        source: std::io::Error::other(e),
    };
    let mut w = csv_writer(out);
    w.write_record(cols.iter().map(|c| formula_safe(c).into_owned()))
        .map_err(csv_err)?;
    for r in rows {
        w.write_record(
            r.into_iter()
                .map(|v| v.map(|v| formula_safe(&v).into_owned()).unwrap_or_default()),
        )
        .map_err(csv_err)?;
    }
    w.flush().map_err(|e| StoreError::Io {
        path: view.into(),
        source: e,
    })
}

/// The detail queries of one endpoint (`$1`: its id), in [`DetailRows::add`]'s order: status
/// counts, the 100 busiest clients, parameters, bodies, auth, sensitive data.
pub(super) const DETAIL_SQL: [&str; 6] = [
    "SELECT status, count FROM endpoint_status WHERE endpoint_id = $1 ORDER BY status",
    "SELECT client, count, first_seen, last_seen FROM endpoint_clients WHERE endpoint_id = $1
     ORDER BY count DESC, client LIMIT 100",
    "SELECT location, name, types, present FROM endpoint_params WHERE endpoint_id = $1 ORDER BY location, name",
    "SELECT direction, status, content_type, count, samples, schema FROM endpoint_bodies WHERE endpoint_id = $1
     ORDER BY direction DESC, status, content_type",
    "SELECT scheme, location, count, ok_count FROM endpoint_auth WHERE endpoint_id = $1 ORDER BY count DESC, scheme, location",
    "SELECT class, location, field, count, example, first_seen, last_seen FROM endpoint_sensitive WHERE endpoint_id = $1
     ORDER BY class, location, field",
];

/// An endpoint's details as `export --format json` writes them (either backend).
#[derive(Default)]
pub(super) struct DetailRows {
    status: Map<String, Value>,
    clients: Vec<Value>,
    params: Vec<Value>,
    bodies: Vec<Value>,
    auth: Vec<Value>,
    sensitive: Vec<Value>,
}

impl DetailRows {
    /// Adds a row of the `i`th query of [`DETAIL_SQL`], whose columns start at `at`.
    pub(super) fn add<'r, R>(&mut self, i: usize, r: &'r R, at: usize)
    where
        R: Row,
        usize: sqlx::ColumnIndex<R>,
        i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        let int = |k: usize| r.try_get::<i64, _>(at + k).unwrap_or_default();
        let text = |k: usize| r.try_get::<String, _>(at + k).unwrap_or_default();
        match i {
            0 => {
                self.status.insert(int(0).to_string(), json!(int(1)));
            }
            1 => self.clients.push(json!({"client": text(0), "count": int(1),
                "first_seen": iso(int(2)), "last_seen": iso(int(3))})),
            2 => self
                .params
                .push(json!({"in": text(0), "name": text(1), "types": text(2),
                "present": int(3)})),
            3 => {
                let schema: Option<String> = r.try_get(at + 5).unwrap_or_default();
                self.bodies.push(json!({
                    "direction": text(0),
                    "status": int(1),
                    "content_type": text(2),
                    "count": int(3),
                    "samples": int(4),
                    "schema": schema.and_then(|s| serde_json::from_str::<Value>(&s).ok()),
                }));
            }
            4 => self.auth.push(
                json!({"scheme": text(0), "location": text(1), "count": int(2),
                "ok_count": int(3)}),
            ),
            _ => self
                .sensitive
                .push(json!({"class": text(0), "location": text(1),
                "field": text(2), "count": int(3), "example": text(4),
                "first_seen": iso(int(5)), "last_seen": iso(int(6))})),
        }
    }

    /// The JSON object of the details.
    pub(super) fn json(self) -> Value {
        json!({"status": self.status, "clients": self.clients, "parameters": self.params,
               "bodies": self.bodies, "auth": self.auth, "sensitive": self.sensitive})
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The CSV dialect of every export: RFC 4180, CRLF line ends, quotes only where needed.
fn csv_writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

/// A cell as a spreadsheet may open it: one it would run as a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return, and not a number) gets a leading `'`.
fn formula_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// What was observed of an endpoint (the `x-shadowtap` extension of its operation).
fn observed(e: &super::EndpointRow) -> Value {
    json!({
        "host": e.host,
        "request_count": e.request_count,
        "error_count": e.error_count,
        "client_count": e.client_count,
        "first_seen": e.first_seen,
        "last_seen": e.last_seen,
        "latency_ms": {"p50": e.p50_ms, "p90": e.p90_ms, "p99": e.p99_ms},
        "auth_schemes": e.auth_schemes,
        "sensitive_data": e.sensitive_data,
        "classification": e.classification,
    })
}

/// The operation id of `method template`, numbered (`_2`, `_3`, ...) when taken already.
fn unique_operation_id(taken: &mut BTreeMap<String, u32>, method: &str, template: &str) -> String {
    let base = operation_id(method, template);
    let n = taken.entry(base.clone()).or_default();
    *n += 1;
    if *n == 1 { base } else { format!("{base}_{n}") }
}

fn operation_id(method: &str, template: &str) -> String {
    let mut id = method.to_string();
    for part in template
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        id.push('_');
        id.push_str(&part.to_ascii_lowercase());
    }
    id
}

/// The names of a template's path parameters, in order: whole segments (`{id}`) and parts of
/// one (`v{version}`, a prefix the learner kept; OpenAPI templates both alike).
fn path_param_names(template: &str) -> Vec<String> {
    template
        .split('/')
        .flat_map(|seg| {
            seg.split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        })
        .filter(|n| !n.is_empty())
        .collect()
}

fn path_schema(kind: &str) -> Value {
    match kind {
        "integer" => json!({"type": "integer"}),
        "uuid" => json!({"type": "string", "format": "uuid"}),
        "date" => json!({"type": "string", "format": "date"}),
        "email" => json!({"type": "string", "format": "email"}),
        "object_id" => json!({"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}),
        "hex_digest" => json!({"type": "string", "pattern": "^[0-9a-fA-F]+$"}),
        "ulid" => json!({"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$"}),
        _ => json!({"type": "string"}),
    }
}

fn scalar_schema(types: &str) -> Value {
    let all: Vec<&str> = types.split(',').filter(|t| !t.is_empty()).collect();
    if all.len() != 1 {
        return json!({"type": "string"});
    }
    match all[0] {
        "integer" => json!({"type": "integer"}),
        "number" => json!({"type": "number"}),
        "boolean" => json!({"type": "boolean"}),
        "date" | "date-time" | "uuid" | "email" | "ipv4" | "ipv6" => {
            json!({"type": "string", "format": all[0]})
        }
        _ => json!({"type": "string"}),
    }
}

fn media(v: &Value) -> String {
    match v.as_str() {
        Some("") | None => "application/octet-stream".into(),
        Some(s) => s.to_string(),
    }
}

fn reason(code: &str) -> String {
    let text = match code {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No Content",
        "206" => "Partial Content",
        "301" => "Moved Permanently",
        "302" => "Found",
        "304" => "Not Modified",
        "400" => "Bad Request",
        "401" => "Unauthorized",
        "402" => "Payment Required",
        "403" => "Forbidden",
        "404" => "Not Found",
        "405" => "Method Not Allowed",
        "409" => "Conflict",
        "422" => "Unprocessable Content",
        "429" => "Too Many Requests",
        "500" => "Internal Server Error",
        "502" => "Bad Gateway",
        "503" => "Service Unavailable",
        _ => "Observed",
    };
    format!("{text} (observed)")
}

fn security_scheme(scheme: &str, location: &str) -> Option<(String, Value)> {
    let ident: String = location
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Some(match scheme {
        "basic" => (
            "basicAuth".into(),
            json!({"type": "http", "scheme": "basic"}),
        ),
        "digest" => (
            "digestAuth".into(),
            json!({"type": "http", "scheme": "digest"}),
        ),
        "bearer_jwt" => (
            "bearerJwt".into(),
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        ),
        "bearer_opaque" => (
            "bearerToken".into(),
            json!({"type": "http", "scheme": "bearer"}),
        ),
        "api_key_header" => (
            format!("apiKeyHeader_{ident}"),
            json!({"type": "apiKey", "in": "header", "name": location}),
        ),
        "api_key_query" => (
            format!("apiKeyQuery_{ident}"),
            json!({"type": "apiKey", "in": "query", "name": location}),
        ),
        "cookie" => (
            format!("cookie_{ident}"),
            json!({"type": "apiKey", "in": "cookie", "name": location}),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{name}` of a template is a path parameter, a whole segment or part of one.
    #[test]
    fn path_parameters_whole_and_partial_segments() {
        assert_eq!(
            super::path_param_names("/api/v{version}/sites/{site_id}"),
            vec!["version", "site_id"]
        );
        assert_eq!(super::path_param_names("/users/me"), Vec::<String>::new());
    }

    #[test]
    fn csv_fields_are_quoted_and_formula_safe() {
        let line = |fields: &[&str]| {
            let mut w = csv_writer(Vec::new());
            w.write_record(fields.iter().map(|f| formula_safe(f).into_owned()))
                .unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        };
        assert_eq!(line(&["plain", "", "x"]), "plain,,x\r\n");
        assert_eq!(line(&["a,b", "two\nlines"]), "\"a,b\",\"two\nlines\"\r\n");
        assert_eq!(line(&["say \"hi\"", "1"]), "\"say \"\"hi\"\"\",1\r\n");
        assert_eq!(
            line(&["=HYPERLINK(\"x\")", "@SUM(A1)"]),
            "\"'=HYPERLINK(\"\"x\"\")\",'@SUM(A1)\r\n"
        );
        assert_eq!(line(&["-1.5", "+3"]), "-1.5,+3\r\n");
        assert_eq!(line(&["-cmd", "\tx"]), "'-cmd,'\tx\r\n");
    }

    #[test]
    fn names() {
        assert_eq!(
            operation_id("get", "/api/v1/users/{user_id}"),
            "get_api_v1_users_user_id"
        );
        assert_eq!(path_param_names("/a/{x}/b/{y_2}"), ["x", "y_2"]);
        assert_eq!(
            security_scheme("api_key_header", "X-API-Key").unwrap().0,
            "apiKeyHeader_X_API_Key"
        );
    }
}
