//! Scope: which endpoints are APIs of ours, and which are noise around them.
//!
//! Every endpoint gets one scope (most specific rule first):
//!
//! * `ignored`: an ignore rule of the configuration matches its host and path template (kept in
//!   the inventory, hidden from lists and counts, no endpoint findings).
//! * `third_party`: its host is not ours. Which hosts are ours: when the configuration names
//!   owned hosts (`owned`), those, the hosts an imported API description's servers name and
//!   the observed hosts mapped to them (`[spec.hosts]`, `--map-host`); every other host is
//!   third-party. Without `owned`, every host is ours except those the configuration names
//!   `third_party`.
//! * `static`: it serves static content (see [`static_reason`]).
//! * `api`: everything else.
//!
//! Host patterns are case-insensitive; `*` stands for any run of characters (`*.acme.io`
//! matches `cdn.acme.io` and `a.b.acme.io`, not `acme.io`); a pattern without a port matches
//! the host with any port. Path patterns are matched against the path template
//! (`/assets/*` matches `/assets/{file}` and `/assets/app.js`), case-sensitively.

/// The scope of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// An API endpoint of ours (the default).
    Api,
    /// Static content: images, fonts, style sheets, scripts, media, HTML documents.
    Static,
    /// An endpoint of a host that is not ours.
    ThirdParty,
    /// Matched by an ignore rule.
    Ignored,
}

impl Scope {
    /// Every scope, in display order.
    pub const ALL: [Scope; 4] = [Scope::Api, Scope::Static, Scope::ThirdParty, Scope::Ignored];

    /// The stable name (`endpoints.scope`, `api_endpoints.scope`, `?scope=`).
    pub fn name(self) -> &'static str {
        match self {
            Scope::Api => "api",
            Scope::Static => "static",
            Scope::ThirdParty => "third_party",
            Scope::Ignored => "ignored",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// Path extensions of static files (the last segment's, case-insensitive).
pub const STATIC_EXTENSIONS: [&str; 30] = [
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "ico",
    "webp",
    "avif",
    "bmp",
    "css",
    "js",
    "mjs",
    "map",
    "woff",
    "woff2",
    "ttf",
    "otf",
    "eot",
    "mp4",
    "webm",
    "mp3",
    "ogg",
    "wav",
    "html",
    "htm",
    "txt",
    "wasm",
    "pdf",
    "webmanifest",
    "xml",
];

/// Query parameters that turn a script into a JSONP API (the data comes back as a call).
pub const JSONP_PARAMS: [&str; 4] = ["callback", "jsonp", "cb", "jsoncallback"];

/// What a response media type says about the endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// Static content whatever the path.
    Static,
    /// An HTML or XHTML page: a document when fetched with GET or HEAD at a path without
    /// parameters.
    Document,
    /// Says nothing either way (`application/octet-stream`, `text/plain`, no type).
    Neutral,
    /// An API answer (JSON, XML, protobuf, forms, ...).
    Api,
}

/// The kind of a response media type (lower case, without parameters, as stored).
pub fn media_kind(media: &str) -> MediaKind {
    let m = media.trim();
    let top = m.split('/').next().unwrap_or("");
    match m {
        "" | "application/octet-stream" | "binary/octet-stream" | "text/plain" => {
            MediaKind::Neutral
        }
        "text/html" | "application/xhtml+xml" => MediaKind::Document,
        "text/css"
        | "application/javascript"
        | "application/x-javascript"
        | "application/ecmascript"
        | "text/javascript"
        | "text/ecmascript"
        | "application/wasm"
        | "application/manifest+json"
        | "application/vnd.ms-fontobject"
        | "application/font-woff"
        | "application/font-woff2"
        | "application/x-font-ttf"
        | "application/x-font-otf"
        | "application/x-font-woff"
        | "application/pdf" => MediaKind::Static,
        _ if matches!(top, "image" | "font" | "audio" | "video") => MediaKind::Static,
        _ => MediaKind::Api,
    }
}

/// The static extension of a path template's last segment (`/assets/app.min.js` → `js`,
/// `/img/{file}.png` → `png`), if it has one.
pub fn static_extension(template: &str) -> Option<&'static str> {
    let path = template.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    let (stem, ext) = last.rsplit_once('.')?;
    if stem.is_empty() && !last.starts_with('.') {
        return None;
    }
    STATIC_EXTENSIONS
        .into_iter()
        .find(|e| e.eq_ignore_ascii_case(ext))
}

/// What is known of an endpoint when its scope is decided.
#[derive(Clone, Debug, Default)]
pub struct EndpointFacts<'a> {
    /// Host as observed.
    pub host: &'a str,
    /// Method.
    pub method: &'a str,
    /// Path template.
    pub template: &'a str,
    /// One concrete path of it.
    pub example_path: &'a str,
    /// Media types of its successful (2xx) response bodies, with their counts.
    pub ok_media: Vec<(&'a str, i64)>,
    /// Names of its query parameters.
    pub query_params: Vec<&'a str>,
}

/// A static response for every so many API answers at least: a directory of assets whose
/// template merged a JSON source map or manifest (`/assets/{file}`) stays static.
pub const STATIC_RATIO: i64 = 3;

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Why an endpoint serves static content, or `None` when it does not. The rule:
///
/// 1. Only GET and HEAD fetch static content; any other method is an API call whatever the
///    path (a `PUT /files/{name}.png` uploads). (A HEAD without evidence of its own follows
///    the GET of its path: see [`ScopeRules::scopes`].)
/// 2. A JSONP parameter (`callback`, `jsonp`, `cb`, `jsoncallback`) makes it an API: the
///    script it returns is data.
/// 3. The media types of its successful (2xx) response bodies decide when they say
///    something. Static: `image/*`, `font/*`, `audio/*`, `video/*`, `text/css`, JavaScript,
///    `application/wasm`, web manifests, PDF; an HTML page at a path without parameters (a
///    document: `/`, `/about`); JSON at a path ending in `.map` (a source map). Every other
///    type is an API answer (JSON, XML, ...), and so is an HTML page at a path with
///    parameters (`/users/{id}`: rendered from data). Static when static responses outnumber
///    API answers [`STATIC_RATIO`] to one (a directory of assets whose template merged a
///    source map); an API otherwise (JSON at `/data.json` or at a `.js` path is an API).
/// 4. Otherwise (no successful body seen: 304s, HEAD, errors only; or only neutral types
///    such as `application/octet-stream` and `text/plain`) the path decides: the last segment
///    of the template, or of the example path when that segment is a parameter, ending in a
///    static extension ([`STATIC_EXTENSIONS`]) is static.
pub fn static_reason(e: &EndpointFacts<'_>) -> Option<String> {
    if !(e.method.eq_ignore_ascii_case("GET") || e.method.eq_ignore_ascii_case("HEAD")) {
        return None;
    }
    if e.template.contains('#') {
        // A GraphQL operation or similar: an API by construction.
        return None;
    }
    if e.query_params
        .iter()
        .any(|q| JSONP_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(q)))
    {
        return None;
    }
    let has_params = e.template.contains('{');
    let source_map = static_extension(e.template) == Some("map");
    let (mut static_n, mut api_n) = (0i64, 0i64);
    let mut static_types: Vec<&str> = Vec::new();
    for &(m, n) in &e.ok_media {
        let n = n.max(1);
        let kind = match media_kind(m) {
            MediaKind::Api if source_map && is_json(m) => MediaKind::Static,
            MediaKind::Document if has_params => MediaKind::Api,
            MediaKind::Document => MediaKind::Static,
            k => k,
        };
        match kind {
            MediaKind::Static => {
                static_n = static_n.saturating_add(n);
                if !static_types.contains(&m) {
                    static_types.push(m);
                }
            }
            MediaKind::Api => api_n = api_n.saturating_add(n),
            _ => {}
        }
    }
    if static_n > 0 && static_n >= api_n.saturating_mul(STATIC_RATIO) {
        static_types.sort_unstable();
        let mut why = format!("responses are {}", static_types.join(", "));
        if api_n > 0 {
            why.push_str(&format!(" ({static_n} of {} answers)", static_n + api_n));
        }
        return Some(why);
    }
    if api_n > 0 {
        return None;
    }
    if let Some(ext) = static_extension(e.template) {
        return Some(format!("path ends in .{ext}"));
    }
    let last = e.template.rsplit('/').next().unwrap_or("");
    if last.starts_with('{')
        && last.ends_with('}')
        && let Some(ext) = static_extension(e.example_path)
    {
        return Some(format!("path ends in .{ext} (example {})", e.example_path));
    }
    None
}

/// Whether a host pattern matches a host (see the module docs).
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let p = pattern.trim().to_ascii_lowercase();
    let h = host.trim().to_ascii_lowercase();
    if glob(&p, &h) {
        return true;
    }
    // A pattern without a port matches the host on any port.
    match (split_port(&p), split_port(&h)) {
        ((_, None), (name, Some(_))) => glob(&p, name),
        _ => false,
    }
}

/// A host and its port (`api:8080`, `[::1]:8080`; a bare IPv6 address has none).
fn split_port(h: &str) -> (&str, Option<&str>) {
    if let Some((name, port)) = h.rsplit_once(':') {
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        if digits && (!name.contains(':') || (name.starts_with('[') && name.ends_with(']'))) {
            return (name, Some(port));
        }
    }
    (h, None)
}

/// Whether a path pattern matches a path template.
pub fn path_matches(pattern: &str, template: &str) -> bool {
    glob(pattern.trim(), template)
}

/// `*` matches any run of characters (none included); everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// An ignore rule: an endpoint matching every part that is set is `ignored`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreRule {
    /// Host pattern (any host when absent).
    pub host: Option<String>,
    /// Path template pattern (any path when absent).
    pub path: Option<String>,
}

impl IgnoreRule {
    /// Whether the rule matches (a rule with neither part matches nothing).
    pub fn matches(&self, host: &str, template: &str) -> bool {
        if self.host.is_none() && self.path.is_none() {
            return false;
        }
        self.host.as_deref().is_none_or(|p| host_matches(p, host))
            && self
                .path
                .as_deref()
                .is_none_or(|p| path_matches(p, template))
    }

    /// The rule in words (for `scope_reason`).
    pub fn describe(&self) -> String {
        match (&self.host, &self.path) {
            (Some(h), Some(p)) => format!("ignore rule host {h} path {p}"),
            (Some(h), None) => format!("ignore rule host {h}"),
            (None, Some(p)) => format!("ignore rule path {p}"),
            (None, None) => "ignore rule".into(),
        }
    }
}

/// Host ownership and ignore rules, from the configuration and the imported descriptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeRules {
    /// Host patterns that are ours (configuration `owned`).
    pub owned: Vec<String>,
    /// Host patterns that are not ours (configuration `third_party`).
    pub third_party: Vec<String>,
    /// Ignore rules.
    pub ignore: Vec<IgnoreRule>,
    /// Hosts an imported description's servers name, and observed hosts mapped to them.
    pub spec_hosts: Vec<String>,
}

impl ScopeRules {
    /// Why a host is not ours, or `None` when it is.
    pub fn third_party_reason(&self, host: &str) -> Option<String> {
        if self.owned.iter().any(|p| host_matches(p, host)) {
            return None;
        }
        if let Some(p) = self.third_party.iter().find(|p| host_matches(p, host)) {
            return Some(format!("host matches third_party {p}"));
        }
        if self.owned.is_empty() {
            return None;
        }
        if self.spec_hosts.iter().any(|s| host_matches(s, host)) {
            return None;
        }
        Some("host is not owned (not in owned hosts nor an API description's servers)".into())
    }

    /// The scopes of a set of endpoints, in their order: [`ScopeRules::scope`] of each, then a
    /// HEAD that would be an API takes the static scope of the GET of its host and template
    /// (a HEAD has no body to tell).
    pub fn scopes(&self, eps: &[EndpointFacts<'_>]) -> Vec<(Scope, Option<String>)> {
        let mut out: Vec<(Scope, Option<String>)> = eps.iter().map(|e| self.scope(e)).collect();
        let gets: std::collections::HashMap<(&str, &str), usize> = eps
            .iter()
            .enumerate()
            .filter(|(_, e)| e.method.eq_ignore_ascii_case("GET"))
            .map(|(i, e)| ((e.host, e.template), i))
            .collect();
        for (i, e) in eps.iter().enumerate() {
            if !e.method.eq_ignore_ascii_case("HEAD") || out[i].0 != Scope::Api {
                continue;
            }
            if let Some(&g) = gets.get(&(e.host, e.template))
                && out[g].0 == Scope::Static
            {
                let why = out[g].1.clone().unwrap_or_default();
                out[i] = (Scope::Static, Some(format!("as its GET: {why}")));
            }
        }
        out
    }

    /// The scope of an endpoint and why (`None` for `api`).
    pub fn scope(&self, e: &EndpointFacts<'_>) -> (Scope, Option<String>) {
        if let Some(r) = self.ignore.iter().find(|r| r.matches(e.host, e.template)) {
            return (Scope::Ignored, Some(r.describe()));
        }
        if let Some(why) = self.third_party_reason(e.host) {
            return (Scope::ThirdParty, Some(why));
        }
        if let Some(why) = static_reason(e) {
            return (Scope::Static, Some(why));
        }
        (Scope::Api, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(method: &'a str, template: &'a str, media: &[&'a str]) -> EndpointFacts<'a> {
        EndpointFacts {
            host: "api.acme.io",
            method,
            template,
            example_path: template,
            ok_media: media.iter().map(|m| (*m, 1)).collect(),
            query_params: Vec::new(),
        }
    }

    #[test]
    fn static_by_media_type() {
        assert_eq!(
            static_reason(&facts("GET", "/logo", &["image/png"])).as_deref(),
            Some("responses are image/png")
        );
        assert!(static_reason(&facts("GET", "/app", &["application/javascript"])).is_some());
        assert!(static_reason(&facts("GET", "/s", &["text/css", "text/plain"])).is_some());
        // A source map answers JSON.
        assert!(
            static_reason(&facts("GET", "/assets/app.js.map", &["application/json"])).is_some()
        );
        assert!(static_reason(&facts("GET", "/f/{id}", &["font/woff2"])).is_some());
        assert!(static_reason(&facts("HEAD", "/v", &["video/mp4"])).is_some());
    }

    #[test]
    fn api_types_win_over_extensions() {
        // An API answering JSON at /data.json, or JSON at a .js path, is an API.
        assert_eq!(
            static_reason(&facts("GET", "/data.json", &["application/json"])),
            None
        );
        assert_eq!(
            static_reason(&facts("GET", "/config.js", &["application/json"])),
            None
        );
        assert_eq!(
            static_reason(&facts("GET", "/a.png", &["image/png", "application/json"])),
            None
        );
    }

    #[test]
    fn a_directory_of_assets_that_merged_a_json_file() {
        // `/assets/{param}`: scripts, style sheets, images and one source map.
        let mut f = facts("GET", "/assets/{param}", &[]);
        f.example_path = "/assets/app.js";
        f.ok_media = vec![
            ("text/javascript", 4),
            ("text/css", 3),
            ("image/png", 2),
            ("application/json", 1),
        ];
        assert_eq!(
            static_reason(&f).as_deref(),
            Some("responses are image/png, text/css, text/javascript (9 of 10 answers)")
        );
        // Mostly JSON with a few images: an API.
        f.ok_media = vec![("application/json", 5), ("image/png", 3)];
        assert_eq!(static_reason(&f), None);
        // No body: the example path's extension, when the last segment is a parameter.
        f.ok_media.clear();
        assert_eq!(
            static_reason(&f).as_deref(),
            Some("path ends in .js (example /assets/app.js)")
        );
        f.example_path = "/assets/42";
        assert_eq!(static_reason(&f), None);
    }

    #[test]
    fn head_follows_its_get() {
        let rules = ScopeRules::default();
        let get = facts("GET", "/assets/{param}", &["text/css"]);
        let mut head = facts("HEAD", "/assets/{param}", &[]);
        head.example_path = "/assets/42";
        let s = rules.scopes(&[head.clone(), get]);
        assert_eq!(s[0].0, Scope::Static);
        assert_eq!(
            s[0].1.as_deref(),
            Some("as its GET: responses are text/css")
        );
        assert_eq!(rules.scopes(&[head])[0].0, Scope::Api);
    }

    #[test]
    fn jsonp_is_an_api() {
        let mut f = facts("GET", "/widget.js", &["application/javascript"]);
        f.query_params = vec!["callback"];
        assert_eq!(static_reason(&f), None);
        f.query_params = vec!["v"];
        assert!(static_reason(&f).is_some());
    }

    #[test]
    fn html_documents_only_without_parameters() {
        assert!(static_reason(&facts("GET", "/", &["text/html"])).is_some());
        assert!(static_reason(&facts("GET", "/about", &["text/html"])).is_some());
        assert_eq!(
            static_reason(&facts("GET", "/users/{id}", &["text/html"])),
            None
        );
        assert_eq!(
            static_reason(&facts("POST", "/login", &["text/html"])),
            None
        );
    }

    #[test]
    fn extension_decides_without_a_saying_body() {
        assert_eq!(
            static_reason(&facts("GET", "/assets/app.min.js", &[])).as_deref(),
            Some("path ends in .js")
        );
        assert!(
            static_reason(&facts(
                "GET",
                "/img/{file}.PNG",
                &["application/octet-stream"]
            ))
            .is_some()
        );
        assert_eq!(static_reason(&facts("GET", "/users/{id}", &[])), None);
        assert_eq!(static_reason(&facts("GET", "/v1.2/users", &[])), None);
        assert_eq!(static_reason(&facts("PUT", "/files/{name}.png", &[])), None);
        assert_eq!(static_reason(&facts("GET", "/graphql#query X", &[])), None);
        assert_eq!(static_extension("/a/b.tar.gz"), None);
        assert_eq!(static_extension("/favicon.ico"), Some("ico"));
    }

    #[test]
    fn media_kinds() {
        assert_eq!(media_kind("application/json"), MediaKind::Api);
        assert_eq!(media_kind("application/problem+json"), MediaKind::Api);
        assert_eq!(media_kind("image/svg+xml"), MediaKind::Static);
        assert_eq!(media_kind("text/html"), MediaKind::Document);
        assert_eq!(media_kind(""), MediaKind::Neutral);
    }

    #[test]
    fn host_patterns() {
        assert!(host_matches("api.acme.io", "API.acme.io"));
        assert!(host_matches("*.acme.io", "cdn.acme.io"));
        assert!(host_matches("*.acme.io", "a.b.acme.io"));
        assert!(!host_matches("*.acme.io", "acme.io"));
        assert!(host_matches("api.acme.io", "api.acme.io:8443"));
        assert!(!host_matches("api.acme.io:80", "api.acme.io:8443"));
        assert!(host_matches("127.0.0.1", "127.0.0.1:8080"));
        assert!(host_matches("[::1]", "[::1]:8080"));
        assert!(!host_matches("acme.io", "evilacme.io"));
    }

    #[test]
    fn path_patterns_and_ignore_rules() {
        assert!(path_matches("/assets/*", "/assets/{file}"));
        assert!(path_matches("/healthz", "/healthz"));
        assert!(!path_matches("/healthz", "/healthz/deep"));
        let r = IgnoreRule {
            host: Some("cdn.acme.io".into()),
            path: Some("/assets/*".into()),
        };
        assert!(r.matches("cdn.acme.io", "/assets/app.js"));
        assert!(!r.matches("api.acme.io", "/assets/app.js"));
        assert!(
            !IgnoreRule {
                host: None,
                path: None
            }
            .matches("a", "/")
        );
    }

    #[test]
    fn ownership() {
        let mut rules = ScopeRules::default();
        // Nothing says which hosts are ours: all are.
        assert_eq!(rules.third_party_reason("www.google.com"), None);
        rules.third_party = vec!["*.google-analytics.com".into()];
        assert!(
            rules
                .third_party_reason("www.google-analytics.com")
                .is_some()
        );
        assert_eq!(rules.third_party_reason("www.google.com"), None);
        rules.owned = vec!["*.acme.io".into()];
        rules.spec_hosts = vec!["petstore.example".into()];
        assert_eq!(rules.third_party_reason("api.acme.io"), None);
        assert_eq!(rules.third_party_reason("petstore.example:8080"), None);
        assert!(rules.third_party_reason("www.google.com").is_some());
        // Owned wins over third_party.
        rules.third_party.push("*.acme.io".into());
        assert_eq!(rules.third_party_reason("api.acme.io"), None);
    }

    #[test]
    fn precedence() {
        let rules = ScopeRules {
            owned: vec!["api.acme.io".into()],
            ignore: vec![IgnoreRule {
                host: None,
                path: Some("/healthz".into()),
            }],
            ..ScopeRules::default()
        };
        let mut f = facts("GET", "/healthz", &["application/json"]);
        assert_eq!(rules.scope(&f).0, Scope::Ignored);
        f.template = "/logo.png";
        f.ok_media = vec![("image/png", 1)];
        assert_eq!(rules.scope(&f).0, Scope::Static);
        f.host = "cdn.other.net";
        assert_eq!(rules.scope(&f).0, Scope::ThirdParty);
        f.host = "api.acme.io";
        f.template = "/users";
        f.ok_media = vec![("application/json", 1)];
        assert_eq!(rules.scope(&f), (Scope::Api, None));
    }

    #[test]
    fn glob_never_panics() {
        for (p, t) in [
            ("", ""),
            ("*", ""),
            ("**", "x"),
            ("a*b*c", "aXbYc"),
            ("a*", ""),
        ] {
            let _ = glob(p, t);
        }
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b", "aXbYc"));
    }
}
