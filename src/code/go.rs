//! Go routes: `net/http` (`http.HandleFunc`, `mux.Handle`, Go 1.22 `"GET /items/{id}"`
//! patterns, `http.StripPrefix`), gin, chi and echo, with the router nesting resolved.
//!
//! The scanner follows router values through the code the way a reader does, without
//! running it. A *router value* is what a constructor returns (`gin.Default()`,
//! `echo.New()`, `chi.NewRouter()`, `http.NewServeMux()`), a group of one (`r.Group("/api")`,
//! chi's `r.Route("/api", func(r chi.Router) {...})` and `r.With(mw)`), a function
//! parameter whose type is a router type, or a receiver the code calls routing methods on
//! with literal paths. Values flow through assignments, through arguments into functions
//! of any scanned file (`users.Register(v1.Group("/users"))`, `h.Register(v1)`), and out of
//! functions that return them (`r.Mount("/admin", adminRouter())`). Every router value
//! belongs to an *origin* (one constructor call); a mount (`Mount`, `Handle` of a router,
//! `http.StripPrefix`) hangs an origin under a prefix of another, so a sub-router's routes
//! get the prefix even when the mount comes after them.
//!
//! Each function is walked once as a root; a function that some walk entered with a router
//! value (an argument or a mounted return) is reported only through that walk, so its
//! routes carry the caller's prefix. Walks are bounded: nesting depth, call depth, and a
//! budget of nodes for nested walks. Middleware passed to a group, `Use`, `With` or a route
//! is recorded in `auth` when its name says it is about authentication.

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Tree};

use super::ts_util::{as_written, line, looks_like_auth, named_children, parse, text, unquote};
use super::{DeclaredRoute, Framework, SourceFile, join_route, template};

/// The extensions of the files this scanner reads.
pub const EXTENSIONS: &[&str] = &["go"];

/// Syntax nesting the walk descends at most (deeper code is skipped, not crashed on).
const MAX_DEPTH: usize = 96;
/// Calls into other functions followed at most, one inside another.
const MAX_CALL_DEPTH: usize = 8;
/// Nodes visited by walks entered from calls, per scan, on top of the root walks.
const NESTED_BUDGET: usize = 2_000_000;
/// Functions of one name considered when resolving a call (more is no longer resolvable,
/// and would make resolution quadratic).
const MAX_CANDIDATES: usize = 64;
/// Router variables one walk keeps (closures copy them).
const MAX_VARS: usize = 256;

/// The Go routes declared in `files` (`.go` files; `_test.go` files are skipped).
pub fn scan(files: &[SourceFile]) -> Vec<DeclaredRoute> {
    let language: tree_sitter::Language = tree_sitter_go::LANGUAGE.into();
    let parsed: Vec<(&SourceFile, Tree)> = files
        .iter()
        .filter(|f| {
            let name = f.path.to_string_lossy();
            name.ends_with(".go") && !name.ends_with("_test.go")
        })
        .filter_map(|f| parse(&language, &f.text).map(|t| (f, t)))
        .collect();
    let mut scanner = Scanner::new(&parsed);
    scanner.run();
    scanner.finish()
}

/// What a file imports that the scanner cares about.
#[derive(Default)]
struct FileInfo {
    package: String,
    /// The file's directory: a package is a directory (two `main` packages in two
    /// directories are two programs).
    dir: String,
    /// Import alias (or last path segment) → framework, for router packages.
    frameworks: HashMap<String, Framework>,
    /// Every import alias (so `users.Register` is known to be a package, not a value).
    aliases: HashSet<String>,
    /// The framework of unknown receivers in this file: the one router package it imports.
    default: Option<Framework>,
}

/// A function or method declaration.
struct Func<'t> {
    file: usize,
    node: Node<'t>,
    name: String,
    receiver: Option<String>,
    params: Vec<(String, String)>,
    returns_router: bool,
}

/// How a call names the function it calls.
enum Callee<'s> {
    /// `f(x)`: a function of the same package.
    Plain,
    /// `pkg.F(x)`: a function of the package imported as `pkg`.
    Package(&'s str),
    /// `v.M(x)`: a method, of the given receiver type when the receiver is a literal.
    Method(Option<&'s str>),
}

/// A router value during the walk.
#[derive(Clone, Debug)]
struct Ctx {
    origin: usize,
    prefix: String,
    auth: Vec<String>,
    framework: Option<Framework>,
}

/// A route found, its path relative to its origin.
struct RawRoute {
    root: usize,
    origin: usize,
    method: String,
    path: String,
    file: usize,
    line: u32,
    handler: Option<String>,
    framework: Framework,
    auth: Vec<String>,
}

struct Scanner<'a, 't> {
    files: &'a [(&'a SourceFile, Tree)],
    infos: Vec<FileInfo>,
    funcs: Vec<Func<'t>>,
    by_name: HashMap<String, Vec<usize>>,
    constants: HashMap<String, Option<String>>,
    /// Each origin's mount: the parent origin and the prefix under it.
    origins: Vec<Option<(usize, String)>>,
    /// The origin of `http.DefaultServeMux`.
    default_mux: usize,
    routes: Vec<RawRoute>,
    entered: HashSet<usize>,
    root: usize,
    call_stack: Vec<usize>,
    nested_nodes: usize,
}

/// One function walk's state: its variables and the router value it returns.
struct Frame {
    file: usize,
    env: HashMap<String, Ctx>,
    /// Parameters whose declared type is not a router (`c *gin.Context`): never taken for
    /// a router however they are called.
    not_routers: HashSet<String>,
    returned: Option<Ctx>,
}

fn router_type(ty: &str) -> Option<Framework> {
    let ty = ty.trim_start_matches('*');
    Some(match ty {
        "gin.Engine" | "gin.RouterGroup" | "gin.IRouter" | "gin.IRoutes" => Framework::Gin,
        "echo.Echo" | "echo.Group" => Framework::Echo,
        "chi.Router" | "chi.Mux" | "chi.Routes" => Framework::Chi,
        "http.ServeMux" => Framework::GoNetHttp,
        _ => return None,
    })
}

fn string_kind(kind: &str) -> bool {
    matches!(kind, "interpreted_string_literal" | "raw_string_literal")
}

impl<'a, 't> Scanner<'a, 't>
where
    'a: 't,
{
    fn new(files: &'a [(&'a SourceFile, Tree)]) -> Self {
        let mut s = Scanner {
            files,
            infos: Vec::new(),
            funcs: Vec::new(),
            by_name: HashMap::new(),
            constants: HashMap::new(),
            origins: Vec::new(),
            default_mux: 0,
            routes: Vec::new(),
            entered: HashSet::new(),
            root: 0,
            call_stack: Vec::new(),
            nested_nodes: 0,
        };
        s.default_mux = s.new_origin();
        for (i, (file, tree)) in files.iter().enumerate() {
            s.index_file(i, &file.text, tree.root_node());
        }
        s
    }

    fn new_origin(&mut self) -> usize {
        self.origins.push(None);
        self.origins.len() - 1
    }

    fn index_file(&mut self, file: usize, src: &str, root: Node<'t>) {
        let mut info = FileInfo {
            dir: self.files[file]
                .0
                .path
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..FileInfo::default()
        };
        for top in named_children(root) {
            match top.kind() {
                "package_clause" => {
                    if let Some(n) = top.named_child(0) {
                        info.package = text(n, src).to_string();
                    }
                }
                "import_declaration" => {
                    let mut specs = Vec::new();
                    for c in named_children(top) {
                        match c.kind() {
                            "import_spec" => specs.push(c),
                            "import_spec_list" => specs.extend(
                                named_children(c)
                                    .into_iter()
                                    .filter(|s| s.kind() == "import_spec"),
                            ),
                            _ => {}
                        }
                    }
                    for spec in specs {
                        let Some(path) = spec
                            .child_by_field_name("path")
                            .and_then(|p| unquote(text(p, src)))
                        else {
                            continue;
                        };
                        let mut segments = path.rsplit('/');
                        let mut last = segments.next().unwrap_or("");
                        if last.len() > 1
                            && last.starts_with('v')
                            && last[1..].bytes().all(|b| b.is_ascii_digit())
                        {
                            last = segments.next().unwrap_or("");
                        }
                        let alias = spec
                            .child_by_field_name("name")
                            .map(|n| text(n, src).to_string())
                            .unwrap_or_else(|| last.to_string());
                        let fw = if path == "net/http" {
                            Some(Framework::GoNetHttp)
                        } else if path.starts_with("github.com/gin-gonic/gin") {
                            Some(Framework::Gin)
                        } else if path.starts_with("github.com/labstack/echo") {
                            Some(Framework::Echo)
                        } else if path.starts_with("github.com/go-chi/chi") {
                            Some(Framework::Chi)
                        } else {
                            None
                        };
                        if let Some(fw) = fw {
                            info.frameworks.insert(alias.clone(), fw);
                        }
                        info.aliases.insert(alias);
                    }
                }
                "function_declaration" | "method_declaration" => self.index_func(file, src, top),
                "const_declaration" => {
                    for spec in named_children(top) {
                        if spec.kind() != "const_spec" {
                            continue;
                        }
                        let names: Vec<_> = named_children(spec)
                            .into_iter()
                            .filter(|n| n.kind() == "identifier")
                            .collect();
                        let values: Vec<_> = spec
                            .child_by_field_name("value")
                            .map(named_children)
                            .unwrap_or_default();
                        if names.len() != values.len() {
                            continue;
                        }
                        for (n, v) in names.into_iter().zip(values) {
                            if string_kind(v.kind()) {
                                let value = unquote(text(v, src));
                                let key = text(n, src).to_string();
                                let entry = self.constants.entry(key).or_insert(value.clone());
                                if *entry != value {
                                    *entry = None;
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // The framework of receivers nothing else identifies: the router package imported
        // (gin, echo or chi before net/http, which router packages' users import too).
        let fws: HashSet<Framework> = info.frameworks.values().copied().collect();
        info.default = [Framework::Gin, Framework::Echo, Framework::Chi]
            .into_iter()
            .find(|f| fws.contains(f))
            .or_else(|| {
                fws.contains(&Framework::GoNetHttp)
                    .then_some(Framework::GoNetHttp)
            });
        self.infos.push(info);
    }

    fn index_func(&mut self, file: usize, src: &str, node: Node<'t>) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let receiver = node.child_by_field_name("receiver").and_then(|r| {
            named_children(r)
                .into_iter()
                .find(|p| p.kind() == "parameter_declaration")
                .and_then(|p| p.child_by_field_name("type"))
                .map(|t| {
                    let t = text(t, src).trim_start_matches('*');
                    t.split('[').next().unwrap_or(t).to_string()
                })
        });
        let mut params = Vec::new();
        if let Some(list) = node.child_by_field_name("parameters") {
            for p in named_children(list) {
                if !matches!(
                    p.kind(),
                    "parameter_declaration" | "variadic_parameter_declaration"
                ) {
                    continue;
                }
                let ty = p
                    .child_by_field_name("type")
                    .map(|t| text(t, src).to_string())
                    .unwrap_or_default();
                let names: Vec<_> = named_children(p)
                    .into_iter()
                    .filter(|n| n.kind() == "identifier")
                    .collect();
                if names.is_empty() {
                    params.push((String::new(), ty));
                } else {
                    for n in names {
                        params.push((text(n, src).to_string(), ty.clone()));
                    }
                }
            }
        }
        let returns_router = node.child_by_field_name("result").is_some_and(|r| {
            let t = text(r, src);
            router_type(t).is_some() || t.contains("http.Handler")
        });
        let name = text(name, src).to_string();
        self.by_name
            .entry(name.clone())
            .or_default()
            .push(self.funcs.len());
        self.funcs.push(Func {
            file,
            node,
            name,
            receiver,
            params,
            returns_router,
        });
    }

    fn src(&self, file: usize) -> &'a str {
        &self.files[file].0.text
    }

    fn run(&mut self) {
        for id in 0..self.funcs.len() {
            self.root = id;
            self.call_stack.clear();
            self.walk_func(id, Vec::new(), 0);
        }
    }

    fn finish(self) -> Vec<DeclaredRoute> {
        let mut out = Vec::new();
        for r in self.routes {
            if self.entered.contains(&r.root) {
                continue;
            }
            // The mount chain, bounded (a cycle of mounts cannot loop).
            let mut path = r.path;
            let mut origin = r.origin;
            for _ in 0..32 {
                match &self.origins[origin] {
                    Some((parent, prefix)) => {
                        path = join_route(prefix, &path);
                        origin = *parent;
                    }
                    None => break,
                }
            }
            out.push(DeclaredRoute {
                method: r.method,
                path: template(&path),
                file: self.files[r.file].0.path.clone(),
                line: r.line,
                handler: r.handler,
                framework: r.framework,
                auth: r.auth,
            });
        }
        out
    }

    /// Walks a function with router values bound to its parameters (by position); returns
    /// the router value it returns.
    fn walk_func(&mut self, id: usize, args: Vec<Option<Ctx>>, depth: usize) -> Option<Ctx> {
        let func = &self.funcs[id];
        let (file, node) = (func.file, func.node);
        let mut frame = Frame {
            file,
            env: HashMap::new(),
            not_routers: HashSet::new(),
            returned: None,
        };
        let params = func.params.clone();
        for (i, (name, ty)) in params.iter().enumerate() {
            if name.is_empty() || name == "_" {
                continue;
            }
            let ctx = match args.get(i).cloned().flatten() {
                Some(c) => Some(c),
                None => router_type(ty).map(|fw| Ctx {
                    origin: self.new_origin(),
                    prefix: String::new(),
                    auth: Vec::new(),
                    framework: Some(fw),
                }),
            };
            match ctx {
                Some(c) => {
                    frame.env.insert(name.clone(), c);
                }
                None if frame.not_routers.len() < MAX_VARS => {
                    frame.not_routers.insert(name.clone());
                }
                None => {}
            }
        }
        self.call_stack.push(id);
        if let Some(body) = node.child_by_field_name("body") {
            self.walk(body, &mut frame, depth + 1);
        }
        self.call_stack.pop();
        frame.returned
    }

    fn count(&mut self) -> bool {
        if self.call_stack.len() > 1 {
            self.nested_nodes += 1;
            return self.nested_nodes <= NESTED_BUDGET;
        }
        true
    }

    /// Walks statements (and expressions in statement position).
    fn walk(&mut self, node: Node<'t>, frame: &mut Frame, depth: usize) {
        if depth > MAX_DEPTH || !self.count() {
            return;
        }
        match node.kind() {
            "short_var_declaration" | "assignment_statement" => {
                let lefts = node
                    .child_by_field_name("left")
                    .map(named_children)
                    .unwrap_or_default();
                let rights = node
                    .child_by_field_name("right")
                    .map(named_children)
                    .unwrap_or_default();
                self.bind(&lefts, &rights, frame, depth);
            }
            "var_spec" => {
                let names: Vec<_> = named_children(node)
                    .into_iter()
                    .filter(|n| n.kind() == "identifier")
                    .collect();
                let values = node
                    .child_by_field_name("value")
                    .map(named_children)
                    .unwrap_or_default();
                self.bind(&names, &values, frame, depth);
            }
            "return_statement" => {
                let values: Vec<_> = named_children(node)
                    .into_iter()
                    .flat_map(|n| {
                        if n.kind() == "expression_list" {
                            named_children(n)
                        } else {
                            vec![n]
                        }
                    })
                    .collect();
                for (i, v) in values.into_iter().enumerate() {
                    let ctx = self.eval(v, frame, depth + 1);
                    if i == 0 && frame.returned.is_none() {
                        frame.returned = ctx;
                    }
                }
            }
            "call_expression" | "func_literal" | "selector_expression" => {
                self.eval(node, frame, depth + 1);
            }
            _ => {
                for child in named_children(node) {
                    self.walk(child, frame, depth + 1);
                }
            }
        }
    }

    fn bind(&mut self, lefts: &[Node<'t>], rights: &[Node<'t>], frame: &mut Frame, depth: usize) {
        let src = self.src(frame.file);
        for (i, r) in rights.iter().enumerate() {
            let ctx = self.eval(*r, frame, depth + 1);
            // `a, b := x, y` binds pairwise; `r, err := f()` binds the first.
            let target = if lefts.len() == rights.len() {
                lefts.get(i)
            } else if i == 0 {
                lefts.first()
            } else {
                None
            };
            if let Some(name) = target.and_then(|l| var_key(*l, src)) {
                match ctx {
                    Some(c) if frame.env.len() < MAX_VARS || frame.env.contains_key(&name) => {
                        frame.env.insert(name, c);
                    }
                    Some(_) => {}
                    None => {
                        frame.env.remove(&name);
                    }
                }
            }
        }
    }

    /// A string argument's value: a literal, a constant, or a `+` of those.
    fn string(&self, node: Node<'_>, file: usize) -> Option<String> {
        let src = self.src(file);
        let mut out = String::new();
        let mut stack = vec![node];
        let mut steps = 0;
        while let Some(n) = stack.pop() {
            steps += 1;
            if steps > 64 {
                return None;
            }
            match n.kind() {
                k if string_kind(k) => out.push_str(&unquote(text(n, src))?),
                "identifier" => out.push_str(self.constants.get(text(n, src))?.as_ref()?),
                "parenthesized_expression" => stack.push(n.named_child(0)?),
                "binary_expression" => {
                    if text(n.child_by_field_name("operator")?, src) != "+" {
                        return None;
                    }
                    stack.push(n.child_by_field_name("right")?);
                    stack.push(n.child_by_field_name("left")?);
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// Evaluates an expression for its effects (routes, mounts, walks of closures and of
    /// called functions) and returns the router value it denotes, if any.
    fn eval(&mut self, node: Node<'t>, frame: &mut Frame, depth: usize) -> Option<Ctx> {
        if depth > MAX_DEPTH || !self.count() {
            return None;
        }
        let src = self.src(frame.file);
        match node.kind() {
            "identifier" => frame.env.get(text(node, src)).cloned(),
            "selector_expression" if var_key(node, src).is_some() => {
                var_key(node, src).and_then(|k| frame.env.get(&k).cloned())
            }
            "parenthesized_expression" => {
                let inner = node.named_child(0)?;
                self.eval(inner, frame, depth + 1)
            }
            "unary_expression" => {
                let inner = node.child_by_field_name("operand")?;
                self.eval(inner, frame, depth + 1)
            }
            "func_literal" => {
                if let Some(body) = node.child_by_field_name("body") {
                    let (env, not_routers) = self.closure_env(node, frame);
                    let mut inner = Frame {
                        file: frame.file,
                        env,
                        not_routers,
                        returned: None,
                    };
                    self.walk(body, &mut inner, depth + 1);
                }
                None
            }
            "call_expression" => self.eval_call(node, frame, depth),
            _ => {
                for child in named_children(node) {
                    self.walk(child, frame, depth + 1);
                }
                None
            }
        }
    }

    /// The variables a closure sees: the enclosing ones, less those its parameters shadow
    /// (`func(w http.ResponseWriter, r *http.Request)` inside a function where `r` is the
    /// router), plus its router-typed parameters as routers of their own.
    fn closure_env(
        &mut self,
        f: Node<'_>,
        frame: &Frame,
    ) -> (HashMap<String, Ctx>, HashSet<String>) {
        let src = self.src(frame.file);
        let mut env = frame.env.clone();
        let mut not_routers = frame.not_routers.clone();
        if let Some(list) = f.child_by_field_name("parameters") {
            for p in named_children(list) {
                let ty = p
                    .child_by_field_name("type")
                    .map(|t| text(t, src))
                    .unwrap_or("");
                for n in named_children(p) {
                    if n.kind() != "identifier" {
                        continue;
                    }
                    let name = text(n, src).to_string();
                    match router_type(ty) {
                        Some(fw) => {
                            let ctx = Ctx {
                                origin: self.new_origin(),
                                prefix: String::new(),
                                auth: Vec::new(),
                                framework: Some(fw),
                            };
                            not_routers.remove(&name);
                            env.insert(name, ctx);
                        }
                        None => {
                            env.remove(&name);
                            if not_routers.len() < MAX_VARS {
                                not_routers.insert(name);
                            }
                        }
                    }
                }
            }
        }
        (env, not_routers)
    }

    fn eval_args(&mut self, args: &[Node<'t>], frame: &mut Frame, depth: usize) {
        for a in args {
            self.eval(*a, frame, depth + 1);
        }
    }

    fn eval_call(&mut self, node: Node<'t>, frame: &mut Frame, depth: usize) -> Option<Ctx> {
        let src = self.src(frame.file);
        let function = node.child_by_field_name("function")?;
        let args: Vec<Node<'t>> = node
            .child_by_field_name("arguments")
            .map(named_children)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.kind() != "comment")
            .collect();
        match function.kind() {
            "selector_expression" => {
                let operand = function.child_by_field_name("operand")?;
                let field = text(function.child_by_field_name("field")?, src);
                // A package-qualified call: a framework function or another package's.
                if operand.kind() == "identifier" {
                    let pkg = text(operand, src);
                    if !frame.env.contains_key(pkg) {
                        if let Some(&fw) = self.infos[frame.file].frameworks.get(pkg) {
                            return self.framework_call(fw, field, &args, node, frame, depth);
                        }
                        if self.infos[frame.file].aliases.contains(pkg) {
                            return self.user_call(
                                Callee::Package(pkg),
                                field,
                                &args,
                                frame,
                                depth,
                            );
                        }
                    }
                }
                let recv = self.eval(operand, frame, depth + 1);
                self.method_call(recv, operand, field, &args, node, frame, depth)
            }
            "identifier" => {
                let name = text(function, src).to_string();
                self.user_call(Callee::Plain, &name, &args, frame, depth)
            }
            _ => {
                self.eval(function, frame, depth + 1);
                self.eval_args(&args, frame, depth);
                None
            }
        }
    }

    /// `gin.Default()`, `chi.NewRouter()`, `http.HandleFunc(...)`, `http.StripPrefix(...)`.
    fn framework_call(
        &mut self,
        fw: Framework,
        name: &str,
        args: &[Node<'t>],
        node: Node<'t>,
        frame: &mut Frame,
        depth: usize,
    ) -> Option<Ctx> {
        let constructor = matches!(
            (fw, name),
            (Framework::Gin, "Default" | "New")
                | (Framework::Echo, "New")
                | (Framework::Chi, "NewRouter" | "NewMux")
                | (Framework::GoNetHttp, "NewServeMux")
        );
        if constructor {
            self.eval_args(args, frame, depth);
            return Some(Ctx {
                origin: self.new_origin(),
                prefix: String::new(),
                auth: Vec::new(),
                framework: Some(fw),
            });
        }
        if fw == Framework::GoNetHttp && matches!(name, "Handle" | "HandleFunc") {
            let mux = Ctx {
                origin: self.default_mux,
                prefix: String::new(),
                auth: Vec::new(),
                framework: Some(Framework::GoNetHttp),
            };
            self.net_http_route(&mux, args, node, frame, depth);
            return None;
        }
        self.eval_args(args, frame, depth);
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn method_call(
        &mut self,
        recv: Option<Ctx>,
        operand: Node<'t>,
        name: &str,
        args: &[Node<'t>],
        node: Node<'t>,
        frame: &mut Frame,
        depth: usize,
    ) -> Option<Ctx> {
        let src = self.src(frame.file);
        let file_default = self.infos[frame.file].default;
        let routing = is_routing_method(name);
        // A receiver nothing identifies, called with a routing method and a literal path
        // (or a closure, for chi's `Group`), in a file that imports a router package.
        let recv = match recv {
            Some(r) => Some(r),
            // (Not in a file that knows only net/http: there an unknown receiver is as likely
            // another router package's, gorilla/mux's say, with other rules.)
            None if routing
                && file_default.is_some_and(|f| f != Framework::GoNetHttp)
                && var_key(operand, src).is_some()
                && !(operand.kind() == "identifier"
                    && frame.not_routers.contains(text(operand, src)))
                && args.first().is_some_and(|a| {
                    self.string(*a, frame.file)
                        .is_some_and(|p| p.is_empty() || p.starts_with('/'))
                        || (a.kind() == "func_literal" && name == "Group")
                        || matches!(
                            name,
                            "Use" | "With" | "Match" | "Handle" | "Add" | "Method" | "MethodFunc"
                        )
                }) =>
            {
                let ctx = Ctx {
                    origin: self.new_origin(),
                    prefix: String::new(),
                    auth: Vec::new(),
                    framework: None,
                };
                if let Some(key) = var_key(operand, src) {
                    frame.env.insert(key, ctx.clone());
                }
                Some(ctx)
            }
            None => None,
        };
        let Some(ctx) = recv else {
            // A method of something else: perhaps a scanned method taking a router.
            let receiver_type = (operand.kind() == "composite_literal")
                .then(|| operand.child_by_field_name("type"))
                .flatten()
                .map(|t| text(t, src).to_string());
            return self.user_call(
                Callee::Method(receiver_type.as_deref()),
                name,
                args,
                frame,
                depth,
            );
        };
        let fw = ctx.framework.or(file_default)?;
        let line_no = line(node);
        match (fw, name) {
            (Framework::Gin | Framework::Echo, "Group") => {
                let prefix = self.string(*args.first()?, frame.file)?;
                let mut out = ctx.clone();
                out.prefix = join_route(&ctx.prefix, &prefix);
                out.auth
                    .extend(self.auth_of(args.get(1..).unwrap_or(&[]), frame.file));
                out.framework = Some(fw);
                Some(out)
            }
            // Static files: gin serves GET and HEAD, echo GET.
            (Framework::Gin, "Static" | "StaticFS" | "StaticFile" | "StaticFileFS")
            | (Framework::Echo, "Static" | "File") => {
                let path = self.string(*args.first()?, frame.file)?;
                let path = if matches!(name, "Static" | "StaticFS") {
                    join_route(&path, "/*filepath")
                } else {
                    path
                };
                let methods: &[&str] = if fw == Framework::Gin {
                    &["GET", "HEAD"]
                } else {
                    &["GET"]
                };
                for m in methods {
                    self.push(&ctx, m, &path, None, fw, Vec::new(), frame.file, line_no);
                }
                None
            }
            (Framework::Gin | Framework::Echo | Framework::Chi, "Use") => {
                let added = self.auth_of(args, frame.file);
                if let Some(c) = var_key(operand, src).and_then(|k| frame.env.get_mut(&k)) {
                    c.auth.extend(added);
                }
                None
            }
            (Framework::Chi, "With") => {
                let mut out = ctx;
                out.auth.extend(self.auth_of(args, frame.file));
                out.framework = Some(fw);
                Some(out)
            }
            (Framework::Chi, "Route") => {
                let prefix = self.string(*args.first()?, frame.file)?;
                let mut sub = ctx.clone();
                sub.prefix = join_route(&ctx.prefix, &prefix);
                sub.framework = Some(fw);
                if let Some(f) = args.get(1) {
                    self.walk_closure(*f, sub, frame, depth);
                }
                Some(ctx)
            }
            (Framework::Chi, "Group") => {
                let mut sub = ctx.clone();
                sub.framework = Some(fw);
                if let Some(f) = args.first() {
                    self.walk_closure(*f, sub, frame, depth);
                }
                Some(ctx)
            }
            (Framework::Chi, "Mount") => {
                let prefix = self.string(*args.first()?, frame.file)?;
                let target = *args.get(1)?;
                match self.eval(target, frame, depth + 1) {
                    Some(sub) => self.mount(&ctx, &prefix, &sub),
                    None => self.push(
                        &ctx,
                        "*",
                        &join_route(&prefix, "/*"),
                        Some(text(target, src).to_string()),
                        Framework::Chi,
                        Vec::new(),
                        frame.file,
                        line_no,
                    ),
                }
                None
            }
            (Framework::GoNetHttp, "Handle" | "HandleFunc") => {
                self.net_http_route(&ctx, args, node, frame, depth);
                None
            }
            (Framework::Chi, m) => {
                let (method, rest) = match m {
                    "Handle" | "HandleFunc" => ("*".to_string(), args),
                    "Method" | "MethodFunc" => {
                        let method = self
                            .string(*args.first()?, frame.file)?
                            .to_ascii_uppercase();
                        (method, args.get(1..).unwrap_or(&[]))
                    }
                    _ => (chi_method(m)?.to_string(), args),
                };
                let path = self.string(*rest.first()?, frame.file)?;
                let handler = rest.get(1).copied();
                self.handler_effects(handler, frame, depth);
                self.push(
                    &ctx,
                    &method,
                    &path,
                    handler_name(handler, src),
                    fw,
                    Vec::new(),
                    frame.file,
                    line_no,
                );
                None
            }
            (Framework::Gin | Framework::Echo, m) => {
                let (methods, rest): (Vec<String>, &[Node<'t>]) = match m {
                    "Handle" | "Add" => (
                        vec![
                            self.string(*args.first()?, frame.file)?
                                .to_ascii_uppercase(),
                        ],
                        args.get(1..).unwrap_or(&[]),
                    ),
                    "Match" => {
                        let list = *args.first()?;
                        let body = list.child_by_field_name("body")?;
                        let mut ms = Vec::new();
                        for e in named_children(body) {
                            let v = e.named_child(0).unwrap_or(e);
                            ms.push(self.string(v, frame.file).or_else(|| {
                                // `http.MethodGet`, `echo.GET`.
                                let t = text(v, src).rsplit('.').next()?;
                                let t = t.strip_prefix("Method").unwrap_or(t);
                                Some(t.to_ascii_uppercase())
                            })?);
                        }
                        (ms, args.get(1..).unwrap_or(&[]))
                    }
                    "Any" => (vec!["*".to_string()], args),
                    _ => (vec![upper_method(m)?.to_string()], args),
                };
                let path = self.string(*rest.first()?, frame.file)?;
                let funcs = rest.get(1..).unwrap_or(&[]);
                // gin: middleware then the handler last; echo: the handler then middleware.
                let (handler, middleware) = if fw == Framework::Gin {
                    match funcs.split_last() {
                        Some((h, mw)) => (Some(*h), mw),
                        None => (None, funcs),
                    }
                } else {
                    match funcs.split_first() {
                        Some((h, mw)) => (Some(*h), mw),
                        None => (None, funcs),
                    }
                };
                self.handler_effects(handler, frame, depth);
                let auth = self.auth_of(middleware, frame.file);
                for method in methods {
                    self.push(
                        &ctx,
                        &method,
                        &path,
                        handler_name(handler, src),
                        fw,
                        auth.clone(),
                        frame.file,
                        line_no,
                    );
                }
                None
            }
            _ => {
                self.eval_args(args, frame, depth);
                None
            }
        }
    }

    /// `Handle(pattern, h)` / `HandleFunc(pattern, h)` on a `ServeMux`: Go 1.22 patterns
    /// (`"GET example.com/items/{id}"`), sub-muxes mounted with or without
    /// `http.StripPrefix`.
    fn net_http_route(
        &mut self,
        mux: &Ctx,
        args: &[Node<'t>],
        node: Node<'t>,
        frame: &mut Frame,
        depth: usize,
    ) {
        let src = self.src(frame.file);
        let Some(pattern) = args.first().and_then(|a| self.string(*a, frame.file)) else {
            self.eval_args(args, frame, depth);
            return;
        };
        let Some((method, path)) = split_pattern(&pattern) else {
            return;
        };
        let Some(&target) = args.get(1) else {
            return;
        };
        // `http.StripPrefix("/api", sub)`: the sub-mux sees paths without "/api".
        if let Some((strip, inner)) = self.strip_prefix(target, frame.file) {
            if let Some(sub) = self.eval(inner, frame, depth + 1) {
                self.mount(mux, &strip, &sub);
                return;
            }
            self.push(
                mux,
                &method,
                &path,
                handler_name(Some(inner), src),
                Framework::GoNetHttp,
                Vec::new(),
                frame.file,
                line(node),
            );
            return;
        }
        if let Some(sub) = self.eval(target, frame, depth + 1) {
            // A sub-mux without StripPrefix matches the full paths itself.
            self.mount(mux, "", &sub);
            return;
        }
        let auth = self.wrapping_auth(target, frame.file);
        self.push(
            mux,
            &method,
            &path,
            handler_name(Some(target), src),
            Framework::GoNetHttp,
            auth,
            frame.file,
            line(node),
        );
    }

    /// `http.StripPrefix(prefix, inner)` → the prefix and the inner handler.
    fn strip_prefix(&self, node: Node<'t>, file: usize) -> Option<(String, Node<'t>)> {
        let src = self.src(file);
        if node.kind() != "call_expression" {
            return None;
        }
        let f = node.child_by_field_name("function")?;
        if f.kind() != "selector_expression" {
            return None;
        }
        let pkg = text(f.child_by_field_name("operand")?, src);
        let name = text(f.child_by_field_name("field")?, src);
        if name != "StripPrefix"
            || self.infos[file].frameworks.get(pkg) != Some(&Framework::GoNetHttp)
        {
            return None;
        }
        let args = named_children(node.child_by_field_name("arguments")?);
        Some((self.string(*args.first()?, file)?, *args.get(1)?))
    }

    /// A handler wrapped in an auth-named middleware (`requireAuth(h)`): the wrapper.
    fn wrapping_auth(&self, node: Node<'_>, file: usize) -> Vec<String> {
        if node.kind() != "call_expression" {
            return Vec::new();
        }
        let Some(f) = node.child_by_field_name("function") else {
            return Vec::new();
        };
        let name = text(f, self.src(file));
        if looks_like_auth(name) {
            vec![name.to_string()]
        } else {
            Vec::new()
        }
    }

    fn mount(&mut self, parent: &Ctx, prefix: &str, sub: &Ctx) {
        if sub.origin == parent.origin || self.origins[sub.origin].is_some() {
            return;
        }
        // No cycles: the parent must not already hang under the sub-router.
        let mut o = parent.origin;
        for _ in 0..32 {
            match &self.origins[o] {
                Some((p, _)) if *p == sub.origin => return,
                Some((p, _)) => o = *p,
                None => break,
            }
        }
        let full = join_route(&parent.prefix, prefix);
        self.origins[sub.origin] = Some((parent.origin, full));
    }

    fn walk_closure(&mut self, f: Node<'t>, ctx: Ctx, frame: &mut Frame, depth: usize) {
        if f.kind() != "func_literal" {
            // A named function: `r.Route("/x", routes)`.
            if f.kind() == "identifier" {
                let name = text(f, self.src(frame.file)).to_string();
                if let Some(id) = self.unique_func(&name, None, None, frame.file) {
                    self.enter(id, vec![Some(ctx)], depth);
                }
            }
            return;
        }
        let param = f
            .child_by_field_name("parameters")
            .and_then(|p| {
                named_children(p)
                    .into_iter()
                    .find(|d| d.kind() == "parameter_declaration")
            })
            .and_then(|d| {
                named_children(d)
                    .into_iter()
                    .find(|n| n.kind() == "identifier")
            })
            .map(|n| text(n, self.src(frame.file)).to_string());
        let Some(body) = f.child_by_field_name("body") else {
            return;
        };
        let (env, not_routers) = self.closure_env(f, frame);
        let mut inner = Frame {
            file: frame.file,
            env,
            not_routers,
            returned: None,
        };
        if let Some(p) = param {
            inner.not_routers.remove(&p);
            inner.env.insert(p, ctx);
        }
        self.walk(body, &mut inner, depth + 1);
    }

    /// Effects inside a handler argument (a closure's body).
    fn handler_effects(&mut self, handler: Option<Node<'t>>, frame: &mut Frame, depth: usize) {
        if let Some(h) = handler.filter(|h| h.kind() == "func_literal") {
            self.eval(h, frame, depth + 1);
        }
    }

    fn auth_of(&self, args: &[Node<'_>], file: usize) -> Vec<String> {
        let src = self.src(file);
        args.iter()
            .map(|a| text(*a, src))
            .filter(|t| looks_like_auth(t))
            .map(as_written)
            .collect()
    }

    /// The one scanned function a call names: by name, narrowed by package or receiver
    /// type; `None` when there is none or more than one.
    fn unique_func(
        &self,
        name: &str,
        package: Option<&str>,
        receiver: Option<&str>,
        file: usize,
    ) -> Option<usize> {
        let candidates = self.by_name.get(name)?;
        if candidates.len() > MAX_CANDIDATES {
            return None;
        }
        let fitting: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&id| {
                let f = &self.funcs[id];
                let pkg_ok = match package {
                    Some(p) => self.infos[f.file].package == p,
                    // A plain call names a function of the same package.
                    None if receiver.is_none() => {
                        f.receiver.is_none()
                            && self.infos[f.file].package == self.infos[file].package
                            && self.infos[f.file].dir == self.infos[file].dir
                    }
                    None => true,
                };
                let recv_ok = match receiver {
                    Some(r) => f.receiver.as_deref() == Some(r),
                    None => true,
                };
                pkg_ok && recv_ok && f.name == name
            })
            .collect();
        match fitting.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    fn user_call(
        &mut self,
        callee: Callee<'_>,
        name: &str,
        args: &[Node<'t>],
        frame: &mut Frame,
        depth: usize,
    ) -> Option<Ctx> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(*a, frame, depth + 1));
        }
        let id = match callee {
            Callee::Plain => self.unique_func(name, None, None, frame.file),
            Callee::Package(p) => self.unique_func(name, Some(p), None, frame.file),
            Callee::Method(Some(t)) => self.unique_func(name, None, Some(t), frame.file),
            // A method called on a variable of a type not followed: the one scanned method
            // of that name, when there is only one.
            Callee::Method(None) => self.unique_method(name),
        }?;
        if !values.iter().any(Option::is_some) && !self.funcs[id].returns_router {
            return None;
        }
        self.enter(id, values, depth)
    }

    fn unique_method(&self, name: &str) -> Option<usize> {
        let all = self.by_name.get(name)?;
        if all.len() > MAX_CANDIDATES {
            return None;
        }
        let candidates: Vec<_> = all
            .iter()
            .copied()
            .filter(|&id| self.funcs[id].receiver.is_some())
            .collect();
        match candidates.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    fn enter(&mut self, id: usize, args: Vec<Option<Ctx>>, depth: usize) -> Option<Ctx> {
        if self.call_stack.contains(&id)
            || self.call_stack.len() > MAX_CALL_DEPTH
            || self.nested_nodes > NESTED_BUDGET
        {
            return None;
        }
        self.entered.insert(id);
        self.walk_func(id, args, depth + 1)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        ctx: &Ctx,
        method: &str,
        path: &str,
        handler: Option<String>,
        framework: Framework,
        mut auth: Vec<String>,
        file: usize,
        line: u32,
    ) {
        let mut all = ctx.auth.clone();
        all.append(&mut auth);
        self.routes.push(RawRoute {
            root: self.root,
            origin: ctx.origin,
            method: method.to_string(),
            path: join_route(&ctx.prefix, path),
            file,
            line,
            handler,
            framework,
            auth: all,
        });
    }
}

/// The name a router value is held under: a variable (`r`) or a field path of variables
/// (`s.router`, `app.api.v1`), up to three levels; `None` for anything else.
fn var_key(node: Node<'_>, src: &str) -> Option<String> {
    let mut cur = node;
    for _ in 0..3 {
        match cur.kind() {
            "identifier" => return Some(text(node, src).to_string()),
            "selector_expression" => cur = cur.child_by_field_name("operand")?,
            _ => return None,
        }
    }
    None
}

fn is_routing_method(name: &str) -> bool {
    upper_method(name).is_some()
        || chi_method(name).is_some()
        || matches!(
            name,
            "Group"
                | "Route"
                | "Mount"
                | "Use"
                | "With"
                | "Any"
                | "Match"
                | "Add"
                | "Handle"
                | "HandleFunc"
                | "Method"
                | "MethodFunc"
        )
}

fn upper_method(name: &str) -> Option<&'static str> {
    Some(match name {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => return None,
    })
}

fn chi_method(name: &str) -> Option<&'static str> {
    Some(match name {
        "Get" => "GET",
        "Post" => "POST",
        "Put" => "PUT",
        "Delete" => "DELETE",
        "Patch" => "PATCH",
        "Head" => "HEAD",
        "Options" => "OPTIONS",
        "Connect" => "CONNECT",
        "Trace" => "TRACE",
        _ => return None,
    })
}

/// The handler's name as written: an identifier, a selector (`h.Login`), or a call that
/// builds one (`handlers.List(db)`); a closure has none.
fn handler_name(node: Option<Node<'_>>, src: &str) -> Option<String> {
    let node = node?;
    match node.kind() {
        "identifier" | "selector_expression" | "call_expression" => {
            let t = text(node, src);
            (t.len() <= 200 && !t.contains('\n')).then(|| t.to_string())
        }
        _ => None,
    }
}

/// A `ServeMux` pattern split into method (`*` when none) and path; the host, if any, is
/// dropped, and `{$}` (end of path) removed. `None` for a pattern that is not a path.
fn split_pattern(pattern: &str) -> Option<(String, String)> {
    let pattern = pattern.trim();
    let (method, rest) = match pattern.split_once([' ', '\t']) {
        Some((m, rest)) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => {
            (m.to_string(), rest.trim_start())
        }
        _ => ("*".to_string(), pattern),
    };
    let path = &rest[rest.find('/')?..];
    Some((method, path.replace("{$}", "")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scan_src(files: &[(&str, &str)]) -> Vec<(String, String, Vec<String>)> {
        let files: Vec<_> = files
            .iter()
            .map(|(p, t)| SourceFile {
                path: PathBuf::from(p),
                text: t.to_string(),
            })
            .collect();
        let mut r: Vec<_> = scan(&files)
            .into_iter()
            .map(|r| (r.method, r.path, r.auth))
            .collect();
        r.sort();
        r
    }

    fn pairs(r: &[(String, String, Vec<String>)]) -> Vec<String> {
        r.iter().map(|(m, p, _)| format!("{m} {p}")).collect()
    }

    #[test]
    fn go_patterns_split() {
        assert_eq!(
            split_pattern("GET /items/{id}"),
            Some(("GET".into(), "/items/{id}".into()))
        );
        assert_eq!(
            split_pattern("example.com/x/"),
            Some(("*".into(), "/x/".into()))
        );
        assert_eq!(split_pattern("/{$}"), Some(("*".into(), "/".into())));
        assert_eq!(split_pattern("nothing"), None);
    }

    #[test]
    fn gin_groups_across_packages_and_auth() {
        let main = r#"package main
import ("github.com/gin-gonic/gin"; "example.com/app/users")
func main() {
    r := gin.Default()
    v1 := r.Group("/api")
    users.Register(v1.Group("/users"))
    v1.Use(users.AuthMiddleware(true))
    users.Private(v1.Group("/user"))
    r.GET("/health", health)
    r.Static("/assets", "./public")
}
func health(c *gin.Context) {
    c.File("/etc/motd")
    c.GET("/not/a/route", nothing)
}"#;
        let users = r#"package users
import "github.com/gin-gonic/gin"
func Register(router *gin.RouterGroup) {
    router.POST("/", Create)
    router.POST("/login", Login)
}
func Private(router *gin.RouterGroup) {
    router.GET("/", Get)
    router.PUT("/:id", RequireAdmin(), Put)
}"#;
        let r = scan_src(&[("main.go", main), ("users/routers.go", users)]);
        assert_eq!(
            pairs(&r),
            [
                "GET /api/user",
                "GET /assets/{filepath}",
                "GET /health",
                "HEAD /assets/{filepath}",
                "POST /api/users",
                "POST /api/users/login",
                "PUT /api/user/{id}"
            ]
        );
        let put = r.iter().find(|x| x.0 == "PUT").unwrap();
        assert_eq!(put.2, ["users.AuthMiddleware(true)", "RequireAdmin()"]);
    }

    #[test]
    fn chi_route_mount_with_group() {
        let src = r#"package main
import ("net/http"; "github.com/go-chi/chi/v5")
func main() {
    r := chi.NewRouter()
    r.Get("/", index)
    r.Route("/articles", func(r chi.Router) {
        r.With(paginate).Get("/", list)
        r.Route("/{articleID}", func(r chi.Router) {
            r.Get("/", get)
            r.Delete("/", del)
        })
    })
    r.Group(func(r chi.Router) {
        r.Use(jwtauth.Authenticator)
        r.Post("/private", priv)
    })
    r.Mount("/admin", adminRouter())
    http.ListenAndServe(":3333", r)
}
func adminRouter() http.Handler {
    r := chi.NewRouter()
    r.Use(AdminOnly)
    r.Get("/accounts/{id:[0-9]+}", accounts)
    return r
}"#;
        let r = scan_src(&[("main.go", src)]);
        assert_eq!(
            pairs(&r),
            [
                "DELETE /articles/{articleID}",
                "GET /",
                "GET /admin/accounts/{id}",
                "GET /articles",
                "GET /articles/{articleID}",
                "POST /private"
            ]
        );
        let private = r.iter().find(|x| x.1 == "/private").unwrap();
        assert_eq!(private.2, ["jwtauth.Authenticator"]);
    }

    #[test]
    fn net_http_patterns_and_strip_prefix() {
        let src = r#"package main
import "net/http"
const base = "/v1"
func main() {
    mux := http.NewServeMux()
    mux.HandleFunc("GET /items/{id}", getItem)
    mux.HandleFunc("POST "+base+"/items", createItem)
    api := http.NewServeMux()
    api.Handle("/users/", users)
    mux.Handle("/api/", http.StripPrefix("/api", api))
    http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})
    http.Handle("/admin", requireAuth(admin))
}"#;
        let r = scan_src(&[("main.go", src)]);
        assert_eq!(
            pairs(&r),
            [
                "* /admin",
                "* /api/users/",
                "* /healthz",
                "GET /items/{id}",
                "POST /v1/items"
            ]
        );
        let admin = r.iter().find(|x| x.1 == "/admin").unwrap();
        assert_eq!(admin.2, ["requireAuth"]);
    }

    #[test]
    fn echo_groups_through_a_method() {
        let main = r#"package main
import ("github.com/labstack/echo/v4"; "app/handler")
func main() {
    e := echo.New()
    v1 := e.Group("/api")
    h := handler.New()
    h.Register(v1)
}"#;
        let handler = r#"package handler
import "github.com/labstack/echo/v4"
func (h *Handler) Register(v1 *echo.Group) {
    jwt := middleware.JWT(key)
    users := v1.Group("/users")
    users.POST("", h.SignUp)
    user := v1.Group("/user", jwt)
    user.GET("", h.Current)
    user.Match([]string{"PUT", http.MethodPatch}, "/x", h.X)
}"#;
        let r = scan_src(&[("main.go", main), ("handler/routes.go", handler)]);
        assert_eq!(
            pairs(&r),
            [
                "GET /api/user",
                "PATCH /api/user/x",
                "POST /api/users",
                "PUT /api/user/x"
            ]
        );
        assert_eq!(r[0].2, ["jwt"]);
    }
}
