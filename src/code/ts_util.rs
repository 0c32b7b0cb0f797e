//! What the compiled-language scanners (Go, Java, Ruby, C#) share over tree-sitter trees:
//! parsing with a given grammar, a node's text and line without panicking, string literals,
//! and a walk over descendants with an explicit stack (no recursion, so no depth a hostile
//! file can exhaust).

use tree_sitter::Node;

// Parsing (within the scan's time budget, counted in its parse statistics) and a node's text,
// line and named children are the scan driver's, shared by every language.
pub(crate) use super::{line, named_children, parse, text};

/// Every descendant of `root` (itself included) whose kind is in `kinds`, in document order,
/// found with an explicit stack.
pub(crate) fn descendants<'t>(root: Node<'t>, kinds: &[&str]) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if kinds.contains(&node.kind()) {
            found.push(node);
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    found
}

/// The value of a quoted literal as written in most languages: `"x"`, `'x'`, `` `x` ``,
/// C#'s `@"x"`; simple escapes of quotes and backslashes undone. `None` when the text is not
/// one quoted literal.
pub(crate) fn unquote(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw.strip_prefix('@').unwrap_or(raw);
    let mut chars = raw.chars();
    let open = chars.next()?;
    if !matches!(open, '"' | '\'' | '`') || raw.len() < 2 || !raw.ends_with(open) {
        return None;
    }
    let inner = &raw[1..raw.len() - 1];
    if inner.contains(['\n', '\r']) && open != '`' {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' && open != '`' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// A piece of code as a short single line, for `auth` and handler fields: whitespace runs
/// become one space, and more than 160 characters are cut (with `…`).
pub(crate) fn as_written(code: &str) -> String {
    let mut out = String::with_capacity(code.len().min(164));
    for (i, word) in code.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > 160 {
            let mut cut = 160;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

/// Whether a middleware, filter or attribute name, as written, is about authentication or
/// authorisation (`AuthMiddleware(true)`, `jwtMiddleware`, `RequireAdmin()`): the words such
/// names use, matched case-insensitively.
pub(crate) fn looks_like_auth(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "auth",
        "jwt",
        "login",
        "token",
        "session",
        "permission",
        "role",
        "acl",
        "guard",
        "protect",
        "secur",
        "apikey",
        "api_key",
        "bearer",
        "signedin",
        "signed_in",
        "credential",
        "admin",
        "require",
    ];
    let lower = name.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_unquote_and_others_do_not() {
        assert_eq!(unquote("\"/a\"").as_deref(), Some("/a"));
        assert_eq!(unquote("'/b'").as_deref(), Some("/b"));
        assert_eq!(unquote("`/c`").as_deref(), Some("/c"));
        assert_eq!(unquote("@\"/d\"").as_deref(), Some("/d"));
        assert_eq!(unquote("\"a\\\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(unquote("x"), None);
        assert_eq!(unquote("\""), None);
        assert_eq!(unquote("\"a'"), None);
    }

    #[test]
    fn written_code_is_one_short_line() {
        assert_eq!(
            as_written("gin.BasicAuth(gin.Accounts{\n\t\"a\": \"b\",\n})"),
            "gin.BasicAuth(gin.Accounts{ \"a\": \"b\", })"
        );
        assert!(as_written(&"x".repeat(500)).chars().count() <= 161);
    }

    #[test]
    fn auth_names() {
        assert!(looks_like_auth("users.AuthMiddleware(true)"));
        assert!(looks_like_auth("jwtMiddleware"));
        assert!(!looks_like_auth("middleware.Logger()"));
    }
}
