//! Call sequences: who calls what, in which order, and what is unusual.
//!
//! A *principal* is who calls: the credential when the request carries one (a JWT's `sub`, a
//! Basic user name, a keyed hash of an API key or session cookie), else the client address, so
//! that users behind one NAT are told apart and one user from several addresses stays one.
//! Each principal's calls on a host form sessions (split after `session_gap_secs` of silence);
//! consecutive calls within a session are *transitions* between endpoint templates, and runs of
//! three are *paths*.
//!
//! Detectors (each says why, in words and figures):
//! - `enumeration`: one principal walks many distinct values of one path parameter within a
//!   window, in particular a run of consecutive integers (the classic object-level
//!   authorization scrape). Query parameters (paging) do not count.
//! - `novel_transition`: after the baseline period, a transition the baseline never saw, from
//!   an endpoint whose usual successors are well known (e.g. checkout without the cart).
//! - `rate_anomaly`: a principal's peak rate far above its own earlier rate and its peers'
//!   (median + median absolute deviation), unless an enumeration already explains it.
//! - `fingerprint_change`: the same credential presented with another client fingerprint
//!   (User-Agent, Accept-Language), or from several addresses at once.
//!
//! State is bounded: principals are kept in a least-recently-used table; evictions are counted.

use super::auth::{AuthEvidence, AuthScheme, PrincipalHint};
use super::hll::Hll;
use super::inventory::EndpointKey;
use crate::time::Timestamp;
use lru::LruCache;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroUsize;

/// Tunables of the sequence analysis.
#[derive(Clone, Debug)]
pub struct SequenceConfig {
    /// A principal silent this long starts a new session.
    pub session_gap_secs: i64,
    /// Principals tracked at once (least recently active evicted beyond).
    pub max_principals: usize,
    /// Packet time, from a host's first call, during which its traffic only builds the baseline.
    pub baseline_secs: i64,
    /// A `from` endpoint needs this many baseline transitions before a new successor is novel.
    pub novel_min_from: u64,
    /// Window of the enumeration detector.
    pub enum_window_secs: i64,
    /// Distinct values of a parameter within the window, with ...
    pub enum_min_distinct: usize,
    /// ... a run of this many consecutive integers, raise `enumeration`.
    pub enum_min_run: u64,
    /// Distinct values within the window that raise it whatever the values.
    pub enum_any_distinct: usize,
    /// Window of the rate detector.
    pub rate_window_secs: i64,
    /// A peak below this many requests per window is never an anomaly.
    pub rate_min_peak: u32,
    /// Peak must exceed median + this many median absolute deviations of the peers' peaks...
    pub rate_mad_factor: f64,
    /// ... and this many times the peers' median and the principal's own earlier peak.
    pub rate_ratio: f64,
    /// Distinct addresses presenting one credential within `multi_addr_window_secs`.
    pub multi_addr_min: usize,
    /// See `multi_addr_min`.
    pub multi_addr_window_secs: i64,
    /// Requests with the first fingerprint before another one counts as a change.
    pub fingerprint_min_before: u64,
}

impl Default for SequenceConfig {
    fn default() -> Self {
        SequenceConfig {
            session_gap_secs: 1800,
            max_principals: 100_000,
            baseline_secs: 3600,
            novel_min_from: 5,
            enum_window_secs: 600,
            enum_min_distinct: 20,
            enum_min_run: 10,
            enum_any_distinct: 200,
            rate_window_secs: 10,
            rate_min_peak: 60,
            rate_mad_factor: 10.0,
            rate_ratio: 5.0,
            multi_addr_min: 3,
            multi_addr_window_secs: 300,
            fingerprint_min_before: 3,
        }
    }
}

/// Counters of the sequence analysis.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SequenceStats {
    /// Calls followed.
    pub calls: u64,
    /// Transitions counted.
    pub transitions: u64,
    /// Sessions started.
    pub sessions: u64,
    /// Principals evicted from the table.
    pub principals_evicted: u64,
    /// Transitions or paths not recorded because a per-flush cap was reached.
    pub over_cap: u64,
}

/// A transition between two endpoints since the last drain.
#[derive(Clone, Debug)]
pub struct TransitionDelta {
    /// Calls.
    pub count: u64,
    /// Principals.
    pub principals: Hll,
    /// First time.
    pub first_seen: Timestamp,
    /// Last time.
    pub last_seen: Timestamp,
    /// Sum of the gaps between the two calls, in milliseconds.
    pub gap_sum_ms: u64,
}

/// A run of three consecutive calls since the last drain.
#[derive(Clone, Debug)]
pub struct PathDelta {
    /// Occurrences.
    pub count: u64,
    /// Principals.
    pub principals: Hll,
    /// First time.
    pub first_seen: Timestamp,
    /// Last time.
    pub last_seen: Timestamp,
}

/// Three consecutive calls of one session.
pub type PathKey = [EndpointKey; 3];

/// What the tracker gathered since the last drain.
#[derive(Debug, Default)]
pub struct SequenceDrain {
    /// Transitions `(from, to)`.
    pub transitions: Vec<(EndpointKey, EndpointKey, TransitionDelta)>,
    /// Runs of three calls.
    pub paths: Vec<(PathKey, PathDelta)>,
    /// Findings about principals.
    pub findings: Vec<SequenceFinding>,
}

/// A finding about a principal, attached to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceFinding {
    /// `enumeration`, `novel_transition`, `rate_anomaly` or `fingerprint_change`.
    pub kind: &'static str,
    /// The endpoint it happened on.
    pub endpoint: EndpointKey,
    /// The principal (`sub:401`, `addr:10.0.0.9`, ...).
    pub principal: String,
    /// Plain words with figures.
    pub detail: String,
    /// What was seen.
    pub evidence: String,
    /// When.
    pub ts: Timestamp,
}

/// An endpoint, interned: the tracker keeps small ids, not three strings per reference.
type Ep = u32;

struct Enum {
    values: VecDeque<(Timestamp, String)>,
    /// Occurrences of each value within the window.
    counts: HashMap<String, u32>,
    reported: bool,
    /// Reported at the next drain, with the range walked by then.
    pending: bool,
}

struct PrincipalState {
    /// `sub:…`, `addr:…`: how findings name it (computed once).
    label: String,
    host: String,
    last: Option<(Ep, Timestamp)>,
    prev: Option<Ep>,
    enums: HashMap<(Ep, usize), Enum>,
    /// Requests per second in the rate window.
    secs: VecDeque<(i64, u32)>,
    in_window: u32,
    /// Peak before the current window (its own baseline), and overall.
    peak: u32,
    peak_key: Option<Ep>,
    peak_ts: Timestamp,
    earlier_peak: u32,
    window_start: i64,
    rate_reported: bool,
    enum_reported: bool,
    addrs: BTreeSet<IpAddr>,
}

impl PrincipalState {
    fn new(label: String, host: String) -> Self {
        PrincipalState {
            label,
            host,
            last: None,
            prev: None,
            enums: HashMap::new(),
            secs: VecDeque::new(),
            in_window: 0,
            peak: 0,
            peak_key: None,
            peak_ts: Timestamp(0),
            earlier_peak: 0,
            window_start: i64::MIN,
            rate_reported: false,
            enum_reported: false,
            addrs: BTreeSet::new(),
        }
    }
}

struct Credential {
    first_fp: Option<u64>,
    first_count: u64,
    reported: bool,
    addrs: VecDeque<(Timestamp, IpAddr)>,
}

/// Endpoint keys and their ids.
#[derive(Default)]
struct Keys {
    ids: HashMap<EndpointKey, Ep, foldhash::fast::RandomState>,
    names: Vec<EndpointKey>,
}

impl Keys {
    fn intern(&mut self, k: &EndpointKey) -> Option<Ep> {
        if let Some(id) = self.ids.get(k) {
            return Some(*id);
        }
        if self.names.len() >= MAX_KEYS {
            return None;
        }
        let id = self.names.len() as Ep;
        self.names.push(k.clone());
        self.ids.insert(k.clone(), id);
        Some(id)
    }

    fn name(&self, id: Ep) -> &EndpointKey {
        &self.names[id as usize]
    }
}

/// The sequence tracker.
pub struct SequenceTracker {
    cfg: SequenceConfig,
    keys: Keys,
    /// Fixed seed: principal hashes go into sketches stored across runs.
    hasher: foldhash::fast::FixedState,
    principals: LruCache<u64, PrincipalState, foldhash::fast::RandomState>,
    credentials: LruCache<u64, Credential, foldhash::fast::RandomState>,
    host_first: HashMap<String, Timestamp>,
    /// Baseline transitions: (from, to) -> count, and per from: total.
    baseline: HashMap<(Ep, Ep), u64>,
    baseline_from: HashMap<Ep, u64>,
    transitions: HashMap<(Ep, Ep), TransitionDelta>,
    paths: HashMap<[Ep; 3], PathDelta>,
    findings: Vec<SequenceFinding>,
    stats: SequenceStats,
}

const MAX_TRANSITIONS: usize = 50_000;
const MAX_PATHS: usize = 20_000;
const MAX_BASELINE: usize = 200_000;
const MAX_KEYS: usize = 500_000;

/// One call, as the tracker needs it.
pub struct Call<'a> {
    /// The endpoint called.
    pub key: &'a EndpointKey,
    /// The raw path (to read parameter values).
    pub path: &'a str,
    /// Client address.
    pub client: IpAddr,
    /// Auth evidence of the request.
    pub auth: &'a [AuthEvidence],
    /// User-Agent and Accept-Language, as sent.
    pub fingerprint: (&'a [u8], &'a [u8]),
    /// Status (0 without response).
    pub status: u16,
    /// Time of the request.
    pub ts: Timestamp,
}

/// The credential of a call that identifies a principal, if any.
fn credential_of(auth: &[AuthEvidence]) -> Option<(&AuthEvidence, &str)> {
    auth.iter()
        .filter(|a| a.scheme != AuthScheme::None)
        .find_map(|a| match &a.principal_hint {
            PrincipalHint::Jwt(c) => c.sub.as_deref().map(|s| (a, s)),
            PrincipalHint::Username(u) => Some((a, u.as_str())),
            PrincipalHint::KeyedHash(h) => Some((a, h.as_str())),
            PrincipalHint::None => None,
        })
}

/// The principal of a call: the credential when there is one, else the address.
pub fn principal(auth: &[AuthEvidence], client: IpAddr) -> (String, bool) {
    match credential_of(auth) {
        Some((a, id)) => (
            match &a.principal_hint {
                PrincipalHint::Jwt(_) => format!("sub:{}", safe(id)),
                PrincipalHint::Username(_) => format!("user:{}", safe(id)),
                _ => format!("{}:{}", a.scheme.name(), &id[..id.len().min(12)]),
            },
            true,
        ),
        None => (format!("addr:{client}"), false),
    }
}

/// An identifier fit to show: personal data (an email used as `sub`) is redacted.
fn safe(s: &str) -> String {
    let mut found = Vec::new();
    super::sensitive::scan_text(s, &mut found);
    if let Some(f) = found.first() {
        return f.redacted.clone();
    }
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn fingerprint_hash(ua: &[u8], lang: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in ua.iter().chain(b"\x00").chain(lang) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Adds `d` into `into`.
fn add_transition(into: &mut TransitionDelta, d: &TransitionDelta) {
    into.count += d.count;
    into.principals.merge(&d.principals);
    into.first_seen = into.first_seen.min(d.first_seen);
    into.last_seen = into.last_seen.max(d.last_seen);
    into.gap_sum_ms += d.gap_sum_ms;
}

fn add_path(into: &mut PathDelta, d: &PathDelta) {
    into.count += d.count;
    into.principals.merge(&d.principals);
    into.first_seen = into.first_seen.min(d.first_seen);
    into.last_seen = into.last_seen.max(d.last_seen);
}

impl SequenceTracker {
    /// An empty tracker.
    pub fn new(cfg: SequenceConfig) -> SequenceTracker {
        let cap = NonZeroUsize::new(cfg.max_principals.max(1)).unwrap_or(NonZeroUsize::MIN);
        SequenceTracker {
            principals: LruCache::with_hasher(cap, foldhash::fast::RandomState::default()),
            credentials: LruCache::with_hasher(cap, foldhash::fast::RandomState::default()),
            cfg,
            keys: Keys::default(),
            hasher: foldhash::fast::FixedState::with_seed(0x5eed_7a90_5eed_7a90),
            host_first: HashMap::new(),
            baseline: HashMap::new(),
            baseline_from: HashMap::new(),
            transitions: HashMap::new(),
            paths: HashMap::new(),
            findings: Vec::new(),
            stats: SequenceStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &SequenceStats {
        &self.stats
    }

    /// Seeds the baseline with transitions already in the inventory (earlier ingests).
    pub fn seed_baseline(&mut self, from: EndpointKey, to: EndpointKey, count: u64) {
        if self.baseline.len() >= MAX_BASELINE {
            return;
        }
        let (Some(f), Some(t)) = (self.keys.intern(&from), self.keys.intern(&to)) else {
            return;
        };
        *self.baseline_from.entry(f).or_default() += count;
        *self.baseline.entry((f, t)).or_default() += count;
    }

    /// Marks `host` as seen since `first` (an earlier ingest): its baseline period is counted
    /// from then, not restarted.
    pub fn seed_host(&mut self, host: &str, first: Timestamp) {
        let e = self.host_first.entry(host.to_string()).or_insert(first);
        *e = (*e).min(first);
    }

    /// A 64-bit identity of (host, principal), computed without allocating.
    fn principal_hash(&self, host: &str, auth: &[AuthEvidence], client: IpAddr) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = self.hasher.build_hasher();
        host.hash(&mut h);
        match credential_of(auth) {
            Some((a, id)) => {
                (a.scheme as u8).hash(&mut h);
                id.hash(&mut h);
            }
            None => {
                0xffu8.hash(&mut h);
                client.hash(&mut h);
            }
        }
        h.finish()
    }

    /// Follows one call.
    pub fn observe(&mut self, call: Call<'_>) {
        self.stats.calls += 1;
        let Some(ep) = self.keys.intern(call.key) else {
            self.stats.over_cap += 1;
            return;
        };
        let host = call.key.host.as_str();
        let first = match self.host_first.get(host) {
            Some(t) => *t,
            None => {
                self.host_first.insert(host.to_string(), call.ts);
                call.ts
            }
        };
        let in_baseline =
            call.ts.nanos_since(first) < self.cfg.baseline_secs.saturating_mul(1_000_000_000);
        let pid = self.principal_hash(host, call.auth, call.client);
        let credentialed = credential_of(call.auth).is_some();
        if !self.principals.contains(&pid) {
            if self.principals.len() >= self.cfg.max_principals.max(1) {
                self.stats.principals_evicted += 1;
            }
            let (label, _) = principal(call.auth, call.client);
            self.principals
                .put(pid, PrincipalState::new(label, host.to_string()));
        }
        if credentialed {
            self.credential(pid, &call);
        }
        let cfg = &self.cfg;
        let Some(st) = self.principals.get_mut(&pid) else {
            return;
        };
        if st.addrs.len() < 16 || st.addrs.contains(&call.client) {
            st.addrs.insert(call.client);
        }

        // Sessions and transitions.
        let mut transition: Option<(Ep, u64)> = None;
        match st.last {
            Some((prev, t))
                if call.ts.nanos_since(t) <= cfg.session_gap_secs.saturating_mul(1_000_000_000) =>
            {
                transition = Some((prev, (call.ts.nanos_since(t).max(0) / 1_000_000) as u64));
            }
            _ => {
                self.stats.sessions += 1;
                st.prev = None;
            }
        }
        let path_before = match (st.prev, transition) {
            (Some(p), Some((f, _))) => Some((p, f)),
            _ => None,
        };
        if transition.is_some() {
            st.prev = st.last.map(|(k, _)| k);
        }
        st.last = Some((ep, call.ts));

        // Enumeration of path parameter values.
        for (i, value) in param_values(&call.key.template, call.path) {
            let e = st.enums.entry((ep, i)).or_insert_with(|| Enum {
                values: VecDeque::new(),
                counts: HashMap::new(),
                reported: false,
                pending: false,
            });
            let new_value = {
                let n = e.counts.entry(value.clone()).or_insert(0);
                *n += 1;
                *n == 1
            };
            e.values.push_back((call.ts, value));
            let window = cfg.enum_window_secs.saturating_mul(1_000_000_000);
            let cap = 4 * cfg.enum_any_distinct.max(64);
            while e
                .values
                .front()
                .is_some_and(|(t, _)| call.ts.nanos_since(*t) > window)
                || e.values.len() > cap
            {
                if let Some((_, v)) = e.values.pop_front()
                    && let Some(n) = e.counts.get_mut(&v)
                {
                    *n -= 1;
                    if *n == 0 {
                        e.counts.remove(&v);
                    }
                }
            }
            if e.reported || !new_value || e.counts.len() < cfg.enum_min_distinct {
                continue;
            }
            let ints: BTreeSet<i64> = e.counts.keys().filter_map(|v| v.parse().ok()).collect();
            let (run, _, _) = longest_run(&ints);
            if run >= cfg.enum_min_run || e.counts.len() >= cfg.enum_any_distinct {
                e.reported = true;
                e.pending = true;
                st.enum_reported = true;
            }
        }
        if st.enums.len() > 32 {
            // Keep the most recently grown ones.
            let mut keys: Vec<_> = st
                .enums
                .iter()
                .map(|(k, e)| (e.values.back().map(|(t, _)| *t), *k))
                .collect();
            keys.sort();
            for (_, k) in keys.into_iter().take(st.enums.len() - 32) {
                st.enums.remove(&k);
            }
        }

        // Rate over a sliding window; the principal's own earlier peak is its baseline.
        let sec = call.ts.secs();
        if st.window_start == i64::MIN {
            st.window_start = sec;
        }
        match st.secs.back_mut() {
            Some((s, n)) if *s >= sec => *n += 1,
            _ => st.secs.push_back((sec, 1)),
        }
        st.in_window += 1;
        while let Some(&(s, n)) = st.secs.front() {
            if s > sec - cfg.rate_window_secs {
                break;
            }
            st.secs.pop_front();
            st.in_window -= n;
        }
        if st.in_window > st.peak {
            if sec - st.window_start >= cfg.rate_window_secs
                && st.peak_ts.secs() < sec - cfg.rate_window_secs
            {
                st.earlier_peak = st.earlier_peak.max(st.peak);
            }
            st.peak = st.in_window;
            st.peak_key = Some(ep);
            st.peak_ts = call.ts;
        }

        // Transitions and 3-step paths.
        let Some((from, gap_ms)) = transition else {
            return;
        };
        self.stats.transitions += 1;
        let pair = (from, ep);
        let phash = pid.to_le_bytes();
        if let Some(t) = self.transitions.get_mut(&pair) {
            t.count += 1;
            t.principals.insert(&phash);
            t.first_seen = t.first_seen.min(call.ts);
            t.last_seen = t.last_seen.max(call.ts);
            t.gap_sum_ms += gap_ms;
        } else if self.transitions.len() < MAX_TRANSITIONS {
            let mut principals = Hll::default();
            principals.insert(&phash);
            self.transitions.insert(
                pair,
                TransitionDelta {
                    count: 1,
                    principals,
                    first_seen: call.ts,
                    last_seen: call.ts,
                    gap_sum_ms: gap_ms,
                },
            );
        } else {
            self.stats.over_cap += 1;
        }
        if in_baseline {
            if self.baseline.len() < MAX_BASELINE || self.baseline.contains_key(&pair) {
                *self.baseline.entry(pair).or_default() += 1;
                *self.baseline_from.entry(from).or_default() += 1;
            }
        } else {
            let seen = self.baseline.get(&pair).copied().unwrap_or(0);
            let from_total = self.baseline_from.get(&from).copied().unwrap_or(0);
            if seen == 0 && from_total >= self.cfg.novel_min_from {
                let label = self
                    .principals
                    .peek(&pid)
                    .map(|s| s.label.clone())
                    .unwrap_or_default();
                self.novel(from, ep, from_total, &label, &call);
                // Once per transition: later repeats are no longer novel.
                if self.baseline.len() < MAX_BASELINE {
                    self.baseline.insert(pair, 1);
                }
            }
        }
        if let Some((a, b)) = path_before {
            let pk = [a, b, ep];
            if let Some(p) = self.paths.get_mut(&pk) {
                p.count += 1;
                p.principals.insert(&phash);
                p.last_seen = p.last_seen.max(call.ts);
            } else if self.paths.len() < MAX_PATHS {
                let mut principals = Hll::default();
                principals.insert(&phash);
                self.paths.insert(
                    pk,
                    PathDelta {
                        count: 1,
                        principals,
                        first_seen: call.ts,
                        last_seen: call.ts,
                    },
                );
            } else {
                self.stats.over_cap += 1;
            }
        }
    }

    fn novel(&mut self, from: Ep, to: Ep, from_total: u64, who: &str, call: &Call<'_>) {
        let mut usual: Vec<(Ep, u64)> = self
            .baseline
            .iter()
            .filter(|((f, _), _)| *f == from)
            .map(|((_, t), n)| (*t, *n))
            .collect();
        usual.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| self.keys.name(a.0).cmp(self.keys.name(b.0)))
        });
        let usual: Vec<String> = usual
            .iter()
            .take(3)
            .map(|(t, n)| {
                let k = self.keys.name(*t);
                format!("{} {} ({n})", k.method, k.template)
            })
            .collect();
        let (f, t) = (self.keys.name(from), self.keys.name(to));
        self.findings.push(SequenceFinding {
            kind: "novel_transition",
            endpoint: t.clone(),
            principal: who.to_string(),
            detail: format!(
                "{who} called {} {} right after {} {}, a step the baseline never saw: after {} {} clients went on to {} ({from_total} transitions in the baseline).",
                t.method,
                t.template,
                f.method,
                f.template,
                f.method,
                f.template,
                usual.join(", ")
            ),
            evidence: format!(
                "{} {} -> {} {} by {who} from {}",
                f.method, f.template, t.method, t.template, call.client
            ),
            ts: call.ts,
        });
    }

    fn credential(&mut self, pid: u64, call: &Call<'_>) {
        let fp = fingerprint_hash(call.fingerprint.0, call.fingerprint.1);
        let cfg = &self.cfg;
        let c = self.credentials.get_or_insert_mut(pid, || Credential {
            first_fp: None,
            first_count: 0,
            reported: false,
            addrs: VecDeque::new(),
        });
        c.addrs.push_back((call.ts, call.client));
        let window = cfg.multi_addr_window_secs.saturating_mul(1_000_000_000);
        while c
            .addrs
            .front()
            .is_some_and(|(t, _)| call.ts.nanos_since(*t) > window)
            || c.addrs.len() > 256
        {
            c.addrs.pop_front();
        }
        if c.reported {
            return;
        }
        let mut finding = None;
        match c.first_fp {
            None => {
                c.first_fp = Some(fp);
                c.first_count = 1;
            }
            Some(f) if f == fp => c.first_count += 1,
            Some(_) if c.first_count >= cfg.fingerprint_min_before => {
                let ua = String::from_utf8_lossy(
                    &call.fingerprint.0[..call.fingerprint.0.len().min(80)],
                )
                .replace(|ch: char| ch.is_control(), "?");
                finding = Some((
                    format!(
                        "presented from {} with another client fingerprint (User-Agent `{ua}`) after {} requests with a different one: a stolen or shared credential.",
                        call.client, c.first_count
                    ),
                    format!("new fingerprint from {}", call.client),
                ));
            }
            Some(_) => {}
        }
        if finding.is_none() {
            let distinct: BTreeSet<IpAddr> = c.addrs.iter().map(|(_, a)| *a).collect();
            if distinct.len() >= cfg.multi_addr_min {
                finding = Some((
                    format!(
                        "used from {} addresses within {} s ({}): one credential in several places at once.",
                        distinct.len(),
                        cfg.multi_addr_window_secs,
                        distinct
                            .iter()
                            .take(5)
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!("{} addresses", distinct.len()),
                ));
            }
        }
        let Some((detail, evidence)) = finding else {
            return;
        };
        c.reported = true;
        let who = self
            .principals
            .peek(&pid)
            .map(|s| s.label.clone())
            .unwrap_or_else(|| principal(call.auth, call.client).0);
        self.findings.push(SequenceFinding {
            kind: "fingerprint_change",
            endpoint: call.key.clone(),
            principal: who.clone(),
            detail: format!("The credential of {who} was {detail}"),
            evidence: format!("{who}: {evidence}"),
            ts: call.ts,
        });
    }

    /// Evaluates rate anomalies across principals (robust statistics over peers) and takes the
    /// transitions, paths and findings gathered since the last drain.
    pub fn drain(&mut self) -> SequenceDrain {
        let cfg = self.cfg.clone();
        // Enumerations, with the whole range walked so far.
        for (_, st) in self.principals.iter_mut() {
            let who = &st.label;
            for ((key, _), e) in st.enums.iter_mut().filter(|(_, e)| e.pending) {
                e.pending = false;
                let key = self.keys.name(*key);
                let distinct = e.counts.len();
                let ints: BTreeSet<i64> = e.counts.keys().filter_map(|v| v.parse().ok()).collect();
                let (run, lo, hi) = longest_run(&ints);
                let (t0, t1) = (
                    e.values.front().map(|x| x.0).unwrap_or_default(),
                    e.values.back().map(|x| x.0).unwrap_or_default(),
                );
                let secs = t1.nanos_since(t0) as f64 / 1e9;
                let addrs = st
                    .addrs
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let (detail, evidence) = if run >= cfg.enum_min_run {
                    (
                        format!(
                            "{who} requested {distinct} distinct values of a path parameter within {secs:.0} s, including the consecutive run {lo}..{hi} ({run} values): walking identifiers like this is how object-level authorization holes are scraped."
                        ),
                        format!(
                            "{} {}: {lo}-{hi} ({run} consecutive) from {addrs}",
                            key.method, key.template
                        ),
                    )
                } else {
                    (
                        format!(
                            "{who} requested {distinct} distinct values of a path parameter within {secs:.0} s."
                        ),
                        format!(
                            "{} {}: {distinct} distinct values from {addrs}",
                            key.method, key.template
                        ),
                    )
                };
                self.findings.push(SequenceFinding {
                    kind: "enumeration",
                    endpoint: key.clone(),
                    principal: who.clone(),
                    detail,
                    evidence,
                    ts: t1,
                });
            }
        }
        let mut by_host: HashMap<&str, Vec<u32>> = HashMap::new();
        for (_, st) in self.principals.iter() {
            by_host.entry(st.host.as_str()).or_default().push(st.peak);
        }
        let mut raise = Vec::new();
        for (pid, st) in self.principals.iter() {
            if st.rate_reported || st.enum_reported || st.peak < cfg.rate_min_peak {
                continue;
            }
            let peers = by_host
                .get(st.host.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if peers.len() < 3 {
                continue;
            }
            // Median and MAD of the other principals' peaks.
            let mut others = peers.to_vec();
            if let Some(pos) = others.iter().position(|p| *p == st.peak) {
                others.remove(pos);
            }
            others.sort_unstable();
            let median = others[others.len() / 2] as f64;
            let mut dev: Vec<f64> = others.iter().map(|p| (*p as f64 - median).abs()).collect();
            dev.sort_by(|a, b| a.total_cmp(b));
            let mad = dev[dev.len() / 2].max(1.0);
            let peak = st.peak as f64;
            let own = st.earlier_peak.max(1) as f64;
            if peak > median + cfg.rate_mad_factor * mad
                && peak >= cfg.rate_ratio * median.max(1.0)
                && peak >= cfg.rate_ratio * own
            {
                raise.push((*pid, median, mad));
            }
        }
        for (pid, median, mad) in raise {
            let Some(st) = self.principals.peek_mut(&pid) else {
                continue;
            };
            st.rate_reported = true;
            let Some(key) = st.peak_key else { continue };
            let (who, peak, own) = (&st.label, st.peak, st.earlier_peak);
            self.findings.push(SequenceFinding {
                kind: "rate_anomaly",
                endpoint: self.keys.name(key).clone(),
                principal: who.clone(),
                detail: format!(
                    "{who} made {peak} requests within {} s, against a median peak of {median:.0} (deviation {mad:.0}) for the other clients of this host and {own} for its own earlier activity.",
                    cfg.rate_window_secs
                ),
                evidence: format!(
                    "peak {peak} / {} s; peers median {median:.0}, MAD {mad:.0}; own earlier peak {own}",
                    cfg.rate_window_secs
                ),
                ts: st.peak_ts,
            });
        }
        let keys = &self.keys;
        SequenceDrain {
            transitions: self
                .transitions
                .drain()
                .map(|((f, t), d)| (keys.name(f).clone(), keys.name(t).clone(), d))
                .collect(),
            paths: self
                .paths
                .drain()
                .map(|(p, d)| (p.map(|e| keys.name(e).clone()), d))
                .collect(),
            findings: std::mem::take(&mut self.findings),
        }
    }

    /// Templates that converged since they were recorded (`old -> new`, from the inventory's
    /// re-templating at a flush): every key the tracker holds follows, so transitions recorded
    /// before and after the change are one transition, and the baseline knows both.
    pub fn remap(&mut self, map: &HashMap<EndpointKey, EndpointKey>) {
        // Old id -> the id of the new key when the new key has one already (the two merge);
        // otherwise the old id is simply renamed.
        let mut merged: HashMap<Ep, Ep> = HashMap::new();
        for (old, new) in map {
            if old == new {
                continue;
            }
            let Some(o) = self.keys.ids.remove(old) else {
                continue;
            };
            match self.keys.ids.get(new) {
                Some(&n) => {
                    merged.insert(o, n);
                }
                None => {
                    self.keys.names[o as usize] = new.clone();
                    self.keys.ids.insert(new.clone(), o);
                }
            }
        }
        for f in &mut self.findings {
            if let Some(n) = map.get(&f.endpoint) {
                f.endpoint = n.clone();
            }
        }
        if merged.is_empty() {
            return;
        }
        let m = |e: Ep| merged.get(&e).copied().unwrap_or(e);
        let mut transitions: HashMap<(Ep, Ep), TransitionDelta> =
            HashMap::with_capacity(self.transitions.len());
        for ((f, t), d) in self.transitions.drain() {
            match transitions.entry((m(f), m(t))) {
                Entry::Occupied(mut o) => add_transition(o.get_mut(), &d),
                Entry::Vacant(v) => {
                    v.insert(d);
                }
            }
        }
        self.transitions = transitions;
        let mut paths: HashMap<[Ep; 3], PathDelta> = HashMap::with_capacity(self.paths.len());
        for (k, d) in self.paths.drain() {
            match paths.entry(k.map(m)) {
                Entry::Occupied(mut o) => add_path(o.get_mut(), &d),
                Entry::Vacant(v) => {
                    v.insert(d);
                }
            }
        }
        self.paths = paths;
        let mut baseline = HashMap::with_capacity(self.baseline.len());
        for ((f, t), n) in self.baseline.drain() {
            *baseline.entry((m(f), m(t))).or_insert(0) += n;
        }
        self.baseline = baseline;
        let mut from = HashMap::with_capacity(self.baseline_from.len());
        for (f, n) in self.baseline_from.drain() {
            *from.entry(m(f)).or_insert(0) += n;
        }
        self.baseline_from = from;
        for (_, st) in self.principals.iter_mut() {
            if let Some((k, _)) = &mut st.last {
                *k = m(*k);
            }
            st.prev = st.prev.map(m);
            st.peak_key = st.peak_key.map(m);
            if st.enums.keys().any(|(k, _)| merged.contains_key(k)) {
                st.enums = std::mem::take(&mut st.enums)
                    .into_iter()
                    .map(|((k, i), e)| ((m(k), i), e))
                    .collect();
            }
        }
    }
}

/// Values of the path parameters of `template` in `path`, by segment position (no allocation
/// unless the template has parameters).
fn param_values(template: &str, path: &str) -> Vec<(usize, String)> {
    if !template.contains('{') {
        return Vec::new();
    }
    let mut t = template.split('/').filter(|s| !s.is_empty());
    let mut p = path.split('/').filter(|s| !s.is_empty());
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match (t.next(), p.next()) {
            (None, None) => return out,
            (Some(ts), Some(v)) => {
                if ts.starts_with('{') && ts.ends_with('}') {
                    out.push((i, v.chars().take(128).collect()));
                }
            }
            _ => return Vec::new(),
        }
        i += 1;
    }
}

/// The longest run of consecutive integers in a set: (length, first, last).
fn longest_run(ints: &BTreeSet<i64>) -> (u64, i64, i64) {
    let (mut best, mut best_lo, mut best_hi) = (0u64, 0, 0);
    let (mut len, mut lo, mut prev) = (0u64, 0i64, i64::MIN);
    for &v in ints {
        if prev != i64::MIN && v == prev.wrapping_add(1) {
            len += 1;
        } else {
            len = 1;
            lo = v;
        }
        if len > best {
            (best, best_lo, best_hi) = (len, lo, v);
        }
        prev = v;
    }
    (best, best_lo, best_hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::auth::JwtClaims;

    fn key(m: &str, t: &str) -> EndpointKey {
        EndpointKey {
            host: "shop.test".into(),
            method: m.into(),
            template: t.into(),
        }
    }

    fn jwt(sub: &str) -> Vec<AuthEvidence> {
        vec![AuthEvidence {
            scheme: AuthScheme::BearerJwt,
            location: "Authorization".into(),
            principal_hint: PrincipalHint::Jwt(JwtClaims {
                sub: Some(sub.into()),
                ..Default::default()
            }),
        }]
    }

    fn call<'a>(
        k: &'a EndpointKey,
        path: &'a str,
        ip: &str,
        auth: &'a [AuthEvidence],
        ua: &'a [u8],
        secs: f64,
    ) -> Call<'a> {
        Call {
            key: k,
            path,
            client: ip.parse().unwrap(),
            auth,
            fingerprint: (ua, b""),
            status: 200,
            ts: Timestamp((secs * 1e9) as i64),
        }
    }

    #[test]
    fn principals_prefer_credentials_and_redact_personal_ids() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(principal(&[], ip), ("addr:10.0.0.1".into(), false));
        assert_eq!(principal(&jwt("101"), ip), ("sub:101".into(), true));
        let (p, _) = principal(&jwt("jane.doe@example.com"), ip);
        assert!(p.starts_with("sub:j***@"), "{p}");
    }

    #[test]
    fn transitions_sessions_and_paths() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let (a, b, c) = (key("GET", "/a"), key("GET", "/b"), key("POST", "/c"));
        let auth = jwt("1");
        for (k, p, s) in [
            (&a, "/a", 0.0),
            (&b, "/b", 1.0),
            (&c, "/c", 2.0),
            (&a, "/a", 5000.0),
            (&b, "/b", 5001.0),
        ] {
            t.observe(call(k, p, "10.0.0.1", &auth, b"ua", s));
        }
        let d = t.drain();
        let trans: HashMap<(EndpointKey, EndpointKey), TransitionDelta> = d
            .transitions
            .into_iter()
            .map(|(f, to, x)| ((f, to), x))
            .collect();
        let (paths, findings) = (d.paths, d.findings);
        assert_eq!(
            trans[&(a.clone(), b.clone())].count,
            2,
            "a->b twice, in two sessions"
        );
        assert_eq!(trans[&(b.clone(), c.clone())].count, 1);
        assert!(
            !trans.contains_key(&(c.clone(), a.clone())),
            "the session ended after 30 min of silence"
        );
        assert_eq!(t.stats().sessions, 2);
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].0, [a.clone(), b.clone(), c.clone()]);
        assert!(findings.is_empty());
    }

    #[test]
    fn sequential_ids_are_enumeration_and_paging_is_not() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let users = key("GET", "/users/{user_id}");
        let products = key("GET", "/products");
        let auth = jwt("7");
        for page in 1..200 {
            let path = format!("/products?page={page}");
            t.observe(call(
                &products,
                &path,
                "10.0.0.2",
                &auth,
                b"ua",
                f64::from(page),
            ));
        }
        // A handful of non-sequential ids is normal browsing.
        for (i, id) in [5, 91, 17, 44, 3].iter().enumerate() {
            let path = format!("/users/{id}");
            t.observe(call(
                &users,
                &path,
                "10.0.0.2",
                &auth,
                b"ua",
                300.0 + i as f64,
            ));
        }
        assert!(t.drain().findings.is_empty());
        for id in 1000..1030 {
            let path = format!("/users/{id}");
            t.observe(call(
                &users,
                &path,
                "10.0.0.3",
                &jwt("9"),
                b"ua",
                400.0 + f64::from(id - 1000) * 0.1,
            ));
        }
        let f = t.drain().findings;
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].kind, f[0].principal.as_str()),
            ("enumeration", "sub:9")
        );
        assert!(f[0].evidence.contains("1000-1029"), "{}", f[0].evidence);
    }

    #[test]
    fn novel_transition_after_the_baseline() {
        let cfg = SequenceConfig {
            baseline_secs: 100,
            ..SequenceConfig::default()
        };
        let mut t = SequenceTracker::new(cfg);
        let (view, cart, checkout) = (
            key("GET", "/products/{id}"),
            key("POST", "/cart"),
            key("POST", "/checkout"),
        );
        for u in 0..6 {
            let auth = jwt(&format!("u{u}"));
            let base = f64::from(u) * 5.0;
            t.observe(call(&view, "/products/1", "10.0.0.9", &auth, b"ua", base));
            t.observe(call(&cart, "/cart", "10.0.0.9", &auth, b"ua", base + 1.0));
            t.observe(call(
                &checkout,
                "/checkout",
                "10.0.0.9",
                &auth,
                b"ua",
                base + 2.0,
            ));
        }
        // A normal flow after the baseline stays quiet; skipping the cart does not.
        let normal = jwt("late");
        t.observe(call(
            &view,
            "/products/2",
            "10.0.0.8",
            &normal,
            b"ua",
            200.0,
        ));
        t.observe(call(&cart, "/cart", "10.0.0.8", &normal, b"ua", 201.0));
        let skipper = jwt("skip");
        t.observe(call(
            &view,
            "/products/3",
            "10.0.0.7",
            &skipper,
            b"ua",
            210.0,
        ));
        t.observe(call(
            &checkout,
            "/checkout",
            "10.0.0.7",
            &skipper,
            b"ua",
            211.0,
        ));
        let f = t.drain().findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].kind, f[0].principal.as_str()),
            ("novel_transition", "sub:skip")
        );
    }

    #[test]
    fn fingerprint_change_but_not_roaming() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let k = key("GET", "/me");
        let roamer = jwt("roam");
        for i in 0..5 {
            t.observe(call(
                &k,
                "/me",
                "10.0.0.1",
                &roamer,
                b"Mozilla/5.0",
                f64::from(i),
            ));
        }
        for i in 0..5 {
            t.observe(call(
                &k,
                "/me",
                "10.0.0.2",
                &roamer,
                b"Mozilla/5.0",
                10.0 + f64::from(i),
            ));
        }
        assert!(
            t.drain().findings.is_empty(),
            "two addresses in turn with one fingerprint: roaming"
        );
        let victim = jwt("103");
        for i in 0..5 {
            t.observe(call(
                &k,
                "/me",
                "10.0.0.3",
                &victim,
                b"Mozilla/5.0",
                20.0 + f64::from(i),
            ));
        }
        t.observe(call(
            &k,
            "/me",
            "10.0.0.66",
            &victim,
            b"python-requests/2.31",
            30.0,
        ));
        let f = t.drain().findings;
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].kind, f[0].principal.as_str()),
            ("fingerprint_change", "sub:103")
        );
    }

    #[test]
    fn bursts_far_above_peers_are_rate_anomalies() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let k = key("GET", "/products/{id}");
        for u in 0..6 {
            let auth = jwt(&format!("p{u}"));
            for i in 0..10 {
                t.observe(call(
                    &k,
                    "/products/5",
                    "10.0.0.1",
                    &auth,
                    b"ua",
                    f64::from(i) * 2.0,
                ));
            }
        }
        let burster = jwt("b");
        for i in 0..10 {
            t.observe(call(
                &k,
                "/products/5",
                "10.0.0.2",
                &burster,
                b"ua",
                f64::from(i) * 3.0,
            ));
        }
        for i in 0..150 {
            let id = [3, 7, 9][i % 3];
            let path = format!("/products/{id}");
            t.observe(call(
                &k,
                &path,
                "10.0.0.2",
                &burster,
                b"ua",
                100.0 + i as f64 * 0.03,
            ));
        }
        let f = t.drain().findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].kind, f[0].principal.as_str()),
            ("rate_anomaly", "sub:b")
        );
    }

    #[test]
    fn a_uniformly_busy_host_raises_no_rate_anomaly() {
        // Eight equally busy batch clients: nobody is far above the others.
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let k = key("GET", "/products/{id}");
        for u in 0..8 {
            let auth = jwt(&format!("batch{u}"));
            for i in 0..200 {
                t.observe(call(
                    &k,
                    "/products/5",
                    "10.0.0.1",
                    &auth,
                    b"ua",
                    i as f64 * 0.05,
                ));
            }
        }
        assert!(t.drain().findings.is_empty());
    }

    #[test]
    fn many_users_behind_one_address_are_many_principals() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let (a, b) = (key("GET", "/a"), key("GET", "/b"));
        let (u1, u2) = (jwt("1"), jwt("2"));
        // Interleaved calls of two users behind one NAT address: each has its own session.
        t.observe(call(&a, "/a", "10.0.0.1", &u1, b"ua", 0.0));
        t.observe(call(&a, "/a", "10.0.0.1", &u2, b"ua", 1.0));
        t.observe(call(&b, "/b", "10.0.0.1", &u1, b"ua", 2.0));
        t.observe(call(&b, "/b", "10.0.0.1", &u2, b"ua", 3.0));
        let d = t.drain();
        assert_eq!(d.transitions.len(), 1, "only a -> b, never a -> a");
        assert_eq!(d.transitions[0].2.count, 2);
        assert_eq!(d.transitions[0].2.principals.estimate(), 2);
        assert_eq!(t.stats().sessions, 2);
    }

    #[test]
    fn principals_are_bounded_and_evictions_counted() {
        let cfg = SequenceConfig {
            max_principals: 4,
            ..SequenceConfig::default()
        };
        let mut t = SequenceTracker::new(cfg);
        let k = key("GET", "/a");
        for i in 0..10 {
            let ip = format!("10.0.0.{i}");
            t.observe(call(&k, "/a", &ip, &[], b"ua", f64::from(i)));
        }
        assert_eq!(t.principals.len(), 4);
        assert_eq!(t.stats().principals_evicted, 6);
        // The evicted principal starts a new session when it comes back.
        t.observe(call(&k, "/a", "10.0.0.0", &[], b"ua", 20.0));
        assert!(t.drain().transitions.is_empty());
    }

    #[test]
    fn remap_follows_converged_templates() {
        let mut t = SequenceTracker::new(SequenceConfig {
            baseline_secs: 100,
            ..SequenceConfig::default()
        });
        let auth = jwt("1");
        let list = key("GET", "/items");
        let literal = key("GET", "/items/abc");
        let templ = key("GET", "/items/{item}");
        for i in 0..6 {
            t.observe(call(
                &list,
                "/items",
                "10.0.0.1",
                &auth,
                b"ua",
                f64::from(i) * 2.0,
            ));
            t.observe(call(
                &literal,
                "/items/abc",
                "10.0.0.1",
                &auth,
                b"ua",
                f64::from(i) * 2.0 + 1.0,
            ));
        }
        let map: HashMap<EndpointKey, EndpointKey> =
            [(literal.clone(), templ.clone())].into_iter().collect();
        t.remap(&map);
        let d = t.drain();
        let pairs: BTreeSet<(String, String)> = d
            .transitions
            .iter()
            .map(|(f, to, _)| (f.template.clone(), to.template.clone()))
            .collect();
        assert!(
            pairs.contains(&("/items".into(), "/items/{item}".into())),
            "{pairs:?}"
        );
        assert!(
            !pairs
                .iter()
                .any(|(f, to)| f.contains("abc") || to.contains("abc"))
        );
        // After the baseline, the converged transition is known, not novel.
        t.observe(call(&list, "/items", "10.0.0.1", &auth, b"ua", 200.0));
        t.observe(call(&templ, "/items/xyz", "10.0.0.1", &auth, b"ua", 201.0));
        assert!(t.drain().findings.is_empty());
    }

    #[test]
    fn runs() {
        let s: BTreeSet<i64> = [1, 2, 3, 7, 8, 9, 10, 20].into_iter().collect();
        assert_eq!(longest_run(&s), (4, 7, 10));
        assert_eq!(longest_run(&BTreeSet::new()), (0, 0, 0));
        assert_eq!(
            param_values("/users/{id}/x", "/users/42/x"),
            vec![(1, "42".to_string())]
        );
        assert!(param_values("/users/{id}", "/users/42/extra").is_empty());
    }
}
