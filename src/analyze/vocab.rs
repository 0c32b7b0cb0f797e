//! Does a path segment read as a word of an API's vocabulary, or as a name or identifier?
//!
//! [`word_score`] tokenizes a segment (separators `-_.~:+@` and spaces, camelCase and
//! PascalCase boundaries, letter/digit boundaries) and scores each alphabetic token against
//! three word lists that ship inside the binary:
//!
//! * `english.txt`: the lower-case words of SCOWL size 50 (Kevin Atkinson's Spell Checker
//!   Oriented Word Lists, as packaged by Debian in `wamerican` 2020.12.07; 63,849 words,
//!   inflections included). Licence: permissive, see `vocab/SCOWL-LICENSE`.
//! * `names.txt`: the capitalised entries of the same list that are not also common words
//!   (first names, surnames, places, brands: `alice`, `turing`, `microsoft`; 9,024).
//! * `tech.txt`: computing words and abbreviations that dictionaries lack (`oauth2`, `jwks`,
//!   `webhooks`, `k8s`, `repos`, `certs`); general terms, not names of any one API.
//!
//! A token that is not a word as written may be an inflection (`schemas` → `schema`,
//! `retried` → `retry`) or a compound written without separators, as some APIs do
//! (`resourcequotas`, `backupruns`, `playerdashboardbyopponent`): up to five words of at least
//! three letters each, or two-letter joiners (`by`, `of`) between them.
//!
//! The score is the share of the segment's letters that belong to word tokens, lowered for
//! what identifiers do and route words do not: digits inside a non-technical token
//! (`alice38`, `us-central1`), names (`alice`, `turing`), several Capitalised tokens joined
//! by separators (`Nova-Granite`). It is evidence, weighed by the template learner with
//! structure and cardinality; on its own it decides nothing.

use std::collections::HashSet;
use std::sync::OnceLock;

static ENGLISH: &str = include_str!("vocab/english.txt");
static NAMES: &str = include_str!("vocab/names.txt");
static TECH: &str = include_str!("vocab/tech.txt");

struct Lists {
    english: HashSet<&'static str>,
    names: HashSet<&'static str>,
    tech: HashSet<&'static str>,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let set = |s: &'static str| -> HashSet<&'static str> {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect()
        };
        Lists {
            english: set(ENGLISH),
            names: set(NAMES),
            tech: set(TECH),
        }
    })
}

/// Extensions of file names (documents, media, archives, source files, keys).
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "mp3", "mp4", "wav",
    "ogg", "flac", "avi", "mov", "mkv", "webm", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx",
    "odt", "rtf", "md", "rst", "tex", "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "jar",
    "war", "whl", "deb", "rpm", "apk", "exe", "dll", "so", "bin", "iso", "img", "dmg", "py", "js",
    "ts", "jsx", "tsx", "rb", "go", "rs", "java", "kt", "c", "h", "cpp", "hpp", "cs", "php", "pl",
    "sh", "swift", "scala", "lua", "sql", "log", "cfg", "ini", "conf", "toml", "env", "pem", "crt",
    "key", "der", "csr",
];

/// Longest token looked up (longer ones are never words).
const MAX_TOKEN: usize = 40;

/// How one alphabetic token reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenClass {
    /// A dictionary or technical word, or an inflection of one.
    Word,
    /// Two to five words written together (`resourcequotas`).
    Compound,
    /// A proper name (`alice`, `microsoft`).
    Name,
    /// Not in any list.
    Unknown,
}

fn lookup(t: &str) -> bool {
    let l = lists();
    l.english.contains(t) || l.tech.contains(t)
}

/// Base forms to try for an inflected token.
fn stems(t: &str) -> impl Iterator<Item = String> + '_ {
    let mut out: Vec<String> = Vec::new();
    if let Some(b) = t.strip_suffix("ies") {
        out.push(format!("{b}y"));
    }
    if let Some(b) = t.strip_suffix("es") {
        out.push(b.to_string());
    }
    if let Some(b) = t.strip_suffix('s') {
        out.push(b.to_string());
    }
    if let Some(b) = t.strip_suffix("ied") {
        out.push(format!("{b}y"));
    }
    if let Some(b) = t.strip_suffix("ed") {
        out.push(b.to_string());
        out.push(format!("{b}e"));
    }
    if let Some(b) = t.strip_suffix("ing") {
        out.push(b.to_string());
        out.push(format!("{b}e"));
    }
    if let Some(b) = t.strip_suffix("er") {
        out.push(b.to_string());
        out.push(format!("{b}e"));
    }
    out.into_iter().filter(|s| s.len() >= 2)
}

fn is_word(t: &str) -> bool {
    lookup(t) || stems(t).any(|s| lookup(&s))
}

/// Longest token tried as a compound (the split costs O(n²) lookups).
const MAX_COMPOUND: usize = 40;

/// Most words in a compound.
const MAX_COMPOUND_PARTS: u8 = 5;

/// Two-letter words that join the words of a long compound (`playerdashboardbyopponent`,
/// `findcitiesfromlatlong`); never its first word.
const JOINERS: &[&str] = &["by", "of", "to", "in", "on", "at", "or", "vs"];

/// Whether `t` splits into two to five words (or plurals of words) of at least three letters
/// each, the words after the first also joined by [`JOINERS`] (`resourcequotas`,
/// `franchisehistory`, `playerdashboardbyopponent`).
fn is_compound(t: &str) -> bool {
    const MIN: usize = 3;
    let n = t.len();
    if !(2 * MIN..=MAX_COMPOUND).contains(&n) || !t.is_ascii() {
        return false;
    }
    let part = |p: &str| lookup(p) || p.strip_suffix('s').is_some_and(lookup);
    // fewest[i]: the fewest words that spell t[..i] (0: not reachable).
    let mut fewest = [0u8; MAX_COMPOUND + 1];
    for end in MIN..=n {
        let mut best = 0u8;
        for (start, &before) in fewest.iter().enumerate().take(end - 1) {
            if start > 0 && before == 0 {
                continue;
            }
            let Some(p) = t.get(start..end) else { continue };
            let fits = if p.len() >= MIN {
                part(p)
            } else {
                start > 0 && JOINERS.contains(&p)
            };
            if fits && before < MAX_COMPOUND_PARTS && (best == 0 || before + 1 < best) {
                best = before + 1;
            }
        }
        fewest[end] = best;
    }
    fewest[n] >= 2
}

/// Classifies one lower-case alphabetic token.
pub fn classify_token(t: &str) -> TokenClass {
    if t.len() > MAX_TOKEN {
        return TokenClass::Unknown;
    }
    if is_word(t) {
        return TokenClass::Word;
    }
    if lists().names.contains(t) {
        return TokenClass::Name;
    }
    if is_compound(t) {
        return TokenClass::Compound;
    }
    TokenClass::Unknown
}

/// Whether every separator-delimited piece of `s` that holds a digit is a technical word
/// (`k8s`, `oauth2`, `ipv6`, `s3`) or a version (`v1`, `v2beta1`): then the digits are
/// part of words, not of an identifier (`admissionregistration.k8s.io`, `oauth2`).
pub fn digits_are_words(s: &str) -> bool {
    if s.len() > 128 || !s.is_ascii() {
        return false;
    }
    let mut any = false;
    for piece in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        if !piece.bytes().any(|c| c.is_ascii_digit()) {
            continue;
        }
        any = true;
        let p = piece.to_ascii_lowercase();
        let version = p.strip_prefix('v').is_some_and(|r| {
            let d = r.bytes().take_while(u8::is_ascii_digit).count();
            (1..=3).contains(&d)
                && ["", "alpha", "beta"].iter().any(|w| {
                    r[d..]
                        .strip_prefix(w)
                        .is_some_and(|t| t.bytes().all(|c| c.is_ascii_digit()) && t.len() <= 2)
                })
        });
        if !(lists().tech.contains(p.as_str()) || version || words_around_digits(piece)) {
            return false;
        }
    }
    any
}

/// Whether `piece` is words with a short number inside, in camelCase: two or more letter
/// tokens of three or more letters that are all words, one of them capitalized after the
/// first, and digit runs of at most two (`python2Packages`, `route53Domains`).
/// Identifiers mix letters and digits without that (`a1b2c3`, `alice42`, `blue7green`).
fn words_around_digits(piece: &str) -> bool {
    let toks = tokens(piece);
    let mut letters = 0;
    for t in &toks {
        if t.digits {
            if t.text.len() > 2 {
                return false;
            }
            continue;
        }
        let l = t.text.to_ascii_lowercase();
        if l.len() < 3 || !is_word(&l) {
            return false;
        }
        letters += 1;
    }
    letters >= 2
        && toks
            .iter()
            .skip(1)
            .any(|t| t.text.starts_with(|c: char| c.is_ascii_uppercase()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Lower,
    Capitalized,
    Upper,
}

/// One token of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    /// The token as written.
    pub text: &'a str,
    /// Digits only.
    pub digits: bool,
    /// Starts a new separator-delimited piece.
    pub piece_start: bool,
}

/// Splits a segment into tokens: separators, camelCase / PascalCase boundaries
/// (`backupRuns`, `SSLCerts`), and letter/digit boundaries.
pub fn tokens<'a>(s: &'a str) -> Vec<Token<'a>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut piece_start = true;
    let push = |out: &mut Vec<Token<'a>>, a: usize, e: usize, piece_start: &mut bool| {
        if let Some(text) = s.get(a..e)
            && !text.is_empty()
        {
            out.push(Token {
                text,
                digits: text.bytes().all(|c| c.is_ascii_digit()),
                piece_start: *piece_start,
            });
            *piece_start = false;
        }
    };
    for i in 0..b.len() {
        let c = b[i];
        if !c.is_ascii_alphanumeric() {
            if let Some(a) = start.take() {
                push(&mut out, a, i, &mut piece_start);
            }
            piece_start = true;
            continue;
        }
        match start {
            None => start = Some(i),
            Some(a) => {
                let p = b[i - 1];
                let boundary = (p.is_ascii_digit() != c.is_ascii_digit())
                    || (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                    || (p.is_ascii_uppercase()
                        && c.is_ascii_uppercase()
                        && b.get(i + 1).is_some_and(u8::is_ascii_lowercase));
                if boundary {
                    push(&mut out, a, i, &mut piece_start);
                    start = Some(i);
                }
            }
        }
    }
    if let Some(a) = start {
        push(&mut out, a, b.len(), &mut piece_start);
    }
    out
}

fn case_of(t: &str) -> Case {
    let mut chars = t.bytes().filter(u8::is_ascii_alphabetic);
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() => {
            if chars.all(|c| c.is_ascii_uppercase()) {
                Case::Upper
            } else {
                Case::Capitalized
            }
        }
        _ => Case::Lower,
    }
}

/// How a segment reads, with the evidence behind [`WordScore::score`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordScore {
    /// 1.0: reads as route vocabulary; 0.0: reads as a name or identifier.
    pub score: f32,
    /// Alphabetic tokens.
    pub alpha_tokens: u8,
    /// Alphabetic tokens that are words (or compounds / inflections of words).
    pub word_tokens: u8,
    /// Alphabetic tokens that are proper names.
    pub name_tokens: u8,
    /// Digits appear outside technical words.
    pub digits: bool,
}

/// Top-level domains common enough to mark a dotted lower-case segment as a host name
/// (`example.com`, `mail.acme.co.uk`). Suffixes that are also common file extensions (`sh`,
/// `md`, `pl`, `py`, `rs`) are left out: `install.sh` is a file, not a host.
const TLDS: &[&str] = &[
    "com", "net", "org", "io", "co", "uk", "de", "fr", "nl", "be", "ch", "at", "it", "es", "se",
    "no", "dk", "fi", "cz", "ru", "jp", "cn", "kr", "in", "au", "nz", "ca", "us", "eu", "br", "mx",
    "ar", "za", "biz", "dev", "app", "cloud", "xyz", "tv", "edu", "gov", "mil", "int", "ai",
    "tech", "online", "site", "store", "ie", "pt", "gr", "hu", "ro", "tr", "il", "sg", "hk", "tw",
];

/// A host name: two or more dot-separated labels of lower-case letters, digits and dashes,
/// the last a common top-level domain (`docker.fr`, `blog.pytorch.co.uk`). Upper-case
/// dotted names (`Microsoft.Network`) are vendor namespaces, not hosts. Not a type of its
/// own: API groups are host names too (`/apis/networking.k8s.io/v1`), so a host name only
/// reads as a value (see [`word_score`]) and the evidence decides.
pub fn is_domain_name(s: &str) -> bool {
    if s.len() > 253 || !s.contains('.') {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let Some(tld) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && TLDS.contains(tld)
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        })
}

/// Verbs that name an operation when a route segment starts or ends with them (`create`,
/// `carbon_calculate`, `validateAddress`): a segment built on one is an action, not a value.
const ACTION_VERBS: &[&str] = &[
    "add",
    "approve",
    "archive",
    "assign",
    "authorize",
    "calculate",
    "cancel",
    "check",
    "clone",
    "close",
    "compute",
    "confirm",
    "copy",
    "create",
    "deactivate",
    "delete",
    "disable",
    "download",
    "enable",
    "estimate",
    "evaluate",
    "execute",
    "export",
    "fetch",
    "find",
    "generate",
    "get",
    "import",
    "index",
    "invite",
    "list",
    "lookup",
    "merge",
    "move",
    "preview",
    "prune",
    "publish",
    "purge",
    "query",
    "refresh",
    "register",
    "reject",
    "remove",
    "rename",
    "resend",
    "reset",
    "restart",
    "restore",
    "resume",
    "retry",
    "revoke",
    "run",
    "search",
    "send",
    "set",
    "show",
    "start",
    "stop",
    "submit",
    "suspend",
    "sync",
    "transfer",
    "trigger",
    "unassign",
    "unpublish",
    "update",
    "upload",
    "upsert",
    "validate",
    "verify",
];

/// Whether `s` starts or ends with an action verb (`create`, `carbon_calculate`).
pub fn is_action(s: &str) -> bool {
    if s.len() > 64 {
        return false;
    }
    let toks = tokens(s);
    let hit = |t: Option<&Token<'_>>| {
        t.is_some_and(|t| {
            !t.digits
                && ACTION_VERBS
                    .binary_search(&t.text.to_ascii_lowercase().as_str())
                    .is_ok()
        })
    };
    hit(toks.first()) || hit(toks.last())
}

/// `v1`, `v20`: a version written as one piece of a compound segment.
fn is_version_piece(p: &str) -> bool {
    p.strip_prefix('v')
        .is_some_and(|d| (1..=3).contains(&d.len()) && d.bytes().all(|c| c.is_ascii_digit()))
}

/// Scores a (percent-decoded) segment; see the module docs.
pub fn word_score(s: &str) -> WordScore {
    let none = WordScore {
        score: 0.0,
        alpha_tokens: 0,
        word_tokens: 0,
        name_tokens: 0,
        digits: false,
    };
    // Route words never hold spaces.
    if s.is_empty() || s.len() > 128 || !s.is_ascii() || s.contains(' ') {
        return none;
    }
    let lower = s.to_ascii_lowercase();
    // `Microsoft.Web`, `Google.Cloud.Storage`: a dotted PascalCase namespace, whose names
    // are the vendor's and product's, is a route word
    // (`Microsoft.Sql` too, though `.sql` ends file names).
    let dotted_namespace = s.contains('.')
        && !s.contains(['-', '_'])
        && s.split('.')
            .all(|p| p.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
    // A host name (`docker.fr`, `mail.acme.co.uk`): a value, unless the structure says
    // otherwise (`/apis/networking.k8s.io/v1` names an API group).
    if is_domain_name(s) {
        return WordScore { score: 0.1, ..none };
    }
    // A file name (`README.md`, `report-2024.pdf`, `next.js`): a value.
    if let Some((stem, ext)) = lower.rsplit_once('.')
        && !stem.is_empty()
        && FILE_EXTENSIONS.contains(&ext)
        && !dotted_namespace
    {
        return WordScore { score: 0.2, ..none };
    }
    // The whole segment, or each separator-delimited piece, may be a technical word with
    // digits (`oauth2`, `k8s`, `ipv6`).
    let pieces: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let tech = &lists().tech;
    let toks = tokens(s);
    let (mut letters, mut word_letters) = (0f32, 0f32);
    let (mut alpha, mut words, mut names, mut caps) = (0u8, 0u8, 0u8, 0u8);
    let mut digits = false;
    let mut piece_idx = 0usize;
    let mut piece_is_tech = false;
    for (i, t) in toks.iter().enumerate() {
        if t.piece_start {
            if i > 0 {
                piece_idx += 1;
            }
            // A version piece (`reviews-v1`, `users_v2`) is part of the route word.
            piece_is_tech = pieces
                .get(piece_idx)
                .is_some_and(|p| tech.contains(p) || (piece_idx > 0 && is_version_piece(p)));
        }
        if t.digits {
            if !piece_is_tech {
                digits = true;
            }
            continue;
        }
        alpha = alpha.saturating_add(1);
        let n = t.text.len() as f32;
        // One- and two-letter tokens say little either way.
        let weight = if t.text.len() <= 2 { 0.5 } else { 1.0 };
        letters += n * weight;
        let tl = t.text.to_ascii_lowercase();
        if case_of(t.text) == Case::Capitalized && t.piece_start {
            caps += 1;
        }
        let class = if piece_is_tech {
            TokenClass::Word
        } else {
            classify_token(&tl)
        };
        let w = match class {
            TokenClass::Word => {
                words = words.saturating_add(1);
                1.0
            }
            TokenClass::Compound => {
                words = words.saturating_add(1);
                0.8
            }
            TokenClass::Name | TokenClass::Unknown if dotted_namespace => {
                words = words.saturating_add(1);
                1.0
            }
            TokenClass::Name => {
                names = names.saturating_add(1);
                0.15
            }
            TokenClass::Unknown => 0.0,
        };
        word_letters += n * weight * w;
    }
    if alpha == 0 || letters == 0.0 {
        return WordScore { digits, ..none };
    }
    let mut score = word_letters / letters;
    if digits {
        score *= 0.4;
    }
    // `Nova-Granite`, `Brave_Turing`: route words are not written as Capitalised pieces
    // joined by dashes or underscores (dotted namespaces such as `Microsoft.Network` are).
    if caps >= 2 && pieces.len() >= 2 && s.contains(['-', '_']) {
        score *= 0.3;
    }
    WordScore {
        score: score.clamp(0.0, 1.0),
        alpha_tokens: alpha,
        word_tokens: words,
        name_tokens: names,
        digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        tokens(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn tokenizes_cases_separators_and_digits() {
        assert_eq!(toks("backupRuns"), ["backup", "Runs"]);
        assert_eq!(toks("SSLCerts"), ["SSL", "Certs"]);
        assert_eq!(
            toks("communication-preferences"),
            ["communication", "preferences"]
        );
        assert_eq!(toks("alice38"), ["alice", "38"]);
        assert_eq!(toks("us-central1-a"), ["us", "central", "1", "a"]);
        assert_eq!(toks("next.js"), ["next", "js"]);
        assert_eq!(toks(""), Vec::<&str>::new());
        assert_eq!(toks("--"), Vec::<&str>::new());
    }

    #[test]
    fn route_words_score_high() {
        for s in [
            "backupRuns",
            "sslCerts",
            "communication-preferences",
            "allCourts",
            "users",
            "attorney",
            "resourcequotas",
            "oauth2",
            "k8s",
            "jwks.json",
            "schemas",
            "chat.postMessage",
            "volumeattachments",
            "Microsoft.Sql",
            "Microsoft.DBforPostgreSQL",
            "reviews-v1",
            "users_v2",
        ] {
            let w = word_score(s);
            assert!(w.score >= 0.75, "{s}: {w:?}");
        }
    }

    #[test]
    fn digits_between_words() {
        for s in ["python2Packages", "route53Domains", "oauth2", "reviews-v1"] {
            assert!(digits_are_words(s), "{s}");
        }
        for s in ["alice42", "a1b2c3", "user123abc", "zone1", "blue7green"] {
            assert!(!digits_are_words(s), "{s}");
        }
    }

    #[test]
    fn host_names() {
        for s in [
            "docker.fr",
            "blog.pytorch.co.uk",
            "example.com",
            "mail-1.acme.io",
        ] {
            assert!(is_domain_name(s), "{s}");
        }
        for s in [
            "Example.com",
            "-bad.com",
            "a..com",
            ".com",
            "example.invalidtld",
            "files.info",
            "install.sh",
        ] {
            assert!(!is_domain_name(s), "{s}");
        }
    }

    #[test]
    fn action_verbs() {
        assert!(
            ACTION_VERBS.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
        for s in [
            "create",
            "carbon_calculate",
            "validateAddress",
            "show",
            "bulk-delete",
        ] {
            assert!(is_action(s), "{s}");
        }
        for s in ["users", "carbon_stats", "network-sphinx", "alice38", ""] {
            assert!(!is_action(s), "{s}");
        }
    }

    #[test]
    fn names_and_identifiers_score_low() {
        for s in [
            "alice38",
            "Nova-Granite",
            "octocat",
            "x2k4l",
            "turing",
            "jdoe",
        ] {
            let w = word_score(s);
            assert!(w.score <= 0.5, "{s}: {w:?}");
        }
    }

    #[test]
    fn hostile_inputs() {
        for s in [
            "",
            "\u{202e}",
            "a".repeat(5000).as_str(),
            "ÄÖÜ",
            "%%%",
            "1234",
        ] {
            let w = word_score(s);
            assert!((0.0..=1.0).contains(&w.score));
        }
        assert!(!is_compound(&"ab".repeat(30)));
    }

    /// Long route words written without separators split into up to five words, joined by
    /// two-letter words (`by`, `from` is a word); identifiers do not.
    #[test]
    fn long_compounds() {
        for s in [
            "playerdashboardbyopponent",
            "findcitiesfromlatlong",
            "franchisehistory",
            "commonteamroster",
            "draftcombinespotshooting",
        ] {
            assert!(is_compound(s), "{s}");
        }
        for s in [
            "byplayer",
            "xqzvbnmwrtkp",
            "qwertzuiopasdfgh",
            "onetwothreefourfivesix",
        ] {
            assert!(!is_compound(s), "{s}");
        }
    }
}
