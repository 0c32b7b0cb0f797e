//! What the JSON log formats share: a line read as one JSON object, values read the way log
//! writers give them (strings or numbers, `""`, `"-"` and `null` meaning absent), and header
//! maps (`{"Name": "value"}` or `{"Name": ["value", ...]}`).

use serde_json::{Map, Value};

/// One log line, a JSON object.
#[derive(Debug)]
pub(crate) struct JsonLine(Map<String, Value>);

/// A header value a logger hid: Kong and Traefik write `REDACTED` (Caddy an empty list). It is
/// dropped, never taken for the value.
const REDACTED: &str = "REDACTED";

impl JsonLine {
    /// The line as an object; anything else (truncated, not JSON, an array) is a syntax error.
    pub(crate) fn parse(line: &str) -> Result<JsonLine, super::Skip> {
        serde_json::from_str(line)
            .map(JsonLine)
            .map_err(|_| super::Skip::Syntax)
    }

    /// Refuses (as not of the format: a syntax error) a line that lacks any of `paths`: the
    /// keys that tell a format's lines from the other JSON logs'.
    pub(crate) fn require(&self, paths: &[&[&str]]) -> Result<(), super::Skip> {
        match paths.iter().all(|p| self.get(p).is_some()) {
            true => Ok(()),
            false => Err(super::Skip::Syntax),
        }
    }

    /// The value at `path` (keys of nested objects).
    pub(crate) fn get(&self, path: &[&str]) -> Option<&Value> {
        let (last, parents) = path.split_last()?;
        let mut obj = &self.0;
        for k in parents {
            obj = obj.get(*k)?.as_object()?;
        }
        obj.get(*last)
    }

    /// The value at `path` as text (see [`text`]).
    pub(crate) fn text(&self, path: &[&str]) -> Option<String> {
        self.get(path).and_then(text)
    }

    /// The members of the top-level object, in the line's order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The object at `path`.
    pub(crate) fn object(&self, path: &[&str]) -> Option<&Map<String, Value>> {
        self.get(path)?.as_object()
    }
}

/// A string or a number as text; `""`, `"-"`, `null` and other shapes are absent.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.is_empty() || s == "-" => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The fields of a header map, in the map's order: a value may be a string or a list of strings
/// (one field each). Empty and redacted values are dropped.
pub(crate) fn headers(map: &Map<String, Value>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, value) in map {
        let values: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            v => vec![v],
        };
        for v in values {
            if let Some(v) = v.as_str().filter(|v| !v.is_empty() && *v != REDACTED) {
                out.push((name.as_bytes().to_vec(), v.as_bytes().to_vec()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_headers() {
        let l = JsonLine::parse(
            r#"{"a":{"b":"x","n":5,"e":"","d":"-","z":null},"h":{"Accept":["*/*","a/b"],"Authorization":[],"X":"y","Cookie":"REDACTED"}}"#,
        )
        .unwrap();
        assert_eq!(l.text(&["a", "b"]).as_deref(), Some("x"));
        assert_eq!(l.text(&["a", "n"]).as_deref(), Some("5"));
        for k in ["e", "d", "z", "missing"] {
            assert_eq!(l.text(&["a", k]), None, "{k}");
        }
        assert_eq!(l.text(&["a", "b", "c"]), None);
        let h = headers(l.object(&["h"]).unwrap());
        let names: Vec<&[u8]> = h.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(names, [&b"Accept"[..], b"Accept", b"X"]);
        assert!(JsonLine::parse("[1]").is_err());
        assert!(JsonLine::parse(r#"{"a":"#).is_err());
    }
}
