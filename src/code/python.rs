//! Python: the routes FastAPI, Flask and Django (with Django REST framework) applications
//! declare, with routers, blueprints and URL configurations resolved across modules.
//!
//! Every file is parsed with the Python grammar and read in one pre-order walk that keeps
//! scopes and an abstract value per expression (`Val`): routers made by a framework's
//! constructor (`FastAPI()`, `APIRouter(prefix=...)`, `Flask()`, `Blueprint(url_prefix=...)`,
//! DRF's `DefaultRouter()`), Django URL lists (`path()`, `re_path()`, `include()`), modules
//! of the tree (imports, relative or absolute, matched to files by their dotted names), and
//! constant strings. Route decorators (`@app.get`, `@bp.route`), `include_router`,
//! `register_blueprint`, `add_url_rule`, `router.register` and URL lists are recorded with
//! their file and line; the authentication each carries (decorators, `Depends`/`Security`
//! dependencies, DRF `permission_classes`) is kept as written.
//!
//! Then routes are emitted: FastAPI and Flask from every router no one mounts, down
//! `include_router`/`register_blueprint` (a blueprint's `url_prefix` at registration
//! replaces the one it was made with, as in Flask; FastAPI's prefixes add up); Django from
//! every URL configuration no other includes, its patterns concatenated as Django does.
//! Methods come from the declaration (`methods=`, the decorator's verb), and for Django from
//! the view: a class's handler methods (`get`, `post`, ...) or DRF generic base, a
//! function's `@api_view`/`@require_http_methods`, a viewset's actions; `*` when unknown.
//!
//! What is not constant is skipped, not guessed; a prefix that comes from configuration
//! (`include_router(r, prefix=settings.api_prefix)`) is left out of the path.

use super::{
    DeclaredRoute, Framework, Preorder, Scopes, SourceFile, is_auth_name, join_route, line,
    named_children, parse, template, text,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use tree_sitter::Node;

/// The extension of Python files.
pub const EXTENSIONS: &[&str] = &["py"];

/// Nesting of one expression evaluated at most.
const MAX_EVAL_DEPTH: usize = 48;
/// Nodes of one file visited at most.
const MAX_NODES: usize = 4_000_000;
/// Mounts and includes followed below a root at most (a cycle ends here).
const MAX_MOUNT_DEPTH: usize = 24;
/// Routes emitted per scan at most.
const MAX_ROUTES: usize = 500_000;
/// Routers and URL lists visited per scan at most while emitting (includes that fan out
/// without declaring anything would otherwise be walked exponentially often).
const MAX_VISITS: usize = 2_000_000;
/// Entries of Django URL lists kept per scan at most (`urlpatterns += urlpatterns` doubles).
const MAX_PATTERN_ENTRIES: usize = 1_000_000;
/// Base classes followed at most when a view's methods are inherited.
const MAX_BASES: usize = 8;

/// Names an unbound receiver may have in a file that imports a framework.
const IMPLICIT_ROUTERS: &[&str] = &["app", "application", "router", "api", "bp", "blueprint"];

/// HTTP methods of Django class-based views and DRF views.
const VIEW_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// The abstract value of an expression.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    /// A FastAPI application or router, a Flask application or blueprint.
    Router(usize),
    /// A Django REST framework router.
    Drf(usize),
    /// A Django URL list.
    Patterns(usize),
    /// A module of the tree, or a name in one (dotted, canonical).
    Mod(String),
    /// A module from outside the tree.
    Package(String),
    /// A name of such a module (`fastapi`, `APIRouter`).
    Member(String, String),
    /// A constant string.
    Str(String),
    /// A class-based view (`UserView.as_view()`): the class's value and its name as written.
    ClassView(Box<Val>, String),
    /// Anything else.
    Unknown,
}

#[derive(Debug)]
struct Router {
    framework: Framework,
    prefix: String,
    auth: Vec<String>,
    /// Stands for a router imported from another module.
    alias: bool,
}

#[derive(Debug)]
struct Route {
    router: usize,
    methods: Vec<String>,
    path: String,
    file: usize,
    line: u32,
    handler: Option<String>,
    auth: Vec<String>,
}

#[derive(Debug)]
struct Mount {
    parent: Val,
    child: Val,
    /// The prefix given at the mount (`None`: none, or not a constant).
    prefix: Option<String>,
    auth: Vec<String>,
}

/// A DRF router and its registrations.
#[derive(Debug, Default)]
struct Drf {
    trailing_slash: String,
    /// `DefaultRouter` serves an API root view at its own root.
    root_view: bool,
    registrations: Vec<Registration>,
    file: usize,
    line: u32,
}

#[derive(Debug)]
struct Registration {
    prefix: String,
    viewset: Val,
    name: String,
    file: usize,
    line: u32,
}

/// One entry of a Django URL list.
#[derive(Debug, Clone)]
enum Entry {
    View {
        route: String,
        view: ViewRef,
        auth: Vec<String>,
        file: usize,
        line: u32,
    },
    Include {
        route: String,
        target: Val,
    },
}

/// What a Django pattern routes to.
#[derive(Debug, Clone)]
enum ViewRef {
    /// A function view: its value and its name as written.
    Func(Val, String),
    /// A class view (`X.as_view()`), with the method-to-action map of a viewset's
    /// `as_view({'get': 'list'})`.
    Class(Val, String, Option<Vec<String>>),
}

/// What a class says about the view it is.
#[derive(Debug, Default, Clone)]
struct ClassInfo {
    bases: Vec<String>,
    methods: Vec<String>,
    permissions: Vec<String>,
    auth: Vec<String>,
    lookup: Option<String>,
    actions: Vec<Action>,
}

#[derive(Debug, Clone)]
struct Action {
    name: String,
    detail: bool,
    methods: Vec<String>,
    url_path: String,
}

/// What a function's decorators say about the view it is.
#[derive(Debug, Default, Clone)]
struct FuncInfo {
    methods: Option<Vec<String>>,
    auth: Vec<String>,
}

#[derive(Default)]
struct Scan {
    routers: Vec<Router>,
    routes: Vec<Route>,
    mounts: Vec<Mount>,
    drfs: Vec<Drf>,
    patterns: Vec<Vec<Entry>>,
    /// Per file: its module-level names at the end of the file.
    globals: Vec<HashMap<String, Val>>,
    classes: Vec<HashMap<String, ClassInfo>>,
    funcs: Vec<HashMap<String, FuncInfo>>,
    /// Per file: the framework it imports.
    markers: Vec<Option<Framework>>,
    /// Module files by canonical dotted name.
    modules: HashMap<String, usize>,
    /// Every dotted tail of a module or package name, to the shortest canonical name
    /// that ends with it (`api.routes` → `app.api.routes`).
    tails: HashMap<String, String>,
    /// Django's `ROOT_URLCONF`, when a settings module names it.
    root_urlconf: Option<String>,
    /// Entries in all URL lists (bounded by [`MAX_PATTERN_ENTRIES`]).
    pattern_entries: usize,
}

/// Scans the Python files of one tree (all at once, so that imports, routers and URL
/// includes across modules resolve) and returns the routes declared with FastAPI, Flask,
/// Django and Django REST framework.
pub fn scan(files: &[SourceFile]) -> Vec<DeclaredRoute> {
    let mut scan = Scan {
        globals: vec![HashMap::new(); files.len()],
        classes: vec![HashMap::new(); files.len()],
        funcs: vec![HashMap::new(); files.len()],
        markers: vec![None; files.len()],
        ..Scan::default()
    };
    let mut names = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let name = module_name(&f.path);
        scan.modules.entry(name.clone()).or_insert(i);
        let segs: Vec<&str> = name.split('.').filter(|s| !s.is_empty()).take(16).collect();
        // Every package above the module, and the module: each tail of each.
        for end in 1..=segs.len() {
            let canonical = segs[..end].join(".");
            for start in 0..end {
                let tail = segs[start..end].join(".");
                let slot = scan.tails.entry(tail).or_insert_with(|| canonical.clone());
                if canonical.len() < slot.len() {
                    *slot = canonical.clone();
                }
            }
        }
        names.push(name);
    }
    for (i, file) in files.iter().enumerate() {
        let Some(tree) = parse(&tree_sitter_python::LANGUAGE.into(), &file.text) else {
            continue;
        };
        let mut reader = FileReader {
            scan: &mut scan,
            file: i,
            module: &names[i],
            is_package: file.path.file_stem().is_some_and(|s| s == "__init__"),
            src: &file.text,
            scopes: Scopes::new(),
            memo: HashMap::new(),
            implicit: HashMap::new(),
            aliases: HashMap::new(),
        };
        reader.read(tree.root_node());
    }
    scan.emit(files)
}

/// A file's dotted module name (`app/api/routes.py` → `app.api.routes`, a package's
/// `__init__.py` → the package).
fn module_name(path: &Path) -> String {
    let mut parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if let Some(last) = parts.last_mut()
        && let Some(stem) = last.strip_suffix(".py")
    {
        *last = stem.to_string();
    }
    if parts.last().is_some_and(|l| l == "__init__") {
        parts.pop();
    }
    parts.join(".")
}

fn package_framework(module: &str) -> Option<Framework> {
    let top = module.split('.').next().unwrap_or(module);
    match top {
        "fastapi" | "starlette" => Some(Framework::FastApi),
        "flask" => Some(Framework::Flask),
        "django" | "rest_framework" => Some(Framework::Django),
        _ => None,
    }
}

struct FileReader<'a> {
    scan: &'a mut Scan,
    file: usize,
    module: &'a str,
    is_package: bool,
    src: &'a str,
    scopes: Scopes<Val>,
    memo: HashMap<usize, Val>,
    implicit: HashMap<String, usize>,
    aliases: HashMap<String, usize>,
}

impl<'a> FileReader<'a> {
    fn read(&mut self, root: Node<'a>) {
        for node in Preorder::new(root).take(MAX_NODES) {
            self.scopes.leave_before(node.start_byte());
            match node.kind() {
                "import_statement" => self.import(node),
                "import_from_statement" => self.import_from(node),
                "function_definition" | "class_definition" => {
                    if node.kind() == "function_definition" {
                        self.function_info(node);
                    } else {
                        self.class_info(node);
                    }
                    // The name stands for the definition in this module (a view a URL list
                    // names, a class `as_view()` is called on).
                    if let Some(name) = node.child_by_field_name("name")
                        && !self.module.is_empty()
                    {
                        let name = text(name, self.src);
                        self.scopes
                            .bind(name, Val::Mod(format!("{}.{name}", self.module)));
                    }
                    self.scopes.enter(node.end_byte());
                }
                "assignment" => self.assign(node),
                "augmented_assignment" => self.augment(node),
                "decorated_definition" => self.decorated(node),
                "call" => {
                    self.eval(node, 0);
                }
                _ => {}
            }
        }
        self.scopes.leave_before(usize::MAX - 1);
        self.scan.globals[self.file] = self.scopes.global().clone();
    }

    /// The canonical name of a module of the tree that `dotted` names, if any.
    fn canonical(&self, dotted: &str) -> Option<String> {
        // The frameworks are packages from outside the tree, whatever a directory of the tree
        // is named (`services/fastapi/main.py` is no `fastapi` module to its imports).
        if package_framework(dotted).is_some() {
            return None;
        }
        self.scan.tails.get(dotted).cloned()
    }

    /// `import a.b.c` (binds `a`), `import a.b as c` (binds `c`).
    fn import(&mut self, node: Node<'a>) {
        for part in named_children(node) {
            let (dotted, alias) = match part.kind() {
                "dotted_name" => (text(part, self.src).to_string(), None),
                "aliased_import" => {
                    let (Some(n), Some(a)) = (
                        part.child_by_field_name("name"),
                        part.child_by_field_name("alias"),
                    ) else {
                        continue;
                    };
                    (text(n, self.src).to_string(), Some(text(a, self.src)))
                }
                _ => continue,
            };
            self.mark(&dotted);
            match alias {
                Some(a) => {
                    let v = match self.canonical(&dotted) {
                        Some(c) => Val::Mod(c),
                        None => Val::Package(dotted),
                    };
                    self.scopes.bind(a, v);
                }
                None => {
                    let first = dotted.split('.').next().unwrap_or("").to_string();
                    let v = match self.canonical(&first) {
                        Some(c) => Val::Mod(c),
                        None => Val::Package(first.clone()),
                    };
                    self.scopes.bind(&first, v);
                }
            }
        }
    }

    fn mark(&mut self, module: &str) {
        if let Some(fw) = package_framework(module) {
            let m = &mut self.scan.markers[self.file];
            // Django wins over FastAPI/Flask in a settings module; the first seen otherwise.
            if m.is_none() {
                *m = Some(fw);
            }
        }
    }

    /// `from x import a as b`, `from . import views`, `from .views import X`.
    fn import_from(&mut self, node: Node<'a>) {
        let Some(module) = node.child_by_field_name("module_name") else {
            return;
        };
        let base: Option<String> = if module.kind() == "relative_import" {
            let dots = text(module, self.src)
                .chars()
                .take_while(|c| *c == '.')
                .count();
            let rest = named_children(module)
                .into_iter()
                .find(|n| n.kind() == "dotted_name")
                .map(|n| text(n, self.src).to_string());
            let mut pkg: Vec<&str> = self.module.split('.').filter(|s| !s.is_empty()).collect();
            if !self.is_package {
                pkg.pop();
            }
            for _ in 1..dots {
                pkg.pop();
            }
            let mut name = pkg.join(".");
            if let Some(r) = rest {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(&r);
            }
            Some(name)
        } else {
            None
        };
        let (dotted, in_tree) = match base {
            Some(b) => {
                let c = self.scan.modules.contains_key(&b)
                    || self.scan.tails.get(&b).is_some_and(|c| *c == b);
                (b, c)
            }
            None => {
                let d = text(module, self.src).to_string();
                self.mark(&d);
                match self.canonical(&d) {
                    Some(c) => (c, true),
                    None => (d, false),
                }
            }
        };
        let mut cursor = node.walk();
        let names: Vec<Node<'a>> = node.children_by_field_name("name", &mut cursor).collect();
        for n in names {
            let (name, local) = match n.kind() {
                "dotted_name" => (text(n, self.src), text(n, self.src)),
                "aliased_import" => match (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("alias"),
                ) {
                    (Some(a), Some(b)) => (text(a, self.src), text(b, self.src)),
                    _ => continue,
                },
                _ => continue,
            };
            let v = if in_tree {
                Val::Mod(if dotted.is_empty() {
                    name.to_string()
                } else {
                    format!("{dotted}.{name}")
                })
            } else {
                Val::Member(dotted.clone(), name.to_string())
            };
            self.scopes.bind(local, v);
        }
    }

    fn lookup(&mut self, name: &str) -> Val {
        if let Some(v) = self.scopes.get(name) {
            return v.clone();
        }
        if let Some(fw @ (Framework::FastApi | Framework::Flask)) = self.scan.markers[self.file]
            && IMPLICIT_ROUTERS.contains(&name)
        {
            if let Some(&r) = self.implicit.get(name) {
                return Val::Router(r);
            }
            let r = self.new_router(fw);
            self.implicit.insert(name.to_string(), r);
            return Val::Router(r);
        }
        Val::Unknown
    }

    fn new_router(&mut self, framework: Framework) -> usize {
        self.scan.routers.push(Router {
            framework,
            prefix: String::new(),
            auth: Vec::new(),
            alias: false,
        });
        self.scan.routers.len() - 1
    }

    fn assign(&mut self, node: Node<'a>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        if left.kind() != "identifier" {
            return;
        }
        let name = text(left, self.src);
        let v = self.eval(right, 0);
        if v == Val::Unknown
            && right.kind() == "call"
            && arguments(right)
                .iter()
                .any(|a| a.kind() == "identifier" && text(*a, self.src) == name)
        {
            // `urlpatterns = wrap(urlpatterns)`: the wrapper keeps what it was given.
            return;
        }
        // `urlpatterns = router.urls`: a URL list of the router's routes.
        let v = if name == "urlpatterns" && matches!(v, Val::Drf(_)) {
            let entries = self.entries_of(&v);
            self.push_patterns(entries)
        } else {
            v
        };
        if name == "ROOT_URLCONF"
            && let Val::Str(s) = &v
        {
            self.scan.root_urlconf = self.canonical(s);
        }
        self.scopes.bind(name, v);
    }

    /// `urlpatterns += [...]`, `urlpatterns += router.urls`.
    fn augment(&mut self, node: Node<'a>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        if left.kind() != "identifier" {
            return;
        }
        let Some(Val::Patterns(p)) = self.scopes.get(text(left, self.src)).cloned() else {
            return;
        };
        let add = self.eval(right, 0);
        let entries = self.entries_of(&add);
        self.scan.pattern_entries += entries.len();
        self.scan.patterns[p].extend(entries);
    }

    /// A new URL list, within the scan's budget of entries.
    fn push_patterns(&mut self, mut entries: Vec<Entry>) -> Val {
        let room = MAX_PATTERN_ENTRIES.saturating_sub(self.scan.pattern_entries);
        entries.truncate(room);
        self.scan.pattern_entries += entries.len();
        self.scan.patterns.push(entries);
        Val::Patterns(self.scan.patterns.len() - 1)
    }

    /// The entries a value adds to a URL list.
    fn entries_of(&self, v: &Val) -> Vec<Entry> {
        let room = MAX_PATTERN_ENTRIES.saturating_sub(self.scan.pattern_entries);
        match v {
            Val::Patterns(q) => self.scan.patterns[*q].iter().take(room).cloned().collect(),
            Val::Drf(_) | Val::Mod(_) => vec![Entry::Include {
                route: String::new(),
                target: v.clone(),
            }],
            _ => Vec::new(),
        }
    }

    fn eval(&mut self, node: Node<'a>, depth: usize) -> Val {
        if depth > MAX_EVAL_DEPTH {
            return Val::Unknown;
        }
        if let Some(v) = self.memo.get(&node.id()) {
            return v.clone();
        }
        let v = match node.kind() {
            "parenthesized_expression" | "await" => match named_children(node).into_iter().next() {
                Some(inner) => self.eval(inner, depth + 1),
                None => Val::Unknown,
            },
            "identifier" => self.lookup(text(node, self.src)),
            "string" | "concatenated_string" => {
                string_value(node, self.src).map_or(Val::Unknown, Val::Str)
            }
            "binary_operator" => self.binary(node, depth),
            "attribute" => match (
                node.child_by_field_name("object"),
                node.child_by_field_name("attribute"),
            ) {
                (Some(o), Some(a)) => {
                    let obj = self.eval(o, depth + 1);
                    let attr = text(a, self.src);
                    match obj {
                        Val::Drf(d) if attr == "urls" => Val::Drf(d),
                        other => member(&other, attr),
                    }
                }
                _ => Val::Unknown,
            },
            "list" | "tuple" => self.url_list(node, depth),
            "call" => self.call(node, depth),
            "conditional_expression" => {
                // `DefaultRouter() if settings.DEBUG else SimpleRouter()`: the routes both
                // branches declare (a DRF router's API root only when both have one).
                let parts = named_children(node);
                match (parts.first(), parts.get(2)) {
                    (Some(a), Some(b)) => {
                        match (self.eval(*a, depth + 1), self.eval(*b, depth + 1)) {
                            (Val::Drf(x), Val::Drf(y)) => {
                                let both =
                                    self.scan.drfs[x].root_view && self.scan.drfs[y].root_view;
                                self.scan.drfs[x].root_view = both;
                                Val::Drf(x)
                            }
                            (x, y) if x == y => x,
                            _ => Val::Unknown,
                        }
                    }
                    _ => Val::Unknown,
                }
            }
            _ => Val::Unknown,
        };
        self.memo.insert(node.id(), v.clone());
        v
    }

    fn binary(&mut self, node: Node<'a>, depth: usize) -> Val {
        let op = node
            .child_by_field_name("operator")
            .map(|o| text(o, self.src));
        let (Some("+"), Some(l), Some(r)) = (
            op,
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return Val::Unknown;
        };
        let (a, b) = (self.eval(l, depth + 1), self.eval(r, depth + 1));
        match (&a, &b) {
            (Val::Str(x), Val::Str(y)) => Val::Str(format!("{x}{y}")),
            (Val::Patterns(_) | Val::Drf(_), _) | (_, Val::Patterns(_) | Val::Drf(_)) => {
                let mut entries = self.entries_of(&a);
                entries.extend(self.entries_of(&b));
                self.push_patterns(entries)
            }
            _ => Val::Unknown,
        }
    }

    /// A list of `path()`/`re_path()`/`url()` entries (a Django URL list), or nothing.
    fn url_list(&mut self, node: Node<'a>, depth: usize) -> Val {
        let elements: Vec<Node<'a>> = named_children(node)
            .into_iter()
            .filter(|n| n.kind() != "comment")
            .collect();
        let mut entries = Vec::new();
        for e in &elements {
            if e.kind() == "call"
                && let Some(f) = e.child_by_field_name("function")
                && let Val::Member(pkg, name) = self.eval(f, depth + 1)
                && pkg.starts_with("django")
                && matches!(name.as_str(), "path" | "re_path" | "url")
            {
                if let Some(entry) = self.pattern(*e, name != "path", depth) {
                    entries.push(entry);
                }
            } else if e.kind() == "list_splat"
                && let Some(inner) = named_children(*e).into_iter().next()
            {
                let v = self.eval(inner, depth + 1);
                entries.extend(self.entries_of(&v));
            }
        }
        if entries.is_empty() && !elements.is_empty() {
            return Val::Unknown;
        }
        self.push_patterns(entries)
    }

    /// One `path(route, view)` / `re_path(regex, view)`: the route as Django's path syntax
    /// (regular expressions turned into `{name}` parameters first).
    fn pattern(&mut self, call: Node<'a>, regex: bool, depth: usize) -> Option<Entry> {
        let args = positional(call);
        let raw = match self.eval(*args.first()?, depth + 1) {
            Val::Str(s) => s,
            _ => return None,
        };
        let route = if regex { regex_route(&raw)? } else { raw };
        let mut view = match args.get(1) {
            Some(v) => *v,
            None => keyword(call, self.src, "view")?,
        };
        let mut auth = Vec::new();
        // Wrappers: `login_required(View.as_view())`, `csrf_exempt(view)`.
        for _ in 0..4 {
            if view.kind() != "call" {
                break;
            }
            let f = view.child_by_field_name("function")?;
            let callee = callee_name(f, self.src);
            if callee.rsplit('.').next() == Some("include") {
                let target = self.include_target(view, depth);
                return Some(Entry::Include { route, target });
            }
            if callee.ends_with("as_view") {
                break;
            }
            let inner = positional(view);
            if inner.len() != 1 {
                break;
            }
            if is_auth_name(&callee) {
                auth.push(callee);
            }
            view = inner[0];
        }
        let view_ref = if view.kind() == "call" {
            let f = view.child_by_field_name("function")?;
            if f.kind() != "attribute"
                || text(f.child_by_field_name("attribute")?, self.src) != "as_view"
            {
                return None;
            }
            let class = f.child_by_field_name("object")?;
            let mapping = positional(view).first().and_then(|d| {
                (d.kind() == "dictionary").then(|| {
                    named_children(*d)
                        .into_iter()
                        .filter_map(|p| p.child_by_field_name("key"))
                        .filter_map(|k| string_value(k, self.src))
                        .map(|m| m.to_ascii_uppercase())
                        .collect::<Vec<_>>()
                })
            });
            let v = self.eval(class, depth + 1);
            ViewRef::Class(v, text(class, self.src).to_string(), mapping)
        } else {
            let v = self.eval(view, depth + 1);
            if matches!(v, Val::Patterns(_) | Val::Drf(_)) {
                return Some(Entry::Include { route, target: v });
            }
            // `admin.site.urls` and other packages' URL lists: their routes, not this code's.
            if text(view, self.src).ends_with(".urls") {
                return None;
            }
            if let Val::ClassView(class, name) = v {
                return Some(Entry::View {
                    route,
                    view: ViewRef::Class(*class, name, None),
                    auth,
                    file: self.file,
                    line: line(call),
                });
            }
            ViewRef::Func(v, text(view, self.src).to_string())
        };
        Some(Entry::View {
            route,
            view: view_ref,
            auth,
            file: self.file,
            line: line(call),
        })
    }

    /// What `include(...)` includes: a module named by a string, a URL list, a DRF router's
    /// `urls`, or the first of a `(patterns, namespace)` tuple.
    fn include_target(&mut self, call: Node<'a>, depth: usize) -> Val {
        let Some(mut arg) = positional(call).first().copied() else {
            return Val::Unknown;
        };
        if arg.kind() == "tuple"
            && let Some(first) = named_children(arg).into_iter().next()
        {
            arg = first;
        }
        match self.eval(arg, depth + 1) {
            Val::Str(s) => self.canonical(&s).map_or(Val::Unknown, Val::Mod),
            other => other,
        }
    }

    fn call(&mut self, node: Node<'a>, depth: usize) -> Val {
        let Some(func) = node.child_by_field_name("function") else {
            return Val::Unknown;
        };
        if func.kind() == "attribute"
            && let (Some(o), Some(a)) = (
                func.child_by_field_name("object"),
                func.child_by_field_name("attribute"),
            )
        {
            let method = text(a, self.src);
            let recv = self.eval(o, depth + 1);
            if method == "as_view" {
                return Val::ClassView(Box::new(recv), text(o, self.src).to_string());
            }
            return match recv {
                Val::Router(r) => self.router_call(r, method, node, depth),
                Val::Drf(d) => {
                    if method == "register" {
                        self.drf_register(d, node, depth);
                    }
                    Val::Unknown
                }
                Val::Mod(ref m)
                    if matches!(
                        method,
                        "include_router"
                            | "register_blueprint"
                            | "add_url_rule"
                            | "add_api_route"
                            | "mount"
                    ) =>
                {
                    let r = self.alias(m);
                    self.router_call(r, method, node, depth)
                }
                Val::Package(_) | Val::Member(..) => {
                    let callee = member(&recv, method);
                    self.construct(&callee, node, depth)
                }
                _ => Val::Unknown,
            };
        }
        let callee = self.eval(func, depth + 1);
        self.construct(&callee, node, depth)
    }

    /// A router imported from another module and used here.
    fn alias(&mut self, module: &str) -> usize {
        if let Some(&r) = self.aliases.get(module) {
            return r;
        }
        let fw = self.scan.markers[self.file].unwrap_or(Framework::FastApi);
        let r = self.new_router(fw);
        self.scan.routers[r].alias = true;
        self.aliases.insert(module.to_string(), r);
        self.scan.mounts.push(Mount {
            parent: Val::Mod(module.to_string()),
            child: Val::Router(r),
            prefix: None,
            auth: Vec::new(),
        });
        r
    }

    fn construct(&mut self, callee: &Val, node: Node<'a>, depth: usize) -> Val {
        let Val::Member(pkg, name) = callee else {
            return Val::Unknown;
        };
        let top = pkg.split('.').next().unwrap_or("");
        let fw = match (top, name.as_str()) {
            ("fastapi", "FastAPI" | "APIRouter") => Framework::FastApi,
            ("flask", "Flask" | "Blueprint") => Framework::Flask,
            ("rest_framework", "DefaultRouter" | "SimpleRouter") => {
                let mut drf = Drf {
                    trailing_slash: "/".into(),
                    root_view: name == "DefaultRouter",
                    file: self.file,
                    line: line(node),
                    ..Drf::default()
                };
                if let Some(ts) = keyword(node, self.src, "trailing_slash") {
                    match text(ts, self.src) {
                        "False" => drf.trailing_slash = String::new(),
                        _ => {
                            if let Some(s) = string_value(ts, self.src) {
                                drf.trailing_slash = s.trim_end_matches('?').to_string();
                            }
                        }
                    }
                }
                self.scan.drfs.push(drf);
                return Val::Drf(self.scan.drfs.len() - 1);
            }
            _ => return Val::Unknown,
        };
        let r = self.new_router(fw);
        let key = if fw == Framework::Flask {
            "url_prefix"
        } else {
            "prefix"
        };
        if let Some(p) = keyword(node, self.src, key)
            && let Val::Str(s) = self.eval(p, depth + 1)
        {
            self.scan.routers[r].prefix = s;
        }
        if let Some(deps) = keyword(node, self.src, "dependencies") {
            self.scan.routers[r].auth = dependency_auth(deps, self.src);
        }
        Val::Router(r)
    }

    fn router_call(&mut self, r: usize, method: &str, node: Node<'a>, depth: usize) -> Val {
        let args = positional(node);
        match method {
            "include_router" | "register_blueprint" | "mount" => {
                let (child_node, prefix_node) = if method == "mount" {
                    (args.get(1).copied(), args.first().copied())
                } else {
                    (
                        args.first().copied(),
                        keyword(node, self.src, "prefix")
                            .or_else(|| keyword(node, self.src, "url_prefix")),
                    )
                };
                let Some(child_node) = child_node else {
                    return Val::Unknown;
                };
                let child = self.eval(child_node, depth + 1);
                let prefix = prefix_node.and_then(|p| match self.eval(p, depth + 1) {
                    Val::Str(s) => Some(s),
                    _ => None,
                });
                let auth = keyword(node, self.src, "dependencies")
                    .map(|d| dependency_auth(d, self.src))
                    .unwrap_or_default();
                self.scan.mounts.push(Mount {
                    parent: Val::Router(r),
                    child,
                    prefix,
                    auth,
                });
                Val::Unknown
            }
            "add_url_rule" | "add_api_route" => {
                let Some(path) = args
                    .first()
                    .or(keyword(node, self.src, "rule").as_ref())
                    .or(keyword(node, self.src, "path").as_ref())
                    .copied()
                else {
                    return Val::Unknown;
                };
                let Val::Str(path) = self.eval(path, depth + 1) else {
                    return Val::Unknown;
                };
                let view = if method == "add_url_rule" {
                    keyword(node, self.src, "view_func").or_else(|| args.get(2).copied())
                } else {
                    keyword(node, self.src, "endpoint").or_else(|| args.get(1).copied())
                };
                let mut methods = keyword(node, self.src, "methods")
                    .map(|m| string_list(m, self.src))
                    .unwrap_or_default();
                let mut handler = view.map(|v| compact(text(v, self.src)));
                if let Some(v) = view
                    && v.kind() == "call"
                    && let Some(f) = v.child_by_field_name("function")
                    && callee_name(f, self.src).ends_with("as_view")
                    && let Some(class) = f.child_by_field_name("object")
                {
                    // A Flask `MethodView`: its methods are its handler methods.
                    handler = Some(text(class, self.src).to_string());
                    if methods.is_empty() {
                        let name = text(class, self.src);
                        let v = self.eval(class, depth + 1);
                        methods = self.pending_class_methods(&v, name);
                    }
                }
                let mut auth = keyword(node, self.src, "dependencies")
                    .map(|d| dependency_auth(d, self.src))
                    .unwrap_or_default();
                if methods.is_empty() {
                    methods.push("GET".into());
                }
                auth.dedup();
                self.scan.routes.push(Route {
                    router: r,
                    methods,
                    path,
                    file: self.file,
                    line: line(node),
                    handler,
                    auth,
                });
                Val::Unknown
            }
            _ => Val::Unknown,
        }
    }

    /// The handler methods of a class defined in this file or seen so far (for a Flask
    /// `MethodView` registered with `add_url_rule`); `*` is decided at emission otherwise.
    fn pending_class_methods(&self, _v: &Val, name: &str) -> Vec<String> {
        let short = name.rsplit('.').next().unwrap_or(name);
        self.scan
            .classes
            .iter()
            .find_map(|c| c.get(short))
            .map(|c| {
                c.methods
                    .iter()
                    .filter(|m| VIEW_METHODS.contains(&m.as_str()))
                    .map(|m| m.to_ascii_uppercase())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn drf_register(&mut self, d: usize, node: Node<'a>, depth: usize) {
        let args = positional(node);
        let (Some(p), Some(v)) = (
            args.first().copied().or(keyword(node, self.src, "prefix")),
            args.get(1).copied().or(keyword(node, self.src, "viewset")),
        ) else {
            return;
        };
        let Val::Str(prefix) = self.eval(p, depth + 1) else {
            return;
        };
        let prefix = if prefix.starts_with('^') || prefix.contains('(') {
            match regex_route(&prefix) {
                Some(r) => r,
                None => return,
            }
        } else {
            prefix
        };
        let viewset = self.eval(v, depth + 1);
        self.scan.drfs[d].registrations.push(Registration {
            prefix,
            viewset,
            name: text(v, self.src).to_string(),
            file: self.file,
            line: line(node),
        });
    }

    /// `@app.get("/x")`, `@bp.route("/x", methods=[...])`, `@router.api_route(...)` above a
    /// function.
    fn decorated(&mut self, node: Node<'a>) {
        let Some(def) = node.child_by_field_name("definition") else {
            return;
        };
        if def.kind() != "function_definition" {
            return;
        }
        let name = def
            .child_by_field_name("name")
            .map(|n| text(n, self.src).to_string());
        let decorators: Vec<Node<'a>> = named_children(node)
            .into_iter()
            .filter(|d| d.kind() == "decorator")
            .filter_map(|d| named_children(d).into_iter().next())
            .collect();
        let mut decorator_auth = Vec::new();
        for d in &decorators {
            let n = decorator_name(*d, self.src);
            if is_auth_decorator(&n) {
                decorator_auth.push(n);
            }
        }
        let param_auth = def
            .child_by_field_name("parameters")
            .map(|p| param_auth(p, self.src))
            .unwrap_or_default();
        for d in decorators {
            if d.kind() != "call" {
                continue;
            }
            let Some(f) = d.child_by_field_name("function") else {
                continue;
            };
            if f.kind() != "attribute" {
                continue;
            }
            let (Some(o), Some(a)) = (
                f.child_by_field_name("object"),
                f.child_by_field_name("attribute"),
            ) else {
                continue;
            };
            let verb = text(a, self.src);
            let r = match self.eval(o, 0) {
                Val::Router(r) => r,
                Val::Mod(m) => self.alias(&m),
                _ => continue,
            };
            let methods: Vec<String> = match verb {
                "route" | "api_route" => {
                    let m = keyword(d, self.src, "methods")
                        .map(|m| string_list(m, self.src))
                        .unwrap_or_default();
                    if m.is_empty() { vec!["GET".into()] } else { m }
                }
                "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "trace" => {
                    vec![verb.to_ascii_uppercase()]
                }
                _ => continue,
            };
            let path_node = positional(d)
                .first()
                .copied()
                .or(keyword(d, self.src, "path"))
                .or(keyword(d, self.src, "rule"));
            let Some(path_node) = path_node else {
                continue;
            };
            let Val::Str(path) = self.eval(path_node, 0) else {
                continue;
            };
            let mut auth = decorator_auth.clone();
            if let Some(deps) = keyword(d, self.src, "dependencies") {
                auth.extend(dependency_auth(deps, self.src));
            }
            auth.extend(param_auth.iter().cloned());
            self.scan.routes.push(Route {
                router: r,
                methods,
                path,
                file: self.file,
                line: line(d),
                handler: name.clone(),
                auth,
            });
        }
    }

    /// What a function's decorators say about it as a Django/DRF view.
    fn function_info(&mut self, node: Node<'a>) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let mut info = FuncInfo::default();
        if let Some(parent) = node.parent()
            && parent.kind() == "decorated_definition"
        {
            for d in named_children(parent)
                .into_iter()
                .filter(|d| d.kind() == "decorator")
                .filter_map(|d| named_children(d).into_iter().next())
            {
                let n = decorator_name(d, self.src);
                let short = n.rsplit('.').next().unwrap_or(&n);
                match short {
                    "api_view" | "require_http_methods" => {
                        let list = positional(d)
                            .first()
                            .map(|l| string_list(*l, self.src))
                            .unwrap_or_else(|| vec!["GET".into()]);
                        info.methods = Some(list);
                    }
                    "require_GET" => info.methods = Some(vec!["GET".into()]),
                    "require_POST" => info.methods = Some(vec!["POST".into()]),
                    "require_safe" => info.methods = Some(vec!["GET".into(), "HEAD".into()]),
                    "permission_classes" => {
                        if let Some(l) = positional(d).first() {
                            info.auth.extend(permission_names(*l, self.src));
                        }
                    }
                    _ if is_auth_decorator(&n) => info.auth.push(n),
                    _ => {}
                }
            }
        }
        self.scan.funcs[self.file].insert(text(name, self.src).to_string(), info);
    }

    /// What a class says about the view it is: bases, handler methods, permissions,
    /// lookup field, extra actions.
    fn class_info(&mut self, node: Node<'a>) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let mut info = ClassInfo::default();
        if let Some(sup) = node.child_by_field_name("superclasses") {
            for b in named_children(sup) {
                if matches!(b.kind(), "identifier" | "attribute") {
                    let t = text(b, self.src);
                    let short = t.rsplit('.').next().unwrap_or(t).to_string();
                    if short.ends_with("RequiredMixin") {
                        info.auth.push(short.clone());
                    }
                    info.bases.push(short);
                }
            }
        }
        if let Some(parent) = node.parent()
            && parent.kind() == "decorated_definition"
        {
            for d in named_children(parent)
                .into_iter()
                .filter(|d| d.kind() == "decorator")
                .filter_map(|d| named_children(d).into_iter().next())
            {
                // `@method_decorator(login_required, name='dispatch')`.
                if decorator_name(d, self.src).ends_with("method_decorator")
                    && let Some(first) = positional(d).first()
                {
                    let n = decorator_name(*first, self.src);
                    if is_auth_decorator(&n) {
                        info.auth.push(n);
                    }
                }
            }
        }
        if let Some(body) = node.child_by_field_name("body") {
            for stmt in named_children(body) {
                let (def, decorators) = match stmt.kind() {
                    "function_definition" => (stmt, Vec::new()),
                    "decorated_definition" => match stmt.child_by_field_name("definition") {
                        Some(d) => (
                            d,
                            named_children(stmt)
                                .into_iter()
                                .filter(|d| d.kind() == "decorator")
                                .filter_map(|d| named_children(d).into_iter().next())
                                .collect(),
                        ),
                        None => continue,
                    },
                    "expression_statement" => {
                        if let Some(a) = named_children(stmt).into_iter().next()
                            && a.kind() == "assignment"
                            && let (Some(l), Some(r)) = (
                                a.child_by_field_name("left"),
                                a.child_by_field_name("right"),
                            )
                        {
                            match text(l, self.src) {
                                "permission_classes" => {
                                    info.permissions = permission_names(r, self.src);
                                }
                                "lookup_url_kwarg" => {
                                    if let Some(s) = string_value(r, self.src) {
                                        info.lookup = Some(s);
                                    }
                                }
                                "lookup_field" if info.lookup.is_none() => {
                                    info.lookup = string_value(r, self.src);
                                }
                                _ => {}
                            }
                        }
                        continue;
                    }
                    _ => continue,
                };
                if def.kind() != "function_definition" {
                    continue;
                }
                let Some(fname) = def.child_by_field_name("name") else {
                    continue;
                };
                let fname = text(fname, self.src).to_string();
                for d in decorators {
                    let dn = decorator_name(d, self.src);
                    if dn.rsplit('.').next() == Some("action") {
                        let detail = keyword(d, self.src, "detail")
                            .is_some_and(|v| text(v, self.src) == "True");
                        let methods = keyword(d, self.src, "methods")
                            .map(|m| string_list(m, self.src))
                            .filter(|m| !m.is_empty())
                            .unwrap_or_else(|| vec!["GET".into()]);
                        let url_path = keyword(d, self.src, "url_path")
                            .and_then(|u| string_value(u, self.src))
                            .unwrap_or_else(|| fname.clone());
                        info.actions.push(Action {
                            name: fname.clone(),
                            detail,
                            methods,
                            url_path,
                        });
                    }
                }
                info.methods.push(fname);
            }
        }
        self.scan.classes[self.file].insert(text(name, self.src).to_string(), info);
    }
}

impl Scan {
    /// A value through modules: a name in a module is what the module bound it to.
    fn resolve(&self, v: &Val, depth: usize) -> Val {
        if depth > 16 {
            return Val::Unknown;
        }
        let Val::Mod(m) = v else {
            return v.clone();
        };
        if let Some(&f) = self.modules.get(m) {
            // The module itself: as a URL conf, its `urlpatterns`.
            return match self.globals[f].get("urlpatterns") {
                Some(p) => self.resolve(p, depth + 1),
                None => Val::Mod(m.clone()),
            };
        }
        if let Some((module, name)) = m.rsplit_once('.')
            && let Some(&f) = self.modules.get(module)
            && let Some(x) = self.globals[f].get(name)
        {
            // A definition's name stands for itself.
            if x == v {
                return v.clone();
            }
            return self.resolve(x, depth + 1);
        }
        Val::Unknown
    }

    fn router_of(&self, v: &Val) -> Option<usize> {
        match self.resolve(v, 0) {
            Val::Router(r) => Some(r),
            _ => None,
        }
    }

    /// A class by the value that names it (a module's name) or, failing that, by its name
    /// when one class of the tree has it.
    fn class(&self, v: &Val, name: &str) -> Option<&ClassInfo> {
        if let Val::Mod(m) = v
            && let Some((module, n)) = m.rsplit_once('.')
            && let Some(&f) = self.modules.get(module)
            && let Some(c) = self.classes[f].get(n)
        {
            return Some(c);
        }
        let short = name.rsplit('.').next().unwrap_or(name);
        let mut found = self.classes.iter().filter_map(|c| c.get(short));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    fn func(&self, v: &Val, name: &str) -> Option<&FuncInfo> {
        if let Val::Mod(m) = v
            && let Some((module, n)) = m.rsplit_once('.')
            && let Some(&f) = self.modules.get(module)
            && let Some(c) = self.funcs[f].get(n)
        {
            return Some(c);
        }
        let short = name.rsplit('.').next().unwrap_or(name);
        let mut found = self.funcs.iter().filter_map(|c| c.get(short));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// A class and its bases of the tree, nearest first.
    fn lineage<'s>(&'s self, class: &'s ClassInfo) -> Vec<&'s ClassInfo> {
        let mut out = vec![class];
        let mut i = 0;
        while i < out.len() && out.len() < MAX_BASES {
            for b in &out[i].bases.clone() {
                if let Some(c) = self.class(&Val::Unknown, b)
                    && !out.iter().any(|x| std::ptr::eq(*x, c))
                {
                    out.push(c);
                }
            }
            i += 1;
        }
        out
    }

    /// The methods a class-based view answers, and its authentication.
    fn class_view(&self, class: &ClassInfo) -> (Vec<String>, Vec<String>) {
        let mut methods = Vec::new();
        let mut auth = Vec::new();
        let mut permissions = None;
        for c in self.lineage(class) {
            for m in &c.methods {
                if VIEW_METHODS.contains(&m.as_str()) {
                    methods.push(m.to_ascii_uppercase());
                }
            }
            for b in &c.bases {
                methods.extend(generic_methods(b).iter().map(|m| m.to_string()));
            }
            auth.extend(c.auth.iter().cloned());
            if permissions.is_none() && !c.permissions.is_empty() {
                permissions = Some(c.permissions.clone());
            }
        }
        auth.extend(permissions.unwrap_or_default());
        methods.sort();
        methods.dedup();
        dedup_keep_order(&mut auth);
        (methods, auth)
    }

    /// The methods and authentication of a class view named by a value; a class from
    /// outside the tree answers the methods of the generic view it is, if it is one.
    fn class_methods(&self, v: &Val, name: &str) -> (Vec<String>, Vec<String>) {
        match self.class(v, name) {
            Some(c) => self.class_view(c),
            None => {
                let short = name.rsplit('.').next().unwrap_or(name);
                let methods = generic_methods(short)
                    .iter()
                    .map(|m| m.to_string())
                    .collect();
                (methods, Vec::new())
            }
        }
    }

    /// A viewset's actions (`list`, `retrieve`, ...), extra actions, lookup and auth.
    fn viewset(&self, class: &ClassInfo) -> (HashSet<String>, Vec<Action>, String, Vec<String>) {
        let mut actions = HashSet::new();
        let mut extra = Vec::new();
        let mut lookup = None;
        for c in self.lineage(class) {
            for m in &c.methods {
                if matches!(
                    m.as_str(),
                    "list" | "create" | "retrieve" | "update" | "partial_update" | "destroy"
                ) {
                    actions.insert(m.clone());
                }
            }
            for b in &c.bases {
                for a in viewset_actions(b) {
                    actions.insert((*a).to_string());
                }
            }
            extra.extend(c.actions.iter().cloned());
            if lookup.is_none() {
                lookup = c.lookup.clone();
            }
        }
        let (_, auth) = self.class_view(class);
        (actions, extra, lookup.unwrap_or_else(|| "pk".into()), auth)
    }

    fn emit(&self, files: &[SourceFile]) -> Vec<DeclaredRoute> {
        let mut out = Vec::new();
        let mut visits = 0;
        self.emit_routers(files, &mut out, &mut visits);
        self.emit_django(files, &mut out, &mut visits);
        out
    }

    fn emit_routers(&self, files: &[SourceFile], out: &mut Vec<DeclaredRoute>, visits: &mut usize) {
        let mut routes_of: HashMap<usize, Vec<&Route>> = HashMap::new();
        for route in &self.routes {
            routes_of.entry(route.router).or_default().push(route);
        }
        let mut mounts_of: HashMap<usize, Vec<(usize, &Mount)>> = HashMap::new();
        let mut mounted = HashSet::new();
        for m in &self.mounts {
            if let (Some(p), Some(c)) = (self.router_of(&m.parent), self.router_of(&m.child))
                && p != c
            {
                mounts_of.entry(p).or_default().push((c, m));
                mounted.insert(c);
            }
        }
        for (root, router) in self.routers.iter().enumerate() {
            if mounted.contains(&root) || router.alias {
                continue;
            }
            let mut stack = vec![(
                root,
                join_route("", &router.prefix),
                router.auth.clone(),
                vec![root],
            )];
            while let Some((r, base, auth, chain)) = stack.pop() {
                *visits += 1;
                if *visits > MAX_VISITS {
                    return;
                }
                let router = &self.routers[r];
                for route in routes_of.get(&r).map(Vec::as_slice).unwrap_or_default() {
                    for m in &route.methods {
                        if out.len() >= MAX_ROUTES {
                            return;
                        }
                        let mut all = auth.clone();
                        all.extend(route.auth.iter().cloned());
                        dedup_keep_order(&mut all);
                        out.push(DeclaredRoute {
                            method: m.clone(),
                            path: template(&join_route(&base, &route.path)),
                            file: files[route.file].path.clone(),
                            line: route.line,
                            handler: route.handler.clone(),
                            framework: router.framework,
                            auth: all,
                        });
                    }
                }
                if chain.len() > MAX_MOUNT_DEPTH {
                    continue;
                }
                for (c, m) in mounts_of.get(&r).map(Vec::as_slice).unwrap_or_default() {
                    if chain.contains(c) {
                        continue;
                    }
                    let child = &self.routers[*c];
                    let child_base = match (&m.prefix, child.framework) {
                        // Flask: a prefix at registration replaces the blueprint's own.
                        (Some(p), Framework::Flask) => join_route(&base, p),
                        (Some(p), _) => join_route(&join_route(&base, p), &child.prefix),
                        (None, _) => join_route(&base, &child.prefix),
                    };
                    let mut all = auth.clone();
                    all.extend(m.auth.iter().cloned());
                    all.extend(child.auth.iter().cloned());
                    dedup_keep_order(&mut all);
                    let mut chain = chain.clone();
                    chain.push(*c);
                    stack.push((*c, child_base, all, chain));
                }
            }
        }
    }

    fn emit_django(&self, files: &[SourceFile], out: &mut Vec<DeclaredRoute>, visits: &mut usize) {
        // The URL confs: modules with `urlpatterns`; the roots are those no other includes
        // (or `ROOT_URLCONF` when a settings module names one).
        let mut confs: Vec<(String, usize)> = Vec::new();
        for (m, &f) in &self.modules {
            if let Some(Val::Patterns(p)) = self.globals[f]
                .get("urlpatterns")
                .map(|v| self.resolve(v, 0))
            {
                confs.push((m.clone(), p));
            }
        }
        confs.sort();
        let mut included = HashSet::new();
        for list in &self.patterns {
            for e in list {
                if let Entry::Include { target, .. } = e
                    && let Val::Patterns(p) = self.resolve(target, 0)
                {
                    included.insert(p);
                }
            }
        }
        let roots: Vec<usize> = match self
            .root_urlconf
            .as_ref()
            .and_then(|r| confs.iter().find(|(m, _)| m == r))
        {
            Some((_, p)) => vec![*p],
            None => confs
                .iter()
                .filter(|(_, p)| !included.contains(p))
                .map(|(_, p)| *p)
                .collect(),
        };
        for root in roots {
            let mut stack = vec![(Val::Patterns(root), String::new(), vec![root])];
            while let Some((target, prefix, chain)) = stack.pop() {
                *visits += 1;
                if *visits > MAX_VISITS {
                    return;
                }
                match self.resolve(&target, 0) {
                    Val::Patterns(p) => {
                        for e in &self.patterns[p] {
                            match e {
                                Entry::View {
                                    route,
                                    view,
                                    auth,
                                    file,
                                    line,
                                } => {
                                    if out.len() >= MAX_ROUTES {
                                        return;
                                    }
                                    self.emit_view(
                                        files,
                                        out,
                                        &format!("{prefix}{route}"),
                                        view,
                                        auth,
                                        *file,
                                        *line,
                                    );
                                }
                                Entry::Include { route, target } => {
                                    if chain.len() > MAX_MOUNT_DEPTH {
                                        continue;
                                    }
                                    let key = match self.resolve(target, 0) {
                                        Val::Patterns(q) => Some(q),
                                        _ => None,
                                    };
                                    if key.is_some_and(|q| chain.contains(&q)) {
                                        continue;
                                    }
                                    let mut chain = chain.clone();
                                    chain.extend(key);
                                    stack.push((target.clone(), format!("{prefix}{route}"), chain));
                                }
                            }
                        }
                    }
                    Val::Drf(d) => self.emit_drf(files, out, &self.drfs[d], &prefix),
                    _ => {}
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_view(
        &self,
        files: &[SourceFile],
        out: &mut Vec<DeclaredRoute>,
        route: &str,
        view: &ViewRef,
        wrapper_auth: &[String],
        file: usize,
        line: u32,
    ) {
        let (methods, mut auth, handler) = match view {
            ViewRef::Class(v, name, mapping) => {
                let (mut methods, auth) = self.class_methods(v, name);
                if let Some(m) = mapping {
                    methods = m.clone();
                }
                (methods, auth, name.clone())
            }
            ViewRef::Func(v, name) => {
                if let Val::ClassView(class, class_name) = self.resolve(v, 0) {
                    let (methods, auth) = self.class_methods(&class, &class_name);
                    (methods, auth, class_name)
                } else {
                    let info = self.func(v, name).cloned().unwrap_or_default();
                    (info.methods.unwrap_or_default(), info.auth, name.clone())
                }
            }
        };
        auth.extend(wrapper_auth.iter().cloned());
        dedup_keep_order(&mut auth);
        let methods = if methods.is_empty() {
            vec!["*".to_string()]
        } else {
            methods
        };
        let path = template(&format!("/{}", route.trim_start_matches('/')));
        for m in methods {
            out.push(DeclaredRoute {
                method: m,
                path: path.clone(),
                file: files[file].path.clone(),
                line,
                handler: Some(compact(&handler)),
                framework: Framework::Django,
                auth: auth.clone(),
            });
        }
    }

    /// A DRF router's routes under `prefix`: list and detail routes per registration, with
    /// the methods of the viewset's actions, extra `@action` routes, and `DefaultRouter`'s
    /// API root.
    fn emit_drf(
        &self,
        files: &[SourceFile],
        out: &mut Vec<DeclaredRoute>,
        drf: &Drf,
        prefix: &str,
    ) {
        let ts = &drf.trailing_slash;
        let mut push =
            |path: String, method: &str, file: usize, line: u32, handler: &str, auth: &[String]| {
                out.push(DeclaredRoute {
                    method: method.to_string(),
                    path: template(&format!("/{}", path.trim_start_matches('/'))),
                    file: files[file].path.clone(),
                    line,
                    handler: Some(compact(handler)),
                    framework: Framework::Django,
                    auth: auth.to_vec(),
                });
            };
        if drf.root_view {
            push(
                prefix.to_string(),
                "GET",
                drf.file,
                drf.line,
                "api-root",
                &[],
            );
        }
        for reg in &drf.registrations {
            let p = reg.prefix.trim_matches('/');
            let list = if p.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}{p}{ts}")
            };
            let detail_base = if p.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}{p}/")
            };
            let Some(class) = self.class(&reg.viewset, &reg.name) else {
                push(list, "*", reg.file, reg.line, &reg.name, &[]);
                push(
                    format!("{detail_base}{{pk}}{ts}"),
                    "*",
                    reg.file,
                    reg.line,
                    &reg.name,
                    &[],
                );
                continue;
            };
            let (actions, extra, lookup, auth) = self.viewset(class);
            let detail = format!("{detail_base}{{{lookup}}}{ts}");
            for (action, method, path) in [
                ("list", "GET", &list),
                ("create", "POST", &list),
                ("retrieve", "GET", &detail),
                ("update", "PUT", &detail),
                ("partial_update", "PATCH", &detail),
                ("destroy", "DELETE", &detail),
            ] {
                if actions.contains(action) {
                    push(
                        path.clone(),
                        method,
                        reg.file,
                        reg.line,
                        &format!("{}.{action}", reg.name),
                        &auth,
                    );
                }
            }
            for a in extra {
                let path = if a.detail {
                    format!("{detail_base}{{{lookup}}}/{}{ts}", a.url_path)
                } else {
                    format!("{detail_base}{}{ts}", a.url_path)
                };
                for m in &a.methods {
                    push(
                        path.clone(),
                        m,
                        reg.file,
                        reg.line,
                        &format!("{}.{}", reg.name, a.name),
                        &auth,
                    );
                }
            }
        }
    }
}

/// The methods of Django's and DRF's generic views, by base class name.
fn generic_methods(base: &str) -> &'static [&'static str] {
    match base {
        "ListAPIView" | "RetrieveAPIView" | "TemplateView" | "ListView" | "DetailView" => &["GET"],
        "CreateAPIView" => &["POST"],
        "DestroyAPIView" => &["DELETE"],
        "UpdateAPIView" => &["PATCH", "PUT"],
        "ListCreateAPIView" => &["GET", "POST"],
        "RetrieveUpdateAPIView" => &["GET", "PATCH", "PUT"],
        "RetrieveDestroyAPIView" => &["DELETE", "GET"],
        "RetrieveUpdateDestroyAPIView" => &["DELETE", "GET", "PATCH", "PUT"],
        "FormView" | "CreateView" | "UpdateView" | "DeleteView" => &["GET", "POST"],
        _ => &[],
    }
}

/// The actions of DRF's viewsets and mixins, by base class name.
fn viewset_actions(base: &str) -> &'static [&'static str] {
    match base {
        "ModelViewSet" => &[
            "list",
            "create",
            "retrieve",
            "update",
            "partial_update",
            "destroy",
        ],
        "ReadOnlyModelViewSet" => &["list", "retrieve"],
        "ListModelMixin" => &["list"],
        "CreateModelMixin" => &["create"],
        "RetrieveModelMixin" => &["retrieve"],
        "UpdateModelMixin" => &["update", "partial_update"],
        "DestroyModelMixin" => &["destroy"],
        _ => &[],
    }
}

/// A member of a value.
fn member(v: &Val, name: &str) -> Val {
    match v {
        Val::Mod(m) => Val::Mod(format!("{m}.{name}")),
        Val::Package(p) => Val::Member(p.clone(), name.to_string()),
        Val::Member(p, m) => Val::Member(format!("{p}.{m}"), name.to_string()),
        _ => Val::Unknown,
    }
}

/// A call's positional arguments.
fn positional(call: Node<'_>) -> Vec<Node<'_>> {
    call.child_by_field_name("arguments")
        .filter(|a| a.kind() == "argument_list")
        .map(|a| {
            named_children(a)
                .into_iter()
                .filter(|n| {
                    !matches!(
                        n.kind(),
                        "keyword_argument" | "comment" | "dictionary_splat" | "list_splat"
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A call's arguments (positional and splats).
fn arguments(call: Node<'_>) -> Vec<Node<'_>> {
    call.child_by_field_name("arguments")
        .map(named_children)
        .unwrap_or_default()
}

/// A call's keyword argument.
fn keyword<'t>(call: Node<'t>, src: &str, name: &str) -> Option<Node<'t>> {
    let args = call.child_by_field_name("arguments")?;
    named_children(args).into_iter().find_map(|a| {
        (a.kind() == "keyword_argument"
            && a.child_by_field_name("name")
                .is_some_and(|n| text(n, src) == name))
        .then(|| a.child_by_field_name("value"))
        .flatten()
    })
}

/// A string literal's value (no interpolation; escapes kept as written, as a regular
/// expression wants them); adjacent literals are joined.
fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    match node.kind() {
        "string" => {
            let mut out = String::new();
            for part in named_children(node) {
                match part.kind() {
                    "string_content" => out.push_str(text(part, src)),
                    "interpolation" => return None,
                    _ => {}
                }
            }
            Some(out)
        }
        "concatenated_string" => {
            let mut out = String::new();
            for part in named_children(node) {
                out.push_str(&string_value(part, src)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// A list or tuple of strings, upper-cased (`methods=["GET", "POST"]`).
fn string_list(node: Node<'_>, src: &str) -> Vec<String> {
    match node.kind() {
        "list" | "tuple" | "set" => named_children(node)
            .into_iter()
            .filter_map(|e| string_value(e, src))
            .map(|s| s.to_ascii_uppercase())
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()))
            .collect(),
        _ => string_value(node, src)
            .map(|s| vec![s.to_ascii_uppercase()])
            .unwrap_or_default(),
    }
}

/// The names in a `permission_classes` list, `AllowAny` left out.
fn permission_names(node: Node<'_>, src: &str) -> Vec<String> {
    if !matches!(node.kind(), "list" | "tuple") {
        return Vec::new();
    }
    named_children(node)
        .into_iter()
        .filter(|e| matches!(e.kind(), "identifier" | "attribute" | "binary_operator"))
        .map(|e| compact(text(e, src)))
        .filter(|n| !n.ends_with("AllowAny"))
        .collect()
}

/// A decorator's name as written, without its arguments (`jwt_required` of
/// `@jwt_required()`, `auth.login_required`).
fn decorator_name(node: Node<'_>, src: &str) -> String {
    let mut n = node;
    for _ in 0..4 {
        if n.kind() == "call"
            && let Some(f) = n.child_by_field_name("function")
        {
            n = f;
        } else {
            break;
        }
    }
    compact(text(n, src))
}

fn callee_name(func: Node<'_>, src: &str) -> String {
    compact(text(func, src))
}

/// Whether a decorator reads as authentication (`login_required`, `jwt_required`,
/// `permission_required`, `user_passes_test`, `staff_member_required`).
fn is_auth_decorator(name: &str) -> bool {
    let short = name.rsplit('.').next().unwrap_or(name);
    is_auth_name(name) || matches!(short, "user_passes_test" | "staff_member_required")
}

/// The authentication among a `dependencies=[Depends(x), Security(y)]` list.
fn dependency_auth(node: Node<'_>, src: &str) -> Vec<String> {
    if !matches!(node.kind(), "list" | "tuple") {
        return Vec::new();
    }
    named_children(node)
        .into_iter()
        .filter_map(|d| depends_auth(d, src))
        .collect()
}

/// `Depends(get_current_user)` or `Security(...)`, as written, when it reads as
/// authentication (a `Security` always does; `Depends(..., required=False)` and optional
/// dependencies do not).
fn depends_auth(call: Node<'_>, src: &str) -> Option<String> {
    if call.kind() != "call" {
        return None;
    }
    let f = call.child_by_field_name("function")?;
    let name = text(f, src);
    let short = name.rsplit('.').next().unwrap_or(name);
    if !matches!(short, "Depends" | "Security") {
        return None;
    }
    let written = compact(text(call, src));
    if written.contains("required=False") || written.to_ascii_lowercase().contains("optional") {
        return None;
    }
    let inner = positional(call)
        .first()
        .map(|a| decorator_name(*a, src))
        .unwrap_or_default();
    (short == "Security" || is_auth_name(&inner)).then_some(written)
}

/// The authentication among a FastAPI function's parameters: defaults
/// `= Depends(get_current_user)` and `Annotated[User, Depends(...)]` annotations.
fn param_auth(params: Node<'_>, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in named_children(params) {
        let mut todo: Vec<(Node<'_>, usize)> = Vec::new();
        if let Some(v) = p.child_by_field_name("value") {
            todo.push((v, 0));
        }
        if let Some(t) = p.child_by_field_name("type") {
            todo.push((t, 0));
        }
        while let Some((n, depth)) = todo.pop() {
            if depth > 8 {
                continue;
            }
            if let Some(a) = depends_auth(n, src) {
                out.push(a);
                continue;
            }
            for c in named_children(n) {
                todo.push((c, depth + 1));
            }
        }
    }
    out
}

/// A Django regular-expression route as a path route: `^users/(?P<pk>[0-9]+)/$` →
/// `users/{pk}/`. Anchors go; named groups become parameters; escaped punctuation is
/// literal; any other construct (alternation, quantifiers, classes outside a group) makes
/// the route unknown (`None`).
fn regex_route(raw: &str) -> Option<String> {
    let s = raw.strip_prefix('^').unwrap_or(raw);
    let s = s.strip_suffix('$').unwrap_or(s);
    let s = s
        .strip_suffix("/?")
        .map_or(s.to_string(), |t| format!("{t}/"));
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = *chars.get(i + 1)?;
                if c.is_alphanumeric() {
                    return None;
                }
                out.push(c);
                i += 2;
            }
            '(' => {
                // `(?P<name>...)`: find the group's end, nesting counted.
                let rest: String = chars[i..].iter().take(4).collect();
                if rest != "(?P<" {
                    return None;
                }
                let close = chars[i + 4..].iter().position(|c| *c == '>')? + i + 4;
                let name: String = chars[i + 4..close].iter().collect();
                let mut depth = 1;
                let mut j = close + 1;
                while j < chars.len() && depth > 0 {
                    match chars[j] {
                        '\\' => j += 1,
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth != 0 {
                    return None;
                }
                out.push('{');
                out.push_str(&name);
                out.push('}');
                i = j;
            }
            '.' | '*' | '+' | '?' | '[' | ']' | '|' | '{' | '}' | '^' | '$' => return None,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

fn dedup_keep_order(v: &mut Vec<String>) {
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

/// Text with whitespace removed, cut to a sane length.
fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn routes(list: &[(&str, &str)]) -> Vec<(String, String, String)> {
        let files: Vec<SourceFile> = list
            .iter()
            .map(|(p, t)| SourceFile {
                path: PathBuf::from(p),
                text: t.to_string(),
            })
            .collect();
        let mut v: Vec<_> = scan(&files)
            .into_iter()
            .map(|r| (r.method, r.path, r.auth.join(",")))
            .collect();
        v.sort();
        v
    }

    fn want(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = list
            .iter()
            .map(|(m, p, a)| (m.to_string(), p.to_string(), a.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn regular_expression_routes_become_path_routes() {
        assert_eq!(
            regex_route(r"^users/(?P<pk>[0-9]+)/$").as_deref(),
            Some("users/{pk}/")
        );
        assert_eq!(
            regex_route(r"^a/(?P<slug>[-\w]+)/b\.json$").as_deref(),
            Some("a/{slug}/b.json")
        );
        assert_eq!(regex_route(r"^api/").as_deref(), Some("api/"));
        assert_eq!(regex_route(r"^x/?$").as_deref(), Some("x/"));
        assert_eq!(regex_route(r"^(a|b)/$"), None);
        assert_eq!(regex_route(r"^a+/$"), None);
        assert_eq!(regex_route(r"^a/\d+/$"), None);
        assert_eq!(regex_route(r"^(?P<x>[0-9]+"), None);
    }

    #[test]
    fn module_names_follow_packages() {
        assert_eq!(
            module_name(Path::new("app/api/routes.py")),
            "app.api.routes"
        );
        assert_eq!(module_name(Path::new("app/api/__init__.py")), "app.api");
        assert_eq!(module_name(Path::new("manage.py")), "manage");
    }

    #[test]
    fn flask_replaces_a_blueprint_prefix_fastapi_adds_to_it() {
        let got = routes(&[
            (
                "flaskapp/__init__.py",
                "from flask import Flask, Blueprint\napp = Flask(__name__)\nbp = Blueprint('b', __name__, url_prefix='/own')\n@bp.route('/x')\ndef x(): ...\napp.register_blueprint(bp, url_prefix='/given')\n",
            ),
            (
                "fast/main.py",
                "from fastapi import FastAPI, APIRouter\napp = FastAPI()\nr = APIRouter(prefix='/own')\n@r.get('/x')\ndef x(): ...\napp.include_router(r, prefix='/given')\n",
            ),
        ]);
        assert_eq!(
            got,
            want(&[("GET", "/given/own/x", ""), ("GET", "/given/x", "")])
        );
    }

    #[test]
    fn a_blueprint_imported_from_the_package_collects_the_routes_of_its_users() {
        let got = routes(&[
            (
                "shop/__init__.py",
                "from flask import Flask, Blueprint\nbp = Blueprint('main', __name__)\ndef create_app():\n    app = Flask(__name__)\n    from .views import bp as main_bp\n    app.register_blueprint(main_bp, url_prefix='/main')\n    return app\n",
            ),
            (
                "shop/views.py",
                "from . import bp\nfrom flask_login import login_required\n@bp.route('/orders', methods=['POST'])\n@login_required\ndef orders(): ...\n",
            ),
        ]);
        assert_eq!(got, want(&[("POST", "/main/orders", "login_required")]));
    }

    #[test]
    fn a_wrapped_url_list_keeps_its_patterns_and_unknown_views_answer_every_method() {
        let got = routes(&[(
            "site/urls.py",
            "from django.urls import path\nfrom debug import wrap\nfrom . import views\nurlpatterns = [path('a/', views.a)]\nurlpatterns = wrap(urlpatterns)\n",
        )]);
        assert_eq!(got, want(&[("*", "/a/", "")]));
    }

    #[test]
    fn drf_routers_with_an_empty_prefix_and_unknown_viewsets() {
        let got = routes(&[
            (
                "api/urls.py",
                "from rest_framework import routers\nfrom .views import ItemViewSet\nfrom other import Unknown\nrouter = routers.SimpleRouter()\nrouter.register(r'', ItemViewSet, basename='item')\nrouter.register(r'things', Unknown)\nurlpatterns = router.urls\n",
            ),
            (
                "api/views.py",
                "from rest_framework import viewsets\nclass ItemViewSet(viewsets.ReadOnlyModelViewSet):\n    lookup_url_kwarg = 'item_id'\n    lookup_field = 'slug'\n",
            ),
        ]);
        assert_eq!(
            got,
            want(&[
                ("GET", "/", ""),
                ("GET", "/{item_id}/", ""),
                ("*", "/things/", ""),
                ("*", "/things/{pk}/", ""),
            ])
        );
    }

    #[test]
    fn http_clients_and_computed_paths_declare_nothing() {
        let got = routes(&[(
            "client.py",
            "import requests\nfrom fastapi import APIRouter\nrouter = APIRouter()\nrequests.get('/api/users')\nPATH = '/ok'\n@router.get(PATH)\ndef ok(): ...\n@router.get(f'/{name}')\ndef computed(): ...\n@router.get(make_path())\ndef dynamic(): ...\n",
        )]);
        assert_eq!(got, want(&[("GET", "/ok", "")]));
    }
}
