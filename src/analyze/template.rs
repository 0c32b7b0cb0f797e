//! A bounded path-template learner.
//!
//! [`TemplateLearner`] turns concrete request paths (`/api/v1/users/42/orders/7`) into
//! endpoint templates (`/api/v1/users/{user_id}/orders/{order_id}`). It combines the typed
//! segment classifiers of [`super::segments`] with cardinality learned in a trie:
//!
//! 1. **Pinned** templates ([`TemplateLearner::pin`]) win over everything else.
//! 2. **Typed** segments (integers, UUIDs, dates, hashes, ...) become parameters at once.
//! 3. **Scaffold** words (`api`, `v1`) and **known literals** (`me`, `search`, `latest`)
//!    always stay literal.
//! 4. Other literals are literal until their trie node has too many distinct, rarely seen
//!    siblings: more than [`TemplateConfig::promote_distinct`] distinct values of which at
//!    least [`TemplateConfig::promote_rare_fraction`] were seen at most
//!    [`TemplateConfig::rare_hits`] times, or more than
//!    [`TemplateConfig::promote_distinct_all_rare`] distinct values all seen that rarely.
//!    Then the node **collapses**: its literal children (and their subtrees) are merged
//!    into a single parameter child, and every later literal at that position maps to it.
//!    A handful of frequently seen siblings (`/users`, `/orders`, `/products`) stays literal.
//!
//! **One learner per host.** The method is deliberately not part of the key: `GET` and
//! `DELETE /users/42` are the same resource shape and must share one template; callers key
//! endpoints as (host, method, template). Memory is bounded per learner, so the caller
//! bounds the number of hosts.
//!
//! **Consistency.** [`TemplateLearner::observe`] returns the template as decided *at that
//! moment*: `/users/alice` may come back literal before the sibling count reaches the
//! threshold. Nothing is lost, because a collapse merges the literal's subtree into the
//! parameter; callers that buffer observations call [`TemplateLearner::resolve`] when they
//! flush, which re-templates a path with the final state (and never changes the learner).
//! Right after `observe(p)`, `resolve(p)` returns the same template and decisions; later,
//! it reflects every collapse since (a literal that has since been merged comes back as the
//! parameter). `resolve` does not learn: a literal never seen at its position comes back
//! literal (what `observe` would return), except below a node that hit the node cap, where
//! it comes back as a parameter (rule `capped`), as `observe` rendered it.
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
//! * at most `max_pins` pinned templates.
//!
//! **Normalisation.** The query string and fragment are stripped; an absolute-form target
//! (`http://host/path`) is reduced to its path; empty segments (`//`, trailing `/`) and `.`
//! are dropped and `..` removes the previous segment. Segments are percent-decoded for
//! classification; literals in templates are re-encoded so that only unreserved and
//! sub-delimiter ASCII characters appear raw (`{`, `}`, `%`, spaces and non-ASCII bytes are
//! `%XX`), so a literal can never look like a parameter.
//!
//! Decision rules reported per segment: `pinned`, `typed:<kind>` (kind names from
//! [`SegmentKind::name`]), `cardinality`, `overflow`, `capped`, `oversize`, `truncated`,
//! `literal`, `known_literal`, `scaffold`.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use super::segments::{
    SegmentKind, classify_at, is_known_literal, is_param_like, is_scaffold, param_name,
};
use super::util::percent_decode_bytes;

/// Limits and thresholds of a [`TemplateLearner`].
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
    /// Collapse when more than this many distinct literal siblings exist and enough of them
    /// are rare. Default 20.
    pub promote_distinct: usize,
    /// Fraction of rare siblings needed for the `promote_distinct` rule. Default 0.5.
    pub promote_rare_fraction: f32,
    /// Collapse when more than this many distinct literal siblings exist and all are rare.
    /// Default 10.
    pub promote_distinct_all_rare: usize,
    /// A sibling seen at most this many times is rare. Default 2.
    pub rare_hits: u64,
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
            promote_distinct: 20,
            promote_rare_fraction: 0.5,
            promote_distinct_all_rare: 10,
            rare_hits: 2,
            max_pins: 1024,
        }
    }
}

/// How one template segment was decided.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decision {
    /// `pinned`, `typed:<kind>`, `cardinality`, `overflow`, `capped`, `oversize`,
    /// `truncated`, `literal`, `known_literal` or `scaffold`.
    pub rule: &'static str,
    /// Confidence in the decision, 0.0-1.0.
    pub confidence: f32,
}

/// The template of one path and how each of its segments was decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateMatch {
    /// The template, e.g. `/api/v1/users/{user_id}/orders/{order_id}`; `/` for the root.
    pub template: String,
    /// One decision per template segment, in order.
    pub decisions: Vec<Decision>,
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
    /// Nodes collapsed by the cardinality rule.
    pub promotions: u64,
    /// Nodes merged away by collapses.
    pub merged_nodes: u64,
    /// Paths longer than `max_segments`.
    pub truncated_paths: u64,
    /// Segments longer than `max_segment_len`.
    pub oversize_segments: u64,
    /// Pins rejected (invalid or over `max_pins`).
    pub pins_rejected: u64,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Origin {
    #[default]
    Typed,
    Cardinality,
    Overflow,
    Capped,
    Oversize,
}

#[derive(Debug, Default)]
struct Node {
    /// Literal text (ASCII-safe); `None` for the root and parameter nodes.
    label: Option<Arc<str>>,
    /// A scaffold / known / version literal: exempt from cardinality.
    forced: bool,
    /// Name of a parameter node.
    param_name: Option<Arc<str>>,
    /// Kind a parameter node was created for.
    param_kind: Option<SegmentKind>,
    children: HashMap<Arc<str>, u32>,
    param: Option<u32>,
    /// Set once literals here map to the parameter child.
    collapsed: Option<Origin>,
    collapse_distinct: u32,
    hits: u64,
    ends: u64,
    rest_ends: u64,
    /// Non-forced literal children.
    untyped: u32,
    /// Non-forced literal children seen more than `rare_hits` times.
    frequent: u32,
    /// An allocation below this node was refused at `max_nodes` at least once.
    capped: bool,
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
    Param {
        kind: SegmentKind,
        origin: Origin,
    },
    Literal {
        key: String,
        forced: Option<&'static str>,
    },
}

enum Part {
    Literal(String),
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

/// Joins parts into a template, numbering repeated parameter names (`{id}`, `{id2}`).
fn render(parts: &[Part]) -> String {
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut used: Vec<&str> = Vec::new();
    let mut out = String::new();
    for part in parts {
        out.push('/');
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::Param(name) => {
                let n = used.iter().filter(|u| **u == &**name).count();
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

struct SplitPath<'a> {
    segments: Vec<&'a str>,
    truncated: bool,
}

/// Strips query/fragment and scheme/authority, drops empty and `.` segments, applies `..`,
/// and keeps at most `max` segments.
fn split_path(path: &str, max: usize) -> SplitPath<'_> {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    let mut p = path.get(..end).unwrap_or("");
    let lower_prefix = p.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    if lower_prefix.starts_with("http://") || lower_prefix.starts_with("https://") {
        let after = p.find("://").map_or(0, |i| i + 3);
        let rest = p.get(after..).unwrap_or("");
        p = rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("");
    }
    let mut segments: Vec<&str> = Vec::new();
    let mut truncated = false;
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => {
                if segments.len() >= max {
                    truncated = true;
                    break;
                }
                segments.push(s);
            }
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
        if !cfg.promote_rare_fraction.is_finite() {
            cfg.promote_rare_fraction = 0.5;
        }
        let stats = TemplateStats {
            nodes: 1,
            peak_nodes: 1,
            ..TemplateStats::default()
        };
        TemplateLearner {
            cfg,
            nodes: vec![Some(Node::default())],
            free: Vec::new(),
            pins: vec![PinNode::default()],
            pin_count: 0,
            stats,
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

    fn pin_inner(&mut self, template: &str) -> Result<(), PinError> {
        let split = split_path(template, self.cfg.max_segments);
        if split.truncated {
            return Err(PinError::TooLong);
        }
        enum PinSeg {
            Lit(String),
            Param(String),
        }
        let mut segs = Vec::with_capacity(split.segments.len());
        let mut names: Vec<&str> = Vec::new();
        for s in &split.segments {
            if s.len() > self.cfg.max_segment_len {
                return Err(PinError::TooLong);
            }
            if let Some(inner) = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                let valid = !inner.is_empty()
                    && inner.len() <= 64
                    && inner
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_');
                if !valid {
                    return Err(PinError::InvalidSegment(super::util::sanitize(s, 64)));
                }
                if names.contains(&inner) {
                    return Err(PinError::DuplicateParam(inner.to_string()));
                }
                names.push(inner);
                segs.push(PinSeg::Param(inner.to_string()));
            } else if s.contains(['{', '}']) {
                return Err(PinError::InvalidSegment(super::util::sanitize(s, 64)));
            } else {
                segs.push(PinSeg::Lit(literal_key(s)));
            }
        }
        // Already pinned (same literals, parameters in the same places)?
        let mut walk = Some(0usize);
        for seg in &segs {
            walk = walk.and_then(|w| self.pins.get(w)).and_then(|n| match seg {
                PinSeg::Lit(key) => n.literals.get(key).copied(),
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
                PinSeg::Lit(key) => match node.literals.get(&key) {
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
        if let Some(node) = self.pins.get_mut(cur) {
            if !node.terminal {
                node.terminal = true;
                self.pin_count += 1;
            }
        }
        Ok(())
    }

    /// Depth-first pin match, literals first. Each pin node is visited at most once.
    fn match_pin(&self, node: usize, keys: &[String], depth: usize, out: &mut Vec<Part>) -> bool {
        let Some(pn) = self.pins.get(node) else {
            return false;
        };
        let Some(key) = keys.get(depth) else {
            return pn.terminal;
        };
        if let Some(&n) = pn.literals.get(key) {
            out.push(Part::Literal(key.clone()));
            if self.match_pin(n, keys, depth + 1, out) {
                return true;
            }
            out.pop();
        }
        if let Some((name, n)) = &pn.param {
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
        let keys: Vec<String> = split.segments.iter().map(|s| literal_key(s)).collect();
        let mut parts = Vec::with_capacity(keys.len());
        if !self.match_pin(0, &keys, 0, &mut parts) {
            return None;
        }
        let decisions = vec![
            Decision {
                rule: "pinned",
                confidence: 1.0
            };
            parts.len()
        ];
        Some(TemplateMatch {
            template: render(&parts),
            decisions,
        })
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

    // -----------------------------------------------------------------------------------
    // Planning (shared by observe and resolve).

    fn plan(&self, raw: &str, index: usize, prev_raw: Option<&str>) -> Plan {
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
        let forced = if kind == SegmentKind::Version || is_scaffold(decoded) {
            Some("scaffold")
        } else if is_known_literal(decoded) {
            Some("known_literal")
        } else {
            None
        };
        Plan::Literal { key, forced }
    }

    fn param_decision(&self, origin: Origin, kind: SegmentKind, at: Option<&Node>) -> Decision {
        match origin {
            Origin::Typed => Decision {
                rule: typed_rule(kind),
                confidence: typed_confidence(kind),
            },
            Origin::Cardinality => {
                let distinct = at.map_or(0, |n| n.collapse_distinct) as f32;
                let scale = (2 * self.cfg.promote_distinct.max(1)) as f32;
                Decision {
                    rule: "cardinality",
                    confidence: (0.6 + 0.4 * (distinct / scale).min(1.0)).min(0.99),
                }
            }
            Origin::Overflow => Decision {
                rule: "overflow",
                confidence: 0.9,
            },
            Origin::Capped => Decision {
                rule: "capped",
                confidence: 0.3,
            },
            Origin::Oversize => Decision {
                rule: "oversize",
                confidence: 0.8,
            },
        }
    }

    fn literal_decision(
        &self,
        parent: &Node,
        child: Option<&Node>,
        forced: Option<&'static str>,
    ) -> Decision {
        match forced {
            Some("known_literal") => Decision {
                rule: "known_literal",
                confidence: 0.95,
            },
            Some(rule) => Decision {
                rule,
                confidence: 0.99,
            },
            None => {
                let frequent = child.is_some_and(|c| c.hits > self.cfg.rare_hits);
                let base = if frequent { 0.9 } else { 0.6 };
                let crowd = parent.untyped as f32 / self.cfg.promote_distinct.max(1) as f32;
                Decision {
                    rule: "literal",
                    confidence: (base - 0.3 * crowd.min(1.0)).clamp(0.1, 0.95),
                }
            }
        }
    }

    /// Name for a parameter with no trie node to hold it.
    fn detached_name(prev_literal: Option<&str>, kind: SegmentKind) -> Arc<str> {
        Arc::from(param_name(prev_literal, kind))
    }

    // -----------------------------------------------------------------------------------
    // Observe.

    /// Learns from one request path and returns its template as of now (see the module docs
    /// for how earlier observations are re-mapped).
    pub fn observe(&mut self, path: &str) -> TemplateMatch {
        self.stats.observations += 1;
        let split = split_path(path, self.cfg.max_segments);
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
        for (i, raw) in split.segments.iter().enumerate() {
            let plan = self.plan(raw, i, prev_raw);
            if let Plan::Param {
                origin: Origin::Oversize,
                ..
            } = plan
            {
                self.stats.oversize_segments += 1;
            }
            cur = match cur {
                Some(id) => self.step_mut(id, plan, &mut out),
                None => {
                    self.step_detached(plan, &mut out, true);
                    None
                }
            };
            prev_raw = Some(raw);
        }
        if let Some(node) = cur.and_then(|id| self.node_mut(id)) {
            if split.truncated {
                node.rest_ends += 1;
            } else {
                node.ends += 1;
            }
        }
        if split.truncated {
            out.push(
                Part::Param(Arc::from("rest")),
                Decision {
                    rule: "truncated",
                    confidence: 1.0,
                },
            );
        }
        out.finish()
    }

    /// Renders a segment when there is no trie node (the node cap was hit earlier).
    fn step_detached(&mut self, plan: Plan, out: &mut Rendered, count: bool) {
        match plan {
            Plan::Param { kind, origin } => {
                let name = Self::detached_name(out.last_literal(), kind);
                let d = self.param_decision(origin, kind, None);
                out.push(Part::Param(name), d);
            }
            Plan::Literal {
                key,
                forced: Some(rule),
            } => {
                let d = Decision {
                    rule,
                    confidence: if rule == "known_literal" { 0.95 } else { 0.99 },
                };
                out.push(Part::Literal(key), d);
            }
            Plan::Literal { forced: None, .. } => {
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
            ..Node::default()
        })?;
        if let Some(node) = self.node_mut(id) {
            node.param = Some(p);
        }
        Some(p)
    }

    /// Moves to the parameter child of `id` (creating it if possible) and renders it.
    fn goto_param(
        &mut self,
        id: u32,
        kind: SegmentKind,
        origin: Origin,
        out: &mut Rendered,
    ) -> Option<u32> {
        let decision = self.param_decision(origin, kind, self.node(id));
        match self.ensure_param(id, kind) {
            Some(p) => {
                let name = self.node_mut(p).map(|n| {
                    n.hits += 1;
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

    fn step_mut(&mut self, id: u32, plan: Plan, out: &mut Rendered) -> Option<u32> {
        let (key, forced) = match plan {
            Plan::Param { kind, origin } => return self.goto_param(id, kind, origin, out),
            Plan::Literal { key, forced } => (key, forced),
        };
        let node = self.node(id)?;
        if forced.is_none() {
            if let Some(origin) = node.collapsed {
                return self.goto_param(id, SegmentKind::Literal, origin, out);
            }
        }
        if let Some(&c) = node.children.get(key.as_str()) {
            let rare = self.cfg.rare_hits;
            let before = self.node(c).map_or(0, |n| n.hits);
            if let Some(child) = self.node_mut(c) {
                child.hits += 1;
            }
            if forced.is_none() && before <= rare && before + 1 > rare {
                if let Some(node) = self.node_mut(id) {
                    node.frequent += 1;
                }
            }
            let d = match (self.node(id), self.node(c)) {
                (Some(p), child) => self.literal_decision(p, child, forced),
                (None, _) => Decision {
                    rule: "literal",
                    confidence: 0.5,
                },
            };
            out.push(Part::Literal(key), d);
            return Some(c);
        }
        if node.children.len() >= self.cfg.max_children {
            self.stats.child_overflows += 1;
            self.collapse(id, Origin::Overflow);
            return self.goto_param(id, SegmentKind::Literal, Origin::Overflow, out);
        }
        let label: Arc<str> = Arc::from(key.as_str());
        let created = self.alloc(Node {
            label: Some(label.clone()),
            forced: forced.is_some(),
            hits: 1,
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
            if forced.is_some() {
                self.step_detached(Plan::Literal { key, forced }, out, true);
                return None;
            }
            self.stats.capped_segments += 1;
            let has_literals = self.node(id).is_some_and(|n| n.untyped > 0);
            if has_literals {
                self.stats.cap_collapses += 1;
                self.collapse(id, Origin::Capped);
            }
            let existing = self.node(id).and_then(|n| n.param);
            return match existing {
                Some(_) => self.goto_param(id, SegmentKind::Literal, Origin::Capped, out),
                None => {
                    self.step_detached(Plan::Literal { key, forced }, out, false);
                    None
                }
            };
        };
        let rare = self.cfg.rare_hits;
        if let Some(node) = self.node_mut(id) {
            node.children.insert(label, c);
            if forced.is_none() {
                node.untyped += 1;
                if 1 > rare {
                    node.frequent += 1;
                }
            }
        }
        if forced.is_none() && self.should_promote(id) {
            self.stats.promotions += 1;
            self.collapse(id, Origin::Cardinality);
            // The new child was merged into the parameter, hits included.
            let decision =
                self.param_decision(Origin::Cardinality, SegmentKind::Literal, self.node(id));
            let p = self.node(id).and_then(|n| n.param);
            let name = p
                .and_then(|p| self.node(p))
                .and_then(|n| n.param_name.clone())
                .unwrap_or_else(|| Self::detached_name(out.last_literal(), SegmentKind::Literal));
            out.push(Part::Param(name), decision);
            return p;
        }
        let d = match (self.node(id), self.node(c)) {
            (Some(p), child) => self.literal_decision(p, child, forced),
            (None, _) => Decision {
                rule: "literal",
                confidence: 0.5,
            },
        };
        out.push(Part::Literal(key), d);
        Some(c)
    }

    fn should_promote(&self, id: u32) -> bool {
        let Some(n) = self.node(id) else {
            return false;
        };
        if n.collapsed.is_some() {
            return false;
        }
        let distinct = n.untyped as usize;
        let rare = distinct.saturating_sub(n.frequent as usize);
        (distinct > self.cfg.promote_distinct
            && rare as f32 >= self.cfg.promote_rare_fraction * distinct as f32)
            || (distinct > self.cfg.promote_distinct_all_rare && n.frequent == 0)
    }

    // -----------------------------------------------------------------------------------
    // Collapse and merge.

    /// Makes `id` map all non-forced literals to its parameter child, merging the existing
    /// non-forced literal children (and subtrees) into it. Never allocates: without a
    /// parameter child, one of the children is converted into it.
    fn collapse(&mut self, id: u32, origin: Origin) {
        let Some(node) = self.node(id) else {
            return;
        };
        if node.collapsed.is_some() {
            return;
        }
        let mut movers: Vec<(Arc<str>, u32)> = node
            .children
            .iter()
            .filter(|(_, c)| self.node(**c).is_some_and(|n| !n.forced))
            .map(|(k, c)| (k.clone(), *c))
            .collect();
        // Deterministic order: most-seen first (it becomes the parameter if none exists).
        movers.sort_by(|a, b| {
            let ha = self.node(a.1).map_or(0, |n| n.hits);
            let hb = self.node(b.1).map_or(0, |n| n.hits);
            hb.cmp(&ha).then_with(|| a.0.cmp(&b.0))
        });
        let parent_label = node.label.clone();
        let mut param = node.param;
        if let Some(node) = self.node_mut(id) {
            node.collapsed = Some(origin);
            node.collapse_distinct = node.untyped;
            for (k, _) in &movers {
                node.children.remove(k);
            }
            node.untyped = 0;
            node.frequent = 0;
        }
        for (_, c) in movers {
            match param {
                Some(p) => self.merge_into(p, c),
                None => {
                    self.adopt_as_param(id, c, parent_label.as_deref());
                    param = Some(c);
                }
            }
        }
        if let Some(p) = param {
            self.maybe_fix(p);
        }
    }

    /// Turns literal node `c` into the parameter child of `parent`.
    fn adopt_as_param(&mut self, parent: u32, c: u32, parent_label: Option<&str>) {
        let name: Arc<str> = Arc::from(param_name(parent_label, SegmentKind::Literal));
        let mut grandchild = None;
        if let Some(n) = self.node_mut(c) {
            n.label = None;
            n.forced = false;
            n.param_name = Some(name);
            n.param_kind = Some(SegmentKind::Literal);
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
            d.rest_ends += s.rest_ends;
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
                    }
                    if let Some(d) = self.node_mut(dst) {
                        d.param = Some(sp);
                    }
                }
            }
        }
        let rare = self.cfg.rare_hits;
        for (key, sc) in s.children {
            let Some((sc_forced, sc_hits)) = self.node(sc).map(|n| (n.forced, n.hits)) else {
                continue;
            };
            let Some(d) = self.node(dst) else {
                return;
            };
            if d.collapsed.is_some() && !sc_forced {
                match d.param {
                    Some(dp) => self.merge_into(dp, sc),
                    None => self.adopt_as_param(dst, sc, dst_label.as_deref()),
                }
            } else if let Some(&dc) = d.children.get(&key) {
                let before = self.node(dc).map_or(0, |n| n.hits);
                self.merge_into(dc, sc);
                let after = self.node(dc).map_or(0, |n| n.hits);
                let dc_forced = self.node(dc).is_some_and(|n| n.forced);
                if !dc_forced && before <= rare && after > rare {
                    if let Some(d) = self.node_mut(dst) {
                        d.frequent += 1;
                    }
                }
            } else if let Some(d) = self.node_mut(dst) {
                d.children.insert(key, sc);
                if !sc_forced {
                    d.untyped += 1;
                    if sc_hits > rare {
                        d.frequent += 1;
                    }
                }
            }
        }
        if let Some(origin) = s.collapsed {
            self.collapse(dst, origin);
        }
        self.maybe_fix(dst);
    }

    /// Applies the child cap and the cardinality rule to `id` after a merge.
    fn maybe_fix(&mut self, id: u32) {
        let Some(n) = self.node(id) else {
            return;
        };
        if n.collapsed.is_some() {
            return;
        }
        if n.children.len() > self.cfg.max_children {
            self.stats.child_overflows += 1;
            self.collapse(id, Origin::Overflow);
        } else if self.should_promote(id) {
            self.stats.promotions += 1;
            self.collapse(id, Origin::Cardinality);
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
        for (i, raw) in split.segments.iter().enumerate() {
            let plan = self.plan(raw, i, prev_raw);
            cur = match cur {
                Cursor::At(id) => self.step_ro(id, plan, &mut out),
                Cursor::Detached { capped } => {
                    self.step_detached_ro(plan, &mut out, capped);
                    Cursor::Detached { capped }
                }
            };
            prev_raw = Some(raw);
        }
        if split.truncated {
            out.push(
                Part::Param(Arc::from("rest")),
                Decision {
                    rule: "truncated",
                    confidence: 1.0,
                },
            );
        }
        out.finish()
    }

    /// Renders a segment with no trie node: below a node that hit the cap, exactly as
    /// `observe` did; below a merely unseen position, literals stay literal.
    fn step_detached_ro(&self, plan: Plan, out: &mut Rendered, capped: bool) {
        match plan {
            Plan::Param { kind, origin } => {
                let name = Self::detached_name(out.last_literal(), kind);
                out.push(Part::Param(name), self.param_decision(origin, kind, None));
            }
            Plan::Literal {
                key,
                forced: Some(rule),
            } => {
                let d = Decision {
                    rule,
                    confidence: if rule == "known_literal" { 0.95 } else { 0.99 },
                };
                out.push(Part::Literal(key), d);
            }
            Plan::Literal { forced: None, key } => {
                if capped {
                    let name = Self::detached_name(out.last_literal(), SegmentKind::Literal);
                    let d = self.param_decision(Origin::Capped, SegmentKind::Literal, None);
                    out.push(Part::Param(name), d);
                } else {
                    let d = Decision {
                        rule: "literal",
                        confidence: 0.5,
                    };
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

    fn step_ro(&self, id: u32, plan: Plan, out: &mut Rendered) -> Cursor {
        let (key, forced) = match plan {
            Plan::Param { kind, origin } => return self.goto_param_ro(id, kind, origin, out),
            Plan::Literal { key, forced } => (key, forced),
        };
        let Some(node) = self.node(id) else {
            return Cursor::Detached { capped: true };
        };
        if forced.is_none() {
            if let Some(origin) = node.collapsed {
                return self.goto_param_ro(id, SegmentKind::Literal, origin, out);
            }
        }
        if let Some(&c) = node.children.get(key.as_str()) {
            let d = self.literal_decision(node, self.node(c), forced);
            out.push(Part::Literal(key), d);
            return Cursor::At(c);
        }
        if node.children.len() >= self.cfg.max_children {
            return self.goto_param_ro(id, SegmentKind::Literal, Origin::Overflow, out);
        }
        let capped = node.capped;
        if forced.is_none() && capped && node.param.is_some() {
            return self.goto_param_ro(id, SegmentKind::Literal, Origin::Capped, out);
        }
        self.step_detached_ro(Plan::Literal { key, forced }, out, capped);
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
            out.push((render(parts), n.rest_ends));
            parts.pop();
        }
        if depth > self.cfg.max_segments {
            return;
        }
        for (key, &c) in &n.children {
            parts.push(Part::Literal(key.to_string()));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(m: &TemplateMatch) -> Vec<&'static str> {
        m.decisions.iter().map(|d| d.rule).collect()
    }

    /// Deterministic xorshift for floods.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn word(&mut self, len: usize) -> String {
            (0..len)
                .map(|_| char::from(b'a' + (self.next() % 26) as u8))
                .collect()
        }
    }

    #[test]
    fn typed_params_immediately() {
        let mut l = TemplateLearner::new();
        let m = l.observe("/api/v1/users/12345/orders/3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10");
        assert_eq!(m.template, "/api/v1/users/{user_id}/orders/{order_id}");
        assert_eq!(
            rules(&m),
            [
                "scaffold",
                "scaffold",
                "literal",
                "typed:integer",
                "literal",
                "typed:uuid"
            ]
        );
        assert!(
            m.decisions
                .iter()
                .all(|d| (0.0..=1.0).contains(&d.confidence))
        );
        assert_eq!(
            l.observe("/files/d41d8cd98f00b204e9800998ecf8427e")
                .template,
            "/files/{file_hash}"
        );
        assert_eq!(
            l.observe("/reports/2024-03-01").template,
            "/reports/{report_date}"
        );
        assert_eq!(
            l.observe("/objects/507f1f77bcf86cd799439011").template,
            "/objects/{object_id}"
        );
    }

    #[test]
    fn root_and_normalisation() {
        let mut l = TemplateLearner::new();
        assert_eq!(l.observe("/").template, "/");
        assert_eq!(l.observe("").template, "/");
        assert_eq!(
            l.observe("/users//42/?x=1#frag").template,
            "/users/{user_id}"
        );
        assert_eq!(l.observe("/users/./42/../43").template, "/users/{user_id}");
        assert_eq!(
            l.observe("http://example.com/users/42?q").template,
            "/users/{user_id}"
        );
        assert_eq!(l.observe("HTTPS://example.com").template, "/");
        assert_eq!(
            l.observe("/a%20b/{x}/caf%C3%A9/%7Bid%7D").template,
            "/a%20b/%7Bx%7D/caf%C3%A9/%7Bid%7D"
        );
        // Raw and encoded forms of the same segment share a node.
        let n = l.node_count();
        l.observe("/café");
        l.observe("/caf%c3%a9");
        assert_eq!(l.node_count(), n + 1);
    }

    #[test]
    fn known_literals_and_scaffold_stay() {
        let mut l = TemplateLearner::new();
        let m = l.observe("/api/users/me");
        assert_eq!(m.template, "/api/users/me");
        assert_eq!(rules(&m), ["scaffold", "literal", "known_literal"]);
        l.observe("/api/users/42");
        assert_eq!(l.resolve("/api/users/me"), "/api/users/me");
        assert_eq!(l.resolve("/api/users/43"), "/api/users/{user_id}");
    }

    #[test]
    fn cardinality_promotes_rare_siblings() {
        let mut l = TemplateLearner::new();
        let names: Vec<String> = (0..30)
            .map(|i| format!("user{}", ["alice", "bob", "carol"][i % 3].repeat(1 + i / 3)))
            .collect();
        let first = l.observe(&format!("/people/{}/profile", names[0]));
        assert_eq!(first.template, format!("/people/{}/profile", names[0]));
        let mut last = first;
        for n in &names[1..] {
            last = l.observe(&format!("/people/{n}/profile"));
        }
        assert_eq!(last.template, "/people/{person}/profile");
        assert_eq!(rules(&last)[1], "cardinality");
        // Earlier observations re-map with resolve.
        assert_eq!(
            l.resolve(&format!("/people/{}/profile", names[0])),
            "/people/{person}/profile"
        );
        assert_eq!(
            l.observe("/people/zed/profile").template,
            "/people/{person}/profile"
        );
        assert!(l.stats().promotions >= 1);
        assert!(l.stats().merged_nodes >= 10);
        assert_eq!(
            l.templates(),
            [("/people/{person}/profile".to_string(), 31)]
        );
    }

    #[test]
    fn stable_siblings_stay_literal() {
        let mut l = TemplateLearner::new();
        let resources = [
            "users",
            "orders",
            "products",
            "carts",
            "invoices",
            "payments",
            "shipments",
            "reviews",
            "coupons",
            "vendors",
            "warehouses",
            "regions",
            "teams",
            "projects",
        ];
        // Realistic traffic repeats popular endpoints before new ones show up.
        for r in resources {
            for _ in 0..3 {
                l.observe(&format!("/shop/{r}"));
            }
        }
        for r in resources {
            assert_eq!(l.resolve(&format!("/shop/{r}")), format!("/shop/{r}"));
        }
        // Many more frequently-seen resources still do not collapse.
        let more: Vec<String> = (0..10)
            .map(|i| format!("extra{}", "x".repeat(i + 1)))
            .collect();
        for _ in 0..3 {
            for r in &more {
                l.observe(&format!("/shop/{r}"));
            }
        }
        assert_eq!(l.resolve("/shop/users"), "/shop/users");
        assert_eq!(l.stats().promotions, 0);
    }

    #[test]
    fn observe_matches_resolve_immediately() {
        let mut l = TemplateLearner::new();
        let mut rng = Rng(7);
        for i in 0..2000 {
            let path = match i % 5 {
                0 => format!("/api/v2/items/{}/detail", rng.word(5)),
                1 => format!("/api/v2/items/{}", rng.next() % 1000),
                2 => format!("/static/{}.js", rng.word(3)),
                3 => "/api/v2/items/search".to_string(),
                _ => format!("/x/{}/{}/{}", rng.word(2), rng.word(2), rng.word(2)),
            };
            let m = l.observe(&path);
            assert_eq!(m, l.resolve_match(&path), "{path}");
        }
        assert_eq!(l.resolve("/api/v2/items/search"), "/api/v2/items/search");
        // The parameter was created for an integer first, so it keeps that name.
        assert_eq!(
            l.resolve("/api/v2/items/abcde/detail"),
            "/api/v2/items/{item_id}/detail"
        );
    }

    #[test]
    fn collapse_merges_subtrees_and_renames_params() {
        let mut l = TemplateLearner::new();
        for i in 0..15 {
            l.observe(&format!("/repos/name{}/issues/{}", "q".repeat(i + 1), i));
        }
        // The typed child created under the first literal was renamed after the merge.
        assert_eq!(
            l.resolve("/repos/anything/issues/99"),
            "/repos/{repo}/issues/{issue_id}"
        );
        let t = l.templates();
        assert_eq!(t, [("/repos/{repo}/issues/{issue_id}".to_string(), 15)]);
    }

    #[test]
    fn adopted_parameter_renames_its_child() {
        let mut l = TemplateLearner::new();
        // The first (most seen) literal becomes the parameter; its typed child was
        // named after it and must not keep that name.
        for _ in 0..3 {
            l.observe("/people/alice/42");
        }
        for i in 0..21 {
            l.observe(&format!("/people/name{}/{}", "x".repeat(i + 1), i));
        }
        assert_eq!(l.resolve("/people/alice/42"), "/people/{person}/{id}");
        assert_eq!(l.templates(), [("/people/{person}/{id}".to_string(), 24)]);
    }

    #[test]
    fn resolve_of_unseen_paths_keeps_literals() {
        let l = TemplateLearner::new();
        assert_eq!(l.resolve("/users/42/settings"), "/users/{user_id}/settings");
        let mut l = TemplateLearner::new();
        l.observe("/users/42");
        assert_eq!(
            l.resolve("/users/42/orders/7"),
            "/users/{user_id}/orders/{order_id}"
        );
        assert_eq!(l.stats().nodes, 3, "resolve does not learn");
    }

    #[test]
    fn pinned_templates_win() {
        let mut l = TemplateLearner::new();
        l.pin("/users/{id}/avatar").expect("pin");
        l.pin("/users/me/avatar").expect("pin");
        let m = l.observe("/users/42/avatar");
        assert_eq!(m.template, "/users/{id}/avatar");
        assert_eq!(rules(&m), ["pinned", "pinned", "pinned"]);
        assert_eq!(
            l.observe("/users/alice/avatar").template,
            "/users/{id}/avatar"
        );
        assert_eq!(l.observe("/users/me/avatar").template, "/users/me/avatar");
        assert_eq!(l.observe("/users/42").template, "/users/{user_id}");
        assert_eq!(l.resolve("/users/x/avatar"), "/users/{id}/avatar");
        assert_eq!(l.stats().pinned_matches, 3);
        assert_eq!(
            l.pin("/a/{b c}"),
            Err(PinError::InvalidSegment("{b c}".into()))
        );
        assert_eq!(
            l.pin("/a/{x}/{x}"),
            Err(PinError::DuplicateParam("x".into()))
        );
        assert_eq!(l.pin("/a/b{"), Err(PinError::InvalidSegment("b{".into())));
        assert_eq!(l.pin(&"/a".repeat(40)), Err(PinError::TooLong));
        assert_eq!(l.stats().pins_rejected, 4);
        let mut small = TemplateLearner::with_config(TemplateConfig {
            max_pins: 1,
            ..TemplateConfig::default()
        });
        assert!(small.pin("/a").is_ok());
        assert!(
            small.pin("/a").is_ok(),
            "re-pinning the same template is free"
        );
        assert_eq!(small.pin("/b"), Err(PinError::TooMany));
    }

    #[test]
    fn long_paths_and_segments() {
        let mut l = TemplateLearner::new();
        let path = "/seg".repeat(50);
        let m = l.observe(&path);
        assert_eq!(m.template, format!("{}/{{rest}}", "/seg".repeat(32)));
        assert_eq!(*rules(&m).last().unwrap_or(&""), "truncated");
        assert_eq!(l.stats().truncated_paths, 1);
        assert_eq!(l.resolve(&path), m.template);
        let long = format!("/files/{}", "a".repeat(300));
        let m = l.observe(&long);
        assert_eq!(m.template, "/files/{file}");
        assert_eq!(rules(&m)[1], "oversize");
        assert_eq!(l.stats().oversize_segments, 1);
        assert!(l.templates().iter().any(|(t, _)| t.ends_with("{rest}")));
    }

    #[test]
    fn repeated_param_names_are_numbered() {
        let mut l = TemplateLearner::new();
        assert_eq!(l.observe("/42/43/44").template, "/{id}/{id2}/{id3}");
    }

    #[test]
    fn children_cap_collapses_node() {
        let cfg = TemplateConfig {
            max_children: 5,
            promote_distinct: 1000,
            promote_distinct_all_rare: 1000,
            ..TemplateConfig::default()
        };
        let mut l = TemplateLearner::with_config(cfg);
        for w in ["aa", "bb", "cc", "dd", "ee"] {
            for _ in 0..3 {
                assert_eq!(l.observe(&format!("/k/{w}")).template, format!("/k/{w}"));
            }
        }
        let m = l.observe("/k/ff");
        assert_eq!(m.template, "/k/{k}");
        assert_eq!(rules(&m)[1], "overflow");
        assert_eq!(l.stats().child_overflows, 1);
        assert_eq!(l.resolve("/k/aa"), "/k/{k}");
        // Known literals survive the collapse.
        assert_eq!(l.observe("/k/search").template, "/k/search");
    }

    #[test]
    fn node_cap_is_respected_and_consistent() {
        let cfg = TemplateConfig {
            max_nodes: 10,
            promote_distinct: 1000,
            promote_distinct_all_rare: 1000,
            ..TemplateConfig::default()
        };
        let mut l = TemplateLearner::with_config(cfg);
        for i in 0..30 {
            let p = format!("/w{}/x{}", "a".repeat(i % 7 + 1), "b".repeat(i % 5 + 1));
            let m = l.observe(&p);
            assert_eq!(m, l.resolve_match(&p), "{p}");
            assert!(l.node_count() <= 10);
        }
        assert!(l.stats().node_cap_hits > 0);
        assert!(l.stats().capped_segments > 0);
        let m = l.observe("/zzzz/api/12");
        assert_eq!(m.template, "/{param}/api/{id}");
        assert_eq!(rules(&m), ["capped", "scaffold", "typed:integer"]);
    }

    #[test]
    fn flood_of_random_paths_stays_bounded() {
        // Thresholds off, so only the hard caps bound memory.
        let cfg = TemplateConfig {
            max_nodes: 500,
            max_children: 100,
            promote_distinct: usize::MAX,
            promote_distinct_all_rare: usize::MAX,
            ..TemplateConfig::default()
        };
        let mut l = TemplateLearner::with_config(cfg);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..1_000_000 {
            let depth = 1 + (rng.next() % 6) as usize;
            let mut p = String::new();
            for _ in 0..depth {
                p.push('/');
                let len = 3 + (rng.next() % 6) as usize;
                p.push_str(&rng.word(len));
            }
            l.observe(&p);
            assert!(l.node_count() <= 500);
        }
        let s = l.stats().clone();
        assert_eq!(s.observations, 1_000_000);
        assert!(s.peak_nodes <= 500);
        assert!(s.child_overflows > 0);
        assert!(s.node_cap_hits > 0, "{s:?}");
        assert!(s.cap_collapses > 0, "{s:?}");
        assert!(l.nodes.len() <= 500, "arena never grows past the cap");
        assert!(l.templates().len() <= 500);
    }

    #[test]
    fn flood_with_default_config_stays_under_cap() {
        let mut l = TemplateLearner::new();
        let mut rng = Rng(0xdead_beef);
        for i in 0..1_000_000u64 {
            let depth = 1 + (rng.next() % 8) as usize;
            let mut p = String::new();
            for d in 0..depth {
                p.push('/');
                match (rng.next() + d as u64) % 4 {
                    0 => p.push_str(&(rng.next() % 100_000).to_string()),
                    1 => p.push_str(["api", "v1", "users", "orders", "me"][(i % 5) as usize]),
                    _ => {
                        let len = 2 + (rng.next() % 10) as usize;
                        p.push_str(&rng.word(len));
                    }
                }
            }
            l.observe(&p);
        }
        let s = l.stats();
        assert!(s.peak_nodes <= 100_000, "{s:?}");
        assert!(l.nodes.len() <= 100_000);
    }

    #[test]
    fn flood_with_default_thresholds_collapses_early() {
        let mut l = TemplateLearner::new();
        let mut rng = Rng(42);
        for _ in 0..200_000 {
            let p = format!("/api/{}/{}", rng.word(6), rng.word(6));
            l.observe(&p);
        }
        assert!(l.node_count() < 20, "nodes: {}", l.node_count());
        assert_eq!(l.resolve("/api/foobar/bazqux"), "/api/{param}/{param2}");
    }

    #[test]
    fn hostile_paths() {
        let mut l = TemplateLearner::new();
        for p in [
            "",
            "?",
            "#",
            "//////",
            "/..",
            "/../../..",
            "/%",
            "/%%%",
            "/%FF%FE",
            "/\u{0}/\u{7f}",
            "http://",
            "https://host",
            "/{}/{x}/}{",
            "*",
        ] {
            let m = l.observe(p);
            assert!(m.template.starts_with('/'), "{p}: {}", m.template);
            assert!(m.template.is_ascii(), "{p}");
            assert_eq!(m, l.resolve_match(p), "{p}");
        }
        let huge = format!("/{}", "a/".repeat(100_000));
        assert!(l.observe(&huge).template.ends_with("{rest}"));
        let wide = format!("/{}", "x".repeat(1_000_000));
        assert_eq!(l.observe(&wide).template, "/{token}");
    }

    /// Deterministic pseudo-random strings over an alphabet of troublesome characters.
    fn fuzz_inputs(seed: u64, n: usize) -> Vec<String> {
        const ALPHABET: &[&str] = &[
            "a",
            "Z",
            "0",
            "1",
            "4",
            "9",
            "-",
            " ",
            ".",
            "+",
            "(",
            ")",
            "@",
            "%",
            "%2",
            "%41",
            "/",
            "//",
            "?",
            "#",
            "=",
            "&",
            ";",
            ":",
            "_",
            "{",
            "}",
            "[]",
            "é",
            "\u{0}",
            "\n",
            "eyJ",
            "AKIA",
            "DE89",
            "-----BEGIN ",
            "PRIVATE KEY-----",
            "4111",
            "123-45-",
            "\"",
        ];
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let len = (next() % 40) as usize;
                (0..len)
                    .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn random_inputs_never_panic() {
        let mut l = TemplateLearner::with_config(TemplateConfig {
            max_nodes: 500,
            max_children: 20,
            ..TemplateConfig::default()
        });
        let _ = l.pin("/users/{id}");
        for s in fuzz_inputs(4, 20_000) {
            let m = l.observe(&s);
            assert!(
                m.template.starts_with('/') && m.template.is_ascii(),
                "{s:?} -> {}",
                m.template
            );
            assert_eq!(m, l.resolve_match(&s), "{s:?}");
            let _ = l.pin(&s);
        }
        assert!(l.node_count() <= 500);
        let _ = l.templates();
    }

    #[test]
    fn learner_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TemplateLearner>();
    }
}
