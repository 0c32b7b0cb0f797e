//! Call sequences: who calls what, in which order, and what is unusual.
//!
//! A *principal* is who calls: the credential when the request carries one (a JWT's `sub`, a
//! Basic user name, a keyed hash of an API key or session cookie), else the client address, so
//! that users behind one NAT are told apart and one user from several addresses stays one.
//! Each principal's calls on a host form sessions (split after `session_gap_secs` of silence);
//! consecutive calls within a session are *transitions* between endpoint templates, and runs of
//! three are *paths*.
//!
//! Sessions across the login boundary (principal stitching): a login is anonymous (its request
//! carries no credential yet) and the calls after it carry the credential it handed out, so
//! browsing and buying would be two principals and the step between them lost. A call without
//! credentials whose response hands one out ([`Call::issues_credential`]: a `Set-Cookie` with a
//! session-like name, or a JSON body with a token field) opens a *pending login* keyed by host,
//! client address and User-Agent; later anonymous calls from that address and User-Agent move
//! its end. When a credential principal starts a session (no call within `session_gap_secs`)
//! from the same address and User-Agent within `stitch_window_secs` of the login, its session
//! continues the anonymous one: its first transition is `last anonymous call -> first call with
//! the credential` (`GET /products/{id}/reviews -> POST /cart/items` when the reviews page set
//! the session cookie; `POST /login -> ...` after a login form), the 3-step path through it is
//! counted, no new session is counted, and the pending login is consumed (one credential per
//! login). The address principal keeps its own calls as before, so rates and enumeration are
//! still judged per address. Limits: users behind one NAT address with the same User-Agent who
//! log in within the window are not told apart (the first credential seen takes the anonymous
//! prefix); a credential first used from another address or client (an app handing its token
//! to a web view) is not stitched; a login whose response the sensor did not see, or that
//! hands its credential out in another form, is not recognised; stitching is per host. Pending
//! logins are a bounded least-recently-used table (`max_pending_logins`); evictions
//! (`logins_evicted`) and stitches (`stitched`) are counted.
//!
//! Detectors (each says why, in words and figures):
//! - `enumeration`: one principal walks many distinct values of one path parameter within
//!   `enum_window_secs`. Query parameters (paging) do not count. Two rules:
//!   * integer identifiers: at least `enum_min_distinct` distinct integers with a run of
//!     `enum_min_run` consecutive ones (the classic object-level authorization scrape), or
//!     `enum_any_distinct` distinct integers whatever they are. Kept exactly (the integers, not
//!     the text), the evidence names the range walked.
//!   * string identifiers (user names, slugs, gist ids: a parameter the template learner did not
//!     type `typed:integer`, or a literal in one of the last two segments that the learner may
//!     still turn into one): per (principal, endpoint, position) a distinct-value sketch (the
//!     hashes of up to 64 values exactly, then a HyperLogLog) with the window's statuses, and
//!     per (endpoint, position) a norm: how many distinct values principals ask for per window
//!     (a histogram in powers of two). It fires when, within one window, the principal asked
//!     for at least `enum_str_min_distinct` distinct values of which at least
//!     `enum_str_not_found_share` were answered 404/410 (guessing names to learn which exist),
//!     or for at least `enum_str_norm_min_distinct` and `enum_str_norm_factor` times the norm
//!     of the other principals (at least `enum_str_min_peers` of them; the norm is the upper
//!     end of their median's power-of-two bucket), or for `enum_any_distinct` whatever the
//!     answers. A client reading a few dozen repositories of its organisation with 200s stays
//!     quiet; one asking for a hundred user names, most of them unknown, does not. The finding
//!     is reported once the endpoint's template has a parameter at that position (a literal
//!     waits for the learner; until then nothing is said). Raw values are never kept or shown:
//!     findings give counts only. Windows are tumbling (they start at the principal's first
//!     call on the endpoint), so a walk split across two windows needs the threshold in one.
//!     Memory: at most 32 sketches per principal (the least recently grown dropped),
//!     `max_string_sketches` in all and `max_string_hlls` of them beyond 64 values (1 KiB
//!     each), `max_norms` norms; what a cap refuses is counted (`enum_sketches_over_cap`).
//! - `novel_transition`: after the baseline period, a transition the baseline never saw, from
//!   an endpoint whose usual successors are well known (e.g. checkout without the cart).
//! - `rate_anomaly`: a principal's peak rate far above its own earlier rate and its peers'
//!   (median + median absolute deviation), unless an enumeration already explains it.
//! - `fingerprint_change`: the same credential presented with another client fingerprint
//!   (User-Agent, Accept-Language), or from several addresses at once.
//!
//! State is bounded: principals are kept in a least-recently-used table, by count
//! (`max_principals`) and by the memory they hold (`max_principal_bytes`, estimated from the
//! capacities of each principal's collections); evictions are counted. Interned endpoints,
//! baseline transitions, norms, pending logins and the transitions and paths held until a drain
//! have caps of their own; the daemon derives all of them from its memory budget.

use super::auth::{AuthEvidence, AuthScheme, PrincipalHint};
use super::endpoint::EndpointKey;
use super::hll::Hll;
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
    /// String identifiers: distinct values within the window that, mostly answered 404/410,
    /// raise `enumeration` ...
    pub enum_str_min_distinct: usize,
    /// ... with at least this share of the window's requests answered 404 or 410.
    pub enum_str_not_found_share: f64,
    /// String identifiers: distinct values within the window that raise `enumeration` when
    /// they are also `enum_str_norm_factor` times the other principals' norm on the endpoint.
    pub enum_str_norm_min_distinct: usize,
    /// See `enum_str_norm_min_distinct`.
    pub enum_str_norm_factor: f64,
    /// Other principals (windows) an endpoint's norm needs before it is trusted.
    pub enum_str_min_peers: usize,
    /// String sketches (principal, endpoint, position) kept at once, all principals together.
    pub max_string_sketches: usize,
    /// Of them, sketches past 64 distinct values (a 1 KiB HyperLogLog each).
    pub max_string_hlls: usize,
    /// A credential principal starting a session this soon after an anonymous login from the
    /// same address and User-Agent continues that session (0: never).
    pub stitch_window_secs: i64,
    /// Anonymous logins waiting for their credential (least recently active evicted beyond).
    pub max_pending_logins: usize,
    /// Memory of the principals' state (sessions, enumeration windows, string sketches, rate
    /// windows, credential addresses), estimated from the sizes of their collections: the least
    /// recently active principals are evicted beyond (`principals_evicted`).
    pub max_principal_bytes: usize,
    /// Endpoints known to the tracker (interned once, about [`KEY_BYTES`] each); calls to
    /// further endpoints are not followed (`over_cap`).
    pub max_keys: usize,
    /// Baseline transitions (from, to) kept for `novel_transition`.
    pub max_baseline: usize,
    /// Norms of string parameters (endpoint, position), about [`NORM_BYTES`] each.
    pub max_norms: usize,
    /// Transitions and 3-step paths held between two drains.
    pub max_transitions: usize,
    /// See `max_transitions`.
    pub max_paths: usize,
}

/// Memory of one interned endpoint key at most (two copies of the key and their table and
/// vector slots), for dividing a memory share into `max_keys`.
pub const KEY_BYTES: usize = 512;
/// Memory of one baseline transition (table slots of `baseline` and `baseline_from`).
pub const BASELINE_BYTES: usize = 64;
/// Memory of one transition or path held until the drain, with a small principal sketch.
pub const TRANSITION_BYTES: usize = 256;
/// Memory of one norm.
pub const NORM_BYTES: usize = 128;
/// Memory of one pending login.
pub const LOGIN_BYTES: usize = 128;

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
            enum_str_min_distinct: 30,
            enum_str_not_found_share: 0.5,
            enum_str_norm_min_distinct: 50,
            enum_str_norm_factor: 10.0,
            enum_str_min_peers: 5,
            max_string_sketches: 200_000,
            max_string_hlls: 4096,
            stitch_window_secs: 300,
            max_pending_logins: 50_000,
            max_principal_bytes: 256 << 20,
            max_keys: 500_000,
            max_baseline: 200_000,
            max_norms: 100_000,
            max_transitions: 50_000,
            max_paths: 20_000,
        }
    }
}

/// Counters of the sequence analysis.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
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
    /// String-identifier sketches (or norms) not created, or not grown past 64 values, because
    /// of a cap.
    pub enum_sketches_over_cap: u64,
    /// Credential sessions that continued an anonymous session after a login.
    pub stitched: u64,
    /// Pending anonymous logins evicted before a credential followed them.
    pub logins_evicted: u64,
}

crate::counters!(SequenceStats {
    calls,
    transitions,
    sessions,
    principals_evicted,
    over_cap,
    enum_sketches_over_cap,
    stitched,
    logins_evicted,
});

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

/// Integer values of one path parameter by one principal, within the window (exactly).
struct Enum {
    values: VecDeque<(Timestamp, i64)>,
    /// Occurrences of each value within the window.
    counts: HashMap<i64, u32>,
    reported: bool,
    /// Reported at the next drain, with the range walked by then.
    pending: bool,
}

/// Hashes of distinct values kept exactly before a string sketch becomes a HyperLogLog.
const STR_EXACT: usize = 64;
/// String sketches per principal (the least recently grown are dropped beyond).
const STR_PER_PRINCIPAL: usize = 32;
/// Buckets of a norm: distinct values per principal and window in powers of two (1, 2-3, 4-7,
/// ...; the last one open).
const NORM_BUCKETS: usize = 16;

/// Per (endpoint, position): principal windows by the number of distinct values asked for.
type Norm = [u32; NORM_BUCKETS];

/// Why a string enumeration was raised.
#[derive(Clone, Copy, Debug, PartialEq)]
enum StrWhy {
    /// Mostly answered 404/410.
    NotFound,
    /// Far above the other principals' norm: `peers` windows, median at most `norm` values.
    Norm { peers: u64, norm: u64 },
    /// More distinct values than `enum_any_distinct`.
    Many,
}

/// The figures of a string sketch's window when it was judged (and while it lasts).
#[derive(Clone, Copy, Debug)]
struct StrSnap {
    distinct: u64,
    estimated: bool,
    requests: u32,
    not_found: u32,
    ok: u32,
    t0: Timestamp,
    t1: Timestamp,
    why: StrWhy,
}

/// Distinct values of one string path parameter (or of a literal in identifier position) by
/// one principal within a window: hashes only, never the values.
struct StrEnum {
    /// The endpoint of the latest call (the finding is attached to it).
    ep: Ep,
    /// Segment position in the template.
    pos: usize,
    /// Start of the (tumbling) window and latest call.
    start: Timestamp,
    last: Timestamp,
    /// Hashes of the values, exactly, up to [`STR_EXACT`] ...
    exact: Vec<u64>,
    /// ... then a sketch.
    hll: Option<Box<Hll>>,
    /// The sketch's estimate (recomputed when it changes).
    estimate: u64,
    /// The exact set is full and no sketch could be had (counted once).
    saturated: bool,
    requests: u32,
    not_found: u32,
    ok: u32,
    /// Bucket of the endpoint's norm this window is counted in.
    bucket: Option<u8>,
    reported: bool,
    /// Reported at a drain, once the template has a parameter at `pos`.
    pending: bool,
    snap: Option<StrSnap>,
}

impl StrEnum {
    fn new(ep: Ep, pos: usize, ts: Timestamp) -> StrEnum {
        StrEnum {
            ep,
            pos,
            start: ts,
            last: ts,
            exact: Vec::new(),
            hll: None,
            estimate: 0,
            saturated: false,
            requests: 0,
            not_found: 0,
            ok: 0,
            bucket: None,
            reported: false,
            pending: false,
            snap: None,
        }
    }

    fn distinct(&self) -> u64 {
        if self.hll.is_some() {
            self.estimate
        } else {
            self.exact.len() as u64
        }
    }

    fn snapshot(&self, why: StrWhy) -> StrSnap {
        StrSnap {
            distinct: self.distinct(),
            estimated: self.hll.is_some(),
            requests: self.requests,
            not_found: self.not_found,
            ok: self.ok,
            t0: self.start,
            t1: self.last,
            why,
        }
    }
}

/// The norm bucket of a number of distinct values (at least 1).
fn norm_bucket(distinct: u64) -> u8 {
    ((63 - distinct.max(1).leading_zeros()) as usize).min(NORM_BUCKETS - 1) as u8
}

/// The other principals' windows of a norm (without `own`) and the upper end of their median's
/// bucket, when there are at least `min_peers` of them.
fn norm_of_others(norm: &Norm, own: Option<u8>, min_peers: usize) -> Option<(u64, u64)> {
    let mut h = *norm;
    if let Some(b) = own {
        h[b as usize] = h[b as usize].saturating_sub(1);
    }
    let total: u64 = h.iter().map(|&n| u64::from(n)).sum();
    if total == 0 || total < min_peers as u64 {
        return None;
    }
    let target = (total - 1) / 2;
    let mut cum = 0u64;
    for (b, &n) in h.iter().enumerate() {
        cum += u64::from(n);
        if cum > target {
            return Some((total, (1u64 << (b + 1)) - 1));
        }
    }
    None
}

/// An anonymous login waiting for its credential: the latest anonymous call of its address and
/// User-Agent since (and the one before), and when the credential was handed out.
struct PendingLogin {
    last: (Ep, Timestamp),
    prev: Option<Ep>,
    login: Timestamp,
}

struct PrincipalState {
    /// `sub:…`, `addr:…`: how findings name it (computed once).
    label: String,
    host: String,
    last: Option<(Ep, Timestamp)>,
    prev: Option<Ep>,
    /// Hash of the User-Agent of the last call (an address principal's calls may come from
    /// several clients behind one NAT).
    last_ua: u64,
    enums: HashMap<(Ep, usize), Enum>,
    /// String sketches by (endpoint pattern, position) key, see [`pattern_key`].
    strs: HashMap<u64, StrEnum>,
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
    /// Its memory, with its credential's, as last estimated (see [`principal_bytes`]).
    bytes: usize,
}

impl PrincipalState {
    fn new(label: String, host: String) -> Self {
        PrincipalState {
            label,
            host,
            last: None,
            prev: None,
            last_ua: 0,
            enums: HashMap::new(),
            strs: HashMap::new(),
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
            bytes: 0,
        }
    }
}

/// Bytes of a hash table of `cap` entries of type `T` (hashbrown: buckets a power of two at
/// most 7/8 full, one control byte each).
fn table_bytes<T>(cap: usize) -> usize {
    if cap == 0 {
        return 0;
    }
    let buckets = (cap * 8 / 7).next_power_of_two();
    buckets * (size_of::<T>() + 1)
}

/// Memory a principal holds, with its credential's: its record in the least-recently-used
/// table and the heap of every collection it owns, from their capacities (an allocator's own
/// rounding aside). What `max_principal_bytes` is held to.
fn principal_bytes(st: &PrincipalState, cred: Option<&Credential>) -> usize {
    // The LRU entry (key, value, two links), its table slot, and the two strings.
    let mut n = size_of::<PrincipalState>() + 40 + st.label.capacity() + st.host.capacity();
    n += st.secs.capacity() * size_of::<(i64, u32)>();
    // A B-tree node holds up to 11 addresses: count a node per address beyond the first.
    n += st.addrs.len().div_ceil(11) * (11 * size_of::<IpAddr>() + 16);
    n += table_bytes::<((Ep, usize), Enum)>(st.enums.capacity());
    for e in st.enums.values() {
        n += e.values.capacity() * size_of::<(Timestamp, i64)>();
        n += table_bytes::<(i64, u32)>(e.counts.capacity());
    }
    n += table_bytes::<(u64, StrEnum)>(st.strs.capacity());
    for e in st.strs.values() {
        n += e.exact.capacity() * size_of::<u64>();
        n += e
            .hll
            .as_ref()
            .map_or(0, |h| size_of::<Hll>() + h.heap_bytes());
    }
    if let Some(c) = cred {
        n += size_of::<Credential>() + 40 + c.addrs.capacity() * size_of::<(Timestamp, IpAddr)>();
    }
    n
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
    fn intern(&mut self, k: &EndpointKey, max: usize) -> Option<Ep> {
        if let Some(id) = self.ids.get(k) {
            return Some(*id);
        }
        if self.names.len() >= max {
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
    /// Norms of string parameters, by (endpoint pattern, position) key.
    norms: HashMap<u64, Norm>,
    /// String sketches alive, and of them HyperLogLogs.
    str_sketches: usize,
    str_hlls: usize,
    /// Anonymous logins by (host, address, User-Agent).
    logins: LruCache<u64, PendingLogin, foldhash::fast::RandomState>,
    /// Memory of all principals, as last estimated, and the principal whose estimate is due.
    principal_bytes: usize,
    touched: Option<u64>,
}

/// Addresses a credential remembers within `multi_addr_window_secs` (the finding needs
/// `multi_addr_min` of them, and names five).
const CREDENTIAL_ADDRS: usize = 64;

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
    /// Template segment positions (bit `i` for segment `i`, below 64) of the path parameters
    /// the template learner typed as integers (`typed:integer`): left to the integer rule.
    pub integer_params: u64,
    /// The response handed out a credential (a session-like `Set-Cookie`, a token in a JSON
    /// body): a login, see the module docs.
    pub issues_credential: bool,
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
        let cfg_logins = cfg.max_pending_logins.max(1);
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
            norms: HashMap::new(),
            str_sketches: 0,
            str_hlls: 0,
            logins: LruCache::with_hasher(
                NonZeroUsize::new(cfg_logins).unwrap_or(NonZeroUsize::MIN),
                foldhash::fast::RandomState::default(),
            ),
            principal_bytes: 0,
            touched: None,
        }
    }

    /// Memory the principals hold now, as estimated (at most `max_principal_bytes`, give or
    /// take the growth of the principal of the latest call).
    pub fn principal_bytes(&self) -> usize {
        self.principal_bytes
    }

    /// Principals tracked now.
    pub fn principals(&self) -> usize {
        self.principals.len()
    }

    /// Re-estimates the principal of the previous call, then evicts the least recently active
    /// principals while all of them hold more than `max_principal_bytes`.
    fn account(&mut self) {
        if let Some(pid) = self.touched.take()
            && let Some(st) = self.principals.peek_mut(&pid)
        {
            let n = principal_bytes(st, self.credentials.peek(&pid));
            self.principal_bytes = self.principal_bytes.saturating_sub(st.bytes) + n;
            st.bytes = n;
        }
        while self.principal_bytes > self.cfg.max_principal_bytes && self.principals.len() > 1 {
            let Some((pid, st)) = self.principals.pop_lru() else {
                break;
            };
            self.stats.principals_evicted += 1;
            self.release(&st);
            self.credentials.pop(&pid);
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &SequenceStats {
        &self.stats
    }

    /// Seeds the baseline with transitions already in the inventory (earlier ingests).
    pub fn seed_baseline(&mut self, from: EndpointKey, to: EndpointKey, count: u64) {
        if self.baseline.len() >= self.cfg.max_baseline {
            return;
        }
        let (Some(f), Some(t)) = (
            self.keys.intern(&from, self.cfg.max_keys),
            self.keys.intern(&to, self.cfg.max_keys),
        ) else {
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

    /// The key of a pending login: host, client address and User-Agent.
    fn login_key(&self, host: &str, client: IpAddr, ua: &[u8]) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = self.hasher.build_hasher();
        0x10u8.hash(&mut h);
        host.hash(&mut h);
        client.hash(&mut h);
        ua.hash(&mut h);
        h.finish()
    }

    /// Gives back what an evicted principal held (its memory, its string sketches).
    fn release(&mut self, st: &PrincipalState) {
        self.principal_bytes = self.principal_bytes.saturating_sub(st.bytes);
        self.str_sketches = self.str_sketches.saturating_sub(st.strs.len());
        let hlls = st.strs.values().filter(|e| e.hll.is_some()).count();
        self.str_hlls = self.str_hlls.saturating_sub(hlls);
    }

    /// Follows one call.
    pub fn observe(&mut self, call: Call<'_>) {
        self.account();
        self.stats.calls += 1;
        let Some(ep) = self.keys.intern(call.key, self.cfg.max_keys) else {
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
            let (label, _) = principal(call.auth, call.client);
            if let Some((old, st)) = self
                .principals
                .push(pid, PrincipalState::new(label, host.to_string()))
                && old != pid
            {
                self.stats.principals_evicted += 1;
                self.release(&st);
            }
        }
        if credentialed {
            self.credential(pid, &call);
        }
        let gap = self.cfg.session_gap_secs.saturating_mul(1_000_000_000);

        // A credential principal starting a session right after an anonymous login of its
        // address and User-Agent continues that session (see the module docs).
        let login_key = self.login_key(host, call.client, call.fingerprint.0);
        let mut stitched: Option<PendingLogin> = None;
        if credentialed && self.cfg.stitch_window_secs > 0 {
            let fresh = self
                .principals
                .peek(&pid)
                .is_none_or(|st| st.last.is_none_or(|(_, t)| call.ts.nanos_since(t) > gap));
            let window = self.cfg.stitch_window_secs.saturating_mul(1_000_000_000);
            if fresh
                && self.logins.peek(&login_key).is_some_and(|l| {
                    let since = call.ts.nanos_since(l.login);
                    (0..=window).contains(&since) && call.ts.nanos_since(l.last.1) <= gap
                })
            {
                stitched = self.logins.pop(&login_key);
                self.stats.stitched += 1;
            }
        }

        self.touched = Some(pid);
        let cfg = &self.cfg;
        let Some(st) = self.principals.get_mut(&pid) else {
            return;
        };
        if st.addrs.len() < 16 || st.addrs.contains(&call.client) {
            st.addrs.insert(call.client);
        }
        if let Some(l) = &stitched {
            st.last = Some(l.last);
            st.prev = l.prev;
        }

        // Sessions and transitions.
        let mut transition: Option<(Ep, u64)> = None;
        match st.last {
            Some((prev, t)) if call.ts.nanos_since(t) <= gap => {
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
        let ua = fingerprint_hash(call.fingerprint.0, b"");
        let same_client = std::mem::replace(&mut st.last_ua, ua) == ua;

        // Anonymous logins and the anonymous calls after them, by address and User-Agent.
        if !credentialed && cfg.stitch_window_secs > 0 {
            if call.issues_credential {
                let pending = PendingLogin {
                    last: (ep, call.ts),
                    // The call before, when the same client (User-Agent) made it.
                    prev: st.prev.filter(|_| same_client),
                    login: call.ts,
                };
                if let Some((old, _)) = self.logins.push(login_key, pending)
                    && old != login_key
                {
                    self.stats.logins_evicted += 1;
                }
            } else if let Some(l) = self.logins.get_mut(&login_key) {
                l.prev = Some(l.last.0);
                l.last = (ep, call.ts);
            }
        }

        // Enumeration of path parameter values: integers exactly (runs) ...
        for (i, value) in param_values(&call.key.template, call.path) {
            let Ok(value) = value.parse::<i64>() else {
                continue;
            };
            let e = st.enums.entry((ep, i)).or_insert_with(|| Enum {
                values: VecDeque::new(),
                counts: HashMap::new(),
                reported: false,
                pending: false,
            });
            let new_value = {
                let n = e.counts.entry(value).or_insert(0);
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
            let ints: BTreeSet<i64> = e.counts.keys().copied().collect();
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

        // ... and string identifiers as sketches.
        let positions = string_positions(&self.hasher, &call);
        if !positions.is_empty() {
            let counts = StrCounts {
                sketches: &mut self.str_sketches,
                hlls: &mut self.str_hlls,
                norms: &mut self.norms,
                stats: &mut self.stats,
            };
            track_strings(st, counts, cfg, ep, &call, &positions);
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
        } else if self.transitions.len() < self.cfg.max_transitions {
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
            if self.baseline.len() < self.cfg.max_baseline || self.baseline.contains_key(&pair) {
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
                if self.baseline.len() < self.cfg.max_baseline {
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
            } else if self.paths.len() < self.cfg.max_paths {
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
            || c.addrs.len() > CREDENTIAL_ADDRS
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
                let ints: BTreeSet<i64> = e.counts.keys().copied().collect();
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
        // String identifiers, once the endpoint's template has a parameter at the position.
        let window = cfg.enum_window_secs;
        for (_, st) in self.principals.iter_mut() {
            let PrincipalState {
                label: who,
                strs,
                enums,
                addrs,
                enum_reported,
                ..
            } = st;
            for e in strs.values_mut().filter(|e| e.pending) {
                let key = self.keys.name(e.ep);
                let Some(param) = key
                    .template
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .nth(e.pos)
                    .filter(|s| is_param(s))
                else {
                    // A literal the learner has not generalised (yet): nothing to say.
                    continue;
                };
                e.pending = false;
                let Some(snap) = e.snap else { continue };
                if let Some(x) = enums.get_mut(&(e.ep, e.pos)) {
                    if x.reported {
                        // Already reported as a walk over integers.
                        continue;
                    }
                    x.reported = true;
                }
                *enum_reported = true;
                let secs = snap.t1.nanos_since(snap.t0) as f64 / 1e9;
                let distinct = if snap.estimated {
                    format!("about {}", snap.distinct)
                } else {
                    snap.distinct.to_string()
                };
                let addrs = addrs
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let why = match snap.why {
                    StrWhy::NotFound => format!(
                        "{} of the {} requests were answered 404/410: guessing identifiers (user names, slugs) to learn which exist is enumeration.",
                        snap.not_found, snap.requests
                    ),
                    StrWhy::Norm { peers, norm } => format!(
                        "far beyond the other callers of this endpoint ({peers} principal windows of {window} s, median at most {norm} distinct values): walking identifiers like this is how objects are scraped."
                    ),
                    StrWhy::Many => {
                        "far more objects than a client reads: walking identifiers like this is how objects are scraped.".to_string()
                    }
                };
                self.findings.push(SequenceFinding {
                    kind: "enumeration",
                    endpoint: key.clone(),
                    principal: who.clone(),
                    detail: format!(
                        "{who} requested {distinct} distinct values of the path parameter {param} within {secs:.0} s; {why}"
                    ),
                    evidence: format!(
                        "{} {}: {distinct} distinct values of {param} in {} requests ({} answered 404/410, {} 2xx) from {addrs}",
                        key.method, key.template, snap.requests, snap.not_found, snap.ok
                    ),
                    ts: snap.t1,
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
            for e in st.strs.values_mut() {
                e.ep = m(e.ep);
            }
            if st.enums.keys().any(|(k, _)| merged.contains_key(k)) {
                st.enums = std::mem::take(&mut st.enums)
                    .into_iter()
                    .map(|((k, i), e)| ((m(k), i), e))
                    .collect();
            }
        }
        for (_, l) in self.logins.iter_mut() {
            l.last.0 = m(l.last.0);
            l.prev = l.prev.map(m);
        }
    }
}

/// Whether a template segment is a parameter (`{name}`, the whole segment).
fn is_param(seg: &str) -> bool {
    seg.len() >= 2 && seg.starts_with('{') && seg.ends_with('}')
}

/// The key of a string sketch or norm: host, method and the template's segments with the one at
/// `pos` left out and parameter names erased, so `/users/alice` (a literal the learner has not
/// generalised yet), `/users/{user}` and `/users/{username}` share the key of position 1.
fn pattern_key(
    hasher: &foldhash::fast::FixedState,
    key: &EndpointKey,
    segs: &[&str],
    pos: usize,
) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = hasher.build_hasher();
    key.host.hash(&mut h);
    key.method.hash(&mut h);
    segs.len().hash(&mut h);
    pos.hash(&mut h);
    for (j, seg) in segs.iter().enumerate() {
        if j == pos {
            continue;
        }
        if is_param(seg) { "{}" } else { seg }.hash(&mut h);
    }
    h.finish()
}

/// The string-identifier positions of a call: `(key, position, hash of the value)` for every
/// parameter not typed as an integer and for a literal in one of the last two segments (never
/// the first). Nothing when the path and the template do not line up.
fn string_positions(
    hasher: &foldhash::fast::FixedState,
    call: &Call<'_>,
) -> Vec<(u64, usize, u64)> {
    use std::hash::BuildHasher;
    let template = call.key.template.as_str();
    let segs: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty() || segs.len() > 64 {
        return Vec::new();
    }
    let n = segs.len();
    if call.path.split('/').filter(|s| !s.is_empty()).count() != n {
        return Vec::new();
    }
    let values = call.path.split('/').filter(|s| !s.is_empty());
    let mut out = Vec::new();
    for ((i, seg), value) in segs.iter().enumerate().zip(values) {
        let candidate = if is_param(seg) {
            call.integer_params & (1u64 << i) == 0
        } else {
            i >= 1 && i + 2 >= n && !seg.contains('{')
        };
        if candidate {
            let value = value.as_bytes();
            let value = &value[..value.len().min(256)];
            out.push((
                pattern_key(hasher, call.key, &segs, i),
                i,
                hasher.hash_one(value),
            ));
        }
    }
    out
}

/// The tracker's counters and tables a principal's string sketches update.
struct StrCounts<'a> {
    sketches: &'a mut usize,
    hlls: &'a mut usize,
    norms: &'a mut HashMap<u64, Norm>,
    stats: &'a mut SequenceStats,
}

/// Folds one call into a principal's string sketches and judges them (see the module docs).
fn track_strings(
    st: &mut PrincipalState,
    c: StrCounts<'_>,
    cfg: &SequenceConfig,
    ep: Ep,
    call: &Call<'_>,
    positions: &[(u64, usize, u64)],
) {
    let window = cfg.enum_window_secs.saturating_mul(1_000_000_000);
    let ts = call.ts;
    for &(key, pos, value) in positions {
        let e = match st.strs.entry(key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                if *c.sketches >= cfg.max_string_sketches {
                    c.stats.enum_sketches_over_cap += 1;
                    continue;
                }
                *c.sketches += 1;
                v.insert(StrEnum::new(ep, pos, ts))
            }
        };
        e.ep = ep;
        if ts.nanos_since(e.start) > window {
            // A new window; the norm keeps the old one's count.
            if e.hll.take().is_some() {
                *c.hlls = c.hlls.saturating_sub(1);
            }
            e.exact.clear();
            e.estimate = 0;
            e.saturated = false;
            e.requests = 0;
            e.not_found = 0;
            e.ok = 0;
            e.bucket = None;
            e.start = ts;
        }
        e.last = e.last.max(ts);
        e.requests = e.requests.saturating_add(1);
        e.not_found = e
            .not_found
            .saturating_add(u32::from(matches!(call.status, 404 | 410)));
        e.ok =
            e.ok.saturating_add(u32::from((200..300).contains(&call.status)));
        let grew = match &mut e.hll {
            Some(h) => {
                let changed = h.insert(&value.to_le_bytes());
                if changed {
                    e.estimate = h.estimate();
                }
                changed
            }
            None if e.exact.contains(&value) => false,
            None if e.exact.len() < STR_EXACT => {
                e.exact.push(value);
                true
            }
            None if *c.hlls < cfg.max_string_hlls => {
                let mut h = Box::new(Hll::default());
                for v in e.exact.iter().chain([&value]) {
                    h.insert(&v.to_le_bytes());
                }
                e.estimate = h.estimate();
                e.exact = Vec::new();
                e.hll = Some(h);
                *c.hlls += 1;
                true
            }
            None => {
                if !e.saturated {
                    e.saturated = true;
                    c.stats.enum_sketches_over_cap += 1;
                }
                false
            }
        };
        let distinct = e.distinct();
        // The endpoint's norm counts this window by its distinct values so far.
        let bucket = norm_bucket(distinct);
        if (grew || e.bucket.is_none()) && e.bucket != Some(bucket) {
            if c.norms.len() < cfg.max_norms || c.norms.contains_key(&key) {
                let norm = c.norms.entry(key).or_default();
                if let Some(old) = e.bucket.filter(|b| (*b as usize) < NORM_BUCKETS) {
                    norm[old as usize] = norm[old as usize].saturating_sub(1);
                }
                norm[bucket as usize] = norm[bucket as usize].saturating_add(1);
                e.bucket = Some(bucket);
            } else if e.bucket.is_none() {
                c.stats.enum_sketches_over_cap += 1;
                e.bucket = Some(u8::MAX);
            }
        }
        if e.reported {
            // Keep the figures of the reported window up to date until the drain.
            if let Some(snap) = e.snap.filter(|s| e.pending && s.t0 == e.start) {
                e.snap = Some(e.snapshot(snap.why));
            }
            continue;
        }
        if distinct
            < cfg
                .enum_str_min_distinct
                .min(cfg.enum_str_norm_min_distinct) as u64
        {
            continue;
        }
        let not_found_share = f64::from(e.not_found) / f64::from(e.requests.max(1));
        let why = if distinct >= cfg.enum_str_min_distinct as u64
            && not_found_share >= cfg.enum_str_not_found_share
        {
            Some(StrWhy::NotFound)
        } else if distinct >= cfg.enum_any_distinct as u64 {
            Some(StrWhy::Many)
        } else if distinct >= cfg.enum_str_norm_min_distinct as u64 {
            let own = e.bucket.filter(|b| (*b as usize) < NORM_BUCKETS);
            c.norms
                .get(&key)
                .and_then(|n| norm_of_others(n, own, cfg.enum_str_min_peers))
                .filter(|(_, norm)| distinct as f64 >= cfg.enum_str_norm_factor * *norm as f64)
                .map(|(peers, norm)| StrWhy::Norm { peers, norm })
        } else {
            None
        };
        if let Some(why) = why {
            e.reported = true;
            e.pending = true;
            e.snap = Some(e.snapshot(why));
        }
    }
    if st.strs.len() > STR_PER_PRINCIPAL {
        // Keep the most recently grown ones.
        let mut keys: Vec<(Timestamp, u64)> = st.strs.iter().map(|(k, e)| (e.last, *k)).collect();
        keys.sort_unstable();
        for (_, k) in keys.into_iter().take(st.strs.len() - STR_PER_PRINCIPAL) {
            if let Some(e) = st.strs.remove(&k) {
                *c.sketches = c.sketches.saturating_sub(1);
                if e.hll.is_some() {
                    *c.hlls = c.hlls.saturating_sub(1);
                }
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
            location: "authorization".into(),
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
            integer_params: 0,
            issues_credential: false,
        }
    }

    fn cookie(hash: &str) -> Vec<AuthEvidence> {
        vec![AuthEvidence {
            scheme: AuthScheme::Cookie,
            location: "session".into(),
            principal_hint: PrincipalHint::KeyedHash(hash.into()),
        }]
    }

    /// A call answered `status`.
    fn answered(c: Call<'_>, status: u16) -> Call<'_> {
        Call { status, ..c }
    }

    fn transitions_of(d: &SequenceDrain) -> BTreeSet<(String, String, u64)> {
        d.transitions
            .iter()
            .map(|(f, t, x)| {
                (
                    format!("{} {}", f.method, f.template),
                    format!("{} {}", t.method, t.template),
                    x.count,
                )
            })
            .collect()
    }

    /// `n` user names, none of them a word of the tests' assertions.
    fn names(n: usize, prefix: &str) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i:03}x")).collect()
    }

    /// A stream of new endpoints (and string values on them) keeps the interned keys,
    /// transitions, paths, baseline and norms within their caps, and within the bytes per entry
    /// the daemon divides its share by.
    #[test]
    fn sequence_tables_stay_within_their_caps() {
        let cfg = SequenceConfig {
            max_keys: 2_000,
            max_transitions: 500,
            max_paths: 500,
            max_baseline: 1_000,
            max_norms: 300,
            baseline_secs: 1_000_000,
            ..SequenceConfig::default()
        };
        let budget = 2_000 * KEY_BYTES
            + 1_000 * TRANSITION_BYTES
            + 1_000 * BASELINE_BYTES
            + 300 * NORM_BYTES;
        let mut t = SequenceTracker::new(cfg);
        let base = crate::testalloc::held();
        let auth = jwt("walker");
        let mut peak = 0isize;
        for i in 0..20_000u32 {
            let k = key("GET", &format!("/r{i}/items/{{item}}"));
            let path = format!("/r{i}/items/name{i}x");
            t.observe(call(&k, &path, "10.0.0.9", &auth, b"ua", f64::from(i)));
            peak = peak.max(crate::testalloc::held() - base);
        }
        assert_eq!(t.keys.names.len(), 2_000);
        assert!(t.transitions.len() <= 500 && t.paths.len() <= 500);
        assert!(t.baseline.len() <= 1_000);
        assert!(t.norms.len() <= 300, "{}", t.norms.len());
        assert!(t.stats().over_cap > 0);
        // The one principal's own state is bounded apart (`max_principal_bytes`).
        let own = t.principal_bytes() as isize;
        assert!(
            peak - own <= budget as isize,
            "{peak} bytes ({own} of them the principal's) > {budget}"
        );
    }

    /// A stream of new principals, each walking integer ids and names on two endpoints (the
    /// state that grows fastest), keeps the principals within `max_principal_bytes` by the
    /// tracker's estimate and by what the allocator really holds.
    #[test]
    fn principals_stay_within_their_bytes() {
        let max = 4 << 20;
        let cfg = SequenceConfig {
            max_principal_bytes: max,
            max_principals: 50_000,
            ..SequenceConfig::default()
        };
        let orders = key("GET", "/orders/{order_id}");
        let users = key("GET", "/users/{user}");
        let mut t = SequenceTracker::new(cfg);
        let tables = crate::testalloc::held();
        let (mut peak_est, mut peak_held) = (0usize, 0isize);
        for i in 0..40_000u32 {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            let auth = if i % 2 == 0 {
                jwt(&format!("u{i}"))
            } else {
                Vec::new()
            };
            for j in 0..12u32 {
                let secs = f64::from(i) * 0.01 + f64::from(j) * 0.001;
                let path = format!("/orders/{}", i * 12 + j);
                let c = Call {
                    integer_params: 1 << 1,
                    ..call(&orders, &path, &ip, &auth, b"ua", secs)
                };
                t.observe(answered(c, 404));
                let path = format!("/users/n{j}x{i}");
                t.observe(answered(call(&users, &path, &ip, &auth, b"ua", secs), 404));
            }
            if i % 1000 == 999 {
                peak_est = peak_est.max(t.principal_bytes());
                peak_held = peak_held.max(crate::testalloc::held() - tables);
                t.drain();
            }
        }
        eprintln!(
            "principals: estimate peak {peak_est}, held peak {peak_held}, bound {max}, {} kept",
            t.principals()
        );
        assert!(peak_est <= max + 16 * 1024, "estimate {peak_est} > {max}");
        // What the allocator holds beyond the preallocated tables: the principals, plus the
        // interned keys, norms and findings (small here).
        assert!(
            peak_held as usize <= max + max / 4,
            "held {peak_held} > {max} + 25%"
        );
        assert!(
            peak_held as usize >= max / 2,
            "the estimate is not far above the truth: held {peak_held}"
        );
        assert!(t.stats().principals_evicted > 30_000, "{:?}", t.stats());
        assert!(t.principals() < 40_000);
    }

    #[test]
    fn string_identifiers_mostly_not_found_are_enumeration() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let users = key("GET", "/users/{username}");
        let auth = jwt("scout");
        // 60 user names in two minutes, 50 of them unknown.
        for (i, name) in names(60, "guess").iter().enumerate() {
            let path = format!("/users/{name}");
            let status = if i % 6 == 0 { 200 } else { 404 };
            let c = call(&users, &path, "10.0.0.5", &auth, b"ua", i as f64 * 2.0);
            t.observe(answered(c, status));
        }
        let f = t.drain().findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].kind, f[0].principal.as_str()),
            ("enumeration", "sub:scout")
        );
        assert_eq!(f[0].endpoint, users);
        assert!(f[0].detail.contains("{username}"), "{}", f[0].detail);
        assert!(f[0].detail.contains("404/410"), "{}", f[0].detail);
        assert!(
            f[0].evidence.contains("distinct values"),
            "{}",
            f[0].evidence
        );
        // Counts, never the names.
        for name in names(60, "guess") {
            assert!(
                !f[0].detail.contains(&name) && !f[0].evidence.contains(&name),
                "{f:?}"
            );
        }
        // Once per principal and endpoint.
        for i in 0..40 {
            let path = format!("/users/more{i}");
            let c = call(
                &users,
                &path,
                "10.0.0.5",
                &auth,
                b"ua",
                200.0 + f64::from(i),
            );
            t.observe(answered(c, 404));
        }
        assert!(t.drain().findings.is_empty());
    }

    #[test]
    fn string_identifiers_far_beyond_the_norm_are_enumeration_a_busy_reader_is_not() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let repos = key("GET", "/repos/{owner}/{repo}");
        // Ten ordinary clients read one to four repositories each.
        for u in 0..10u32 {
            let auth = jwt(&format!("dev{u}"));
            for r in 0..=(u % 4) {
                let path = format!("/repos/acme/project-{r}");
                t.observe(call(
                    &repos,
                    &path,
                    "10.0.1.1",
                    &auth,
                    b"ua",
                    f64::from(u * 10 + r),
                ));
            }
        }
        // A busy CI bot reads 30 repositories of its organisation over an hour, all 200.
        let bot = jwt("ci-bot");
        for r in 0..30u32 {
            let path = format!("/repos/acme/service-{r}");
            t.observe(call(
                &repos,
                &path,
                "10.0.1.2",
                &bot,
                b"ua",
                200.0 + f64::from(r) * 120.0,
            ));
        }
        assert!(t.drain().findings.is_empty());
        // A scraper reads 80 repositories in five minutes, all 200: 80 against a norm of 3.
        let scraper = jwt("scraper");
        for r in 0..80u32 {
            let path = format!("/repos/acme/secret-{r}");
            t.observe(call(
                &repos,
                &path,
                "10.0.1.3",
                &scraper,
                b"ua",
                5000.0 + f64::from(r) * 3.0,
            ));
        }
        let f = t.drain().findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].principal, "sub:scraper");
        assert!(f[0].detail.contains("{repo}"), "{}", f[0].detail);
        assert!(f[0].detail.contains("median at most"), "{}", f[0].detail);
        assert!(!f[0].evidence.contains("secret-"), "{}", f[0].evidence);
    }

    #[test]
    fn integer_parameters_are_left_to_the_run_rule() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let orders = key("GET", "/orders/{order_id}");
        let auth = jwt("o");
        // 60 scattered ids, all 404: typed as integers by the learner, no run: quiet.
        for i in 0..60i64 {
            let path = format!("/orders/{}", 1000 + i * 7);
            let c = Call {
                integer_params: 1 << 1,
                ..call(&orders, &path, "10.0.0.6", &auth, b"ua", i as f64)
            };
            t.observe(answered(c, 404));
        }
        assert!(t.drain().findings.is_empty());
        assert_eq!(t.str_sketches, 0, "no sketch for integer positions");
    }

    #[test]
    fn literals_are_reported_once_the_learner_makes_them_a_parameter() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let auth = jwt("lit");
        let mut literal_keys = HashMap::new();
        for (i, name) in names(40, "who").iter().enumerate() {
            let path = format!("/users/{name}");
            let k = key("GET", &path);
            let c = call(&k, &path, "10.0.0.7", &auth, b"ua", i as f64);
            t.observe(answered(c, 404));
            literal_keys.insert(k, key("GET", "/users/{user}"));
        }
        // Still literals: nothing to say yet.
        assert!(t.drain().findings.is_empty());
        // The learner generalises them.
        t.remap(&literal_keys);
        let f = t.drain().findings;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].endpoint, key("GET", "/users/{user}"));
        assert!(f[0].detail.contains("{user}"), "{}", f[0].detail);
        // A first-level literal is never a candidate, nor the root.
        let mut t = SequenceTracker::new(SequenceConfig::default());
        for (i, name) in names(40, "top").iter().enumerate() {
            let path = format!("/{name}");
            let k = key("GET", &path);
            t.observe(answered(
                call(&k, &path, "10.0.0.8", &auth, b"ua", i as f64),
                404,
            ));
        }
        assert_eq!(t.str_sketches, 0);
    }

    #[test]
    fn string_sketches_are_bounded_and_counted() {
        let cfg = SequenceConfig {
            max_string_sketches: 3,
            max_string_hlls: 1,
            ..SequenceConfig::default()
        };
        let mut t = SequenceTracker::new(cfg);
        let auth = jwt("b");
        for (i, ep) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let k = key("GET", &format!("/{ep}/{{name}}"));
            let path = format!("/{ep}/x");
            t.observe(call(&k, &path, "10.0.0.9", &auth, b"ua", i as f64));
        }
        assert_eq!(t.str_sketches, 3);
        assert_eq!(t.stats().enum_sketches_over_cap, 2);
        // Past 64 values a sketch becomes a HyperLogLog, within its own cap.
        let a = key("GET", "/a/{name}");
        for (i, name) in names(100, "v").iter().enumerate() {
            let path = format!("/a/{name}");
            t.observe(call(&a, &path, "10.0.0.9", &auth, b"ua", 10.0 + i as f64));
        }
        assert_eq!(t.str_hlls, 1);
        let b = key("GET", "/b/{name}");
        for (i, name) in names(100, "w").iter().enumerate() {
            let path = format!("/b/{name}");
            t.observe(call(&b, &path, "10.0.0.9", &auth, b"ua", 200.0 + i as f64));
        }
        assert_eq!(t.str_hlls, 1);
        assert_eq!(
            t.stats().enum_sketches_over_cap,
            3,
            "the exact set saturated once"
        );
        // Evicted principals give their sketches back.
        let mut t = SequenceTracker::new(SequenceConfig {
            max_principals: 2,
            ..SequenceConfig::default()
        });
        for u in 0..5 {
            let k = key("GET", "/u/{name}");
            t.observe(call(
                &k,
                "/u/x",
                "10.0.0.9",
                &jwt(&format!("p{u}")),
                b"ua",
                f64::from(u),
            ));
        }
        assert_eq!(t.str_sketches, 2);
    }

    #[test]
    fn a_login_links_the_anonymous_session_to_the_credential() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let (product, reviews, cart, checkout) = (
            key("GET", "/products/{id}"),
            key("GET", "/products/{id}/reviews"),
            key("POST", "/cart/items"),
            key("POST", "/checkout"),
        );
        let session = cookie("k:7f3a");
        let ua: &[u8] = b"Mozilla/5.0 Firefox/125.0";
        t.observe(call(&product, "/products/7", "10.0.0.20", &[], ua, 0.0));
        // The reviews page sets the session cookie.
        t.observe(Call {
            issues_credential: true,
            ..call(&reviews, "/products/7/reviews", "10.0.0.20", &[], ua, 5.0)
        });
        t.observe(call(&cart, "/cart/items", "10.0.0.20", &session, ua, 40.0));
        t.observe(call(
            &checkout,
            "/checkout",
            "10.0.0.20",
            &session,
            ua,
            50.0,
        ));
        let d = t.drain();
        let got = transitions_of(&d);
        assert!(
            got.contains(&(
                "GET /products/{id}/reviews".into(),
                "POST /cart/items".into(),
                1
            )),
            "{got:?}"
        );
        assert!(got.contains(&("POST /cart/items".into(), "POST /checkout".into(), 1)));
        let paths: Vec<[String; 3]> = d
            .paths
            .iter()
            .map(|(p, _)| p.clone().map(|k| format!("{} {}", k.method, k.template)))
            .collect();
        assert!(
            paths.contains(&[
                "GET /products/{id}/reviews".to_string(),
                "POST /cart/items".to_string(),
                "POST /checkout".to_string()
            ]),
            "{paths:?}"
        );
        assert_eq!(t.stats().stitched, 1);
        assert_eq!(t.stats().sessions, 1, "one session across the login");
    }

    #[test]
    fn stitching_needs_the_same_address_and_user_agent_soon_after_a_login() {
        let (login, me) = (key("POST", "/login"), key("GET", "/me"));
        let ua: &[u8] = b"App/1.0";
        let run = |ip: &str, agent: &[u8], at: f64| {
            let mut t = SequenceTracker::new(SequenceConfig::default());
            t.observe(Call {
                issues_credential: true,
                ..call(&login, "/login", "10.0.0.30", &[], ua, 0.0)
            });
            t.observe(call(&me, "/me", ip, &jwt("u1"), agent, at));
            (transitions_of(&t.drain()), t.stats().stitched)
        };
        let linked = ("POST /login".to_string(), "GET /me".to_string(), 1);
        let (got, n) = run("10.0.0.30", ua, 2.0);
        assert!(got.contains(&linked) && n == 1, "{got:?}");
        // Another address, another User-Agent, or long after the login: two principals.
        assert_eq!(run("10.0.0.31", ua, 2.0), (BTreeSet::new(), 0));
        assert_eq!(run("10.0.0.30", b"Other/2.0", 2.0), (BTreeSet::new(), 0));
        assert_eq!(run("10.0.0.30", ua, 1000.0), (BTreeSet::new(), 0));
        // Disabled.
        let mut t = SequenceTracker::new(SequenceConfig {
            stitch_window_secs: 0,
            ..SequenceConfig::default()
        });
        t.observe(Call {
            issues_credential: true,
            ..call(&login, "/login", "10.0.0.30", &[], ua, 0.0)
        });
        t.observe(call(&me, "/me", "10.0.0.30", &jwt("u1"), ua, 1.0));
        assert!(t.drain().transitions.is_empty());
    }

    #[test]
    fn one_login_links_one_credential_and_nat_users_stay_apart() {
        let mut t = SequenceTracker::new(SequenceConfig::default());
        let (home, login, me) = (key("GET", "/"), key("POST", "/login"), key("GET", "/me"));
        let (chrome, firefox): (&[u8], &[u8]) = (b"Chrome/124", b"Firefox/125");
        // Two users behind one NAT address, each with its own browser, log in in turn.
        t.observe(call(&home, "/", "10.0.0.40", &[], chrome, 0.0));
        t.observe(call(&home, "/", "10.0.0.40", &[], firefox, 1.0));
        t.observe(Call {
            issues_credential: true,
            ..call(&login, "/login", "10.0.0.40", &[], chrome, 2.0)
        });
        t.observe(Call {
            issues_credential: true,
            ..call(&login, "/login", "10.0.0.40", &[], firefox, 3.0)
        });
        t.observe(call(&me, "/me", "10.0.0.40", &jwt("a"), chrome, 4.0));
        t.observe(call(&me, "/me", "10.0.0.40", &jwt("b"), firefox, 5.0));
        // A third credential from the Chrome: the login was taken already.
        t.observe(call(&me, "/me", "10.0.0.40", &jwt("c"), chrome, 6.0));
        let d = t.drain();
        let got = transitions_of(&d);
        let login_me = d
            .transitions
            .iter()
            .find(|(f, to, _)| *f == login && *to == me)
            .map(|(_, _, x)| (x.count, x.principals.estimate()));
        assert_eq!(login_me, Some((2, 2)), "{got:?}");
        assert_eq!(t.stats().stitched, 2);
        // The address principal keeps its own calls.
        assert!(got.contains(&("POST /login".into(), "POST /login".into(), 1)));
    }

    #[test]
    fn pending_logins_are_bounded_and_evictions_counted() {
        let mut t = SequenceTracker::new(SequenceConfig {
            max_pending_logins: 2,
            ..SequenceConfig::default()
        });
        let (login, me) = (key("POST", "/login"), key("GET", "/me"));
        for i in 0..5 {
            let ip = format!("10.0.1.{i}");
            t.observe(Call {
                issues_credential: true,
                ..call(&login, "/login", &ip, &[], b"ua", f64::from(i))
            });
        }
        assert_eq!(t.logins.len(), 2);
        assert_eq!(t.stats().logins_evicted, 3);
        // The evicted ones are simply not stitched.
        t.observe(call(&me, "/me", "10.0.1.0", &jwt("x"), b"ua", 10.0));
        t.observe(call(&me, "/me", "10.0.1.4", &jwt("y"), b"ua", 11.0));
        assert_eq!(t.stats().stitched, 1);
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
