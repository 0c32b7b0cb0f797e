//! Spring MVC / WebFlux routes in Java: mapping annotations on controller methods, joined to
//! the class-level `@RequestMapping`.
//!
//! What is understood: `@GetMapping`, `@PostMapping`, `@PutMapping`, `@DeleteMapping`,
//! `@PatchMapping` and `@RequestMapping` on methods; `@RequestMapping` on the class (its path
//! prefixes every method; its `method` applies where a method names none); paths given
//! positionally or as `value =`/`path =`, single or as arrays (`{"/a", "/b"}`, one route
//! each), string constants (`static final String` fields of any scanned class, by bare or
//! `Class.NAME` reference) and concatenations of those; `method = RequestMethod.POST`,
//! `method = POST` (static import) or an array of them. `@RequestMapping` without a method is
//! bound to every method (`*`). Authorisation annotations (`@PreAuthorize`, `@Secured`,
//! `@RolesAllowed`, `@PermitAll`, `@DenyAll`) on the class or the method are recorded as
//! written. A path the scanner cannot resolve (a constant from a library, a method call)
//! drops that route rather than guessing it.

use std::collections::HashMap;

use tree_sitter::Node;

use super::ts_util::{as_written, descendants, line, named_children, parse, text, unquote};
use super::{DeclaredRoute, Framework, SourceFile, join_route, template};

/// The extensions of the files this scanner reads.
pub const EXTENSIONS: &[&str] = &["java"];

/// Annotation names that record authorisation on a route (Java and Kotlin).
pub(super) const AUTH_ANNOTATIONS: &[&str] = &[
    "PreAuthorize",
    "PostAuthorize",
    "Secured",
    "RolesAllowed",
    "PermitAll",
    "DenyAll",
];

/// The Spring routes declared in `files` (Java sources; other files are ignored).
pub fn scan(files: &[SourceFile]) -> Vec<DeclaredRoute> {
    let language: tree_sitter::Language = tree_sitter_java::LANGUAGE.into();
    let trees: Vec<_> = files
        .iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "java"))
        .filter_map(|f| parse(&language, &f.text).map(|t| (f, t)))
        .collect();
    // String constants first, from every file, so a controller may use another class's.
    let mut constants = Constants::default();
    for (file, tree) in &trees {
        constants.collect(tree.root_node(), &file.text);
    }
    let mut routes = Vec::new();
    for (file, tree) in &trees {
        let src = file.text.as_str();
        for class in descendants(
            tree.root_node(),
            &["class_declaration", "interface_declaration"],
        ) {
            scan_class(class, src, file, &constants, &mut routes);
        }
    }
    routes
}

/// `static final String` fields: by bare name and by `Class.NAME`. A name defined twice
/// with different values is ambiguous and dropped.
#[derive(Default)]
struct Constants {
    values: HashMap<String, Option<String>>,
}

impl Constants {
    fn collect(&mut self, root: Node<'_>, src: &str) {
        // (class name, field name, value), found with a stack that carries the enclosing
        // class (no parent look-ups, which cost the depth each).
        let mut found = Vec::new();
        let mut stack = vec![(root, None::<String>)];
        while let Some((node, class)) = stack.pop() {
            let kind = node.kind();
            if matches!(kind, "field_declaration" | "constant_declaration") {
                for decl in named_children(node) {
                    if decl.kind() != "variable_declarator" {
                        continue;
                    }
                    if let (Some(name), Some(value)) = (
                        decl.child_by_field_name("name"),
                        decl.child_by_field_name("value"),
                    ) {
                        found.push((class.clone(), text(name, src).to_string(), value));
                    }
                }
                continue;
            }
            let inner = if matches!(
                kind,
                "class_declaration" | "interface_declaration" | "enum_declaration"
            ) {
                node.child_by_field_name("name")
                    .map(|n| text(n, src).to_string())
            } else {
                class.clone()
            };
            for child in named_children(node).into_iter().rev() {
                stack.push((child, inner.clone()));
            }
        }
        // Constants may refer to constants: resolve in a few rounds, not recursively.
        for _ in 0..3 {
            for (class, name, value) in &found {
                if let Some(v) = self.resolve(*value, src) {
                    self.insert(name.clone(), v.clone());
                    if let Some(class) = class {
                        self.insert(format!("{class}.{name}"), v);
                    }
                }
            }
        }
    }

    fn insert(&mut self, key: String, value: String) {
        match self.values.get(&key) {
            Some(Some(old)) if *old != value => {
                self.values.insert(key, None);
            }
            Some(None) => {}
            _ => {
                self.values.insert(key, Some(value));
            }
        }
    }

    /// A string expression's value: a literal, a known constant, or a `+` of those.
    fn resolve(&self, node: Node<'_>, src: &str) -> Option<String> {
        // Concatenations are flattened with a stack of operands, left to right.
        let mut out = String::new();
        let mut stack = vec![node];
        let mut steps = 0;
        while let Some(n) = stack.pop() {
            steps += 1;
            if steps > 256 {
                return None;
            }
            match n.kind() {
                "string_literal" => out.push_str(&unquote(text(n, src))?),
                "parenthesized_expression" => stack.push(n.named_child(0)?),
                "binary_expression" => {
                    let op = n.child_by_field_name("operator")?;
                    if text(op, src) != "+" {
                        return None;
                    }
                    stack.push(n.child_by_field_name("right")?);
                    stack.push(n.child_by_field_name("left")?);
                }
                "identifier" | "field_access" | "scoped_identifier" => {
                    let key = text(n, src);
                    let v = self
                        .values
                        .get(key)
                        .or_else(|| {
                            // `a.b.Class.NAME`: try the last two segments.
                            let mut parts = key.rsplitn(3, '.');
                            let last = parts.next()?;
                            let class = parts.next()?;
                            self.values.get(&format!("{class}.{last}"))
                        })?
                        .as_ref()?;
                    out.push_str(v);
                }
                _ => return None,
            }
        }
        Some(out)
    }
}

/// An annotation as the scanner reads it: its simple name, its positional value (the one
/// `value`) and its named arguments.
struct Annotation<'t> {
    name: String,
    written: String,
    positional: Option<Node<'t>>,
    named: Vec<(String, Node<'t>)>,
}

impl<'t> Annotation<'t> {
    fn arg(&self, keys: &[&str]) -> Option<Node<'t>> {
        self.named
            .iter()
            .find(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, v)| *v)
    }
}

fn annotations<'t>(declaration: Node<'t>, src: &str) -> Vec<Annotation<'t>> {
    let mut out = Vec::new();
    let Some(modifiers) = named_children(declaration)
        .into_iter()
        .find(|n| n.kind() == "modifiers")
    else {
        return out;
    };
    for a in named_children(modifiers) {
        if !matches!(a.kind(), "annotation" | "marker_annotation") {
            continue;
        }
        let Some(name) = a.child_by_field_name("name") else {
            continue;
        };
        let name = text(name, src).rsplit('.').next().unwrap_or("").to_string();
        let mut ann = Annotation {
            name,
            written: as_written(text(a, src)),
            positional: None,
            named: Vec::new(),
        };
        if let Some(args) = a.child_by_field_name("arguments") {
            for arg in named_children(args) {
                if arg.kind() == "element_value_pair" {
                    if let (Some(k), Some(v)) = (
                        arg.child_by_field_name("key"),
                        arg.child_by_field_name("value"),
                    ) {
                        ann.named.push((text(k, src).to_string(), v));
                    }
                } else if arg.kind() != "comment" {
                    ann.positional = Some(arg);
                }
            }
        }
        out.push(ann);
    }
    out
}

/// The HTTP method a mapping annotation names by itself, or `None` for `@RequestMapping`
/// and anything that is not a mapping.
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

/// The paths of a mapping annotation: `[""]` when it names none (the class path alone), an
/// empty list when one of them cannot be resolved (the route is dropped).
fn mapping_paths(ann: &Annotation<'_>, src: &str, constants: &Constants) -> Option<Vec<String>> {
    let Some(value) = ann.arg(&["value", "path"]).or(ann.positional) else {
        return Some(vec![String::new()]);
    };
    let items = if value.kind() == "element_value_array_initializer" {
        named_children(value)
            .into_iter()
            .filter(|n| n.kind() != "comment")
            .collect()
    } else {
        vec![value]
    };
    let mut paths = Vec::with_capacity(items.len());
    for item in items {
        paths.push(constants.resolve(item, src)?);
    }
    if paths.is_empty() {
        paths.push(String::new());
    }
    Some(paths)
}

/// The `method =` of a `@RequestMapping`: `RequestMethod.POST`, `POST`, or an array.
fn request_methods(ann: &Annotation<'_>, src: &str) -> Vec<String> {
    let Some(value) = ann.arg(&["method"]) else {
        return Vec::new();
    };
    let items = if value.kind() == "element_value_array_initializer" {
        named_children(value)
    } else {
        vec![value]
    };
    items
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

fn scan_class(
    class: Node<'_>,
    src: &str,
    file: &SourceFile,
    constants: &Constants,
    routes: &mut Vec<DeclaredRoute>,
) {
    let class_name = class
        .child_by_field_name("name")
        .map(|n| text(n, src).to_string())
        .unwrap_or_default();
    let class_anns = annotations(class, src);
    let mut prefixes = vec![String::new()];
    let mut class_methods = Vec::new();
    if let Some(mapping) = class_anns.iter().find(|a| a.name == "RequestMapping") {
        match mapping_paths(mapping, src, constants) {
            Some(p) => prefixes = p,
            // The class prefix is unknown: every route under it would be wrong.
            None => return,
        }
        class_methods = request_methods(mapping, src);
    }
    let class_auth: Vec<String> = class_anns
        .iter()
        .filter(|a| AUTH_ANNOTATIONS.contains(&a.name.as_str()))
        .map(|a| a.written.clone())
        .collect();
    let Some(body) = class.child_by_field_name("body") else {
        return;
    };
    for method in named_children(body) {
        if method.kind() != "method_declaration" {
            continue;
        }
        let anns = annotations(method, src);
        let Some((mapping, fixed)) = anns
            .iter()
            .find_map(|a| mapping_method(&a.name).map(|m| (a, m)))
        else {
            continue;
        };
        let Some(paths) = mapping_paths(mapping, src, constants) else {
            continue;
        };
        let methods: Vec<String> = match fixed {
            Some(m) => vec![m.to_string()],
            None => {
                let m = request_methods(mapping, src);
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
        let handler = method
            .child_by_field_name("name")
            .map(|n| format!("{class_name}.{}", text(n, src)));
        for prefix in &prefixes {
            for path in &paths {
                for m in &methods {
                    routes.push(DeclaredRoute {
                        method: m.clone(),
                        path: template(&join_route(prefix, path)),
                        file: file.path.clone(),
                        line: line(mapping_line_node(method)),
                        handler: handler.clone(),
                        framework: Framework::Spring,
                        auth: auth.clone(),
                    });
                }
            }
        }
    }
}

/// The line a method's route is reported at: the method's name (annotations above it are
/// part of the declaration node).
fn mapping_line_node(method: Node<'_>) -> Node<'_> {
    method.child_by_field_name("name").unwrap_or(method)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn routes(src: &str) -> Vec<(String, String)> {
        let files = [SourceFile {
            path: PathBuf::from("A.java"),
            text: src.to_string(),
        }];
        let mut r: Vec<_> = scan(&files)
            .into_iter()
            .map(|r| (r.method, r.path))
            .collect();
        r.sort();
        r
    }

    #[test]
    fn class_prefix_arrays_constants_and_methods() {
        let src = r#"
            @RestController
            @RequestMapping(Paths.BASE + "/owners/{ownerId}")
            class Owners {
                @GetMapping({"/pets", "/animals"}) List<Pet> list() {}
                @RequestMapping(value = "/pets/{id:[0-9]+}", method = {RequestMethod.PUT, RequestMethod.PATCH})
                void update() {}
                @RequestMapping(path = "x", method = POST) void x() {}
                @RequestMapping("/any") void any() {}
                @PostMapping void create() {}
                void helper() {}
            }
            class Paths { static final String BASE = "/api"; }
        "#;
        assert_eq!(
            routes(src),
            [
                ("*", "/api/owners/{ownerId}/any"),
                ("GET", "/api/owners/{ownerId}/animals"),
                ("GET", "/api/owners/{ownerId}/pets"),
                ("PATCH", "/api/owners/{ownerId}/pets/{id}"),
                ("POST", "/api/owners/{ownerId}"),
                ("POST", "/api/owners/{ownerId}/x"),
                ("PUT", "/api/owners/{ownerId}/pets/{id}"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn unresolvable_paths_are_dropped_and_auth_is_kept() {
        let src = r#"
            @RestController @PreAuthorize("isAuthenticated()")
            class A {
                @GetMapping(SomeLibrary.PATH) void a() {}
                @Secured("ROLE_ADMIN") @DeleteMapping("/b") void b() {}
            }
        "#;
        let files = [SourceFile {
            path: PathBuf::from("A.java"),
            text: src.to_string(),
        }];
        let r = scan(&files);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].path, "/b");
        assert_eq!(r[0].handler.as_deref(), Some("A.b"));
        assert_eq!(
            r[0].auth,
            [
                "@PreAuthorize(\"isAuthenticated()\")",
                "@Secured(\"ROLE_ADMIN\")"
            ]
        );
    }
}
