//! JSON body shape inference.
//!
//! [`infer`] records, for every field of a JSON value, which JSON types were seen, which
//! string formats, whether integers needed 64 bits, and how often the field was present;
//! [`merge`] folds shapes of many samples together; [`to_json_schema`] renders the result
//! as a JSON Schema (2020-12, also valid as an OpenAPI 3.1 schema object).
//!
//! The shape is a tree mirroring the JSON: object properties by key, array elements under a
//! single `items` node, and values under *dynamic* keys — keys that look like values (ids,
//! UUIDs, dates, emails, hashes: `{"42": {...}, "43": {...}}`) — under a single
//! `additional` node (rendered as `additionalProperties`, and as `*` in flat paths), so
//! that maps keyed by id do not explode into one field per id.
//!
//! Flat field paths ([`Shape::fields`]) join keys with `.` and mark array elements with
//! `[]`: `user.address.city`, `items[].sku`, `[]` for the elements of a top-level array.
//! Keys containing `.`, `[`, `]`, `*` or `\` are escaped with a backslash.
//!
//! Presence and `required`: every node counts `present` (values seen at that position) and
//! `objects` (how many of those were objects). A property is required when it was present
//! in every object seen at its parent; at the root, when present in every sample (the
//! `samples` argument of [`to_json_schema`]).
//!
//! String formats ([`detect_format`]): `uuid`, `email`, `date`, `date-time` (RFC 3339),
//! `uri` (`scheme://...`), `ipv4`, `ipv6`, and `int64` for decimal strings of 10 to 19
//! digits that fit in an `i64` (big ids serialised as strings). A format is emitted only
//! when every string seen at that position had that one format. Integers outside the `i32`
//! range give `format: int64` (no format beyond `i64`).
//!
//! Bounds ([`ShapeLimits`], each counted in [`ShapeCaps`]): depth (values nested deeper
//! than `max_depth` are typed but not descended into), total fields per shape, array
//! elements inspected per array, key length (longer keys are cut).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::segments::{classify, is_param_like};
use super::util::{is_date, is_ipv4, is_ipv6, is_rfc3339_datetime, is_uri, is_uuid, truncate_str};

/// Limits for shape inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeLimits {
    /// Containers nested deeper than this are not descended into. Default 8.
    pub max_depth: usize,
    /// Maximum fields (tree nodes below the root) per shape. Default 500.
    pub max_fields: usize,
    /// Array elements inspected per array. Default 20.
    pub max_array_items: usize,
    /// Longer keys are cut to this many bytes. Default 128.
    pub max_key_len: usize,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        ShapeLimits {
            max_depth: 8,
            max_fields: 500,
            max_array_items: 20,
            max_key_len: 128,
        }
    }
}

/// What the caps dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeCaps {
    /// Containers not descended into because of `max_depth`.
    pub depth_capped: u64,
    /// Fields not recorded because of `max_fields`.
    pub fields_dropped: u64,
    /// Array elements not inspected because of `max_array_items`.
    pub items_skipped: u64,
    /// Keys cut to `max_key_len`.
    pub keys_truncated: u64,
}

impl ShapeCaps {
    fn add(&mut self, o: &ShapeCaps) {
        self.depth_capped += o.depth_capped;
        self.fields_dropped += o.fields_dropped;
        self.items_skipped += o.items_skipped;
        self.keys_truncated += o.keys_truncated;
    }
}

/// A JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    /// `"..."`.
    String,
    /// A number without fraction or exponent.
    Integer,
    /// Any other number.
    Number,
    /// `true` / `false`.
    Boolean,
    /// `null`.
    Null,
    /// `{...}`.
    Object,
    /// `[...]`.
    Array,
}

impl JsonType {
    /// Every type, in the order schemas list them.
    pub const ALL: [JsonType; 7] = [
        JsonType::Object,
        JsonType::Array,
        JsonType::String,
        JsonType::Integer,
        JsonType::Number,
        JsonType::Boolean,
        JsonType::Null,
    ];

    /// The JSON Schema name (`string`, `integer`, `number`, `boolean`, `null`, `object`,
    /// `array`).
    pub fn name(&self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
            JsonType::Object => "object",
            JsonType::Array => "array",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`JsonType`]s (a bit set; serialised as its bits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TypeSet(pub u8);

impl TypeSet {
    /// Adds a type.
    pub fn insert(&mut self, t: JsonType) {
        self.0 |= t.bit();
    }

    /// Whether the set holds `t`.
    pub fn contains(&self, t: JsonType) -> bool {
        self.0 & t.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The types, in schema order.
    pub fn types(&self) -> Vec<JsonType> {
        JsonType::ALL
            .into_iter()
            .filter(|t| self.contains(*t))
            .collect()
    }

    /// The type names, in schema order.
    pub fn names(&self) -> Vec<&'static str> {
        self.types().iter().map(JsonType::name).collect()
    }
}

/// A recognised string format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StringFormat {
    /// `8-4-4-4-12` hex.
    #[serde(rename = "uuid")]
    Uuid,
    /// Practical email address.
    #[serde(rename = "email")]
    Email,
    /// `YYYY-MM-DD`.
    #[serde(rename = "date")]
    Date,
    /// RFC 3339 date-time.
    #[serde(rename = "date-time")]
    DateTime,
    /// Absolute `scheme://` URI.
    #[serde(rename = "uri")]
    Uri,
    /// Dotted-quad IPv4.
    #[serde(rename = "ipv4")]
    Ipv4,
    /// IPv6.
    #[serde(rename = "ipv6")]
    Ipv6,
    /// A 64-bit integer serialised as a decimal string (10-19 digits).
    #[serde(rename = "int64")]
    Int64,
}

impl StringFormat {
    /// Every format.
    pub const ALL: [StringFormat; 8] = [
        StringFormat::Uuid,
        StringFormat::Email,
        StringFormat::Date,
        StringFormat::DateTime,
        StringFormat::Uri,
        StringFormat::Ipv4,
        StringFormat::Ipv6,
        StringFormat::Int64,
    ];

    /// The JSON Schema / OpenAPI format name.
    pub fn name(&self) -> &'static str {
        match self {
            StringFormat::Uuid => "uuid",
            StringFormat::Email => "email",
            StringFormat::Date => "date",
            StringFormat::DateTime => "date-time",
            StringFormat::Uri => "uri",
            StringFormat::Ipv4 => "ipv4",
            StringFormat::Ipv6 => "ipv6",
            StringFormat::Int64 => "int64",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of [`StringFormat`]s (a bit set; serialised as its bits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FormatSet(pub u16);

impl FormatSet {
    /// Adds a format.
    pub fn insert(&mut self, f: StringFormat) {
        self.0 |= f.bit();
    }

    /// Whether the set holds `f`.
    pub fn contains(&self, f: StringFormat) -> bool {
        self.0 & f.bit() != 0
    }

    /// The formats.
    pub fn formats(&self) -> Vec<StringFormat> {
        StringFormat::ALL
            .into_iter()
            .filter(|f| self.contains(*f))
            .collect()
    }

    /// The single format, if exactly one.
    pub fn single(&self) -> Option<StringFormat> {
        match self.formats().as_slice() {
            [f] => Some(*f),
            _ => None,
        }
    }
}

/// The most specific format of a string, if any (see the module docs).
pub fn detect_format(s: &str) -> Option<StringFormat> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 2048 {
        return None;
    }
    if is_uuid(s) {
        return Some(StringFormat::Uuid);
    }
    if is_date(s) {
        return Some(StringFormat::Date);
    }
    if is_rfc3339_datetime(s) {
        return Some(StringFormat::DateTime);
    }
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    if (10..=19).contains(&digits.len())
        && digits.iter().all(u8::is_ascii_digit)
        && digits.first() != Some(&b'0')
        && s.parse::<i64>().is_ok()
    {
        return Some(StringFormat::Int64);
    }
    if is_ipv4(s) {
        return Some(StringFormat::Ipv4);
    }
    if is_ipv6(s) {
        return Some(StringFormat::Ipv6);
    }
    if memchr::memchr(b'@', b).is_some() && super::sensitive::is_valid_email(s) {
        return Some(StringFormat::Email);
    }
    if is_uri(s) {
        return Some(StringFormat::Uri);
    }
    None
}

/// What was seen at one position of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldShape {
    /// JSON types seen.
    pub types: TypeSet,
    /// Formats of the strings seen.
    pub formats: FormatSet,
    /// A string without a recognised format was seen.
    pub plain_strings: bool,
    /// An integer outside the `i32` range was seen.
    pub int_beyond_i32: bool,
    /// An integer outside the `i64` range was seen.
    pub int_beyond_i64: bool,
    /// Values seen at this position.
    pub present: u64,
    /// How many of them were objects.
    pub objects: u64,
    /// How many of them were arrays.
    pub arrays: u64,
    /// Object properties by key.
    pub properties: BTreeMap<String, FieldShape>,
    /// Values under dynamic (value-like) keys.
    pub additional: Option<Box<FieldShape>>,
    /// Array elements.
    pub items: Option<Box<FieldShape>>,
}

/// The inferred shape of one or more JSON samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// The top-level value.
    pub root: FieldShape,
    /// Samples folded into this shape.
    pub samples: u64,
    /// Fields (nodes below the root) recorded.
    pub field_count: usize,
    /// What the caps dropped.
    pub caps: ShapeCaps,
    /// The limits this shape was built with.
    pub limits: ShapeLimits,
}

/// One field of a [`Shape`], flattened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSummary {
    /// Flat path (`user.address.city`, `items[].sku`, `prices.*`).
    pub path: String,
    /// JSON type names seen.
    pub types: Vec<&'static str>,
    /// String format names seen.
    pub formats: Vec<&'static str>,
    /// Values seen at this path.
    pub present: u64,
    /// Present in every object seen at the parent (always false for `[]` and `*`).
    pub required: bool,
}

struct Ctx<'l> {
    limits: &'l ShapeLimits,
    fields: usize,
    caps: ShapeCaps,
}

impl Ctx<'_> {
    /// Whether one more field may be created (counts the drop otherwise).
    fn take_field(&mut self) -> bool {
        if self.fields >= self.limits.max_fields {
            self.caps.fields_dropped += 1;
            false
        } else {
            self.fields += 1;
            true
        }
    }

    fn key(&mut self, k: &str) -> String {
        if k.len() > self.limits.max_key_len {
            self.caps.keys_truncated += 1;
        }
        truncate_str(k, self.limits.max_key_len).to_string()
    }
}

/// Whether an object key is a value (an id, UUID, date, ...) rather than a field name.
fn is_dynamic_key(k: &str) -> bool {
    !k.is_empty() && is_param_like(classify(k))
}

fn child_of<'a>(
    slot: &'a mut Option<Box<FieldShape>>,
    ctx: &mut Ctx<'_>,
) -> Option<&'a mut FieldShape> {
    if slot.is_none() {
        if !ctx.take_field() {
            return None;
        }
        *slot = Some(Box::default());
    }
    slot.as_deref_mut()
}

fn property_of<'a>(
    props: &'a mut BTreeMap<String, FieldShape>,
    key: String,
    ctx: &mut Ctx<'_>,
) -> Option<&'a mut FieldShape> {
    if !props.contains_key(&key) {
        if !ctx.take_field() {
            return None;
        }
        props.insert(key.clone(), FieldShape::default());
    }
    props.get_mut(&key)
}

fn observe(node: &mut FieldShape, v: &Value, depth: usize, ctx: &mut Ctx<'_>) {
    node.present += 1;
    match v {
        Value::Null => node.types.insert(JsonType::Null),
        Value::Bool(_) => node.types.insert(JsonType::Boolean),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                node.types.insert(JsonType::Integer);
                if i32::try_from(i).is_err() {
                    node.int_beyond_i32 = true;
                }
            } else if n.as_u64().is_some() {
                node.types.insert(JsonType::Integer);
                node.int_beyond_i32 = true;
                node.int_beyond_i64 = true;
            } else {
                node.types.insert(JsonType::Number);
            }
        }
        Value::String(s) => {
            node.types.insert(JsonType::String);
            match detect_format(s) {
                Some(f) => node.formats.insert(f),
                None => node.plain_strings = true,
            }
        }
        Value::Array(items) => {
            node.types.insert(JsonType::Array);
            node.arrays += 1;
            if depth >= ctx.limits.max_depth {
                ctx.caps.depth_capped += 1;
                return;
            }
            let n = ctx.limits.max_array_items;
            ctx.caps.items_skipped += items.len().saturating_sub(n) as u64;
            if items.is_empty() {
                return;
            }
            if let Some(child) = child_of(&mut node.items, ctx) {
                for item in items.iter().take(n) {
                    observe(child, item, depth + 1, ctx);
                }
            }
        }
        Value::Object(map) => {
            node.types.insert(JsonType::Object);
            node.objects += 1;
            if depth >= ctx.limits.max_depth {
                ctx.caps.depth_capped += 1;
                return;
            }
            observe_object(node, map, depth, ctx);
        }
    }
}

fn observe_object(
    node: &mut FieldShape,
    map: &Map<String, Value>,
    depth: usize,
    ctx: &mut Ctx<'_>,
) {
    for (k, v) in map {
        if is_dynamic_key(k) {
            if let Some(child) = child_of(&mut node.additional, ctx) {
                observe(child, v, depth + 1, ctx);
            }
            continue;
        }
        let key = ctx.key(k);
        if let Some(child) = property_of(&mut node.properties, key, ctx) {
            observe(child, v, depth + 1, ctx);
        }
    }
}

/// The shape of one JSON value, with the default [`ShapeLimits`].
pub fn infer(value: &Value) -> Shape {
    infer_with(value, ShapeLimits::default())
}

/// The shape of one JSON value under the given limits.
pub fn infer_with(value: &Value, limits: ShapeLimits) -> Shape {
    let mut ctx = Ctx {
        limits: &limits,
        fields: 0,
        caps: ShapeCaps::default(),
    };
    let mut root = FieldShape::default();
    observe(&mut root, value, 0, &mut ctx);
    Shape {
        root,
        samples: 1,
        field_count: ctx.fields,
        caps: ctx.caps,
        limits,
    }
}

fn merge_node(dst: &mut FieldShape, src: &FieldShape, depth: usize, ctx: &mut Ctx<'_>) {
    dst.types.0 |= src.types.0;
    dst.formats.0 |= src.formats.0;
    dst.plain_strings |= src.plain_strings;
    dst.int_beyond_i32 |= src.int_beyond_i32;
    dst.int_beyond_i64 |= src.int_beyond_i64;
    dst.present += src.present;
    dst.objects += src.objects;
    dst.arrays += src.arrays;
    // Shapes may come from storage: bound the recursion whatever their depth.
    if depth > ctx.limits.max_depth {
        if !src.properties.is_empty() || src.items.is_some() || src.additional.is_some() {
            ctx.caps.depth_capped += 1;
        }
        return;
    }
    for (k, sv) in &src.properties {
        let key = ctx.key(k);
        if let Some(d) = property_of(&mut dst.properties, key, ctx) {
            merge_node(d, sv, depth + 1, ctx);
        }
    }
    if let Some(s) = src.items.as_deref()
        && let Some(d) = child_of(&mut dst.items, ctx)
    {
        merge_node(d, s, depth + 1, ctx);
    }
    if let Some(s) = src.additional.as_deref()
        && let Some(d) = child_of(&mut dst.additional, ctx)
    {
        merge_node(d, s, depth + 1, ctx);
    }
}

/// Folds two shapes together (types, formats and counts add up). The result uses `a`'s
/// limits; fields beyond them are dropped and counted.
pub fn merge(a: &Shape, b: &Shape) -> Shape {
    let limits = a.limits;
    let mut ctx = Ctx {
        limits: &limits,
        fields: 0,
        caps: ShapeCaps::default(),
    };
    let mut root = FieldShape::default();
    merge_node(&mut root, &a.root, 0, &mut ctx);
    merge_node(&mut root, &b.root, 0, &mut ctx);
    let mut caps = a.caps;
    caps.add(&b.caps);
    caps.add(&ctx.caps);
    Shape {
        root,
        samples: a.samples + b.samples,
        field_count: ctx.fields,
        caps,
        limits,
    }
}

fn escape_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    for c in k.chars() {
        if matches!(c, '.' | '[' | ']' | '*' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn summarize(n: &FieldShape, path: String, required: bool) -> FieldSummary {
    FieldSummary {
        path,
        types: n.types.names(),
        formats: n.formats.formats().iter().map(StringFormat::name).collect(),
        present: n.present,
        required,
    }
}

fn flatten(
    n: &FieldShape,
    prefix: &str,
    required_base: u64,
    out: &mut Vec<FieldSummary>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    for (k, c) in &n.properties {
        let path = join(prefix, &escape_key(k));
        let required = required_base > 0 && c.present >= required_base;
        out.push(summarize(c, path.clone(), required));
        flatten(c, &path, c.objects, out, depth + 1);
    }
    if let Some(c) = n.additional.as_deref() {
        let path = join(prefix, "*");
        out.push(summarize(c, path.clone(), false));
        flatten(c, &path, c.objects, out, depth + 1);
    }
    if let Some(c) = n.items.as_deref() {
        let path = format!("{prefix}[]");
        out.push(summarize(c, path.clone(), false));
        flatten(c, &path, c.objects, out, depth + 1);
    }
}

impl Shape {
    /// Every field as a flat path, parents before children. Root properties are required
    /// when present in every sample.
    pub fn fields(&self) -> Vec<FieldSummary> {
        let mut out = Vec::new();
        let base = if self.samples > 0 {
            self.samples
        } else {
            self.root.objects
        };
        flatten(&self.root, "", base, &mut out, 0);
        out
    }
}

fn node_schema(n: &FieldShape, required_base: u64, depth: usize) -> Value {
    let mut m = Map::new();
    let mut types: Vec<&'static str> = Vec::new();
    for t in n.types.types() {
        match t {
            // `number` already includes integers.
            JsonType::Integer if n.types.contains(JsonType::Number) => {}
            t => types.push(t.name()),
        }
    }
    let non_null: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
    match types.as_slice() {
        [] => {}
        [one] => {
            m.insert("type".into(), json!(one));
        }
        many => {
            m.insert("type".into(), json!(many));
        }
    }
    if let [only] = non_null.as_slice() {
        let format = match *only {
            "string" if !n.plain_strings => n.formats.single().map(|f| f.name()),
            "integer" if n.int_beyond_i32 && !n.int_beyond_i64 => Some("int64"),
            _ => None,
        };
        if let Some(f) = format {
            m.insert("format".into(), json!(f));
        }
    }
    if depth > 64 {
        return Value::Object(m);
    }
    if n.types.contains(JsonType::Object) {
        let mut props = Map::new();
        let mut required = Vec::new();
        for (k, c) in &n.properties {
            props.insert(k.clone(), node_schema(c, c.objects, depth + 1));
            if required_base > 0 && c.present >= required_base {
                required.push(json!(k));
            }
        }
        if !props.is_empty() {
            m.insert("properties".into(), Value::Object(props));
        }
        if !required.is_empty() {
            m.insert("required".into(), Value::Array(required));
        }
        if let Some(a) = n.additional.as_deref() {
            m.insert(
                "additionalProperties".into(),
                node_schema(a, a.objects, depth + 1),
            );
        }
    }
    if n.types.contains(JsonType::Array)
        && let Some(items) = n.items.as_deref()
    {
        m.insert("items".into(), node_schema(items, items.objects, depth + 1));
    }
    Value::Object(m)
}

/// A JSON Schema (2020-12 / OpenAPI 3.1) for the shape: `type` (a list when several were
/// seen; `null` in the list means nullable), `format`, `properties`, `required`,
/// `additionalProperties` for dynamic keys, `items`. Root properties are required when
/// present in `samples` samples (pass [`Shape::samples`] unless the caller counted bodies
/// that were not folded in); nested ones when present in every object seen at their parent.
pub fn to_json_schema(shape: &Shape, samples: u64) -> Value {
    let base = if samples > 0 {
        samples
    } else {
        shape.root.objects
    };
    node_schema(&shape.root, base, 0)
}

/// A fingerprint of a JSON document's structure: a hash of its key paths two levels deep
/// (array elements read through their first element), independent of key order and
/// values; `None` when it has fewer than three key paths (too little to tell documents
/// apart). Responses of one endpoint share it; responses of different resources rarely do.
pub fn fingerprint(v: &serde_json::Value) -> Option<u64> {
    use std::hash::{BuildHasher, Hasher};
    fn walk(v: &serde_json::Value, prefix: &str, depth: usize, out: &mut Vec<String>) {
        let (v, prefix) = match v {
            serde_json::Value::Array(items) => match items.first() {
                Some(first) => (first, format!("{prefix}[]")),
                None => return,
            },
            _ => (v, prefix.to_string()),
        };
        if let serde_json::Value::Object(map) = v {
            if depth >= 2 {
                return;
            }
            for (k, x) in map.iter().take(64) {
                if out.len() >= 256 {
                    return;
                }
                let key: String = k.chars().take(64).collect();
                let p = format!("{prefix}.{key}");
                walk(x, &p, depth + 1, out);
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(v, "", 0, &mut paths);
    if paths.len() < 3 {
        return None;
    }
    paths.sort_unstable();
    let mut h = foldhash::fast::FixedState::with_seed(0x5a9e).build_hasher();
    for p in &paths {
        h.write(p.as_bytes());
        h.write_u8(0);
    }
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A letters-only key for `i` (keys with digits may be classified as dynamic).
    fn letters(i: usize) -> String {
        let mut n = i;
        let mut out = String::from("key_");
        loop {
            out.push(char::from(b'a' + (n % 26) as u8));
            n /= 26;
            if n == 0 {
                return out;
            }
        }
    }

    fn names(s: &Shape) -> Vec<String> {
        s.fields().into_iter().map(|f| f.path).collect()
    }

    fn field<'a>(fields: &'a [FieldSummary], path: &str) -> &'a FieldSummary {
        fields
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no field {path}"))
    }

    #[test]
    fn infers_types_paths_and_formats() {
        let v = json!({
            "id": "3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10",
            "user": {"name": "Ann", "email": "ann@example.com", "address": {"city": "Oslo"}},
            "age": 41,
            "score": 9.5,
            "big": 5_000_000_000_i64,
            "active": true,
            "deleted_at": null,
            "created": "2024-03-01T10:00:00Z",
            "birthday": "1990-01-01",
            "site": "https://example.com/x",
            "ip": "10.0.0.1",
            "ip6": "2001:db8::1",
            "tweet_id": "1234567890123456789",
            "items": [{"sku": "A1", "qty": 1}, {"sku": "B2", "qty": 2, "note": "x"}],
            "tags": ["a", "b"],
        });
        let s = infer(&v);
        let f = s.fields();
        assert_eq!(field(&f, "id").formats, ["uuid"]);
        assert_eq!(field(&f, "user.address.city").types, ["string"]);
        assert_eq!(field(&f, "user.email").formats, ["email"]);
        assert_eq!(field(&f, "age").types, ["integer"]);
        assert_eq!(field(&f, "score").types, ["number"]);
        assert_eq!(field(&f, "deleted_at").types, ["null"]);
        assert_eq!(field(&f, "created").formats, ["date-time"]);
        assert_eq!(field(&f, "birthday").formats, ["date"]);
        assert_eq!(field(&f, "site").formats, ["uri"]);
        assert_eq!(field(&f, "ip").formats, ["ipv4"]);
        assert_eq!(field(&f, "ip6").formats, ["ipv6"]);
        assert_eq!(field(&f, "tweet_id").formats, ["int64"]);
        assert_eq!(field(&f, "items").types, ["array"]);
        assert_eq!(field(&f, "items[]").types, ["object"]);
        assert_eq!(field(&f, "items[]").present, 2);
        assert!(field(&f, "items[].sku").required);
        assert!(!field(&f, "items[].note").required);
        assert_eq!(field(&f, "tags[]").types, ["string"]);
        assert!(field(&f, "user").required);
        let schema = to_json_schema(&s, s.samples);
        assert_eq!(schema["type"], "object");
        assert_eq!(
            schema["properties"]["big"],
            json!({"type": "integer", "format": "int64"})
        );
        assert_eq!(schema["properties"]["age"], json!({"type": "integer"}));
        assert_eq!(
            schema["properties"]["items"]["items"]["required"],
            json!(["qty", "sku"])
        );
        assert_eq!(
            schema["properties"]["tweet_id"],
            json!({"type": "string", "format": "int64"})
        );
    }

    #[test]
    fn merge_tracks_required_and_nullable() {
        let a = infer(&json!({"id": 1, "name": "x", "nick": null, "price": 1}));
        let b = infer(&json!({"id": 2, "nick": "y", "price": 1.5}));
        let m = merge(&a, &b);
        assert_eq!(m.samples, 2);
        let f = m.fields();
        assert!(field(&f, "id").required);
        assert!(!field(&f, "name").required);
        assert_eq!(field(&f, "name").present, 1);
        assert_eq!(field(&f, "nick").types, ["string", "null"]);
        let schema = to_json_schema(&m, m.samples);
        assert_eq!(schema["required"], json!(["id", "nick", "price"]));
        assert_eq!(
            schema["properties"]["nick"]["type"],
            json!(["string", "null"])
        );
        assert_eq!(schema["properties"]["price"], json!({"type": "number"}));
        // Counting an extra sample that had no body makes nothing required.
        let schema = to_json_schema(&m, 3);
        assert!(schema.get("required").is_none());
        // Merge is order-insensitive for types and counts.
        assert_eq!(merge(&a, &b).fields(), merge(&b, &a).fields());
    }

    #[test]
    fn formats_must_agree() {
        let a = infer(&json!({"d": "2024-01-01", "e": "a@example.com"}));
        let b = infer(&json!({"d": "2024-01-01T00:00:00Z", "e": "a@example.com"}));
        let c = infer(&json!({"d": "2024-01-02", "e": "not an email"}));
        let m = merge(&merge(&a, &b), &c);
        let schema = to_json_schema(&m, m.samples);
        assert_eq!(schema["properties"]["d"], json!({"type": "string"}));
        assert_eq!(schema["properties"]["e"], json!({"type": "string"}));
        let m = merge(&a, &a);
        let schema = to_json_schema(&m, m.samples);
        assert_eq!(
            schema["properties"]["d"],
            json!({"type": "string", "format": "date"})
        );
        assert_eq!(
            schema["properties"]["e"],
            json!({"type": "string", "format": "email"})
        );
        assert_eq!(detect_format("0123456789"), None);
        assert_eq!(detect_format("123456789"), None);
        assert_eq!(detect_format("99999999999999999999"), None);
        assert_eq!(detect_format("hello"), None);
        assert_eq!(detect_format(""), None);
    }

    #[test]
    fn dynamic_keys_become_additional_properties() {
        let v =
            json!({"prices": {"101": 5, "102": 7, "103": 9}, "by_day": {"2024-01-01": {"n": 1}}});
        let s = infer(&v);
        assert_eq!(
            names(&s),
            ["by_day", "by_day.*", "by_day.*.n", "prices", "prices.*"]
        );
        let schema = to_json_schema(&s, 1);
        assert_eq!(
            schema["properties"]["prices"]["additionalProperties"],
            json!({"type": "integer"})
        );
        assert!(schema["properties"]["prices"].get("properties").is_none());
    }

    #[test]
    fn root_arrays_and_scalars() {
        let s = infer(&json!([{"id": 1}, {"id": 2}]));
        assert_eq!(names(&s), ["[]", "[].id"]);
        let schema = to_json_schema(&s, 1);
        assert_eq!(
            schema,
            json!({"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}})
        );
        let s = infer(&json!("hello"));
        assert!(s.fields().is_empty());
        assert_eq!(to_json_schema(&s, 1), json!({"type": "string"}));
        assert_eq!(
            to_json_schema(&infer(&json!([])), 1),
            json!({"type": "array"})
        );
        assert_eq!(to_json_schema(&Shape::default(), 0), json!({}));
    }

    #[test]
    fn keys_are_escaped_in_paths() {
        let s = infer(&json!({"a.b": {"c[0]": 1}, "*": 2}));
        assert_eq!(names(&s), ["\\*", "a\\.b", "a\\.b.c\\[0\\]"]);
    }

    #[test]
    fn caps_are_enforced_and_counted() {
        // Depth.
        let mut deep = json!(1);
        for _ in 0..50 {
            deep = json!({"x": deep});
        }
        let s = infer(&deep);
        assert_eq!(s.field_count, 8);
        assert_eq!(s.caps.depth_capped, 1);
        // Width.
        let wide: Map<String, Value> = (0..2000).map(|i| (letters(i), json!(i))).collect();
        let s = infer(&Value::Object(wide));
        assert_eq!(s.field_count, 500);
        assert_eq!(s.caps.fields_dropped, 1500);
        // Array items.
        let arr: Vec<Value> = (0..1000).map(|i| json!({"i": i})).collect();
        let s = infer(&json!({"a": arr}));
        assert_eq!(s.caps.items_skipped, 980);
        assert_eq!(field(&s.fields(), "a[]").present, 20);
        // Keys.
        let long = "k".repeat(1000);
        let s = infer(&json!({ long.clone(): 1 }));
        assert_eq!(s.caps.keys_truncated, 1);
        assert_eq!(s.fields()[0].path.len(), 128);
        // Merging never exceeds the field cap.
        let a: Map<String, Value> = (0..400).map(|i| (letters(i), json!(1))).collect();
        let b: Map<String, Value> = (400..800).map(|i| (letters(i), json!(1))).collect();
        let m = merge(&infer(&Value::Object(a)), &infer(&Value::Object(b)));
        assert_eq!(m.field_count, 500);
        assert_eq!(m.caps.fields_dropped, 300);
    }

    #[test]
    fn huge_numbers_and_unsigned() {
        let s = infer(&json!({"u": u64::MAX, "i": i64::MIN, "small": -5}));
        let schema = to_json_schema(&s, 1);
        assert_eq!(schema["properties"]["u"], json!({"type": "integer"}));
        assert_eq!(
            schema["properties"]["i"],
            json!({"type": "integer", "format": "int64"})
        );
        assert_eq!(schema["properties"]["small"], json!({"type": "integer"}));
    }

    #[test]
    fn shapes_round_trip_through_serde() {
        let s = infer(&json!({"a": [1, "x", null], "b": {"c": true}}));
        let text = serde_json::to_string(&s).unwrap_or_default();
        let back: Shape = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, s);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5_000))]
        /// Strings over an alphabet of troublesome characters (shared with the other
        /// analyzers' tests): no panic, bounded output.
        #[test]
        fn random_inputs_never_panic(s in crate::analyze::testinput::troublesome()) {
            let _ = detect_format(&s);
            let v = json!({ s.clone(): [s.clone(), {"k": s.clone()}], "n": s.len() });
            let shape = infer(&v);
            let merged = merge(&shape, &infer(&json!(s)));
            let _ = to_json_schema(&merged, merged.samples);
            let _ = merged.fields();

        }
    }
}
