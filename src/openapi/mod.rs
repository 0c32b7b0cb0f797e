//! Reading API descriptions: OpenAPI 3.0 and 3.1 (JSON or YAML) and Swagger 2.0.
//!
//! What shadowtap needs of a document is its operations: method, path template (with the
//! server's base path), deprecation, the security it requires, and what it documents of
//! parameters, status codes, media types and request body fields. Local `$ref`s are followed
//! (bounded), path-level parameters are merged into operations, and server URLs with variables
//! are expanded with their defaults.

pub mod bounds;

use bounds::{Refused, SpecLimits, check_nesting, to_utf8};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Why a document was refused.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Neither JSON nor YAML.
    #[error("not JSON or YAML: {0}")]
    Syntax(String),
    /// Not an OpenAPI 3.x or Swagger 2.0 document.
    #[error("not an OpenAPI 3.x or Swagger 2.0 document (no `openapi: 3.x` or `swagger: \"2.0\"`)")]
    NotOpenApi,
    /// Larger than accepted (refused before it is parsed, or read whole).
    #[error("document too large: more than {}, the limit; not parsed", size_text(*limit))]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// Nested deeper than accepted (found by a pre-scan, before parsing).
    #[error(
        "document nested too deeply: more than {limit} levels at line {line}; not parsed (API descriptions nest far less)"
    )]
    TooDeep {
        /// The limit.
        limit: usize,
        /// 1-based line where the limit was passed.
        line: usize,
    },
    /// More nodes than accepted (found by the pre-scan, before parsing).
    #[error(
        "document too large: more than {limit} nodes (keys, values, items) by line {line}, the limit; not parsed"
    )]
    TooManyNodes {
        /// The limit.
        limit: usize,
        /// 1-based line where the limit was passed.
        line: usize,
    },
    /// The parse took longer than its budget.
    #[error("parsing the document took longer than {secs} s, the limit; refused")]
    TimedOut {
        /// The budget, seconds.
        secs: f64,
    },
    /// Another document was still being parsed when the budget ran out.
    #[error("another document is still being parsed (waited {secs} s); try again later")]
    Busy {
        /// The budget, seconds.
        secs: f64,
    },
}

/// `16 MiB`, `1000 bytes`.
fn size_text(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// A server: the host it answers on (when the URL names one) and the base path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SpecServer {
    /// Lower-case host, default ports removed; `None` for a relative URL.
    pub host: Option<String>,
    /// Path prefix of every operation (`""` or `/api`).
    pub base_path: String,
}

/// One documented operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecOperation {
    /// Upper-case method.
    pub method: String,
    /// Path template with the base path applied (`/api/v1/users/{id}`).
    pub path: String,
    /// `operationId`.
    pub operation_id: String,
    /// `summary`.
    pub summary: String,
    /// `deprecated: true`.
    pub deprecated: bool,
    /// Security requirement alternatives (scheme names of the document).
    pub security: Vec<Vec<String>>,
    /// shadowtap auth scheme names that satisfy one of the alternatives.
    pub security_types: BTreeSet<String>,
    /// The operation may be called without credentials (no security, or an empty alternative).
    pub public: bool,
    /// Documented query parameter names.
    pub query_params: BTreeSet<String>,
    /// Documented response codes (`200`, `4XX`, `default`).
    pub statuses: BTreeSet<String>,
    /// Documented request media types.
    pub request_types: BTreeSet<String>,
    /// Documented response media types.
    pub response_types: BTreeSet<String>,
    /// Documented request body field paths (`email`, `address.city`, `items[].sku`).
    pub body_fields: BTreeSet<String>,
}

/// A parsed document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiSpec {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `openapi-3.0`, `openapi-3.1` or `swagger-2.0`.
    pub format: &'static str,
    /// Servers (at least one; a relative `/` when the document names none).
    pub servers: Vec<SpecServer>,
    /// Operations, once per distinct base path.
    pub operations: Vec<SpecOperation>,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const MAX_OPERATIONS: usize = 20_000;

/// Parses a document (JSON or YAML) within the default [`SpecLimits`] of size and depth, on
/// the calling thread (async code uses [`bounds::parse_bounded`]).
pub fn parse(content: &[u8]) -> Result<ApiSpec, ParseError> {
    parse_checked(content, &SpecLimits::default())
}

/// Parses a document after checking its size and nesting depth against `limits` (linear
/// pre-scan; see [`bounds`]). The time budget is not applied here.
pub fn parse_checked(content: &[u8], limits: &SpecLimits) -> Result<ApiSpec, ParseError> {
    if content.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let content = to_utf8(content);
    let content: &[u8] = &content;
    check_nesting(content, limits.max_depth, limits.max_nodes).map_err(|e| match e {
        Refused::TooDeep { line } => ParseError::TooDeep {
            limit: limits.max_depth,
            line,
        },
        Refused::TooManyNodes { line } => ParseError::TooManyNodes {
            limit: limits.max_nodes,
            line,
        },
    })?;
    let doc: Value = match serde_json::from_slice(content) {
        Ok(v) => v,
        Err(_) => {
            serde_yaml_ng::from_slice(content).map_err(|e| ParseError::Syntax(e.to_string()))?
        }
    };
    let format = if doc
        .get("swagger")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with('2'))
    {
        "swagger-2.0"
    } else {
        match doc.get("openapi").and_then(Value::as_str) {
            Some(v) if v.starts_with("3.1") => "openapi-3.1",
            Some(v) if v.starts_with("3.") => "openapi-3.0",
            _ => return Err(ParseError::NotOpenApi),
        }
    };
    let swagger = format == "swagger-2.0";
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>()
    };
    let info = doc.get("info");
    let servers = if swagger {
        swagger_servers(&doc)
    } else {
        openapi_servers(doc.get("servers"))
    };
    let schemes = if swagger {
        doc.get("securityDefinitions")
    } else {
        doc.pointer("/components/securitySchemes")
    };
    let global_security = doc.get("security");
    let global_consumes = strings(doc.get("consumes"));
    let global_produces = strings(doc.get("produces"));

    let mut operations = Vec::new();
    let mut bases: Vec<&str> = servers.iter().map(|s| s.base_path.as_str()).collect();
    bases.sort_unstable();
    bases.dedup();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if !path.starts_with('/') {
                continue;
            }
            let item = resolve(&doc, item);
            let path_params = item.get("parameters");
            for m in METHODS {
                let Some(op) = item.get(m).map(|o| resolve(&doc, o)) else {
                    continue;
                };
                if operations.len() >= MAX_OPERATIONS {
                    break;
                }
                let params = merged_params(&doc, path_params, op.get("parameters"));
                let query_params: BTreeSet<String> = params
                    .iter()
                    .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                    .filter_map(|p| p.get("name").and_then(Value::as_str).map(String::from))
                    .collect();
                let security_req = op.get("security").or(global_security);
                let (security, security_types, public) = security_of(security_req, schemes);
                // An API key the description sends in the query is documented there too.
                let mut query_params: BTreeSet<String> = query_params;
                for name in security.iter().flatten() {
                    if let Some(def) = schemes.and_then(|s| s.get(name))
                        && def.get("type").and_then(Value::as_str) == Some("apiKey")
                        && def.get("in").and_then(Value::as_str) == Some("query")
                        && let Some(n) = def.get("name").and_then(Value::as_str)
                    {
                        query_params.insert(n.to_string());
                    }
                }
                let mut statuses = BTreeSet::new();
                let mut response_types = BTreeSet::new();
                if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                    for (code, r) in responses {
                        statuses.insert(code.to_ascii_uppercase().replace("DEFAULT", "default"));
                        let r = resolve(&doc, r);
                        if let Some(content) = r.get("content").and_then(Value::as_object) {
                            response_types.extend(content.keys().map(|k| media(k)));
                        } else if swagger && r.get("schema").is_some() {
                            let produces = strings(op.get("produces"));
                            response_types.extend(if produces.is_empty() {
                                global_produces.clone()
                            } else {
                                produces
                            });
                        }
                    }
                }
                let mut request_types = BTreeSet::new();
                let mut body_fields = BTreeSet::new();
                if swagger {
                    if let Some(body) = params
                        .iter()
                        .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))
                    {
                        let consumes = strings(op.get("consumes"));
                        request_types.extend(if consumes.is_empty() {
                            global_consumes.clone()
                        } else {
                            consumes
                        });
                        if request_types.is_empty() {
                            request_types.insert("application/json".into());
                        }
                        if let Some(schema) = body.get("schema") {
                            fields(&doc, schema, "", 0, &mut body_fields);
                        }
                    }
                    if params
                        .iter()
                        .any(|p| p.get("in").and_then(Value::as_str) == Some("formData"))
                    {
                        let consumes = strings(op.get("consumes"));
                        request_types.extend(consumes);
                        for p in params
                            .iter()
                            .filter(|p| p.get("in").and_then(Value::as_str) == Some("formData"))
                        {
                            if let Some(n) = p.get("name").and_then(Value::as_str) {
                                body_fields.insert(n.to_string());
                            }
                        }
                    }
                } else if let Some(rb) = op.get("requestBody").map(|b| resolve(&doc, b))
                    && let Some(content) = rb.get("content").and_then(Value::as_object)
                {
                    for (mt, c) in content {
                        request_types.insert(media(mt));
                        if let Some(schema) = c.get("schema") {
                            fields(&doc, schema, "", 0, &mut body_fields);
                        }
                    }
                }
                for base in &bases {
                    operations.push(SpecOperation {
                        method: m.to_ascii_uppercase(),
                        path: join(base, path),
                        operation_id: text(op.get("operationId")),
                        summary: text(op.get("summary")),
                        deprecated: op
                            .get("deprecated")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        security: security.clone(),
                        security_types: security_types.clone(),
                        public,
                        query_params: BTreeSet::clone(&query_params),
                        statuses: statuses.clone(),
                        request_types: request_types.clone(),
                        response_types: response_types.clone(),
                        body_fields: body_fields.clone(),
                    });
                }
            }
        }
    }
    Ok(ApiSpec {
        title: text(info.and_then(|i| i.get("title"))),
        version: text(info.and_then(|i| i.get("version"))),
        format,
        servers,
        operations,
    })
}

/// Follows local `$ref`s (`#/components/...`), at most 16 deep.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match v
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => v = target,
                None => return v,
            },
            None => return v,
        }
    }
    v
}

/// Operation parameters override path-level ones with the same name and location.
fn merged_params<'a>(
    doc: &'a Value,
    path_level: Option<&'a Value>,
    op_level: Option<&'a Value>,
) -> Vec<&'a Value> {
    let key = |p: &Value| {
        (
            p.get("name").and_then(Value::as_str).map(String::from),
            p.get("in").and_then(Value::as_str).map(String::from),
        )
    };
    let mut out: Vec<&Value> = Vec::new();
    for list in [op_level, path_level].into_iter().flatten() {
        for p in list.as_array().into_iter().flatten().take(256) {
            let p = resolve(doc, p);
            if !out.iter().any(|q| key(q) == key(p)) {
                out.push(p);
            }
        }
    }
    out
}

fn strings(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(media)
        .collect()
}

fn media(s: &str) -> String {
    s.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn join(base: &str, path: &str) -> String {
    let mut p = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    while p.contains("//") {
        p = p.replace("//", "/");
    }
    if p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    p
}

/// Host and base path of a URL (`http://api.example.com:8080/v1`, `/api`, `//host/x`).
pub fn split_url(url: &str) -> SpecServer {
    let (host, path) = match url.split_once("://") {
        Some((_, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            (Some(&rest[..end]), &rest[end..])
        }
        None => match url.strip_prefix("//") {
            Some(rest) => {
                let end = rest.find('/').unwrap_or(rest.len());
                (Some(&rest[..end]), &rest[end..])
            }
            None => (None, url),
        },
    };
    let host = host.filter(|h| !h.is_empty()).map(|h| {
        let h = h.rsplit('@').next().unwrap_or(h).to_ascii_lowercase();
        h.strip_suffix(":80")
            .or_else(|| h.strip_suffix(":443"))
            .map(String::from)
            .unwrap_or(h)
    });
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_string();
    SpecServer {
        host,
        base_path: path,
    }
}

fn openapi_servers(servers: Option<&Value>) -> Vec<SpecServer> {
    let mut out = Vec::new();
    for s in servers
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(64)
    {
        let Some(mut url) = s.get("url").and_then(Value::as_str).map(String::from) else {
            continue;
        };
        if let Some(vars) = s.get("variables").and_then(Value::as_object) {
            for (name, v) in vars {
                let default = v.get("default").and_then(Value::as_str).unwrap_or("");
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
        let server = split_url(&url);
        if !out.contains(&server) {
            out.push(server);
        }
    }
    if out.is_empty() {
        out.push(SpecServer {
            host: None,
            base_path: String::new(),
        });
    }
    out
}

fn swagger_servers(doc: &Value) -> Vec<SpecServer> {
    let host = doc
        .get("host")
        .and_then(Value::as_str)
        .map(|h| split_url(&format!("http://{h}")).host)
        .unwrap_or(None);
    let base = doc
        .get("basePath")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_end_matches('/')
        .to_string();
    vec![SpecServer {
        host,
        base_path: base,
    }]
}

/// (alternatives, satisfying shadowtap scheme names, may be called without credentials).
fn security_of(
    req: Option<&Value>,
    schemes: Option<&Value>,
) -> (Vec<Vec<String>>, BTreeSet<String>, bool) {
    let Some(list) = req.and_then(Value::as_array) else {
        return (Vec::new(), BTreeSet::new(), true);
    };
    let mut alts = Vec::new();
    let mut types = BTreeSet::new();
    let mut public = list.is_empty();
    for alt in list.iter().take(32) {
        let Some(obj) = alt.as_object() else { continue };
        if obj.is_empty() {
            public = true;
            continue;
        }
        let names: Vec<String> = obj.keys().cloned().collect();
        for n in &names {
            types.extend(scheme_types(schemes.and_then(|s| s.get(n))));
        }
        alts.push(names);
    }
    (alts, types, public)
}

/// shadowtap auth names that satisfy a security scheme definition.
fn scheme_types(def: Option<&Value>) -> Vec<String> {
    let Some(def) = def else { return Vec::new() };
    let ty = def.get("type").and_then(Value::as_str).unwrap_or("");
    let names: &[&str] = match ty {
        "http" => match def
            .get("scheme")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("basic") => &["basic"],
            Some("digest") => &["digest"],
            Some("bearer") => {
                if def
                    .get("bearerFormat")
                    .and_then(Value::as_str)
                    .is_some_and(|f| f.eq_ignore_ascii_case("jwt"))
                {
                    &["bearer_jwt"]
                } else {
                    &["bearer_jwt", "bearer_opaque"]
                }
            }
            _ => &[],
        },
        "basic" => &["basic"],
        "apiKey" => match def.get("in").and_then(Value::as_str) {
            Some("header") => &["api_key_header"],
            Some("query") => &["api_key_query"],
            Some("cookie") => &["cookie"],
            _ => &[],
        },
        "oauth2" | "openIdConnect" => &["bearer_jwt", "bearer_opaque"],
        "mutualTLS" => &[],
        _ => &[],
    };
    names.iter().map(|s| s.to_string()).collect()
}

/// Field paths of a (JSON) schema, following `$ref`, `allOf`, `oneOf` and `anyOf`, 4 levels deep.
fn fields(doc: &Value, schema: &Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if depth > 4 || out.len() > 2000 {
        return;
    }
    let schema = resolve(doc, schema);
    for combo in ["allOf", "oneOf", "anyOf"] {
        for s in schema
            .get(combo)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(16)
        {
            fields(doc, s, prefix, depth + 1, out);
        }
    }
    if let Some(items) = schema.get("items") {
        let p = format!("{prefix}[]");
        fields(doc, items, &p, depth + 1, out);
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props.iter().take(500) {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            out.insert(path.clone());
            fields(doc, sub, &path, depth + 1, out);
        }
    }
}

/// Segments of a template as matching keys: `{x}` becomes `None`.
pub fn pattern(template: &str) -> Vec<Option<&str>> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                None
            } else {
                Some(s)
            }
        })
        .collect()
}

/// The URL part of an endpoint template: all before `#` (what follows names a GraphQL
/// operation).
pub fn url_part(template: &str) -> &str {
    template.split_once('#').map_or(template, |(url, _)| url)
}

/// How well an observed template fits a documented one: `None` when it does not, otherwise the
/// number of literal segments that agree (more is a more specific match).
pub fn fit(observed: &str, documented: &str) -> Option<usize> {
    // A GraphQL operation's endpoint (`/graphql#query GetUser`) is documented by its URL.
    let observed = url_part(observed);
    let (o, d) = (pattern(observed), pattern(documented));
    if o.len() != d.len() {
        return None;
    }
    let mut literals = 0;
    for (a, b) in o.iter().zip(&d) {
        match (a, b) {
            (_, None) => {}
            (Some(x), Some(y)) if x == y => literals += 1,
            _ => return None,
        }
    }
    Some(literals)
}

/// Keys of an object, for messages.
pub fn keys(v: &Map<String, Value>) -> Vec<&str> {
    v.keys().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("https://API.example.com:443/v1/"),
            SpecServer {
                host: Some("api.example.com".into()),
                base_path: "/v1".into()
            }
        );
        assert_eq!(
            split_url("http://api.example.com:8080"),
            SpecServer {
                host: Some("api.example.com:8080".into()),
                base_path: "".into()
            }
        );
        assert_eq!(
            split_url("/api"),
            SpecServer {
                host: None,
                base_path: "/api".into()
            }
        );
        assert_eq!(join("/api/", "/users/{id}/"), "/api/users/{id}");
        assert_eq!(join("", "/"), "/");
    }

    #[test]
    fn fitting() {
        assert_eq!(fit("/users/{user_id}", "/users/{id}"), Some(1));
        assert_eq!(fit("/users/me", "/users/{id}"), Some(1));
        assert_eq!(fit("/users/me", "/users/me"), Some(2));
        assert_eq!(fit("/users/{id}", "/users/me"), None);
        assert_eq!(fit("/users/{id}/x", "/users/{id}"), None);
        assert_eq!(fit("/", "/"), Some(0));
    }

    #[test]
    fn rejects_what_is_not_a_spec() {
        assert!(matches!(
            parse(b"{\"hello\": 1}"),
            Err(ParseError::NotOpenApi)
        ));
        assert!(matches!(
            parse(b"openapi: [unclosed"),
            Err(ParseError::Syntax(_))
        ));
        assert!(parse(b"\xff\xfe").is_err());
    }
}
