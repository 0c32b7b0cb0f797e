//! ASP.NET Core routes in C#: attribute routing on controllers, and minimal APIs.
//!
//! Attribute routes: `[Route("api/[controller]")]` on the class (several are several
//! prefixes; `[controller]`, `[action]` and `[area]` replaced), `[HttpGet]`,
//! `[HttpGet("{id}")]`, `[HttpPost(template: ...)]`, `[AcceptVerbs("GET", "POST")]` and
//! `[Route("x")]` on actions (a method-level `Route` alone binds every method), templates
//! starting with `/` or `~/` overriding the class prefix, `const string` values of the
//! scanned files. `[Authorize...]` and `[AllowAnonymous]` on the class or the action are
//! recorded as written. Conventionally routed actions (no route attribute) are not routes
//! the code declares by attribute and are left out.
//!
//! Minimal APIs: `app.MapGet("/x", h)` (and `MapPost`, `MapPut`, `MapDelete`, `MapPatch`,
//! `MapMethods`, `Map`), groups from `MapGroup("/api")` held in local variables or chained,
//! and `.RequireAuthorization(...)` on a route or a group.

use std::collections::HashMap;

use tree_sitter::Node;

use super::ts_util::{as_written, descendants, line, named_children, parse, text, unquote};
use super::{DeclaredRoute, Framework, SourceFile, join_route, template};

/// The extensions of the files this scanner reads.
pub const EXTENSIONS: &[&str] = &["cs"];

/// The ASP.NET Core routes declared in `files`.
pub fn scan(files: &[SourceFile]) -> Vec<DeclaredRoute> {
    let language: tree_sitter::Language = tree_sitter_c_sharp::LANGUAGE.into();
    let trees: Vec<_> = files
        .iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "cs"))
        .filter_map(|f| parse(&language, &f.text).map(|t| (f, t)))
        .collect();
    let mut constants: HashMap<String, Option<String>> = HashMap::new();
    for (file, tree) in &trees {
        collect_constants(tree.root_node(), &file.text, &mut constants);
    }
    let mut routes = Vec::new();
    for (file, tree) in &trees {
        let cx = Cx {
            file,
            src: &file.text,
            constants: &constants,
        };
        for class in descendants(
            tree.root_node(),
            &["class_declaration", "record_declaration"],
        ) {
            cx.controller(class, &mut routes);
        }
        cx.minimal_apis(tree.root_node(), &mut routes);
    }
    routes
}

fn collect_constants(root: Node<'_>, src: &str, out: &mut HashMap<String, Option<String>>) {
    for field in descendants(root, &["field_declaration"]) {
        let is_const = named_children(field)
            .iter()
            .any(|m| m.kind() == "modifier" && matches!(text(*m, src), "const" | "static"));
        if !is_const {
            continue;
        }
        for decl in descendants(field, &["variable_declarator"]) {
            let Some(name) = decl.child_by_field_name("name") else {
                continue;
            };
            let Some(value) = named_children(decl)
                .into_iter()
                .find(|n| n.kind() == "string_literal" || n.kind() == "verbatim_string_literal")
                .or_else(|| {
                    named_children(decl)
                        .into_iter()
                        .find(|n| n.kind() == "equals_value_clause")
                        .and_then(|e| e.named_child(0))
                })
            else {
                continue;
            };
            if let Some(v) = unquote(text(value, src)) {
                let key = text(name, src).to_string();
                let entry = out.entry(key).or_insert(Some(v.clone()));
                if entry.as_deref() != Some(v.as_str()) {
                    *entry = None;
                }
            }
        }
    }
}

struct Cx<'a> {
    file: &'a SourceFile,
    src: &'a str,
    constants: &'a HashMap<String, Option<String>>,
}

/// An attribute: its simple name (without `Attribute`), its text, and its arguments
/// (name, value) with `None` names for positional ones.
struct Attr<'t> {
    name: String,
    written: String,
    args: Vec<(Option<String>, Node<'t>)>,
}

const AUTH_ATTRS: &[&str] = &["Authorize", "AllowAnonymous"];

fn http_method(attr: &str) -> Option<&'static str> {
    Some(match attr {
        "HttpGet" => "GET",
        "HttpPost" => "POST",
        "HttpPut" => "PUT",
        "HttpDelete" => "DELETE",
        "HttpPatch" => "PATCH",
        "HttpHead" => "HEAD",
        "HttpOptions" => "OPTIONS",
        _ => return None,
    })
}

impl<'a> Cx<'a> {
    fn string(&self, node: Node<'_>) -> Option<String> {
        let mut out = String::new();
        let mut stack = vec![node];
        let mut steps = 0;
        while let Some(n) = stack.pop() {
            steps += 1;
            if steps > 64 {
                return None;
            }
            match n.kind() {
                "string_literal" | "verbatim_string_literal" => {
                    out.push_str(&unquote(text(n, self.src))?)
                }
                "raw_string_literal" => {
                    out.push_str(text(n, self.src).trim_matches('"'));
                }
                "identifier" | "member_access_expression" => {
                    let t = text(n, self.src);
                    let key = t.rsplit('.').next().unwrap_or(t);
                    out.push_str(self.constants.get(key)?.as_ref()?);
                }
                "parenthesized_expression" => stack.push(n.named_child(0)?),
                "binary_expression" => {
                    if text(n.child_by_field_name("operator")?, self.src) != "+" {
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

    fn attributes<'t>(&self, decl: Node<'t>) -> Vec<Attr<'t>> {
        let mut out = Vec::new();
        for list in named_children(decl) {
            if list.kind() != "attribute_list" {
                continue;
            }
            for a in named_children(list) {
                if a.kind() != "attribute" {
                    continue;
                }
                let Some(name) = a.child_by_field_name("name") else {
                    continue;
                };
                let name = text(name, self.src);
                let name = name.rsplit('.').next().unwrap_or(name);
                let name = name.strip_suffix("Attribute").unwrap_or(name).to_string();
                let mut args = Vec::new();
                if let Some(list) = named_children(a)
                    .into_iter()
                    .find(|n| n.kind() == "attribute_argument_list")
                {
                    for arg in named_children(list) {
                        if arg.kind() != "attribute_argument" {
                            continue;
                        }
                        let named = arg
                            .child_by_field_name("name")
                            .map(|n| text(n, self.src).to_string());
                        let Some(value) = named_children(arg)
                            .into_iter()
                            .rfind(|n| Some(*n) != arg.child_by_field_name("name"))
                        else {
                            continue;
                        };
                        if named.is_none() && value.kind() == "assignment_expression" {
                            // `Name = "x"`.
                            if let (Some(l), Some(r)) = (
                                value.child_by_field_name("left"),
                                value.child_by_field_name("right"),
                            ) {
                                args.push((Some(text(l, self.src).to_string()), r));
                            }
                            continue;
                        }
                        args.push((named, value));
                    }
                }
                out.push(Attr {
                    name,
                    written: format!("[{}]", as_written(text(a, self.src))),
                    args,
                });
            }
        }
        out
    }

    /// The route template an attribute gives: its first positional string or `template:`;
    /// `Some(None)` when it gives none, `None` when it gives one that cannot be resolved.
    fn template_of(&self, attr: &Attr<'_>) -> Option<Option<String>> {
        let arg = attr.args.iter().find(|(name, v)| match name.as_deref() {
            None => !matches!(v.kind(), "assignment_expression"),
            Some(n) => n == "template" || n == "Template",
        });
        match arg {
            None => Some(None),
            Some((_, v)) => self.string(*v).map(Some),
        }
    }

    fn controller(&self, class: Node<'_>, routes: &mut Vec<DeclaredRoute>) {
        let class_name = class
            .child_by_field_name("name")
            .map(|n| text(n, self.src).to_string())
            .unwrap_or_default();
        let controller = class_name
            .strip_suffix("Controller")
            .unwrap_or(&class_name)
            .to_string();
        let attrs = self.attributes(class);
        let area = attrs
            .iter()
            .find(|a| a.name == "Area")
            .and_then(|a| a.args.first())
            .and_then(|(_, v)| self.string(*v))
            .unwrap_or_default();
        let mut prefixes = Vec::new();
        for a in attrs.iter().filter(|a| a.name == "Route") {
            match self.template_of(a) {
                Some(Some(t)) => prefixes.push(t),
                // An unresolvable class route: every action's path would be wrong.
                _ => return,
            }
        }
        // Without a class route, an action is attribute-routed only by a template of its
        // own; a bare `[HttpGet]` there is a verb constraint on a conventional route.
        let class_routed = !prefixes.is_empty();
        if prefixes.is_empty() {
            prefixes.push(String::new());
        }
        let class_auth: Vec<String> = attrs
            .iter()
            .filter(|a| AUTH_ATTRS.contains(&a.name.as_str()))
            .map(|a| a.written.clone())
            .collect();
        let Some(body) = class.child_by_field_name("body") else {
            return;
        };
        for method in named_children(body) {
            if method.kind() != "method_declaration" {
                continue;
            }
            let action = method
                .child_by_field_name("name")
                .map(|n| text(n, self.src).to_string())
                .unwrap_or_default();
            let attrs = self.attributes(method);
            // (methods, template) per routing attribute on the action.
            let mut declared: Vec<(Vec<String>, Option<String>)> = Vec::new();
            let mut verbs_only = Vec::new();
            let mut unresolved = false;
            for a in &attrs {
                if let Some(m) = http_method(&a.name) {
                    match self.template_of(a) {
                        Some(Some(t)) => declared.push((vec![m.to_string()], Some(t))),
                        Some(None) => verbs_only.push(m.to_string()),
                        None => unresolved = true,
                    }
                } else if a.name == "AcceptVerbs" {
                    let mut ms = Vec::new();
                    let mut route = None;
                    for (name, v) in &a.args {
                        match name.as_deref() {
                            Some("Route") => route = self.string(*v),
                            _ => {
                                if let Some(m) = self.string(*v) {
                                    ms.push(m.to_ascii_uppercase());
                                }
                            }
                        }
                    }
                    match route {
                        Some(r) => declared.push((ms, Some(r))),
                        None => verbs_only.extend(ms),
                    }
                } else if a.name == "Route" {
                    match self.template_of(a) {
                        Some(Some(t)) => declared.push((Vec::new(), Some(t))),
                        _ => unresolved = true,
                    }
                }
            }
            if unresolved && declared.is_empty() {
                continue;
            }
            // A verb without template combines with the action's `[Route]`s, or stands on
            // the class route alone.
            let mut final_routes: Vec<(Vec<String>, Option<String>)> = Vec::new();
            for (ms, t) in declared {
                if ms.is_empty() {
                    let ms = if verbs_only.is_empty() {
                        vec!["*".to_string()]
                    } else {
                        verbs_only.clone()
                    };
                    final_routes.push((ms, t));
                } else {
                    final_routes.push((ms, t));
                }
            }
            if final_routes.is_empty() && !verbs_only.is_empty() && class_routed {
                final_routes.push((verbs_only.clone(), None));
            }
            if final_routes.is_empty() {
                continue;
            }
            let mut auth = class_auth.clone();
            auth.extend(
                attrs
                    .iter()
                    .filter(|a| AUTH_ATTRS.contains(&a.name.as_str()))
                    .map(|a| a.written.clone()),
            );
            let at = method.child_by_field_name("name").unwrap_or(method);
            for (methods, t) in final_routes {
                let t = t.unwrap_or_default();
                let full: Vec<String> = if let Some(abs) = t.strip_prefix("~/") {
                    vec![join_route("", abs)]
                } else if t.starts_with('/') {
                    vec![join_route("", &t)]
                } else {
                    prefixes.iter().map(|p| join_route(p, &t)).collect()
                };
                for path in full {
                    let path = path
                        .replace("[controller]", &controller)
                        .replace("[action]", &action)
                        .replace("[area]", &area);
                    for m in &methods {
                        routes.push(DeclaredRoute {
                            method: m.clone(),
                            path: template(&path),
                            file: self.file.path.clone(),
                            line: line(at),
                            handler: Some(format!("{class_name}.{action}")),
                            framework: Framework::AspNet,
                            auth: auth.clone(),
                        });
                    }
                }
            }
        }
    }

    /// `app.MapGet(...)` and friends, in every method body and top-level statement of the
    /// file, with `MapGroup` prefixes held in local variables.
    fn minimal_apis(&self, root: Node<'_>, routes: &mut Vec<DeclaredRoute>) {
        // Groups: `var g = x.MapGroup("/p")...;` in order, per file (names are local, but
        // a file rarely reuses one for two different groups).
        let mut groups: HashMap<String, (String, Vec<String>)> = HashMap::new();
        let chained = self.chained_auth(root);
        for node in descendants(root, &["variable_declarator", "invocation_expression"]) {
            if node.kind() == "variable_declarator" {
                let Some(name) = node.child_by_field_name("name") else {
                    continue;
                };
                let Some(value) = named_children(node)
                    .into_iter()
                    .find(|n| n.kind() == "invocation_expression")
                    .or_else(|| {
                        named_children(node)
                            .into_iter()
                            .find(|n| n.kind() == "equals_value_clause")
                            .and_then(|e| e.named_child(0))
                    })
                else {
                    continue;
                };
                if let Some(g) = self.group_of(value, &groups) {
                    groups.insert(text(name, self.src).to_string(), g);
                }
                continue;
            }
            let Some((recv, name, args)) = self.member_call(node) else {
                continue;
            };
            let methods: Vec<String> = match name {
                "MapGet" => vec!["GET".into()],
                "MapPost" => vec!["POST".into()],
                "MapPut" => vec!["PUT".into()],
                "MapDelete" => vec!["DELETE".into()],
                "MapPatch" => vec!["PATCH".into()],
                "Map" => vec!["*".into()],
                "MapMethods" => {
                    // `new[] { "PUT" }`, `["PUT"]`, `[HttpMethods.Options]`.
                    let Some(list) = args.get(1) else { continue };
                    descendants(*list, &["string_literal", "member_access_expression"])
                        .into_iter()
                        .filter_map(|s| {
                            if s.kind() == "string_literal" {
                                return unquote(text(s, self.src));
                            }
                            let owner = text(s.child_by_field_name("expression")?, self.src);
                            let name = text(s.child_by_field_name("name")?, self.src);
                            (owner == "HttpMethods").then(|| name.to_string())
                        })
                        .map(|m| m.to_ascii_uppercase())
                        .collect()
                }
                _ => continue,
            };
            let Some(path) = args.first().and_then(|a| self.string(*a)) else {
                continue;
            };
            let Some((prefix, mut auth)) = self.group_of(recv, &groups).or_else(|| {
                matches!(recv.kind(), "identifier" | "member_access_expression")
                    .then(|| (String::new(), Vec::new()))
            }) else {
                continue;
            };
            if let Some(more) = chained.get(&node.id()) {
                auth.extend(more.iter().cloned());
            }
            let handler = args
                .get(1 + usize::from(name == "MapMethods"))
                .and_then(|h| {
                    matches!(h.kind(), "identifier" | "member_access_expression")
                        .then(|| text(*h, self.src).to_string())
                });
            for m in methods {
                routes.push(DeclaredRoute {
                    method: m,
                    path: template(&join_route(&prefix, &path)),
                    file: self.file.path.clone(),
                    line: line(node),
                    handler: handler.clone(),
                    framework: Framework::AspNet,
                    auth: auth.clone(),
                });
            }
        }
    }

    /// `recv.Name(args)` → (recv, Name, argument expressions).
    fn member_call<'t>(&self, node: Node<'t>) -> Option<(Node<'t>, &'a str, Vec<Node<'t>>)> {
        let f = node.child_by_field_name("function")?;
        if f.kind() != "member_access_expression" {
            return None;
        }
        let recv = f.child_by_field_name("expression")?;
        let name = text(f.child_by_field_name("name")?, self.src);
        let args = node
            .child_by_field_name("arguments")
            .map(named_children)
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a.kind() == "argument")
            .filter_map(|a| a.named_children(&mut a.walk()).last())
            .collect();
        Some((recv, name, args))
    }

    /// The group an expression denotes: a known variable, or `x.MapGroup("/p")` (with
    /// `.RequireAuthorization()` and other calls chained on it), bounded in depth.
    fn group_of(
        &self,
        node: Node<'_>,
        groups: &HashMap<String, (String, Vec<String>)>,
    ) -> Option<(String, Vec<String>)> {
        let mut chain = Vec::new();
        let mut cur = node;
        let mut base = None;
        for _ in 0..32 {
            match cur.kind() {
                "identifier" => {
                    base = groups.get(text(cur, self.src)).cloned();
                    break;
                }
                "invocation_expression" => {
                    let Some((recv, name, args)) = self.member_call(cur) else {
                        break;
                    };
                    chain.push((name, args, cur));
                    cur = recv;
                }
                _ => break,
            }
        }
        // A chain from something that is not a group (`app`) is one only through MapGroup.
        if base.is_none() && !chain.iter().any(|(n, _, _)| *n == "MapGroup") {
            return None;
        }
        let (mut prefix, mut auth) = base.unwrap_or_default();
        for (name, args, call) in chain.into_iter().rev() {
            match name {
                "MapGroup" => {
                    let p = self.string(*args.first()?)?;
                    prefix = join_route(&prefix, &p);
                }
                "RequireAuthorization" => auth.push(self.call_label(call)),
                _ => {}
            }
        }
        Some((prefix, auth))
    }

    /// `RequireAuthorization("policy")`: a call's name and arguments as written.
    fn call_label(&self, call: Node<'_>) -> String {
        let name = call
            .child_by_field_name("function")
            .and_then(|f| f.child_by_field_name("name"))
            .map_or("", |n| text(n, self.src));
        let args = call
            .child_by_field_name("arguments")
            .map_or("()", |a| text(a, self.src));
        format!("{name}{args}")
    }

    /// `.RequireAuthorization(...)` / `.AllowAnonymous()` chained on route declarations:
    /// for each such call, the `Map*` calls down its receiver chain (by node id). Found top
    /// down, so no parent look-ups (each costs the depth).
    fn chained_auth(&self, root: Node<'_>) -> HashMap<usize, Vec<String>> {
        let mut out: HashMap<usize, Vec<String>> = HashMap::new();
        for call in descendants(root, &["invocation_expression"]) {
            let Some((mut recv, name, _)) = self.member_call(call) else {
                continue;
            };
            if name != "RequireAuthorization" && name != "AllowAnonymous" {
                continue;
            }
            let label = self.call_label(call);
            for _ in 0..16 {
                let Some((next, inner, _)) = self.member_call(recv) else {
                    break;
                };
                if inner.starts_with("Map") && inner != "MapGroup" {
                    out.entry(recv.id()).or_default().push(label.clone());
                    break;
                }
                recv = next;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn routes(src: &str) -> Vec<String> {
        let files = [SourceFile {
            path: PathBuf::from("A.cs"),
            text: src.to_string(),
        }];
        let mut r: Vec<_> = scan(&files)
            .into_iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.auth.join(",")))
            .collect();
        r.sort();
        r
    }

    #[test]
    fn attribute_routes_with_tokens_overrides_and_auth() {
        let src = r#"
namespace Shop.Controllers;
[ApiController]
[Route("api/[controller]")]
[Authorize]
public class OrdersController(IMediator m) : ControllerBase
{
    const string Items = "items";
    [HttpGet] public IActionResult List() => Ok();
    [HttpGet("{id:int}")] [AllowAnonymous] public IActionResult Get(int id) => Ok();
    [HttpPost(Items + "/{itemId}")] public IActionResult Add() => Ok();
    [Route("[action]")] [HttpPut] public IActionResult Rename() => Ok();
    [HttpDelete("~/admin/orders/{id}")] public IActionResult Purge() => Ok();
    [AcceptVerbs("GET", "HEAD", Route = "stats")] public IActionResult Stats() => Ok();
    public IActionResult Helper() => Ok();
}
"#;
        assert_eq!(
            routes(src),
            [
                "DELETE /admin/orders/{id} [Authorize]",
                "GET /api/Orders [Authorize]",
                "GET /api/Orders/stats [Authorize]",
                "GET /api/Orders/{id} [Authorize],[AllowAnonymous]",
                "HEAD /api/Orders/stats [Authorize]",
                "POST /api/Orders/items/{itemId} [Authorize]",
                "PUT /api/Orders/Rename [Authorize]",
            ]
        );
    }

    #[test]
    fn minimal_apis_with_groups() {
        let src = r#"
var app = builder.Build();
app.MapGet("/", () => "hi");
var todos = app.MapGroup("/todos").RequireAuthorization();
todos.MapGet("/{id}", GetTodo);
todos.MapPost("/", Create).AllowAnonymous();
app.MapGroup("/api").MapDelete("/x/{id}", Del);
app.MapMethods("/m", new[] { "PUT", "PATCH" }, Handler);
app.MapMethods("/check", [HttpMethods.Options], Check);
"#;
        assert_eq!(
            routes(src),
            [
                "DELETE /api/x/{id} ",
                "GET / ",
                "GET /todos/{id} RequireAuthorization()",
                "OPTIONS /check ",
                "PATCH /m ",
                "POST /todos RequireAuthorization(),AllowAnonymous()",
                "PUT /m ",
            ]
        );
    }
}
