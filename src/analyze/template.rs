//! A bounded path-template learner that decides from evidence.
//!
//! [`TemplateLearner`] turns concrete request paths (`/repos/rust-lang/rustup/issues/42`)
//! into endpoint templates (`/repos/{repo}/{repo2}/issues/{issue_id}`). It keeps a trie of
//! the path segments one host was asked for and decides, position by position, whether the
//! literal siblings there are route words or values of one parameter:
//!
//! 1. **Pinned** templates ([`TemplateLearner::pin`]) win over everything else.
//! 2. **Typed** segments (integers, UUIDs, hashes, prefixed ids, dates, e-mails, ...) are
//!    parameters at once ([`super::segments`]); a typed value that never varies across a
//!    large volume with a subtree of routes below it (a bot token in the base path) is a
//!    literal (rule `constant`); a small integer where versions sit (`/1/members`,
//!    `/rest/api/3`) is a version until three different ones are seen. Either kept
//!    literal beside a typed parameter of the same kind that holds many values, and
//!    continuing as they do, is one of its values after all (`/webhooks/v3/72/settings`
//!    beside `/webhooks/v3/{id}/settings`).
//! 3. **Versions** and **scaffold** words (`v1`, `2015-03-31`, `api`) always stay literal;
//!    **self references** (`me`, `self`, `current`) too.
//! 4. Every other literal waits for evidence: when the siblings at a position change
//!    (new siblings or sub-paths), the position is weighed by [`evidence::decide`] —
//!    vocabulary, shared structure below the siblings, context, openness of the set,
//!    methods and response shapes — and, when its siblings are values, the position
//!    **collapses**: those siblings (and their subtrees) merge into one parameter child, and
//!    later unknown literals there map to it. Siblings that stay literal next to a
//!    parameter: self references, versions, route words whose sub-paths are unlike the
//!    values' (`/v1/projects` beside `/v1/{name}`), route words requested themselves where
//!    the values are only passed through (`GET /bets/freebets` beside `PUT
//!    /bets/{id}/cashin`), busy words only passed through beside values that are only
//!    requested themselves (`/v1/app/entity/...` beside `PUT /v1/app/{key}`), words
//!    beside values that are all host names (`/domains/purchase` beside
//!    `/domains/{domain}`), and action words only ever POSTed to beside values that are
//!    read or deleted (`POST /containers/create` beside `GET /containers/{id}`). A word
//!    continuing as the values already in the parameter do is a value. Known route words
//!    (`search`, `default`) merge along when their position collapses.
//! 5. A plural collection word whose siblings collapsed somewhere decides for the same
//!    word elsewhere, where its siblings continue as those values do
//!    (`/api/v1/namespaces/{ns}/pods` for `/api/v1/watch/namespaces/flux-system/pods`).
//!
//! **Determinism.** Positions are weighed in label order and sub-paths are compared by
//! bottom-k sketches of their label hashes, so the same traffic gives the same templates
//! in every run and every worker, whatever order hash maps store children in.
//!
//! Decisions are monotone: a position that collapsed stays collapsed, so a template only
//! ever becomes more general (the store merges the rows of the specific templates into it,
//! see `store::Store::merge`). Positions are weighed at thresholds of sibling counts while
//! traffic arrives (so a flood of values collapses early), and every position whose
//! neighbourhood changed is weighed again by [`TemplateLearner::settle`], which callers run
//! before they take templates out (at every flush). It weighs from the root down, then
//! weighs the single names that stayed literal once more, now that the positions below
//! them were weighed (an item between two collections only shows once the lower one
//! collapsed).
//!
//! **One learner per host.** The method is not part of the key: `GET` and `DELETE
//! /users/42` are the same resource and share one template (callers key endpoints as host,
//! method, template), and the methods seen are evidence (POST-only children are actions).
//!
//! **Consistency.** [`TemplateLearner::observe`] returns the template as decided *at that
//! moment*. Callers that buffer observations call [`TemplateLearner::resolve`] when they
//! flush (after [`TemplateLearner::settle`]), which re-templates a path with the final state
//! and never changes the learner; [`TemplateLearner::retemplate`] maps a stored template to
//! the current one.
//!
//! **Bounds** (all in [`TemplateConfig`], all counted in [`TemplateStats`]):
//! * at most `max_nodes` trie nodes; when a new literal finds the arena full, the node it
//!   would hang from collapses (its literal subtrees merge into its parameter, freeing
//!   nodes) and the segment maps to the parameter (rule `capped`); where nothing can be
//!   freed, the rest of the path renders without trie nodes (typed segments and forced
//!   literals as usual, other literals as `{param}`), so template strings stay bounded too;
//! * at most `max_children` literal children per node; one more collapses the node (rule
//!   `overflow`);
//! * at most `max_segments` segments per path; the rest becomes a `{rest}` tail (rule
//!   `truncated`);
//! * literal segments longer than `max_segment_len` bytes (after ASCII-safe encoding)
//!   become parameters (rule `oversize`);
//! * at most `max_pins` pinned templates; a weighing visits at most `DESC_VISITS` (256) nodes
//!   three levels down per sibling and keeps [`MAX_DESC`] sub-path labels, so its cost is
//!   bounded by the sibling count.
//!
//! **Normalisation.** The query string and fragment are stripped; an absolute-form target
//! (`http://host/path`) is reduced to its path; empty segments (`//`, trailing `/`) and `.`
//! are dropped and `..` removes the previous segment. A format suffix (`.json`, `.xml`,
//! ...) or a custom-method suffix (`:cancel`) is split from its segment and learned as a
//! child of it, so `/posts/123.json` becomes `/posts/{post_id}.json` (or
//! `/posts/{post_id}.{format}` once `.xml` is seen there too) and `/v1/{name}:cancel` keeps
//! its verb. Segments are percent-decoded for classification;
//! literals in templates are re-encoded so that only unreserved and sub-delimiter ASCII
//! characters appear raw (`{`, `}`, `%`, spaces and non-ASCII bytes are `%XX`), so a literal
//! can never look like a parameter.
//!
//! Decision rules reported per segment: `pinned`, `seeded`, `typed:<kind>` (kind names from
//! [`SegmentKind::name`]), the evidence rules of [`evidence::Verdict::rule`] (`vocabulary`,
//! `structure`, `openness`, `collection`, `shape`, `items`, `keyed_values`, `single_value`,
//! `formats`, `analogy`, `mixed_styles` for parameters; `format_suffix` for `.{format}`;
//! `words`, `actions`, `collections`, `plural_words`, `closed_vocabulary`, `query_keys`,
//! `resource_names`, `top_level`, `single_value`, `base_path` for literals), `constant`,
//! `versions` (three or more small integers in version position), `group` (a literal
//! followed by a version), `overflow`, `capped`, `oversize`, `truncated`, `literal` (not yet
//! weighed), `known_literal`, `scaffold`.

pub mod book;
pub mod evidence;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use super::segments::{SegmentKind, classify_at, is_param_like, is_scaffold, param_name};
use super::util::percent_decode_bytes;
use evidence::{ChildView, Context, Evidence, Verdict, method_bits};

/// Sub-path labels looked at per sibling when a position is weighed.
pub const MAX_DESC: usize = 64;
/// Levels below a sibling whose labels are looked at.
const DESC_DEPTH: u8 = 3;
/// Nodes visited to collect one position's descendant labels.
const DESC_VISITS: usize = 256;
/// A typed parameter that saw one value this many times, with this many literal children,
/// is a constant (rule `constant`).
const CONSTANT_HITS: u64 = 50;
const CONSTANT_CHILDREN: usize = 3;
/// Sub-collection words remembered as analogies.
const MAX_ANALOGIES: usize = 4096;
/// First labels remembered below a collection word's parameter (see
/// `TemplateLearner::collections`).
const COLLECTION_LABELS: usize = 32;
/// Passes over the dirty positions per [`TemplateLearner::settle`].
const SETTLE_PASSES: usize = 3;
/// Literals remembered per position as aliases of its typed parameter.
const MAX_ALIASES: usize = 32;
/// Small integers in version position become a parameter from this many distinct values.
const VERSION_INTS: usize = 3;
/// A position is weighed while traffic arrives when its literal sibling count reaches this
/// number, and each doubling after it.
const ONLINE_FIRST: u32 = 128;

/// Siblings seen at most this many times read as values when a position collapses (with
/// the siblings that read as names), for the route prefixes kept beside leaf values.
const LEAF_VALUE_HITS: u64 = 2;
/// At least this many such values, all leaves, before a busy word that only leads to
/// sub-paths stays literal beside them.
const LEAF_VALUES_MIN: usize = 3;
/// Requests through a word before it is such a route prefix.
const ROUTE_PREFIX_HITS: u64 = 10;

/// Requests ending at an action word, only ever POSTed to, before it stays literal beside
/// the values of a collapsing position.
const ACTION_ENDS: u64 = 3;

/// At least this many siblings before a first-level label that half of them continue
/// with makes a word sibling continuing with it a value when a position collapses.
const FIRST_LABEL_SIBLINGS_MIN: usize = 16;
/// Host-name values leave the words beside them literal only when there are at least this
/// many host names per word (`/domains/{domain}` beside `/domains/purchase`).
const HOST_WORDS_RATIO: usize = 3;

/// Limits of a [`TemplateLearner`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateConfig {
    /// Maximum trie nodes (including the root). Default 100 000.
    pub max_nodes: usize,
    /// Maximum literal children tracked per node; one more collapses the node. Default 1000.
    pub max_children: usize,
    /// Maximum segments per path; longer paths get a `{rest}` tail. Default 32.
    pub max_segments: usize,
    /// Maximum bytes of an (encoded) literal segment. Default 256.
    pub max_segment_len: usize,
    /// Maximum pinned templates. Default 1024.
    pub max_pins: usize,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            max_nodes: 100_000,
            max_children: 1000,
            max_segments: 32,
            max_segment_len: 256,
            max_pins: 1024,
        }
    }
}

/// How one template segment was decided.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decision {
    /// The rule (see the module docs).
    pub rule: &'static str,
    /// The segment is a parameter.
    pub param: bool,
    /// Confidence in the decision, 0.0-1.0.
    pub confidence: f32,
    /// What was weighed at this position, when it was weighed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

impl Decision {
    fn plain(rule: &'static str, confidence: f32) -> Decision {
        Decision {
            rule,
            param: false,
            confidence,
            evidence: None,
        }
    }

    fn param(rule: &'static str, confidence: f32) -> Decision {
        Decision {
            param: true,
            ..Decision::plain(rule, confidence)
        }
    }
}

/// The template of one path and how each of its segments was decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateMatch {
    /// The template, e.g. `/api/v1/users/{user_id}/orders/{order_id}`; `/` for the root.
    pub template: String,
    /// One decision per template segment, in order (a format or method suffix has its own).
    pub decisions: Vec<Decision>,
}

impl TemplateMatch {
    /// The per-segment rules joined with `/` (`scaffold/literal/typed:integer`).
    pub fn rules(&self) -> String {
        let mut s = String::new();
        for (i, d) in self.decisions.iter().enumerate() {
            if i > 0 {
                s.push('/');
            }
            s.push_str(d.rule);
        }
        s
    }

    /// The template's segments with their decisions: `{name}` for a parameter, the text of
    /// a literal, and a format or method suffix (`.json`, `:cancel`) as its own segment.
    pub fn segments(&self) -> Vec<(&str, &Decision)> {
        let mut out = Vec::with_capacity(self.decisions.len());
        let mut ds = self.decisions.iter().peekable();
        for seg in self.template.split('/').filter(|s| !s.is_empty()) {
            let Some(d) = ds.next() else { break };
            let glued = ds
                .peek()
                .is_some_and(|n| n.rule == "suffix" || n.rule == "format_suffix");
            let cut = if glued {
                let close = if seg.contains('{') {
                    seg.find('}')
                } else {
                    None
                };
                let from = close.map_or(0, |c| c + 1);
                seg[from..]
                    .rfind(['.', ':'])
                    .map(|i| i + from)
                    .filter(|&i| i > 0)
            } else {
                None
            };
            match cut {
                Some(i) => {
                    out.push((&seg[..i], d));
                    if let Some(s) = ds.next() {
                        out.push((&seg[i..], s));
                    }
                }
                None => out.push((seg, d)),
            }
        }
        out
    }

    /// Names of the template's parameters with the decision of each, in order.
    pub fn params(&self) -> Vec<(&str, &Decision)> {
        self.segments()
            .into_iter()
            .filter(|(_, d)| d.param)
            .filter_map(|(s, d)| {
                // `{id}`, `.{format}`, and a kept prefix: `v{version}`.
                s.split_once('{')
                    .and_then(|(_, x)| x.strip_suffix('}'))
                    .map(|n| (n, d))
            })
            .collect()
    }

    /// The lowest segment confidence (1.0 for the root).
    pub fn confidence(&self) -> f32 {
        self.decisions
            .iter()
            .map(|d| d.confidence)
            .fold(1.0, f32::min)
    }
}

/// Counters of a [`TemplateLearner`]; every cap has one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TemplateStats {
    /// Paths observed.
    pub observations: u64,
    /// Observations answered by a pinned template.
    pub pinned_matches: u64,
    /// Live trie nodes.
    pub nodes: usize,
    /// Highest number of live trie nodes.
    pub peak_nodes: usize,
    /// Node allocations refused at `max_nodes`.
    pub node_cap_hits: u64,
    /// Segments rendered as parameters because of `max_nodes` (rule `capped`).
    pub capped_segments: u64,
    /// Nodes collapsed because they exceeded `max_children`.
    pub child_overflows: u64,
    /// Nodes collapsed to free memory at `max_nodes`.
    pub cap_collapses: u64,
    /// Positions weighed.
    pub evaluations: u64,
    /// Positions that collapsed on evidence.
    pub promotions: u64,
    /// Nodes merged away by collapses.
    pub merged_nodes: u64,
    /// Typed parameters turned into literals (rule `constant`).
    pub constants: u64,
    /// Paths longer than `max_segments`.
    pub truncated_paths: u64,
    /// Segments longer than `max_segment_len`.
    pub oversize_segments: u64,
    /// Pins rejected (invalid or over `max_pins`).
    pub pins_rejected: u64,
    /// Changes to the templates (collapses, constants, seeds): callers re-template stored
    /// endpoints when this moved.
    pub generation: u64,
}

/// Why [`TemplateLearner::pin`] refused a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// `max_pins` templates are pinned already.
    #[error("too many pinned templates")]
    TooMany,
    /// More segments than `max_segments`, or a segment over `max_segment_len`.
    #[error("pinned template is too long")]
    TooLong,
    /// A `{...}` segment whose name is empty, too long or not `[A-Za-z0-9_]`, or a stray
    /// brace.
    #[error("invalid parameter segment {0:?}")]
    InvalidSegment(String),
    /// The same parameter name twice.
    #[error("duplicate parameter name {0:?}")]
    DuplicateParam(String),
}

/// One observation: the request path, and what else tells templates apart.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Request target (path, optionally with query, or absolute form).
    pub path: &'a str,
    /// Request method.
    pub method: &'a str,
    /// The query string without its `?`, when the path does not carry it.
    pub query: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Origin {
    #[default]
    Typed,
    /// Collapsed on evidence; the verdict is stored on the node.
    Evidence,
    /// Three or more small integers in version position.
    Versions,
    /// From a template learned earlier (`seed`).
    Seeded,
    /// Literal siblings built like the typed parameter beside them (rule `like_typed`).
    Alike,
    Overflow,
    Capped,
    Oversize,
}

/// Node flags.
mod flag {
    /// A version label (`v1`, `2015-03-31`).
    pub const VERSION: u16 = 256;
    /// Has a version child: an API group or product name (`/apis/apps/v1`).
    pub const GROUP: u16 = 64;
    /// Has a child kept by the `constant` rule.
    pub const HOLDS_CONSTANT: u16 = 128;
    /// Version or scaffold word: never merged, never weighed.
    pub const FORCED: u16 = 1;
    /// A known route word: weighed with its siblings, merges along.
    pub const KNOWN: u16 = 2;
    /// A small integer in version position.
    pub const VINT: u16 = 4;
    /// A format or method suffix, glued to the previous segment.
    pub const GLUE: u16 = 8;
    /// A typed value kept as a literal (rule `constant`).
    pub const CONSTANT: u16 = 16;
    /// A self reference (`me`, `self`, `current`): literal even next to a parameter.
    pub const SELF: u16 = 32;
    /// Kept literal when its position collapsed (its sub-paths are unlike the values').
    pub const KEPT: u16 = 512;
    /// Small integers in version position here are a parameter (three or more were seen).
    pub const INTS: u16 = 1024;
    /// A parameter whose values are file names (`README.md`, `package.json`): a format
    /// suffix after it is part of the value, not a segment of its own.
    pub const FILES: u16 = 2048;
    /// Version labels here are values of the parameter beside them (`/api/v{version}`).
    pub const VERSIONS: u16 = 4096;
}

#[derive(Debug, Default)]
struct Node {
    /// Literal text (ASCII-safe); `None` for the root and parameter nodes.
    label: Option<Arc<str>>,
    flags: u16,
    parent: u32,
    /// Name of a parameter node.
    param_name: Option<Arc<str>>,
    /// Kind a parameter node was created for.
    param_kind: Option<SegmentKind>,
    children: HashMap<Arc<str>, u32>,
    param: Option<u32>,
    /// Set once unknown literals here map to the parameter child.
    collapsed: Option<Origin>,
    /// The last verdict on this position.
    verdict: Option<Box<Verdict>>,
    hits: u64,
    ends: u64,
    rest_ends: u32,
    /// Methods of requests that ended here.
    methods: u8,
    /// GET response structure seen here, and whether another one was seen too.
    shape: Option<u64>,
    /// The query parameter names present in every request that ended here, as a 64-bit
    /// signature ([`query_key_bits`]); `None` until one did.
    required_keys: Option<u64>,
    /// Cached word score of the label (NaN until computed).
    word: f32,
    /// Literal children that are neither forced nor glued.
    untyped: u32,
    /// Format suffix children (`.json`, `.xml`); from two on they render `.{format}`.
    formats: u8,
    /// Typed parameter: the first value seen (for the `constant` rule), and whether others
    /// were seen.
    first_value: Option<Box<str>>,
    many_values: bool,
    /// Parameter node: the leading letters every value seen here shares (`v` of
    /// `v1.15.5`, `vdevelop`), see [`LeadPrefix`]; `None` until a value was seen.
    lead: Option<Box<LeadPrefix>>,
    /// Literals merged into the typed parameter beside them (`subid` next to UUIDs): they
    /// map to the parameter. At most [`MAX_ALIASES`].
    aliases: Option<Box<[Arc<str>]>>,
    /// The neighbourhood changed since this position was last weighed.
    dirty: bool,
    /// An allocation below this node was refused at `max_nodes` at least once.
    capped: bool,
}

impl Node {
    fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }
}

/// The letters every value of a parameter starts with (`v` of `v1.15.5`, `v3.8.12`,
/// `vdevelop`): from [`LEAD_VALUES`] distinct values on, [`LEAD_DIGITS`] of them continuing
/// with a digit right after, the template keeps them (`v{version}`, rule in
/// [`TemplateLearner::refresh_lead`]). One value without them ends it for good.
#[derive(Debug, Clone, Default)]
struct LeadPrefix {
    /// Empty once a value did not share it (or a typed value was seen).
    prefix: Box<str>,
    values: u32,
    /// Values with a digit right after `prefix` (counted afresh when it shrinks).
    digits: u32,
}

/// Distinct values before a shared leading prefix is kept in the template.
const LEAD_VALUES: u32 = 4;
/// Of which continue with a digit right after the prefix (a letters/digits boundary, as in
/// `v1.15.5`; not a coincidence of names such as `alice`, `anna`, `adam`).
const LEAD_DIGITS: u32 = 2;
/// Longest kept prefix (letters).
const LEAD_MAX: usize = 3;

impl LeadPrefix {
    fn of(value: &str) -> LeadPrefix {
        let n = value.bytes().take_while(u8::is_ascii_alphabetic).count();
        let digit = value.as_bytes().get(n).is_some_and(u8::is_ascii_digit);
        LeadPrefix {
            prefix: Box::from(&value[..n]),
            values: 1,
            digits: u32::from(digit),
        }
    }

    fn broken() -> LeadPrefix {
        LeadPrefix::default()
    }

    /// Folds in the values summarised by `other`.
    fn join(&mut self, other: &LeadPrefix) {
        if self.prefix.is_empty() {
            return;
        }
        let common = self
            .prefix
            .bytes()
            .zip(other.prefix.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if common == 0 {
            *self = LeadPrefix::broken();
            return;
        }
        let mut digits = 0;
        if common == self.prefix.len() {
            digits += self.digits;
        }
        if common == other.prefix.len() {
            digits += other.digits;
        }
        self.prefix = Box::from(&self.prefix[..common]);
        self.values = self.values.saturating_add(other.values);
        self.digits = digits;
    }

    /// The prefix to keep in the template, if any.
    fn kept(&self) -> Option<&str> {
        (!self.prefix.is_empty()
            && self.prefix.len() <= LEAD_MAX
            && self.values >= LEAD_VALUES
            && self.digits >= LEAD_DIGITS)
            .then_some(&*self.prefix)
    }
}

/// Folds one more value (or summary) into a parameter's lead prefix.
fn join_lead(slot: &mut Option<Box<LeadPrefix>>, other: LeadPrefix) {
    match slot {
        Some(l) => l.join(&other),
        None => *slot = Some(Box::new(other)),
    }
}

/// The bare name of a parameter name that carries a kept prefix (`version` of `v{version`).
fn bare_name(name: &str) -> &str {
    name.rsplit('{').next().unwrap_or(name)
}

/// A parameter name as a template segment: `{id}`, `v{version}`.
fn param_segment(name: &str) -> String {
    match name.rsplit_once('{') {
        Some((p, n)) => format!("{p}{{{n}}}"),
        None => format!("{{{name}}}"),
    }
}

#[derive(Debug, Default)]
struct PinNode {
    literals: HashMap<String, usize>,
    param: Option<(String, usize)>,
    terminal: bool,
}

/// Where [`TemplateLearner::resolve_match`] stands: on a trie node, or past the end of the
/// trie (below a node that hit the node cap, or below a position never observed).
#[derive(Clone, Copy)]
enum Cursor {
    At(u32),
    Detached { capped: bool },
}

/// What one segment wants to be, before looking at the trie.
enum Plan {
    Param { kind: SegmentKind, origin: Origin },
    Literal { key: String, flags: u16 },
}

enum Part {
    Literal(String),
    Glued(String),
    Param(Arc<str>),
}

struct Rendered {
    parts: Vec<Part>,
    decisions: Vec<Decision>,
}

impl Rendered {
    fn new() -> Self {
        Rendered {
            parts: Vec::new(),
            decisions: Vec::new(),
        }
    }

    fn push(&mut self, part: Part, decision: Decision) {
        self.parts.push(part);
        self.decisions.push(decision);
    }

    fn last_literal(&self) -> Option<&str> {
        match self.parts.last() {
            Some(Part::Literal(s)) => Some(s),
            _ => None,
        }
    }

    fn finish(self) -> TemplateMatch {
        TemplateMatch {
            template: render(&self.parts),
            decisions: self.decisions,
        }
    }
}

/// A suffix below `parent`: a format suffix where two or more were seen at that position
/// (`/sites/{id}.json`, `/sites/{id}.xml`) is one `.{format}` parameter (rule
/// `format_suffix`); anything else as it is.
fn glued_part(parent: Option<&Node>, key: String, d: Decision) -> (Part, Decision) {
    if key.starts_with('.') && parent.is_some_and(|p| p.formats >= 2) {
        (
            Part::Glued(".{format}".to_string()),
            Decision::param("format_suffix", 0.8),
        )
    } else {
        (Part::Glued(key), d)
    }
}

/// Joins parts into a template, numbering repeated parameter names (`{id}`, `{id2}`).
fn render(parts: &[Part]) -> String {
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut used: Vec<&str> = Vec::new();
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(s) => {
                out.push('/');
                out.push_str(s);
            }
            Part::Glued(s) => {
                if out.is_empty() {
                    out.push('/');
                }
                out.push_str(s);
            }
            Part::Param(name) => {
                out.push('/');
                // A kept prefix (`v{version` renders `v{version}`).
                let (prefix, name) = name.rsplit_once('{').unwrap_or(("", name));
                out.push_str(prefix);
                let n = used.iter().filter(|u| **u == name).count();
                used.push(name);
                out.push('{');
                out.push_str(name);
                if n > 0 {
                    out.push_str(&(n + 1).to_string());
                }
                out.push('}');
            }
        }
    }
    out
}

/// A path segment, and whether it is a suffix glued to the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg<'a> {
    raw: &'a str,
    glue: bool,
}

struct SplitPath<'a> {
    segments: Vec<Seg<'a>>,
    truncated: bool,
}

/// Format suffixes split from a segment (`123.json`).
const FORMAT_SUFFIXES: &[&str] = &[
    "json", "jsonp", "xml", "csv", "tsv", "yaml", "yml", "html", "htm", "xhtml", "txt", "atom",
    "rss", "jsonl", "ndjson", "geojson", "kml", "kmz", "gml", "gpx", "shp", "shpz", "wkt",
];

/// The key predicate of an OData segment (`('hotels')` of `indexes('hotels')`,
/// `(thumbprintAlgorithm=sha1,thumbprint=ab12)` of `certificates(...)`) as a template, its
/// values as parameters: `('{key}')`, `(thumbprintAlgorithm={thumbprintAlgorithm},
/// thumbprint={thumbprint})`. `None` when `s` is not one (at most 8 `name=value` pairs of
/// identifier names, or one key). Linear in `s`.
fn odata_key(s: &str) -> Option<String> {
    const MAX_PAIRS: usize = 8;
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    if inner.is_empty() || inner.len() > 256 || inner.contains(['(', ')', '/', '{', '}']) {
        return None;
    }
    let quoted = |v: &str| v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'');
    let ident = |k: &str| {
        k.len() <= 64
            && k.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if quoted(inner) && !inner[1..inner.len() - 1].contains('\'') {
        return Some("('{key}')".to_string());
    }
    if !inner.contains('=') {
        return (!inner.contains([',', '\''])).then(|| "({key})".to_string());
    }
    let mut out = String::from("(");
    for (i, pair) in inner.split(',').enumerate() {
        let (k, v) = pair.split_once('=')?;
        if i >= MAX_PAIRS || !ident(k) || v.is_empty() || v.contains('=') {
            return None;
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        if quoted(v) {
            out.push_str(&format!("'{{{k}}}'"));
        } else if v.contains('\'') {
            return None;
        } else {
            out.push_str(&format!("{{{k}}}"));
        }
    }
    out.push(')');
    Some(out)
}

/// Splits an OData key predicate (`indexes('hotels')`), a format suffix (`.json`, also
/// after a value with dots in it: `oscar.murphy.json`) or a custom-method suffix
/// (`:cancel`) off a segment.
fn split_suffix(s: &str) -> (&str, Option<&str>) {
    if s.ends_with(')')
        && let Some(open) = s.find('(')
    {
        let (stem, key) = (&s[..open], &s[open..]);
        let b = stem.as_bytes();
        if b.first().is_some_and(u8::is_ascii_alphabetic)
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
            && odata_key(key).is_some()
        {
            return (stem, Some(key));
        }
    }
    if let Some(dot) = s.rfind('.') {
        let (stem, ext) = (&s[..dot], &s[dot + 1..]);
        if !stem.is_empty()
            && !stem.ends_with('.')
            && FORMAT_SUFFIXES.iter().any(|f| f.eq_ignore_ascii_case(ext))
        {
            return (stem, Some(&s[dot..]));
        }
    }
    if let Some(colon) = s.rfind(':') {
        let (stem, verb) = (&s[..colon], &s[colon + 1..]);
        let b = verb.as_bytes();
        if !stem.is_empty()
            && !stem.contains(':')
            && b.first().is_some_and(u8::is_ascii_alphabetic)
            && b.len() <= 64
            && b.iter().all(u8::is_ascii_alphabetic)
        {
            return (stem, Some(&s[colon..]));
        }
    }
    (s, None)
}

/// Strips query/fragment and scheme/authority, drops empty and `.` segments, applies `..`,
/// splits suffixes, and keeps at most `max` segments.
fn split_path(path: &str, max: usize) -> SplitPath<'_> {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    let mut p = path.get(..end).unwrap_or("");
    let lower_prefix = p.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    if lower_prefix.starts_with("http://") || lower_prefix.starts_with("https://") {
        let after = p.find("://").map_or(0, |i| i + 3);
        let rest = p.get(after..).unwrap_or("");
        p = rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("");
    }
    let mut raw: Vec<&str> = Vec::new();
    let mut truncated = false;
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                raw.pop();
            }
            s => {
                if raw.len() >= max {
                    truncated = true;
                    break;
                }
                raw.push(s);
            }
        }
    }
    let mut segments = Vec::with_capacity(raw.len() + 1);
    for s in raw {
        let (stem, suffix) = split_suffix(s);
        segments.push(Seg {
            raw: stem,
            glue: false,
        });
        if let Some(suf) = suffix {
            segments.push(Seg {
                raw: suf,
                glue: true,
            });
        }
    }
    SplitPath {
        segments,
        truncated,
    }
}

fn is_template_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

/// The ASCII-safe literal form of a raw segment: percent-decoded, then re-encoded so that
/// only unreserved and sub-delimiter characters appear raw.
pub fn literal_key(raw: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = percent_decode_bytes(raw, false);
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes.iter() {
        if is_template_safe(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

fn typed_rule(kind: SegmentKind) -> &'static str {
    match kind {
        SegmentKind::Literal => "typed:literal",
        SegmentKind::Integer => "typed:integer",
        SegmentKind::Uuid => "typed:uuid",
        SegmentKind::Ulid => "typed:ulid",
        SegmentKind::ObjectId => "typed:object_id",
        SegmentKind::HexDigest => "typed:hex_digest",
        SegmentKind::Base64Token => "typed:base64_token",
        SegmentKind::Date => "typed:date",
        SegmentKind::Email => "typed:email",
        SegmentKind::MixedAlnum => "typed:mixed_alnum",
        SegmentKind::Version => "typed:version",
    }
}

fn typed_confidence(kind: SegmentKind) -> f32 {
    match kind {
        SegmentKind::Uuid => 0.99,
        SegmentKind::Ulid | SegmentKind::ObjectId => 0.97,
        SegmentKind::HexDigest | SegmentKind::Integer | SegmentKind::Email => 0.95,
        SegmentKind::Date => 0.9,
        SegmentKind::Base64Token => 0.85,
        SegmentKind::MixedAlnum => 0.75,
        SegmentKind::Literal | SegmentKind::Version => 0.5,
    }
}

/// Words after which the next segment is a top-level resource name.
const TOP_WORDS: &[&str] = &["api", "apis", "rest", "rpc", "_api", "gateway", "gw"];
/// Self references: literal even next to a parameter.
const SELF_WORDS: &[&str] = &["me", "my", "mine", "self", "current", "myself"];

/// OData's system resource segments (`$metadata`, `$batch`, `/People/$count`, `/$ref`):
/// routes of every OData service, never values.
const ODATA_SEGMENTS: &[&str] = &[
    "$all",
    "$batch",
    "$count",
    "$crossjoin",
    "$each",
    "$entity",
    "$filter",
    "$links",
    "$metadata",
    "$query",
    "$ref",
    "$root",
    "$value",
];

fn is_odata_segment(s: &str) -> bool {
    ODATA_SEGMENTS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

fn is_top_word(s: &str) -> bool {
    TOP_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

fn is_self_word(s: &str) -> bool {
    SELF_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A small integer (one or two digits) in version position: `/1/members`, `/rest/api/3`.
fn is_version_int(raw: &str, index: usize, prev: Option<&str>) -> bool {
    let b = raw.as_bytes();
    (1..=2).contains(&b.len())
        && b.iter().all(u8::is_ascii_digit)
        && (index == 0
            || prev
                .is_some_and(|p| is_scaffold(p) || classify_at(p, 1, None) == SegmentKind::Version))
}

/// Query parameters weighed per request.
const MAX_QUERY_KEYS: usize = 32;

/// The names of a query string's parameters as a 64-bit signature: one bit per
/// name (a collision only makes two sets look more alike). 0 without a query.
fn query_key_bits(query: Option<&str>) -> u64 {
    let Some(q) = query else { return 0 };
    let q = q.split('#').next().unwrap_or("");
    q.split('&')
        .take(MAX_QUERY_KEYS)
        .filter_map(|pair| pair.split('=').next().filter(|k| !k.is_empty()))
        .fold(0u64, |bits, key| bits | 1u64 << (label_hash(0, key) % 64))
}

/// Stable 64-bit hash of a sub-path label at a depth (for set operations).
fn label_hash(depth: u8, label: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x7e3a_91c4).build_hasher();
    h.write_u8(depth);
    h.write(label.as_bytes());
    h.finish()
}

/// Whether a label counts as structure when positions are weighed: not a version, not a
/// format suffix, not a generic route word.
fn structural_label(label: &str, flags: u16) -> bool {
    flags & (flag::FORCED | flag::KNOWN | flag::SELF) == 0 && !label.starts_with('.')
}

const ROOT: u32 = 0;

/// A bounded path-template learner for one host (see the module docs).
#[derive(Debug)]
pub struct TemplateLearner {
    cfg: TemplateConfig,
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    pins: Vec<PinNode>,
    pin_count: usize,
    stats: TemplateStats,
    /// Some position is dirty.
    unsettled: bool,
    /// Sub-collection words followed by a parameter under some item (`secrets` in
    /// `/namespaces/{ns}/secrets/{name}`): evidence for the same word elsewhere. At most
    /// [`MAX_ANALOGIES`].
    analogies: std::collections::HashSet<Arc<str>>,
    /// Plural collection words whose siblings below collapsed into a parameter on evidence
    /// somewhere (`namespaces` of `/api/v1/namespaces/{ns}`), with the first labels below
    /// that parameter (`pods`, `services`, at most [`COLLECTION_LABELS`]): evidence for the
    /// same word elsewhere, where its siblings continue the same way
    /// (`/api/v1/watch/namespaces/flux-system/pods`). At most [`MAX_ANALOGIES`] words.
    collections: HashMap<Arc<str>, Box<[Arc<str>]>>,
    /// Top-level resource names (literal children of the root, of a version, of `api`),
    /// lower case. At most [`MAX_ANALOGIES`].
    resource_names: std::collections::HashSet<Arc<str>>,
}

impl Default for TemplateLearner {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateLearner {
    /// A learner with the default [`TemplateConfig`].
    pub fn new() -> Self {
        Self::with_config(TemplateConfig::default())
    }

    /// A learner with the given limits (each clamped to a sane minimum).
    pub fn with_config(mut cfg: TemplateConfig) -> Self {
        cfg.max_nodes = cfg.max_nodes.clamp(1, u32::MAX as usize);
        cfg.max_children = cfg.max_children.max(1);
        cfg.max_segments = cfg.max_segments.max(1);
        cfg.max_segment_len = cfg.max_segment_len.max(1);
        let stats = TemplateStats {
            nodes: 1,
            peak_nodes: 1,
            ..TemplateStats::default()
        };
        TemplateLearner {
            cfg,
            nodes: vec![Some(Node {
                word: f32::NAN,
                ..Node::default()
            })],
            free: Vec::new(),
            pins: vec![PinNode::default()],
            pin_count: 0,
            stats,
            unsettled: false,
            analogies: std::collections::HashSet::new(),
            collections: HashMap::new(),
            resource_names: std::collections::HashSet::new(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &TemplateConfig {
        &self.cfg
    }

    /// The counters.
    pub fn stats(&self) -> &TemplateStats {
        &self.stats
    }

    /// Live trie nodes (including the root); never more than `max_nodes`.
    pub fn node_count(&self) -> usize {
        self.stats.nodes
    }

    /// Changes to the templates so far (see [`TemplateStats::generation`]).
    pub fn generation(&self) -> u64 {
        self.stats.generation
    }

    // -----------------------------------------------------------------------------------
    // Pins.

    /// Pins a template such as `/users/{id}/avatar`: paths with exactly its segments, where
    /// each `{name}` matches any one segment, get this template verbatim (rule `pinned`).
    /// Literal segments are compared in ASCII-safe form (see [`literal_key`]); where two
    /// pins match, literals win over parameters segment by segment. Pinning a template
    /// that differs from an existing pin only in parameter names is a no-op (the first
    /// names stay). Pinned paths are not learned into the trie.
    pub fn pin(&mut self, template: &str) -> Result<(), PinError> {
        let r = self.pin_inner(template);
        if r.is_err() {
            self.stats.pins_rejected += 1;
        }
        r
    }

    /// Pinned templates.
    pub fn pin_count(&self) -> usize {
        self.pin_count
    }

    /// The pinned template `path` matches, if any (no learning, no trie).
    pub fn pinned_match(&self, path: &str) -> Option<TemplateMatch> {
        self.pinned(&split_path(path, self.cfg.max_segments))
    }

    /// Checks a template's syntax as [`TemplateLearner::pin`] would, without pinning it.
    pub fn check_template(&self, template: &str) -> Result<(), PinError> {
        self.pin_segments(template).map(|_| ())
    }

    fn pin_segments(&self, template: &str) -> Result<Vec<PinSeg>, PinError> {
        self.template_segments(template, false)
    }

    /// Segments of a template the learner wrote (a seed, a stored template): a parameter
    /// may keep a prefix there (`v{version}`); in a pin it may not.
    fn stored_segments(&self, template: &str) -> Result<Vec<PinSeg>, PinError> {
        self.template_segments(template, true)
    }

    fn template_segments(&self, template: &str, prefixed: bool) -> Result<Vec<PinSeg>, PinError> {
        let end = template.find(['?', '#']).unwrap_or(template.len());
        let raw: Vec<&str> = template[..end]
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if raw.len() > self.cfg.max_segments {
            return Err(PinError::TooLong);
        }
        let mut segs = Vec::with_capacity(raw.len());
        let mut names: Vec<String> = Vec::new();
        for s in raw {
            if s.len() > self.cfg.max_segment_len {
                return Err(PinError::TooLong);
            }
            // `v{version}`: a parameter with a kept prefix (see `refresh_lead`).
            if prefixed
                && let Some((pre, rest)) = s.split_once('{')
                && !pre.is_empty()
                && pre.len() <= LEAD_MAX
                && pre.bytes().all(|c| c.is_ascii_alphabetic())
                && let Some(inner) = rest.strip_suffix('}')
                && !inner.is_empty()
                && inner.len() <= 64
                && inner
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                if names.iter().any(|n| n == inner) {
                    return Err(PinError::DuplicateParam(inner.to_string()));
                }
                names.push(inner.to_string());
                segs.push(PinSeg::Param(format!("{pre}{{{inner}")));
                continue;
            }
            // `{id}.json` and `{name}:cancel`: a parameter with a glued suffix.
            let (stem, suffix) = match s.strip_prefix('{').and_then(|x| x.find('}')) {
                Some(close) => {
                    let (a, b) = s.split_at(close + 2);
                    (a, (!b.is_empty()).then_some(b))
                }
                None => split_suffix(s),
            };
            if let Some(inner) = stem.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                let valid = !inner.is_empty()
                    && inner.len() <= 64
                    && inner
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_');
                if !valid {
                    return Err(PinError::InvalidSegment(super::util::sanitize(s, 64)));
                }
                if names.iter().any(|n| n == inner) {
                    return Err(PinError::DuplicateParam(inner.to_string()));
                }
                names.push(inner.to_string());
                segs.push(PinSeg::Param(inner.to_string()));
            } else if stem.contains(['{', '}']) {
                return Err(PinError::InvalidSegment(super::util::sanitize(s, 64)));
            } else {
                segs.push(PinSeg::Lit(literal_key(stem)));
            }
            if let Some(suf) = suffix {
                if suf.contains(['{', '}']) {
                    return Err(PinError::InvalidSegment(super::util::sanitize(s, 64)));
                }
                segs.push(PinSeg::Glue(literal_key(suf)));
            }
        }
        Ok(segs)
    }

    fn pin_inner(&mut self, template: &str) -> Result<(), PinError> {
        let segs = self.pin_segments(template)?;
        // Already pinned (same literals, parameters in the same places)?
        let mut walk = Some(0usize);
        for seg in &segs {
            walk = walk.and_then(|w| self.pins.get(w)).and_then(|n| match seg {
                PinSeg::Lit(key) | PinSeg::Glue(key) => n.literals.get(key).copied(),
                PinSeg::Param(_) => n.param.as_ref().map(|(_, i)| *i),
            });
        }
        if walk
            .and_then(|w| self.pins.get(w))
            .is_some_and(|n| n.terminal)
        {
            return Ok(());
        }
        if self.pin_count >= self.cfg.max_pins {
            return Err(PinError::TooMany);
        }
        let mut cur = 0usize;
        for seg in segs {
            let next_id = self.pins.len();
            let node = self.pins.get_mut(cur).ok_or(PinError::TooMany)?;
            cur = match seg {
                PinSeg::Lit(key) | PinSeg::Glue(key) => match node.literals.get(&key) {
                    Some(&n) => n,
                    None => {
                        node.literals.insert(key, next_id);
                        self.pins.push(PinNode::default());
                        next_id
                    }
                },
                PinSeg::Param(name) => match &node.param {
                    // Same position, different name: the first pin's name wins.
                    Some((_, n)) => *n,
                    None => {
                        node.param = Some((name, next_id));
                        self.pins.push(PinNode::default());
                        next_id
                    }
                },
            };
        }
        if let Some(node) = self.pins.get_mut(cur)
            && !node.terminal
        {
            node.terminal = true;
            self.pin_count += 1;
        }
        Ok(())
    }

    /// Depth-first pin match, literals first. Each pin node is visited at most once.
    fn match_pin(
        &self,
        node: usize,
        keys: &[(String, bool)],
        depth: usize,
        out: &mut Vec<Part>,
    ) -> bool {
        let Some(pn) = self.pins.get(node) else {
            return false;
        };
        let Some((key, glue)) = keys.get(depth) else {
            return pn.terminal;
        };
        if let Some(&n) = pn.literals.get(key) {
            out.push(if *glue {
                Part::Glued(key.clone())
            } else {
                Part::Literal(key.clone())
            });
            if self.match_pin(n, keys, depth + 1, out) {
                return true;
            }
            out.pop();
        }
        if let Some((name, n)) = &pn.param
            && !*glue
        {
            out.push(Part::Param(Arc::from(name.as_str())));
            if self.match_pin(*n, keys, depth + 1, out) {
                return true;
            }
            out.pop();
        }
        false
    }

    fn pinned(&self, split: &SplitPath<'_>) -> Option<TemplateMatch> {
        if self.pin_count == 0 || split.truncated {
            return None;
        }
        let keys: Vec<(String, bool)> = split
            .segments
            .iter()
            .map(|s| (literal_key(s.raw), s.glue))
            .collect();
        let mut parts = Vec::with_capacity(keys.len());
        if !self.match_pin(0, &keys, 0, &mut parts) {
            return None;
        }
        Some(pinned_match(&parts))
    }

    // -----------------------------------------------------------------------------------
    // Arena.

    fn node(&self, id: u32) -> Option<&Node> {
        self.nodes.get(id as usize).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, id: u32) -> Option<&mut Node> {
        self.nodes.get_mut(id as usize).and_then(Option::as_mut)
    }

    fn alloc(&mut self, node: Node) -> Option<u32> {
        if self.stats.nodes >= self.cfg.max_nodes {
            self.stats.node_cap_hits += 1;
            return None;
        }
        let id = match self.free.pop() {
            Some(id) => {
                let slot = self.nodes.get_mut(id as usize)?;
                *slot = Some(node);
                id
            }
            None => {
                let id = u32::try_from(self.nodes.len()).ok()?;
                self.nodes.push(Some(node));
                id
            }
        };
        self.stats.nodes += 1;
        self.stats.peak_nodes = self.stats.peak_nodes.max(self.stats.nodes);
        Some(id)
    }

    fn release(&mut self, id: u32) -> Option<Node> {
        if id == ROOT {
            return None;
        }
        let node = self.nodes.get_mut(id as usize)?.take()?;
        self.free.push(id);
        self.stats.nodes = self.stats.nodes.saturating_sub(1);
        Some(node)
    }

    /// Marks `id` and its ancestors up to the levels whose weighing looks at it as dirty.
    fn touch(&mut self, id: u32) {
        let mut cur = id;
        for _ in 0..=(DESC_DEPTH + 1) {
            let Some(n) = self.node_mut(cur) else {
                return;
            };
            n.dirty = true;
            if cur == ROOT {
                break;
            }
            cur = n.parent;
        }
        self.unsettled = true;
    }

    // -----------------------------------------------------------------------------------
    // Planning (shared by observe and resolve).

    fn plan(&self, seg: Seg<'_>, index: usize, prev_raw: Option<&str>) -> Plan {
        if seg.glue {
            // An OData key predicate renders with its values as parameters.
            let key = seg
                .raw
                .starts_with('(')
                .then(|| odata_key(seg.raw))
                .flatten()
                .unwrap_or_else(|| literal_key(seg.raw));
            return Plan::Literal {
                key,
                flags: flag::GLUE,
            };
        }
        let raw = seg.raw;
        if is_version_int(raw, index, prev_raw) {
            return Plan::Literal {
                key: literal_key(raw),
                flags: flag::VINT,
            };
        }
        let kind = classify_at(raw, index, prev_raw);
        if is_param_like(kind) {
            return Plan::Param {
                kind,
                origin: Origin::Typed,
            };
        }
        let key = literal_key(raw);
        if key.len() > self.cfg.max_segment_len {
            return Plan::Param {
                kind,
                origin: Origin::Oversize,
            };
        }
        let decoded = percent_decode_bytes(raw, false);
        let decoded = std::str::from_utf8(&decoded).unwrap_or("");
        let flags = if kind == SegmentKind::Version {
            flag::FORCED | flag::VERSION
        } else if is_odata_segment(decoded) {
            // OData system segments: `$count`, `$value`, `$ref`, `$batch`, `$metadata`.
            // Other `$` names are weighed as any literal (`/places/$alias` is a value).
            flag::FORCED
        } else if is_top_word(decoded) {
            flag::FORCED
        } else if is_scaffold(decoded) {
            // `prod`, `data`, `public`: route words that are also common values.
            flag::KNOWN
        } else if is_self_word(decoded) {
            flag::SELF | flag::FORCED
        } else if super::segments::is_known_literal(decoded) {
            flag::KNOWN
        } else {
            0
        };
        Plan::Literal { key, flags }
    }

    fn param_decision(&self, origin: Origin, kind: SegmentKind, at: Option<&Node>) -> Decision {
        match origin {
            Origin::Typed => Decision::param(typed_rule(kind), typed_confidence(kind)),
            Origin::Evidence => match at.and_then(|n| n.verdict.as_deref().copied()) {
                Some(v) => Decision {
                    rule: v.rule,
                    param: true,
                    confidence: v.confidence,
                    evidence: Some(v.evidence),
                },
                None => Decision::param("structure", 0.6),
            },
            Origin::Versions => Decision::param("versions", 0.8),
            Origin::Seeded => Decision::param("seeded", 0.9),
            Origin::Alike => Decision::param("like_typed", 0.8),
            Origin::Overflow => Decision::param("overflow", 0.9),
            Origin::Capped => Decision::param("capped", 0.3),
            Origin::Oversize => Decision::param("oversize", 0.8),
        }
    }

    fn literal_decision(
        &self,
        parent: Option<&Node>,
        child: Option<&Node>,
        flags: u16,
    ) -> Decision {
        if flags & flag::GLUE != 0 {
            return Decision::plain("suffix", 0.95);
        }
        if flags & flag::SELF != 0 {
            return Decision::plain("known_literal", 0.95);
        }
        if flags & flag::FORCED != 0 {
            return Decision::plain("scaffold", 0.99);
        }
        if child.is_some_and(|c| c.has(flag::CONSTANT)) {
            return Decision::plain("constant", 0.85);
        }
        if child.is_some_and(|c| c.has(flag::GROUP)) {
            return Decision::plain("group", 0.9);
        }
        match parent.and_then(|p| p.verdict.as_deref().copied()) {
            Some(v) if !v.param => Decision {
                rule: v.rule,
                param: false,
                confidence: v.confidence,
                evidence: Some(v.evidence),
            },
            // Kept literal next to a parameter.
            Some(v) => Decision {
                rule: "literal",
                param: false,
                confidence: (1.0 - v.confidence).max(0.3),
                evidence: Some(v.evidence),
            },
            None if flags & flag::KNOWN != 0 => Decision::plain("known_literal", 0.9),
            None => Decision::plain("literal", 0.5),
        }
    }

    /// Name for a parameter with no trie node to hold it.
    fn detached_name(prev_literal: Option<&str>, kind: SegmentKind) -> Arc<str> {
        Arc::from(param_name(prev_literal, kind))
    }

    // -----------------------------------------------------------------------------------
    // Observe.

    /// Learns from one request path (any method) and returns its template as of now.
    pub fn observe(&mut self, path: &str) -> TemplateMatch {
        self.observe_with(Observation {
            query: None,
            path,
            method: "GET",
        })
    }

    /// Learns from one observation and returns its template as of now (see the module docs
    /// for how earlier observations are re-mapped).
    pub fn observe_with(&mut self, obs: Observation<'_>) -> TemplateMatch {
        self.stats.observations += 1;
        let split = split_path(obs.path, self.cfg.max_segments);
        if split.truncated {
            self.stats.truncated_paths += 1;
        }
        if let Some(m) = self.pinned(&split) {
            self.stats.pinned_matches += 1;
            return m;
        }
        let mut out = Rendered::new();
        let mut cur = Some(ROOT);
        if let Some(root) = self.node_mut(ROOT) {
            root.hits += 1;
        }
        let mut prev_raw: Option<&str> = None;
        let mut index = 0usize;
        for seg in &split.segments {
            let plan = self.plan(*seg, index, prev_raw);
            if let Plan::Param {
                origin: Origin::Oversize,
                ..
            } = plan
            {
                self.stats.oversize_segments += 1;
            }
            cur = match cur {
                Some(id) => self.step_mut(id, plan, seg.raw, &mut out),
                None => {
                    self.step_detached(plan, &mut out, true);
                    None
                }
            };
            if !seg.glue {
                prev_raw = Some(seg.raw);
                index += 1;
            }
        }
        let bit = method_bits::of(obs.method);
        if let Some(id) = cur {
            let mut new_method = false;
            let keys = query_key_bits(
                obs.query
                    .or_else(|| obs.path.split_once('?').map(|(_, q)| q)),
            );
            if let Some(node) = self.node_mut(id) {
                if split.truncated {
                    node.rest_ends = node.rest_ends.saturating_add(1);
                } else {
                    node.ends += 1;
                }
                new_method = node.methods & bit == 0;
                node.methods |= bit;
                // Required keys only ever shrink: at most 64 changes re-weigh the position.
                let required = node.required_keys.map_or(keys, |k| k & keys);
                new_method |= node.required_keys != Some(required);
                node.required_keys = Some(required);
            }
            if new_method {
                let parent = self.node(id).map_or(ROOT, |n| n.parent);
                self.touch(parent);
            }
        }
        if split.truncated {
            out.push(
                Part::Param(Arc::from("rest")),
                Decision::param("truncated", 1.0),
            );
        }
        out.finish()
    }

    /// Records the structure of a GET response to `path` (a hash of its JSON key paths, see
    /// `analyze::shape::fingerprint`): siblings that answer alike are values of one
    /// parameter. Does not learn the path.
    pub fn note_shape(&mut self, path: &str, shape: u64) {
        let split = split_path(path, self.cfg.max_segments);
        if split.truncated {
            return;
        }
        let Cursor::At(id) = self.walk_ro(&split) else {
            return;
        };
        let changed = match self.node_mut(id) {
            Some(n) if n.shape.is_none() => {
                n.shape = Some(shape);
                true
            }
            _ => false,
        };
        if changed {
            let parent = self.node(id).map_or(ROOT, |n| n.parent);
            self.touch(parent);
        }
    }

    /// Renders a segment when there is no trie node (the node cap was hit earlier).
    fn step_detached(&mut self, plan: Plan, out: &mut Rendered, count: bool) {
        match plan {
            Plan::Param { kind, origin } => {
                let name = Self::detached_name(out.last_literal(), kind);
                let d = self.param_decision(origin, kind, None);
                out.push(Part::Param(name), d);
            }
            Plan::Literal { key, flags } if flags & (flag::FORCED | flag::GLUE) != 0 => {
                let d = self.literal_decision(None, None, flags);
                if flags & flag::GLUE != 0 {
                    out.push(Part::Glued(key), d);
                } else {
                    out.push(Part::Literal(key), d);
                }
            }
            Plan::Literal { .. } => {
                if count {
                    self.stats.capped_segments += 1;
                }
                let name = Self::detached_name(out.last_literal(), SegmentKind::Literal);
                let d = self.param_decision(Origin::Capped, SegmentKind::Literal, None);
                out.push(Part::Param(name), d);
            }
        }
    }

    fn ensure_param(&mut self, id: u32, kind: SegmentKind) -> Option<u32> {
        let node = self.node(id)?;
        if let Some(p) = node.param {
            return Some(p);
        }
        let name: Arc<str> = Arc::from(param_name(node.label.as_deref(), kind));
        let p = self.alloc(Node {
            param_name: Some(name),
            param_kind: Some(kind),
            parent: id,
            word: f32::NAN,
            ..Node::default()
        })?;
        if let Some(node) = self.node_mut(id) {
            node.param = Some(p);
        }
        self.touch(id);
        Some(p)
    }

    /// Moves to the parameter child of `id` (creating it if possible) and renders it.
    fn goto_param(
        &mut self,
        id: u32,
        kind: SegmentKind,
        origin: Origin,
        value: Option<&str>,
        out: &mut Rendered,
    ) -> Option<u32> {
        let decision = self.param_decision(origin, kind, self.node(id));
        let max_len = self.cfg.max_segment_len;
        match self.ensure_param(id, kind) {
            Some(p) => {
                // A value seen here may end a shared prefix, and the first one starts it;
                // it counts as evidence for one only when merged, as a distinct value.
                if let Some(v) = value {
                    let ends = self.node(p).is_some_and(|n| {
                        n.lead
                            .as_ref()
                            .is_none_or(|l| !l.prefix.is_empty() && !v.starts_with(&*l.prefix))
                    });
                    if ends && let Some(n) = self.node_mut(p) {
                        let mut l = LeadPrefix::of(v);
                        (l.values, l.digits) = (0, 0);
                        join_lead(&mut n.lead, l);
                        self.refresh_lead(p);
                    }
                }
                let name = self.node_mut(p).map(|n| {
                    n.hits += 1;
                    if let (Origin::Typed, Some(v)) = (origin, value) {
                        match &n.first_value {
                            None if !n.many_values && v.len() <= max_len => {
                                n.first_value = Some(Box::from(v));
                            }
                            Some(f) if &**f != v => {
                                n.first_value = None;
                                n.many_values = true;
                            }
                            None if v.len() > max_len => n.many_values = true,
                            _ => {}
                        }
                    }
                    n.param_name.clone()
                });
                let name = name
                    .flatten()
                    .unwrap_or_else(|| Self::detached_name(out.last_literal(), kind));
                out.push(Part::Param(name), decision);
                Some(p)
            }
            None => {
                if let Some(node) = self.node_mut(id) {
                    node.capped = true;
                }
                let name = Self::detached_name(out.last_literal(), kind);
                out.push(Part::Param(name), decision);
                None
            }
        }
    }

    fn step_mut(&mut self, id: u32, plan: Plan, raw: &str, out: &mut Rendered) -> Option<u32> {
        let (key, flags) = match plan {
            Plan::Param { kind, origin } => {
                // A typed value kept as a literal (rule `constant`).
                let constant = self
                    .node(id)
                    .filter(|n| n.has(flag::HOLDS_CONSTANT))
                    .and_then(|n| n.children.get(literal_key(raw).as_str()).copied())
                    .filter(|c| self.node(*c).is_some_and(|c| c.has(flag::CONSTANT)));
                if let Some(c) = constant {
                    let d = self.literal_decision(self.node(id), self.node(c), flag::CONSTANT);
                    if let Some(n) = self.node_mut(c) {
                        n.hits += 1;
                    }
                    out.push(Part::Literal(literal_key(raw)), d);
                    return Some(c);
                }
                return self.goto_param(id, kind, origin, Some(raw), out);
            }
            Plan::Literal { key, flags } => (key, flags),
        };
        let node = self.node(id)?;
        if flags & flag::GLUE != 0 && node.has(flag::FILES) && key.starts_with('.') {
            return Some(id);
        }
        if let Some(&c) = node.children.get(key.as_str()) {
            if let Some(child) = self.node_mut(c) {
                child.hits += 1;
            }
            let d = self.literal_decision(self.node(id), self.node(c), flags);
            if flags & flag::GLUE != 0 {
                let (part, d) = glued_part(self.node(id), key, d);
                out.push(part, d);
            } else {
                out.push(Part::Literal(key), d);
            }
            return Some(c);
        }
        let mergeable = flags & (flag::FORCED | flag::GLUE) == 0;
        if flags & flag::VINT != 0 && node.has(flag::INTS) {
            return self.goto_param(id, SegmentKind::Integer, Origin::Versions, None, out);
        }
        if flags & flag::VERSION != 0 && node.has(flag::VERSIONS) && node.param.is_some() {
            return self.goto_param(id, SegmentKind::Literal, Origin::Alike, Some(&key), out);
        }
        if mergeable
            && node
                .aliases
                .as_deref()
                .is_some_and(|a| a.iter().any(|a| **a == *key))
        {
            return self.goto_param(id, SegmentKind::Literal, Origin::Alike, Some(&key), out);
        }
        if mergeable && let Some(origin) = node.collapsed {
            return self.goto_param(id, SegmentKind::Literal, origin, Some(&key), out);
        }
        if node.children.len() >= self.cfg.max_children {
            self.stats.child_overflows += 1;
            self.collapse_all(id, Origin::Overflow);
            if mergeable {
                return self.goto_param(
                    id,
                    SegmentKind::Literal,
                    Origin::Overflow,
                    Some(&key),
                    out,
                );
            }
            self.step_detached(Plan::Literal { key, flags }, out, false);
            return None;
        }
        let label: Arc<str> = Arc::from(key.as_str());
        let created = self.alloc(Node {
            label: Some(label.clone()),
            flags,
            parent: id,
            hits: 1,
            word: f32::NAN,
            ..Node::default()
        });
        let Some(c) = created else {
            // Node cap. Forced literals render as literals. Other literals collapse this
            // node: its literal subtrees merge into the parameter, which frees nodes and
            // lets learning go on; a node without literal children maps the segment to its
            // parameter child, or to a detached parameter.
            if let Some(node) = self.node_mut(id) {
                node.capped = true;
            }
            if !mergeable {
                self.step_detached(Plan::Literal { key, flags }, out, true);
                return None;
            }
            self.stats.capped_segments += 1;
            let has_literals = self.node(id).is_some_and(|n| n.untyped > 0);
            if has_literals {
                self.stats.cap_collapses += 1;
                self.collapse_all(id, Origin::Capped);
            }
            let existing = self.node(id).and_then(|n| n.param);
            return match existing {
                Some(_) => {
                    self.goto_param(id, SegmentKind::Literal, Origin::Capped, Some(&key), out)
                }
                None => {
                    self.step_detached(Plan::Literal { key, flags }, out, false);
                    None
                }
            };
        };
        let mut weigh_now = false;
        if let Some(node) = self.node_mut(id) {
            if flags & flag::GLUE != 0 && label.starts_with('.') {
                node.formats = node.formats.saturating_add(1);
            }
            node.children.insert(label, c);
            if flags & flag::VERSION != 0 {
                node.flags |= flag::GROUP;
            }
            if flags & (flag::FORCED | flag::GLUE) == 0 {
                node.untyped += 1;
                let u = node.untyped;
                weigh_now = u >= ONLINE_FIRST && u.is_power_of_two();
            }
        }
        self.touch(id);
        if weigh_now {
            self.evaluate(id);
            // The new child may have merged into (or become) the parameter.
            if self.node(c).is_none_or(|n| n.label.is_none()) {
                let origin = self
                    .node(id)
                    .and_then(|n| n.collapsed)
                    .unwrap_or(Origin::Evidence);
                let decision = self.param_decision(origin, SegmentKind::Literal, self.node(id));
                let p = self.node(id).and_then(|n| n.param);
                let name = p
                    .and_then(|p| self.node(p))
                    .and_then(|n| n.param_name.clone())
                    .unwrap_or_else(|| {
                        Self::detached_name(out.last_literal(), SegmentKind::Literal)
                    });
                out.push(Part::Param(name), decision);
                return p;
            }
        }
        let d = self.literal_decision(self.node(id), self.node(c), flags);
        if flags & flag::GLUE != 0 {
            let (part, d) = glued_part(self.node(id), key, d);
            out.push(part, d);
        } else {
            out.push(Part::Literal(key), d);
        }
        Some(c)
    }

    // -----------------------------------------------------------------------------------
    // Weighing positions.

    /// Weighs every position whose neighbourhood changed since it was last weighed, from the
    /// root down (a collapse above concentrates the evidence below). Returns whether any
    /// template changed. Callers run it before taking templates out.
    pub fn settle(&mut self) -> bool {
        if !self.unsettled {
            return false;
        }
        let before = self.stats.generation;
        let analogies = self.analogies.len() + self.collections.len();
        self.settle_pass(|_, n| n.dirty);
        // Positions are weighed from the root down, so a single name was weighed before
        // the collections below it were (`/registries/AnnCTiJSdenxFI3/tokens/{token}`: an
        // item between two collections, rule `single_value`). Weigh the single names that
        // stayed literal again once the positions below them have been, a few times at
        // most. Only those: weighing many siblings again after merges below them would
        // see sub-paths made alike by the merges, not by the traffic; and not a single word
        // followed by values itself (`/remediations/{remediation}`), a collection's name.
        for _ in 1..SETTLE_PASSES {
            self.unsettled = false;
            self.settle_pass(|l, n| {
                n.dirty
                    && n.collapsed.is_none()
                    && n.untyped == 1
                    && n.children
                        .values()
                        .filter_map(|&c| l.node(c))
                        .all(|c| c.collapsed.is_none())
            });
            if !self.unsettled {
                break;
            }
        }
        if self.analogies.len() + self.collections.len() != analogies {
            // A sub-collection word learned in one part of the tree decides for the same
            // word in parts visited before it.
            let mut words = self.analogies.clone();
            words.extend(self.collections.keys().cloned());
            self.settle_pass(|_, n| {
                n.collapsed.is_none()
                    && n.label
                        .as_deref()
                        .is_some_and(|l| words.contains(l.to_ascii_lowercase().as_str()))
            });
        }
        self.unsettled = false;
        self.stats.generation != before
    }

    fn settle_pass(&mut self, pick: impl Fn(&Self, &Node) -> bool) {
        let mut stack = vec![ROOT];
        let mut guard = 0usize;
        while let Some(id) = stack.pop() {
            guard += 1;
            if guard > 4 * self.cfg.max_nodes + 16 {
                break;
            }
            if self.node(id).is_some_and(|n| pick(self, n)) {
                self.evaluate(id);
            }
            if let Some(n) = self.node(id) {
                // Label order, so that positions are weighed in the same order in every run.
                let mut kids: Vec<(&Arc<str>, u32)> =
                    n.children.iter().map(|(k, &c)| (k, c)).collect();
                kids.sort_unstable_by(|a, b| b.0.cmp(a.0));
                stack.extend(n.param);
                stack.extend(kids.into_iter().map(|(_, c)| c));
            }
        }
    }

    /// Whether some position waits to be weighed.
    pub fn unsettled(&self) -> bool {
        self.unsettled
    }

    fn word_of(&mut self, id: u32) -> f32 {
        let Some(n) = self.node(id) else {
            return 0.0;
        };
        if !n.word.is_nan() {
            return n.word;
        }
        let w = n.label.as_deref().map_or(0.0, |l| {
            let decoded = percent_decode_bytes(l, false);
            let s = std::str::from_utf8(&decoded).unwrap_or("");
            super::vocab::word_score(s).score
        });
        if let Some(n) = self.node_mut(id) {
            n.word = w;
        }
        w
    }

    /// Descendant labels of `id` to [`DESC_DEPTH`] levels, as the [`MAX_DESC`] smallest
    /// label hashes (a bottom-k sketch: two siblings' sketches estimate how much of their
    /// sub-paths they share, whatever order their children were stored in). At most
    /// [`DESC_VISITS`] nodes are visited, breadth first in label order.
    fn desc(&self, id: u32) -> Vec<u64> {
        let mut out = Vec::new();
        let mut queue: std::collections::VecDeque<(u32, u8)> = [(id, 1)].into();
        let mut visits = 0usize;
        let mut kids: Vec<(&Arc<str>, u32)> = Vec::new();
        while let Some((n, d)) = queue.pop_front() {
            if d > DESC_DEPTH || visits >= DESC_VISITS {
                continue;
            }
            visits += 1;
            let Some(node) = self.node(n) else { continue };
            kids.clear();
            kids.extend(node.children.iter().map(|(k, &c)| (k, c)));
            kids.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for &(k, c) in &kids {
                let flags = self.node(c).map_or(0, |c| c.flags);
                // A format name below (`/verify/check/json`) selects a representation of
                // whatever precedes it: operations share it as values do, so it says
                // nothing about the siblings.
                if structural_label(k, flags) && !evidence::is_format_word(k) {
                    out.push(label_hash(d, k));
                }
                queue.push_back((c, d + 1));
            }
            if let Some(p) = node.param {
                queue.push_back((p, d + 1));
            }
        }
        out.sort_unstable();
        out.dedup();
        out.truncate(MAX_DESC);
        out
    }

    fn context(&mut self, id: u32) -> Context {
        let Some(n) = self.node(id) else {
            return Context::Other;
        };
        if id == ROOT {
            return Context::Top;
        }
        let Some(label) = n.label.clone() else {
            // Right after a representation selector (`/scores/{format}/Games`): the API's
            // operations follow, as after a version (rule `formats` on the position).
            let after_format = self
                .node(n.parent)
                .and_then(|p| p.verdict.as_deref())
                .is_some_and(|v| v.param && v.rule == "formats");
            return if after_format {
                Context::Top
            } else {
                Context::Param
            };
        };
        if n.has(flag::VINT) || is_version_label(&label) || is_top_word(&label) {
            return Context::Top;
        }
        if self.word_of(id) >= evidence::WORD {
            if label.ends_with(['s', 'S']) {
                Context::Plural
            } else {
                Context::Noun
            }
        } else {
            Context::Other
        }
    }

    fn view(&mut self, c: u32) -> ChildView {
        let word = self.word_of(c);
        let desc = self.desc(c);
        let Some(n) = self.node(c) else {
            return ChildView::default();
        };
        let collection = n
            .param
            .and_then(|p| self.node(p))
            .is_some_and(|p| p.param_kind.is_some_and(is_param_like) && 2 * p.hits >= n.hits);
        let resource_name = n.label.as_deref().is_some_and(|l| {
            self.resource_names
                .contains(l.to_ascii_lowercase().as_str())
        });
        let format = n.label.as_deref().is_some_and(evidence::is_format_word);
        let host = n.label.as_deref().is_some_and(super::vocab::is_domain_name);
        let action = n.label.as_deref().is_some_and(super::vocab::is_action);
        // A plural word, or a compound ending with one that reads mostly as words
        // (`vmwareNodePools`, `bare-metal-clusters`).
        let plural = n.label.as_deref().is_some_and(|l| {
            l.len() >= 4
                && l.ends_with(['s', 'S'])
                && (word >= evidence::WORD
                    || (word >= evidence::NONWORD && evidence::name_style(l) != 0))
        });
        let (hits, ends, methods, shape) = (n.hits, n.ends, n.methods, n.shape);
        let required_keys = n.required_keys;
        let base = n.children.iter().any(|(k, &g)| {
            self.node(g)
                .is_some_and(|g| g.has(flag::VERSION) || (g.has(flag::FORCED) && is_top_word(k)))
        });
        let leaf = n.children.is_empty() && n.param.is_none();
        // A plural route word below, itself followed by values: `c` sits between two
        // collections.
        let grand: Vec<u32> = n
            .children
            .values()
            .copied()
            .filter(|&g| {
                self.node(g).is_some_and(|g| {
                    g.param.is_some()
                        && !g.has(flag::FORCED | flag::KNOWN | flag::GLUE)
                        && g.label.as_deref().is_some_and(|l| l.ends_with(['s', 'S']))
                })
            })
            .collect();
        let nested = grand.into_iter().any(|g| self.word_of(g) >= evidence::WORD);
        let label = self.node(c).and_then(|n| n.label.as_deref());
        let style = label.map_or(0, evidence::name_style);
        let phrase = label.is_some_and(evidence::is_phrase);
        let dotted = label.is_some_and(|l| evidence::is_dotted_method(l, is_file_name(l)));
        ChildView {
            style,
            phrase,
            dotted,
            word,
            hits,
            ends,
            desc,
            methods,
            collection,
            shape,
            leaf,
            resource_name,
            format,
            nested,
            host,
            action,
            plural,
            required_keys,
            base,
        }
    }

    /// Weighs the position below `id` (see [`evidence`]) and collapses it when its literal
    /// siblings are values.
    fn evaluate(&mut self, id: u32) {
        self.stats.evaluations += 1;
        if let Some(n) = self.node_mut(id) {
            n.dirty = false;
        }
        self.constant_rule(id);
        self.typed_alike(id);
        let Some(node) = self.node(id) else { return };
        let mut kids: Vec<(Arc<str>, u32)> =
            node.children.iter().map(|(k, c)| (k.clone(), *c)).collect();
        kids.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let collapsed = node.collapsed.is_some();
        let mut cands: Vec<u32> = Vec::new();
        let mut vints: Vec<u32> = Vec::new();
        for (_, c) in &kids {
            let Some(cn) = self.node(*c) else { continue };
            if cn.has(flag::FORCED | flag::GLUE | flag::CONSTANT | flag::KEPT) {
                continue;
            }
            if cn.has(flag::VINT) {
                vints.push(*c);
                continue;
            }
            // Followed by a version: an API group or product name.
            if cn.has(flag::GROUP) {
                continue;
            }
            cands.push(*c);
        }
        if vints.len() >= VERSION_INTS {
            if let Some(n) = self.node_mut(id) {
                n.flags |= flag::INTS;
            }
            self.merge_children(id, &vints, Origin::Versions);
        }
        self.versions_alike(id);
        if collapsed {
            let origin = self
                .node(id)
                .and_then(|n| n.collapsed)
                .unwrap_or(Origin::Evidence);
            self.merge_children(id, &cands, origin);
            return;
        }
        // Literal siblings built like the typed parameter beside them are its values
        // (`/subscriptions/subid/...` next to `/subscriptions/{uuid}/...`).
        let typed = node_param_typed(self, id);
        if let Some((p, p_hits)) = typed {
            let pd = self.desc(p);
            if pd.len() >= 2 {
                let mut alike = Vec::new();
                for &c in &cands {
                    let d = self.desc(c);
                    let hits = self.node(c).map_or(0, |n| n.hits);
                    let inside = d.iter().filter(|x| pd.binary_search(x).is_ok()).count();
                    if d.len() >= 2 && inside * 5 >= d.len() * 4 && hits * 4 <= p_hits {
                        alike.push(c);
                    }
                }
                if !alike.is_empty() {
                    cands.retain(|c| !alike.contains(c));
                    self.merge_children(id, &alike, Origin::Alike);
                }
            }
        }
        self.learn_analogy(id);
        if cands.is_empty() {
            return;
        }
        let ctx = self.context(id);
        // Evidence from the same word elsewhere, not from this position's own parameter
        // (`/gists/public` stays literal beside `/gists/{id}`).
        let own_param = self.node(id).and_then(|n| n.param).is_some();
        let analogous = !own_param
            && (self
                .sub_collection_word(id)
                .is_some_and(|w| self.analogies.contains(&w))
                || self.continues_like_collection(id, &cands));
        let mut all = Vec::with_capacity(cands.len());
        let mut core = Vec::with_capacity(cands.len());
        for &c in &cands {
            let v = self.view(c);
            if !self.node(c).is_some_and(|n| n.has(flag::KNOWN)) {
                core.push(v.clone());
            }
            all.push(v);
        }
        let verdict = evidence::decide(ctx, &core, &all, analogous);
        // Words that stay literal at a top level are this API's resource names (values
        // there, `/apis/{owner}`, are not).
        if ctx == Context::Top && !verdict.param {
            for (&c, v) in cands.iter().zip(&all) {
                if self.resource_names.len() >= MAX_ANALOGIES || v.word < evidence::WORD {
                    continue;
                }
                if let Some(l) = self.node(c).and_then(|n| n.label.clone()) {
                    self.resource_names
                        .insert(Arc::from(l.to_ascii_lowercase().as_str()));
                }
            }
        }
        let was_param = self
            .node(id)
            .and_then(|n| n.verdict.as_deref())
            .is_some_and(|v| v.param);
        if let Some(n) = self.node_mut(id) {
            n.verdict = Some(Box::new(verdict));
        }
        if verdict.param && !was_param {
            // Siblings whose sub-paths share nothing with the values' stay literal
            // (`/v1/projects/{p}/zones` beside `/v1/{name}/clusters`).
            let mut victims = Vec::with_capacity(cands.len());
            let descs: Vec<&[u64]> = all.iter().map(|v| v.desc.as_slice()).collect();
            // The values already merged into the parameter count too: a sibling continuing
            // as they do is one more value, however unlike the other literals it is. Not at
            // a top level, where resource words and the values of a `{name}` continue alike
            // (`/v1/groups:search` beside `/v1/{name}:search`).
            let param_desc = self
                .node(id)
                .and_then(|n| n.param)
                .filter(|_| ctx != Context::Top)
                .map(|p| self.desc(p))
                .unwrap_or_default();
            // Values are requested alike: where the values are only ever passed through
            // (`PUT /bets/{id}/cashin`), a word requested itself (`GET /bets/freebets`)
            // names a resource.
            let (mut value_methods, mut values, mut value_hits) = (0u8, 0usize, 0u64);
            for v in all.iter().filter(|v| v.word < evidence::NONWORD) {
                value_methods |= v.methods;
                values += 1;
                value_hits += v.hits;
            }
            // Only where names and ids are most siblings (words are the exception), and a
            // typed parameter beside them holds values too.
            let mostly_values = values * 2 >= all.len();
            if let Some(p) = self
                .node(id)
                .and_then(|n| n.param)
                .and_then(|p| self.node(p))
            {
                value_methods |= p.methods;
                values += 1;
                value_hits += p.hits;
            }
            let pass_through =
                mostly_values && values >= 3 && value_hits >= 10 && value_methods == 0;
            // Values that are all host names (`/domains/example.com`) leave the words beside
            // them (`/domains/purchase`, `/domains/agreements`) literal.
            // A few words beside many host names: as many words as host names are values of
            // their own, not routes.
            let hosts = all.iter().filter(|v| v.host).count();
            let host_words = all
                .iter()
                .filter(|v| !v.host && v.word >= evidence::WORD)
                .count();
            let host_values =
                hosts >= 2 && hosts * 5 >= values * 4 && host_words * HOST_WORDS_RATIO <= hosts;
            // Values that are only ever requested themselves, never continued (`PUT
            // /v1/app/{key}`, names or siblings seen once or twice), leave a busy word beside
            // them that is never requested itself but leads to sub-paths of its own
            // (`/v1/app/entity/...`) literal: a route prefix, not one more value. Not at a
            // top level, where busy values lead to whole sub-APIs (`/v1/{name}/...`).
            let valueish = |v: &ChildView| v.word < evidence::NONWORD || v.hits <= LEAF_VALUE_HITS;
            let continuing = all.iter().filter(|v| !v.leaf).count();
            let leaf_values = ctx != Context::Top
                && all.iter().filter(|v| valueish(v)).count() >= LEAF_VALUES_MIN
                && all.iter().filter(|v| valueish(v)).all(|v| v.leaf);
            // First-level labels of many siblings, known route words included (`assets` of
            // `/mediaServices/{account}/assets/{asset}` is one, and says nothing in the
            // sketches): a sibling continuing with a label that half of them continue with
            // is not unlike the values, however little else its sub-paths share. Among a
            // few siblings such a label is an operation of several routes
            // (`/tweets/search/stream` beside `/tweets/sample/stream`).
            let many = cands.len() >= FIRST_LABEL_SIBLINGS_MIN;
            let mut first: HashMap<Arc<str>, u32> = HashMap::new();
            for &c in &cands {
                if let Some(n) = self.node(c) {
                    for k in n.children.keys() {
                        *first.entry(k.clone()).or_insert(0) += 1;
                    }
                }
            }
            for (i, &c) in cands.iter().enumerate() {
                let v = &all[i];
                let by_method =
                    pass_through && v.word >= evidence::WORD && v.hits >= 5 && v.methods != 0;
                let prefix = leaf_values
                    && !valueish(v)
                    && v.word >= evidence::WORD
                    && !v.desc.is_empty()
                    && v.ends == 0
                    && v.hits >= ROUTE_PREFIX_HITS;
                // An action only ever POSTed to, beside values that are read, changed or
                // deleted (`POST /containers/create`, `POST /containers/prune` beside `GET
                // /containers/{id}`, `DELETE /containers/{id}`): an operation on the
                // collection, not one more value.
                let operation = v.action
                    && v.methods == method_bits::POST
                    && v.ends >= ACTION_ENDS
                    && value_methods & !method_bits::POST != 0;
                if by_method
                    || prefix
                    || operation
                    || (host_values && !v.host && v.word >= evidence::WORD)
                {
                    if let Some(n) = self.node_mut(c) {
                        n.flags |= flag::KEPT;
                    }
                    continue;
                }
                // One or two requests show one path, not a sub-tree of routes: a word seen
                // that seldom continues with values, and is one more value itself
                // (`/stats/analytics/AB12` beside `/stats/{name}`) — unless nothing beside it
                // continues: then it is a directory among files (`/assets/fonts/inter.woff2`
                // beside `/assets/app.js`).
                if !v.desc.is_empty()
                    && v.word >= evidence::WORD
                    && (v.hits > LEAF_VALUE_HITS || (continuing <= 1 && param_desc.is_empty()))
                {
                    let shared = v
                        .desc
                        .iter()
                        .filter(|x| {
                            param_desc.binary_search(x).is_ok()
                                || descs
                                    .iter()
                                    .enumerate()
                                    .any(|(j, d)| j != i && d.binary_search(x).is_ok())
                        })
                        .count();
                    let continues_alike = many
                        && self.node(c).is_some_and(|n| {
                            n.children.keys().any(|k| {
                                first.get(k).is_some_and(|&m| m as usize * 2 >= cands.len())
                            })
                        });
                    if shared == 0 && !continues_alike {
                        if let Some(n) = self.node_mut(c) {
                            n.flags |= flag::KEPT;
                        }
                        continue;
                    }
                }
                victims.push(c);
            }
            self.stats.promotions += 1;
            if let Some(n) = self.node_mut(id) {
                n.collapsed = Some(Origin::Evidence);
            }
            let files = victims
                .iter()
                .filter(|c| {
                    self.node(**c)
                        .and_then(|n| n.label.as_deref())
                        .is_some_and(is_file_name)
                })
                .count();
            self.merge_children(id, &victims, Origin::Evidence);
            if files * 2 >= victims.len().max(1) {
                self.fold_suffixes(id);
            }
            self.stats.generation += 1;
            self.learn_analogy(id);
        }
    }

    /// Version labels beside a parameter that holds many values, continuing as its values do
    /// (`/api/v1.15.5/sites` and `/api/v3.8.12/sites` beside `/api/vdevelop/sites`,
    /// `/api/vfix-rate/sites`, collapsed): the API puts its version in the path as a value
    /// (`/api/v{version}/sites`), however version-like some values look. At least two of
    /// them, so that one API version beside a parameter stays literal; most of the first-level
    /// labels of each found below the parameter. (How often each was seen says nothing: a
    /// collapsed position is seldom weighed again, and early on a version may lead.)
    fn versions_alike(&mut self, id: u32) {
        let Some(node) = self.node(id) else { return };
        let Some(p) = node.param else { return };
        let known = node.has(flag::VERSIONS);
        let mut versions: Vec<(Arc<str>, u32)> = node
            .children
            .iter()
            .filter(|(_, c)| self.node(**c).is_some_and(|c| c.has(flag::VERSION)))
            .map(|(k, c)| (k.clone(), *c))
            .collect();
        if versions.len() < if known { 1 } else { 2 } {
            return;
        }
        versions.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let collapsed = node.collapsed.is_some();
        let Some(pn) = self.node(p) else { return };
        if !pn.many_values && !collapsed {
            return;
        }
        let mut alike = Vec::new();
        for (_, c) in versions {
            // First-level labels, looked up in the parameter's children (a sketch of the
            // parameter's large sub-tree may have dropped them).
            let Some(cn) = self.node(c) else { continue };
            let inside = cn
                .children
                .keys()
                .filter(|k| pn.children.contains_key(*k))
                .count();
            let n = cn.children.len();
            if n >= 2 && inside * 5 >= n * 4 {
                alike.push(c);
            }
        }
        if alike.len() < if known { 1 } else { 2 } {
            return;
        }
        if let Some(n) = self.node_mut(id) {
            n.flags |= flag::VERSIONS;
        }
        self.merge_children(id, &alike, Origin::Alike);
    }

    /// The label of `id` (lower case) when it is a sub-collection word: a literal right
    /// after a parameter (`secrets` in `/namespaces/{ns}/secrets`).
    fn sub_collection_word(&self, id: u32) -> Option<Arc<str>> {
        let n = self.node(id)?;
        let label = n.label.as_deref()?;
        let parent = self.node(n.parent)?;
        (n.parent != id && parent.label.is_none() && parent.param_name.is_some())
            .then(|| Arc::from(label.to_ascii_lowercase().as_str()))
    }

    /// The label of `id` (lower case) when it is a plural word (`namespaces`, `apiservices`):
    /// the name of a collection, wherever it sits.
    fn collection_word(&mut self, id: u32) -> Option<Arc<str>> {
        let label = self.node(id)?.label.clone()?;
        (label.len() >= 4 && label.ends_with(['s', 'S']) && self.word_of(id) >= evidence::WORD)
            .then(|| Arc::from(label.to_ascii_lowercase().as_str()))
    }

    /// The siblings `cands` below `id` continue as the values of the same collection word do
    /// elsewhere in this API: `id` is a plural word whose siblings collapsed somewhere
    /// (`/api/v1/namespaces/{ns}`), and each sibling has sub-paths, most of whose first
    /// labels are found below that parameter (`/watch/namespaces/flux-system/pods`). A word
    /// that leads nowhere or elsewhere (`/addons/supported-versions`) is not such a value.
    fn continues_like_collection(&mut self, id: u32, cands: &[u32]) -> bool {
        let Some(word) = self.collection_word(id) else {
            return false;
        };
        let Some(labels) = self.collections.get(&word) else {
            return false;
        };
        !cands.is_empty()
            && cands.iter().all(|&c| {
                let Some(n) = self.node(c) else { return false };
                let total = n.children.len();
                let inside = n
                    .children
                    .keys()
                    .filter(|k| labels.iter().any(|l| l.eq_ignore_ascii_case(k)))
                    .count();
                total >= 1 && inside * 5 >= total * 4
            })
    }

    /// Remembers `id`'s word when it is a sub-collection followed by a parameter (typed with
    /// several values, or collapsed on evidence), or a collection word whose siblings below
    /// collapsed on evidence.
    fn learn_analogy(&mut self, id: u32) {
        if self
            .node(id)
            .is_some_and(|n| n.collapsed == Some(Origin::Evidence))
            && let Some(word) = self.collection_word(id)
            && (self.collections.len() < MAX_ANALOGIES || self.collections.contains_key(&word))
        {
            let mut labels: Vec<Arc<str>> = self
                .node(id)
                .and_then(|n| n.param)
                .and_then(|p| self.node(p))
                .map(|p| {
                    p.children
                        .keys()
                        .filter(|k| !k.starts_with(['.', ':', '(']))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if let Some(old) = self.collections.get(&word) {
                labels.extend(old.iter().cloned());
            }
            labels.sort_unstable();
            labels.dedup();
            labels.truncate(COLLECTION_LABELS);
            if !labels.is_empty() {
                self.collections.insert(word, labels.into_boxed_slice());
            }
        }
        let Some(word) = self.sub_collection_word(id) else {
            return;
        };
        let Some(n) = self.node(id) else { return };
        let holds_values = n.collapsed == Some(Origin::Evidence)
            || n.param
                .and_then(|p| self.node(p))
                .is_some_and(|p| p.param_kind.is_some_and(is_param_like) && p.many_values);
        if holds_values && self.analogies.len() < MAX_ANALOGIES {
            self.analogies.insert(word);
        }
    }

    /// A typed parameter that saw only one value over a large volume, with a subtree of
    /// routes below it, is a literal (a token in a base path).
    fn constant_rule(&mut self, id: u32) {
        let Some(p) = self.node(id).and_then(|n| n.param) else {
            return;
        };
        let Some(pn) = self.node(p) else { return };
        if pn.many_values
            || pn.hits < CONSTANT_HITS
            || pn.children.len() < CONSTANT_CHILDREN
            || !pn.param_kind.is_some_and(is_param_like)
        {
            return;
        }
        let Some(value) = pn.first_value.as_deref().map(literal_key) else {
            return;
        };
        if self
            .node(id)
            .is_some_and(|n| n.children.contains_key(value.as_str()))
        {
            return;
        }
        let label: Arc<str> = Arc::from(value.as_str());
        if let Some(pn) = self.node_mut(p) {
            pn.label = Some(label.clone());
            pn.param_name = None;
            pn.param_kind = None;
            pn.flags |= flag::CONSTANT;
            pn.word = f32::NAN;
        }
        if let Some(n) = self.node_mut(id) {
            n.param = None;
            n.children.insert(label, p);
            n.flags |= flag::HOLDS_CONSTANT;
        }
        self.stats.constants += 1;
        self.stats.generation += 1;
    }

    /// Typed values kept literal beside a typed parameter of the same kind that holds many
    /// values, continuing as its values do, are values after all: a small integer first
    /// taken for a version (`/webhooks/v3/72/settings` beside `/webhooks/v3/{id}/settings`,
    /// ids 100 and up) or an id once seen alone over a large volume (rule `constant`:
    /// `/hooks/8/pings` beside `/hooks/{id}/pings`). An id of two digits is an id of three.
    /// Most of the first-level labels of each must be found below the parameter, so a
    /// version or a constant leading to routes of its own stays literal.
    fn typed_alike(&mut self, id: u32) {
        let Some(node) = self.node(id) else { return };
        let Some(p) = node.param else { return };
        let Some(pn) = self.node(p) else { return };
        let Some(kind) = pn.param_kind.filter(|k| is_param_like(*k)) else {
            return;
        };
        if !pn.many_values {
            return;
        }
        let mut alike: Vec<(Arc<str>, u32, bool)> = Vec::new();
        for (k, &c) in &node.children {
            let Some(cn) = self.node(c) else { continue };
            let vint = cn.has(flag::VINT);
            if !vint && !cn.has(flag::CONSTANT) {
                continue;
            }
            let same_kind = if vint {
                kind == SegmentKind::Integer
            } else {
                super::segments::classify(k) == kind
            };
            if !same_kind {
                continue;
            }
            let n = cn.children.len() + usize::from(cn.param.is_some());
            let inside = cn
                .children
                .keys()
                .filter(|l| pn.children.contains_key(*l))
                .count()
                + usize::from(cn.param.is_some() && pn.param.is_some());
            if n >= 1 && inside * 5 >= n * 4 {
                alike.push((k.clone(), c, vint));
            }
        }
        if alike.is_empty() {
            return;
        }
        alike.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let vints = alike.iter().any(|a| a.2);
        if vints && let Some(n) = self.node_mut(id) {
            n.flags |= flag::INTS;
        }
        let victims: Vec<u32> = alike.iter().map(|a| a.1).collect();
        self.merge_children(id, &victims, Origin::Typed);
    }

    /// The parameter below `id` holds file names: its format suffixes (`.json` of
    /// `package.json`) are part of the values.
    fn fold_suffixes(&mut self, id: u32) {
        let Some(p) = self.node(id).and_then(|n| n.param) else {
            return;
        };
        let glued: Vec<u32> = self
            .node(p)
            .map(|n| {
                n.children
                    .iter()
                    .filter(|(k, c)| {
                        k.starts_with('.') && self.node(**c).is_some_and(|c| c.has(flag::GLUE))
                    })
                    .map(|(_, c)| *c)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(n) = self.node_mut(p) {
            n.flags |= flag::FILES;
            for g in &glued {
                n.children.retain(|_, c| c != g);
            }
        }
        for g in glued {
            let hits = self.node(g).map_or(0, |n| n.hits);
            self.merge_into(p, g);
            // The suffix's requests were counted at the parameter already.
            if let Some(n) = self.node_mut(p) {
                n.hits = n.hits.saturating_sub(hits);
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Collapse and merge.

    /// Makes `id` map every mergeable literal to its parameter child, merging all its
    /// mergeable literal children (the caps' last resort).
    fn collapse_all(&mut self, id: u32, origin: Origin) {
        let Some(node) = self.node(id) else { return };
        if node.collapsed.is_some() {
            return;
        }
        let mut kids: Vec<(&Arc<str>, u32)> = node.children.iter().map(|(k, &c)| (k, c)).collect();
        kids.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let victims: Vec<u32> = kids
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| {
                self.node(*c)
                    .is_some_and(|n| !n.has(flag::FORCED | flag::GLUE))
            })
            .collect();
        if let Some(n) = self.node_mut(id) {
            n.collapsed = Some(origin);
        }
        self.merge_children(id, &victims, origin);
        self.stats.generation += 1;
    }

    /// Merges the literal children `victims` of `id` (and their subtrees) into its
    /// parameter child. Never allocates: without a parameter child, the most seen victim is
    /// converted into it.
    fn merge_children(&mut self, id: u32, victims: &[u32], origin: Origin) {
        if victims.is_empty() {
            return;
        }
        let mut movers: Vec<(Arc<str>, u32, u64)> = victims
            .iter()
            .filter_map(|&c| {
                let n = self.node(c)?;
                Some((n.label.clone()?, c, n.hits))
            })
            .collect();
        // Deterministic order: most-seen first (it becomes the parameter if none exists).
        movers.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let parent_label = self.node(id).and_then(|n| n.label.clone());
        let mut param = self.node(id).and_then(|n| n.param);
        let remember = origin == Origin::Alike;
        if let Some(node) = self.node_mut(id) {
            for (k, _, _) in &movers {
                node.children.remove(k);
                if remember {
                    let len = node.aliases.as_deref().map_or(0, <[_]>::len);
                    if len < MAX_ALIASES {
                        let mut v: Vec<Arc<str>> =
                            node.aliases.take().map(Vec::from).unwrap_or_default();
                        v.push(k.clone());
                        node.aliases = Some(v.into_boxed_slice());
                    } else if node.collapsed.is_none() {
                        // That many: the literals here are values.
                        node.collapsed = Some(Origin::Alike);
                    }
                }
            }
            node.untyped = node.untyped.saturating_sub(movers.len() as u32);
        }
        for (_, c, _) in movers {
            match param {
                Some(p) => self.merge_into(p, c),
                None => {
                    self.adopt_as_param(id, c, parent_label.as_deref(), origin);
                    param = Some(c);
                }
            }
        }
        if let Some(p) = param {
            self.touch(p);
            self.maybe_fix(p);
        }
        self.touch(id);
        self.stats.generation += 1;
    }

    /// Turns literal node `c` into the parameter child of `parent`.
    fn adopt_as_param(&mut self, parent: u32, c: u32, parent_label: Option<&str>, origin: Origin) {
        let kind = match origin {
            Origin::Typed | Origin::Alike => SegmentKind::MixedAlnum,
            Origin::Versions => SegmentKind::Integer,
            _ => SegmentKind::Literal,
        };
        let name: Arc<str> = Arc::from(param_name(parent_label, kind));
        let mut grandchild = None;
        if let Some(n) = self.node_mut(c) {
            n.lead = n.label.as_deref().map(|l| Box::new(LeadPrefix::of(l)));
            n.label = None;
            n.flags = 0;
            n.param_name = Some(name);
            n.param_kind = Some(SegmentKind::Literal);
            n.word = f32::NAN;
            n.many_values = true;
            grandchild = n.param;
        }
        // `c`'s own parameter child was named after `c`'s literal, which is gone.
        if let Some(g) = grandchild.and_then(|g| self.node_mut(g)) {
            let kind = g.param_kind.unwrap_or(SegmentKind::Literal);
            g.param_name = Some(Arc::from(param_name(None, kind)));
        }
        if let Some(p) = self.node_mut(parent) {
            p.param = Some(c);
        }
        self.refresh_lead(c);
    }

    /// Keeps the leading letters every value of parameter `p` shares in its name, and so in
    /// the template (`/api/v{version}/sites` for `v1.15.5`, `v3.8.12`, `vdevelop`, ...), when
    /// [`LeadPrefix::kept`] says so: named `version` after a `v`, as a typed version is.
    /// Requests match the parameter whatever they start with; one value without the prefix
    /// drops it from the name (the endpoint stays the same node, renamed once).
    fn refresh_lead(&mut self, p: u32) {
        let Some(n) = self.node(p) else { return };
        let Some(name) = n.param_name.as_deref() else {
            return;
        };
        let bare = bare_name(name);
        let want = match n.lead.as_deref().and_then(LeadPrefix::kept) {
            Some(pre) => {
                let bare = if pre.eq_ignore_ascii_case("v") {
                    "version"
                } else {
                    bare
                };
                format!("{pre}{{{bare}")
            }
            None => bare.to_string(),
        };
        if want != name {
            if let Some(n) = self.node_mut(p) {
                n.param_name = Some(Arc::from(want));
            }
            self.stats.generation += 1;
        }
    }

    /// Merges the subtree at `src` into `dst` and frees `src`.
    fn merge_into(&mut self, dst: u32, src: u32) {
        if dst == src || self.node(dst).is_none() {
            return;
        }
        let Some(s) = self.release(src) else {
            return;
        };
        self.stats.merged_nodes += 1;
        let dst_label = self.node(dst).and_then(|n| n.label.clone());
        if let Some(d) = self.node_mut(dst) {
            d.hits += s.hits;
            d.ends += s.ends;
            d.rest_ends = d.rest_ends.saturating_add(s.rest_ends);
            d.methods |= s.methods;
            if d.shape.is_none() {
                d.shape = s.shape;
            }
            d.required_keys = match (d.required_keys, s.required_keys) {
                (Some(a), Some(b)) => Some(a & b),
                (a, b) => a.or(b),
            };
            if d.label.is_none() {
                d.many_values = true;
                d.first_value = None;
                let src = match s.label.as_deref() {
                    Some(l) => Some(LeadPrefix::of(l)),
                    None => s.lead.as_deref().cloned(),
                };
                if let Some(l) = src {
                    join_lead(&mut d.lead, l);
                }
            }
        }
        if self.node(dst).is_some_and(|d| d.label.is_none()) {
            self.refresh_lead(dst);
        }
        if let Some(sp) = s.param {
            match self.node(dst).and_then(|n| n.param) {
                Some(dp) => self.merge_into(dp, sp),
                None => {
                    // Re-home the parameter child and rename it after its new parent.
                    let kind = self
                        .node(sp)
                        .and_then(|n| n.param_kind)
                        .unwrap_or(SegmentKind::Literal);
                    let name: Arc<str> = Arc::from(param_name(dst_label.as_deref(), kind));
                    if let Some(n) = self.node_mut(sp) {
                        n.param_name = Some(name);
                        n.parent = dst;
                    }
                    if let Some(d) = self.node_mut(dst) {
                        d.param = Some(sp);
                    }
                }
            }
        }
        let mut moved: Vec<(Arc<str>, u32)> = s.children.into_iter().collect();
        moved.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (key, sc) in moved {
            let Some(sc_flags) = self.node(sc).map(|n| n.flags) else {
                continue;
            };
            let Some(d) = self.node(dst) else {
                return;
            };
            let mergeable = sc_flags & (flag::FORCED | flag::GLUE) == 0;
            let (d_collapsed, d_param) = (d.collapsed, d.param);
            let existing = d.children.get(&key).copied();
            if d_collapsed.is_some() && mergeable && existing.is_none() {
                match d_param {
                    Some(dp) => self.merge_into(dp, sc),
                    None => {
                        if let Some(n) = self.node_mut(sc) {
                            n.parent = dst;
                        }
                        let origin = d_collapsed.unwrap_or(Origin::Evidence);
                        self.adopt_as_param(dst, sc, dst_label.as_deref(), origin);
                    }
                }
            } else if let Some(dc) = existing {
                self.merge_into(dc, sc);
            } else {
                if let Some(n) = self.node_mut(sc) {
                    n.parent = dst;
                }
                let version = sc_flags & flag::VERSION != 0;
                if let Some(d) = self.node_mut(dst) {
                    if sc_flags & flag::GLUE != 0 && key.starts_with('.') {
                        d.formats = d.formats.saturating_add(1);
                    }
                    d.children.insert(key, sc);
                    if mergeable {
                        d.untyped += 1;
                    }
                    if version {
                        d.flags |= flag::GROUP;
                    }
                }
            }
        }
        if let Some(origin) = s.collapsed
            && self.node(dst).is_some_and(|n| n.collapsed.is_none())
        {
            if let Some(v) = s.verdict
                && let Some(d) = self.node_mut(dst)
            {
                d.verdict = Some(v);
            }
            self.collapse_all(dst, origin);
        }
        self.touch(dst);
        self.maybe_fix(dst);
    }

    /// Applies the child cap to `id` after a merge.
    fn maybe_fix(&mut self, id: u32) {
        let Some(n) = self.node(id) else {
            return;
        };
        if n.collapsed.is_none() && n.children.len() > self.cfg.max_children {
            self.stats.child_overflows += 1;
            self.collapse_all(id, Origin::Overflow);
        }
    }

    // -----------------------------------------------------------------------------------
    // Seeds.

    /// Teaches the learner a template learned before (from the store): `{name}` segments
    /// become parameter positions, so the same traffic gets the same template after a
    /// restart. `rules` are the stored per-segment rules (`typed:integer/structure/...`):
    /// a parameter that was decided on evidence makes its position collapse again; a typed
    /// one only creates the parameter. Unlike a pin, a seed is learning: later evidence can
    /// still generalise further.
    pub fn seed(&mut self, template: &str, rules: &str) {
        let Ok(segs) = self.stored_segments(template) else {
            return;
        };
        let rules: Vec<&str> = rules.split('/').collect();
        let mut cur = ROOT;
        for (i, seg) in segs.iter().enumerate() {
            let rule = rules.get(i).copied().unwrap_or("");
            let next = match seg {
                PinSeg::Param(_) => {
                    let typed = rule.starts_with("typed:") || rule.is_empty();
                    let kind = if typed {
                        SegmentKind::MixedAlnum
                    } else {
                        SegmentKind::Literal
                    };
                    if !typed {
                        let already = self.node(cur).is_some_and(|n| n.collapsed.is_some());
                        if !already {
                            if let Some(n) = self.node_mut(cur) {
                                n.collapsed = Some(Origin::Seeded);
                            }
                            let victims: Vec<u32> = self
                                .node(cur)
                                .map(|n| {
                                    n.children
                                        .values()
                                        .copied()
                                        .filter(|c| {
                                            self.node(*c)
                                                .is_some_and(|c| !c.has(flag::FORCED | flag::GLUE))
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            self.merge_children(cur, &victims, Origin::Seeded);
                            self.stats.generation += 1;
                        }
                    }
                    let fresh = self.node(cur).is_some_and(|n| n.param.is_none());
                    let p = self.ensure_param(cur, kind);
                    if let (true, Some(p), PinSeg::Param(name)) = (fresh, p, seg)
                        && let Some(n) = self.node_mut(p)
                    {
                        n.param_name = Some(Arc::from(name.as_str()));
                        if let Some((pre, _)) = name.rsplit_once('{') {
                            n.lead = Some(Box::new(LeadPrefix {
                                prefix: Box::from(pre),
                                values: LEAD_VALUES,
                                digits: LEAD_DIGITS,
                            }));
                            // `v{version}`: version labels here are values of it.
                            if pre.eq_ignore_ascii_case("v")
                                && let Some(c) = self.node_mut(cur)
                            {
                                c.flags |= flag::VERSIONS;
                            }
                        }
                    }
                    p
                }
                PinSeg::Lit(key) | PinSeg::Glue(key) => {
                    let existing = self
                        .node(cur)
                        .and_then(|n| n.children.get(key.as_str()).copied());
                    match existing {
                        Some(c) => Some(c),
                        None => {
                            let collapsed = self.node(cur).and_then(|n| n.collapsed);
                            let glue = matches!(seg, PinSeg::Glue(_));
                            if collapsed.is_some() && !glue && !is_version_label(key) {
                                self.node(cur).and_then(|n| n.param)
                            } else {
                                let decoded = percent_decode_bytes(key, false);
                                let decoded = std::str::from_utf8(&decoded).unwrap_or("");
                                let flags = if glue {
                                    flag::GLUE
                                } else if is_version_label(key) {
                                    flag::FORCED | flag::VERSION
                                } else if is_top_word(decoded) {
                                    flag::FORCED
                                } else if is_scaffold(decoded) {
                                    flag::KNOWN
                                } else if is_self_word(decoded) {
                                    flag::SELF | flag::FORCED
                                } else if super::segments::is_known_literal(decoded) {
                                    flag::KNOWN
                                } else {
                                    0
                                };
                                let label: Arc<str> = Arc::from(key.as_str());
                                let c = self.alloc(Node {
                                    label: Some(label.clone()),
                                    flags,
                                    parent: cur,
                                    word: f32::NAN,
                                    ..Node::default()
                                });
                                if let Some(c) = c
                                    && let Some(n) = self.node_mut(cur)
                                {
                                    if flags & flag::GLUE != 0 && label.starts_with('.') {
                                        n.formats = n.formats.saturating_add(1);
                                    }
                                    n.children.insert(label, c);
                                    if flags & (flag::FORCED | flag::GLUE) == 0 {
                                        n.untyped += 1;
                                    }
                                    if flags & flag::VERSION != 0 {
                                        n.flags |= flag::GROUP;
                                    }
                                }
                                c
                            }
                        }
                    }
                }
            };
            match next {
                Some(n) => cur = n,
                None => return,
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Resolve.

    /// Re-templates `path` with the current state, without learning. Callers use this when
    /// flushing buffered observations so that every path gets its final template.
    pub fn resolve(&self, path: &str) -> String {
        self.resolve_match(path).template
    }

    /// Like [`TemplateLearner::resolve`], with the per-segment decisions.
    pub fn resolve_match(&self, path: &str) -> TemplateMatch {
        let split = split_path(path, self.cfg.max_segments);
        if let Some(m) = self.pinned(&split) {
            return m;
        }
        let mut out = Rendered::new();
        let mut cur = Cursor::At(ROOT);
        let mut prev_raw: Option<&str> = None;
        let mut index = 0usize;
        for seg in &split.segments {
            let plan = self.plan(*seg, index, prev_raw);
            cur = match cur {
                Cursor::At(id) => self.step_ro(id, plan, seg.raw, &mut out),
                Cursor::Detached { capped } => {
                    self.step_detached_ro(plan, &mut out, capped);
                    Cursor::Detached { capped }
                }
            };
            if !seg.glue {
                prev_raw = Some(seg.raw);
                index += 1;
            }
        }
        if split.truncated {
            out.push(
                Part::Param(Arc::from("rest")),
                Decision::param("truncated", 1.0),
            );
        }
        out.finish()
    }

    fn walk_ro(&self, split: &SplitPath<'_>) -> Cursor {
        let mut out = Rendered::new();
        let mut cur = Cursor::At(ROOT);
        let mut prev_raw: Option<&str> = None;
        let mut index = 0usize;
        for seg in &split.segments {
            let plan = self.plan(*seg, index, prev_raw);
            cur = match cur {
                Cursor::At(id) => self.step_ro(id, plan, seg.raw, &mut out),
                d => return d,
            };
            if !seg.glue {
                prev_raw = Some(seg.raw);
                index += 1;
            }
        }
        cur
    }

    /// Maps a template stored earlier (`/users/alice/repos`, `/{token}/sendMessage`) to the
    /// current template of the same endpoint, without learning. `example` is a concrete
    /// path of the endpoint when one is known: where the stored template has a parameter
    /// that is now a literal (rule `constant`), the example's value decides. `None` when
    /// the stored template is still current.
    pub fn retemplate(&self, template: &str, example: Option<&str>) -> Option<TemplateMatch> {
        let segs = self.stored_segments(template).ok()?;
        if let Some(ex) = example.filter(|e| !e.contains(['{', '}'])) {
            // The example must be an instance of the stored template.
            let split = split_path(ex, self.cfg.max_segments);
            let fits = split.segments.len() == segs.len()
                && split.segments.iter().zip(&segs).all(|(s, p)| match p {
                    PinSeg::Lit(k) | PinSeg::Glue(k) => literal_key(s.raw) == *k,
                    PinSeg::Param(_) => !s.glue,
                });
            if fits {
                let m = self.resolve_match(ex);
                return (m.template != template).then_some(m);
            }
        }
        let mut out = Rendered::new();
        let mut cur = Cursor::At(ROOT);
        let mut parts_pin: Vec<(String, bool)> = Vec::new();
        for seg in &segs {
            match seg {
                PinSeg::Param(name) => {
                    parts_pin.push((param_segment(name), false));
                    cur = match cur {
                        Cursor::At(id) => {
                            let n = self.node(id);
                            match n.and_then(|n| n.param) {
                                Some(p) => {
                                    let origin =
                                        n.and_then(|n| n.collapsed).unwrap_or(Origin::Typed);
                                    let d = self.param_decision(origin, SegmentKind::Literal, n);
                                    let name = self
                                        .node(p)
                                        .and_then(|pn| pn.param_name.clone())
                                        .unwrap_or_else(|| Arc::from(name.as_str()));
                                    out.push(Part::Param(name), d);
                                    Cursor::At(p)
                                }
                                None => {
                                    out.push(
                                        Part::Param(Arc::from(name.as_str())),
                                        Decision::param("seeded", 0.5),
                                    );
                                    Cursor::Detached { capped: false }
                                }
                            }
                        }
                        Cursor::Detached { capped } => {
                            out.push(
                                Part::Param(Arc::from(name.as_str())),
                                Decision::param("seeded", 0.5),
                            );
                            Cursor::Detached { capped }
                        }
                    };
                }
                PinSeg::Lit(key) | PinSeg::Glue(key) => {
                    let glue = matches!(seg, PinSeg::Glue(_));
                    parts_pin.push((key.clone(), glue));
                    let seg = Seg { raw: key, glue };
                    let plan = match self.plan(seg, 1, None) {
                        // A literal in a stored template is a literal, whatever it looks
                        // like now (it was decided once).
                        Plan::Param { .. } => Plan::Literal {
                            key: key.clone(),
                            flags: 0,
                        },
                        p => p,
                    };
                    cur = match cur {
                        Cursor::At(id) => self.step_ro(id, plan, key, &mut out),
                        Cursor::Detached { capped } => {
                            self.step_detached_ro(plan, &mut out, capped);
                            Cursor::Detached { capped }
                        }
                    };
                }
            }
        }
        // Pins first.
        if self.pin_count > 0 {
            let mut parts = Vec::new();
            let keys: Vec<(String, bool)> = parts_pin;
            if self.match_pin(0, &keys, 0, &mut parts) {
                let m = pinned_match(&parts);
                return (m.template != template).then_some(m);
            }
        }
        let m = out.finish();
        (m.template != template).then_some(m)
    }

    /// Renders a segment with no trie node: below a node that hit the cap, exactly as
    /// `observe` did; below a merely unseen position, literals stay literal.
    fn step_detached_ro(&self, plan: Plan, out: &mut Rendered, capped: bool) {
        match plan {
            Plan::Param { kind, origin } => {
                let name = Self::detached_name(out.last_literal(), kind);
                out.push(Part::Param(name), self.param_decision(origin, kind, None));
            }
            Plan::Literal { key, flags } if flags & (flag::FORCED | flag::GLUE) != 0 => {
                let d = self.literal_decision(None, None, flags);
                if flags & flag::GLUE != 0 {
                    out.push(Part::Glued(key), d);
                } else {
                    out.push(Part::Literal(key), d);
                }
            }
            Plan::Literal { key, flags } => {
                if capped {
                    let name = Self::detached_name(out.last_literal(), SegmentKind::Literal);
                    let d = self.param_decision(Origin::Capped, SegmentKind::Literal, None);
                    out.push(Part::Param(name), d);
                } else {
                    let d = self.literal_decision(None, None, flags);
                    out.push(Part::Literal(key), d);
                }
            }
        }
    }

    fn goto_param_ro(
        &self,
        id: u32,
        kind: SegmentKind,
        origin: Origin,
        out: &mut Rendered,
    ) -> Cursor {
        let decision = self.param_decision(origin, kind, self.node(id));
        let p = self.node(id).and_then(|n| n.param);
        // Without a parameter node the name comes from the previous rendered literal, which
        // is this node's label when attached: the same name `observe` gives.
        let name = p
            .and_then(|p| self.node(p))
            .and_then(|n| n.param_name.clone())
            .unwrap_or_else(|| Self::detached_name(out.last_literal(), kind));
        out.push(Part::Param(name), decision);
        match p {
            Some(p) => Cursor::At(p),
            None => Cursor::Detached {
                capped: self.node(id).is_some_and(|n| n.capped),
            },
        }
    }

    fn step_ro(&self, id: u32, plan: Plan, raw: &str, out: &mut Rendered) -> Cursor {
        let Some(node) = self.node(id) else {
            return Cursor::Detached { capped: true };
        };
        let (key, flags) = match plan {
            Plan::Param { kind, origin } => {
                let key = if node.has(flag::HOLDS_CONSTANT) {
                    literal_key(raw)
                } else {
                    String::new()
                };
                if let Some(&c) = node.children.get(key.as_str())
                    && self.node(c).is_some_and(|c| c.has(flag::CONSTANT))
                {
                    let d = self.literal_decision(Some(node), self.node(c), flag::CONSTANT);
                    out.push(Part::Literal(key), d);
                    return Cursor::At(c);
                }
                return self.goto_param_ro(id, kind, origin, out);
            }
            Plan::Literal { key, flags } => (key, flags),
        };
        if flags & flag::GLUE != 0 && node.has(flag::FILES) && key.starts_with('.') {
            return Cursor::At(id);
        }
        if let Some(&c) = node.children.get(key.as_str()) {
            let d = self.literal_decision(Some(node), self.node(c), flags);
            if flags & flag::GLUE != 0 {
                let (part, d) = glued_part(Some(node), key, d);
                out.push(part, d);
            } else {
                out.push(Part::Literal(key), d);
            }
            return Cursor::At(c);
        }
        let mergeable = flags & (flag::FORCED | flag::GLUE) == 0;
        if flags & flag::VINT != 0 && node.has(flag::INTS) {
            return self.goto_param_ro(id, SegmentKind::Integer, Origin::Versions, out);
        }
        if flags & flag::VERSION != 0 && node.has(flag::VERSIONS) && node.param.is_some() {
            return self.goto_param_ro(id, SegmentKind::Literal, Origin::Alike, out);
        }
        if mergeable
            && node
                .aliases
                .as_deref()
                .is_some_and(|a| a.iter().any(|a| **a == *key))
        {
            return self.goto_param_ro(id, SegmentKind::Literal, Origin::Alike, out);
        }
        if mergeable && let Some(origin) = node.collapsed {
            return self.goto_param_ro(id, SegmentKind::Literal, origin, out);
        }
        if mergeable && node.children.len() >= self.cfg.max_children {
            return self.goto_param_ro(id, SegmentKind::Literal, Origin::Overflow, out);
        }
        let capped = node.capped;
        if mergeable && capped && node.param.is_some() {
            return self.goto_param_ro(id, SegmentKind::Literal, Origin::Capped, out);
        }
        self.step_detached_ro(Plan::Literal { key, flags }, out, capped);
        Cursor::Detached { capped }
    }

    // -----------------------------------------------------------------------------------
    // Enumeration.

    /// Every learned template that some observed path ended at, with how many observations
    /// ended there, sorted by template. At most one entry per trie node (plus one per
    /// `{rest}` tail).
    pub fn templates(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        self.collect(ROOT, &mut parts, &mut out, 0);
        out.sort();
        out
    }

    fn collect(&self, id: u32, parts: &mut Vec<Part>, out: &mut Vec<(String, u64)>, depth: usize) {
        let Some(n) = self.node(id) else {
            return;
        };
        if n.ends > 0 {
            out.push((render(parts), n.ends));
        }
        if n.rest_ends > 0 {
            parts.push(Part::Param(Arc::from("rest")));
            out.push((render(parts), u64::from(n.rest_ends)));
            parts.pop();
        }
        if depth > 2 * self.cfg.max_segments {
            return;
        }
        for (key, &c) in &n.children {
            let glue = self.node(c).is_some_and(|c| c.has(flag::GLUE));
            parts.push(if glue {
                glued_part(Some(n), key.to_string(), Decision::plain("suffix", 1.0)).0
            } else {
                Part::Literal(key.to_string())
            });
            self.collect(c, parts, out, depth + 1);
            parts.pop();
        }
        if let Some(p) = n.param {
            let name = self
                .node(p)
                .and_then(|pn| pn.param_name.clone())
                .unwrap_or_else(|| Arc::from("param"));
            parts.push(Part::Param(name));
            self.collect(p, parts, out, depth + 1);
            parts.pop();
        }
    }
}

impl TemplateLearner {
    /// The trie as indented text, with each position's verdict and each node's flag bits
    /// when it has any (`flags=0x200`: kept literal beside a parameter; see the `flag`
    /// module), for debugging and for `shadowtap template list --explain`; at most
    /// `max_lines` lines.
    pub fn dump(&self, max_lines: usize) -> String {
        let mut out = String::new();
        let mut lines = 0usize;
        let mut stack: Vec<(u32, usize, String)> = vec![(ROOT, 0, "/".to_string())];
        while let Some((id, depth, label)) = stack.pop() {
            if lines >= max_lines {
                out.push_str("...\n");
                break;
            }
            let Some(n) = self.node(id) else { continue };
            let verdict = n
                .verdict
                .as_deref()
                .map(|v| {
                    format!(
                        " [{} {} {:.2}: {}]",
                        if v.param { "param" } else { "literal" },
                        v.rule,
                        v.confidence,
                        v.evidence.describe()
                    )
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "{}{} hits={} ends={}{}{}{}\n",
                "  ".repeat(depth),
                label,
                n.hits,
                n.ends,
                if n.flags != 0 {
                    format!(" flags={:#x}", n.flags)
                } else {
                    String::new()
                },
                if n.collapsed.is_some() {
                    " collapsed"
                } else {
                    ""
                },
                verdict
            ));
            lines += 1;
            let mut kids: Vec<(&Arc<str>, &u32)> = n.children.iter().collect();
            kids.sort();
            if let Some(p) = n.param {
                let name = self
                    .node(p)
                    .and_then(|pn| pn.param_name.clone())
                    .unwrap_or_else(|| Arc::from("param"));
                stack.push((p, depth + 1, param_segment(&name)));
            }
            for (k, c) in kids.into_iter().rev() {
                stack.push((*c, depth + 1, k.to_string()));
            }
        }
        out
    }
}

fn pinned_match(parts: &[Part]) -> TemplateMatch {
    let decisions = parts
        .iter()
        .map(|p| match p {
            Part::Literal(_) => Decision::plain("pinned", 1.0),
            Part::Glued(_) => Decision::plain("suffix", 1.0),
            Part::Param(_) => Decision::param("pinned", 1.0),
        })
        .collect();
    TemplateMatch {
        template: render(parts),
        decisions,
    }
}

enum PinSeg {
    Lit(String),
    Glue(String),
    Param(String),
}

/// A file name: a stem and an extension (`README.md`, `package.json`, `Cargo.toml`).
fn is_file_name(label: &str) -> bool {
    label.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && (1..=5).contains(&ext.len())
            && ext.bytes().all(|c| c.is_ascii_alphanumeric())
            && ext.bytes().any(|c| c.is_ascii_alphabetic())
    })
}

fn is_version_label(label: &str) -> bool {
    classify_at(label, 0, None) == SegmentKind::Version
}

/// The typed parameter child of `id` and its hits, when there is one.
fn node_param_typed(l: &TemplateLearner, id: u32) -> Option<(u32, u64)> {
    let p = l.node(id)?.param?;
    let pn = l.node(p)?;
    (pn.param_kind.is_some_and(is_param_like) && l.node(id)?.collapsed.is_none())
        .then_some((p, pn.hits))
}

#[cfg(test)]
mod tests;
