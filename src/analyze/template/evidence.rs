//! Is a path position a parameter? The evidence and the decision.
//!
//! The template learner asks this question of every trie node whose children include
//! literal segments that are not typed values (`/repos/rust-lang`, `/repos/facebook`, ...):
//! do these siblings name different resources, or are they values of one parameter? The
//! answer weighs what real APIs do, each signal measured over the siblings:
//!
//! * **Vocabulary** ([`crate::analyze::vocab`]): route words read as words (`backupRuns`, `sslCerts`);
//!   values read as names and identifiers (`alice38`, `Nova-Granite`, `next.js`).
//! * **Structure**: values are interchangeable, so the segments below them recur (every
//!   `repos/X/Y` has `issues`, `pulls`): each sibling's descendant labels (to three levels)
//!   are mostly shared with other siblings. Generic route words (`search`, `count`) and
//!   format suffixes (`.json`) are not counted, and a sibling followed by a version
//!   (`/apis/apps/v1`) names an API group, not a value.
//! * **Context**: the root and the segment after a version or `api` hold resource names
//!   (a handful of busy plural words there, or right after an item, name collections however
//!   alike their sub-paths);
//!   a plural collection word (`users`) is usually followed by an item; the segment after a
//!   parameter is usually a sub-resource.
//! * **Openness**: values keep arriving (many are seen once); a vocabulary is closed.
//! * **Naming conventions**: names people chose mix them (`gold-core`, `pegasus_flag`,
//!   `dealRun` side by side), an API's route words at one place seldom do (rule
//!   `mixed_styles`, with some siblings seen once).
//! * **Methods**: POST-only children are actions (`/servers/{id}/actions/reboot`); children
//!   updated or deleted one by one (PUT, PATCH, DELETE) are items; a child that is itself
//!   followed by typed ids (`/dcim/devices/{id}`) is a collection name.
//! * **Response shape**: siblings whose GET responses share one JSON structure are one
//!   endpoint.
//! * **Query parameters**: siblings each called with their own required query parameters
//!   (`/stats/commonteamroster?Season=&TeamID=`, `/stats/playoffpicture?LeagueID=`) are
//!   distinct operations; values of one parameter are called alike.
//! * **Formats and verbs**: siblings that all name data formats (`JSON`, `XML`) are one
//!   `{format}` parameter; siblings most of which start or end with an action verb
//!   (`show`, `create`, `carbon_calculate`) are operations.
//! * **Nesting**: one name-like value between two collections
//!   (`/servers/test-document-9/failoverGroups/{id}`) is an item, however large the subtree
//!   below it; many siblings after a collection name that all continue with one label
//!   (`/servers/{name}/firewallRules`) are its items.
//!
//! [`decide`] is deterministic and pure: the same siblings give the same verdict, whatever
//! the order traffic arrived in.

use serde::Serialize;

/// Where a position sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// The root, or right after a version (`v1`, `2015-03-31`) or `api`/`rest`/`rpc`.
    Top,
    /// Right after a parameter.
    Param,
    /// Right after a plural word (`users`, `repos`).
    Plural,
    /// Right after another vocabulary word (`issue`, `settings`).
    Noun,
    /// Right after a literal that does not read as a word.
    Other,
}

impl Context {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Context::Top => "top",
            Context::Param => "param",
            Context::Plural => "plural",
            Context::Noun => "noun",
            Context::Other => "other",
        }
    }
}

/// Method bits of [`ChildView::methods`].
pub mod method_bits {
    /// GET.
    pub const GET: u8 = 1;
    /// POST.
    pub const POST: u8 = 2;
    /// PUT.
    pub const PUT: u8 = 4;
    /// PATCH.
    pub const PATCH: u8 = 8;
    /// DELETE.
    pub const DELETE: u8 = 16;
    /// Anything else (HEAD, OPTIONS, extension methods).
    pub const OTHER: u8 = 32;

    /// The bit of a method token.
    pub fn of(method: &str) -> u8 {
        match method {
            "GET" => GET,
            "POST" => POST,
            "PUT" => PUT,
            "PATCH" => PATCH,
            "DELETE" => DELETE,
            _ => OTHER,
        }
    }
}

/// What the decision needs to know about one sibling.
#[derive(Debug, Clone, Default)]
pub struct ChildView {
    /// Word score of the segment (see [`crate::analyze::vocab::word_score`]).
    pub word: f32,
    /// Requests through it.
    pub hits: u64,
    /// Requests that ended at it.
    pub ends: u64,
    /// Hashes of its descendant labels (depth and text), sorted and deduplicated; generic
    /// words, versions and format suffixes left out.
    pub desc: Vec<u64>,
    /// Methods of requests that ended at it.
    pub methods: u8,
    /// Followed by typed ids carrying at least half of its traffic: a collection name.
    pub collection: bool,
    /// Its GET responses' JSON structure, when one was seen.
    pub shape: Option<u64>,
    /// Has no children at all.
    pub leaf: bool,
    /// The same word is a top-level resource name of this API.
    pub resource_name: bool,
    /// Names a data format (`json`, `XML`, `csv`): siblings that all do select a
    /// representation (`/scores/{format}/Games`).
    pub format: bool,
    /// Followed by a sub-collection word (`/servers/test-document-9/failoverGroups`): the
    /// segment is an item between two collections.
    pub nested: bool,
    /// Reads as a host name (`docker.fr`).
    pub host: bool,
    /// Starts or ends with an action verb (`create`, `carbon_calculate`).
    pub action: bool,
    /// Reads as a plural word (`launches`, `jobschedules`): the name of a collection.
    pub plural: bool,
    /// The query parameter names every request ending at it carried (a 64-bit signature),
    /// when requests ended at it.
    pub required_keys: Option<u64>,
    /// Followed by the API's scaffold (`api`, `rest`) or a version (`v1`): part of a base
    /// path (`/exist/apps/WeGA-WebApp/api/v1`), not a value.
    pub base: bool,
    /// How its words are joined ([`name_style`]): bits of kebab-case, snake_case, camelCase.
    pub style: u8,
    /// Named like an RPC method, `service.method` (`chat.postMessage`,
    /// `rest_lookups.federal_agencies`): letters on both sides of a dot, and what follows the
    /// last dot is not a file extension.
    pub dotted: bool,
    /// A phrase of three lower-case words or more joined by dashes or underscores
    /// ([`is_phrase`]): a slug.
    pub phrase: bool,
}

/// Whether `s` is a phrase of at least three lower-case words joined by `-` or `_`
/// (`basalt-river-gracious-module`, `how_to_train`): the shape of a slug. Linear in `s`.
pub fn is_phrase(s: &str) -> bool {
    let mut words = 0;
    for w in s.split(['-', '_']) {
        if w.is_empty() || !w.bytes().all(|b| b.is_ascii_lowercase()) {
            return false;
        }
        words += 1;
    }
    words >= 3
}

/// Whether `s` is named like an RPC method (see [`ChildView::dotted`]); `is_file` tells
/// whether it reads as a file name. Linear in `s`.
pub fn is_dotted_method(s: &str, is_file: bool) -> bool {
    !is_file
        && s.split('.').count() >= 2
        && s.split('.').all(|p| {
            p.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// At least this many siblings, half of them phrases, before they read as slugs (rule
/// `phrases`); twice as many when none was seen once.
const PHRASE_VALUES_MIN: usize = 8;

/// Bits of [`name_style`].
pub mod style_bits {
    /// Letters joined by a dash (`gold-core`).
    pub const KEBAB: u8 = 1;
    /// Letters joined by an underscore (`pegasus_flag`).
    pub const SNAKE: u8 = 2;
    /// A lower-case letter followed by an upper-case one (`dealRun`).
    pub const CAMEL: u8 = 4;
}

/// How a segment joins its words: [`style_bits::KEBAB`] when a dash sits between two
/// letters (`gold-core`), [`style_bits::SNAKE`] for an underscore (`pegasus_flag`),
/// [`style_bits::CAMEL`] for a lower-case letter followed by an upper-case one
/// (`dealRun`). Linear in `s`.
pub fn name_style(s: &str) -> u8 {
    let b = s.as_bytes();
    let mut style = 0;
    if b.windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
    {
        style |= style_bits::CAMEL;
    }
    for w in b.windows(3) {
        if w[0].is_ascii_alphabetic() && w[2].is_ascii_alphabetic() {
            match w[1] {
                b'-' => style |= style_bits::KEBAB,
                b'_' => style |= style_bits::SNAKE,
                _ => {}
            }
        }
    }
    style
}

/// At least this many siblings before a mix of naming conventions says they are values
/// (rule `mixed_styles`).
const MIXED_STYLES_MIN: usize = 3;
/// Share of the siblings seen once before a mix of naming conventions says they are
/// values: names keep arriving, route words are requested again (a mix of conventions
/// among busy siblings is an API's own, `build_hooks` beside `deployed-branches`).
const MIXED_STYLES_OPEN: f32 = 0.2;
/// Of the siblings at least one in this many is written in one of the conventions.
const MIXED_STYLES_SHARE: usize = 5;

/// Names people chose (projects, flags, repositories: `gold-core`, `pegasus_flag`,
/// `dealRun`) follow no one convention, while an API mostly writes the route words of
/// one place one way (`flag-status`, `relay-auto-configs`; or `build_hooks`,
/// `plugin_runs`). True when siblings written in two or more conventions sit side by
/// side, each sibling in exactly one (kebab-case, snake_case or camelCase), and such
/// siblings are not rare among them. Asked with the guards of rule `mixed_styles` in
/// [`decide`].
fn mixed_styles(core: &[ChildView]) -> bool {
    use style_bits::*;
    let count = |st: u8| core.iter().filter(|c| c.style == st).count();
    let (kebab, snake, camel) = (count(KEBAB), count(SNAKE), count(CAMEL));
    let kinds = [kebab, snake, camel].iter().filter(|&&x| x >= 1).count();
    kinds >= 2 && (kebab + snake + camel) * MIXED_STYLES_SHARE >= core.len()
}

/// Rule `mixed_styles`: siblings below a literal or a parameter (not at a top level,
/// where an API's resource names sit), some seen once, few plural words (collections),
/// not only POSTed to (actions), written in mixed conventions: values arriving
/// (`/flags/gold-core`, `/flags/pegasus_flag`, `/flags/dealRun`).
fn mixed_names(core: &[ChildView], ev: &Evidence) -> bool {
    let n = core.len();
    let plural = core.iter().filter(|c| c.plural).count();
    n >= MIXED_STYLES_MIN
        && ev.seen_once >= MIXED_STYLES_OPEN
        && plural * 3 < n
        && ev.post_only < 0.5
        && mixed_styles(core)
}

/// Data format names that select a representation when they stand alone in a segment.
const FORMAT_WORDS: &[&str] = &[
    "json", "xml", "csv", "tsv", "yaml", "yml", "html", "txt", "text", "rss", "atom", "jsonp",
    "geojson", "kml", "gpx", "ndjson", "jsonl", "protobuf", "msgpack",
];

/// Whether `segment` names a data format (see [`ChildView::format`]).
pub fn is_format_word(segment: &str) -> bool {
    FORMAT_WORDS.iter().any(|w| w.eq_ignore_ascii_case(segment))
}

/// The measurements behind a verdict (shown to users as the template's explanation).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Evidence {
    /// Literal siblings weighed.
    pub siblings: u32,
    /// Share of siblings that do not read as words.
    pub nonwords: f32,
    /// Mean word score.
    pub wordiness: f32,
    /// Siblings with descendants.
    pub with_subtrees: u32,
    /// Mean share of a sibling's descendant labels that other siblings also have.
    pub shared_structure: f32,
    /// Labels that at least half of the siblings with descendants have.
    pub common_labels: u32,
    /// Share of siblings seen once.
    pub seen_once: f32,
    /// Share of siblings (with a known GET response) that share the commonest response shape.
    pub same_shape: f32,
    /// Siblings with a known response shape.
    pub shaped: u32,
    /// Share of siblings updated or deleted one by one (PUT, PATCH, DELETE).
    pub item_methods: f32,
    /// Share of siblings only ever POSTed to.
    pub post_only: f32,
    /// Share of siblings followed by typed ids (collection names).
    pub collections: f32,
}

impl Evidence {
    /// One line for people: what was weighed.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} siblings", self.siblings)];
        parts.push(format!(
            "{:.0}% read as names or ids",
            self.nonwords * 100.0
        ));
        if self.with_subtrees >= 2 {
            parts.push(format!(
                "{:.0}% of their sub-paths shared ({} common)",
                self.shared_structure * 100.0,
                self.common_labels
            ));
        }
        if self.seen_once > 0.0 {
            parts.push(format!("{:.0}% seen once", self.seen_once * 100.0));
        }
        if self.shaped >= 3 {
            parts.push(format!(
                "{:.0}% share one response shape",
                self.same_shape * 100.0
            ));
        }
        if self.post_only >= 0.5 {
            parts.push("POST-only (actions)".into());
        }
        if self.collections >= 0.2 {
            parts.push("followed by ids (collections)".into());
        }
        if self.item_methods >= 0.5 {
            parts.push("updated/deleted one by one (items)".into());
        }
        parts.join(", ")
    }
}

/// The verdict on a position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The siblings are values of one parameter.
    pub param: bool,
    /// Which rule decided: `vocabulary`, `structure`, `openness`, `collection`, `shape`,
    /// `items`, `keyed_values`, `single_value`, `analogy`, `formats`, `variants`,
    /// `mixed_styles`, `phrases` (a parameter); `words`,
    /// `actions`, `plural_words`, `collections`, `resource_names`, `closed_vocabulary`,
    /// `query_keys`, `top_level`, `base_path` (literals).
    pub rule: &'static str,
    /// Confidence in the verdict, 0-1.
    pub confidence: f32,
    /// What was weighed.
    pub evidence: Evidence,
}

/// Below this word score a segment reads as a name or identifier.
pub const NONWORD: f32 = 0.45;
/// At or above this word score a segment reads as vocabulary.
pub const WORD: f32 = 0.7;

fn frac(k: usize, n: usize) -> f32 {
    if n == 0 { 0.0 } else { k as f32 / n as f32 }
}

/// How the siblings' sub-paths spread over them, beside [`Evidence`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    /// Share of siblings with sub-paths that have a label found in at least half of them.
    pub coverage: f32,
    /// Share of siblings with sub-paths whose every label is found in at least an eighth of
    /// them (and at least three): siblings falling into a few groups, each group continuing
    /// alike and with nothing of its own.
    pub grouped: f32,
    /// Labels found in at least an eighth of the siblings with sub-paths (and at least
    /// three).
    pub group_labels: u32,
}

/// Share of each set's elements found in at least one other set, averaged; the elements
/// found in at least half of the sets (at least two); and how the sets spread
/// ([`Spread`]).
fn structure(sets: &[&[u64]]) -> (f32, u32, Spread) {
    if sets.len() < 2 {
        return (0.0, 0, Spread::default());
    }
    let mut count: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    for s in sets {
        for &x in *s {
            *count.entry(x).or_insert(0) += 1;
        }
    }
    let mut shared_sum = 0.0f32;
    for s in sets {
        let shared = s
            .iter()
            .filter(|x| count.get(x).is_some_and(|&c| c >= 2))
            .count();
        shared_sum += frac(shared, s.len());
    }
    let need = ((sets.len() as f32) * 0.5).max(2.0);
    let core: std::collections::HashSet<u64> = count
        .iter()
        .filter(|(_, c)| **c as f32 >= need)
        .map(|(x, _)| *x)
        .collect();
    let covered = sets
        .iter()
        .filter(|s| s.iter().any(|x| core.contains(x)))
        .count();
    let group_min = sets.len().div_ceil(GROUP_SHARE).max(GROUP_MIN) as u32;
    let grouped = sets
        .iter()
        .filter(|s| {
            s.iter()
                .all(|x| count.get(x).is_some_and(|&c| c >= group_min))
        })
        .count();
    (
        shared_sum / sets.len() as f32,
        core.len().min(u32::MAX as usize) as u32,
        Spread {
            coverage: frac(covered, sets.len()),
            grouped: frac(grouped, sets.len()),
            group_labels: count.values().filter(|&&c| c >= group_min).count() as u32,
        },
    )
}

/// A label continues a group of siblings ([`Spread::grouped`]) when at least one sibling in
/// this many has it, and at least `GROUP_MIN`.
const GROUP_SHARE: usize = 8;
const GROUP_MIN: usize = 3;

/// Measures the siblings (`all`: every literal sibling weighed, known route words included).
pub fn measure(all: &[ChildView]) -> (Evidence, Spread) {
    use method_bits::*;
    let n = all.len();
    let with: Vec<&[u64]> = all
        .iter()
        .filter(|c| !c.desc.is_empty())
        .map(|c| c.desc.as_slice())
        .collect();
    let (shared, common, spread) = structure(&with);
    let shapes: Vec<u64> = all.iter().filter_map(|c| c.shape).collect();
    let same_shape = if shapes.len() >= 3 {
        let mut counts: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
        for s in &shapes {
            *counts.entry(*s).or_insert(0) += 1;
        }
        frac(counts.values().copied().max().unwrap_or(0), shapes.len())
    } else {
        0.0
    };
    let ev = Evidence {
        siblings: n.min(u32::MAX as usize) as u32,
        nonwords: frac(all.iter().filter(|c| c.word < NONWORD).count(), n),
        wordiness: if n == 0 {
            0.0
        } else {
            all.iter().map(|c| c.word).sum::<f32>() / n as f32
        },
        with_subtrees: with.len().min(u32::MAX as usize) as u32,
        shared_structure: shared,
        common_labels: common,
        seen_once: frac(all.iter().filter(|c| c.hits <= 1).count(), n),
        same_shape,
        shaped: shapes.len().min(u32::MAX as usize) as u32,
        item_methods: frac(
            all.iter()
                .filter(|c| c.methods & (PUT | PATCH | DELETE) != 0)
                .count(),
            n,
        ),
        post_only: frac(all.iter().filter(|c| c.methods == POST).count(), n),
        collections: frac(all.iter().filter(|c| c.collection).count(), n),
    };
    (ev, spread)
}

/// At most this many plural words side by side read as collection names (rule
/// `plural_words`).
const PLURAL_WORDS_MAX: usize = 12;

/// At most this many words after a collection name read as a closed vocabulary of routes
/// when each was requested at least `CLOSED_WORDS_FEW_HITS` times (rule
/// `closed_vocabulary`); more of them need `CLOSED_WORDS_MANY_HITS` requests each.
const CLOSED_WORDS_MAX: usize = 12;
const CLOSED_WORDS_FEW_HITS: u64 = 3;
const CLOSED_WORDS_MANY_HITS: u64 = 20;

/// At least this many siblings with sub-paths for the one-common-label case of rule
/// `structure` after a collection name.
const ONE_LABEL_ITEMS_MIN: usize = 8;

/// At least this many top-level siblings with sub-paths before one deep chain of common
/// labels below them makes them values.
const TOP_DEEP_VALUES_MIN: usize = 16;

/// At least this many top-level siblings with sub-paths before sub-paths that are all
/// common (nothing of their own) make them values.
const TOP_UNIFORM_VALUES_MIN: usize = 8;

/// At least this many top-level siblings with sub-paths before sub-paths that fall into a
/// few common groups (nothing of their own) make them values.
const TOP_GROUPED_VALUES_MIN: usize = 16;

/// At least this many top-level siblings, most seen once, before those called at least
/// `OPEN_ITEMS_BUSY` times say by their methods whether all are items (rule `items`).
const OPEN_ITEMS_MIN: usize = 16;
const OPEN_ITEMS_BUSY: u64 = 3;

/// At least this many siblings, nearly all followed by typed ids and few plural, before
/// they read as values with items (rule `keyed_values`).
const KEYED_VALUES_MIN: usize = 8;

/// At least this many siblings, half seen once and a quarter reading as names, before
/// they read as values arriving (rule `openness`).
const OPEN_NAMES_MIN: usize = 8;

/// At most this many siblings read as variants of one sub-tree (rule `variants`).
const VARIANTS_MAX: usize = 5;

/// At least this many labels common to the variants' sub-trees (rule `variants`).
const VARIANT_LABELS_MIN: u32 = 8;

/// At least this many siblings with sub-paths before a rich shared structure outweighs
/// ids following some of them.
const RICH_VALUES_MIN: usize = 8;

/// Requests ending at a sibling before its required query parameters say something.
const QUERY_EVIDENCE: u64 = 5;

/// Siblings each called with their own required query parameters are distinct operations
/// (`/stats/commonteamroster?Season=&TeamID=`, `/stats/playoffpicture?LeagueID=&SeasonID=`):
/// values of one parameter are called alike, with the parameters of the one operation they
/// share. True when at least four siblings carry required parameters and they come in at
/// least half as many different sets.
fn distinct_queries(core: &[ChildView]) -> bool {
    let mut sets: Vec<u64> = core
        .iter()
        .filter(|c| c.ends >= QUERY_EVIDENCE)
        .filter_map(|c| c.required_keys)
        .filter(|&k| k != 0)
        .collect();
    let busy = sets.len();
    sets.sort_unstable();
    sets.dedup();
    busy >= 4 && sets.len() * 3 >= busy * 2
}

/// Requests ending at a sibling before its methods say something about it.
const METHOD_EVIDENCE: u64 = 20;

/// An action beside a resource: one sibling, the end of many requests, only ever POSTed to
/// (`POST /kassen/{id}/abschluss`), another only ever read or changed without a POST (`GET
/// /kassen/{id}/dep`). Values of one parameter may each be called one way (a user only
/// deleted, another only read: `/members/dave99`, `/members/alice38`), so other disjoint
/// methods say nothing; an operation named by a POST-only word does. Asked only of siblings
/// that do not continue alike (values next to an action word, `/plans/{name}` beside
/// `/plans/resourceReadBegin`, share their sub-paths).
fn distinct_methods(core: &[ChildView]) -> bool {
    use method_bits::POST;
    let busy = || {
        core.iter()
            .filter(|c| c.ends >= METHOD_EVIDENCE && c.methods != 0)
            .map(|c| c.methods)
    };
    busy().any(|m| m == POST) && busy().any(|m| m & POST == 0)
}

fn verdict(param: bool, rule: &'static str, confidence: f32, evidence: Evidence) -> Verdict {
    Verdict {
        param,
        rule,
        confidence: confidence.clamp(0.05, 0.99),
        evidence,
    }
}

/// Decides whether the siblings `core` (literal siblings that are not known route words)
/// are values of one parameter; `all` adds the known route words (`search`, `default`),
/// which collapse along when the others do. See the module docs for the signals.
///
/// `analogous`: the same sub-collection word is followed by a parameter under another item
/// of this API (`/namespaces/{ns}/secrets/{name}` decides for
/// `/watch/namespaces/{ns}/secrets/...`): then its siblings are values unless they are
/// actions or collections.
pub fn decide(ctx: Context, core: &[ChildView], all: &[ChildView], analogous: bool) -> Verdict {
    let (ev, spread) = measure(all);
    let coverage = spread.coverage;
    let n = core.len();
    if n == 0 {
        return verdict(false, "words", 0.6, ev);
    }
    // Most siblings are resource names of this API (they sit at its top level too):
    // `/enterprise/stats/{gists,orgs,pulls,users}`.
    let named = core.iter().filter(|c| c.resource_name).count();
    if n >= 2 && ctx != Context::Top && named * 2 >= n {
        return verdict(false, "resource_names", 0.7, ev);
    }
    if analogous
        && ctx != Context::Top
        && ev.post_only < 0.5
        && ev.collections < 0.2
        && core.iter().all(|c| c.desc.len() <= 4)
    {
        return verdict(true, "analogy", 0.7, ev);
    }
    if n >= 4 && distinct_queries(core) {
        return verdict(false, "query_keys", 0.7, ev);
    }
    // Two or more format names side by side: one `{format}` parameter, whatever sits
    // below (`/scores/JSON/Games`, `/scores/XML/Games`).
    if n >= 2 && core.iter().all(|c| c.format) {
        return verdict(true, "formats", 0.8, ev);
    }
    // A few siblings (one may be a known word) each continuing with the same rich
    // sub-tree, below a literal: variants of one API served side by side
    // (`/ws/mobile/api/where/...`, `/ws/otp/api/where/...`), the values of one parameter.
    // Not at the top or after a parameter, where collections with the same actions sit
    // (`/v1/projects/{p}/locations`, `/v1/folders/{f}/locations`).
    if matches!(ctx, Context::Plural | Context::Noun | Context::Other)
        && (2..=VARIANTS_MAX).contains(&all.len())
        && ev.with_subtrees as usize == all.len()
        && ev.common_labels >= VARIANT_LABELS_MIN
        && ev.shared_structure >= 0.9
        && coverage >= 0.9
    {
        return verdict(true, "variants", 0.5 + 0.4 * ev.shared_structure, ev);
    }
    if n == 1 {
        // One value seen: a name under a collection (`/orgs/acme-corp`), not a subtree of
        // routes below one constant (`/providers/Microsoft.Network/...`) — unless another
        // collection follows it (`/servers/test-document-9/failoverGroups`).
        let c = &core[0];
        let small = c.desc.len() <= 4;
        // A name followed by the API's scaffold (`/apps/WeGA-WebApp/api/v1`) is part of the
        // base path, however small the subtree below it.
        if c.base && all.len() == 1 {
            return verdict(false, "base_path", 0.6, ev);
        }
        let param = all.len() == 1
            && c.word < NONWORD
            && ((ctx == Context::Plural && (small || c.nested))
                || (matches!(ctx, Context::Noun | Context::Other) && c.leaf && small));
        return if param {
            verdict(true, "single_value", 0.55, ev)
        } else {
            verdict(false, "single_value", 0.5, ev)
        };
    }
    let nwd = ev.with_subtrees as usize;
    let nonword_values = ev.nonwords >= 0.5 && ev.nonwords * all.len() as f32 >= 2.0;
    let open = ev.seen_once;
    let rich = ev.common_labels;
    let cont = ev.shared_structure;
    // Many siblings, many seen once: values keep arriving (not actions, not collections,
    // and not right after a parameter, where sub-resources sit).
    // Words of which some, not all, are followed by typed ids are distinct routes (the
    // values of one parameter continue alike), however many there are:
    // `/spaces/{id}/folders/{id}`, `/spaces/{id}/persons/{id}`, `/spaces/{id}/settings`.
    let word_collections =
        (0.2..=0.7).contains(&ev.collections) && ev.nonwords < 0.25 && ev.shared_structure < 0.5;
    if n >= 16 && open >= 0.3 && ctx != Context::Top && !word_collections {
        return verdict(true, "openness", 0.6 + 0.3 * open, ev);
    }
    // A few plural words, every one requested again and again, none new: the names of an
    // API's collections at its top or below an item (`/projects/{p}/launches`,
    // `/projects/{p}/experiments`; `/jobs/{id}`, `/pools/{id}`), however alike their
    // sub-paths (each collection holds items with the same actions). Values are not
    // plural words, and a handful of them would each have been seen once or twice.
    if matches!(ctx, Context::Top | Context::Param) && (2..=PLURAL_WORDS_MAX).contains(&n) {
        let plural = core.iter().filter(|c| c.plural).count();
        let busy = core
            .iter()
            .all(|c| c.hits >= 3 && (c.word >= WORD || c.plural));
        if busy && plural * 3 >= n * 2 {
            return verdict(false, "plural_words", 0.6 + 0.3 * frac(plural, n), ev);
        }
    }
    match ctx {
        Context::Param | Context::Plural | Context::Noun | Context::Other
            if cont < 0.5 && distinct_methods(core) =>
        {
            verdict(false, "methods", 0.7, ev)
        }
        Context::Top => {
            let interchangeable = nwd >= 6
                && (((cont >= 0.9 && open >= 0.1) || (coverage >= 0.9 && rich >= 3))
                    && (all.len() >= 32 || ev.wordiness < 0.9)
                    || (cont >= 0.9 && open >= 0.5));
            if interchangeable {
                return verdict(true, "structure", 0.5 + 0.4 * cont, ev);
            }
            // Many top-level names all continuing with one deep chain of labels
            // (`/{scope}/providers/Microsoft.Authorization/denyAssignments`), or every one
            // continuing with the same few labels and nothing else (`/v1/{name}`,
            // `/v1/{name}:cancel`, `/v1/{name}/operations`): values, however much they read
            // as words (resource words each have sub-paths of their own).
            let deep = nwd >= TOP_DEEP_VALUES_MIN && coverage >= 0.9 && rich >= 3 && cont >= 0.9;
            let uniform =
                nwd >= TOP_UNIFORM_VALUES_MIN && cont >= 0.99 && coverage >= 0.99 && rich >= 2;
            // Many top-level names falling into a few groups, each group continuing with
            // the same labels and nothing of its own, none followed by ids: the values of a
            // few parameters at one position (`/v1/{parent}/contactCenters`,
            // `/v1/{name}/operations`, `/v1/{resource}:getIamPolicy`). Resource words are
            // followed by ids, or continue with sub-paths of their own; and many codes all
            // continuing with one label are document kinds (`/v3/lvcer/certificate`,
            // `/v3/incer/certificate`).
            let grouped = nwd >= TOP_GROUPED_VALUES_MIN
                && cont >= 0.99
                && spread.grouped >= 0.9
                && spread.group_labels >= 2
                && ev.collections < 0.2;
            if deep || uniform || grouped {
                return verdict(true, "structure", 0.5 + 0.4 * cont, ev);
            }
            if nonword_values && n >= 8 && open >= 0.2 {
                return verdict(true, "vocabulary", 0.6 + 0.3 * ev.nonwords, ev);
            }
            // Many top-level names standing alone and arriving (most seen once), and those
            // called again and again updated or deleted one by one: items (`GET
            // /v1/assetIndex`, `PATCH /v1/color`, `DELETE /v1/folder`), however much they
            // read as words. A flat API's operations are seldom seen once each, and are read
            // or posted to, not updated or deleted.
            let (busy, busy_items) = all.iter().filter(|c| c.hits >= OPEN_ITEMS_BUSY).fold(
                (0usize, 0usize),
                |(b, i), c| {
                    let item = c.methods
                        & (method_bits::PUT | method_bits::PATCH | method_bits::DELETE)
                        != 0;
                    (b + 1, i + usize::from(item))
                },
            );
            if n >= OPEN_ITEMS_MIN
                && open >= 0.5
                && nwd * 2 < n
                && ev.collections < 0.2
                && busy >= 3
                && busy_items * 2 >= busy
            {
                return verdict(true, "items", 0.5 + 0.3 * frac(busy_items, busy), ev);
            }
            // Most of many top-level names updated or deleted one by one, and reading as
            // names, standing alone or continuing alike: items (`PUT /v1/Brave-Lyra`,
            // `DELETE /v1/address_rule`). Resource words each with its own sub-paths
            // (`DELETE /dashboard/?q=...`, `/dashboard/{id}/charts`) stay literal.
            if n >= 8
                && ev.item_methods >= 0.5
                && ev.collections < 0.2
                && (ev.nonwords >= 0.25 || nwd * 2 < n || cont >= 0.8)
            {
                return verdict(true, "items", 0.5 + 0.3 * ev.item_methods, ev);
            }
            verdict(false, "top_level", 0.7 + 0.2 * ev.wordiness, ev)
        }
        Context::Param => {
            if nonword_values && (nwd < 3 || cont >= 0.8) {
                return verdict(true, "vocabulary", 0.6 + 0.3 * ev.nonwords, ev);
            }
            if nwd >= 3 && (cont >= 0.9 || (coverage >= 0.9 && rich >= 3)) {
                return verdict(true, "structure", 0.5 + 0.4 * cont, ev);
            }
            if mixed_names(core, &ev) {
                return verdict(true, "mixed_styles", 0.55 + 0.3 * open, ev);
            }
            verdict(false, "words", 0.6 + 0.3 * (1.0 - ev.nonwords), ev)
        }
        Context::Plural | Context::Noun | Context::Other => {
            if nonword_values {
                return verdict(true, "vocabulary", 0.6 + 0.3 * ev.nonwords, ev);
            }
            if ev.post_only >= 0.5 {
                return verdict(false, "actions", 0.6 + 0.3 * ev.post_only, ev);
            }
            // Operations named by verbs (`show`, `create`, `carbon_calculate`): most of
            // the siblings (a verb in a value, `start_date`, is the exception).
            let actions = core.iter().filter(|c| c.action).count();
            if actions * 3 >= n * 2 {
                return verdict(false, "actions", 0.6 + 0.3 * frac(actions, n), ev);
            }
            // Many siblings, half of them phrases of three words or more and not verbs
            // (`basalt-river-gracious-module`, `how_to_train_your_dragon`): slugs, the values
            // of one parameter, however much each reads as words. An API names its routes
            // with a word or two; fewer than 1 in 300 of the positions with eight literal
            // routes or more in the APIs.guru directory have half of them phrases.
            let phrases = core.iter().filter(|c| c.phrase && !c.action).count();
            if n >= PHRASE_VALUES_MIN
                && phrases * 2 >= n
                && (open > 0.0 || n >= 2 * PHRASE_VALUES_MIN)
            {
                return verdict(true, "phrases", 0.55 + 0.3 * frac(phrases, n), ev);
            }
            // Many siblings, few of them plural words, continuing alike with a rich common
            // vocabulary: values, even where some are followed by ids as collection names
            // are (`/repos/{owner}/{repo}/pulls`, a repository named like an id).
            let plural = core.iter().filter(|c| c.plural).count();
            if nwd >= RICH_VALUES_MIN && cont >= 0.9 && rich >= 3 && plural * 3 < n {
                return verdict(true, "structure", 0.5 + 0.4 * cont, ev);
            }
            // Many siblings nearly all followed by typed ids, few of them plural words:
            // values each with items of their own (`/v1/expense/approval/{id}`,
            // `/v1/expense/badge/{id}`), not collection names (`users`, `groups`).
            if n >= KEYED_VALUES_MIN && ev.collections >= 0.9 && plural * 4 < n {
                return verdict(true, "keyed_values", 0.55, ev);
            }
            // Half of the siblings seen once and many reading as names: values arriving,
            // even a handful of them (`/compareStation/Ancient-Cedar`, `.../StormDawn`).
            if n >= OPEN_NAMES_MIN && open >= 0.5 && ev.nonwords >= 0.25 {
                return verdict(true, "openness", 0.6 + 0.3 * open, ev);
            }
            // Names written in mixed conventions, some seen once: values arriving, however
            // much each reads as words.
            if mixed_names(core, &ev) {
                return verdict(true, "mixed_styles", 0.55 + 0.3 * open, ev);
            }
            if ev.collections >= 0.2 {
                return verdict(false, "collections", 0.6 + 0.3 * ev.collections, ev);
            }
            // Alike responses say nothing about operations named `service.method`
            // (`rest_lookups.federal_agencies`, `chat.postMessage`): an RPC API's lookups
            // answer alike.
            let methods_named = core.iter().filter(|c| c.dotted).count();
            if nwd < 3 && ev.shaped >= 3 && ev.same_shape >= 0.6 && methods_named * 2 < n {
                return verdict(true, "shape", 0.5 + 0.4 * ev.same_shape, ev);
            }
            // After a collection name, many siblings all continuing with one label: items
            // of the collection (`/servers/{name}/firewallRules`), however little else their
            // sub-paths share.
            if ctx == Context::Plural && nwd >= ONE_LABEL_ITEMS_MIN && coverage >= 0.9 && rich >= 1
            {
                return verdict(true, "structure", 0.5 + 0.4 * coverage, ev);
            }
            if nwd == 2 && n == 2 && cont >= 0.99 && rich >= 3 {
                return verdict(true, "structure", 0.55, ev);
            }
            if nwd >= 3 {
                let th = if ctx == Context::Plural { 0.7 } else { 0.85 };
                if cont >= th || (coverage >= 0.9 && rich >= 2) {
                    return verdict(true, "structure", 0.5 + 0.4 * cont, ev);
                }
                return verdict(false, "words", 0.5 + 0.4 * (1.0 - cont), ev);
            }
            if n >= 8 && ev.item_methods >= 0.5 {
                return verdict(true, "items", 0.5 + 0.3 * ev.item_methods, ev);
            }
            if ctx == Context::Plural && n >= 4 {
                // A few words each requested again and again, none new, not updated or
                // deleted one by one: a closed vocabulary of routes (`/spots/day`,
                // `/spots/week`, `/spots/year`), not values arriving. A handful of them
                // (at most `CLOSED_WORDS_MAX`) needs a few requests each; more of them,
                // many requests each.
                let busy = if n <= CLOSED_WORDS_MAX {
                    CLOSED_WORDS_FEW_HITS
                } else {
                    CLOSED_WORDS_MANY_HITS
                };
                if open == 0.0
                    && ev.nonwords < 0.25
                    && ev.item_methods < 0.5
                    && core.iter().all(|c| c.hits >= busy)
                {
                    return verdict(false, "closed_vocabulary", 0.6, ev);
                }
                return verdict(true, "collection", 0.55, ev);
            }
            verdict(false, "words", 0.6 + 0.3 * ev.wordiness, ev)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::method_bits::*;
    use super::*;

    fn child(word: f32, hits: u64, desc: &[u64]) -> ChildView {
        ChildView {
            word,
            hits,
            desc: desc.to_vec(),
            methods: GET,
            leaf: desc.is_empty(),
            ..ChildView::default()
        }
    }

    /// Collections below an item whose items take the same actions (`/projects/{p}/launches/
    /// {l}/start`, `/projects/{p}/experiments/{e}/start`) share their sub-paths as values
    /// do; a handful of plural words, each requested again and again, still name
    /// collections. Without the plural they are values (`structure`), and so are plural
    /// words seen once or twice.
    #[test]
    fn plural_words_below_an_item_stay_literal() {
        let plural = |hits| ChildView {
            plural: true,
            ..child(1.0, hits, &[1, 2, 3])
        };
        let kids: Vec<ChildView> = (0..5).map(|i| plural(20 + i)).collect();
        let v = decide(Context::Param, &kids, &kids, false);
        assert_eq!((v.param, v.rule), (false, "plural_words"), "{v:?}");
        let v = decide(Context::Top, &kids, &kids, false);
        assert!(!v.param, "{v:?}");

        let singular: Vec<ChildView> = (0..5).map(|i| child(1.0, 20 + i, &[1, 2, 3])).collect();
        let v = decide(Context::Param, &singular, &singular, false);
        assert_eq!((v.param, v.rule), (true, "structure"), "{v:?}");

        let rare: Vec<ChildView> = (0..5).map(|_| plural(1)).collect();
        let v = decide(Context::Param, &rare, &rare, false);
        assert!(v.param, "{v:?}");
    }

    #[test]
    fn words_at_the_top_stay_literal() {
        let kids: Vec<ChildView> = (0..40).map(|i| child(1.0, 1 + i % 3, &[i])).collect();
        let v = decide(Context::Top, &kids, &kids, false);
        assert!(!v.param, "{v:?}");
    }

    #[test]
    fn names_sharing_subtrees_are_values() {
        let kids: Vec<ChildView> = (0..6).map(|i| child(0.3, 5 + i, &[1, 2, 3])).collect();
        let v = decide(Context::Plural, &kids, &kids, false);
        assert!(v.param);
        assert_eq!(v.rule, "vocabulary");
        let words: Vec<ChildView> = (0..6).map(|i| child(1.0, 5 + i, &[1, 2, 3])).collect();
        let v = decide(Context::Plural, &words, &words, false);
        assert!(v.param);
        assert_eq!(v.rule, "structure");
    }

    #[test]
    fn actions_and_collections_stay_literal() {
        let mut kids: Vec<ChildView> = (0..6).map(|i| child(1.0, 5 + i, &[])).collect();
        for k in &mut kids {
            k.methods = POST;
        }
        let v = decide(Context::Plural, &kids, &kids, false);
        assert!(!v.param);
        assert_eq!(v.rule, "actions");
        for k in &mut kids {
            k.methods = GET | DELETE;
            k.collection = true;
        }
        let v = decide(Context::Plural, &kids, &kids, false);
        assert_eq!(v.rule, "collections");
    }

    #[test]
    fn many_routes_after_an_item_are_not_values_arriving() {
        // `/spaces/{id}/folders/{id}`, `/spaces/{id}/persons/{id}`, `/spaces/{id}/settings`:
        // twenty words, half seen once, some followed by ids and others not.
        let kids: Vec<ChildView> = (0..20u64)
            .map(|i| {
                let mut c = child(1.0, if i % 2 == 0 { 1 } else { 9 }, &[i]);
                c.collection = i % 5 < 2;
                c
            })
            .collect();
        let v = decide(Context::Param, &kids, &kids, false);
        assert!(!v.param, "{v:?}");
        // The same words all followed by ids continue alike: values of one parameter
        // (`/finduuid/carter-partners/{id}`, `/finduuid/ruby-mars/{id}`, ...).
        let values: Vec<ChildView> = kids
            .iter()
            .cloned()
            .map(|mut c| {
                c.collection = true;
                c
            })
            .collect();
        let v = decide(Context::Param, &values, &values, false);
        assert!(v.param, "{v:?}");
        assert_eq!(v.rule, "openness");
        // ... and so do words some of which are followed by ids when all continue with the
        // same sub-paths (`/packages/adventure-works/{v}/jcr:content`, ...).
        let alike: Vec<ChildView> = kids
            .iter()
            .cloned()
            .map(|mut c| {
                c.desc = vec![1, 2];
                c
            })
            .collect();
        for ctx in [Context::Param, Context::Plural] {
            let v = decide(ctx, &alike, &alike, false);
            assert!(v.param, "{ctx:?}: {v:?}");
        }
    }

    #[test]
    fn siblings_called_in_disjoint_ways_are_operations() {
        // `/kassen/{id}/abschluss` (POST), `/kassen/{id}/dep` (GET), `/kassen/{id}/belege`:
        // names the word list does not know, each requested many times.
        let mut kids: Vec<ChildView> = (0..4u64).map(|_| child(0.2, 300, &[])).collect();
        for (i, k) in kids.iter_mut().enumerate() {
            k.ends = 300;
            k.methods = if i == 0 { POST } else { GET };
        }
        for ctx in [Context::Param, Context::Plural] {
            let v = decide(ctx, &kids, &kids, false);
            assert!(!v.param, "{v:?}");
            assert_eq!(v.rule, "methods");
        }
        // Siblings that continue alike are values, whatever their methods (an action word
        // beside them does not make them operations).
        let alike: Vec<ChildView> = kids
            .iter()
            .cloned()
            .map(|mut c| {
                c.desc = vec![1, 2];
                c
            })
            .collect();
        assert!(decide(Context::Param, &alike, &alike, false).param);
        // Values each called one way, none only POSTed to (`/members/alice38` only read,
        // `/members/dave99` only deleted, each hundreds of times): values still.
        let names: Vec<ChildView> = kids
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, mut c)| {
                c.methods = [GET, DELETE, PUT, GET][i];
                c
            })
            .collect();
        assert!(decide(Context::Plural, &names, &names, false).param);
        // Values of one parameter share its operations' methods.
        for k in &mut kids {
            k.methods = GET | POST;
        }
        assert!(decide(Context::Param, &kids, &kids, false).param);
        // A few requests say nothing yet.
        kids[0].methods = POST;
        for k in &mut kids {
            k.ends = 5;
        }
        assert!(decide(Context::Param, &kids, &kids, false).param);
    }

    #[test]
    fn top_level_names_updated_one_by_one_are_items() {
        let mut kids: Vec<ChildView> = (0..12u64)
            .map(|i| child(if i % 2 == 0 { 0.2 } else { 0.9 }, 40, &[]))
            .collect();
        for k in &mut kids {
            k.methods = GET | PUT | DELETE;
        }
        let v = decide(Context::Top, &kids, &kids, false);
        assert!(v.param, "{v:?}");
        assert_eq!(v.rule, "items");
        // Words, each with sub-paths of its own: resources with bulk operations.
        let words: Vec<ChildView> = (0..12u64)
            .map(|i| {
                let mut c = child(1.0, 40, &[i * 10, i * 10 + 1]);
                c.methods = GET | DELETE;
                c
            })
            .collect();
        assert!(!decide(Context::Top, &words, &words, false).param);
    }

    fn called_with(keys: u64, ends: u64) -> ChildView {
        ChildView {
            ends,
            hits: ends,
            required_keys: Some(keys),
            ..child(0.9, ends, &[])
        }
    }

    /// Leaf words each called with their own required query parameters are operations;
    /// values called with the one operation's parameters (some with an optional one that
    /// happened to come every time) collapse, and so do siblings too quiet to tell.
    #[test]
    fn siblings_called_with_their_own_query_parameters_are_operations() {
        let ops: Vec<ChildView> = [0b0011u64, 0b0110, 0b1100, 0b1001, 0b0101]
            .iter()
            .map(|&k| called_with(k, 10))
            .collect();
        let v = decide(Context::Plural, &ops, &ops, false);
        assert_eq!((v.param, v.rule), (false, "query_keys"), "{v:?}");
        let values: Vec<ChildView> = [0b0011u64, 0b0011, 0b0111, 0b0011, 0b0011]
            .iter()
            .map(|&k| called_with(k, 10))
            .collect();
        assert_ne!(
            decide(Context::Plural, &values, &values, false).rule,
            "query_keys"
        );
        let quiet: Vec<ChildView> = [0b0011u64, 0b0110, 0b1100, 0b1001, 0b0101]
            .iter()
            .map(|&k| called_with(k, 2))
            .collect();
        assert_ne!(
            decide(Context::Plural, &quiet, &quiet, false).rule,
            "query_keys"
        );
    }

    /// After a collection name, many siblings that all continue with one label (and little
    /// else in common) are its items: `/servers/{name}/firewallRules`.
    #[test]
    fn many_items_continuing_with_one_label() {
        let items: Vec<ChildView> = (0..10u64).map(|i| child(0.6, 5, &[1, 100 + i])).collect();
        let v = decide(Context::Plural, &items, &items, false);
        assert_eq!((v.param, v.rule), (true, "structure"), "{v:?}");
        let few: Vec<ChildView> = (0..4u64).map(|i| child(0.9, 5, &[1, 100 + i])).collect();
        assert!(!decide(Context::Plural, &few, &few, false).param);
    }

    /// Owners after `/repos`, some of whose repositories read as ids (so the owner looks
    /// like a collection name), with the same rich sub-paths below every owner: values.
    /// A few plural words with the same sub-paths stay collections.
    #[test]
    fn a_rich_shared_structure_outweighs_ids_below_some_siblings() {
        let common = [1u64, 2, 3, 4, 5];
        let owners: Vec<ChildView> = (0..12u64)
            .map(|i| {
                let mut c = child(0.6, 20, &common);
                c.collection = i % 3 == 0;
                c
            })
            .collect();
        let v = decide(Context::Plural, &owners, &owners, false);
        assert_eq!((v.param, v.rule), (true, "structure"), "{v:?}");
        let collections: Vec<ChildView> = owners
            .iter()
            .map(|c| ChildView {
                plural: true,
                word: 1.0,
                ..c.clone()
            })
            .collect();
        let v = decide(Context::Plural, &collections, &collections, false);
        assert_eq!((v.param, v.rule), (false, "collections"), "{v:?}");
    }

    #[test]
    fn a_single_name_under_a_collection() {
        let one = [child(0.2, 3, &[])];
        assert!(decide(Context::Plural, &one, &one, false).param);
        let word = [child(1.0, 3, &[])];
        assert!(!decide(Context::Plural, &word, &word, false).param);
        let big = [child(0.2, 300, &[1, 2, 3, 4, 5, 6])];
        assert!(!decide(Context::Plural, &big, &big, false).param);
    }

    #[test]
    fn evidence_text() {
        let kids: Vec<ChildView> = (0..4).map(|i| child(0.3, 1, &[i, 9])).collect();
        let (ev, _) = measure(&kids);
        let s = ev.describe();
        assert!(s.starts_with("4 siblings"), "{s}");
        assert!(s.contains("100% read as names"), "{s}");
    }
}
