//! Spring MVC / WebFlux routes in Kotlin: the same annotations as in Java ([`super::java`]),
//! read from the Kotlin grammar's tree (`tree-sitter-kotlin-ng`).
//!
//! What is understood: `@GetMapping`, `@PostMapping`, `@PutMapping`, `@DeleteMapping`,
//! `@PatchMapping`, `@RequestMapping` on functions, joined to the class-level
//! `@RequestMapping`; paths positional or as `value =`/`path =`, single or as array
//! literals (`["/a", "/b"]`, `arrayOf(...)`); string templates whose `$NAME` parts are
//! `const val`s of the scanned files, and `+` of those; `method = [RequestMethod.POST]`.
//! `@RequestMapping` without a method binds every method (`*`). `@PreAuthorize`,
//! `@Secured`, `@RolesAllowed` (and `@PermitAll`, `@DenyAll`) on the class or the function
//! are recorded as written. What cannot be resolved drops the route.

use std::collections::HashMap;

use tree_sitter::Node;

use super::ts_util::{as_written, descendants, line, named_children, parse, text};
use super::{DeclaredRoute, Framework, SourceFile, join_route, template};

/// The extensions of the files this scanner reads.
pub const EXTENSIONS: &[&str] = &["kt"];

/// Spring's authorisation annotations are the same in Kotlin.
use super::java::AUTH_ANNOTATIONS;

/// The Spring routes declared in `files` (Kotlin sources; other files are ignored).
pub fn scan(files: &[SourceFile]) -> Vec<DeclaredRoute> {
    let language: tree_sitter::Language = tree_sitter_kotlin_ng::LANGUAGE.into();
    let trees: Vec<_> = files
        .iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "kt"))
        .filter_map(|f| parse(&language, &f.text).map(|t| (f, t)))
        .collect();
    let mut cx = Cx {
        constants: HashMap::new(),
    };
    // `const val NAME = "..."`, in a few rounds so constants may use constants.
    let mut props = Vec::new();
    for (file, tree) in &trees {
        for p in descendants(tree.root_node(), &["property_declaration"]) {
            let src = file.text.as_str();
            let is_const = named_children(p)
                .iter()
                .any(|m| m.kind() == "modifiers" && text(*m, src).contains("const"));
            let name = descendants(p, &["variable_declaration"])
                .first()
                .and_then(|v| v.named_child(0))
                .map(|n| text(n, src).to_string());
            let value = named_children(p)
                .into_iter()
                .rfind(|n| matches!(n.kind(), "string_literal" | "binary_expression"));
            if let (true, Some(name), Some(value)) = (is_const, name, value) {
                props.push((src, name, value));
            }
        }
    }
    for _ in 0..3 {
        for (src, name, value) in &props {
            if let Some(v) = cx.string(*value, src) {
                let entry = cx.constants.entry(name.clone()).or_insert(Some(v.clone()));
                if entry.as_deref() != Some(v.as_str()) {
                    *entry = None;
                }
            }
        }
    }
    let mut routes = Vec::new();
    for (file, tree) in &trees {
        for class in descendants(
            tree.root_node(),
            &["class_declaration", "object_declaration"],
        ) {
            cx.class(class, file, &mut routes);
        }
    }
    routes
}

struct Cx {
    constants: HashMap<String, Option<String>>,
}

struct Annotation<'t> {
    name: String,
    written: String,
    args: Vec<(Option<String>, Node<'t>)>,
}

impl<'t> Annotation<'t> {
    fn arg(&self, keys: &[&str]) -> Option<Node<'t>> {
        self.args
            .iter()
            .find(|(k, _)| k.as_deref().is_some_and(|k| keys.contains(&k)))
            .or_else(|| self.args.iter().find(|(k, _)| k.is_none()))
            .map(|(_, v)| *v)
    }
}

fn mapping_method(name: &str) -> Option<Option<&'static str>> {
    Some(match name {
        "GetMapping" => Some("GET"),
        "PostMapping" => Some("POST"),
        "PutMapping" => Some("PUT"),
        "DeleteMapping" => Some("DELETE"),
        "PatchMapping" => Some("PATCH"),
        "RequestMapping" => None,
        _ => return None,
    })
}

impl Cx {
    /// A string expression: a literal (its `$NAME` parts constants), a constant, a `+`.
    fn string(&self, node: Node<'_>, src: &str) -> Option<String> {
        let mut out = String::new();
        let mut stack = vec![node];
        let mut steps = 0;
        while let Some(n) = stack.pop() {
            steps += 1;
            if steps > 128 {
                return None;
            }
            match n.kind() {
                "string_literal" => out.push_str(&self.literal(n, src)?),
                "identifier" | "navigation_expression" => out.push_str(self.constant(n, src)?),
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

    fn constant(&self, n: Node<'_>, src: &str) -> Option<&str> {
        let t = text(n, src);
        let key = t.rsplit('.').next().unwrap_or(t);
        self.constants.get(key)?.as_deref()
    }

    /// A string literal's value, its templates (`$NAME`, `${NAME}`, `${Obj.NAME}`) filled
    /// from constants. The grammar may give `$NAME` as plain content (a `$` piece, then the
    /// text), so content is gathered and its `$` references expanded here.
    fn literal(&self, node: Node<'_>, src: &str) -> Option<String> {
        let mut out = String::new();
        let mut content = String::new();
        for part in named_children(node) {
            match part.kind() {
                "string_content" => content.push_str(text(part, src)),
                "escape_sequence" => {
                    out.push_str(&self.expand(&std::mem::take(&mut content))?);
                    out.push_str(text(part, src).get(1..).unwrap_or(""));
                }
                "interpolation" => {
                    out.push_str(&self.expand(&std::mem::take(&mut content))?);
                    out.push_str(self.constant(part.named_child(0)?, src)?);
                }
                _ => return None,
            }
        }
        out.push_str(&self.expand(&content)?);
        Some(out)
    }

    /// Expands `$NAME` in literal content; `None` when a name is not a known constant.
    fn expand(&self, content: &str) -> Option<String> {
        let mut out = String::with_capacity(content.len());
        let mut rest = content;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(self.constants.get(&after[..end])?.as_deref()?);
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// The elements of `["/a", "/b"]`, `arrayOf("/a")`, or the one value.
    fn items<'t>(&self, node: Node<'t>, src: &str) -> Vec<Node<'t>> {
        match node.kind() {
            "collection_literal" => named_children(node),
            "call_expression" => {
                let callee = node.named_child(0).map(|c| text(c, src)).unwrap_or("");
                if matches!(callee, "arrayOf" | "listOf") {
                    descendants(node, &["value_argument"])
                        .into_iter()
                        .filter_map(|a| named_children(a).into_iter().last())
                        .collect()
                } else {
                    vec![node]
                }
            }
            _ => vec![node],
        }
    }

    fn annotations<'t>(&self, decl: Node<'t>, src: &str) -> Vec<Annotation<'t>> {
        let mut out = Vec::new();
        let Some(modifiers) = named_children(decl)
            .into_iter()
            .find(|n| n.kind() == "modifiers")
        else {
            return out;
        };
        for a in named_children(modifiers) {
            if a.kind() != "annotation" {
                continue;
            }
            let mut args = Vec::new();
            let mut type_name = "";
            for c in named_children(a) {
                match c.kind() {
                    "constructor_invocation" => {
                        for part in named_children(c) {
                            match part.kind() {
                                "value_arguments" => {
                                    for arg in named_children(part) {
                                        if arg.kind() != "value_argument" {
                                            continue;
                                        }
                                        let kids = named_children(arg);
                                        let value = *kids.last().unwrap_or(&arg);
                                        let name = (kids.len() > 1
                                            && kids[0].kind() == "identifier")
                                            .then(|| text(kids[0], src).to_string());
                                        args.push((name, value));
                                    }
                                }
                                _ => type_name = text(part, src),
                            }
                        }
                    }
                    "use_site_target" => {}
                    _ => type_name = text(c, src),
                }
            }
            let name = type_name.rsplit('.').next().unwrap_or("").to_string();
            out.push(Annotation {
                name,
                written: as_written(text(a, src)),
                args,
            });
        }
        out
    }

    fn paths(&self, ann: &Annotation<'_>, src: &str) -> Option<Vec<String>> {
        let Some(value) = ann.arg(&["value", "path"]) else {
            return Some(vec![String::new()]);
        };
        let mut out = Vec::new();
        for item in self.items(value, src) {
            out.push(self.string(item, src)?);
        }
        if out.is_empty() {
            out.push(String::new());
        }
        Some(out)
    }

    fn methods(&self, ann: &Annotation<'_>, src: &str) -> Vec<String> {
        let Some(value) = ann
            .args
            .iter()
            .find(|(k, _)| k.as_deref() == Some("method"))
            .map(|(_, v)| *v)
        else {
            return Vec::new();
        };
        self.items(value, src)
            .into_iter()
            .filter_map(|n| {
                let t = text(n, src).rsplit('.').next().unwrap_or("").trim();
                const KNOWN: &[&str] = &[
                    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE",
                ];
                KNOWN.contains(&t).then(|| t.to_string())
            })
            .collect()
    }

    fn class(&self, class: Node<'_>, file: &SourceFile, routes: &mut Vec<DeclaredRoute>) {
        let src = file.text.as_str();
        let class_name = class
            .child_by_field_name("name")
            .map(|n| text(n, src).to_string())
            .unwrap_or_default();
        let anns = self.annotations(class, src);
        let mut prefixes = vec![String::new()];
        let mut class_methods = Vec::new();
        if let Some(m) = anns.iter().find(|a| a.name == "RequestMapping") {
            match self.paths(m, src) {
                Some(p) => prefixes = p,
                None => return,
            }
            class_methods = self.methods(m, src);
        }
        let class_auth: Vec<String> = anns
            .iter()
            .filter(|a| AUTH_ANNOTATIONS.contains(&a.name.as_str()))
            .map(|a| a.written.clone())
            .collect();
        let Some(body) = named_children(class)
            .into_iter()
            .find(|n| n.kind() == "class_body")
        else {
            return;
        };
        for f in named_children(body) {
            if f.kind() != "function_declaration" {
                continue;
            }
            let anns = self.annotations(f, src);
            let Some((mapping, fixed)) = anns
                .iter()
                .find_map(|a| mapping_method(&a.name).map(|m| (a, m)))
            else {
                continue;
            };
            let Some(paths) = self.paths(mapping, src) else {
                continue;
            };
            let methods = match fixed {
                Some(m) => vec![m.to_string()],
                None => {
                    let m = self.methods(mapping, src);
                    if !m.is_empty() {
                        m
                    } else if !class_methods.is_empty() {
                        class_methods.clone()
                    } else {
                        vec!["*".to_string()]
                    }
                }
            };
            let mut auth = class_auth.clone();
            auth.extend(
                anns.iter()
                    .filter(|a| AUTH_ANNOTATIONS.contains(&a.name.as_str()))
                    .map(|a| a.written.clone()),
            );
            let name = f.child_by_field_name("name");
            let handler = name.map(|n| format!("{class_name}.{}", text(n, src)));
            for prefix in &prefixes {
                for path in &paths {
                    for m in &methods {
                        routes.push(DeclaredRoute {
                            method: m.clone(),
                            path: template(&join_route(prefix, path)),
                            file: file.path.clone(),
                            line: line(name.unwrap_or(f)),
                            handler: handler.clone(),
                            framework: Framework::Spring,
                            auth: auth.clone(),
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn kotlin_mappings_with_templates_and_arrays() {
        let src = r#"
package shop

const val BASE = "/api"

@RestController
@RequestMapping("$BASE/owners/{ownerId}")
@PreAuthorize("isAuthenticated()")
class OwnerController(val repo: Repo) {
    @GetMapping(value = ["/pets", "/animals"])
    fun pets(): List<Pet> = repo.all()

    @RequestMapping(path = ["/pets/{id}"], method = [RequestMethod.PUT])
    @Secured("ROLE_ADMIN")
    fun update(@PathVariable id: Long) {}

    @RequestMapping("/any")
    fun any() {}

    @PostMapping
    fun create() {}

    fun helper() {}
}
"#;
        let files = [SourceFile {
            path: PathBuf::from("Owner.kt"),
            text: src.to_string(),
        }];
        let routes = scan(&files);
        let mut got: Vec<String> = routes
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                "* /api/owners/{ownerId}/any",
                "GET /api/owners/{ownerId}/animals",
                "GET /api/owners/{ownerId}/pets",
                "POST /api/owners/{ownerId}",
                "PUT /api/owners/{ownerId}/pets/{id}",
            ]
        );
        let put = routes.iter().find(|r| r.method == "PUT").unwrap();
        assert_eq!(
            put.auth,
            [
                "@PreAuthorize(\"isAuthenticated()\")",
                "@Secured(\"ROLE_ADMIN\")"
            ]
        );
        assert_eq!(put.handler.as_deref(), Some("OwnerController.update"));
    }
}
