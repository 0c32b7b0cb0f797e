//! GraphQL over HTTP: which operation a request runs, read from its document.
//!
//! A GraphQL API is one URL (`POST /graphql`) whatever it does; the inventory splits it into
//! one endpoint per operation, named `query GetUser`, `mutation CreateOrder`, or, for an
//! anonymous operation, by its top-level fields (`query {user,orders}`). The endpoint's path
//! template is the URL's followed by `#` and that name (`/graphql#query GetUser`): `#` never
//! appears in a request target, so the name cannot be forged by a path, and everything keyed by
//! endpoint (auth, sensitive data, latency, clients, sequences, findings) is per operation.
//!
//! Recognised: a JSON body `{"query": "...", "operationName": ..., "extensions":
//! {"persistedQuery": {"sha256Hash": ...}}}`, a JSON array of those (batching), a body of type
//! `application/graphql`, and `GET ?query=...&operationName=...`. Persisted queries sent
//! by hash alone are named `persisted <operationName>` (or `persisted <hash prefix>`). The
//! document is parsed by Apollo's `apollo-parser` with token and recursion limits; a `query`
//! field that does not parse as an executable document (a search API's `{"query": "shoes"}`)
//! is not GraphQL.
//!
//! What it owns: recognition and the facts per operation (kind, name, top-level fields,
//! depth, most aliases of one field, introspection). What it may not touch: the inventory's
//! keys and findings (the inventory decides with these facts).

use apollo_parser::cst;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Tokens parsed per document at most (a bigger document is not read).
const TOKEN_LIMIT: usize = 50_000;
/// Selection sets nested at most while parsing; deeper documents are judged as that deep.
pub const RECURSION_LIMIT: usize = 128;
/// Operations of a batch looked at.
const MAX_BATCH_READ: usize = 64;
/// Selections visited per operation (fragments expanded) at most: linear in the document.
const MAX_VISITS: usize = 20_000;
/// Top-level fields kept per operation.
const MAX_FIELDS: usize = 16;
/// Longest operation name kept.
const MAX_NAME: usize = 64;

/// The kind of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `query` (or the `{ ... }` shorthand).
    Query,
    /// `mutation`.
    Mutation,
    /// `subscription`.
    Subscription,
    /// A persisted query sent by hash: the kind is not on the wire.
    Persisted,
}

impl OpKind {
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Query => "query",
            OpKind::Mutation => "mutation",
            OpKind::Subscription => "subscription",
            OpKind::Persisted => "persisted",
        }
    }
}

/// One operation, as executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Query, mutation, subscription.
    pub kind: OpKind,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Names of its top-level fields, sorted, at most 16.
    pub fields: Vec<String>,
    /// Nesting of field selections (fragments expanded): `{ a { b } }` is 2.
    pub depth: u32,
    /// The most times one field is selected in one selection set (under aliases).
    pub max_aliases: u32,
    /// The field aliased most, with [`Operation::max_aliases`].
    pub aliased_field: Option<String>,
    /// A top-level `__schema` or `__type`: introspection.
    pub introspection: bool,
}

impl Operation {
    /// The name of the operation's endpoint: `query GetUser`, or `query {user,orders}` for an
    /// anonymous one (at most three fields, then `+N`).
    pub fn label(&self) -> String {
        let kind = self.kind.name();
        if let Some(n) = &self.name {
            return format!("{kind} {n}");
        }
        let shown: Vec<&str> = self.fields.iter().take(3).map(String::as_str).collect();
        let more = self.fields.len().saturating_sub(3);
        if more > 0 {
            format!("{kind} {{{}+{more}}}", shown.join(","))
        } else {
            format!("{kind} {{{}}}", shown.join(","))
        }
    }
}

/// A GraphQL request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphqlRequest {
    /// The operations run: one, or one per document of a batch (at most 64 read).
    pub operations: Vec<Operation>,
    /// Documents in the request (a batch's length; 1 otherwise).
    pub batch: usize,
}

impl GraphqlRequest {
    /// The name of the request's endpoint: its operation's label, or for a batch
    /// `batch [first label]`.
    pub fn label(&self) -> String {
        match self.operations.first() {
            Some(op) if self.batch > 1 => format!("batch [{}]", op.label()),
            Some(op) => op.label(),
            None => "batch []".into(),
        }
    }

    /// The deepest operation's depth.
    pub fn depth(&self) -> u32 {
        self.operations.iter().map(|o| o.depth).max().unwrap_or(0)
    }

    /// The most aliases of one field in one operation, and that field.
    pub fn max_aliases(&self) -> (u32, Option<&str>) {
        self.operations
            .iter()
            .max_by_key(|o| o.max_aliases)
            .map_or((0, None), |o| (o.max_aliases, o.aliased_field.as_deref()))
    }

    /// Whether an operation asks for the schema.
    pub fn introspection(&self) -> bool {
        self.operations.iter().any(|o| o.introspection)
    }
}

/// A request that carries GraphQL, from its method, media type, decoded JSON body (if any),
/// raw body (for `application/graphql`) and query-string pairs.
pub fn recognize<'a>(
    method: &[u8],
    media_type: &str,
    json: Option<&Value>,
    body: Option<&[u8]>,
    query: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<GraphqlRequest> {
    if method.eq_ignore_ascii_case(b"GET") {
        let (mut doc, mut name, mut ext) = (None, None, None);
        for (k, v) in query {
            match k {
                "query" if doc.is_none() => doc = Some(v),
                "operationName" if name.is_none() => name = Some(v),
                "extensions" if ext.is_none() => ext = Some(v),
                _ => {}
            }
        }
        let ext: Option<Value> = ext.and_then(|e| serde_json::from_str(e).ok());
        let op = one(doc, name, ext.as_ref())?;
        return Some(GraphqlRequest {
            operations: vec![op],
            batch: 1,
        });
    }
    if media_type == "application/graphql" {
        let text = std::str::from_utf8(body?).ok()?;
        let op = one(Some(text), None, None)?;
        return Some(GraphqlRequest {
            operations: vec![op],
            batch: 1,
        });
    }
    match json? {
        Value::Object(m) => {
            let op = from_object(m)?;
            Some(GraphqlRequest {
                operations: vec![op],
                batch: 1,
            })
        }
        Value::Array(a) if !a.is_empty() => {
            let mut operations = Vec::new();
            for v in a.iter().take(MAX_BATCH_READ) {
                operations.push(from_object(v.as_object()?)?);
            }
            Some(GraphqlRequest {
                operations,
                batch: a.len(),
            })
        }
        _ => None,
    }
}

fn from_object(m: &serde_json::Map<String, Value>) -> Option<Operation> {
    one(
        m.get("query").and_then(Value::as_str),
        m.get("operationName").and_then(Value::as_str),
        m.get("extensions"),
    )
}

/// The operation a document (or a persisted query's hash) runs.
fn one(doc: Option<&str>, name: Option<&str>, extensions: Option<&Value>) -> Option<Operation> {
    let name = name.map(str::trim).filter(|n| is_name(n));
    match doc.map(str::trim).filter(|d| !d.is_empty()) {
        Some(doc) => parse(doc, name),
        None => {
            let hash = extensions?
                .get("persistedQuery")?
                .get("sha256Hash")?
                .as_str()
                .filter(|h| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
            Some(Operation {
                kind: OpKind::Persisted,
                name: Some(
                    name.map(str::to_string)
                        .unwrap_or_else(|| hash[..12.min(hash.len())].to_ascii_lowercase()),
                ),
                fields: Vec::new(),
                depth: 0,
                max_aliases: 0,
                aliased_field: None,
                introspection: false,
            })
        }
    }
}

/// A GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`), not too long.
fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && (b[0] == b'_' || b[0].is_ascii_alphabetic())
        && b.iter().all(|c| *c == b'_' || c.is_ascii_alphanumeric())
}

/// Parses an executable document and reads the operation named `wanted` (or its only, or
/// first, operation).
fn parse(doc: &str, wanted: Option<&str>) -> Option<Operation> {
    let tree = apollo_parser::Parser::new(doc)
        .token_limit(TOKEN_LIMIT)
        .recursion_limit(RECURSION_LIMIT)
        .parse();
    let mut too_deep = tree.recursion_limit().high >= RECURSION_LIMIT;
    if tree.errors().len() > 0 && !too_deep {
        return None;
    }
    let document = tree.document();
    let mut fragments: HashMap<String, cst::SelectionSet> = HashMap::new();
    let mut ops = Vec::new();
    for d in document.definitions() {
        match d {
            cst::Definition::OperationDefinition(op) => ops.push(op),
            cst::Definition::FragmentDefinition(f) => {
                if let (Some(n), Some(s)) =
                    (f.fragment_name().and_then(|n| n.name()), f.selection_set())
                {
                    fragments.entry(n.text().to_string()).or_insert(s);
                }
            }
            // Type system definitions: a schema, not a request.
            _ => return None,
        }
    }
    let op = match wanted {
        Some(w) => ops
            .iter()
            .find(|o| o.name().is_some_and(|n| n.text() == w))
            .or(ops.first()),
        None => ops.first(),
    }?;
    let kind = match op.operation_type() {
        Some(t) if t.mutation_token().is_some() => OpKind::Mutation,
        Some(t) if t.subscription_token().is_some() => OpKind::Subscription,
        _ => OpKind::Query,
    };
    let name = op
        .name()
        .map(|n| n.text().to_string())
        .filter(|n| is_name(n));
    let set = op.selection_set()?;
    let mut walk = Walk {
        fragments: &fragments,
        visits: 0,
        level: 0,
        cut: false,
        max_aliases: 0,
        aliased_field: None,
    };
    let mut top: HashSet<String> = HashSet::new();
    walk.top_fields(&set, &mut top, &mut HashSet::new());
    let depth = walk.depth(&set, &mut Vec::new());
    too_deep |= walk.cut;
    let mut fields: Vec<String> = top.into_iter().collect();
    fields.sort_unstable();
    let introspection = fields.iter().any(|f| f == "__schema" || f == "__type");
    fields.truncate(MAX_FIELDS);
    Some(Operation {
        kind,
        name,
        fields,
        depth: if too_deep {
            depth.max(RECURSION_LIMIT as u32)
        } else {
            depth
        },
        max_aliases: walk.max_aliases,
        aliased_field: walk.aliased_field,
        introspection,
    })
}

/// Aliases of one field in one operation (or operations in one batch) from which a request is
/// `graphql_alias_abuse`.
pub const ALIAS_ABUSE: u32 = 10;
/// Depth above which an operation is `graphql_deep_query`.
pub const MAX_DEPTH: u32 = 10;

/// Findings of one GraphQL request answered `status` (with its JSON body, if any): `(kind,
/// whether it names the client, detail, evidence)`. Introspection answered with the schema;
/// alias or batch abuse (the GraphQL form of enumeration: one request, many lookups); a
/// query nested beyond [`MAX_DEPTH`] (introspection queries aside).
pub fn judge(
    g: &GraphqlRequest,
    status: u16,
    answer: Option<&Value>,
) -> Vec<(&'static str, bool, String, String)> {
    let mut out = Vec::new();
    let schema = answer.and_then(|a| a.get("data")).is_some_and(|d| {
        d.get("__schema").is_some_and(|s| !s.is_null())
            || d.get("__type").is_some_and(|t| !t.is_null())
    });
    if g.introspection() && (200..300).contains(&status) && schema {
        out.push((
            "graphql_introspection",
            false,
            "The GraphQL server answered an introspection query with its schema: anyone who can reach it gets every type, field and argument, hidden ones included. Turn introspection off outside development.".to_string(),
            format!("{} answered {status} with data.__schema", g.label()),
        ));
    }
    let (aliases, field) = g.max_aliases();
    if aliases >= ALIAS_ABUSE {
        let field = field.unwrap_or("?");
        out.push((
            "graphql_alias_abuse",
            true,
            format!("One request selected the field {field} {aliases} times under different aliases: one HTTP request, {aliases} lookups, past per-request rate limits (GraphQL's form of enumeration or brute force). Limit aliases and query cost."),
            format!("{aliases} aliases of {field} in {}", g.label()),
        ));
    } else if g.batch >= ALIAS_ABUSE as usize {
        out.push((
            "graphql_alias_abuse",
            true,
            format!("One request carried a batch of {} operations: one HTTP request, {} lookups, past per-request rate limits. Limit batch sizes and query cost.", g.batch, g.batch),
            format!("batch of {} operations", g.batch),
        ));
    }
    // The standard introspection query nests `ofType` about a dozen levels by design: it is
    // judged as introspection, not as a deep query.
    let depth = g
        .operations
        .iter()
        .filter(|o| !o.introspection)
        .map(|o| o.depth)
        .max()
        .unwrap_or(0);
    if depth > MAX_DEPTH {
        out.push((
            "graphql_deep_query",
            true,
            format!("A query nested {depth} levels deep{} (above {MAX_DEPTH}): the server resolves every level, so depth multiplies its work (a denial of service). Limit query depth and cost.", if depth >= RECURSION_LIMIT as u32 { " or more" } else { "" }),
            format!("depth {depth} in {}", g.label()),
        ));
    }
    out
}

/// A bounded walk over an operation's selections, fragments expanded (each fragment once per
/// path: a cycle stops).
struct Walk<'a> {
    fragments: &'a HashMap<String, cst::SelectionSet>,
    visits: usize,
    /// Nesting of the walk now (fields, fragments): bounded, so a chain of thousands of
    /// fragments cannot exhaust the stack.
    level: usize,
    /// The walk stopped at the nesting bound.
    cut: bool,
    max_aliases: u32,
    aliased_field: Option<String>,
}

impl Walk<'_> {
    /// The field names selected at the top (through fragments), `__typename` left out.
    fn top_fields(
        &mut self,
        set: &cst::SelectionSet,
        out: &mut HashSet<String>,
        seen: &mut HashSet<String>,
    ) {
        if self.level >= RECURSION_LIMIT {
            self.cut = true;
            return;
        }
        self.level += 1;
        self.top_fields_in(set, out, seen);
        self.level -= 1;
    }

    fn top_fields_in(
        &mut self,
        set: &cst::SelectionSet,
        out: &mut HashSet<String>,
        seen: &mut HashSet<String>,
    ) {
        for s in set.selections() {
            self.visits += 1;
            if self.visits > MAX_VISITS || out.len() >= 4 * MAX_FIELDS {
                return;
            }
            match s {
                cst::Selection::Field(f) => {
                    if let Some(n) = f.name() {
                        let n = n.text();
                        // Names are GraphQL names; a long one is kept short in labels.
                        if n.len() > MAX_NAME {
                            out.insert(format!("{}…", &n[..MAX_NAME]));
                        } else if n != "__typename" {
                            out.insert(n.to_string());
                        }
                    }
                }
                cst::Selection::InlineFragment(i) => {
                    if let Some(s) = i.selection_set() {
                        self.top_fields(&s, out, seen);
                    }
                }
                cst::Selection::FragmentSpread(f) => {
                    let Some(n) = f.fragment_name().and_then(|n| n.name()) else {
                        continue;
                    };
                    let n = n.text().to_string();
                    if let Some(s) = self.fragments.get(&n)
                        && seen.insert(n)
                    {
                        self.top_fields(s, out, seen);
                    }
                }
            }
        }
    }

    /// The nesting below `set` (1 for a set of leaves), counting aliases on the way.
    fn depth(&mut self, set: &cst::SelectionSet, path: &mut Vec<String>) -> u32 {
        if self.level >= RECURSION_LIMIT {
            self.cut = true;
            return 0;
        }
        self.level += 1;
        let d = self.depth_in(set, path);
        self.level -= 1;
        d
    }

    fn depth_in(&mut self, set: &cst::SelectionSet, path: &mut Vec<String>) -> u32 {
        let mut deepest = 0;
        let mut per_field: HashMap<String, u32> = HashMap::new();
        for s in set.selections() {
            self.visits += 1;
            if self.visits > MAX_VISITS {
                break;
            }
            match s {
                cst::Selection::Field(f) => {
                    if let Some(n) = f.name() {
                        *per_field.entry(n.text().to_string()).or_default() += 1;
                    }
                    let below = match f.selection_set() {
                        Some(s) => self.depth(&s, path),
                        None => 0,
                    };
                    deepest = deepest.max(1 + below);
                }
                cst::Selection::InlineFragment(i) => {
                    if let Some(s) = i.selection_set() {
                        deepest = deepest.max(self.depth(&s, path));
                    }
                }
                cst::Selection::FragmentSpread(f) => {
                    let Some(n) = f.fragment_name().and_then(|n| n.name()) else {
                        continue;
                    };
                    let n = n.text().to_string();
                    if path.contains(&n) {
                        continue;
                    }
                    if let Some(s) = self.fragments.get(&n) {
                        path.push(n);
                        deepest = deepest.max(self.depth(s, path));
                        path.pop();
                    }
                }
            }
        }
        if let Some((field, n)) = per_field
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            && n > self.max_aliases
        {
            self.max_aliases = n;
            self.aliased_field = Some(field);
        }
        deepest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn post(body: Value) -> Option<GraphqlRequest> {
        recognize(
            b"POST",
            "application/json",
            Some(&body),
            None,
            std::iter::empty(),
        )
    }

    #[test]
    fn named_and_anonymous_operations() {
        let g = post(
            json!({"query": "query GetUser($id: ID!) { user(id: $id) { id name } }",
                            "variables": {"id": 1}}),
        )
        .unwrap();
        assert_eq!(g.label(), "query GetUser");
        let op = &g.operations[0];
        assert_eq!(op.fields, ["user"]);
        assert_eq!(op.depth, 2);
        let g = post(json!({"query": "{ orders { id } user { id } __typename }"})).unwrap();
        assert_eq!(g.label(), "query {orders,user}");
        let g = post(json!({"query": "mutation { a b c d e }"})).unwrap();
        assert_eq!(g.label(), "mutation {a,b,c+2}");
        let g = post(json!({"query": "subscription OnEvent { event { id } }"})).unwrap();
        assert_eq!(g.label(), "subscription OnEvent");
    }

    #[test]
    fn the_named_operation_of_several_is_the_one_run() {
        let doc = "query A { a } mutation B { b }";
        let g = post(json!({"query": doc, "operationName": "B"})).unwrap();
        assert_eq!(g.label(), "mutation B");
        let g = post(json!({"query": doc})).unwrap();
        assert_eq!(g.label(), "query A");
    }

    #[test]
    fn what_is_not_graphql() {
        assert_eq!(post(json!({"query": "shoes"})), None);
        assert_eq!(post(json!({"query": "red shoes size 42"})), None);
        assert_eq!(post(json!({"q": "{ a }"})), None);
        assert_eq!(post(json!({"query": 42})), None);
        assert_eq!(post(json!({"query": "type Query { a: Int }"})), None);
        assert_eq!(post(json!([])), None);
        assert_eq!(post(json!([{"query": "{ a }"}, {"text": "x"}])), None);
    }

    #[test]
    fn get_and_application_graphql_and_persisted_queries() {
        let pairs = [("query", "{ me { id } }"), ("operationName", "")];
        let g = recognize(b"GET", "", None, None, pairs.into_iter()).unwrap();
        assert_eq!(g.label(), "query {me}");
        let g = recognize(
            b"POST",
            "application/graphql",
            None,
            Some(b"query Q { x }"),
            std::iter::empty(),
        )
        .unwrap();
        assert_eq!(g.label(), "query Q");
        let hash = "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38";
        let g = post(json!({"operationName": "GetUser",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}}))
        .unwrap();
        assert_eq!(g.label(), "persisted GetUser");
        let g = post(json!({"extensions": {"persistedQuery": {"sha256Hash": hash}}})).unwrap();
        assert_eq!(g.label(), "persisted ecf4edb46db4");
        let ext = format!(r#"{{"persistedQuery":{{"version":1,"sha256Hash":"{hash}"}}}}"#);
        let pairs = [("extensions", ext.as_str())];
        let g = recognize(b"GET", "", None, None, pairs.into_iter()).unwrap();
        assert_eq!(g.label(), "persisted ecf4edb46db4");
    }

    #[test]
    fn batches_aliases_depth_and_introspection() {
        let g = post(json!([{"query": "query A { a }"}, {"query": "{ b }"}, {"query": "{ c }"}]))
            .unwrap();
        assert_eq!((g.batch, g.operations.len()), (3, 3));
        assert_eq!(g.label(), "batch [query A]");
        let aliases: Vec<String> = (0..25)
            .map(|i| format!("u{i}: user(id: {i}) {{ id }}"))
            .collect();
        let g = post(json!({"query": format!("{{ {} }}", aliases.join(" "))})).unwrap();
        assert_eq!(g.max_aliases(), (25, Some("user")));
        assert_eq!(g.label(), "query {user}");
        let deep = format!("{{ {}b{} }}", "a { ".repeat(14), "}".repeat(14));
        assert_eq!(post(json!({"query": deep})).unwrap().depth(), 15);
        let g = post(json!({"query": "query IntrospectionQuery { __schema { types { name } } }"}))
            .unwrap();
        assert!(g.introspection());
        assert!(
            !post(json!({"query": "{ a { __typename } }"}))
                .unwrap()
                .introspection()
        );
    }

    #[test]
    fn fragments_count_and_cycles_stop() {
        let doc = "query Q { user { ...F } } fragment F on User { friends { ...G } } \
                   fragment G on User { name ...F }";
        let g = post(json!({"query": doc})).unwrap();
        // user > friends > name; F inside G is the cycle, not followed.
        assert_eq!(g.depth(), 2 + 1);
        let doc = "{ ...Top } fragment Top on Query { a b }";
        assert_eq!(post(json!({"query": doc})).unwrap().label(), "query {a,b}");
    }

    #[test]
    fn fragment_chains_stay_bounded() {
        // A chain of thousands of fragments, each nesting the next: the walk's nesting is
        // bounded like the parser's.
        let mut doc = String::from("{ ...F0 }");
        for i in 0..1500 {
            doc.push_str(&format!(" fragment F{i} on Q {{ x {{ ...F{} }} }}", i + 1));
        }
        let g = post(json!({"query": doc})).unwrap();
        assert!(g.depth() >= RECURSION_LIMIT as u32 / 2, "{}", g.depth());
    }

    #[test]
    fn hostile_documents_stay_bounded() {
        // Nesting beyond the parser's recursion limit: judged as that deep, no stack overflow.
        let deep = format!("{{ {}b{} }}", "a { ".repeat(5000), "}".repeat(5000));
        let g = post(json!({"query": deep})).unwrap();
        assert!(g.depth() >= RECURSION_LIMIT as u32);
        // A fragment bomb: each fragment spreads the next twice.
        let mut doc = String::from("{ ...F0 }");
        for i in 0..40 {
            doc.push_str(&format!(
                " fragment F{i} on Q {{ a: x {{ ...F{} }} b: x {{ ...F{} }} }}",
                i + 1,
                i + 1
            ));
        }
        doc.push_str(" fragment F40 on Q { leaf }");
        let started = std::time::Instant::now();
        let g = post(json!({"query": doc})).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(g.depth() >= 1);
        // Too many tokens: not read.
        let wide = format!("{{ {} }}", "f ".repeat(60_000));
        assert_eq!(post(json!({"query": wide})), None);
        // Names that are not GraphQL names are not kept.
        let g = post(json!({"query": "{ a }", "operationName": "<script>"})).unwrap();
        assert_eq!(g.label(), "query {a}");
    }
}
