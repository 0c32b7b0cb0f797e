//! URL path segment classification for endpoint templating.
//!
//! [`classify`] decides what one path segment looks like — a literal word, or a typed value
//! such as an integer id, a UUID or a date — and [`param_name`] names the parameter that a
//! value-like segment becomes (`/users/12345` → `/users/{user_id}`). Classification is
//! percent-decoding aware (`john%40example.com` is an email) and linear in the segment.
//!
//! Decisions where the brief left room:
//! * A segment made only of letters is never a typed value, even when every letter is a hex
//!   digit (`facade`, `deadbeef`, `cafe`, `added`): real identifiers almost always contain a
//!   digit, and words that happen to be hex are common. Such segments can still become
//!   parameters through cardinality in the template learner.
//! * Hex strings with digits *and* letters: 24 chars → [`SegmentKind::ObjectId`];
//!   32/40/64/128 → [`SegmentKind::HexDigest`]; other lengths fall through to the generic
//!   rules (usually [`SegmentKind::MixedAlnum`]).
//! * [`SegmentKind::MixedAlnum`] needs real evidence of an identifier, so that `oauth2`,
//!   `sha256`, `base64`, `ipv6`, `x509`, `e2e`, `i18n` or `k8s` stay literal: either at least
//!   three letter/digit alternations in a segment of 6+ characters (`ab12cd34`, `a1b2c3`),
//!   or at least four digits including a run of three (`inv-2024-0001`, `user12345`).
//!   A dotted-quad IPv4 address is also reported as `MixedAlnum` (there is no IP kind).
//! * [`SegmentKind::Version`] covers `v1`, `v2.1`, `v1beta1`, `v2alpha`, and bare dotted
//!   numbers `1.0` / `2.1.3`; these are never parameters. A date in version position
//!   (first segment, or right after a scaffold word such as `api`) is a version too — see
//!   [`classify_at`].
//! * [`SegmentKind::Date`] accepts `2024-03-01`, compact `20240301` (years 1900-2100, real
//!   calendar date; it wins over [`SegmentKind::Integer`]) and RFC 3339 date-times.

use serde::{Deserialize, Serialize};

use super::util::{
    is_compact_date, is_date, is_ipv4, is_rfc3339_datetime, is_uuid, percent_decode,
};

/// Segments longer than this many bytes are classified on their first `MAX_CLASSIFY_LEN`
/// bytes' worth of evidence only where that is enough (long values are never literals
/// anyway); see [`classify`].
const MAX_CLASSIFY_LEN: usize = 4096;

/// What a path segment looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// A word that is part of the route (`users`, `search`, `api`).
    Literal,
    /// Decimal digits, optionally negative (`12345`, `0`).
    Integer,
    /// `8-4-4-4-12` hex UUID.
    Uuid,
    /// 26-character Crockford base32 ULID.
    Ulid,
    /// 24 hex characters (MongoDB ObjectId).
    ObjectId,
    /// 32, 40, 64 or 128 hex characters (MD5, SHA-1, SHA-256, SHA-512).
    HexDigest,
    /// A long base64/base64url token mixing upper case, lower case and digits.
    Base64Token,
    /// A calendar date (`2024-03-01`, `20240301`) or RFC 3339 date-time.
    Date,
    /// An email address.
    Email,
    /// Letters mixed with digits in an identifier-like way (`ab12cd34`, `inv-2024-0001`).
    MixedAlnum,
    /// An API version (`v1`, `v1.2`, `v1beta1`, `2.0`), or a date in version position.
    Version,
}

impl SegmentKind {
    /// Stable snake_case name (`literal`, `integer`, `uuid`, `ulid`, `object_id`,
    /// `hex_digest`, `base64_token`, `date`, `email`, `mixed_alnum`, `version`).
    pub fn name(&self) -> &'static str {
        match self {
            SegmentKind::Literal => "literal",
            SegmentKind::Integer => "integer",
            SegmentKind::Uuid => "uuid",
            SegmentKind::Ulid => "ulid",
            SegmentKind::ObjectId => "object_id",
            SegmentKind::HexDigest => "hex_digest",
            SegmentKind::Base64Token => "base64_token",
            SegmentKind::Date => "date",
            SegmentKind::Email => "email",
            SegmentKind::MixedAlnum => "mixed_alnum",
            SegmentKind::Version => "version",
        }
    }

    /// Method form of [`is_param_like`].
    pub fn is_param_like(self) -> bool {
        is_param_like(self)
    }
}

/// Whether segments of this kind are values (parameters) rather than part of the route.
/// Everything but [`SegmentKind::Literal`] and [`SegmentKind::Version`] is.
pub fn is_param_like(kind: SegmentKind) -> bool {
    !matches!(kind, SegmentKind::Literal | SegmentKind::Version)
}

/// Structural words that prefix real routes (`api`, `rest`, `internal`, ...).
const SCAFFOLD: &[&str] = &[
    "api",
    "apis",
    "rest",
    "rpc",
    "graphql",
    "gql",
    "internal",
    "external",
    "public",
    "private",
    // Short forms of `public` and `private` (`/api/catalog/pvt/...`).
    "pub",
    "pvt",
    "priv",
    "admin",
    "partner",
    "partners",
    "web",
    "ws",
    "wss",
    "mobile",
    "app",
    "apps",
    "service",
    "services",
    "svc",
    "gateway",
    "gw",
    "backend",
    "bff",
    "data",
    "static",
    "assets",
    "cdn",
    "openapi",
    "swagger",
    "docs",
    "_api",
    "hooks",
    "ext",
    "management",
    "mgmt",
    "portal",
    "console",
    "edge",
    "proxy",
    "dev",
    "staging",
    "prod",
    "sandbox",
    "test",
];

/// Route words that sit where ids usually go but are not ids.
const KNOWN_LITERALS: &[&str] = &[
    "me",
    "my",
    "mine",
    "self",
    "current",
    "search",
    "new",
    "list",
    "all",
    "latest",
    "count",
    "export",
    "import",
    "bulk",
    "batch",
    "login",
    "logout",
    "signin",
    "signout",
    "signup",
    "register",
    "health",
    "healthz",
    "livez",
    "readyz",
    "ping",
    "status",
    "metrics",
    "info",
    "config",
    "settings",
    "profile",
    "default",
    "first",
    "last",
    "next",
    "prev",
    "previous",
    "recent",
    "popular",
    "trending",
    "random",
    "summary",
    "stats",
    "details",
    "history",
    "upload",
    "download",
    "create",
    "update",
    "delete",
    "remove",
    "edit",
    "find",
    "query",
    "lookup",
    "validate",
    "verify",
    "refresh",
    "token",
    "tokens",
    "callback",
    "webhook",
    "webhooks",
    "auth",
    "oauth",
    "oauth2",
    "openid",
    "authorize",
    "consent",
    "session",
    "sessions",
    "password",
    "reset",
    "confirm",
    "activate",
    "deactivate",
    "enable",
    "disable",
    "archive",
    "restore",
    "publish",
    "unpublish",
    "approve",
    "reject",
    "cancel",
    "submit",
    "preview",
    "download",
    "feed",
    "timeline",
    "notifications",
    "inbox",
    "outbox",
    "sync",
    "schema",
    "version",
    "versions",
    "changes",
    "diff",
    "events",
    "stream",
    "graphql",
    "rss",
    "atom",
    "sitemap",
    "robots",
    "favicon",
    "index",
    "home",
    "dashboard",
    "overview",
    "report",
    "reports",
    "analytics",
    "search",
    "suggest",
    "autocomplete",
    "check",
    "test",
    "echo",
    "ready",
    "live",
    "alive",
    "well-known",
    ".well-known",
    "openid-configuration",
    "jwks",
    "jwks.json",
    "userinfo",
    "introspect",
    "revoke",
    "logout",
    "public",
    "private",
    "shared",
    "starred",
    "favorites",
    "following",
    "followers",
    "members",
    "owners",
    "permissions",
    "roles",
    "items",
    "children",
    "parent",
    "root",
    "tree",
    "raw",
    "content",
    "contents",
    "meta",
    "metadata",
    "attributes",
    "properties",
    "fields",
    "tags",
    "labels",
    "comments",
    "attachments",
    "files",
    "images",
    "thumbnail",
    "avatar",
    "download",
    "upload",
    "uploads",
];

/// Whether `segment` is a scaffold word (`api`, `rest`, `internal`, ...) or a `vN`-style
/// version (ASCII case-insensitive).
pub fn is_scaffold(segment: &str) -> bool {
    SCAFFOLD.iter().any(|w| w.eq_ignore_ascii_case(segment)) || is_version(segment)
}

/// Whether `segment` is a known route word that sits where ids usually go (`me`, `self`,
/// `search`, `new`, `latest`, `count`, `bulk`, `login`, ...; ASCII case-insensitive).
pub fn is_known_literal(segment: &str) -> bool {
    KNOWN_LITERALS
        .iter()
        .any(|w| w.eq_ignore_ascii_case(segment))
}

/// `v1`, `V2`, `v1.2`, `v1.2.3`, `v1beta1`, `v2alpha`, `v3rc2`, or bare `1.0` / `2.1.3`.
fn is_version(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() > 16 {
        return false;
    }
    let numeric_dotted = |x: &[u8]| -> bool {
        let mut parts = 0;
        for p in x.split(|&c| c == b'.') {
            if p.is_empty() || p.len() > 4 || !p.iter().all(u8::is_ascii_digit) {
                return false;
            }
            parts += 1;
        }
        (1..=3).contains(&parts)
    };
    match b.first() {
        Some(b'v' | b'V') => {
            let rest = b.get(1..).unwrap_or(&[]);
            let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            // `v20190125`: a dated version.
            if digits == 8 && rest.len() == 8 {
                return std::str::from_utf8(rest).is_ok_and(is_compact_date);
            }
            if digits == 0 || digits > 4 {
                return false;
            }
            let mut tail = rest.get(digits..).unwrap_or(&[]);
            if tail.is_empty() {
                return true;
            }
            if tail.first() == Some(&b'.') {
                return numeric_dotted(rest);
            }
            // Point releases written with a `p` (`v1p1beta1`, `v1p2`): Google's scheme.
            if let Some(point) = tail.strip_prefix(b"p") {
                let d = point.iter().take_while(|c| c.is_ascii_digit()).count();
                if (1..=3).contains(&d) {
                    tail = point.get(d..).unwrap_or(&[]);
                    if tail.is_empty() {
                        return true;
                    }
                }
            }
            // v1beta1, v2alpha, v3rc2; v1_beta, v2-preview
            if let Some(rest) = tail.strip_prefix(b"_").or_else(|| tail.strip_prefix(b"-")) {
                tail = rest;
            }
            ["alpha", "beta", "rc", "preview", "dev"].iter().any(|w| {
                tail.len() >= w.len()
                    && tail
                        .get(..w.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(w.as_bytes()))
                    && tail
                        .get(w.len()..)
                        .is_some_and(|d| d.len() <= 3 && d.iter().all(u8::is_ascii_digit))
            })
        }
        Some(c) if c.is_ascii_digit() => b.contains(&b'.') && numeric_dotted(b),
        _ => false,
    }
}

fn is_hex_lower_or_upper(b: &[u8]) -> bool {
    let all_hex = b.iter().all(u8::is_ascii_hexdigit);
    let lower = b.iter().all(|c| !c.is_ascii_uppercase());
    let upper = b.iter().all(|c| !c.is_ascii_lowercase());
    all_hex && (lower || upper)
}

fn is_ulid(b: &[u8]) -> bool {
    // Crockford base32 excludes I, L, O, U; the first char is 0-7 (48-bit timestamp).
    let crockford = |c: u8| {
        let u = c.to_ascii_uppercase();
        u.is_ascii_digit() || (u.is_ascii_uppercase() && !matches!(u, b'I' | b'L' | b'O' | b'U'))
    };
    let lower = b.iter().all(|c| !c.is_ascii_uppercase());
    let upper = b.iter().all(|c| !c.is_ascii_lowercase());
    b.len() == 26
        && b.first().is_some_and(|c| (b'0'..=b'7').contains(c))
        && b.iter().all(|&c| crockford(c))
        && (lower || upper)
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// A prefixed identifier: a short type prefix and an opaque id with digits
/// (`cus_9s8dKq2LzX1f`, `pi_3MtwBw...`, `ch_1A2b3C`, Twilio's `AC` + 32 hex digits).
fn is_prefixed_id(b: &[u8]) -> bool {
    if let Some(us) = b.iter().position(|&c| c == b'_') {
        let (prefix, rest) = (&b[..us], &b[us + 1..]);
        return (2..=8).contains(&prefix.len())
            && prefix.iter().all(u8::is_ascii_alphabetic)
            && rest.len() >= 8
            && rest.iter().all(u8::is_ascii_alphanumeric)
            && rest.iter().any(u8::is_ascii_digit);
    }
    b.len() == 34
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

fn is_base64_token(b: &[u8]) -> bool {
    if b.len() < 20 {
        return false;
    }
    let body_len = b.len() - b.iter().rev().take_while(|&&c| c == b'=').count();
    let body = b.get(..body_len).unwrap_or(&[]);
    if body_len + 2 < b.len()
        || !body
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'+'))
    {
        return false;
    }
    let class = |c: u8| -> u8 {
        if c.is_ascii_uppercase() {
            0
        } else if c.is_ascii_lowercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        }
    };
    let (mut seen, mut switches) = ([false; 4], 0usize);
    let mut prev: Option<u8> = None;
    for &c in body {
        let k = class(c);
        if let Some(slot) = seen.get_mut(usize::from(k)) {
            *slot = true;
        }
        if prev.is_some_and(|p| p != k) {
            switches += 1;
        }
        prev = Some(k);
    }
    // Random base64 switches character class on about two thirds of positions;
    // camelCase words switch rarely.
    let [upper, lower, digit, _] = seen;
    upper && lower && digit && switches * 3 >= body.len()
}

fn is_mixed_alnum(b: &[u8]) -> bool {
    if !b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~' | b':'))
    {
        return false;
    }
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    if letters == 0 || digits == 0 {
        return false;
    }
    // Alternations between letters and digits, ignoring separators.
    let mut runs = 0usize;
    let mut prev: Option<bool> = None;
    let mut longest_digit_run = 0usize;
    let mut cur_digit_run = 0usize;
    for &c in b {
        if c.is_ascii_digit() {
            cur_digit_run += 1;
            longest_digit_run = longest_digit_run.max(cur_digit_run);
        } else {
            cur_digit_run = 0;
        }
        if !c.is_ascii_alphanumeric() {
            continue;
        }
        let is_digit = c.is_ascii_digit();
        if prev != Some(is_digit) {
            runs += 1;
        }
        prev = Some(is_digit);
    }
    (b.len() >= 6 && runs >= 3) || (digits >= 4 && longest_digit_run >= 3)
}

/// Classifies one path segment (percent-decoded first) without context.
pub fn classify(segment: &str) -> SegmentKind {
    let decoded = percent_decode(segment, false);
    classify_decoded(&decoded)
}

/// Classifies a segment at `index` (0-based) in its path, where `prev` is the previous
/// segment if any. Same as [`classify`] except that a date in *version position* — the
/// first segment, or right after a scaffold word (`/2015-03-31/functions`,
/// `/api/2024-01-01/...`) — is a [`SegmentKind::Version`].
pub fn classify_at(segment: &str, index: usize, prev: Option<&str>) -> SegmentKind {
    let kind = classify(segment);
    let version_position =
        index == 0 || prev.is_some_and(|p| SCAFFOLD.iter().any(|w| w.eq_ignore_ascii_case(p)));
    if kind == SegmentKind::Version && !version_position && is_release_number(segment) {
        // `/repos/{o}/{r}/branches/4.22.16`, `/tags/v4.27.8`: a release tag, not the API's
        // version.
        return SegmentKind::MixedAlnum;
    }
    if kind == SegmentKind::Date {
        let version_position =
            index == 0 || prev.is_some_and(|p| SCAFFOLD.iter().any(|w| w.eq_ignore_ascii_case(p)));
        let decoded = percent_decode(segment, false);
        if version_position && is_date(&decoded) {
            return SegmentKind::Version;
        }
    }
    kind
}

/// A release number rather than an API version: a bare dotted number (`1.2`, `4.22.16`) or
/// a `v` with three parts (`v4.27.8`).
fn is_release_number(s: &str) -> bool {
    match s.strip_prefix(['v', 'V']) {
        Some(rest) => rest.split('.').count() >= 3,
        None => s.contains('.'),
    }
}

/// `sha256:<hex>` and the like: a content digest.
fn is_prefixed_digest(s: &str) -> bool {
    let Some((algo, hex)) = s.split_once(':') else {
        return false;
    };
    ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(algo))
        && (32..=128).contains(&hex.len())
        && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

fn classify_decoded(s: &str) -> SegmentKind {
    let b = s.as_bytes();
    if b.is_empty() {
        return SegmentKind::Literal;
    }
    if b.len() <= 64 {
        if is_version(s) {
            return SegmentKind::Version;
        }
        if SCAFFOLD.iter().any(|w| w.eq_ignore_ascii_case(s)) || is_known_literal(s) {
            return SegmentKind::Literal;
        }
    }
    let digits_only = |x: &[u8]| !x.is_empty() && x.iter().all(u8::is_ascii_digit);
    if digits_only(b) {
        if is_compact_date(s) {
            return SegmentKind::Date;
        }
        return SegmentKind::Integer;
    }
    if b.first() == Some(&b'-') && digits_only(b.get(1..).unwrap_or(&[])) && b.len() <= 21 {
        return SegmentKind::Integer;
    }
    if is_uuid(s) {
        return SegmentKind::Uuid;
    }
    if is_prefixed_digest(s) {
        return SegmentKind::HexDigest;
    }
    if is_date(s) || is_rfc3339_datetime(s) || is_date_shaped(b) {
        return SegmentKind::Date;
    }
    if is_ulid(b) {
        return SegmentKind::Ulid;
    }
    let has_digit = b.iter().any(u8::is_ascii_digit);
    let has_letter = b.iter().any(u8::is_ascii_alphabetic);
    if has_digit && has_letter && is_hex_lower_or_upper(b) {
        match b.len() {
            24 => return SegmentKind::ObjectId,
            32 | 40 | 64 | 128 => return SegmentKind::HexDigest,
            _ => {}
        }
    }
    if memchr::memchr(b'@', b).is_some() && super::sensitive::is_valid_email(s) {
        return SegmentKind::Email;
    }
    if is_ipv4(s) {
        return SegmentKind::MixedAlnum;
    }
    if b.len() > MAX_CLASSIFY_LEN {
        // Nothing this long is a route word.
        return SegmentKind::Base64Token;
    }
    if is_prefixed_id(b) {
        return SegmentKind::MixedAlnum;
    }
    if is_base64_token(b) {
        return SegmentKind::Base64Token;
    }
    if is_mixed_alnum(b) && !super::vocab::digits_are_words(s) {
        return SegmentKind::MixedAlnum;
    }
    SegmentKind::Literal
}

/// Irregular plurals and words whose plural does not follow the simple rules.
const IRREGULAR: &[(&str, &str)] = &[
    ("children", "child"),
    ("people", "person"),
    ("men", "man"),
    ("women", "woman"),
    ("mice", "mouse"),
    ("geese", "goose"),
    ("feet", "foot"),
    ("teeth", "tooth"),
    ("criteria", "criterion"),
    ("phenomena", "phenomenon"),
    ("indices", "index"),
    ("matrices", "matrix"),
    ("vertices", "vertex"),
    ("appendices", "appendix"),
    ("analyses", "analysis"),
    ("bases", "base"),
    ("theses", "thesis"),
    ("crises", "crisis"),
    ("diagnoses", "diagnosis"),
    ("aliases", "alias"),
    ("biases", "bias"),
    ("canvases", "canvas"),
    ("gases", "gas"),
    ("atlases", "atlas"),
    ("lenses", "lens"),
    ("quizzes", "quiz"),
    ("statuses", "status"),
    ("buses", "bus"),
    ("viruses", "virus"),
    ("campuses", "campus"),
    ("bonuses", "bonus"),
    ("censuses", "census"),
    ("corpuses", "corpus"),
    ("syllabuses", "syllabus"),
    ("radiuses", "radius"),
    ("focuses", "focus"),
    ("choruses", "chorus"),
    ("octopuses", "octopus"),
    ("heroes", "hero"),
    ("potatoes", "potato"),
    ("tomatoes", "tomato"),
    ("echoes", "echo"),
    ("vetoes", "veto"),
    ("torpedoes", "torpedo"),
    ("volcanoes", "volcano"),
    ("wives", "wife"),
    ("knives", "knife"),
    ("lives", "life"),
    ("leaves", "leaf"),
    ("halves", "half"),
    ("shelves", "shelf"),
    ("wolves", "wolf"),
    ("thieves", "thief"),
    ("loaves", "loaf"),
    ("calves", "calf"),
    ("selves", "self"),
    ("elves", "elf"),
    ("movies", "movie"),
    ("cookies", "cookie"),
    ("ties", "tie"),
    ("pies", "pie"),
    ("lies", "lie"),
    ("zombies", "zombie"),
    ("rookies", "rookie"),
    ("selfies", "selfie"),
    ("caches", "cache"),
    ("niches", "niche"),
    ("headaches", "headache"),
];

/// Words that are the same in singular and plural, or are not plurals despite the `s`.
const UNCOUNTABLE: &[&str] = &[
    "news",
    "series",
    "species",
    "data",
    "metadata",
    "media",
    "info",
    "information",
    "status",
    "sheep",
    "fish",
    "equipment",
    "analytics",
    "access",
    "settings",
    "progress",
    "feedback",
    "software",
    "hardware",
    "firmware",
    "stats",
    "physics",
    "economics",
    "aws",
    "gps",
    "dns",
    "sms",
    "ios",
    "os",
    "cors",
    "https",
    "tls",
    "ssl",
    "this",
    "has",
    "is",
    "was",
    "yes",
];

/// Singular of a simple English plural (`users` → `user`, `categories` → `category`,
/// `addresses` → `address`, `statuses` → `status`, `children` → `child`). Works on the last
/// `_`-separated word; unknown forms are returned unchanged.
pub fn singularize(word: &str) -> String {
    let (head, last) = match word.rfind('_') {
        Some(i) => (
            word.get(..=i).unwrap_or(""),
            word.get(i + 1..).unwrap_or(""),
        ),
        None => ("", word),
    };
    format!("{head}{}", singularize_word(last))
}

fn singularize_word(w: &str) -> String {
    let lower = w.to_ascii_lowercase();
    if let Some(&(_, single)) = IRREGULAR.iter().find(|(p, _)| *p == lower) {
        return single.to_string();
    }
    if UNCOUNTABLE.contains(&lower.as_str()) || w.len() <= 2 {
        return w.to_string();
    }
    let strip = |n: usize| w.get(..w.len().saturating_sub(n)).unwrap_or(w).to_string();
    if lower.ends_with("ies") && lower.len() > 4 {
        return format!("{}y", strip(3));
    }
    if lower.ends_with("sses")
        || lower.ends_with("xes")
        || lower.ends_with("ches")
        || lower.ends_with("shes")
        || lower.ends_with("zzes")
    {
        return strip(2);
    }
    if lower.ends_with("ss") || lower.ends_with("us") || lower.ends_with("is") {
        return w.to_string();
    }
    if lower.ends_with('s') {
        return strip(1);
    }
    w.to_string()
}

/// `snake_case` identifier from a path literal: lowercase ASCII alphanumerics, other runs
/// (and camelCase boundaries) become `_`, at most 40 characters.
fn snake_ident(s: &str) -> String {
    let ascii: String = s.chars().filter(char::is_ascii).collect();
    let tokens = super::util::name_tokens(&ascii);
    let mut out = tokens.join("_");
    out.truncate(40);
    out.trim_end_matches('_').to_string()
}

/// `YYYY-MM-DD` with a month 01-12 and a day 01-31, whether or not the day exists in that
/// month: a client sending `2024-02-30` still addresses the date parameter.
fn is_date_shaped(b: &[u8]) -> bool {
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !(0..4).chain([5, 6, 8, 9]).all(d) {
        return false;
    }
    let month = u32::from(b[5] - b'0') * 10 + u32::from(b[6] - b'0');
    let day = u32::from(b[8] - b'0') * 10 + u32::from(b[9] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Names the parameter a value-like segment becomes, from the literal segment before it
/// (if any) and its kind:
/// * [`SegmentKind::Date`] → `<singular parent>_date` (or `date`), [`SegmentKind::HexDigest`]
///   → `<singular parent>_hash` (or `hash`), [`SegmentKind::Email`] → `email`, [`SegmentKind::Base64Token`] → `token`,
///   [`SegmentKind::Version`] → `version`;
/// * id-like kinds → `<singular parent>_id` (`users` → `user_id`,
///   `order-items` → `order_item_id`), or `id` without a usable parent;
/// * [`SegmentKind::Literal`] (promoted by cardinality) → `<singular parent>` (`tags` →
///   `tag`), or `param` without a usable parent.
///
/// A parent that is a scaffold word or version (`api`, `v1`) or has no letters is not
/// usable. The result is a lowercase `[a-z0-9_]` identifier, without braces.
pub fn param_name(parent_literal: Option<&str>, kind: SegmentKind) -> String {
    match kind {
        SegmentKind::Email => return "email".into(),
        SegmentKind::Base64Token => return "token".into(),
        SegmentKind::Version => return "version".into(),
        _ => {}
    }
    let parent = parent_literal
        .map(|p| percent_decode(p, false).into_owned())
        .filter(|p| !is_scaffold(p) && !is_param_like(classify_decoded(p)))
        .map(|p| snake_ident(&p))
        .filter(|p| {
            p.bytes().any(|c| c.is_ascii_alphabetic())
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|p| singularize(&p));
    match (kind, parent) {
        (SegmentKind::Date, Some(p)) => format!("{p}_date"),
        (SegmentKind::Date, None) => "date".into(),
        (SegmentKind::HexDigest, Some(p)) => format!("{p}_hash"),
        (SegmentKind::HexDigest, None) => "hash".into(),
        (SegmentKind::Literal, Some(p)) => p,
        (SegmentKind::Literal, None) => "param".into(),
        (_, Some(p)) => format!("{p}_id"),
        (_, None) => "id".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SegmentKind::*;

    #[test]
    fn literals() {
        for s in [
            "users",
            "orders",
            "facade",
            "deadbeef",
            "cafe",
            "added",
            "api",
            "internal",
            "me",
            "self",
            "search",
            "new",
            "latest",
            "count",
            "bulk",
            "login",
            "oauth2",
            "sha256",
            "base64",
            "ipv6",
            "x509",
            "e2e",
            "i18n",
            "k8s",
            "html5",
            "getUserProfileSettings2",
            "index.html",
            "openapi.json",
            "user-profile",
            "",
            "Users",
            "Microsoft.Network",
            "install.sh",
            "README.md",
            "com.example",
        ] {
            assert_eq!(classify(s), Literal, "{s}");
            assert!(!is_param_like(classify(s)), "{s}");
        }
    }

    #[test]
    fn versions_and_scaffold() {
        for s in [
            "v1",
            "v2",
            "V3",
            "v99",
            "v1.0",
            "v2.1.3",
            "v1beta1",
            "v2alpha",
            "1.0",
            "2.1.3",
            "v1p1beta1",
            "v1p2",
            "v2p1alpha1",
            "v1_beta",
            "v2-preview",
        ] {
            assert_eq!(classify(s), Version, "{s}");
            assert!(is_scaffold(s), "{s}");
            assert!(!is_param_like(Version));
        }
        for s in ["api", "REST", "internal", "public", "admin", "pvt", "pub"] {
            assert!(is_scaffold(s), "{s}");
        }
        assert!(!is_scaffold("users"));
        assert!(is_known_literal("ME"));
        assert!(!is_known_literal("users"));
        assert_eq!(classify("v"), Literal);
        assert_eq!(classify("vx1"), Literal);
        assert_eq!(classify("v12345"), MixedAlnum);
    }

    #[test]
    fn integers() {
        for s in ["12345", "0", "42", "-1", "99999999999999999999999"] {
            assert_eq!(classify(s), Integer, "{s}");
        }
        assert_eq!(classify("-"), Literal);
    }

    #[test]
    fn typed_ids() {
        assert_eq!(classify("3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10"), Uuid);
        assert_eq!(classify("3F0C6B1E-9A4E-4C1B-8F3A-2B6D5E7C9A10"), Uuid);
        assert_eq!(classify("507f1f77bcf86cd799439011"), ObjectId);
        assert_eq!(classify("d41d8cd98f00b204e9800998ecf8427e"), HexDigest);
        assert_eq!(
            classify("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            HexDigest
        );
        assert_eq!(
            classify("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            HexDigest
        );
        assert_eq!(classify(&"ab12".repeat(32)), HexDigest);
        assert_eq!(classify("01ARZ3NDEKTSV4RRFFQ69G5FAV"), Ulid);
        assert_eq!(classify("01arz3ndektsv4rrffq69g5fav"), Ulid);
        // Not a ULID: starts with 8, contains U.
        assert_ne!(classify("81ARZ3NDEKTSV4RRFFQ69G5FAV"), Ulid);
        assert_ne!(classify("01ARZ3NDEKTSV4RRFFQ69G5FAU"), Ulid);
        // Mixed-case hex is not a digest.
        assert_ne!(classify("507F1f77bcf86cd799439011"), ObjectId);
    }

    #[test]
    fn dates() {
        assert_eq!(classify("2024-03-01"), Date);
        assert_eq!(classify("20240301"), Date);
        assert_eq!(classify("2024-03-01T10:00:00Z"), Date);
        // shaped like a date, even if February has no 30th: still the date parameter
        assert_eq!(classify("2024-02-30"), Date);
        assert_ne!(classify("2024-13-01"), Date);
        assert_eq!(classify("20241301"), Integer);
        assert_eq!(classify_at("2015-03-31", 0, None), Version);
        assert_eq!(classify_at("2024-01-01", 1, Some("api")), Version);
        assert_eq!(classify_at("2024-01-01", 2, Some("reports")), Date);
        assert_eq!(classify_at("12345", 0, None), Integer);
    }

    #[test]
    fn emails_and_percent_decoding() {
        assert_eq!(classify("john@example.com"), Email);
        assert_eq!(classify("john%40example.com"), Email);
        assert_eq!(classify("user@localhost"), Literal);
        assert_eq!(classify("%31%32%33"), Integer);
        assert_eq!(classify("caf%C3%A9"), Literal);
        assert_eq!(classify("%ZZ"), Literal);
    }

    #[test]
    fn tokens_and_mixed() {
        assert_eq!(classify("dGhpc0lzQVRva2VuMTIzNDU2Nzg5MA"), Base64Token);
        assert_eq!(classify("aB3dE5fG7hJ9kL1mN3pQ5rS7"), Base64Token);
        assert_eq!(classify("ab12cd34"), MixedAlnum);
        assert_eq!(classify("a1b2c3"), MixedAlnum);
        assert_eq!(classify("inv-2024-0001"), MixedAlnum);
        assert_eq!(classify("user12345"), MixedAlnum);
        assert_eq!(classify("5f3a2b9c1d"), MixedAlnum);
        assert_eq!(classify("10.0.0.1"), MixedAlnum);
        assert_eq!(classify(&"x".repeat(10_000)), Base64Token);
    }

    #[test]
    fn names() {
        assert_eq!(param_name(Some("users"), Integer), "user_id");
        assert_eq!(param_name(Some("orders"), Uuid), "order_id");
        assert_eq!(param_name(Some("categories"), Integer), "category_id");
        assert_eq!(param_name(Some("addresses"), Integer), "address_id");
        assert_eq!(param_name(Some("statuses"), Integer), "status_id");
        assert_eq!(param_name(Some("children"), Integer), "child_id");
        assert_eq!(param_name(Some("people"), ObjectId), "person_id");
        assert_eq!(param_name(Some("order-items"), Integer), "order_item_id");
        assert_eq!(param_name(Some("lineItems"), Integer), "line_item_id");
        assert_eq!(param_name(Some("boxes"), Integer), "box_id");
        assert_eq!(param_name(Some("matches"), Integer), "match_id");
        assert_eq!(param_name(Some("movies"), Integer), "movie_id");
        assert_eq!(param_name(Some("houses"), Integer), "house_id");
        assert_eq!(param_name(Some("news"), Integer), "news_id");
        assert_eq!(param_name(Some("user"), Integer), "user_id");
        assert_eq!(param_name(Some("api"), Integer), "id");
        assert_eq!(param_name(Some("v1"), Integer), "id");
        assert_eq!(param_name(None, Integer), "id");
        assert_eq!(param_name(Some("12345"), Integer), "id");
        assert_eq!(param_name(Some("reports"), Date), "report_date");
        assert_eq!(param_name(None, Date), "date");
        assert_eq!(param_name(Some("blobs"), HexDigest), "blob_hash");
        assert_eq!(param_name(Some("users"), Email), "email");
        assert_eq!(param_name(Some("tags"), Literal), "tag");
        assert_eq!(param_name(None, Literal), "param");
        assert_eq!(param_name(Some("caf%C3%A9s"), Integer), "caf_id");
        let long = param_name(Some(&"a".repeat(500)), Integer);
        assert!(long.len() <= 43 && long.ends_with("_id"));
    }

    #[test]
    fn singular_forms() {
        for (p, s) in [
            ("users", "user"),
            ("categories", "category"),
            ("addresses", "address"),
            ("statuses", "status"),
            ("children", "child"),
            ("classes", "class"),
            ("responses", "response"),
            ("databases", "database"),
            ("caches", "cache"),
            ("leaves", "leaf"),
            ("archives", "archive"),
            ("status", "status"),
            ("analysis", "analysis"),
            ("order_items", "order_item"),
            ("s", "s"),
            ("", ""),
        ] {
            assert_eq!(singularize(p), s, "{p}");
        }
    }

    #[test]
    fn kind_names() {
        assert_eq!(ObjectId.name(), "object_id");
        assert_eq!(
            serde_json::to_string(&HexDigest).ok().as_deref(),
            Some("\"hex_digest\"")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// Strings over an alphabet of troublesome characters (shared with the other
        /// analyzers' tests): no panic, bounded output.
        #[test]
        fn random_inputs_never_panic(s in crate::analyze::testinput::troublesome()) {
            let k = classify(&s);
            let _ = classify_at(&s, 0, Some(&s));
            let name = param_name(Some(&s), k);
            assert!(!name.is_empty());
            assert!(
                name.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
                "{name}"
            );
            let _ = singularize(&s);

        }
    }
}
