//! Ruby on Rails routes: the routing DSL of `config/routes.rb` (and of files under
//! `config/routes/`), read from the syntax tree.
//!
//! What is understood: `resources` (the seven REST routes, `only:`/`except:`, `param:`,
//! `path:`, `controller:`, several names at once, nesting with `:<singular>_id`),
//! `resource` (singular: no index, no id), `member`/`collection` blocks and `on:` options,
//! `namespace` (path and controller module), `scope` (a path given positionally or as
//! `path:`, `module:`), verb helpers (`get 'x' => 'c#a'`, `get 'x', to: 'c#a'`, `get :x`,
//! `match 'x', via: [...]`), `root`, and `mount App => '/x'` (every method). Blocks of other
//! calls (`constraints`, `authenticate`, `devise_scope`, `as`, `defaults`) are descended
//! into with nothing added; `concern` blocks, `devise_for` (a gem's own routes) and
//! `draw` are not followed. Optional segments (`(.:format)`) are left out of the path.
//! Authentication lives in controllers: a route whose handler is `users#show` gets, in
//! `auth`, the auth-named `before_action` callbacks of `app/controllers/users_controller.rb`
//! and of its superclasses' files (`ApplicationController`), as written, with `only:` and
//! `except:` honoured and `skip_before_action` removing them. Callbacks given as blocks or
//! lambdas, and controllers that cannot be found, give none.

use std::collections::HashMap;

use tree_sitter::Node;

use super::ts_util::{descendants, line, looks_like_auth, named_children, parse, text, unquote};
use super::{DeclaredRoute, Framework, SourceFile, join_route, template};

/// The extensions of the files this scanner reads (only routing files among them are
/// scanned for routes, `config/routes.rb` and `config/routes/*.rb`; controllers under
/// `app/controllers/` for their authentication callbacks).
pub const EXTENSIONS: &[&str] = &["rb"];

/// Block nesting followed at most.
const MAX_DEPTH: usize = 48;

/// The Rails routes declared in `files`.
pub fn scan(files: &[SourceFile]) -> Vec<DeclaredRoute> {
    let language: tree_sitter::Language = tree_sitter_ruby::LANGUAGE.into();
    let mut routes = Vec::new();
    let mut controllers = Controllers::default();
    for file in files {
        let p = file.path.to_string_lossy().replace('\\', "/");
        let routing = p == "config/routes.rb"
            || p.ends_with("/config/routes.rb")
            || (p.contains("config/routes/") && p.ends_with(".rb"));
        let controller = controller_key(&p);
        if !routing && controller.is_none() {
            continue;
        }
        let Some(tree) = parse(&language, &file.text) else {
            continue;
        };
        if let Some(key) = controller {
            controllers.collect(key, file, tree.root_node());
            continue;
        }
        let mut scanner = Scanner {
            file,
            src: &file.text,
            routes: &mut routes,
        };
        scanner.statements(tree.root_node(), &Scope::default(), 0);
    }
    for route in &mut routes {
        if let Some((controller, action)) = route.handler.as_deref().and_then(|h| h.split_once('#'))
        {
            route.auth = controllers.auth(controller, action);
        }
    }
    routes
}

/// `app/controllers/admin/users_controller.rb` → `admin/users`.
fn controller_key(path: &str) -> Option<String> {
    let (_, rest) = path.rsplit_once("app/controllers/")?;
    Some(rest.strip_suffix("_controller.rb")?.to_string())
}

/// `Admin::UsersController` → `admin/users`.
fn class_key(class: &str) -> Option<String> {
    let class = class.trim().strip_suffix("Controller")?;
    let mut out = String::with_capacity(class.len() + 4);
    for (i, seg) in class.trim_start_matches("::").split("::").enumerate() {
        if i > 0 {
            out.push('/');
        }
        for (j, c) in seg.chars().enumerate() {
            if c.is_ascii_uppercase() {
                if j > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
    }
    Some(out)
}

/// A controller's `before_action`s and `skip_before_action`s, in order.
#[derive(Default)]
struct Filters {
    parent: Option<String>,
    entries: Vec<Callback>,
}

/// One `before_action :name` (or `skip_before_action`), with its `only:`/`except:`.
struct Callback {
    skip: bool,
    name: String,
    written: String,
    only: Option<Vec<String>>,
    except: Vec<String>,
}

/// The controllers of the scanned tree, by key; a key seen twice (two applications in one
/// tree) is ambiguous and gives no auth.
#[derive(Default)]
struct Controllers {
    by_key: HashMap<String, Option<Filters>>,
}

impl Controllers {
    fn collect(&mut self, key: String, file: &SourceFile, root: Node<'_>) {
        let mut sink = Vec::new();
        let scanner = Scanner {
            file,
            src: &file.text,
            routes: &mut sink,
        };
        let src = file.text.as_str();
        let Some(class) = descendants(root, &["class"]).into_iter().find(|c| {
            c.child_by_field_name("name")
                .and_then(|n| class_key(text(n, src)))
                .is_some_and(|k| key.ends_with(&k))
        }) else {
            return;
        };
        let mut filters = Filters {
            parent: class
                .child_by_field_name("superclass")
                .and_then(|s| s.named_child(0))
                .and_then(|n| class_key(text(n, src))),
            entries: Vec::new(),
        };
        let body = named_children(class)
            .into_iter()
            .find(|n| n.kind() == "body_statement");
        for call in body.map(named_children).unwrap_or_default() {
            if call.kind() != "call" || call.child_by_field_name("receiver").is_some() {
                continue;
            }
            let Some(method) = call.child_by_field_name("method") else {
                continue;
            };
            let skip = match text(method, src) {
                "before_action" | "prepend_before_action" => false,
                "skip_before_action" => true,
                _ => continue,
            };
            let args = scanner.args(call);
            let only = args.option("only").map(|n| scanner.names(n));
            let except = args
                .option("except")
                .map(|n| scanner.names(n))
                .unwrap_or_default();
            for p in &args.positional {
                if p.kind() != "simple_symbol" {
                    continue;
                }
                let Some(name) = scanner.value(*p) else {
                    continue;
                };
                let written = format!("{} {}", text(method, src), text(*p, src));
                filters.entries.push(Callback {
                    skip,
                    name,
                    written,
                    only: only.clone(),
                    except: except.clone(),
                });
            }
        }
        match self.by_key.get(&key) {
            Some(_) => {
                self.by_key.insert(key, None);
            }
            None => {
                self.by_key.insert(key, Some(filters));
            }
        }
    }

    /// The auth-named callbacks that run before `controller#action`: the superclass
    /// chain's, outermost first, less those skipped for the action.
    fn auth(&self, controller: &str, action: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut key = Some(controller.to_string());
        while let Some(k) = key.take() {
            if chain.len() >= 8 {
                break;
            }
            let Some(Some(f)) = self.by_key.get(&k) else {
                break;
            };
            chain.push(f);
            // `BaseController` inside `module Admin` is `admin/base` when that exists.
            key = f.parent.as_ref().map(|p| match k.rsplit_once('/') {
                Some((dir, _)) if self.by_key.contains_key(&format!("{dir}/{p}")) => {
                    format!("{dir}/{p}")
                }
                _ => p.clone(),
            });
        }
        let applies = |only: &Option<Vec<String>>, except: &[String]| {
            only.as_ref().is_none_or(|o| o.iter().any(|a| a == action))
                && !except.iter().any(|a| a == action)
        };
        let mut active: Vec<(&str, &str)> = Vec::new();
        for f in chain.iter().rev() {
            for c in &f.entries {
                if !applies(&c.only, &c.except) {
                    continue;
                }
                if c.skip {
                    active.retain(|(n, _)| *n != c.name);
                } else if looks_like_auth(&c.name) {
                    active.push((&c.name, &c.written));
                }
            }
        }
        active.into_iter().map(|(_, w)| w.to_string()).collect()
    }
}

/// Where a statement sits: the path so far, the controller module, and the resource whose
/// block it is in (if any).
#[derive(Clone, Default)]
struct Scope {
    path: String,
    module: String,
    resource: Option<Resource>,
}

#[derive(Clone)]
struct Resource {
    /// `/articles` (the collection), `/articles/:id` (a member), `/articles/:article_id`
    /// (what nests inside); for a singular resource all three are `/user`.
    collection: String,
    member: String,
    nested: String,
    controller: String,
}

struct Scanner<'a> {
    file: &'a SourceFile,
    src: &'a str,
    routes: &'a mut Vec<DeclaredRoute>,
}

/// The arguments of a DSL call: positional values and `key: value` options.
struct Args<'t> {
    positional: Vec<Node<'t>>,
    options: Vec<(String, Node<'t>)>,
    /// `'path' => 'controller#action'` (or `App => '/path'` for `mount`).
    arrow: Option<(Node<'t>, Node<'t>)>,
}

impl<'t> Args<'t> {
    fn option(&self, key: &str) -> Option<Node<'t>> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

const REST: &[(&str, &str, &str)] = &[
    ("index", "GET", ""),
    ("create", "POST", ""),
    ("new", "GET", "new"),
    ("edit", "GET", ":id/edit"),
    ("show", "GET", ":id"),
    ("update", "PATCH", ":id"),
    ("update", "PUT", ":id"),
    ("destroy", "DELETE", ":id"),
];

fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if name.ends_with("ss") {
        name.to_string()
    } else if let Some(stem) = name.strip_suffix('s') {
        stem.to_string()
    } else {
        name.to_string()
    }
}

fn plural(name: &str) -> String {
    if name.ends_with('s') {
        name.to_string()
    } else if let Some(stem) = name.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{name}s")
    }
}

/// Removes optional groups: `/badges/:type(.:format)` → `/badges/:type`.
fn strip_optional(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

impl<'a> Scanner<'a> {
    /// A literal's value: a string without interpolation, a symbol.
    fn value(&self, node: Node<'_>) -> Option<String> {
        let t = text(node, self.src);
        match node.kind() {
            "simple_symbol" => Some(t.trim_start_matches(':').to_string()),
            "hash_key_symbol" | "identifier" | "constant" => Some(t.to_string()),
            "string" | "delimited_symbol" => {
                if named_children(node)
                    .iter()
                    .any(|c| c.kind() == "interpolation")
                {
                    return None;
                }
                unquote(t.trim_start_matches(':'))
            }
            _ => None,
        }
    }

    /// The names in `only: [:index, :show]`, `only: :show`, `%i[index show]`.
    fn names(&self, node: Node<'_>) -> Vec<String> {
        match node.kind() {
            "array" | "symbol_array" | "string_array" => named_children(node)
                .into_iter()
                .filter_map(|n| {
                    self.value(n)
                        .or_else(|| Some(text(n, self.src).to_string()))
                })
                .collect(),
            _ => self.value(node).into_iter().collect(),
        }
    }

    fn args<'t>(&self, call: Node<'t>) -> Args<'t> {
        let mut args = Args {
            positional: Vec::new(),
            options: Vec::new(),
            arrow: None,
        };
        let Some(list) = call.child_by_field_name("arguments") else {
            return args;
        };
        let mut items = Vec::new();
        for n in named_children(list) {
            // `scope(path: 'x')` and `get 'x', { to: ... }` put options in a hash.
            if n.kind() == "hash" {
                items.extend(named_children(n));
            } else {
                items.push(n);
            }
        }
        for n in items {
            match n.kind() {
                "pair" => {
                    let (Some(k), Some(v)) =
                        (n.child_by_field_name("key"), n.child_by_field_name("value"))
                    else {
                        continue;
                    };
                    let arrow = text(n, self.src).contains("=>");
                    match (k.kind(), arrow) {
                        // `:id => 'x'` is an option written the old way.
                        ("simple_symbol" | "hash_key_symbol", _) => {
                            if let Some(key) = self.value(k) {
                                args.options.push((key, v));
                            }
                        }
                        _ if args.arrow.is_none() => args.arrow = Some((k, v)),
                        _ => {}
                    }
                }
                "comment" => {}
                _ => args.positional.push(n),
            }
        }
        args
    }

    fn statements(&mut self, node: Node<'_>, scope: &Scope, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in named_children(node) {
            match stmt.kind() {
                "call" => self.call(stmt, scope, depth),
                // `Rails.application.routes.draw do ... end` is a call; other statements
                // (assignments, conditionals) may hold calls in their bodies.
                "body_statement"
                | "block_body"
                | "if"
                | "unless"
                | "else"
                | "then"
                | "begin"
                | "parenthesized_statements" => self.statements(stmt, scope, depth + 1),
                _ => {}
            }
        }
    }

    fn block_of(call: Node<'_>) -> Option<Node<'_>> {
        let block = call.child_by_field_name("block")?;
        Some(block.child_by_field_name("body").unwrap_or(block))
    }

    fn call(&mut self, call: Node<'_>, scope: &Scope, depth: usize) {
        let Some(method) = call.child_by_field_name("method") else {
            return;
        };
        let name = text(method, self.src);
        let has_receiver = call.child_by_field_name("receiver").is_some();
        if has_receiver {
            // `Rails.application.routes.draw do`: descend.
            if let Some(body) = Self::block_of(call) {
                self.statements(body, scope, depth + 1);
            }
            return;
        }
        match name {
            "resources" | "resource" => self.resources(call, name == "resources", scope, depth),
            "namespace" => {
                let args = self.args(call);
                let Some(ns) = args.positional.first().and_then(|n| self.value(*n)) else {
                    return;
                };
                let path = args
                    .option("path")
                    .and_then(|n| self.value(n))
                    .unwrap_or_else(|| ns.clone());
                let module = args
                    .option("module")
                    .and_then(|n| self.value(n))
                    .unwrap_or_else(|| ns.clone());
                let inner = Scope {
                    path: join_route(&scope.path, &path),
                    module: format!("{}{module}/", scope.module),
                    resource: None,
                };
                if let Some(body) = Self::block_of(call) {
                    self.statements(body, &inner, depth + 1);
                }
            }
            "scope" => {
                let args = self.args(call);
                let path = match (args.positional.first().copied(), args.option("path")) {
                    (Some(p), _) | (None, Some(p)) => match self.value(p) {
                        Some(v) => Some(v),
                        None => return,
                    },
                    (None, None) => None,
                };
                let mut inner = scope.clone();
                if let Some(p) = path {
                    inner.path = join_route(&scope.path, &strip_optional(&p));
                }
                if let Some(m) = args.option("module").and_then(|n| self.value(n)) {
                    inner.module = format!("{}{m}/", scope.module);
                }
                if let Some(body) = Self::block_of(call) {
                    self.statements(body, &inner, depth + 1);
                }
            }
            "member" | "collection" => {
                let Some(res) = &scope.resource else {
                    return;
                };
                let inner = Scope {
                    path: if name == "member" {
                        res.member.clone()
                    } else {
                        res.collection.clone()
                    },
                    module: scope.module.clone(),
                    resource: Some(Resource {
                        nested: if name == "member" {
                            res.member.clone()
                        } else {
                            res.collection.clone()
                        },
                        ..res.clone()
                    }),
                };
                if let Some(body) = Self::block_of(call) {
                    self.statements(body, &inner, depth + 1);
                }
            }
            "get" | "post" | "put" | "patch" | "delete" | "options" | "head" | "match" => {
                self.verb(call, name, scope)
            }
            "root" => self.root(call, scope),
            "mount" => self.mount(call, scope),
            "concern" | "devise_for" | "draw" | "direct" | "resolve" => {}
            _ => {
                if let Some(body) = Self::block_of(call) {
                    self.statements(body, scope, depth + 1);
                }
            }
        }
    }

    fn push(&mut self, node: Node<'_>, method: &str, path: &str, handler: Option<String>) {
        self.routes.push(DeclaredRoute {
            method: method.to_string(),
            path: template(&strip_optional(path)),
            file: self.file.path.clone(),
            line: line(node),
            handler,
            framework: Framework::Rails,
            auth: Vec::new(),
        });
    }

    fn resources(&mut self, call: Node<'_>, plural_form: bool, scope: &Scope, depth: usize) {
        let args = self.args(call);
        let names: Vec<String> = args
            .positional
            .iter()
            .filter_map(|n| self.value(*n))
            .collect();
        if names.is_empty() || names.len() != args.positional.len() || names.len() > 32 {
            return;
        }
        let only = args.option("only").map(|n| self.names(n));
        let except = args
            .option("except")
            .map(|n| self.names(n))
            .unwrap_or_default();
        let param = args
            .option("param")
            .and_then(|n| self.value(n))
            .unwrap_or_else(|| "id".to_string());
        let base = match &scope.resource {
            Some(r) => r.nested.clone(),
            None => scope.path.clone(),
        };
        for name in names {
            let segment = args
                .option("path")
                .and_then(|n| self.value(n))
                .unwrap_or_else(|| name.clone());
            let controller = format!(
                "{}{}",
                scope.module,
                args.option("controller")
                    .and_then(|n| self.value(n))
                    .unwrap_or_else(|| if plural_form {
                        name.clone()
                    } else {
                        plural(&name)
                    })
            );
            let collection = join_route(&base, &segment);
            let member = if plural_form {
                join_route(&collection, &format!(":{param}"))
            } else {
                collection.clone()
            };
            for (action, method, suffix) in REST {
                if !plural_form && *action == "index" {
                    continue;
                }
                if only
                    .as_ref()
                    .is_some_and(|o| !o.iter().any(|a| a == action))
                    || except.iter().any(|a| a == action)
                {
                    continue;
                }
                let suffix = if plural_form {
                    suffix.replace(":id", &format!(":{param}"))
                } else {
                    suffix.trim_start_matches(":id").to_string()
                };
                let path = join_route(&collection, &suffix);
                self.push(call, method, &path, Some(format!("{controller}#{action}")));
            }
            if let Some(body) = Self::block_of(call) {
                let nested = if plural_form {
                    let id = if param == "id" {
                        format!(":{}_id", singular(&name))
                    } else {
                        format!(":{}_{param}", singular(&name))
                    };
                    join_route(&collection, &id)
                } else {
                    collection.clone()
                };
                let inner = Scope {
                    path: nested.clone(),
                    module: scope.module.clone(),
                    resource: Some(Resource {
                        collection: collection.clone(),
                        member: member.clone(),
                        nested,
                        controller: controller.clone(),
                    }),
                };
                self.statements(body, &inner, depth + 1);
            }
        }
    }

    fn verb(&mut self, call: Node<'_>, name: &str, scope: &Scope) {
        let args = self.args(call);
        let (path_node, mut to) = match (args.positional.first(), args.arrow) {
            (Some(p), _) => (*p, None),
            (None, Some((k, v))) => (k, self.value(v)),
            (None, None) => return,
        };
        let Some(raw) = self.value(path_node) else {
            return;
        };
        if to.is_none() {
            to = args.option("to").and_then(|n| self.value(n));
        }
        if to.is_none()
            && let (Some(c), Some(a)) = (
                args.option("controller").and_then(|n| self.value(n)),
                args.option("action").and_then(|n| self.value(n)),
            )
        {
            to = Some(format!("{c}#{a}"));
        }
        let symbol = path_node.kind() == "simple_symbol";
        let base = match (
            &scope.resource,
            args.option("on").and_then(|n| self.value(n)),
        ) {
            (Some(r), Some(on)) if on == "member" => r.member.clone(),
            (Some(r), Some(on)) if on == "collection" => r.collection.clone(),
            (Some(r), _) => r.nested.clone(),
            (None, _) => scope.path.clone(),
        };
        let handler = match (&to, &scope.resource) {
            (Some(t), _) if t.contains('#') => Some(format!("{}{t}", scope.module)),
            (Some(_), _) => None,
            // `get :feed` in a resource: the resource's controller, the action named.
            (None, Some(r))
                if symbol || raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Some(format!("{}#{raw}", r.controller))
            }
            (None, _) => None,
        };
        let methods: Vec<String> = if name == "match" {
            match args.option("via") {
                Some(v) => self
                    .names(v)
                    .into_iter()
                    .map(|m| {
                        if m == "all" {
                            "*".to_string()
                        } else {
                            m.to_ascii_uppercase()
                        }
                    })
                    .collect(),
                None => return,
            }
        } else {
            vec![name.to_ascii_uppercase()]
        };
        let path = join_route(&base, &raw);
        for m in methods {
            self.push(call, &m, &path, handler.clone());
        }
    }

    fn root(&mut self, call: Node<'_>, scope: &Scope) {
        let args = self.args(call);
        let to = args
            .positional
            .first()
            .and_then(|n| self.value(*n))
            .or_else(|| args.option("to").and_then(|n| self.value(n)));
        let handler = to.map(|t| format!("{}{t}", scope.module));
        self.push(call, "GET", &join_route(&scope.path, "/"), handler);
    }

    fn mount(&mut self, call: Node<'_>, scope: &Scope) {
        let args = self.args(call);
        let (app, at) = match args.arrow {
            Some((app, at)) => (app, self.value(at)),
            None => match args.positional.first() {
                Some(app) => (*app, args.option("at").and_then(|n| self.value(n))),
                None => return,
            },
        };
        let Some(at) = at else {
            return;
        };
        let app = text(app, self.src).to_string();
        self.push(call, "*", &join_route(&scope.path, &at), Some(app));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn routes(src: &str) -> Vec<String> {
        let files = [SourceFile {
            path: PathBuf::from("config/routes.rb"),
            text: src.to_string(),
        }];
        let mut r: Vec<_> = scan(&files)
            .into_iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.handler.unwrap_or_default()))
            .collect();
        r.sort();
        r
    }

    #[test]
    fn resources_nest_with_only_param_member_and_collection() {
        let src = r#"
Rails.application.routes.draw do
  scope :api, defaults: { format: :json } do
    resource :user, only: [:show, :update]
    resources :articles, param: :slug, except: [:edit, :new] do
      resource :favorite, only: [:create]
      resources :comments, only: %i[index destroy]
      get :feed, on: :collection
      member do
        post 'publish'
      end
    end
  end
  namespace :admin do
    resources :users, only: :index
    root to: 'dashboard#show'
  end
  get 'photos/:id(.:format)' => 'photos#show'
  match 'search', to: 'search#run', via: [:get, :post]
  mount Sidekiq::Web => '/sidekiq'
  devise_for :users
end
"#;
        assert_eq!(
            routes(src),
            [
                "* /sidekiq Sidekiq::Web",
                "DELETE /api/articles/{article_slug}/comments/{id} comments#destroy",
                "DELETE /api/articles/{slug} articles#destroy",
                "GET /admin admin/dashboard#show",
                "GET /admin/users admin/users#index",
                "GET /api/articles articles#index",
                "GET /api/articles/feed articles#feed",
                "GET /api/articles/{article_slug}/comments comments#index",
                "GET /api/articles/{slug} articles#show",
                "GET /api/user users#show",
                "GET /photos/{id} photos#show",
                "GET /search search#run",
                "PATCH /api/articles/{slug} articles#update",
                "PATCH /api/user users#update",
                "POST /api/articles articles#create",
                "POST /api/articles/{article_slug}/favorite favorites#create",
                "POST /api/articles/{slug}/publish articles#publish",
                "POST /search search#run",
                "PUT /api/articles/{slug} articles#update",
                "PUT /api/user users#update",
            ]
        );
    }

    #[test]
    fn before_actions_give_auth_through_the_class_chain() {
        let files = [
            SourceFile {
                path: PathBuf::from("config/routes.rb"),
                text: "Rails.application.routes.draw do\n  resources :articles, only: [:index, :show, :create]\n  namespace :admin do\n    resources :users, only: [:index]\n  end\nend\n".to_string(),
            },
            SourceFile {
                path: PathBuf::from("app/controllers/application_controller.rb"),
                text: "class ApplicationController < ActionController::Base\n  before_action :authenticate_user!\n  before_action :set_locale\nend\n".to_string(),
            },
            SourceFile {
                path: PathBuf::from("app/controllers/articles_controller.rb"),
                text: "class ArticlesController < ApplicationController\n  skip_before_action :authenticate_user!, only: [:index, :show]\n  def index; end\nend\n".to_string(),
            },
            SourceFile {
                path: PathBuf::from("app/controllers/admin/users_controller.rb"),
                text: "module Admin\n  class UsersController < ApplicationController\n    before_action :require_admin, except: :destroy\n  end\nend\n".to_string(),
            },
        ];
        let mut r: Vec<_> = scan(&files)
            .into_iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.auth.join(",")))
            .collect();
        r.sort();
        assert_eq!(
            r,
            [
                "GET /admin/users before_action :authenticate_user!,before_action :require_admin",
                "GET /articles ",
                "GET /articles/{id} ",
                "POST /articles before_action :authenticate_user!",
            ]
        );
    }

    #[test]
    fn only_routing_files_are_read() {
        let files = [SourceFile {
            path: PathBuf::from("app/models/user.rb"),
            text: "resources :users".to_string(),
        }];
        assert!(scan(&files).is_empty());
    }
}
