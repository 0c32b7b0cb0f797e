//! JavaScript and TypeScript: the routes Express, Fastify and Koa (`@koa/router`,
//! `koa-router`) applications declare, with mounts resolved across files.
//!
//! Every file of the tree is parsed (JS, TS or TSX grammar by extension) and read in one
//! pre-order walk that keeps lexical scopes and a small abstract value per expression
//! (`Val`): routers made by a framework's constructor (`express()`, `Router()`,
//! `fastify()`, `new Router({prefix})`, `new Koa()`), functions whose first parameter
//! receives a router (Fastify plugins, `module.exports = (app) => {...}`), modules
//! (`require`, `import`), constant strings. Calls on routers record routes, mounts
//! (`use`, `register`, calling a route function with a router) and router-level
//! middleware; each file's exports are kept, so that a mount of an imported router
//! resolves to the router the other file built. The routes are then emitted from every
//! router no one mounts, down its mounts, with prefixes joined and authentication
//! middleware carried down.
//!
//! What is not understood is skipped, not guessed: computed method names, paths that are
//! not constant strings, routers from unknown packages. A file's own constants resolve
//! (`const base = '/users'; router.get(base + '/:id', h)`). A Fastify plugin's
//! `opts.prefix + 'x'` stands for the prefix of the plugin's registration (`fastify-plugin`
//! makes plugins join their prefix by hand).

use super::{
    DeclaredRoute, Framework, Preorder, Scopes, SourceFile, is_auth_name, join_route, line,
    named_children, parse, template, text,
};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use tree_sitter::Node;

/// The extensions of JavaScript and TypeScript files (without the dot).
pub const EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "ts", "mts", "cts", "jsx", "tsx"];

/// Nesting of one expression evaluated at most (chains, concatenations, wrappers).
const MAX_EVAL_DEPTH: usize = 48;
/// Nodes of one file visited at most.
const MAX_NODES: usize = 4_000_000;
/// Mounts followed below a root at most (a mount cycle ends here).
const MAX_MOUNT_DEPTH: usize = 24;
/// Routes emitted per scan at most (a diamond of mounts could multiply them).
const MAX_ROUTES: usize = 500_000;
/// Routers visited per scan at most while emitting (mounts that fan out without declaring
/// anything would otherwise be walked exponentially often).
const MAX_VISITS: usize = 2_000_000;
/// Paths of one array argument kept at most (`app.use([...], ...)`).
const MAX_PATHS_PER_ARG: usize = 64;

/// HTTP methods of the `router.get(...)` family, and the `*` of `all`.
const VERBS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("patch", "PATCH"),
    ("delete", "DELETE"),
    ("del", "DELETE"),
    ("head", "HEAD"),
    ("options", "OPTIONS"),
    ("all", "*"),
];

/// Fastify route options whose functions run before the handler (where authentication is).
const FASTIFY_HOOKS: &[&str] = &["onRequest", "preParsing", "preValidation", "preHandler"];

/// Names an unbound receiver may have in a file that imports a framework (a router made in
/// another file and used here as a global).
const IMPLICIT_ROUTERS: &[&str] = &["app", "router", "server", "fastify", "api"];

/// The abstract value of an expression.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    /// A router or application (index into the scan's routers).
    Router(usize),
    /// `router.route('/x')` (Express): verbs on it declare routes on those paths.
    Builder(usize, Vec<String>),
    /// A package from outside the tree (`express`).
    Package(String),
    /// An export of such a package (`express`, `Router`).
    Member(String, String),
    /// A file of the tree and one of its exports (`None`: what `require` returns).
    Import(usize, Option<String>),
    /// A constant string.
    Str(String),
    /// The options parameter of a function that receives a router (a Fastify plugin's `opts`).
    PluginOpts,
    /// Authentication middleware that lets anonymous callers through (`koa-jwt` with
    /// `passthrough: true`, `express-jwt` with `credentialsRequired: false`).
    OptionalAuth,
    /// Anything else.
    Unknown,
}

/// An authentication name as written, and the value it names (resolved at emission: an
/// optional authentication middleware is left out).
type Auth = (String, Val);

/// A router: an application, a router object, or a function that receives one.
#[derive(Debug)]
struct Router {
    framework: Option<Framework>,
    /// Its own prefix (Koa's `new Router({prefix})`, `router.prefix('/x')`).
    prefix: String,
    /// Router-level middleware that reads as authentication: (order, path scope, name).
    auth: Vec<(u32, String, Auth)>,
    /// A function's parameter, not a framework object: a root only in a file that
    /// imports a framework, or when its parameter is typed as one.
    param: bool,
    /// Stands for a router imported from another file (its routes reach out only
    /// through that router).
    alias: bool,
    /// The file that makes it.
    file: usize,
}

#[derive(Debug)]
struct Route {
    router: usize,
    method: String,
    path: String,
    file: usize,
    line: u32,
    handler: Option<String>,
    auth: Vec<Auth>,
    seq: u32,
}

#[derive(Debug)]
struct Mount {
    parent: Val,
    child: Val,
    prefix: String,
    auth: Vec<Auth>,
    seq: u32,
}

/// What every file contributed.
#[derive(Default)]
struct Scan {
    routers: Vec<Router>,
    routes: Vec<Route>,
    mounts: Vec<Mount>,
    /// Per file: its exports (`default` for `module.exports =` and `export default`).
    exports: Vec<HashMap<String, Val>>,
    /// Per file: the modules it re-exports whole (`export * from './x'`).
    star_exports: Vec<Vec<usize>>,
    /// Per file: the framework it imports, if any.
    markers: Vec<Option<Framework>>,
}

/// Scans the JavaScript and TypeScript files of one tree (all at once, so that imports and
/// mounts across files resolve) and returns the routes declared with Express, Fastify and Koa.
pub fn scan(files: &[SourceFile]) -> Vec<DeclaredRoute> {
    let index: HashMap<PathBuf, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (normalize(&f.path), i))
        .collect();
    let mut scan = Scan {
        exports: vec![HashMap::new(); files.len()],
        star_exports: vec![Vec::new(); files.len()],
        markers: vec![None; files.len()],
        ..Scan::default()
    };
    for (i, file) in files.iter().enumerate() {
        let language: tree_sitter::Language = match file.path.extension().and_then(|e| e.to_str()) {
            Some("ts" | "mts" | "cts") => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Some("tsx") => tree_sitter_typescript::LANGUAGE_TSX.into(),
            _ => tree_sitter_javascript::LANGUAGE.into(),
        };
        let Some(tree) = parse(&language, &file.text) else {
            continue;
        };
        let mut reader = FileReader {
            scan: &mut scan,
            file: i,
            path: &file.path,
            src: &file.text,
            index: &index,
            scopes: Scopes::new(),
            memo: HashMap::new(),
            fn_routers: HashMap::new(),
            implicit: HashMap::new(),
            aliases: HashMap::new(),
            seq: 0,
            pending_exports: Vec::new(),
        };
        reader.read(tree.root_node());
    }
    scan.emit(files)
}

/// A path with `.` and `..` folded (no file system access).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The framework a package's import says a file uses.
fn package_framework(name: &str) -> Option<Framework> {
    match name {
        "express" => Some(Framework::Express),
        "fastify" | "fastify-plugin" => Some(Framework::Fastify),
        n if n.starts_with("@fastify/") => Some(Framework::Fastify),
        "koa" | "@koa/router" | "koa-router" => Some(Framework::Koa),
        _ => None,
    }
}

struct FileReader<'a> {
    scan: &'a mut Scan,
    file: usize,
    path: &'a Path,
    src: &'a str,
    index: &'a HashMap<PathBuf, usize>,
    scopes: Scopes<Val>,
    /// Values of the calls and constructions already evaluated (by node id): a chain is
    /// evaluated once, from its outermost call, and its inner calls are not run again.
    memo: HashMap<usize, Val>,
    /// The router of each function that receives one (by node id).
    fn_routers: HashMap<usize, usize>,
    /// Routers of unbound receivers (`app` used as a global), by name.
    implicit: HashMap<String, usize>,
    /// Alias routers of imported routers used as receivers, by import.
    aliases: HashMap<(usize, Option<String>), usize>,
    seq: u32,
    /// `export { a as b }` and exported declarations: (export name, local name), bound at
    /// the end of the file.
    pending_exports: Vec<(String, String)>,
}

impl<'a> FileReader<'a> {
    fn read(&mut self, root: Node<'a>) {
        // Function declarations are hoisted: a plugin may be registered above its body.
        for node in Preorder::new(root).take(MAX_NODES) {
            if matches!(
                node.kind(),
                "function_declaration" | "generator_function_declaration"
            ) && let Some(name) = node.child_by_field_name("name")
            {
                let r = self.fn_router(node);
                self.scopes
                    .bind_global(text(name, self.src), Val::Router(r));
            }
        }
        for node in Preorder::new(root).take(MAX_NODES) {
            self.scopes.leave_before(node.start_byte());
            match node.kind() {
                "import_statement" => self.import(node),
                "function_declaration"
                | "generator_function_declaration"
                | "function_expression"
                | "function"
                | "generator_function"
                | "arrow_function"
                | "method_definition" => self.enter_function(node),
                "variable_declarator" => self.declare(node),
                "call_expression" | "new_expression" => {
                    self.eval(node, 0);
                }
                "export_statement" => self.export(node),
                "assignment_expression" => self.assign(node),
                _ => {}
            }
        }
        self.scopes.leave_before(usize::MAX - 1);
        for (name, local) in std::mem::take(&mut self.pending_exports) {
            if let Some(v) = self.scopes.get(&local).cloned() {
                self.scan.exports[self.file].insert(name, v);
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.saturating_add(1);
        self.seq
    }

    fn new_router(&mut self, framework: Option<Framework>, param: bool) -> usize {
        self.scan.routers.push(Router {
            framework,
            prefix: String::new(),
            auth: Vec::new(),
            param,
            alias: false,
            file: self.file,
        });
        self.scan.routers.len() - 1
    }

    /// The router a function receives as its first parameter.
    fn fn_router(&mut self, node: Node<'a>) -> usize {
        if let Some(&r) = self.fn_routers.get(&node.id()) {
            return r;
        }
        let r = self.new_router(None, true);
        self.fn_routers.insert(node.id(), r);
        r
    }

    fn enter_function(&mut self, node: Node<'a>) {
        self.scopes.enter(node.end_byte());
        let params: Vec<Node<'a>> = if let Some(p) = node.child_by_field_name("parameters") {
            named_children(p)
                .into_iter()
                .filter(|n| n.kind() != "comment")
                .collect()
        } else if let Some(p) = node.child_by_field_name("parameter") {
            vec![p]
        } else {
            return;
        };
        let Some(first) = params.first() else {
            return;
        };
        let (name, ty) = param_name(*first, self.src);
        if let Some(name) = name {
            let r = self.fn_router(node);
            if let Some(ty) = ty {
                // A typed parameter says which framework's router it receives.
                let fw = if ty.contains("Fastify") {
                    Some(Framework::Fastify)
                } else if ty.contains("Koa") || ty.contains("KoaRouter") {
                    Some(Framework::Koa)
                } else if matches!(ty, "Router" | "Express" | "Application" | "express.Router")
                    || ty.starts_with("express.")
                {
                    Some(Framework::Express)
                } else {
                    None
                };
                if fw.is_some() {
                    self.scan.routers[r].framework = fw;
                    self.scan.routers[r].param = false;
                }
            }
            self.scopes.bind(name, Val::Router(r));
        }
        if let Some(second) = params.get(1)
            && let (Some(name), _) = param_name(*second, self.src)
        {
            self.scopes.bind(name, Val::PluginOpts);
        }
    }

    fn import(&mut self, node: Node<'a>) {
        let Some(source) = node.child_by_field_name("source") else {
            return;
        };
        let Some(spec) = string_value(source, self.src) else {
            return;
        };
        let module = self.module(&spec);
        for clause in named_children(node) {
            if clause.kind() != "import_clause" {
                continue;
            }
            for part in named_children(clause) {
                match part.kind() {
                    "identifier" => {
                        let v = match &module {
                            Val::Import(f, _) => Val::Import(*f, Some("default".into())),
                            other => other.clone(),
                        };
                        self.scopes.bind(text(part, self.src), v);
                    }
                    "namespace_import" => {
                        if let Some(id) = named_children(part)
                            .into_iter()
                            .find(|n| n.kind() == "identifier")
                        {
                            self.scopes.bind(text(id, self.src), module.clone());
                        }
                    }
                    "named_imports" => {
                        for spec in named_children(part) {
                            if spec.kind() != "import_specifier" {
                                continue;
                            }
                            let Some(name) = spec.child_by_field_name("name") else {
                                continue;
                            };
                            let local = spec.child_by_field_name("alias").unwrap_or(name);
                            let v = member(&module, text(name, self.src));
                            self.scopes.bind(text(local, self.src), v);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// What `require(spec)` or `import ... from spec` gives: a file of the tree, or a package.
    fn module(&mut self, spec: &str) -> Val {
        if spec.starts_with('.') {
            let base = normalize(&self.path.parent().unwrap_or(Path::new("")).join(spec));
            let stem = base.with_extension("");
            let mut candidates = vec![base.clone()];
            for ext in EXTENSIONS {
                candidates.push(PathBuf::from(format!("{}.{ext}", base.display())));
                // TypeScript's ESM imports name the compiled file (`./users.js` is users.ts).
                candidates.push(stem.with_extension(ext));
                candidates.push(base.join(format!("index.{ext}")));
            }
            for c in candidates {
                if let Some(&f) = self.index.get(&c) {
                    return Val::Import(f, None);
                }
            }
            return Val::Unknown;
        }
        // `express`, `@koa/router`, `node:http`; a subpath of a package is another module.
        if let Some(fw) = package_framework(spec) {
            self.scan.markers[self.file].get_or_insert(fw);
        }
        Val::Package(spec.to_string())
    }

    fn declare(&mut self, node: Node<'a>) {
        let (Some(name), Some(value)) = (
            node.child_by_field_name("name"),
            node.child_by_field_name("value"),
        ) else {
            return;
        };
        let v = if optional_auth_call(value, self.src) {
            Val::OptionalAuth
        } else {
            self.eval(value, 0)
        };
        match name.kind() {
            "identifier" => self.scopes.bind(text(name, self.src), v),
            "object_pattern" => {
                for part in named_children(name) {
                    match part.kind() {
                        "shorthand_property_identifier_pattern" => {
                            let n = text(part, self.src);
                            self.scopes.bind(n, member(&v, n));
                        }
                        "pair_pattern" => {
                            if let (Some(k), Some(local)) = (
                                part.child_by_field_name("key"),
                                part.child_by_field_name("value"),
                            ) && local.kind() == "identifier"
                            {
                                let key = key_text(k, self.src);
                                self.scopes.bind(text(local, self.src), member(&v, &key));
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn export(&mut self, node: Node<'a>) {
        let is_default = (0..node.child_count())
            .filter_map(|i| node.child(u32::try_from(i).ok()?))
            .any(|c| c.kind() == "default");
        if let Some(source) = node.child_by_field_name("source") {
            // `export { a as b } from './m'`, `export * from './m'`.
            let Some(spec) = string_value(source, self.src) else {
                return;
            };
            let module = self.module(&spec);
            let mut named = false;
            for clause in named_children(node) {
                if clause.kind() != "export_clause" {
                    continue;
                }
                named = true;
                for s in named_children(clause) {
                    if let Some(name) = s.child_by_field_name("name") {
                        let alias = s.child_by_field_name("alias").unwrap_or(name);
                        let v = member(&module, text(name, self.src));
                        self.scan.exports[self.file].insert(text(alias, self.src).into(), v);
                    }
                }
            }
            if !named && let Val::Import(f, _) = module {
                self.scan.star_exports[self.file].push(f);
            }
            return;
        }
        if let Some(value) = node.child_by_field_name("value") {
            let v = self.eval(value, 0);
            self.scan.exports[self.file].insert("default".into(), v);
            return;
        }
        if let Some(decl) = node.child_by_field_name("declaration") {
            match decl.kind() {
                "function_declaration" | "generator_function_declaration" | "class_declaration" => {
                    if is_default {
                        let v = if decl.kind() == "class_declaration" {
                            Val::Unknown
                        } else {
                            Val::Router(self.fn_router(decl))
                        };
                        self.scan.exports[self.file].insert("default".into(), v);
                    }
                    if let Some(name) = decl.child_by_field_name("name") {
                        let n = text(name, self.src).to_string();
                        self.pending_exports.push((n.clone(), n));
                    }
                }
                "lexical_declaration" | "variable_declaration" => {
                    for d in named_children(decl) {
                        if d.kind() == "variable_declarator"
                            && let Some(name) = d.child_by_field_name("name")
                            && name.kind() == "identifier"
                        {
                            let n = text(name, self.src).to_string();
                            self.pending_exports.push((n.clone(), n));
                        }
                    }
                }
                _ => {
                    // `export default function () {}` parses as a declaration-less value in
                    // some grammars; anything else exported is not a router.
                    if is_default {
                        let v = self.eval(decl, 0);
                        self.scan.exports[self.file].insert("default".into(), v);
                    }
                }
            }
            return;
        }
        for clause in named_children(node) {
            if clause.kind() != "export_clause" {
                continue;
            }
            for s in named_children(clause) {
                if let Some(name) = s.child_by_field_name("name") {
                    let alias = s.child_by_field_name("alias").unwrap_or(name);
                    self.pending_exports.push((
                        text(alias, self.src).to_string(),
                        text(name, self.src).to_string(),
                    ));
                }
            }
        }
    }

    /// `module.exports = x`, `module.exports.name = x`, `exports.name = x`.
    fn assign(&mut self, node: Node<'a>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        let target = text(left, self.src);
        let target: String = target.chars().filter(|c| !c.is_whitespace()).collect();
        if target == "module.exports" {
            let v = self.eval(right, 0);
            self.scan.exports[self.file].insert("default".into(), v);
            if right.kind() == "object" {
                for pair in named_children(right) {
                    match pair.kind() {
                        "shorthand_property_identifier" => {
                            let n = text(pair, self.src);
                            let v = self.lookup(n);
                            self.scan.exports[self.file].insert(n.into(), v);
                        }
                        "pair" => {
                            if let (Some(k), Some(val)) = (
                                pair.child_by_field_name("key"),
                                pair.child_by_field_name("value"),
                            ) {
                                let v = self.eval(val, 0);
                                let k = key_text(k, self.src);
                                self.scan.exports[self.file].insert(k, v);
                            }
                        }
                        _ => {}
                    }
                }
            }
        } else if let Some(name) = target
            .strip_prefix("module.exports.")
            .or_else(|| target.strip_prefix("exports."))
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            let v = self.eval(right, 0);
            self.scan.exports[self.file].insert(name.to_string(), v);
        }
    }

    fn lookup(&mut self, name: &str) -> Val {
        if let Some(v) = self.scopes.get(name) {
            return v.clone();
        }
        if self.scan.markers[self.file].is_some() && IMPLICIT_ROUTERS.contains(&name) {
            if let Some(&r) = self.implicit.get(name) {
                return Val::Router(r);
            }
            let r = self.new_router(None, false);
            self.implicit.insert(name.to_string(), r);
            return Val::Router(r);
        }
        Val::Unknown
    }

    fn eval(&mut self, node: Node<'a>, depth: usize) -> Val {
        if depth > MAX_EVAL_DEPTH {
            return Val::Unknown;
        }
        if let Some(v) = self.memo.get(&node.id()) {
            return v.clone();
        }
        let v = match node.kind() {
            "parenthesized_expression"
            | "await_expression"
            | "as_expression"
            | "satisfies_expression"
            | "non_null_expression"
            | "type_assertion" => match named_children(node)
                .into_iter()
                .find(|n| n.kind() != "comment")
            {
                Some(inner) => self.eval(inner, depth + 1),
                None => Val::Unknown,
            },
            "identifier" => self.lookup(text(node, self.src)),
            "string" => string_value(node, self.src).map_or(Val::Unknown, Val::Str),
            "template_string" => self.template_value(node, depth),
            "binary_expression" => {
                let op = node
                    .child_by_field_name("operator")
                    .map(|o| text(o, self.src));
                match (
                    op,
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) {
                    (Some("+"), Some(l), Some(r)) => {
                        match (self.eval(l, depth + 1), self.eval(r, depth + 1)) {
                            (Val::Str(a), Val::Str(b)) => Val::Str(a + &b),
                            _ => Val::Unknown,
                        }
                    }
                    _ => Val::Unknown,
                }
            }
            "member_expression" => {
                match (
                    node.child_by_field_name("object"),
                    node.child_by_field_name("property"),
                ) {
                    (Some(o), Some(p)) => {
                        let obj = self.eval(o, depth + 1);
                        let prop = text(p, self.src);
                        match obj {
                            Val::PluginOpts if prop == "prefix" => Val::Str(String::new()),
                            other => member(&other, prop),
                        }
                    }
                    _ => Val::Unknown,
                }
            }
            "call_expression" => self.call(node, depth),
            "new_expression" => {
                let callee = node
                    .child_by_field_name("constructor")
                    .map_or(Val::Unknown, |c| self.eval(c, depth + 1));
                let args = arguments(node);
                self.construct(&callee, &args, depth)
            }
            "function_expression" | "function" | "arrow_function" | "generator_function" => {
                Val::Router(self.fn_router(node))
            }
            _ => Val::Unknown,
        };
        self.memo.insert(node.id(), v.clone());
        v
    }

    fn template_value(&mut self, node: Node<'a>, depth: usize) -> Val {
        let mut out = String::new();
        for part in named_children(node) {
            match part.kind() {
                "string_fragment" => out.push_str(text(part, self.src)),
                "escape_sequence" => out.push_str(&unescape(text(part, self.src))),
                "template_substitution" => {
                    let Some(inner) = named_children(part).into_iter().next() else {
                        return Val::Unknown;
                    };
                    match self.eval(inner, depth + 1) {
                        Val::Str(s) => out.push_str(&s),
                        _ => return Val::Unknown,
                    }
                }
                _ => {}
            }
        }
        Val::Str(out)
    }

    fn call(&mut self, node: Node<'a>, depth: usize) -> Val {
        let Some(func) = node.child_by_field_name("function") else {
            return Val::Unknown;
        };
        let args = arguments(node);
        if func.kind() == "identifier" && text(func, self.src) == "require" {
            return match args.first().and_then(|a| string_value(*a, self.src)) {
                Some(spec) => self.module(&spec),
                None => Val::Unknown,
            };
        }
        if func.kind() == "member_expression"
            && let (Some(o), Some(p)) = (
                func.child_by_field_name("object"),
                func.child_by_field_name("property"),
            )
        {
            let method = text(p, self.src);
            let recv = self.eval(o, depth + 1);
            return match recv {
                Val::Router(r) => self.router_call(r, method, &args, node, depth),
                Val::Builder(r, paths) => {
                    if let Some(m) = verb(method) {
                        let (handler, auth) = self.handler_and_auth(&args, depth);
                        for path in &paths {
                            self.add_route(r, m, path, node, handler.clone(), auth.clone());
                        }
                        Val::Builder(r, paths)
                    } else {
                        Val::Unknown
                    }
                }
                Val::Import(f, name)
                    if verb(method).is_some()
                        || matches!(method, "use" | "route" | "register" | "addHook") =>
                {
                    // A router imported from another file, used here: an alias whose
                    // routes reach the scan through the router it stands for.
                    let key = (f, name.clone());
                    let alias = match self.aliases.get(&key) {
                        Some(&a) => a,
                        None => {
                            let a = self.new_router(None, false);
                            self.scan.routers[a].alias = true;
                            self.aliases.insert(key, a);
                            self.scan.mounts.push(Mount {
                                parent: Val::Import(f, name),
                                child: Val::Router(a),
                                prefix: String::new(),
                                auth: Vec::new(),
                                seq: 0,
                            });
                            a
                        }
                    };
                    self.router_call(alias, method, &args, node, depth)
                }
                // `users.routes()` of an imported Koa router is that router.
                Val::Import(f, name) if matches!(method, "routes" | "middleware") => {
                    Val::Import(f, name)
                }
                Val::Package(_) | Val::Member(..) => {
                    let callee = member(&recv, method);
                    self.construct(&callee, &args, depth)
                }
                _ => Val::Unknown,
            };
        }
        let callee = self.eval(func, depth + 1);
        match callee {
            Val::Package(_) | Val::Member(..) => self.construct(&callee, &args, depth),
            Val::Router(_) | Val::Import(..) => {
                // `routes(app)`, `require('./routes')(app)`: a function that declares routes
                // on the router it is given.
                if let Some(first) = args.first() {
                    let target = self.eval(*first, depth + 1);
                    if matches!(target, Val::Router(_) | Val::Import(..)) {
                        let seq = self.next_seq();
                        self.scan.mounts.push(Mount {
                            parent: target,
                            child: callee,
                            prefix: String::new(),
                            auth: Vec::new(),
                            seq,
                        });
                    }
                }
                Val::Unknown
            }
            _ => Val::Unknown,
        }
    }

    /// A framework's constructor or factory called: a new router, or a wrapper that passes
    /// its argument through (`fastify-plugin`).
    fn construct(&mut self, callee: &Val, args: &[Node<'a>], depth: usize) -> Val {
        let (pkg, member) = match callee {
            Val::Package(p) => (p.as_str(), None),
            Val::Member(p, m) => (p.as_str(), Some(m.as_str())),
            _ => return Val::Unknown,
        };
        let fw = match (pkg, member) {
            ("express", None | Some("Router" | "default")) => Framework::Express,
            ("fastify", None | Some("fastify" | "default" | "Fastify")) => Framework::Fastify,
            ("koa", None | Some("default")) => Framework::Koa,
            ("@koa/router" | "koa-router", None | Some("Router" | "default")) => Framework::Koa,
            ("fastify-plugin", None | Some("default")) => {
                return match args.first() {
                    Some(a) => self.eval(*a, depth + 1),
                    None => Val::Unknown,
                };
            }
            _ => return Val::Unknown,
        };
        let r = self.new_router(Some(fw), false);
        if matches!(pkg, "@koa/router" | "koa-router")
            && let Some(opts) = args.first()
            && let Some(prefix) = self.object_key(*opts, "prefix")
            && let Val::Str(p) = self.eval(prefix, depth + 1)
        {
            self.scan.routers[r].prefix = p;
        }
        Val::Router(r)
    }

    fn router_call(
        &mut self,
        r: usize,
        method: &str,
        args: &[Node<'a>],
        node: Node<'a>,
        depth: usize,
    ) -> Val {
        let fw = self.scan.routers[r]
            .framework
            .or(self.scan.markers[self.file]);
        if let Some(m) = verb(method) {
            if args.len() < 2 {
                // `app.get('setting')` reads a setting; `router.get(path)` alone declares nothing.
                return Val::Unknown;
            }
            let mut rest = args;
            // Koa's named routes: `router.get('user', '/users/:id', h)`.
            if fw == Some(Framework::Koa)
                && args.len() >= 3
                && self.paths(args[1], depth).is_some()
                && self.paths(args[0], depth).is_some()
            {
                rest = &args[1..];
            }
            let Some(paths) = self.paths(rest[0], depth) else {
                return Val::Router(r);
            };
            let (mut handler, mut auth) = self.handler_and_auth(&rest[1..], depth);
            // Fastify: `get(path, opts, handler)` or `get(path, {handler, preHandler})`.
            for a in &rest[1..] {
                if a.kind() == "object" {
                    auth.extend(self.fastify_hook_auth(*a, depth));
                    if let Some(h) = self.object_key(*a, "handler") {
                        handler = handler_name(h, self.src);
                    }
                }
            }
            for path in &paths {
                self.add_route(r, m, path, node, handler.clone(), auth.clone());
            }
            return Val::Router(r);
        }
        match method {
            "route" => {
                let Some(first) = args.first() else {
                    return Val::Unknown;
                };
                if first.kind() == "object" {
                    self.fastify_route(r, *first, node, depth);
                    return Val::Router(r);
                }
                match self.paths(*first, depth) {
                    Some(paths) => Val::Builder(r, paths),
                    None => Val::Unknown,
                }
            }
            "use" => {
                let mut prefixes = vec![String::new()];
                let mut rest = args;
                if let Some(first) = args.first()
                    && let Some(p) = self.paths(*first, depth)
                {
                    prefixes = p;
                    rest = &args[1..];
                }
                let mut auth = Vec::new();
                for a in rest {
                    let names = self.auths(*a, depth);
                    if !names.is_empty() {
                        let seq = self.next_seq();
                        for n in &names {
                            for p in &prefixes {
                                self.scan.routers[r].auth.push((seq, p.clone(), n.clone()));
                            }
                        }
                        auth.extend(names);
                    }
                    // Also a mount: a router named like authentication (`authController`) is
                    // a router, and its name is dropped from authentication at emission.
                    let v = self.eval(*a, depth + 1);
                    if matches!(v, Val::Router(_) | Val::Import(..)) {
                        let seq = self.next_seq();
                        for p in &prefixes {
                            self.scan.mounts.push(Mount {
                                parent: Val::Router(r),
                                child: v.clone(),
                                prefix: p.clone(),
                                auth: auth.clone(),
                                seq,
                            });
                        }
                    }
                }
                Val::Router(r)
            }
            "register" => {
                let Some(first) = args.first() else {
                    return Val::Router(r);
                };
                let child = self.eval(*first, depth + 1);
                let mut prefix = String::new();
                if let Some(opts) = args.get(1)
                    && let Some(p) = self.object_key(*opts, "prefix")
                {
                    match self.eval(p, depth + 1) {
                        Val::Str(s) => prefix = s,
                        // A prefix that is not a constant: the plugin's routes are not placed.
                        _ => return Val::Router(r),
                    }
                }
                if matches!(child, Val::Router(_) | Val::Import(..)) {
                    let seq = self.next_seq();
                    self.scan.mounts.push(Mount {
                        parent: Val::Router(r),
                        child,
                        prefix,
                        auth: Vec::new(),
                        seq,
                    });
                }
                Val::Router(r)
            }
            "addHook" => {
                if let (Some(hook), Some(f)) = (args.first(), args.get(1))
                    && string_value(*hook, self.src)
                        .is_some_and(|h| FASTIFY_HOOKS.contains(&h.as_str()))
                {
                    let names = self.auths(*f, depth);
                    if !names.is_empty() {
                        let seq = self.next_seq();
                        for n in names {
                            self.scan.routers[r].auth.push((seq, String::new(), n));
                        }
                    }
                }
                Val::Router(r)
            }
            "routes" | "middleware" => Val::Router(r),
            "prefix" => {
                if let Some(p) = args.first()
                    && let Val::Str(s) = self.eval(*p, depth + 1)
                {
                    self.scan.routers[r].prefix = s;
                }
                Val::Router(r)
            }
            _ => Val::Unknown,
        }
    }

    /// `fastify.route({method, url, handler, preHandler})`.
    fn fastify_route(&mut self, r: usize, opts: Node<'a>, node: Node<'a>, depth: usize) {
        let Some(url) = self
            .object_key(opts, "url")
            .or_else(|| self.object_key(opts, "path"))
        else {
            return;
        };
        let Some(paths) = self.paths(url, depth) else {
            return;
        };
        let Some(m) = self.object_key(opts, "method") else {
            return;
        };
        let methods: Vec<String> = if m.kind() == "array" {
            named_children(m)
                .into_iter()
                .filter_map(|e| string_value(e, self.src))
                .collect()
        } else {
            match self.eval(m, depth + 1) {
                Val::Str(s) => vec![s],
                _ => return,
            }
        };
        let handler = self
            .object_key(opts, "handler")
            .and_then(|h| handler_name(h, self.src));
        let auth = self.fastify_hook_auth(opts, depth);
        for method in methods {
            let method = method.to_ascii_uppercase();
            if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()) {
                continue;
            }
            for path in &paths {
                self.add_route(r, &method, path, node, handler.clone(), auth.clone());
            }
        }
    }

    fn fastify_hook_auth(&mut self, opts: Node<'a>, depth: usize) -> Vec<Auth> {
        let mut out = Vec::new();
        for hook in FASTIFY_HOOKS {
            if let Some(v) = self.object_key(opts, hook) {
                out.extend(self.auths(v, depth));
            }
        }
        out
    }

    /// The authentication in a middleware argument, each name with the value it names.
    fn auths(&mut self, node: Node<'a>, depth: usize) -> Vec<Auth> {
        auth_names(node, self.src)
            .into_iter()
            .map(|(name, n)| {
                let v = if n.kind() == "call_expression" {
                    if optional_auth_call(n, self.src) {
                        Val::OptionalAuth
                    } else {
                        Val::Unknown
                    }
                } else {
                    self.eval(n, depth + 1)
                };
                (name, v)
            })
            .collect()
    }

    /// The value of `key` in an object literal.
    fn object_key(&self, obj: Node<'a>, key: &str) -> Option<Node<'a>> {
        if obj.kind() != "object" {
            return None;
        }
        for pair in named_children(obj) {
            match pair.kind() {
                "pair" => {
                    let k = pair.child_by_field_name("key")?;
                    if key_text(k, self.src) == key {
                        return pair.child_by_field_name("value");
                    }
                }
                "shorthand_property_identifier" if text(pair, self.src) == key => {
                    return Some(pair);
                }
                _ => {}
            }
        }
        None
    }

    /// The constant path(s) of an argument: a string, or an array of strings.
    fn paths(&mut self, node: Node<'a>, depth: usize) -> Option<Vec<String>> {
        if node.kind() == "array" {
            let mut out = Vec::new();
            for e in named_children(node).into_iter().take(MAX_PATHS_PER_ARG) {
                match self.eval(e, depth + 1) {
                    Val::Str(s) => out.push(s),
                    _ => return None,
                }
            }
            return if out.is_empty() { None } else { Some(out) };
        }
        match self.eval(node, depth + 1) {
            Val::Str(s) => Some(vec![s]),
            _ => None,
        }
    }

    /// The handler (the last argument) and the authentication among the middleware before it.
    fn handler_and_auth(&mut self, args: &[Node<'a>], depth: usize) -> (Option<String>, Vec<Auth>) {
        let Some((last, middleware)) = args.split_last() else {
            return (None, Vec::new());
        };
        let mut auth = Vec::new();
        for m in middleware {
            auth.extend(self.auths(*m, depth));
        }
        (handler_name(*last, self.src), auth)
    }

    fn add_route(
        &mut self,
        r: usize,
        method: &str,
        path: &str,
        node: Node<'a>,
        handler: Option<String>,
        auth: Vec<Auth>,
    ) {
        let seq = self.next_seq();
        self.scan.routes.push(Route {
            router: r,
            method: method.to_string(),
            path: path.to_string(),
            file: self.file,
            line: line(node),
            handler,
            auth,
            seq,
        });
    }
}

impl Scan {
    fn resolve(&self, v: &Val, depth: usize) -> Option<usize> {
        if depth > 16 {
            return None;
        }
        match v {
            Val::Router(r) => Some(*r),
            Val::Import(f, name) => {
                let key = name.as_deref().unwrap_or("default");
                if let Some(e) = self.exports.get(*f).and_then(|e| e.get(key)) {
                    return self.resolve(e, depth + 1);
                }
                self.star_exports
                    .get(*f)?
                    .iter()
                    .find_map(|&m| self.resolve(&Val::Import(m, Some(key.to_string())), depth + 1))
            }
            _ => None,
        }
    }

    /// A value through imports and exports.
    fn resolve_val(&self, v: &Val, depth: usize) -> Val {
        if depth > 16 {
            return Val::Unknown;
        }
        let Val::Import(f, name) = v else {
            return v.clone();
        };
        let key = name.as_deref().unwrap_or("default");
        if let Some(e) = self.exports.get(*f).and_then(|e| e.get(key)) {
            return self.resolve_val(e, depth + 1);
        }
        for &m in self
            .star_exports
            .get(*f)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let r = self.resolve_val(&Val::Import(m, Some(key.to_string())), depth + 1);
            if r != Val::Unknown {
                return r;
            }
        }
        Val::Unknown
    }

    /// The names of authentication that is not optional, nor a router that declares
    /// routes (`app.use(authRouter)`).
    fn required<'s>(
        &self,
        auth: impl Iterator<Item = &'s Auth>,
        declaring: &HashSet<usize>,
    ) -> Vec<String> {
        auth.filter(|(_, v)| {
            self.resolve_val(v, 0) != Val::OptionalAuth
                && !self.resolve(v, 0).is_some_and(|r| declaring.contains(&r))
        })
        .map(|(n, _)| n.clone())
        .collect()
    }

    fn emit(&self, files: &[SourceFile]) -> Vec<DeclaredRoute> {
        let mut routes_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, route) in self.routes.iter().enumerate() {
            routes_of.entry(route.router).or_default().push(i);
        }
        let mut mounts_of: HashMap<usize, Vec<(usize, &Mount)>> = HashMap::new();
        let mut mounted = HashSet::new();
        for m in &self.mounts {
            if let (Some(p), Some(c)) = (self.resolve(&m.parent, 0), self.resolve(&m.child, 0))
                && p != c
            {
                mounts_of.entry(p).or_default().push((c, m));
                mounted.insert(c);
            }
        }
        // Routers that declare routes, or mount one that does (not middleware functions:
        // `requireAuth(req, res, next)` calling a helper with `req` "mounts" it, and still
        // declares nothing).
        // Walked up the mounts from the routers with routes, each router once.
        let mut parents: HashMap<usize, Vec<usize>> = HashMap::new();
        for (p, children) in &mounts_of {
            for (c, _) in children {
                parents.entry(*c).or_default().push(*p);
            }
        }
        let mut declaring: HashSet<usize> = routes_of.keys().copied().collect();
        let mut todo: Vec<usize> = declaring.iter().copied().collect();
        while let Some(c) = todo.pop() {
            for p in parents.get(&c).into_iter().flatten() {
                if declaring.insert(*p) {
                    todo.push(*p);
                }
            }
        }
        let mut out = Vec::new();
        let mut visits = 0usize;
        for (root, router) in self.routers.iter().enumerate() {
            if mounted.contains(&root) || router.alias {
                continue;
            }
            let marker = self.markers.get(router.file).copied().flatten();
            if router.param && marker.is_none() {
                continue;
            }
            let fw = router.framework.or(marker);
            // (router, prefix, authentication so far, framework, mount chain)
            let mut stack = vec![(root, String::new(), Vec::<String>::new(), fw, vec![root])];
            while let Some((r, prefix, auth, fw, chain)) = stack.pop() {
                visits += 1;
                if visits > MAX_VISITS {
                    return out;
                }
                let router = &self.routers[r];
                let fw = router.framework.or(fw).or(self
                    .markers
                    .get(router.file)
                    .copied()
                    .flatten());
                let base = join_route(&prefix, &router.prefix);
                for &i in routes_of.get(&r).map(Vec::as_slice).unwrap_or_default() {
                    if out.len() >= MAX_ROUTES {
                        return out;
                    }
                    let route = &self.routes[i];
                    let mut all = auth.clone();
                    all.extend(
                        self.required(scoped_auth(router, route.seq, &route.path), &declaring),
                    );
                    all.extend(self.required(route.auth.iter(), &declaring));
                    dedup_keep_order(&mut all);
                    out.push(DeclaredRoute {
                        method: route.method.clone(),
                        path: template(&join_route(&base, &route.path)),
                        file: files[route.file].path.clone(),
                        line: route.line,
                        handler: route.handler.clone(),
                        framework: fw.unwrap_or(Framework::Express),
                        auth: all,
                    });
                }
                if chain.len() > MAX_MOUNT_DEPTH {
                    continue;
                }
                for (c, m) in mounts_of.get(&r).map(Vec::as_slice).unwrap_or_default() {
                    if chain.contains(c) {
                        continue;
                    }
                    let mut all = auth.clone();
                    all.extend(self.required(scoped_auth(router, m.seq, &m.prefix), &declaring));
                    all.extend(self.required(m.auth.iter(), &declaring));
                    dedup_keep_order(&mut all);
                    let mut chain = chain.clone();
                    chain.push(*c);
                    stack.push((*c, join_route(&base, &m.prefix), all, fw, chain));
                }
            }
        }
        out
    }
}

/// The router-level authentication declared before `seq` whose path scope covers `path`.
fn scoped_auth<'r>(router: &'r Router, seq: u32, path: &'r str) -> impl Iterator<Item = &'r Auth> {
    router
        .auth
        .iter()
        .filter(move |(s, scope, _)| *s < seq && covers(scope, path))
        .map(|(_, _, a)| a)
}

/// Whether a call makes optional authentication middleware: an options object with
/// `passthrough: true` (`koa-jwt`) or `credentialsRequired: false` (`express-jwt`).
fn optional_auth_call(node: Node<'_>, src: &str) -> bool {
    if node.kind() != "call_expression" {
        return false;
    }
    arguments(node).into_iter().any(|a| {
        a.kind() == "object"
            && named_children(a).into_iter().any(|p| {
                p.kind() == "pair"
                    && match (p.child_by_field_name("key"), p.child_by_field_name("value")) {
                        (Some(k), Some(v)) => matches!(
                            (key_text(k, src).as_str(), text(v, src)),
                            ("passthrough", "true") | ("credentialsRequired", "false")
                        ),
                        _ => false,
                    }
            })
    })
}

/// Whether middleware mounted at `scope` runs for `path` (segment-wise prefix).
fn covers(scope: &str, path: &str) -> bool {
    let scope = scope.trim_end_matches('/');
    if scope.is_empty() {
        return true;
    }
    let path = join_route("", path);
    let scope = join_route("", scope);
    path == scope || path.starts_with(&format!("{scope}/"))
}

fn dedup_keep_order(v: &mut Vec<String>) {
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

/// A member of a value: an export of a package or of a module of the tree.
fn member(v: &Val, name: &str) -> Val {
    match v {
        Val::Package(p) => Val::Member(p.clone(), name.to_string()),
        Val::Import(f, None) => Val::Import(*f, Some(name.to_string())),
        _ => Val::Unknown,
    }
}

fn verb(method: &str) -> Option<&'static str> {
    VERBS.iter().find(|(v, _)| *v == method).map(|(_, m)| *m)
}

/// The arguments of a call or `new` (comments left out).
fn arguments(node: Node<'_>) -> Vec<Node<'_>> {
    node.child_by_field_name("arguments")
        .filter(|a| a.kind() == "arguments")
        .map(|a| {
            named_children(a)
                .into_iter()
                .filter(|n| n.kind() != "comment")
                .collect()
        })
        .unwrap_or_default()
}

/// A parameter's name and type annotation (TypeScript).
fn param_name<'s>(node: Node<'_>, src: &'s str) -> (Option<&'s str>, Option<&'s str>) {
    match node.kind() {
        "identifier" => (Some(text(node, src)), None),
        "required_parameter" | "optional_parameter" => {
            let name = node
                .child_by_field_name("pattern")
                .filter(|p| p.kind() == "identifier")
                .map(|p| text(p, src));
            let ty = node
                .child_by_field_name("type")
                .map(|t| text(t, src).trim_start_matches(':').trim());
            (name, ty)
        }
        "assignment_pattern" => (
            node.child_by_field_name("left")
                .filter(|p| p.kind() == "identifier")
                .map(|p| text(p, src)),
            None,
        ),
        _ => (None, None),
    }
}

/// An object key's text (identifier or string).
fn key_text(node: Node<'_>, src: &str) -> String {
    if node.kind() == "string" {
        string_value(node, src).unwrap_or_default()
    } else {
        text(node, src).to_string()
    }
}

/// A string literal's value.
fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut out = String::new();
    for part in named_children(node) {
        match part.kind() {
            "string_fragment" => out.push_str(text(part, src)),
            "escape_sequence" => out.push_str(&unescape(text(part, src))),
            _ => {}
        }
    }
    Some(out)
}

/// A simple escape's character (`\/` is `/`); other escapes are kept as written.
fn unescape(esc: &str) -> String {
    match esc.strip_prefix('\\') {
        Some(c) if c.chars().count() == 1 && !c.chars().all(|c| c.is_alphanumeric()) => {
            c.to_string()
        }
        _ => esc.to_string(),
    }
}

/// The name a handler argument gives: an identifier or member (`ctrl.show`), a named
/// function, or the handler a wrapper call passes on (`asyncHandler(ctrl.show)`).
fn handler_name(node: Node<'_>, src: &str) -> Option<String> {
    let mut node = node;
    for _ in 0..4 {
        match node.kind() {
            "identifier" | "member_expression" => return Some(compact(text(node, src))),
            "function_expression" | "function" => {
                return node
                    .child_by_field_name("name")
                    .map(|n| text(n, src).to_string());
            }
            "call_expression" => {
                let args = arguments(node);
                node = *args.last()?;
            }
            _ => return None,
        }
    }
    None
}

/// The authentication names in a middleware argument: identifiers and members as written
/// (`requireAuth`, `auth.required`), a call by its callee (`passport.authenticate`,
/// `jwt` of `jwt({...}).unless(...)`), arrays element by element.
fn auth_names<'t>(node: Node<'t>, src: &str) -> Vec<(String, Node<'t>)> {
    let mut out = Vec::new();
    let mut todo = vec![(node, 0)];
    while let Some((n, depth)) = todo.pop() {
        if depth > 8 {
            continue;
        }
        match n.kind() {
            "array" => {
                for e in named_children(n).into_iter().rev() {
                    todo.push((e, depth + 1));
                }
            }
            "identifier" | "member_expression" => {
                let t = compact(text(n, src));
                if is_auth_name(&t) {
                    out.push((t, n));
                }
            }
            "call_expression" => {
                let Some(mut f) = n.child_by_field_name("function") else {
                    continue;
                };
                // `jwt({...}).unless({...})`: the callee at the start of the chain.
                for _ in 0..8 {
                    if f.kind() == "member_expression"
                        && let Some(o) = f.child_by_field_name("object")
                        && o.kind() == "call_expression"
                        && let Some(inner) = o.child_by_field_name("function")
                    {
                        f = inner;
                    } else {
                        break;
                    }
                }
                if matches!(f.kind(), "identifier" | "member_expression") {
                    let t = compact(text(f, src));
                    if is_auth_name(&t) {
                        out.push((t, n));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Text with whitespace removed (a member split over lines), cut to a sane length.
fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
        list.iter()
            .map(|(p, t)| SourceFile {
                path: PathBuf::from(p),
                text: t.to_string(),
            })
            .collect()
    }

    fn routes(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = scan(&files(list))
            .into_iter()
            .map(|r| (r.method, r.path))
            .collect();
        v.sort();
        v
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = list
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn express_mounts_across_files_and_chains() {
        let got = routes(&[
            (
                "src/app.ts",
                "import express from 'express';\nimport routes from './routes';\nconst app = express();\napp.use(routes);\napp.get('/', (req, res) => res.send('ok'));\n",
            ),
            (
                "src/routes/index.ts",
                "import { Router } from 'express';\nimport users from './users';\nconst api = Router().use(users);\nexport default Router().use('/api', api);\n",
            ),
            (
                "src/routes/users.ts",
                "import { Router } from 'express';\nconst router = Router();\nrouter.get('/users/:id', show);\nrouter.route('/users').get(list).post(create);\nexport default router;\n",
            ),
        ]);
        assert_eq!(
            got,
            pairs(&[
                ("GET", "/"),
                ("GET", "/api/users/{id}"),
                ("GET", "/api/users"),
                ("POST", "/api/users"),
            ])
        );
    }

    #[test]
    fn commonjs_route_functions_and_constants() {
        let got = routes(&[
            (
                "app.js",
                "const express = require('express');\nconst app = express();\nrequire('./routes')(app);\nconst v1 = express.Router();\napp.use('/v1', v1);\nconst BASE = '/things';\nv1.delete(`${BASE}/:id`, remove);\nv1[method]('/dynamic', h);\n",
            ),
            (
                "routes.js",
                "module.exports = function (app) {\n  app.get('/health', health);\n};\n",
            ),
        ]);
        assert_eq!(
            got,
            pairs(&[("GET", "/health"), ("DELETE", "/v1/things/{id}")])
        );
    }

    #[test]
    fn router_level_auth_applies_to_later_routes_only() {
        let found = scan(&files(&[(
            "a.js",
            "const express = require('express');\nconst passport = require('passport');\nconst r = express.Router();\nr.get('/open', open);\nr.use(requireAuth);\nr.get('/closed', closed);\nr.post('/login', passport.authenticate('local'), login);\nr.get('/maybe', auth.optional, maybe);\n",
        )]));
        let auth: HashMap<_, _> = found
            .iter()
            .map(|r| (r.path.as_str(), r.auth.clone()))
            .collect();
        assert_eq!(auth["/open"], Vec::<String>::new());
        assert_eq!(auth["/closed"], vec!["requireAuth"]);
        assert_eq!(auth["/login"], vec!["requireAuth", "passport.authenticate"]);
        assert_eq!(auth["/maybe"], vec!["requireAuth"]);
    }

    #[test]
    fn fastify_register_prefix_route_object_and_hooks() {
        let found = scan(&files(&[
            (
                "server.ts",
                "import Fastify from 'fastify';\nimport users from './users';\nconst app = Fastify();\napp.register(users, { prefix: '/api/users' });\napp.register(async (f) => { f.get('/ping', async () => 'pong'); }, { prefix: '/sys' });\n",
            ),
            (
                "users.ts",
                "import { FastifyInstance } from 'fastify';\nexport default async function (fastify: FastifyInstance, opts) {\n  fastify.route({ method: ['GET', 'HEAD'], url: '/:id', handler: getUser });\n  fastify.addHook('onRequest', fastify.authenticate);\n  fastify.post(opts.prefix + '/x', { preHandler: [fastify.verifyAdmin] }, createX);\n}\n",
            ),
        ]));
        let got: Vec<_> = found
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.auth.join(",")))
            .collect();
        assert!(
            got.contains(&("GET", "/api/users/{id}", String::new())),
            "{got:?}"
        );
        assert!(got.contains(&("HEAD", "/api/users/{id}", String::new())));
        assert!(got.contains(&("POST", "/api/users/x", "fastify.authenticate".into())));
        assert!(got.contains(&("GET", "/sys/ping", String::new())));
        assert!(found.iter().all(|r| r.framework == Framework::Fastify));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn koa_router_prefixes_and_nesting() {
        let found = scan(&files(&[
            (
                "app.js",
                "const Koa = require('koa');\nconst Router = require('@koa/router');\nconst users = require('./users');\nconst app = new Koa();\nconst api = new Router({ prefix: '/api' });\napi.use('/v1', users.routes(), users.allowedMethods());\napp.use(api.routes());\n",
            ),
            (
                "users.js",
                "const Router = require('@koa/router');\nconst router = new Router({ prefix: '/users' });\nrouter.use(jwtAuth);\nrouter.get('user', '/:id', show);\nrouter.del('/:id', remove);\nmodule.exports = router;\n",
            ),
        ]));
        let got: Vec<_> = found
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.framework))
            .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.contains(&("GET", "/api/v1/users/{id}", Framework::Koa)));
        assert!(got.contains(&("DELETE", "/api/v1/users/{id}", Framework::Koa)));
        assert!(found.iter().all(|r| r.auth == vec!["jwtAuth"]));
    }

    #[test]
    fn a_router_named_like_authentication_is_mounted_not_counted() {
        let found = scan(&files(&[
            (
                "app.js",
                "const express = require('express');\nconst authController = require('./auth.controller');\nconst app = express();\napp.use('/api', authController);\napp.get('/x', h);\n",
            ),
            (
                "auth.controller.js",
                "const router = require('express').Router();\nrouter.post('/users/login', login);\nmodule.exports = router;\n",
            ),
        ]));
        let got: Vec<_> = found
            .iter()
            .map(|r| (r.path.as_str(), r.auth.len()))
            .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.contains(&("/api/users/login", 0)));
        assert!(got.contains(&("/x", 0)));
    }

    #[test]
    fn optional_authentication_is_not_counted() {
        let found = scan(&files(&[
            (
                "app.ts",
                "import Koa from 'koa';\nimport Router from '@koa/router';\nimport { jwt } from './jwt';\nconst app = new Koa();\nconst r = new Router();\napp.use(jwt);\napp.use(expressJwt({ secret: 's', credentialsRequired: false }));\nr.get('/a', h);\napp.use(r.routes());\n",
            ),
            (
                "jwt.ts",
                "import koaJwt from 'koa-jwt';\nexport const jwt = koaJwt({ secret: 's', passthrough: true });\n",
            ),
        ]));
        assert_eq!(found.len(), 1);
        assert!(found[0].auth.is_empty(), "{:?}", found[0].auth);
    }

    #[test]
    fn client_code_and_unknown_receivers_declare_nothing() {
        let got = routes(&[(
            "client.js",
            "import axios from 'axios';\naxios.get('/api/users', { params });\nfunction load(http) { http.get('/api/x', cb); }\nmap.get('/k', 1);\n",
        )]);
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_mount_cycle_ends() {
        let got = routes(&[(
            "a.js",
            "const express = require('express');\nconst a = express.Router();\nconst b = express.Router();\na.use('/b', b);\nb.use('/a', a);\nb.get('/x', h);\nconst app = express();\napp.use(a);\n",
        )]);
        assert_eq!(got, pairs(&[("GET", "/b/x")]));
    }
}
