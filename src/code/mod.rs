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

use std::fmt;
use std::path::{Path, PathBuf};

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
