//! Shape of `application/x-www-form-urlencoded` bodies and query strings.
//!
//! [`infer_form`] parses `a=1&b=x` (percent-decoding names and values, `+` as space) and
//! records, per field name, the scalar types its values looked like ([`ScalarType`]), how
//! often it was present, how often empty, and whether it repeated within one sample
//! (`tag=a&tag=b`, or PHP-style `tag[]=a`). [`merge_form`] folds samples together and
//! [`form_to_json_schema`] renders a JSON Schema object. [`infer_form_pairs`] reads pairs
//! split and decoded already ([`super::request::Pairs`], shared with the other analyses).
//!
//! Value typing ([`infer_scalar`]): `true`/`false` (any case) → boolean; decimal integers
//! without leading zeros (`0`, `42`, `-7`, at most 18 digits) → integer, so zip codes and
//! zero-padded ids (`007`) stay strings; decimals (`1.5`, `-0.25`, `1e3`) → number; then
//! date, RFC 3339 date-time, UUID, email; anything else → string. Empty values add no type.
//!
//! Schema typing of a field: one kind → that kind (`string` with `format` for date,
//! date-time, uuid, email); integer + number → number; any other mix, or only empty values
//! → string. Repeated fields become arrays of that type.
//!
//! Bounds: at most [`MAX_FORM_FIELDS`] fields per shape, [`MAX_FORM_PAIRS`] pairs parsed
//! per sample, names cut to [`MAX_FORM_KEY_LEN`] bytes, values longer than
//! [`MAX_FORM_VALUE_INSPECT`] bytes typed as strings without inspection; all counted.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::request::Pairs;
use super::util::{is_date, is_rfc3339_datetime, is_uuid, percent_decode, truncate_str};

/// Fields per [`FormShape`].
pub const MAX_FORM_FIELDS: usize = 200;
/// `name=value` pairs parsed per sample.
pub const MAX_FORM_PAIRS: usize = 1000;
/// Field names are cut to this many bytes.
pub const MAX_FORM_KEY_LEN: usize = 128;
/// Longer values are typed as strings without inspection.
pub const MAX_FORM_VALUE_INSPECT: usize = 1024;

/// The scalar type a form value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalarType {
    /// Decimal integer.
    Integer,
    /// Decimal number with a fraction or exponent.
    Number,
    /// `true` / `false`.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 date-time.
    DateTime,
    /// UUID.
    Uuid,
    /// Email address.
    Email,
    /// Anything else.
    String,
}

impl ScalarType {
    /// Every scalar type.
    pub const ALL: [ScalarType; 8] = [
        ScalarType::Integer,
        ScalarType::Number,
        ScalarType::Boolean,
        ScalarType::Date,
        ScalarType::DateTime,
        ScalarType::Uuid,
        ScalarType::Email,
        ScalarType::String,
    ];

    /// Stable name (`integer`, `number`, `boolean`, `date`, `date-time`, `uuid`, `email`,
    /// `string`).
    pub fn name(&self) -> &'static str {
        match self {
            ScalarType::Integer => "integer",
            ScalarType::Number => "number",
            ScalarType::Boolean => "boolean",
            ScalarType::Date => "date",
            ScalarType::DateTime => "date-time",
            ScalarType::Uuid => "uuid",
            ScalarType::Email => "email",
            ScalarType::String => "string",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// JSON Schema `(type, format)` for a field of only this kind.
    fn schema(self) -> (&'static str, Option<&'static str>) {
        match self {
            ScalarType::Integer => ("integer", None),
            ScalarType::Number => ("number", None),
            ScalarType::Boolean => ("boolean", None),
            ScalarType::Date => ("string", Some("date")),
            ScalarType::DateTime => ("string", Some("date-time")),
            ScalarType::Uuid => ("string", Some("uuid")),
            ScalarType::Email => ("string", Some("email")),
            ScalarType::String => ("string", None),
        }
    }
}

/// A set of [`ScalarType`]s (a bit set; serialised as its bits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScalarSet(pub u8);

impl ScalarSet {
    /// Adds a type.
    pub fn insert(&mut self, t: ScalarType) {
        self.0 |= t.bit();
    }

    /// Whether the set holds `t`.
    pub fn contains(&self, t: ScalarType) -> bool {
        self.0 & t.bit() != 0
    }

    /// The types.
    pub fn types(&self) -> Vec<ScalarType> {
        ScalarType::ALL
            .into_iter()
            .filter(|t| self.contains(*t))
            .collect()
    }

    /// The one kind a field of these types should be described as (see the module docs).
    pub fn unified(&self) -> ScalarType {
        match self.types().as_slice() {
            [one] => *one,
            [ScalarType::Integer, ScalarType::Number] => ScalarType::Number,
            _ => ScalarType::String,
        }
    }
}

fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s).as_bytes();
    !d.is_empty()
        && d.len() <= 18
        && d.iter().all(u8::is_ascii_digit)
        && (d.len() == 1 || d.first() != Some(&b'0'))
}

fn is_number(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    b.len() <= 64
        && b.first().is_some_and(u8::is_ascii_digit)
        && b.iter()
            .all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        && b.iter().any(|&c| matches!(c, b'.' | b'e' | b'E'))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The scalar type of one decoded value; `None` for an empty value.
pub fn infer_scalar(value: &str) -> Option<ScalarType> {
    if value.is_empty() {
        return None;
    }
    if value.len() > MAX_FORM_VALUE_INSPECT {
        return Some(ScalarType::String);
    }
    let t = if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
        ScalarType::Boolean
    } else if is_integer(value) {
        ScalarType::Integer
    } else if is_number(value) {
        ScalarType::Number
    } else if is_date(value) {
        ScalarType::Date
    } else if is_rfc3339_datetime(value) {
        ScalarType::DateTime
    } else if is_uuid(value) {
        ScalarType::Uuid
    } else if value.contains('@') && super::sensitive::is_valid_email(value) {
        ScalarType::Email
    } else {
        ScalarType::String
    };
    Some(t)
}

/// What was seen for one form field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// Types of the non-empty values.
    pub types: ScalarSet,
    /// Samples that had the field.
    pub present: u64,
    /// Values that were empty (`a=` or a bare `a`).
    pub empty: u64,
    /// The field appeared more than once in one sample (or with a `[]` suffix).
    pub repeated: bool,
}

/// What the caps dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormCaps {
    /// Fields not recorded because of [`MAX_FORM_FIELDS`].
    pub fields_dropped: u64,
    /// Pairs not parsed because of [`MAX_FORM_PAIRS`].
    pub pairs_skipped: u64,
    /// Names cut to [`MAX_FORM_KEY_LEN`].
    pub keys_truncated: u64,
    /// Values typed as strings without inspection ([`MAX_FORM_VALUE_INSPECT`]).
    pub values_uninspected: u64,
}

/// The shape of one or more form bodies / query strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormShape {
    /// Fields by decoded name.
    pub fields: BTreeMap<String, FormField>,
    /// Samples folded in.
    pub samples: u64,
    /// What the caps dropped.
    pub caps: FormCaps,
}

/// The shape of one urlencoded body or query string (a leading `?` and any `#fragment`
/// are ignored).
pub fn infer_form(input: &str) -> FormShape {
    let input = input.strip_prefix('?').unwrap_or(input);
    let input = input.split('#').next().unwrap_or("");
    infer_pairs(&Pairs::parse(input))
}

/// [`infer_form`] of text split and decoded already ([`Pairs::parse`]; a query of a transaction's
/// [`super::request::RequestView`], or a form body).
pub fn infer_form_pairs(p: &Pairs<'_>) -> FormShape {
    if p.is_plain() {
        infer_pairs(p)
    } else {
        infer_form(p.raw)
    }
}

// The form's cap is the pairs' cap: what `Pairs` leaves undecoded is what the form skips.
const _: () = assert!(super::request::MAX_PAIRS == MAX_FORM_PAIRS);

fn infer_pairs(p: &Pairs<'_>) -> FormShape {
    let mut shape = FormShape {
        samples: 1,
        ..FormShape::default()
    };
    shape.caps.pairs_skipped = p.beyond;
    // Fields seen in this sample, to detect repeats (bounded by MAX_FORM_FIELDS).
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for pair in &p.pairs {
        // The name decoded already, unless only a bounded prefix of it is read here.
        let name = if pair.raw_name.len() <= MAX_FORM_KEY_LEN * 3 {
            Cow::Borrowed(&*pair.name)
        } else {
            percent_decode(truncate_str(pair.raw_name, MAX_FORM_KEY_LEN * 3), true)
        };
        if name.len() > MAX_FORM_KEY_LEN {
            shape.caps.keys_truncated += 1;
        }
        let mut name = truncate_str(&name, MAX_FORM_KEY_LEN).to_string();
        let mut bracket_array = false;
        if let Some(stripped) = name.strip_suffix("[]") {
            name = stripped.to_string();
            bracket_array = true;
        }
        if name.is_empty() {
            continue;
        }
        let kind = if pair.raw_value.len() > MAX_FORM_VALUE_INSPECT * 3 {
            shape.caps.values_uninspected += 1;
            Some(ScalarType::String)
        } else {
            let value = &pair.value;
            if value.len() > MAX_FORM_VALUE_INSPECT {
                shape.caps.values_uninspected += 1;
            }
            infer_scalar(value)
        };
        if !shape.fields.contains_key(&name) && shape.fields.len() >= MAX_FORM_FIELDS {
            shape.caps.fields_dropped += 1;
            continue;
        }
        let count = seen.entry(name.clone()).or_insert(0);
        *count += 1;
        let first_in_sample = *count == 1;
        let field = shape.fields.entry(name).or_default();
        if first_in_sample {
            field.present += 1;
        } else {
            field.repeated = true;
        }
        field.repeated |= bracket_array;
        match kind {
            Some(t) => field.types.insert(t),
            None => field.empty += 1,
        }
    }
    shape
}

/// Folds two form shapes together.
pub fn merge_form(a: &FormShape, b: &FormShape) -> FormShape {
    let mut out = a.clone();
    out.samples += b.samples;
    out.caps.fields_dropped += b.caps.fields_dropped;
    out.caps.pairs_skipped += b.caps.pairs_skipped;
    out.caps.keys_truncated += b.caps.keys_truncated;
    out.caps.values_uninspected += b.caps.values_uninspected;
    for (k, f) in &b.fields {
        if !out.fields.contains_key(k) && out.fields.len() >= MAX_FORM_FIELDS {
            out.caps.fields_dropped += 1;
            continue;
        }
        let d = out.fields.entry(k.clone()).or_default();
        d.types.0 |= f.types.0;
        d.present += f.present;
        d.empty += f.empty;
        d.repeated |= f.repeated;
    }
    out
}

/// A JSON Schema object for a form shape: `properties` with scalar types (arrays for
/// repeated fields), and `required` for fields present in `samples` samples.
pub fn form_to_json_schema(shape: &FormShape, samples: u64) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (k, f) in &shape.fields {
        let (ty, format) = f.types.unified().schema();
        let mut scalar = Map::new();
        scalar.insert("type".into(), json!(ty));
        if let Some(fmt) = format {
            scalar.insert("format".into(), json!(fmt));
        }
        let schema = if f.repeated {
            json!({"type": "array", "items": Value::Object(scalar)})
        } else {
            Value::Object(scalar)
        };
        props.insert(k.clone(), schema);
        if samples > 0 && f.present >= samples {
            required.push(json!(k));
        }
    }
    let mut m = Map::new();
    m.insert("type".into(), json!("object"));
    m.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        m.insert("required".into(), Value::Array(required));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_inference() {
        use ScalarType::*;
        for (v, t) in [
            ("42", Integer),
            ("0", Integer),
            ("-7", Integer),
            ("007", String),
            ("02139", String),
            ("1234567890123456789", String),
            ("1.5", Number),
            ("-0.25", Number),
            ("1e3", Number),
            ("1.2.3", String),
            ("inf", String),
            ("NaN", String),
            (".5", String),
            ("true", Boolean),
            ("FALSE", Boolean),
            ("yes", String),
            ("2024-03-01", Date),
            ("2024-03-01T10:00:00Z", DateTime),
            ("3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10", Uuid),
            ("a@example.com", Email),
            ("hello world", String),
        ] {
            assert_eq!(infer_scalar(v), Some(t), "{v}");
        }
        assert_eq!(infer_scalar(""), None);
        assert_eq!(infer_scalar(&"1".repeat(5000)), Some(String));
    }

    #[test]
    fn parses_query_strings_and_bodies() {
        let s = infer_form(
            "?page=2&q=red+shoes&since=2024-01-01&id=3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10&email=a%40example.com&flag&tag=a&tag=b&ids[]=1&ids[]=2#frag",
        );
        let f = |k: &str| s.fields.get(k).cloned().unwrap_or_default();
        assert_eq!(f("page").types.types(), [ScalarType::Integer]);
        assert_eq!(f("q").types.types(), [ScalarType::String]);
        assert_eq!(f("since").types.types(), [ScalarType::Date]);
        assert_eq!(f("id").types.types(), [ScalarType::Uuid]);
        assert_eq!(f("email").types.types(), [ScalarType::Email]);
        assert_eq!(f("flag").empty, 1);
        assert!(f("tag").repeated);
        assert_eq!(f("tag").present, 1);
        assert!(f("ids").repeated);
        assert!(!s.fields.contains_key("ids[]"));
        assert!(!s.fields.contains_key("frag"));
        let schema = form_to_json_schema(&s, 1);
        assert_eq!(schema["properties"]["page"], json!({"type": "integer"}));
        assert_eq!(
            schema["properties"]["since"],
            json!({"type": "string", "format": "date"})
        );
        assert_eq!(
            schema["properties"]["email"],
            json!({"type": "string", "format": "email"})
        );
        assert_eq!(schema["properties"]["flag"], json!({"type": "string"}));
        assert_eq!(
            schema["properties"]["ids"],
            json!({"type": "array", "items": {"type": "integer"}})
        );
        assert_eq!(schema["type"], "object");
    }

    #[test]
    fn merging_widens_types_and_tracks_required() {
        let a = infer_form("n=1&x=1&d=2024-01-01");
        let b = infer_form("n=2.5&d=2024-01-02T00:00:00Z");
        let m = merge_form(&a, &b);
        assert_eq!(m.samples, 2);
        let schema = form_to_json_schema(&m, m.samples);
        assert_eq!(schema["properties"]["n"], json!({"type": "number"}));
        assert_eq!(schema["properties"]["d"], json!({"type": "string"}));
        assert_eq!(schema["properties"]["x"], json!({"type": "integer"}));
        assert_eq!(schema["required"], json!(["d", "n"]));
        let c = infer_form("n=abc");
        let m = merge_form(&m, &c);
        assert_eq!(
            form_to_json_schema(&m, 3)["properties"]["n"],
            json!({"type": "string"})
        );
    }

    #[test]
    fn caps_are_enforced() {
        let many: Vec<String> = (0..5000).map(|i| format!("f{i}=1")).collect();
        let s = infer_form(&many.join("&"));
        assert_eq!(s.fields.len(), MAX_FORM_FIELDS);
        assert_eq!(s.caps.pairs_skipped, 4000);
        assert_eq!(s.caps.fields_dropped, 800);
        let long_key = format!("{}=1", "k".repeat(1000));
        let s = infer_form(&long_key);
        assert_eq!(s.caps.keys_truncated, 1);
        assert!(s.fields.keys().all(|k| k.len() <= MAX_FORM_KEY_LEN));
        let long_value = format!("v={}", "9".repeat(100_000));
        let s = infer_form(&long_value);
        assert_eq!(s.fields["v"].types.types(), [ScalarType::String]);
        assert_eq!(s.caps.values_uninspected, 1);
        // Merging respects the field cap.
        let a = infer_form(
            &(0..200)
                .map(|i| format!("a{i}=1"))
                .collect::<Vec<_>>()
                .join("&"),
        );
        let b = infer_form(
            &(0..200)
                .map(|i| format!("b{i}=1"))
                .collect::<Vec<_>>()
                .join("&"),
        );
        let m = merge_form(&a, &b);
        assert_eq!(m.fields.len(), MAX_FORM_FIELDS);
        assert_eq!(m.caps.fields_dropped, 200);
    }

    #[test]
    fn hostile_inputs() {
        for input in [
            "", "&&&", "=", "==", "%", "%zz=%", "a=%FF%FE", "[]=1", "é=ü", "+=+",
        ] {
            let s = infer_form(input);
            assert_eq!(s.samples, 1, "{input}");
        }
        assert!(infer_form("[]=1").fields.is_empty());
        assert_eq!(
            infer_form("+=+").fields.get(" ").map(|f| f.types.types()),
            Some(vec![ScalarType::String])
        );
        let s = infer_form(&"&".repeat(1_000_000));
        assert!(s.fields.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// Strings over an alphabet of troublesome characters (shared with the other
        /// analyzers' tests): no panic, bounded output.
        #[test]
        fn random_inputs_never_panic(s in crate::analyze::testinput::troublesome()) {
            let shape = infer_form(&s);
            let _ = form_to_json_schema(&merge_form(&shape, &shape), 2);
            let _ = infer_scalar(&s);

        }
    }
}
