//! Source-code introspection: the routes an application *declares*, found by parsing its code
//! with tree-sitter grammars (never by regular expressions over text).
//!
//! Code scanning produces declarations, not transactions: a [`DeclaredRoute`] says "this file,
//! at this line, binds this method and path template to this handler", with the router
//! nesting (mounts, groups, class-level prefixes) resolved. Classification then joins what is
//! declared with what is observed (wire, logs, HAR) and what is documented (a spec).
//!
//! The pipeline of a scan: [`collect_files`] walks the given directories (skipping vendored
//! and generated trees, bounded in files and bytes), each language's scanner parses the files
//! of its language and returns its routes, and [`scan`] sorts and de-duplicates the lot.
//! Paths are written in one template form whatever the framework's syntax: `{name}` for a
//! parameter ([`template`]), joined to their prefixes with [`join_route`].

pub mod csharp;
pub mod go;
pub mod java;
pub mod kotlin;
pub mod ruby;
mod ts_util;

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod javascript;
pub mod python;

/// A web framework whose route declarations a scanner understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// Express (JavaScript/TypeScript): `app.get('/x', h)`, `router.route('/x').get(h)`,
    /// `app.use('/api', router)`.
    Express,
    /// Fastify: `fastify.get(...)`, `fastify.route({method, url})`, `register(plugin, {prefix})`.
    Fastify,
    /// Koa with `@koa/router` (or `koa-router`): `router.get(...)`, `new Router({prefix})`.
    Koa,
    /// FastAPI: `@app.get("/x")`, `APIRouter(prefix=...)`, `include_router(r, prefix=...)`.
    FastApi,
    /// Flask: `@app.route("/x", methods=[...])`, blueprints with `url_prefix`.
    Flask,
    /// Django and Django REST framework: `path()`/`re_path()` in `urlpatterns`, `include()`,
    /// routers registering viewsets.
    Django,
    /// Spring MVC / WebFlux annotations (Java and Kotlin): `@GetMapping`, class-level
    /// `@RequestMapping`.
    Spring,
    /// Go's `net/http`: `http.HandleFunc("/x", h)`, `mux.Handle("GET /x/{id}", h)`.
    GoNetHttp,
    /// gin: `r.GET("/x", h)`, `r.Group("/api")`.
    Gin,
    /// chi: `r.Get("/x", h)`, `r.Route("/api", func(r chi.Router) {...})`, `r.Mount`.
    Chi,
    /// echo: `e.GET("/x", h)`, `e.Group("/api")`.
    Echo,
    /// Ruby on Rails `config/routes.rb`: `resources`, `namespace`, `scope`, verb helpers.
    Rails,
    /// ASP.NET Core attribute routes: `[Route("api/[controller]")]`, `[HttpGet("{id}")]`.
    AspNet,
}

impl Framework {
    /// The name used in listings and the store (`express`, `fast-api`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Framework::Express => "express",
            Framework::Fastify => "fastify",
            Framework::Koa => "koa",
            Framework::FastApi => "fastapi",
            Framework::Flask => "flask",
            Framework::Django => "django",
            Framework::Spring => "spring",
            Framework::GoNetHttp => "go-net-http",
            Framework::Gin => "gin",
            Framework::Chi => "chi",
            Framework::Echo => "echo",
            Framework::Rails => "rails",
            Framework::AspNet => "aspnet",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A route declared in source code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct DeclaredRoute {
    /// The HTTP method in upper case (`GET`), or `*` for a handler bound to every method
    /// (`app.all`, `@RequestMapping` without `method`, `http.HandleFunc` without a method).
    pub method: String,
    /// The full path template, prefixes resolved, parameters as `{name}` (see [`template`]).
    pub path: String,
    /// The file that declares it, relative to the scanned directory.
    pub file: PathBuf,
    /// The 1-based line of the declaration.
    pub line: u32,
    /// The handler's name as the code writes it (`getUser`, `UsersController.show`), when
    /// the declaration names one (an inline closure has none).
    pub handler: Option<String>,
    /// The framework whose declaration this is.
    pub framework: Framework,
    /// Authentication the code attaches to the route, as written (a middleware, decorator,
    /// dependency or annotation name: `requireAuth`, `Depends(get_current_user)`,
    /// `@PreAuthorize`, `[Authorize]`, `login_required`); empty when none is seen.
    pub auth: Vec<String>,
}

/// One file handed to a language scanner.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path relative to the scanned directory (what [`DeclaredRoute::file`] records).
    pub path: PathBuf,
    /// The file's text (files that are not UTF-8 are read lossily).
    pub text: String,
}

/// The bounds of a scan: a tree of code is input from outside like any other.
#[derive(Clone, Copy, Debug)]
pub struct ScanLimits {
    /// Files larger than this are skipped (counted): generated bundles, minified code.
    pub max_file_bytes: u64,
    /// At most this many files are read per scan (the rest are counted).
    pub max_files: usize,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            max_file_bytes: 2 << 20,
            max_files: 100_000,
        }
    }
}

/// What a walk read and what it skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WalkStats {
    /// Source files read.
    pub files: u64,
    /// Files skipped for being over [`ScanLimits::max_file_bytes`].
    pub too_large: u64,
    /// Files left out past [`ScanLimits::max_files`].
    pub over_count: u64,
    /// Files or directories that could not be read.
    pub unreadable: u64,
}

/// Directory names never descended into: dependencies, build output, virtual environments
/// and version-control metadata declare nobody's routes but their own authors'.
pub const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    ".hg",
    ".svn",
    "vendor",
    "target",
    "build",
    "dist",
    "out",
    "bin",
    "obj",
    "venv",
    ".venv",
    "env",
    "site-packages",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    "coverage",
    ".next",
    ".nuxt",
];

/// The source files under `root` whose extension is one of `extensions` (without the dot),
/// sorted by path, with their paths relative to `root`. Symbolic links are not followed (a
/// link loop cannot trap the walk); directories named in [`SKIPPED_DIRS`] are skipped.
pub fn collect_files(
    root: &Path,
    extensions: &[&str],
    limits: ScanLimits,
    stats: &mut WalkStats,
) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(_) => {
                stats.unreadable += 1;
                continue;
            }
        };
        for entry in entries {
            let Ok(entry) = entry else {
                stats.unreadable += 1;
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                stats.unreadable += 1;
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                let name = entry.file_name();
                if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                    stack.push(path);
                }
            } else if kind.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| extensions.contains(&e))
            {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        if files.len() >= limits.max_files {
            stats.over_count += 1;
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > limits.max_file_bytes => {
                stats.too_large += 1;
                continue;
            }
            Ok(_) => {}
            Err(_) => {
                stats.unreadable += 1;
                continue;
            }
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                stats.files += 1;
                files.push(SourceFile {
                    path: path.strip_prefix(root).unwrap_or(&path).to_path_buf(),
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
            Err(_) => stats.unreadable += 1,
        }
    }
    files
}

/// Joins a route prefix and a path as routers do: one `/` between them, none doubled, a
/// trailing `/` of the path kept only when it is the whole route (`/api` + `/` is `/api`),
/// and the result always starting with `/`.
pub fn join_route(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    let mut out = String::with_capacity(prefix.len() + path.len() + 2);
    if !prefix.starts_with('/') {
        out.push('/');
    }
    out.push_str(prefix);
    if !path.is_empty() {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(path);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Rewrites a framework's path syntax into the one template form, `{name}` per parameter:
/// Express/Koa/Rails `:id` (and `:id?`, `:id(\\d+)`), Flask/Django `<int:id>`/`<id>`,
/// Spring/ASP.NET/FastAPI/Go `{id}`, `{id:[0-9]+}`, `{id:int}`, `{*rest}`, `{id...}`, gin/echo
/// `*filepath`. Regular-expression routes (Django's `re_path`) are the scanner's to turn into
/// a template first.
pub fn template(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for (i, seg) in raw.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&template_segment(seg));
    }
    out
}

fn template_segment(seg: &str) -> String {
    if let Some(rest) = seg.strip_prefix(':') {
        // `:id`, `:id?`, `:id(\\d+)`, and what follows the name (`:id.json`, `:from-:to`).
        let name = param_name(rest);
        let mut after = &rest[name.len()..];
        if after.starts_with('(') {
            after = after.find(')').map_or("", |e| &after[e + 1..]);
        }
        let after = after.strip_prefix('?').unwrap_or(after);
        return format!("{{{name}}}{}", template_segment(after));
    }
    if let Some(rest) = seg.strip_prefix('*') {
        let name = param_name(rest);
        return format!("{{{}}}", if name.is_empty() { "wildcard" } else { &name });
    }
    let mut out = String::with_capacity(seg.len());
    let mut chars = seg.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // Express's `:name` after a separator (`:from-:to`, `:file.:ext`); a colon after a
        // letter is literal (Google's custom methods, `/v1/{name}:cancel`).
        if c == ':' && (out.ends_with('-') || out.ends_with('.')) {
            return format!("{out}{}", template_segment(&seg[i..]));
        }
        let close = match c {
            '<' => '>',
            '{' => '}',
            _ => {
                out.push(c);
                continue;
            }
        };
        // Find the matching close bracket, nesting counted (`{id:[0-9]{4}}`).
        let mut depth = 1;
        let mut end = None;
        for (j, d) in seg[i + 1..].char_indices() {
            if d == c {
                depth += 1;
            } else if d == close {
                depth -= 1;
                if depth == 0 {
                    end = Some(i + 1 + j);
                    break;
                }
            }
        }
        let Some(end) = end else {
            out.push(c);
            continue;
        };
        let inner = &seg[i + 1..end];
        let name = if c == '<' {
            // Flask/Django converters: `<int:id>`, `<path:rest>`, `<id>`.
            inner.rsplit(':').next().unwrap_or(inner)
        } else {
            // `{id:[0-9]+}`, `{id:int}`, `{*rest}`, `{id...}`, `{id?}`.
            inner.split(':').next().unwrap_or(inner)
        };
        out.push('{');
        out.push_str(&param_name(name));
        out.push('}');
        while chars.peek().is_some_and(|&(k, _)| k <= end) {
            chars.next();
        }
    }
    out
}

/// A parameter's bare name: wildcard marks, optional marks, regular expressions and
/// ellipses removed (`*rest` → `rest`, `id?` → `id`, `id(\\d+)` → `id`, `rest...` → `rest`).
fn param_name(raw: &str) -> String {
    let raw = raw.trim_start_matches('*');
    let end = raw
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(raw.len());
    raw[..end].to_string()
}

/// What [`scan`] found, and what it read, skipped and could not parse.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ScanReport {
    /// The declared routes, sorted (by path, method, file, line) and without duplicates.
    pub routes: Vec<DeclaredRoute>,
    /// What the walks over the directories read and skipped.
    pub walk: WalkStats,
    /// What the parsers made of the files read.
    pub parse: ParseStats,
}

/// What the grammars made of the files: tree-sitter recovers from syntax errors (the tree
/// then holds `ERROR` nodes, and the scanners read what is still well formed), so a file
/// fails only when its parse runs out of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ParseStats {
    /// Files parsed (with or without errors).
    pub parsed: u64,
    /// Files whose tree holds syntax errors (read as far as they go).
    pub with_errors: u64,
    /// Files left unparsed: over [`PARSE_BUDGET`], or a grammar that could not be loaded.
    pub failed: u64,
}

/// The time one file's parse may take; a parse past it is abandoned and counted in
/// [`ParseStats::failed`] (pathological input, not code anyone wrote by hand).
pub const PARSE_BUDGET: Duration = Duration::from_secs(10);

thread_local! {
    /// The parse counts of the scan running on this thread ([`parse`] adds, [`scan`] reads).
    static PARSE_COUNTS: Cell<ParseStats> = const { Cell::new(ParseStats {
        parsed: 0,
        with_errors: 0,
        failed: 0,
    }) };
}

/// Parses one file's text with a grammar (a scanner's `LANGUAGE`), within [`PARSE_BUDGET`].
/// Every language scanner parses through here, so that [`scan`] counts the files with
/// syntax errors and the failures of every language in [`ScanReport::parse`].
pub fn parse(language: &tree_sitter::Language, text: &str) -> Option<tree_sitter::Tree> {
    let mut parser = tree_sitter::Parser::new();
    let tree = if parser.set_language(language).is_ok() {
        let start = Instant::now();
        let mut out_of_time = |_: &tree_sitter::ParseState| {
            if start.elapsed() > PARSE_BUDGET {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        };
        let bytes = text.as_bytes();
        parser.parse_with_options(
            &mut |i, _| bytes.get(i..).unwrap_or_default(),
            None,
            Some(tree_sitter::ParseOptions::new().progress_callback(&mut out_of_time)),
        )
    } else {
        None
    };
    PARSE_COUNTS.with(|c| {
        let mut s = c.get();
        match &tree {
            Some(t) => {
                s.parsed += 1;
                if t.root_node().has_error() {
                    s.with_errors += 1;
                }
            }
            None => s.failed += 1,
        }
        c.set(s);
    });
    tree
}

/// One language of the scan: the file extensions it reads and its scanner.
type LanguageScanner = (
    &'static [&'static str],
    fn(&[SourceFile]) -> Vec<DeclaredRoute>,
);

/// The languages [`scan`] runs, one line each.
const LANGUAGES: &[LanguageScanner] = &[
    (javascript::EXTENSIONS, javascript::scan),
    (python::EXTENSIONS, python::scan),
    (go::EXTENSIONS, go::scan),
    (java::EXTENSIONS, java::scan),
    (kotlin::EXTENSIONS, kotlin::scan),
    (ruby::EXTENSIONS, ruby::scan),
    (csharp::EXTENSIONS, csharp::scan),
];

/// Scans directories of source code: the files of every language are collected under each
/// root in one walk (within `limits`) and each language's files are handed to its scanner
/// together, so that mounts across files resolve; the routes of all roots are sorted and
/// de-duplicated. Paths in [`DeclaredRoute::file`] are relative to their root. Adding a
/// language is one line in `LANGUAGES`: its `EXTENSIONS` and its `scan`, which parses
/// through [`parse`] so that its files count in [`ScanReport::parse`].
pub fn scan(roots: &[PathBuf], limits: ScanLimits) -> ScanReport {
    let before = PARSE_COUNTS.with(|c| c.replace(ParseStats::default()));
    let mut report = ScanReport::default();
    let all: Vec<&str> = LANGUAGES
        .iter()
        .flat_map(|(extensions, _)| extensions.iter().copied())
        .collect();
    for root in roots {
        // One walk per root; each language's scanner then gets its own files.
        let mut rest = collect_files(root, &all, limits, &mut report.walk);
        for (extensions, scanner) in LANGUAGES {
            let (mine, others): (Vec<SourceFile>, Vec<SourceFile>) =
                rest.into_iter().partition(|f| {
                    f.path
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| extensions.contains(&e))
                });
            rest = others;
            if !mine.is_empty() {
                report.routes.extend(scanner(&mine));
            }
        }
    }
    report.parse = PARSE_COUNTS.with(|c| c.replace(before));
    report.routes.sort_by(|a, b| {
        (
            &a.path,
            &a.method,
            &a.file,
            a.line,
            &a.handler,
            a.framework,
            &a.auth,
        )
            .cmp(&(
                &b.path,
                &b.method,
                &b.file,
                b.line,
                &b.handler,
                b.framework,
                &b.auth,
            ))
    });
    report.routes.dedup();
    report
}

/// Whether a middleware, decorator, dependency or permission name reads as authentication
/// or authorisation (`requireAuth`, `passport.authenticate`, `jwt_required`,
/// `get_current_user`, `IsAuthenticated`, `login_required`). Optional authentication
/// (`auth.optional`, `jwt_optional`) lets anonymous callers through and is not counted, nor
/// are names that say the opposite (`AllowAny`).
pub fn is_auth_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.contains("optional") || lower.contains("allowany") || lower.contains("anonymous") {
        return false;
    }
    const WORDS: &[&str] = &[
        "auth",
        "jwt",
        "login",
        "loggedin",
        "logged_in",
        "passport",
        "token",
        "guard",
        "protect",
        "permission",
        "current_user",
        "currentuser",
        "current_active_user",
        "api_key",
        "apikey",
        "isadmin",
        "is_admin",
        "admin_required",
        "require_admin",
        "requireadmin",
        "roles_required",
        "requirerole",
        "require_role",
        "require_user",
        "requireuser",
        "requires_user",
        "ensure_user",
        "require_session",
        "requiresession",
        "signed_in",
        "signedin",
    ];
    WORDS.iter().any(|w| lower.contains(w))
}

/// A node's source text ("" when the range is not text, which a tree of a `&str` never has).
pub(crate) fn text<'s>(node: tree_sitter::Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// A node's 1-based line.
pub(crate) fn line(node: tree_sitter::Node<'_>) -> u32 {
    u32::try_from(node.start_position().row)
        .unwrap_or(u32::MAX)
        .saturating_add(1)
}

/// A node's named children, in order.
pub(crate) fn named_children(node: tree_sitter::Node<'_>) -> Vec<tree_sitter::Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// Every node of a tree in source order (pre-order), without recursion: a file nested ten
/// thousand levels deep costs a cursor, not a stack.
pub(crate) struct Preorder<'t> {
    cursor: tree_sitter::TreeCursor<'t>,
    done: bool,
}

impl<'t> Preorder<'t> {
    /// The walk over `root` and everything under it.
    pub(crate) fn new(root: tree_sitter::Node<'t>) -> Self {
        Preorder {
            cursor: root.walk(),
            done: false,
        }
    }
}

impl<'t> Iterator for Preorder<'t> {
    type Item = tree_sitter::Node<'t>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let node = self.cursor.node();
        if !self.cursor.goto_first_child() {
            loop {
                if self.cursor.goto_next_sibling() {
                    break;
                }
                // The cursor was created on the root, so it cannot climb above it.
                if !self.cursor.goto_parent() {
                    self.done = true;
                    break;
                }
            }
        }
        Some(node)
    }
}

/// Lexical scopes along a pre-order walk: a scope opens at a function and closes where the
/// function's text ends; names bind in the innermost open scope and are looked up from the
/// inside out.
pub(crate) struct Scopes<V> {
    stack: Vec<(usize, HashMap<String, V>)>,
}

impl<V: Clone> Scopes<V> {
    /// The file's scope alone.
    pub(crate) fn new() -> Self {
        Scopes {
            stack: vec![(usize::MAX, HashMap::new())],
        }
    }

    /// Closes the scopes that end at or before `pos` (call with each node's start).
    pub(crate) fn leave_before(&mut self, pos: usize) {
        while self.stack.len() > 1 && self.stack.last().is_some_and(|(end, _)| *end <= pos) {
            self.stack.pop();
        }
    }

    /// Opens a scope that ends at byte `end`.
    pub(crate) fn enter(&mut self, end: usize) {
        self.stack.push((end, HashMap::new()));
    }

    /// Binds a name in the innermost scope.
    pub(crate) fn bind(&mut self, name: &str, value: V) {
        if let Some((_, map)) = self.stack.last_mut() {
            map.insert(name.to_string(), value);
        }
    }

    /// Binds a name in the file's scope.
    pub(crate) fn bind_global(&mut self, name: &str, value: V) {
        if let Some((_, map)) = self.stack.first_mut() {
            map.insert(name.to_string(), value);
        }
    }

    /// The file's scope.
    pub(crate) fn global(&self) -> &HashMap<String, V> {
        &self.stack[0].1
    }

    /// The innermost binding of a name.
    pub(crate) fn get(&self, name: &str) -> Option<&V> {
        self.stack.iter().rev().find_map(|(_, map)| map.get(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syntax_becomes_one_template() {
        let cases = [
            ("/users/:id", "/users/{id}"),
            ("/users/:id?", "/users/{id}"),
            ("/files/:name(\\d+)", "/files/{name}"),
            ("/users/<int:user_id>/posts", "/users/{user_id}/posts"),
            ("/users/<name>", "/users/{name}"),
            ("/users/{id}", "/users/{id}"),
            ("/users/{id:[0-9]+}", "/users/{id}"),
            ("/years/{y:[0-9]{4}}/x", "/years/{y}/x"),
            ("/api/{id:int}", "/api/{id}"),
            ("/static/*filepath", "/static/{filepath}"),
            ("/static/*", "/static/{wildcard}"),
            ("/files/{rest...}", "/files/{rest}"),
            ("/catch/{*slug}", "/catch/{slug}"),
            ("/v1/items.{format}", "/v1/items.{format}"),
            ("/v1/{name}:cancel", "/v1/{name}:cancel"),
            ("/files/:file.:ext", "/files/{file}.{ext}"),
            ("/plain/path", "/plain/path"),
            ("/users/:id.json", "/users/{id}.json"),
            ("/flights/:from-:to", "/flights/{from}-{to}"),
            ("/a/<unclosed", "/a/<unclosed"),
        ];
        for (raw, want) in cases {
            assert_eq!(template(raw), want, "{raw}");
        }
    }

    #[test]
    fn prefixes_join_with_one_slash() {
        assert_eq!(join_route("/api", "/users"), "/api/users");
        assert_eq!(join_route("/api/", "users"), "/api/users");
        assert_eq!(join_route("/api", "/"), "/api");
        assert_eq!(join_route("", "/users"), "/users");
        assert_eq!(join_route("", ""), "/");
        assert_eq!(join_route("api", "x"), "/api/x");
        assert_eq!(join_route("/", "/"), "/");
    }

    #[test]
    fn the_walk_skips_dependencies_and_respects_its_bounds() {
        let dir = std::env::temp_dir().join(format!("shadowtap-code-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src/routes")).unwrap();
        std::fs::create_dir_all(dir.join("node_modules/express")).unwrap();
        std::fs::write(dir.join("src/app.js"), "app.get('/a', h)").unwrap();
        std::fs::write(dir.join("src/routes/users.js"), "r.get('/u', h)").unwrap();
        std::fs::write(dir.join("src/readme.md"), "# no").unwrap();
        std::fs::write(dir.join("node_modules/express/index.js"), "x").unwrap();
        std::fs::write(dir.join("src/big.js"), vec![b'x'; 100]).unwrap();
        let mut stats = WalkStats::default();
        let files = collect_files(
            &dir,
            &["js"],
            ScanLimits {
                max_file_bytes: 50,
                max_files: 10,
            },
            &mut stats,
        );
        let names: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("src/app.js"),
                PathBuf::from("src/routes/users.js")
            ]
        );
        assert_eq!(stats.files, 2);
        assert_eq!(stats.too_large, 1);
        let mut stats = WalkStats::default();
        let files = collect_files(
            &dir,
            &["js"],
            ScanLimits {
                max_file_bytes: 50,
                max_files: 1,
            },
            &mut stats,
        );
        assert_eq!(files.len(), 1);
        assert_eq!(stats.over_count, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
