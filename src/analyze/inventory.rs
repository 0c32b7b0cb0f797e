//! The inventory aggregator: from transactions to per-endpoint deltas.
//!
//! Each transaction is attributed to an endpoint (host, method, path template) and its
//! observations are folded into an [`EndpointDelta`]: counts, status codes, clients, latency,
//! parameters, body shapes, auth schemes and sensitive data. Deltas are taken out with
//! [`Inventory::drain`] and merged into the store, so memory holds only what happened since
//! the last flush. Everything is bounded: hosts, endpoints per flush, clients, body shapes and
//! sensitive fields per endpoint, and the template learners; every cap is counted in
//! [`InventoryStats`].
//!
//! A transaction is parsed once, into a [`RequestView`] (target, query pairs, named header
//! fields, credentials, media types, decoded bodies and their JSON), which every concern below
//! (`count_traffic`, `scan_url`, `scan_headers`, `inspect_bodies`, `judge`, auth detection, the
//! posture checks, login detection, the call-sequence fingerprint) reads instead of the raw
//! transaction (`admit` reads the endpoint key and status only).

use lru::LruCache;

use super::auth::{self, AuthScheme};
pub use super::endpoint::EndpointKey;
use super::form::{FormShape, infer_form_pairs, merge_form};
use super::graphql::{self, GraphqlRequest};
use super::grpc::{self, Descriptors, MethodFigures};
use super::hll::Hll;
use super::posture::{self, FindingDelta};
use super::protocol::{Protocol, protocol_of};
pub use super::request::split_target;
use super::request::{self, FieldName, MessageView, Pairs, RequestView};
use super::sensitive::{self, Finding, SensitiveClass};
use super::sequence::{
    Call, PathDelta, PathKey, SequenceConfig, SequenceStats, SequenceTracker, TransitionDelta,
};
use super::shape::{self, Shape};
use super::template::book::TemplateBook;
use super::template::{Decision, Observation, TemplateConfig, TemplateMatch};
use super::tls::{TlsInventory, TlsInventoryConfig, TlsInventoryStats, TlsServiceDelta};
pub use super::util::pairs;
use super::util::percent_decode;
use super::websocket::WsDelta;
use crate::http::HttpTransaction;
use crate::source::Origin;
use crate::time::Timestamp;
use crate::tls::TlsEvent;
use crate::websocket::WsSummary;
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Bounds of the inventory.
#[derive(Clone, Debug)]
pub struct InventoryConfig {
    /// Hosts tracked (each has a template learner); transactions to further hosts are counted
    /// and dropped.
    pub max_hosts: usize,
    /// Endpoints held in one delta (between flushes).
    pub max_endpoints: usize,
    /// Clients remembered individually per endpoint delta (all are counted in the sketch).
    pub max_clients: usize,
    /// Body shapes (direction, status, content type) per endpoint.
    pub max_bodies: usize,
    /// Sensitive (class, location, field) entries per endpoint.
    pub max_sensitive: usize,
    /// Bytes of a decoded body inspected for shape and sensitive data.
    pub max_body_inspect: usize,
    /// Template learner bounds, per host.
    pub template: TemplateConfig,
    /// Templates that win over learning: (host or `None` for every host, template).
    pub pinned: Vec<(Option<String>, String)>,
    /// Key of the keyed hashes that stand in for credentials.
    pub hash_key: Vec<u8>,
    /// Bodies of the first this many transactions of an endpoint per flush are all inspected
    /// (shape, sensitive data); after that, one in `inspect_every`.
    pub inspect_first: u64,
    /// See `inspect_first`.
    pub inspect_every: u64,
    /// Call-sequence analysis (principals, sessions, transitions, behavioural findings).
    pub sequence: SequenceConfig,
    /// (Host, client) pairs whose request rates are tracked; the least recently seen pair is
    /// forgotten beyond (about [`RATE_PAIR_BYTES`] each).
    pub max_rate_pairs: usize,
    /// Caps of the TLS inventory.
    pub tls: TlsInventoryConfig,
    /// Protobuf descriptors (`--proto-descriptor`): gRPC message fields named in shapes.
    pub grpc_descriptors: Option<Arc<Descriptors>>,
    /// Learn descriptors from gRPC server reflection responses seen on the wire (see
    /// [`Inventory::learn_reflection`]); on by default.
    pub grpc_reflection: bool,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            max_hosts: 1024,
            max_endpoints: 50_000,
            max_clients: 1000,
            max_bodies: 32,
            max_sensitive: 256,
            max_body_inspect: 256 * 1024,
            template: TemplateConfig {
                max_nodes: 20_000,
                max_pins: 20_000,
                ..TemplateConfig::default()
            },
            pinned: Vec::new(),
            hash_key: Vec::new(),
            inspect_first: 64,
            inspect_every: 16,
            sequence: SequenceConfig::default(),
            max_rate_pairs: 100_000,
            tls: TlsInventoryConfig::default(),
            grpc_descriptors: None,
            grpc_reflection: true,
        }
    }
}

/// Counters of the inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct InventoryStats {
    /// Transactions attributed to an endpoint.
    pub transactions: u64,
    /// Transactions without a request (nothing to attribute).
    pub without_request: u64,
    /// CONNECT requests (proxy tunnels, not API endpoints).
    pub connect_requests: u64,
    /// Transactions of hosts refused a template learner (`max_hosts` busy hosts are learned
    /// already): templated by value types alone.
    pub hosts_over_cap: u64,
    /// Template learners evicted (junk or idle hosts) to make room for a new host.
    pub hosts_evicted: u64,
    /// Transactions dropped because the delta holds `max_endpoints` endpoints with evidence.
    pub endpoints_over_cap: u64,
    /// Deltas of a request or two never answered with success, dropped at `max_endpoints` to
    /// make room for an endpoint that answered.
    pub endpoints_evicted: u64,
    /// Requests whose method token is not a registered method (folded into `OTHER`).
    pub methods_folded: u64,
    /// Rate-tracked (host, client) pairs forgotten, least recently seen first, to keep
    /// `max_rate_pairs`.
    pub rates_evicted: u64,
    /// Template learners (every host): node allocations refused at `max_nodes` (the segment
    /// is rendered as a parameter), and positions collapsed past `max_children`.
    pub template_node_cap: u64,
    /// Template learners: paths cut at `max_segments` and segments longer than
    /// `max_segment_len`.
    pub template_truncated: u64,
    /// Host headers that were unusable (the server address was used).
    pub bad_host_headers: u64,
    /// Bodies whose shape was read.
    pub bodies_parsed: u64,
    /// JSON bodies that did not parse (truncated samples, invalid JSON).
    pub bodies_unparsed: u64,
    /// Bodies with a content coding that could not be undone.
    pub bodies_undecodable: u64,
    /// Body shapes, sensitive entries or clients not recorded because of a per-endpoint cap.
    pub detail_over_cap: u64,
    /// Sensitive values found.
    pub sensitive_values: u64,
    /// Transactions whose bodies were not inspected (sampling on busy endpoints).
    pub bodies_sampled_out: u64,
    /// Now (a gauge, not a count): (host, client) pairs rate-tracked.
    pub rate_pairs: u64,
    /// Now: principals of the call-sequence analysis, and their memory as estimated.
    pub principals: u64,
    /// See `principals`.
    pub principal_bytes: u64,
    /// The call-sequence analysis.
    pub sequences: SequenceStats,
    /// The TLS inventory (encrypted services from their handshakes).
    pub tls: TlsInventoryStats,
    /// Requests that carried GraphQL (an endpoint per operation).
    pub graphql_requests: u64,
    /// GraphQL requests named `<kind> (other)` because their URL already has
    /// [`GRAPHQL_NAMES_PER_URL`] operation endpoints (or [`GRAPHQL_URLS`] URLs are tracked).
    pub graphql_operations_over_cap: u64,
    /// gRPC calls (requests of an `application/grpc*` type to `/package.Service/Method`).
    pub grpc_calls: u64,
    /// gRPC bodies whose messages could not all be counted: cut by the body cap or a gap,
    /// ended inside a message, or more than [`grpc::MAX_MESSAGES`] messages.
    pub grpc_bodies_truncated: u64,
    /// gRPC messages walked into a shape.
    pub grpc_messages_walked: u64,
    /// Compressed gRPC messages not inflated (unknown `grpc-encoding`, a broken stream, or
    /// larger than the body inspection limit once inflated).
    pub grpc_messages_not_decoded: u64,
    /// gRPC messages that are not protobuf wire format (not walked).
    pub grpc_messages_unparsed: u64,
    /// gRPC message walks stopped at a bound (nesting depth or fields per message).
    pub grpc_walks_capped: u64,
    /// `FileDescriptorProto`s learned from server reflection responses seen on the wire
    /// (their methods and messages name the fields of later calls).
    pub grpc_reflection_files: u64,
    /// `FileDescriptorProto`s of reflection responses not learned: over
    /// [`grpc::MAX_REFLECTED_FILES`] or [`grpc::MAX_REFLECTED_BYTES`], or not decodable.
    pub grpc_reflection_files_dropped: u64,
}

crate::counters!(InventoryStats {
    transactions, without_request, connect_requests, hosts_over_cap, hosts_evicted, endpoints_over_cap,
    endpoints_evicted, methods_folded, rates_evicted, template_node_cap, template_truncated,
    bad_host_headers, bodies_parsed, bodies_unparsed, bodies_undecodable, detail_over_cap,
    sensitive_values, bodies_sampled_out, sequences, tls, graphql_requests,
    graphql_operations_over_cap, grpc_calls, grpc_bodies_truncated, grpc_messages_walked,
    grpc_messages_not_decoded, grpc_messages_unparsed, grpc_walks_capped, grpc_reflection_files,
    grpc_reflection_files_dropped,
} gauges { rate_pairs, principals, principal_bytes });

/// Per-client counts within a delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientDelta {
    /// Requests.
    pub count: u64,
    /// First request.
    pub first_seen: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
}

/// Direction of a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Request body.
    Request,
    /// Response body.
    Response,
}

impl Direction {
    /// `request` or `response`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }
}

/// Body observations for one (direction, status, content type).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BodyDelta {
    /// Messages.
    pub count: u64,
    /// Of them, bodies whose shape was read.
    pub samples: u64,
    /// Merged JSON shape.
    pub json: Option<Shape>,
    /// Merged form shape.
    pub form: Option<FormShape>,
}

/// One kind of sensitive data at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensitiveDelta {
    /// Occurrences.
    pub count: u64,
    /// A redacted example.
    pub example: String,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
}

/// Where sensitive data was seen.
pub type SensitiveKey = (SensitiveClass, &'static str, String);

/// Findings kept per endpoint and drain (further kinds or clients are counted as over cap).
const MAX_ENDPOINT_FINDINGS: usize = 64;

/// Something seen a number of times between two instants (a client, a kind of sensitive data,
/// a finding): what the capped maps of a delta hold.
pub trait Sighting {
    /// Adds `other`'s sightings (the first description is kept).
    fn absorb(&mut self, other: &Self);
}

macro_rules! sighting {
    ($t:ty) => {
        impl Sighting for $t {
            fn absorb(&mut self, other: &Self) {
                self.count += other.count;
                self.first_seen = self.first_seen.min(other.first_seen);
                self.last_seen = self.last_seen.max(other.last_seen);
            }
        }
    };
}
sighting!(ClientDelta);
sighting!(SensitiveDelta);
sighting!(FindingDelta);

/// Merges `v` into the entry of `key` in a map held to `cap` entries: absorbed when the key
/// is there, inserted when there is room; `false` when the map is full (refused: the caller
/// counts it).
pub fn merge_capped<K: Eq + std::hash::Hash, V: Sighting>(
    map: &mut HashMap<K, V>,
    key: K,
    v: V,
    cap: usize,
) -> bool {
    if let Some(mine) = map.get_mut(&key) {
        mine.absorb(&v);
        return true;
    }
    if map.len() >= cap {
        return false;
    }
    map.insert(key, v);
    true
}

/// Everything observed of one endpoint since the last drain.
#[derive(Clone, Debug)]
pub struct EndpointDelta {
    /// The endpoint.
    pub key: EndpointKey,
    /// How the template was decided, one rule per segment (`/`-joined).
    pub rule: String,
    /// Lowest confidence among the template's segments.
    pub confidence: f32,
    /// Per segment: the rule, the confidence and the evidence weighed (JSON array, see
    /// [`explain_json`]).
    pub explain: String,
    /// One concrete path (the template itself when the path carried sensitive data).
    pub example_path: String,
    /// A raw path, used to re-template when the learner changed its mind.
    raw_path: String,
    /// First request.
    pub first_seen: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
    /// Requests.
    pub requests: u64,
    /// Responses.
    pub responses: u64,
    /// Responses with status >= 400.
    pub errors: u64,
    /// Request body bytes.
    pub bytes_in: u64,
    /// Response body bytes.
    pub bytes_out: u64,
    /// Status code counts (0: no response).
    pub status: BTreeMap<u16, u64>,
    /// Clients, up to the cap.
    pub clients: HashMap<IpAddr, ClientDelta>,
    /// All clients, as a sketch.
    pub clients_hll: Hll,
    /// Clients not remembered individually.
    pub clients_over_cap: bool,
    /// Latency (request end to response start) in microseconds.
    pub latency: Latency,
    /// Query-string shape.
    pub query: FormShape,
    /// Path parameters: name and the kind of value the classifier saw.
    pub path_params: Vec<(String, &'static str)>,
    /// Body shapes.
    pub bodies: HashMap<(Direction, u16, String), BodyDelta>,
    /// Auth: (scheme, location) -> (requests, answered 2xx).
    pub auth: HashMap<(AuthScheme, String), (u64, u64)>,
    /// Sensitive data.
    pub sensitive: HashMap<SensitiveKey, SensitiveDelta>,
    /// Calls per minute (packet time / 60 s) -> (count, errors).
    pub minutes: BTreeMap<i64, (u64, u64)>,
    /// Posture findings, by (kind, client).
    pub findings: HashMap<(&'static str, Option<String>), FindingDelta>,
    /// The protocol its transactions spoke ([`protocol_of`]; an API protocol wins over an
    /// HTTP version).
    pub protocol: Protocol,
    /// A gRPC method's figures (`None` for other endpoints).
    pub grpc: Option<MethodFigures>,
    /// WebSocket connections opened by this endpoint's upgrades (`None`: none ended yet).
    pub websocket: Option<Box<WsDelta>>,
    /// Where its transactions came from: requests and first and last seen per source.
    pub sources: BTreeMap<Origin, SourceSeen>,
}

/// What one source saw of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceSeen {
    /// Requests.
    pub count: u64,
    /// First request.
    pub first_seen: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
}

impl SourceSeen {
    /// Adds `other`'s requests and widens the time range to cover it.
    pub fn merge(&mut self, other: &SourceSeen) {
        self.count += other.count;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// Highest latency recorded exactly: 10 minutes (larger values are clamped).
pub const MAX_LATENCY_US: u64 = 600_000_000;

/// A latency histogram: 1 µs to 10 minutes, 2 significant digits.
pub fn new_latency_histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("static bounds are valid")
}

/// Latencies kept as samples until there are [`Latency::FEW`] of them, then as a histogram: a
/// histogram takes about 13 KB, and most endpoints of a flush (junk above all) have a call or
/// two, so a flush of 20,000 one-call endpoints holds kilobytes, not 250 MB.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    few: Vec<u32>,
    hist: Option<Box<Histogram<u32>>>,
}

impl Latency {
    /// Samples kept before a histogram is made.
    pub const FEW: usize = 16;

    /// Records one latency (µs, within `1..=MAX_LATENCY_US`).
    pub fn record(&mut self, us: u64) {
        let us = us.clamp(1, MAX_LATENCY_US);
        match &mut self.hist {
            Some(h) => {
                let _ = h.record(us);
            }
            None if self.few.len() < Self::FEW => self.few.push(us as u32),
            None => {
                let mut h = Box::new(new_latency_histogram());
                for &v in &self.few {
                    let _ = h.record(u64::from(v));
                }
                let _ = h.record(us);
                self.few = Vec::new();
                self.hist = Some(h);
            }
        }
    }

    /// Adds `other`'s latencies.
    pub fn merge(&mut self, other: &Latency) {
        for &v in &other.few {
            self.record(u64::from(v));
        }
        if let Some(o) = &other.hist {
            let h = self.hist.get_or_insert_with(|| {
                let mut h = Box::new(new_latency_histogram());
                for &v in &self.few {
                    let _ = h.record(u64::from(v));
                }
                h
            });
            self.few = Vec::new();
            let _ = h.add(&**o);
        }
    }

    /// Adds these latencies to a histogram (of [`new_latency_histogram`]'s bounds).
    pub fn add_to(&self, h: &mut Histogram<u32>) -> Result<(), hdrhistogram::AdditionError> {
        for &v in &self.few {
            let _ = h.record(u64::from(v));
        }
        match &self.hist {
            Some(o) => h.add(&**o),
            None => Ok(()),
        }
    }

    /// Latencies recorded.
    pub fn len(&self) -> u64 {
        self.few.len() as u64 + self.hist.as_ref().map_or(0, |h| h.len())
    }

    /// None recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl EndpointDelta {
    fn new(key: EndpointKey, raw_path: String, ts: Timestamp) -> EndpointDelta {
        EndpointDelta {
            key,
            rule: String::new(),
            confidence: 1.0,
            explain: String::new(),
            example_path: String::new(),
            raw_path,
            first_seen: ts,
            last_seen: ts,
            requests: 0,
            responses: 0,
            errors: 0,
            bytes_in: 0,
            bytes_out: 0,
            status: BTreeMap::new(),
            clients: HashMap::new(),
            clients_hll: Hll::default(),
            clients_over_cap: false,
            latency: Latency::default(),
            query: FormShape::default(),
            path_params: Vec::new(),
            bodies: HashMap::new(),
            auth: HashMap::new(),
            sensitive: HashMap::new(),
            minutes: BTreeMap::new(),
            findings: HashMap::new(),
            protocol: Protocol::default(),
            grpc: None,
            websocket: None,
            sources: BTreeMap::new(),
        }
    }

    /// Folds `other` (the same endpoint) into this delta.
    pub fn merge(&mut self, other: EndpointDelta, cfg: &InventoryConfig) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.requests += other.requests;
        self.responses += other.responses;
        self.errors += other.errors;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        for (k, v) in other.status {
            *self.status.entry(k).or_default() += v;
        }
        for (ip, c) in other.clients {
            if !merge_capped(&mut self.clients, ip, c, cfg.max_clients) {
                self.clients_over_cap = true;
            }
        }
        self.clients_over_cap |= other.clients_over_cap;
        self.clients_hll.merge(&other.clients_hll);
        self.latency.merge(&other.latency);
        self.query = merge_form(&self.query, &other.query);
        for (k, b) in other.bodies {
            let room = self.bodies.len() < cfg.max_bodies;
            match self.bodies.get_mut(&k) {
                Some(mine) => mine.merge(b),
                None if room => {
                    self.bodies.insert(k, b);
                }
                None => {}
            }
        }
        for (k, (n, ok)) in other.auth {
            let e = self.auth.entry(k).or_default();
            e.0 += n;
            e.1 += ok;
        }
        for (k, s) in other.sensitive {
            merge_capped(&mut self.sensitive, k, s, cfg.max_sensitive);
        }
        for (k, f) in other.findings {
            merge_capped(&mut self.findings, k, f, usize::MAX);
        }
        for (m, (c, e)) in other.minutes {
            let x = self.minutes.entry(m).or_default();
            x.0 += c;
            x.1 += e;
        }
        self.protocol = join_protocol(self.protocol, other.protocol);
        match (&mut self.grpc, other.grpc) {
            (Some(mine), Some(g)) => mine.merge(&g),
            (mine @ None, g) => *mine = g,
            (Some(_), None) => {}
        }
        if let Some(w) = other.websocket {
            match self.websocket.as_mut() {
                Some(mine) => mine.merge(&w),
                None => self.websocket = Some(w),
            }
        }
        for (o, seen) in other.sources {
            self.sources
                .entry(o)
                .and_modify(|s| s.merge(&seen))
                .or_insert(seen);
        }
    }
}

/// The protocol of an endpoint whose transactions spoke `a` and `b`: an API protocol (gRPC,
/// GraphQL, WebSocket) wins over an HTTP version, else the later one.
pub fn join_protocol(a: Protocol, b: Protocol) -> Protocol {
    if a.is_api() && !b.is_api() { a } else { b }
}

/// The template decision of a gRPC path: both segments literal names (`/package.Service` and
/// `Method` are never parameters), outside the learner.
fn grpc_match(path: &str) -> TemplateMatch {
    let literal = Decision {
        rule: "grpc",
        param: false,
        confidence: 1.0,
        evidence: None,
    };
    TemplateMatch {
        template: path.to_string(),
        decisions: vec![literal; 2],
    }
}

impl BodyDelta {
    /// Folds `other` into this one.
    pub fn merge(&mut self, other: BodyDelta) {
        self.count += other.count;
        self.samples += other.samples;
        self.json = match (self.json.take(), other.json) {
            (Some(a), Some(b)) => Some(shape::merge(&a, &b)),
            (a, b) => a.or(b),
        };
        self.form = match (self.form.take(), other.form) {
            (Some(a), Some(b)) => Some(merge_form(&a, &b)),
            (a, b) => a.or(b),
        };
    }
}

/// The inventory aggregator.
pub struct Inventory {
    cfg: InventoryConfig,
    book: Arc<TemplateBook>,
    /// This inventory reports the book's counters (one per book: workers share it).
    reports_book: bool,
    deltas: HashMap<EndpointKey, EndpointDelta>,
    stats: InventoryStats,
    scratch: Vec<Finding>,
    weak_jwt: HashMap<u64, bool>,
    rates: LruCache<(String, IpAddr), Rate, foldhash::fast::RandomState>,
    seq: SequenceTracker,
    tls: TlsInventory,
    graphql: GraphqlNames,
    /// What server reflection seen on the wire taught (see [`Inventory::learn_reflection`]).
    reflected: grpc::Reflected,
    /// The source of the transactions observed now ([`Inventory::set_origin`]).
    origin: Origin,
}

/// `template` (a URL's template) with the operation part (`#...`) of `current`, if any; a
/// `#` of the URL itself escaped.
pub fn with_operation(template: &str, current: &str) -> String {
    let base = if template.contains('#') {
        template.replace('#', "%23")
    } else {
        template.to_string()
    };
    match current.split_once('#') {
        Some((_, op)) => format!("{base}#{op}"),
        None => base,
    }
}

/// GraphQL URLs (host, path template) whose operations get endpoints of their own, at most.
pub const GRAPHQL_URLS: usize = 64;
/// Operation endpoints per GraphQL URL at most; further operations share `<kind> (other)`.
pub const GRAPHQL_NAMES_PER_URL: usize = 128;

/// The operation names given endpoints, per GraphQL URL (bounded: a client inventing
/// operation names cannot grow the inventory without end).
#[derive(Debug, Default)]
struct GraphqlNames {
    urls: HashMap<(String, String), HashSet<String>>,
}

impl GraphqlNames {
    /// The endpoint template of operation `label` at `base` on `host`.
    fn template(
        &mut self,
        host: &str,
        base: &str,
        g: &GraphqlRequest,
        stats: &mut InventoryStats,
    ) -> String {
        stats.graphql_requests += 1;
        let label = g.label();
        let key = (host.to_string(), base.to_string());
        let room = self.urls.len() < GRAPHQL_URLS || self.urls.contains_key(&key);
        let named = room && {
            let names = self.urls.entry(key).or_default();
            names.contains(&label)
                || (names.len() < GRAPHQL_NAMES_PER_URL && names.insert(label.clone()))
        };
        if named {
            format!("{base}#{label}")
        } else {
            stats.graphql_operations_over_cap += 1;
            let kind = g.operations.first().map_or("batch", |o| o.kind.name());
            format!("{base}#{kind} (other)")
        }
    }
}

/// What a flush takes from the inventory.
#[derive(Debug, Default)]
pub struct InventoryDrain {
    /// Endpoints, with their findings (posture and sequence findings alike).
    pub endpoints: Vec<EndpointDelta>,
    /// Transitions between endpoints `(from, to)`.
    pub transitions: Vec<(EndpointKey, EndpointKey, TransitionDelta)>,
    /// Runs of three consecutive calls.
    pub paths: Vec<(PathKey, PathDelta)>,
    /// Hosts whose templates changed since the last drain: endpoints stored under their old
    /// templates are re-templated with [`InventoryDrain::book`].
    pub changed_hosts: Vec<String>,
    /// The template learners the deltas were templated with.
    pub book: Option<Arc<TemplateBook>>,
    /// Encrypted services, from their TLS handshakes.
    pub tls: Vec<TlsServiceDelta>,
}

/// Seconds of the sliding window request rates are measured over.
pub const RATE_WINDOW_SECS: i64 = 10;
/// Memory of one rate-tracked (host, client) pair at most, table and list entry included:
/// what the daemon divides its share of the memory budget by (measured by
/// `rate_pairs_stay_within_their_bytes`).
pub const RATE_PAIR_BYTES: usize = 1024;
/// Endpoints a rate-tracked pair remembers as candidates for its most requested one.
const RATE_TOP: usize = 2;

/// A client's request rate on one host.
#[derive(Default)]
struct Rate {
    /// Requests per second within the window.
    secs: std::collections::VecDeque<(i64, u32)>,
    in_window: u32,
    /// Most requests within any window.
    peak: u32,
    total: u64,
    /// Answered 429, or told of a rate limit (`RateLimit-*`, `X-RateLimit-*` headers).
    limited: bool,
    reported: bool,
    first_seen: Option<Timestamp>,
    last_seen: Timestamp,
    /// Its most requested endpoint: the frequent-items summary of Misra and Gries with
    /// [`RATE_TOP`] counters (an endpoint asked for more than a third of the time is in it).
    top: Vec<(EndpointKey, u64)>,
}

impl Rate {
    fn add(&mut self, ts: Timestamp, key: &EndpointKey, status: u16, limit_advertised: bool) {
        let sec = ts.secs();
        self.first_seen = Some(self.first_seen.map_or(ts, |f| f.min(ts)));
        self.last_seen = self.last_seen.max(ts);
        match self.secs.back_mut() {
            Some((s, n)) if *s >= sec => *n += 1,
            _ => self.secs.push_back((sec, 1)),
        }
        self.in_window += 1;
        while let Some(&(s, n)) = self.secs.front() {
            if s > sec - RATE_WINDOW_SECS {
                break;
            }
            self.secs.pop_front();
            self.in_window -= n;
        }
        self.peak = self.peak.max(self.in_window);
        self.total += 1;
        self.limited |= status == 429 || limit_advertised;
        if let Some((_, n)) = self.top.iter_mut().find(|(k, _)| k == key) {
            *n += 1;
        } else if self.top.len() < RATE_TOP {
            self.top.push((key.clone(), 1));
        } else {
            for (_, n) in &mut self.top {
                *n -= 1;
            }
            self.top.retain(|(_, n)| *n > 0);
        }
    }
}

/// The rate of a (host, client) pair, made when new; the least recently seen pairs are
/// forgotten (and counted) to keep at most `max` (a busy client stays: every call refreshes it).
fn track_rate<'a>(
    rates: &'a mut LruCache<(String, IpAddr), Rate, foldhash::fast::RandomState>,
    max: usize,
    evicted: &mut u64,
    key: (String, IpAddr),
) -> &'a mut Rate {
    if !rates.contains(&key) {
        while rates.len() >= max.max(1) {
            rates.pop_lru();
            *evicted += 1;
        }
    }
    rates.get_or_insert_mut(key, Rate::default)
}

impl Inventory {
    /// An empty inventory.
    pub fn new(cfg: InventoryConfig) -> Inventory {
        let book = Arc::new(TemplateBook::new(cfg.template.clone(), cfg.max_hosts));
        let mut inv = Inventory::with_book(cfg, book);
        inv.reports_book = true;
        inv
    }

    /// Records the transactions observed from now on as coming from `origin` (the wire
    /// until set): nothing else depends on it.
    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    /// Whether this inventory reports the counters of its template book (exactly one of the
    /// inventories sharing a book should).
    pub fn set_reports_book(&mut self, yes: bool) {
        self.reports_book = yes;
    }

    /// An empty inventory that learns templates in `book`, shared with other inventories
    /// (the daemon's workers) so that they all name an endpoint alike. The configuration's
    /// pins are added to the book.
    pub fn with_book(cfg: InventoryConfig, book: Arc<TemplateBook>) -> Inventory {
        for (h, t) in &cfg.pinned {
            book.pin(h.as_deref(), t);
        }
        Inventory {
            seq: SequenceTracker::new(cfg.sequence.clone()),
            tls: TlsInventory::new(cfg.tls),
            graphql: GraphqlNames::default(),
            reflected: grpc::Reflected::default(),
            origin: Origin::Wire,
            cfg,
            book,
            reports_book: false,
            deltas: HashMap::new(),
            stats: InventoryStats::default(),
            scratch: Vec::new(),
            weak_jwt: HashMap::new(),
            rates: LruCache::unbounded_with_hasher(foldhash::fast::RandomState::default()),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &InventoryStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &InventoryConfig {
        &self.cfg
    }

    /// Pins `template` for `host` (from a spec or the user): it wins over learning from then
    /// on.
    pub fn pin(&mut self, host: &str, template: &str) {
        self.book.pin(Some(host), template);
    }

    /// Teaches the learner of `host` a template learned in an earlier run, with its stored
    /// per-segment rules (see [`crate::analyze::template::TemplateLearner::seed`]).
    pub fn seed(&mut self, host: &str, template: &str, rules: &str) {
        self.book.seed(host, template, rules);
    }

    /// The template learners.
    pub fn book(&self) -> &Arc<TemplateBook> {
        &self.book
    }

    /// The call-sequence tracker (to seed it with what an inventory learned before).
    pub fn sequences_mut(&mut self) -> &mut SequenceTracker {
        &mut self.seq
    }

    /// Endpoints with observations not yet drained.
    pub fn pending(&self) -> usize {
        self.deltas.len()
    }

    /// Whether a transaction of `key` (answered with `status`) may be counted: always when
    /// its endpoint is held; under the endpoint cap, when there is room or when a delta of no
    /// evidence (a request or two, never answered with success) makes room for an endpoint
    /// that was answered with success. A refusal is counted.
    fn admit(&mut self, key: &EndpointKey, status: u16) -> bool {
        if !self.deltas.contains_key(key) && self.deltas.len() >= self.cfg.max_endpoints {
            // Kept by evidence: a delta of a request or two never answered with success makes
            // room for an endpoint that was; a junk request finds no room.
            let junk = |d: &EndpointDelta| {
                d.requests <= 2 && !d.status.keys().any(|s| (200..400).contains(s))
            };
            let victim = if (200..400).contains(&status) {
                self.deltas
                    .iter()
                    .take(256)
                    .find(|(_, d)| junk(d))
                    .map(|(k, _)| k.clone())
            } else {
                None
            };
            match victim {
                Some(v) => {
                    self.deltas.remove(&v);
                    self.stats.endpoints_evicted += 1;
                }
                None => {
                    self.stats.endpoints_over_cap += 1;
                    return false;
                }
            }
        }
        true
    }

    /// Folds one transaction in. Its request (and response) is parsed once, into the
    /// [`RequestView`] every analysis below reads.
    pub fn observe(&mut self, t: &HttpTransaction) {
        let Some(req) = t.request.as_ref() else {
            self.stats.without_request += 1;
            return;
        };
        if req.head.method().eq_ignore_ascii_case(b"CONNECT") {
            self.stats.connect_requests += 1;
            return;
        }
        let target = request::target_text(req);
        let Some(v) = RequestView::new(t, &target, self.cfg.max_body_inspect) else {
            return;
        };
        self.observe_view(&v);
    }

    fn observe_view(&mut self, v: &RequestView<'_>) {
        let t = v.txn;
        let method = fold_method(v.method());
        if method == OTHER_METHOD {
            self.stats.methods_folded += 1;
        }
        let (target_host, path) = (v.target_host, v.path);
        // `user:password@` in the Host header or an absolute-form target: a credential in the
        // URL, reported as such and never stored (normalize_host drops it).
        let host_header = v.host();
        let userinfo = has_userinfo(host_header) || has_userinfo(target_host.map(str::as_bytes));
        let host = match normalize_host(host_header.or(target_host.map(str::as_bytes))) {
            Some(h) => h,
            None => {
                if host_header.is_some() {
                    self.stats.bad_host_headers += 1;
                }
                // Decrypted from TLS without a usable Host: the server name the client asked
                // for (with the port, as a Host header would carry it), else the address.
                sni_host(t).unwrap_or_else(|| endpoint_address(t))
            }
        };
        let ts = t.ts();
        let status = v.status();
        // A gRPC call's endpoint is its path exactly: the learner never sees it.
        let grpc_call = grpc::is_grpc_media(v.request.media_type())
            .then(|| grpc::split_path(path))
            .flatten();
        let m = match grpc_call {
            Some(_) => grpc_match(path),
            None => self.book.observe(
                &host,
                Observation {
                    query: v.query,
                    path,
                    method: &method,
                },
                (200..400).contains(&status),
            ),
        };
        let integer_params = integer_positions(&m);
        // `#` ends the URL part of a template: a path that holds one (never sent by a
        // browser, but bytes on the wire) keeps it escaped.
        let mut template = if m.template.contains('#') {
            m.template.replace('#', "%23")
        } else {
            m.template.clone()
        };
        let graphql = grpc_call
            .is_none()
            .then(|| {
                graphql::recognize(
                    v.method(),
                    v.request.media_type(),
                    v.request.json(),
                    v.request.decoded().ok(),
                    v.query_pairs().into_iter().flat_map(|p| p.first()),
                )
            })
            .flatten();
        if let Some(g) = &graphql {
            template = self.graphql.template(&host, &template, g, &mut self.stats);
        }
        let key = EndpointKey {
            host,
            method,
            template,
        };
        if !self.admit(&key, status) {
            return;
        }
        self.stats.transactions += 1;
        let cfg = &self.cfg;
        let d = self
            .deltas
            .entry(key.clone())
            .or_insert_with(|| EndpointDelta::new(key, path.to_string(), ts));
        if d.rule.is_empty() {
            set_template(d, &m);
        }
        d.protocol = join_protocol(d.protocol, protocol_of(t, graphql.is_some()));
        let mut grpc_status = grpc_call.and_then(|_| {
            v.response
                .as_ref()
                .and_then(|r| r.head().header("grpc-status"))
                .and_then(grpc::parse_status)
        });
        if let Some((service, grpc_method)) = grpc_call {
            self.stats.grpc_calls += 1;
            let figures = d
                .grpc
                .get_or_insert_with(|| MethodFigures::new(service, grpc_method));
            let (req_body, resp_body) = (
                grpc_body(&v.request),
                v.response
                    .as_ref()
                    .map(|r| (grpc_body(r), r.message.body.is_complete_sample())),
            );
            let req_split = grpc::split(req_body.as_deref().unwrap_or_default());
            let resp_split = resp_body
                .as_ref()
                .map(|(b, c)| (grpc::split(b.as_deref().unwrap_or_default()), *c));
            // gRPC-Web: the status is in the trailer frame at the end of the response body.
            if grpc_status.is_none() {
                grpc_status = resp_split
                    .as_ref()
                    .and_then(|(s, _)| s.trailers)
                    .and_then(grpc::web_trailer_status);
            }
            let before = figures.truncated;
            figures.record(
                &req_split,
                v.request.message.body.is_complete_sample(),
                resp_split.as_ref().map(|(s, c)| (s, *c)),
                grpc_status,
            );
            self.stats.grpc_bodies_truncated += figures.truncated - before;
        }
        // A gRPC status other than OK is an error, whatever the HTTP status.
        let grpc_error = grpc_status.is_some_and(|s| s != 0);
        count_traffic(d, v, status, grpc_error);
        let seen = SourceSeen {
            count: 1,
            first_seen: ts,
            last_seen: ts,
        };
        d.sources
            .entry(self.origin)
            .and_modify(|s| s.merge(&seen))
            .or_insert(seen);
        // A response that tells its client of a rate limit (the IETF `RateLimit` and
        // `RateLimit-Policy` fields, the draft's `RateLimit-Limit`/`-Remaining`, the common
        // `X-RateLimit-*` and `X-Rate-Limit-*`): a server that counts a client's requests limits
        // them.
        let advertised = v
            .response
            .as_ref()
            .is_some_and(MessageView::has_rate_limit_field);
        track_rate(
            &mut self.rates,
            cfg.max_rate_pairs,
            &mut self.stats.rates_evicted,
            (d.key.host.clone(), t.orig.ip),
        )
        .add(ts, &d.key, status, advertised);
        // Clients.
        let ip = t.orig.ip;
        let once = ClientDelta {
            count: 1,
            first_seen: ts,
            last_seen: ts,
        };
        if !merge_capped(&mut d.clients, ip, once, cfg.max_clients) {
            d.clients_over_cap = true;
            self.stats.detail_over_cap += 1;
        }
        d.clients_hll.insert(ip.to_string().as_bytes());

        // Auth.
        let ok = (200..300).contains(&status);
        let evidence = auth::detect_request(v, &cfg.hash_key);
        for ev in &evidence {
            let e = d.auth.entry((ev.scheme, ev.location.clone())).or_default();
            e.0 += 1;
            e.1 += u64::from(ok);
        }

        // Parameters and sensitive data in the URL.
        let mut found: Vec<(SensitiveKey, String)> = Vec::new();
        let scratch = &mut self.scratch;
        let path_sensitive = scan_url(d, path, v.query_pairs(), scratch, &mut found);
        if d.example_path.is_empty() {
            d.example_path = if path_sensitive {
                d.key.template.clone()
            } else {
                cut_to(path, 512)
            };
        }

        // Headers (credentials are reported as auth, not scanned as data).
        scan_headers(
            &v.request,
            "request_header",
            &[
                FieldName::Authorization,
                FieldName::ProxyAuthorization,
                FieldName::Cookie,
            ],
            scratch,
            &mut found,
        );
        if let Some(r) = v.response.as_ref() {
            scan_headers(
                r,
                "response_header",
                &[FieldName::SetCookie],
                scratch,
                &mut found,
            );
        }

        // Bodies: all of the first transactions of an endpoint, then a sample, so that a busy
        // endpoint costs little more than a quiet one.
        let mut stats = std::mem::take(&mut self.stats);
        let (response_text, response_shape) =
            inspect_bodies(d, cfg, &mut stats, v, status, &mut found, scratch);
        if let Some(ws) = t.websocket.as_deref() {
            observe_websocket(d, cfg, &mut stats, ws, &mut found, scratch);
        }
        if let Some(fp) = response_shape.filter(|_| d.key.method == "GET") {
            self.book.note_shape(&d.key.host, path, fp);
        }
        // Call sequences (after the bodies: a login is known by what its response hands out).
        let anonymous = evidence.iter().all(|a| a.scheme == AuthScheme::None);
        let issues_credential = anonymous
            && v.response.as_ref().is_some_and(|r| {
                // Logins are POSTs: other methods are judged on the bodies inspected anyway.
                let decode = !matches!(d.key.method.as_str(), "GET" | "HEAD" | "OPTIONS");
                issues_credential(r, status, decode)
            });
        self.seq.observe(Call {
            key: &d.key,
            path,
            client: ip,
            auth: &evidence,
            fingerprint: (
                v.user_agent().unwrap_or_default(),
                v.accept_language().unwrap_or_default(),
            ),
            status,
            ts,
            integer_params,
            issues_credential,
        });
        // Posture: what this transaction shows about how the endpoint is protected.
        let mut raised = judge(
            v,
            &evidence,
            userinfo,
            &found,
            response_text,
            &mut self.weak_jwt,
        );
        if let Some(f) = d.grpc.as_ref()
            && f.service_kind() == grpc::ServiceKind::Reflection
            && grpc_status == Some(0)
        {
            raised.push((
                "grpc_reflection_exposed",
                None,
                format!("{}/{} answered", f.service, f.method),
                "server reflection call completed with grpc-status 0".to_string(),
            ));
        }
        if let Some(g) = &graphql {
            let answer = v.response.as_ref().and_then(MessageView::json);
            for (kind, per_client, detail, evidence) in graphql::judge(g, status, answer) {
                raised.push((kind, per_client.then(|| ip.to_string()), detail, evidence));
            }
        }
        for (kind, client, detail, evidence) in raised {
            let once = FindingDelta {
                kind,
                client: client.clone(),
                detail,
                evidence,
                count: 1,
                first_seen: ts,
                last_seen: ts,
            };
            if !merge_capped(&mut d.findings, (kind, client), once, MAX_ENDPOINT_FINDINGS) {
                stats.detail_over_cap += 1;
            }
        }
        for (k, redacted) in found {
            stats.sensitive_values += 1;
            let once = SensitiveDelta {
                count: 1,
                example: redacted,
                first_seen: ts,
                last_seen: ts,
            };
            if !merge_capped(&mut d.sensitive, k, once, cfg.max_sensitive) {
                stats.detail_over_cap += 1;
            }
        }
        stats.sequences = self.seq.stats().clone();
        stats.rate_pairs = self.rates.len() as u64;
        stats.principals = self.seq.principals() as u64;
        stats.principal_bytes = self.seq.principal_bytes() as u64;
        self.stats = stats;
        if grpc_call.is_some_and(|(service, _)| {
            grpc::ServiceKind::of(service) == grpc::ServiceKind::Reflection
        }) {
            self.learn_reflection(v);
        }
    }

    /// Server reflection seen on the wire as a descriptor source: the `FileDescriptorProto`s
    /// of a `ServerReflectionInfo` call's response messages ([`grpc::reflected_files`]) are
    /// added to this inventory's descriptors (the configuration's `grpc_descriptors`, copied
    /// on the first write so that the caller's are untouched; a name the user's descriptor set
    /// already has is kept as it is). Calls observed after this one get field names; those
    /// observed before keep field numbers. The table is this inventory's (one per daemon
    /// worker, which sees its own connections' reflection calls), and it stays for the run:
    /// at most [`grpc::MAX_REFLECTED_FILES`] files and [`grpc::MAX_REFLECTED_BYTES`] bytes,
    /// the rest counted in `grpc_reflection_files_dropped`.
    fn learn_reflection(&mut self, v: &RequestView<'_>) {
        if !self.cfg.grpc_reflection {
            return;
        }
        let Some(r) = v.response.as_ref() else {
            return;
        };
        let Some(bytes) = grpc_body(r) else {
            return;
        };
        let encoding = r.head().header("grpc-encoding").unwrap_or(b"identity");
        let framed = grpc::split(&bytes);
        for f in framed.frames.iter().take(grpc::MAX_MESSAGES) {
            let data = if f.compressed {
                match grpc::inflate(f.data, encoding, self.cfg.max_body_inspect) {
                    Some(x) => std::borrow::Cow::Owned(x),
                    None => continue,
                }
            } else {
                std::borrow::Cow::Borrowed(f.data)
            };
            if grpc::reflected_files(&data).is_empty() {
                continue;
            }
            let ds = Arc::make_mut(
                self.cfg
                    .grpc_descriptors
                    .get_or_insert_with(Default::default),
            );
            let learned = self.reflected.learn(&data, ds);
            self.stats.grpc_reflection_files += learned.files;
            self.stats.grpc_reflection_files_dropped += learned.dropped;
        }
    }

    /// Takes every delta, re-templated with what the learners know now (deltas whose templates
    /// converged are merged).
    pub fn drain(&mut self) -> InventoryDrain {
        let mut out: HashMap<EndpointKey, EndpointDelta> = HashMap::new();
        let mut remap: HashMap<EndpointKey, EndpointKey> = HashMap::new();
        self.book.settle();
        if self.reports_book {
            let b = self.book.stats();
            self.stats.hosts_over_cap = b.hosts_over_cap;
            self.stats.hosts_evicted = b.hosts_evicted;
            self.stats.template_node_cap = b.learners.node_cap_hits + b.learners.child_overflows;
            self.stats.template_truncated =
                b.learners.truncated_paths + b.learners.oversize_segments;
        }
        for (_, mut d) in self.deltas.drain() {
            // gRPC endpoints are named by their path exactly, never re-templated.
            if let Some(m) = self
                .book
                .resolve(&d.key.host, &d.raw_path)
                .filter(|_| d.grpc.is_none())
            {
                // An operation (`#query GetUser`) stays on its URL's new template.
                let template = with_operation(&m.template, &d.key.template);
                if template != d.key.template {
                    let old = d.key.clone();
                    d.key.template = template;
                    remap.insert(old, d.key.clone());
                    set_template(&mut d, &m);
                    if d.example_path.contains('{') {
                        d.example_path = m.template;
                    }
                } else {
                    // Same template, possibly decided anew: keep the latest explanation.
                    set_template(&mut d, &m);
                }
            }
            match out.get_mut(&d.key) {
                Some(mine) => mine.merge(d, &self.cfg),
                None => {
                    out.insert(d.key.clone(), d);
                }
            }
        }
        self.rate_findings(&mut out);
        self.seq.remap(&remap);
        let seq = self.seq.drain();
        self.stats.sequences = self.seq.stats().clone();
        for f in seq.findings {
            let d = out.entry(f.endpoint.clone()).or_insert_with(|| {
                EndpointDelta::new(f.endpoint.clone(), f.endpoint.template.clone(), f.ts)
            });
            let room = d.findings.len() < 64;
            match d.findings.get_mut(&(f.kind, Some(f.principal.clone()))) {
                Some(x) => {
                    x.count += 1;
                    x.first_seen = x.first_seen.min(f.ts);
                    x.last_seen = x.last_seen.max(f.ts);
                    x.detail = f.detail;
                    x.evidence = f.evidence;
                }
                None if room => {
                    d.findings.insert(
                        (f.kind, Some(f.principal.clone())),
                        FindingDelta {
                            kind: f.kind,
                            client: Some(f.principal),
                            detail: f.detail,
                            evidence: f.evidence,
                            count: 1,
                            first_seen: f.ts,
                            last_seen: f.ts,
                        },
                    );
                }
                None => self.stats.detail_over_cap += 1,
            }
        }
        let mut endpoints: Vec<EndpointDelta> = out.into_values().collect();
        endpoints.sort_by(|a, b| a.key.cmp(&b.key));
        let mut transitions = seq.transitions;
        transitions.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut paths = seq.paths;
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        InventoryDrain {
            endpoints,
            transitions,
            paths,
            changed_hosts: self.book.take_changed(),
            book: Some(self.book.clone()),
            tls: self.tls.drain(),
        }
    }

    /// Records one event of the TLS layer (a handshake, or a TLS connection's traffic).
    pub fn observe_tls(&mut self, ev: &TlsEvent) {
        self.tls.observe(ev);
        self.stats.tls = self.tls.stats().clone();
    }
}

impl Inventory {
    /// `no_rate_limiting`: a client whose peak rate on a host is far above the other clients'
    /// (at least ten times their median peak, and at least 50 requests in 10 s) and who was never
    /// answered 429. Robust to a few busy peers; quiet when a host has no other clients.
    fn rate_findings(&mut self, out: &mut HashMap<EndpointKey, EndpointDelta>) {
        let mut by_host: HashMap<&str, Vec<(IpAddr, u32, u64)>> = HashMap::new();
        for ((host, ip), r) in &self.rates {
            by_host
                .entry(host.as_str())
                .or_default()
                .push((*ip, r.peak, r.total));
        }
        let mut raise = Vec::new();
        for (host, peers) in &by_host {
            // The peaks of the peers with some traffic, sorted once: the median of the others
            // is read from it with the client's own peak left out (no quadratic pass over a
            // host with many clients).
            let mut sorted: Vec<u32> = peers
                .iter()
                .filter(|(_, _, t)| *t >= 5)
                .map(|(_, p, _)| *p)
                .collect();
            sorted.sort_unstable();
            for &(ip, peak, total) in peers {
                if total < 100 || peak < 50 {
                    continue;
                }
                // This client is in `sorted` (total >= 5): the others are `sorted` without one
                // copy of its peak.
                let others = sorted.len() - 1;
                if others == 0 {
                    continue;
                }
                let own = sorted.partition_point(|&p| p < peak);
                let k = others / 2;
                let median = if k < own { sorted[k] } else { sorted[k + 1] }.max(1);
                if peak >= 10 * median {
                    raise.push((host.to_string(), ip, peak, total, median, others));
                }
            }
        }
        for (host, ip, peak, total, median, peers) in raise {
            let Some(r) = self.rates.peek_mut(&(host, ip)) else {
                continue;
            };
            if r.reported || r.limited {
                continue;
            }
            r.reported = true;
            let Some((key, _)) = r.top.iter().max_by_key(|(k, n)| (*n, std::cmp::Reverse(k)))
            else {
                continue;
            };
            let (first, last) = (r.first_seen.unwrap_or(r.last_seen), r.last_seen);
            let d = out
                .entry(key.clone())
                .or_insert_with(|| EndpointDelta::new(key.clone(), key.template.clone(), last));
            d.findings.insert(
                ("no_rate_limiting", Some(ip.to_string())),
                FindingDelta {
                    kind: "no_rate_limiting",
                    client: Some(ip.to_string()),
                    detail: format!(
                        "{ip} sent {peak} requests within {RATE_WINDOW_SECS} s ({total} in all), {}× the median peak of the {peers} other clients ({median} per {RATE_WINDOW_SECS} s), and was never answered 429 Too Many Requests nor told of a rate limit.",
                        peak / median
                    ),
                    evidence: format!("peak {peak} requests / {RATE_WINDOW_SECS} s from {ip}; other clients' median {median}; no 429, no rate-limit headers"),
                    count: total,
                    first_seen: first,
                    last_seen: last,
                },
            );
        }
    }
}

/// Lower-cases a Host value, drops user information (`user:password@`, a credential, never
/// stored: see [`has_userinfo`]) and removes the default port; `None` when it cannot be a host
/// (empty, longer than 255 bytes, spaces or control characters). Other odd bytes are kept: the
/// inventory tells what clients sent, and every output escapes it.
pub fn normalize_host(value: Option<&[u8]>) -> Option<String> {
    let v = super::super::http::head::trim(value?);
    let v = match memchr::memrchr(b'@', v) {
        Some(i) => v.get(i + 1..).unwrap_or_default(),
        None => v,
    };
    if v.is_empty() || v.len() > 255 || v.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return None;
    }
    let mut h = String::from_utf8_lossy(v).to_ascii_lowercase();
    if let Some(stripped) = h.strip_suffix(":80") {
        h = stripped.to_string();
    }
    if h.ends_with('.') && !h.ends_with("..") {
        h.pop();
    }
    Some(h)
}

/// Whether a Host value (or the authority of an absolute-form target) carries user information
/// (`alice:secret@api.example`).
pub fn has_userinfo(value: Option<&[u8]>) -> bool {
    value.is_some_and(|v| memchr::memchr(b'@', v).is_some())
}

/// The SNI of a transaction decrypted from TLS as a host (`name:port` off port 443).
fn sni_host(t: &HttpTransaction) -> Option<String> {
    let sni = t.tls.as_ref()?.sni.as_deref()?;
    let with_port = match t.resp.port {
        443 => sni.to_string(),
        p => format!("{sni}:{p}"),
    };
    normalize_host(Some(with_port.as_bytes()))
}

fn endpoint_address(t: &HttpTransaction) -> String {
    t.resp.to_string()
}

fn cut(s: &str) -> String {
    cut_to(s, 128)
}

fn cut_to(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Names and value kinds of a template's parameters (`/users/{user_id}` -> `user_id`, `integer`).
pub fn path_params(m: &TemplateMatch) -> Vec<(String, &'static str)> {
    m.params()
        .into_iter()
        .map(|(name, d)| {
            let kind = match d.rule.strip_prefix("typed:") {
                Some("integer") => "integer",
                Some("uuid") => "uuid",
                Some("ulid") => "ulid",
                Some("object_id") => "object_id",
                Some("hex_digest") => "hex_digest",
                Some("date") => "date",
                Some("email") => "email",
                _ => "string",
            };
            (name.to_string(), kind)
        })
        .collect()
}

/// Template segment positions (bit `i` for segment `i` of the template split at `/`, below
/// 64) of the parameters the learner typed as integers (rule `typed:integer`).
fn integer_positions(m: &TemplateMatch) -> u64 {
    let mut bits = 0u64;
    let mut i = 0usize;
    for (_, d) in m.segments() {
        if d.rule == "suffix" {
            // A format or method suffix is part of the previous template segment.
            continue;
        }
        if d.param && d.rule == "typed:integer" && i < 64 {
            bits |= 1 << i;
        }
        i += 1;
    }
    bits
}

/// Whether a response (to a request without credentials) hands out a credential, as a login
/// does: a 2xx/3xx answer setting a cookie whose name looks like a session's (not deleting
/// it), or a JSON body with a token field (a session-like name, see
/// [`auth::is_session_cookie_name`], holding a string of at least 16 characters) at the top
/// level or one level down (`{"data": {"token": ...}}`; paging cursors such as
/// `next_page_token` do not count). A JSON body is read when it was decoded already (inspected),
/// or when `decode` allows decoding it here (within the view's limit).
pub fn issues_credential(r: &MessageView<'_>, status: u16, decode: bool) -> bool {
    if !(200..400).contains(&status) {
        return false;
    }
    let cookie = r.all(FieldName::SetCookie).take(32).any(|v| {
        let v = String::from_utf8_lossy(&v[..v.len().min(4096)]);
        let mut attrs = v.split(';');
        let Some((name, value)) = attrs.next().and_then(|p| p.split_once('=')) else {
            return false;
        };
        let value = value.trim().trim_matches('"');
        let deleted = value.is_empty()
            || value.eq_ignore_ascii_case("deleted")
            || attrs.any(|a| {
                a.trim()
                    .to_ascii_lowercase()
                    .strip_prefix("max-age=")
                    .and_then(|n| n.trim().parse::<i64>().ok())
                    .is_some_and(|n| n <= 0)
            });
        !deleted && auth::is_session_cookie_name(name.trim())
    });
    if cookie {
        return true;
    }
    if r.message.body.len == 0 || !is_json(r.media_type()) {
        return false;
    }
    if !decode && !r.is_decoded() {
        return false;
    }
    let Some(v) = r.json() else {
        return false;
    };
    fn has_token(v: &serde_json::Value, depth: u8) -> bool {
        let Some(o) = v.as_object() else {
            return false;
        };
        o.iter().take(64).any(|(k, v)| match v {
            serde_json::Value::String(s) => {
                let k = k.to_ascii_lowercase();
                s.len() >= 16
                    && auth::is_session_cookie_name(&k)
                    && !["page", "next", "cursor", "continuation", "sync"]
                        .iter()
                        .any(|w| k.contains(w))
            }
            serde_json::Value::Object(_) if depth > 0 => has_token(v, depth - 1),
            _ => false,
        })
    }
    has_token(v, 1)
}

/// The method bucket of unregistered method tokens: attacker-chosen tokens cannot make an
/// endpoint each.
pub const OTHER_METHOD: &str = "OTHER";

/// Registered HTTP methods (RFC 9110, RFC 5789, WebDAV and its extensions, and a few common
/// extension methods); every other token is [`OTHER_METHOD`].
const METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "CONNECT",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "REPORT",
    "MKCALENDAR",
    "SEARCH",
    "ACL",
    "BIND",
    "UNBIND",
    "REBIND",
    "MKACTIVITY",
    "CHECKOUT",
    "CHECKIN",
    "MERGE",
    "VERSION-CONTROL",
    "UPDATE",
    "LABEL",
    "MKWORKSPACE",
    "UNCHECKOUT",
    "BASELINE-CONTROL",
    "ORDERPATCH",
    "MKREDIRECTREF",
    "UPDATEREDIRECTREF",
    "PURGE",
    "LINK",
    "UNLINK",
    "QUERY",
];

/// The method an endpoint is keyed by: the token when it is a registered method, else
/// [`OTHER_METHOD`].
pub fn fold_method(token: &[u8]) -> String {
    METHODS
        .iter()
        .find(|m| m.as_bytes() == token)
        .map_or(OTHER_METHOD, |m| *m)
        .to_string()
}

/// Records how a delta's template was decided.
fn set_template(d: &mut EndpointDelta, m: &TemplateMatch) {
    d.rule = m.rules();
    d.confidence = m.confidence();
    d.path_params = path_params(m);
    d.explain = explain_json(m);
}

/// Per segment of a template: `{"segment", "param", "rule", "confidence", "why", "evidence"}`
/// (`why` and `evidence` when the position was weighed), as a JSON array.
pub fn explain_json(m: &TemplateMatch) -> String {
    let items: Vec<serde_json::Value> = m
        .segments()
        .into_iter()
        .map(|(seg, d)| {
            let mut o = serde_json::json!({
                "segment": seg,
                "param": d.param,
                "rule": d.rule,
                "confidence": (f64::from(d.confidence) * 100.0).round() / 100.0,
            });
            if let (Some(ev), Some(map)) = (d.evidence, o.as_object_mut()) {
                map.insert("why".into(), ev.describe().into());
                map.insert(
                    "evidence".into(),
                    serde_json::to_value(ev).unwrap_or_default(),
                );
            }
            o
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// Counts a transaction into its endpoint's totals: times, requests and responses, bytes,
/// status codes, errors, the per-minute series and the latency.
/// `grpc_error`: a gRPC status other than OK, an error whatever the HTTP status.
fn count_traffic(d: &mut EndpointDelta, v: &RequestView<'_>, status: u16, grpc_error: bool) {
    let t = v.txn;
    let ts = t.ts();
    let req = v.request.message;
    d.first_seen = d.first_seen.min(ts);
    d.last_seen = d.last_seen.max(ts);
    d.requests += 1;
    d.bytes_in += req.body.len;
    *d.status.entry(status).or_default() += 1;
    let is_error = status >= 400 || grpc_error;
    if let Some(r) = t.response.as_ref() {
        d.responses += 1;
        d.bytes_out += r.body.len;
        d.errors += u64::from(is_error);
    }
    let minute = ts.secs().div_euclid(60);
    let mm = d.minutes.entry(minute).or_default();
    mm.0 += 1;
    mm.1 += u64::from(is_error);
    if let Some(ns) = t.latency_ns() {
        let us = (ns / 1000).clamp(1, MAX_LATENCY_US as i64) as u64;
        d.latency.record(us);
    }
}

/// Reads the bodies of a transaction when its endpoint is inspected this time (all of its
/// first transactions, then one in `inspect_every`), or only counts them: the response text
/// read (for the posture rules) and its JSON structure's fingerprint.
fn inspect_bodies<'v>(
    d: &mut EndpointDelta,
    cfg: &InventoryConfig,
    stats: &mut InventoryStats,
    v: &'v RequestView<'_>,
    status: u16,
    found: &mut Vec<(SensitiveKey, String)>,
    scratch: &mut Vec<Finding>,
) -> (Option<&'v [u8]>, Option<u64>) {
    let req = &v.request;
    let mut response_text: Option<&[u8]> = None;
    let mut response_shape: Option<u64> = None;
    let n = d.requests;
    if n <= cfg.inspect_first || (n - cfg.inspect_first).is_multiple_of(cfg.inspect_every.max(1)) {
        body(
            d,
            cfg,
            stats,
            Direction::Request,
            0,
            req,
            found,
            scratch,
            &mut None,
        );
        if let Some(r) = v.response.as_ref() {
            response_text = body(
                d,
                cfg,
                stats,
                Direction::Response,
                status,
                r,
                found,
                scratch,
                &mut response_shape,
            );
        }
    } else {
        stats.bodies_sampled_out += 1;
        count_body(d, cfg, stats, Direction::Request, 0, req);
        if let Some(r) = v.response.as_ref() {
            count_body(d, cfg, stats, Direction::Response, status, r);
        }
    }
    (response_text, response_shape)
}

/// Adds a WebSocket connection's figures to its endpoint, and reads its sampled text messages
/// as bodies: JSON ones for their shape (body rows of status 101, `application/json`, by
/// direction) and sensitive data (locations `request_websocket` for the client's messages,
/// `response_websocket` for the server's), the others as free text.
fn observe_websocket(
    d: &mut EndpointDelta,
    cfg: &InventoryConfig,
    stats: &mut InventoryStats,
    ws: &WsSummary,
    found: &mut Vec<(SensitiveKey, String)>,
    scratch: &mut Vec<Finding>,
) {
    d.websocket.get_or_insert_with(Box::default).add(ws);
    for s in &ws.samples {
        let (dir, location) = if s.from_client {
            (Direction::Request, "request_websocket")
        } else {
            (Direction::Response, "response_websocket")
        };
        let text = &s.text[..s.text.len().min(cfg.max_body_inspect)];
        let json = if s.truncated {
            None
        } else {
            serde_json::from_slice::<serde_json::Value>(text)
                .ok()
                .filter(|v| v.is_object() || v.is_array())
        };
        let Some(v) = json else {
            scan_free(text, location, scratch, found);
            continue;
        };
        let key = (dir, 101, "application/json".to_string());
        if !d.bodies.contains_key(&key) && d.bodies.len() >= cfg.max_bodies {
            stats.detail_over_cap += 1;
        } else {
            let b = d.bodies.entry(key).or_default();
            b.count += 1;
            b.samples += 1;
            let s = shape::infer(&v);
            b.json = Some(match b.json.take() {
                Some(prev) => shape::merge(&prev, &s),
                None => s,
            });
        }
        stats.bodies_parsed += 1;
        let mut budget = 4096usize;
        scan_json(&v, "", 0, &mut budget, location, scratch, found);
    }
}

/// The posture findings one transaction raises: (kind, client, detail, evidence).
fn judge(
    v: &RequestView<'_>,
    evidence: &[super::auth::AuthEvidence],
    userinfo: bool,
    found: &[(SensitiveKey, String)],
    response_text: Option<&[u8]>,
    weak_cache: &mut HashMap<u64, bool>,
) -> Vec<(&'static str, Option<String>, String, String)> {
    let url_sensitive: Vec<(SensitiveClass, String)> = found
        .iter()
        .filter(|((_, loc, _), _)| *loc == "path" || *loc == "query")
        .map(|((c, _, _), r)| (*c, r.clone()))
        .collect();
    // Handing out a token is what a login does, and a password in the request body is a
    // credential: neither makes a response "sensitive data without credentials".
    let response_sensitive: Vec<SensitiveClass> = found
        .iter()
        .filter(|((c, loc, _), _)| {
            loc.starts_with("response")
                && !matches!(c, SensitiveClass::Password | SensitiveClass::Jwt)
        })
        .map(|((c, _, _), _)| *c)
        .collect();
    let body_credentials = found
        .iter()
        .any(|((c, loc, _), _)| *c == SensitiveClass::Password && *loc == "request_body");
    let mut raised = Vec::new();
    posture::assess(
        v,
        posture::Context {
            auth: evidence,
            userinfo,
            url_sensitive: &url_sensitive,
            response_sensitive: &response_sensitive,
            response_text,
            body_credentials,
            weak_cache,
        },
        &mut raised,
    );
    raised
}

/// Reads the query's parameters into the delta and scans the query and the path for
/// sensitive values (into `found`); whether the path holds one (then the example path is the
/// template, not the path).
fn scan_url(
    d: &mut EndpointDelta,
    path: &str,
    query: Option<&Pairs<'_>>,
    scratch: &mut Vec<Finding>,
    found: &mut Vec<(SensitiveKey, String)>,
) -> bool {
    if let Some(q) = query {
        d.query = merge_form(&d.query, &infer_form_pairs(q));
        for (name, value) in q.first() {
            scratch.clear();
            sensitive::classify_field(name, value, scratch);
            found.extend(
                scratch
                    .drain(..)
                    .map(|f| ((f.class, "query", cut(name)), f.redacted)),
            );
        }
    }
    let mut path_sensitive = false;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        scratch.clear();
        sensitive::scan_text(&percent_decode(seg, false), scratch);
        path_sensitive |= !scratch.is_empty();
        found.extend(
            scratch
                .drain(..)
                .map(|f| ((f.class, "path", String::new()), f.redacted)),
        );
    }
    path_sensitive
}

/// Scans the first 64 header fields of a message for sensitive values (into `found`), but for
/// the plain ones (protocol tokens, dates, sizes) and those of `skip`.
fn scan_headers(
    m: &MessageView<'_>,
    location: &'static str,
    skip: &[FieldName],
    scratch: &mut Vec<Finding>,
    found: &mut Vec<(SensitiveKey, String)>,
) {
    for f in m.fields().iter().take(64) {
        if f.known.is_plain() || skip.contains(&f.known) {
            continue;
        }
        let (name, value) = (
            String::from_utf8_lossy(f.name).to_ascii_lowercase(),
            f.value,
        );
        scratch.clear();
        sensitive::classify_field(
            &name,
            &String::from_utf8_lossy(&value[..value.len().min(8192)]),
            scratch,
        );
        found.extend(
            scratch
                .drain(..)
                .map(|f| ((f.class, location, cut(&name)), f.redacted)),
        );
    }
}

fn is_json(media: &str) -> bool {
    media == "application/json"
        || media.ends_with("+json")
        || media == "text/json"
        || media.ends_with("/json-rpc")
}

/// Inspects one body: its shape (JSON or form) and sensitive data (into `found`); the decoded
/// text when it could be decoded, and the JSON structure's fingerprint in `structure` (a 2xx
/// response).
#[allow(clippy::too_many_arguments)]
fn body<'v>(
    d: &mut EndpointDelta,
    cfg: &InventoryConfig,
    stats: &mut InventoryStats,
    dir: Direction,
    status: u16,
    mv: &'v MessageView<'_>,
    found: &mut Vec<(SensitiveKey, String)>,
    scratch: &mut Vec<Finding>,
    structure: &mut Option<u64>,
) -> Option<&'v [u8]> {
    let m = mv.message;
    if m.body.len == 0 {
        return None;
    }
    let media = mv.media_type();
    let key = (dir, status, media.to_string());
    if !d.bodies.contains_key(&key) && d.bodies.len() >= cfg.max_bodies {
        stats.detail_over_cap += 1;
        return None;
    }
    let location = match dir {
        Direction::Request => "request_body",
        Direction::Response => "response_body",
    };
    // A gRPC method's message type, when a descriptor names it.
    let grpc_names = cfg.grpc_descriptors.as_deref().and_then(|ds| {
        ds.message_of(&d.key.template, dir == Direction::Response)
            .map(|t| (ds, t.to_string()))
    });
    let b = d.bodies.entry(key).or_default();
    b.count += 1;
    if m.body.sample.is_empty() {
        return None;
    }
    let complete = m.body.is_complete_sample();
    // Decoded within `cfg.max_body_inspect` (the view's limit).
    let Ok(text) = mv.decoded() else {
        stats.bodies_undecodable += 1;
        return None;
    };
    if grpc::is_grpc_media(media) {
        let names = grpc_names.as_ref().map(|(ds, t)| (*ds, t.as_str()));
        grpc_messages(b, cfg, stats, mv, names, location, found, scratch);
        return None;
    }
    if is_json(media) {
        match mv.json() {
            Some(v) => {
                if dir == Direction::Response && (200..300).contains(&status) {
                    *structure = shape::fingerprint(v);
                }
                let s = shape::infer(v);
                b.json = Some(match b.json.take() {
                    Some(prev) => shape::merge(&prev, &s),
                    None => s,
                });
                b.samples += 1;
                stats.bodies_parsed += 1;
                let mut budget = 4096usize;
                scan_json(v, "", 0, &mut budget, location, scratch, found);
            }
            None => {
                stats.bodies_unparsed += 1;
                scan_free(text, location, scratch, found);
            }
        }
    } else if media == "application/x-www-form-urlencoded" {
        let s = String::from_utf8_lossy(text);
        let parsed = Pairs::parse(&s);
        let f = infer_form_pairs(&parsed);
        b.form = Some(match b.form.take() {
            Some(prev) => merge_form(&prev, &f),
            None => f,
        });
        if complete {
            b.samples += 1;
            stats.bodies_parsed += 1;
        }
        for (name, value) in parsed.first() {
            scratch.clear();
            sensitive::classify_field(name, value, scratch);
            found.extend(
                scratch
                    .drain(..)
                    .map(|f| ((f.class, location, cut(name)), f.redacted)),
            );
        }
    } else if media.starts_with("text/")
        || media.ends_with("xml")
        || media.is_empty()
        || media.ends_with("javascript")
    {
        scan_free(text, location, scratch, found);
    }
    Some(text)
}

/// A gRPC body's bytes: the decoded sample, base64-decoded for `application/grpc-web-text`.
fn grpc_body<'v>(mv: &'v MessageView<'_>) -> Option<std::borrow::Cow<'v, [u8]>> {
    let b = mv.decoded().ok()?;
    if mv.media_type().starts_with("application/grpc-web-text") {
        grpc::decode_web_text(b, b.len()).map(std::borrow::Cow::Owned)
    } else {
        Some(std::borrow::Cow::Borrowed(b))
    }
}

/// Walks the first messages of a gRPC body (inflated when compressed) into the body's shape
/// and scans their strings for sensitive data, as JSON bodies are.
#[allow(clippy::too_many_arguments)]
fn grpc_messages(
    b: &mut BodyDelta,
    cfg: &InventoryConfig,
    stats: &mut InventoryStats,
    mv: &MessageView<'_>,
    names: Option<(&Descriptors, &str)>,
    location: &'static str,
    found: &mut Vec<(SensitiveKey, String)>,
    scratch: &mut Vec<Finding>,
) {
    let Some(bytes) = grpc_body(mv) else {
        return;
    };
    let framed = grpc::split(&bytes);
    let encoding = mv.head().header("grpc-encoding").unwrap_or(b"identity");
    let mut walked = false;
    let mut budget = 4096usize;
    for f in &framed.frames {
        let data = if f.compressed {
            match grpc::inflate(f.data, encoding, cfg.max_body_inspect) {
                Some(x) => std::borrow::Cow::Owned(x),
                None => {
                    stats.grpc_messages_not_decoded += 1;
                    continue;
                }
            }
        } else {
            std::borrow::Cow::Borrowed(f.data)
        };
        let Some(w) = grpc::walk(&data, names) else {
            stats.grpc_messages_unparsed += 1;
            continue;
        };
        walked = true;
        stats.grpc_messages_walked += 1;
        stats.grpc_walks_capped += u64::from(w.capped);
        let s = shape::infer(&w.value);
        b.json = Some(match b.json.take() {
            Some(prev) => shape::merge(&prev, &s),
            None => s,
        });
        scan_json(&w.value, "", 0, &mut budget, location, scratch, found);
    }
    if walked {
        b.samples += 1;
        stats.bodies_parsed += 1;
    } else {
        stats.bodies_unparsed += 1;
    }
}

/// Bytes of a free-text body (HTML, plain text, XML) scanned for sensitive data; JSON and form
/// bodies are read up to `max_body_inspect`.
const MAX_FREE_TEXT: usize = 16 * 1024;

/// Counts a body by content type without inspecting it.
fn count_body(
    d: &mut EndpointDelta,
    cfg: &InventoryConfig,
    stats: &mut InventoryStats,
    dir: Direction,
    status: u16,
    m: &MessageView<'_>,
) {
    if m.message.body.len == 0 {
        return;
    }
    let key = (dir, status, m.media_type().to_string());
    if !d.bodies.contains_key(&key) && d.bodies.len() >= cfg.max_bodies {
        stats.detail_over_cap += 1;
        return;
    }
    d.bodies.entry(key).or_default().count += 1;
}

fn scan_free(
    text: &[u8],
    location: &'static str,
    scratch: &mut Vec<Finding>,
    found: &mut Vec<(SensitiveKey, String)>,
) {
    scratch.clear();
    sensitive::scan_text(
        &String::from_utf8_lossy(&text[..text.len().min(MAX_FREE_TEXT)]),
        scratch,
    );
    found.extend(
        scratch
            .drain(..)
            .map(|f| ((f.class, location, String::new()), f.redacted)),
    );
}

fn scan_json(
    v: &serde_json::Value,
    path: &str,
    depth: usize,
    budget: &mut usize,
    location: &'static str,
    scratch: &mut Vec<Finding>,
    found: &mut Vec<(SensitiveKey, String)>,
) {
    if depth > 16 || *budget == 0 {
        return;
    }
    *budget -= 1;
    let field = |k: &str| -> String {
        if path.is_empty() {
            cut(k)
        } else {
            cut(&format!("{path}.{k}"))
        }
    };
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter().take(512) {
                let name = field(k);
                match x {
                    serde_json::Value::String(s) => classify(k, s, &name, location, scratch, found),
                    serde_json::Value::Number(n) => {
                        classify(k, &n.to_string(), &name, location, scratch, found)
                    }
                    _ => scan_json(x, &name, depth + 1, budget, location, scratch, found),
                }
            }
        }
        serde_json::Value::Array(items) => {
            let name = format!("{path}[]");
            for x in items.iter().take(64) {
                match x {
                    serde_json::Value::String(s) => {
                        let leaf = path.rsplit('.').next().unwrap_or("");
                        classify(leaf, s, &name, location, scratch, found);
                    }
                    _ => scan_json(x, &name, depth + 1, budget, location, scratch, found),
                }
            }
        }
        serde_json::Value::String(s) => classify("", s, path, location, scratch, found),
        _ => {}
    }
}

fn classify(
    key: &str,
    value: &str,
    field: &str,
    location: &'static str,
    scratch: &mut Vec<Finding>,
    found: &mut Vec<(SensitiveKey, String)>,
) {
    scratch.clear();
    sensitive::classify_field(key, value, scratch);
    found.extend(
        scratch
            .drain(..)
            .map(|f| ((f.class, location, field.to_string()), f.redacted)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpMessage;

    #[test]
    fn capped_maps_absorb_insert_and_refuse() {
        let seen = |n: u64, a: i64, b: i64| ClientDelta {
            count: n,
            first_seen: Timestamp(a),
            last_seen: Timestamp(b),
        };
        let mut m: HashMap<u8, ClientDelta> = HashMap::new();
        assert!(merge_capped(&mut m, 1, seen(1, 50, 50), 2));
        assert!(merge_capped(&mut m, 1, seen(2, 10, 20), 2));
        assert_eq!(m[&1], seen(3, 10, 50));
        assert!(merge_capped(&mut m, 2, seen(1, 5, 5), 2));
        // Full: a new key is refused, a known one still counts.
        assert!(!merge_capped(&mut m, 3, seen(1, 5, 5), 2));
        assert!(merge_capped(&mut m, 2, seen(1, 90, 90), 2));
        assert_eq!(
            (m.len(), m[&2].count, m[&2].last_seen),
            (2, 2, Timestamp(90))
        );
    }

    #[test]
    fn latency_samples_become_a_histogram_with_the_same_quantiles() {
        let values: Vec<u64> = (0..100).map(|i| 1 + i * i * 37 % 900_000).collect();
        let mut plain = new_latency_histogram();
        let (mut a, mut b) = (Latency::default(), Latency::default());
        for (i, &v) in values.iter().enumerate() {
            plain.record(v).unwrap();
            if i % 3 == 0 { a.record(v) } else { b.record(v) }
        }
        let mut small = Latency::default();
        small.record(5);
        assert!(small.hist.is_none(), "a few samples are kept as they are");
        a.merge(&b);
        assert_eq!(a.len(), 100);
        let mut h = new_latency_histogram();
        a.add_to(&mut h).unwrap();
        for q in [0.5, 0.9, 0.99] {
            assert_eq!(h.value_at_quantile(q), plain.value_at_quantile(q));
        }
    }

    #[test]
    fn decrypted_transactions_fall_back_on_their_sni() {
        use crate::http::{Body, MessageHead, Tags, TlsTag};
        use crate::reassembly::{Endpoint, FlowId};
        let txn = |head: &[u8], sni: Option<&str>, port| HttpTransaction {
            flow: FlowId(1),
            orig: Endpoint {
                ip: [10, 0, 0, 1].into(),
                port: 40000,
            },
            resp: Endpoint {
                ip: [10, 0, 0, 2].into(),
                port,
            },
            depth: 1,
            request: Some(HttpMessage {
                head: MessageHead::parse(head, 128).unwrap(),
                first_ts: Timestamp(1),
                last_ts: Timestamp(1),
                body: Body::default(),
            }),
            response: None,
            interim: Vec::new(),
            tags: Tags::TLS,
            tls: Some(Box::new(TlsTag {
                sni: sni.map(str::to_string),
                ja4: None,
            })),
            websocket: None,
        };
        let mut inv = Inventory::new(InventoryConfig::default());
        inv.observe(&txn(b"GET /a HTTP/1.0\r\n\r\n", Some("API.tls.test"), 8443));
        inv.observe(&txn(b"GET /b HTTP/1.0\r\n\r\n", Some("web.tls.test"), 443));
        inv.observe(&txn(
            b"GET /c HTTP/1.1\r\nHost: h.test\r\n\r\n",
            Some("x.test"),
            443,
        ));
        inv.observe(&txn(b"GET /d HTTP/1.0\r\n\r\n", None, 443));
        let mut hosts: Vec<String> = inv
            .drain()
            .endpoints
            .into_iter()
            .map(|d| d.key.host)
            .collect();
        hosts.sort();
        assert_eq!(
            hosts,
            [
                "10.0.0.2:443",
                "api.tls.test:8443",
                "h.test",
                "web.tls.test"
            ]
        );
    }

    #[test]
    fn targets_and_hosts() {
        assert_eq!(split_target("/a/b?x=1#f"), (None, "/a/b", Some("x=1")));
        assert_eq!(
            split_target("http://Example.com:8080/p?q"),
            (Some("Example.com:8080"), "/p", Some("q"))
        );
        assert_eq!(split_target("*"), (None, "*", None));
        assert_eq!(split_target(""), (None, "/", None));
        assert_eq!(
            normalize_host(Some(b"API.Example.COM:80")).as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            normalize_host(Some(b"api.example.com:8443")).as_deref(),
            Some("api.example.com:8443")
        );
        assert_eq!(
            normalize_host(Some(b"example.com.")).as_deref(),
            Some("example.com")
        );
        // hostile but single-token hosts are kept as sent (every output escapes them)
        assert_eq!(
            normalize_host(Some(b"<script>alert(1)</script>")).as_deref(),
            Some("<script>alert(1)</script>")
        );
        assert_eq!(
            normalize_host(Some(b"\"><img src=x onerror=alert(1)>")),
            None
        );
        assert_eq!(normalize_host(Some(b"a b")), None);
        assert_eq!(normalize_host(Some(b"")), None);
        assert_eq!(normalize_host(None), None);
        // User information is a credential, never part of the host.
        assert_eq!(
            normalize_host(Some(b"alice:Pa55w0rd@API.example:80")).as_deref(),
            Some("api.example")
        );
        assert_eq!(normalize_host(Some(b"alice:pw@")), None);
        assert!(has_userinfo(Some(b"alice:pw@api.example")));
        assert!(!has_userinfo(Some(b"api.example")));
    }

    /// A stream of new (host, client) pairs keeps `max_rate_pairs` pairs, the least recently
    /// seen forgotten and counted, within [`RATE_PAIR_BYTES`] each of real memory; a busy
    /// client stays.
    #[test]
    fn rate_pairs_stay_within_their_bytes() {
        let max = 5_000;
        let mut rates = LruCache::unbounded_with_hasher(foldhash::fast::RandomState::default());
        let mut evicted = 0;
        let base = crate::testalloc::held();
        let busy = IpAddr::from([192, 0, 2, 1]);
        let mut peak = 0isize;
        for i in 0..50_000u32 {
            let host = format!("api{}.example.test", i % 7);
            let ip = IpAddr::from((0x0a00_0000 + i).to_be_bytes());
            for j in 0..4u32 {
                let k = EndpointKey {
                    host: host.clone(),
                    method: "GET".into(),
                    template: format!("/api/v1/resource{}/{{id}}", (i + j) % 5),
                };
                let ts = Timestamp(i64::from(i) * 100_000_000 + i64::from(j) * 1_000_000);
                track_rate(&mut rates, max, &mut evicted, (host.clone(), ip))
                    .add(ts, &k, 200, false);
                if j == 0 {
                    let h = "api0.example.test".to_string();
                    track_rate(&mut rates, max, &mut evicted, (h, busy)).add(ts, &k, 200, false);
                }
            }
            peak = peak.max(crate::testalloc::held() - base);
        }
        eprintln!("rate pairs: {peak} bytes for {max} pairs");
        assert_eq!(rates.len(), max);
        assert_eq!(evicted, 50_001 - max as u64);
        assert!(rates.contains(&("api0.example.test".to_string(), busy)));
        assert!(
            (peak as usize) <= max * RATE_PAIR_BYTES,
            "{peak} bytes for {max} pairs"
        );
    }

    /// Three clients at one request a second and one at fifty a second; `limit(i)` says
    /// whether the fast client's i-th answer was 429 or advertised a limit.
    fn rate_kinds(limit: impl Fn(usize) -> (u16, bool)) -> Vec<(&'static str, Option<String>)> {
        let mut inv = Inventory::new(InventoryConfig::default());
        let key = EndpointKey {
            host: "api.shop.test".into(),
            method: "GET".into(),
            template: "/stock/{id}".into(),
        };
        let t0 = 1_700_000_000_000_000_000i64;
        for p in 1..=3u8 {
            let ip = IpAddr::from([10, 0, 0, p]);
            for i in 0..6 {
                track_rate(&mut inv.rates, 100, &mut 0, (key.host.clone(), ip)).add(
                    Timestamp(t0 + i * 1_000_000_000),
                    &key,
                    200,
                    false,
                );
            }
        }
        let fast = IpAddr::from([10, 0, 0, 66]);
        for i in 0..120usize {
            let (status, advertised) = limit(i);
            track_rate(&mut inv.rates, 100, &mut 0, (key.host.clone(), fast)).add(
                Timestamp(t0 + i as i64 * 20_000_000),
                &key,
                status,
                advertised,
            );
        }
        let mut out = HashMap::new();
        inv.rate_findings(&mut out);
        out.values()
            .flat_map(|d| d.findings.keys().map(|(k, c)| (*k, c.clone())))
            .collect()
    }

    fn response(raw: &str) -> HttpMessage {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        HttpMessage {
            head: crate::http::head::MessageHead::parse(format!("{head}\r\n\r\n").as_bytes(), 64)
                .expect("head"),
            first_ts: Timestamp::default(),
            last_ts: Timestamp::default(),
            body: crate::http::Body {
                len: body.len() as u64,
                sample: body.as_bytes().to_vec(),
                gap_bytes: 0,
            },
        }
    }

    #[test]
    fn logins_are_known_by_the_credential_they_hand_out() {
        let issues = |status: u16, raw: &str, decode: bool| {
            issues_credential(&MessageView::new(&response(raw), 65536), status, decode)
        };
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJlLW9mLWl0";
        // A session cookie set, on any answer that is not a refusal.
        for cookie in [
            "sessionid=8f2b1c9d7e; Path=/; HttpOnly",
            "connect.sid=s%3Aabc.def; Path=/",
            "JSESSIONID=\"q1w2e3\"; Secure",
        ] {
            let raw = format!(
                "HTTP/1.1 302 Found\r\nSet-Cookie: theme=dark\r\nSet-Cookie: {cookie}\r\n\r\n"
            );
            assert!(issues(302, &raw, false), "{cookie}");
            assert!(!issues(401, &raw, false), "{cookie} refused");
        }
        // Not a session, or a logout.
        for cookie in [
            "theme=dark",
            "csrftoken=abcdef",
            "sessionid=; Max-Age=0",
            "sessionid=deleted; Path=/",
            "session=x; max-age=0",
        ] {
            let raw = format!("HTTP/1.1 200 OK\r\nSet-Cookie: {cookie}\r\n\r\n");
            assert!(!issues(200, &raw, false), "{cookie}");
        }
        // A token in a JSON body, at the top or one level down.
        let json = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        for body in [
            format!(r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#),
            r#"{"data":{"session_token":"0123456789abcdef0123"}}"#.to_string(),
            r#"{"token":"ghs_16C7e42F292c6912E7710c838347Ae178B4a"}"#.to_string(),
        ] {
            assert!(issues(200, &json(&body), true), "{body}");
            // Not decoded here (a GET): only a body inspected already counts.
            assert!(!issues(200, &json(&body), false), "{body}");
            // Inspected already (decoded): read though not decoded here.
            let r = response(&json(&body));
            let inspected = MessageView::new(&r, 65536);
            assert_eq!(inspected.decoded().ok(), Some(body.as_bytes()));
            assert!(issues_credential(&inspected, 200, false));
        }
        for body in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"next_page_token":"0123456789abcdef0123","items":[]}"#,
            r#"{"csrf_token":"0123456789abcdef0123"}"#,
            r#"{"a":{"b":{"token":"0123456789abcdef0123"}}}"#,
            r#"["access_token"]"#,
            "not json",
        ] {
            assert!(!issues(200, &json(body), true), "{body}");
        }
    }

    #[test]
    fn integer_positions_follow_the_learner() {
        let book = TemplateBook::new(TemplateConfig::default(), 4);
        let m = book.observe(
            "h",
            Observation {
                query: None,
                path: "/users/42/orders/7",
                method: "GET",
            },
            true,
        );
        let segs: Vec<&str> = m.template.split('/').filter(|s| !s.is_empty()).collect();
        let bits = integer_positions(&m);
        for (i, seg) in segs.iter().enumerate() {
            assert_eq!(
                bits & (1 << i) != 0,
                seg.starts_with('{'),
                "{} {}",
                m.template,
                m.rules()
            );
        }
        assert_ne!(bits, 0, "{}", m.rules());
    }

    #[test]
    fn rate_limiting_is_judged_by_429s_and_rate_limit_headers() {
        assert_eq!(
            rate_kinds(|_| (200, false)),
            [("no_rate_limiting", Some("10.0.0.66".to_string()))]
        );
        assert!(rate_kinds(|i| if i < 60 { (200, false) } else { (429, false) }).is_empty());
        assert!(rate_kinds(|_| (200, true)).is_empty());
        let head = |raw: &[u8]| HttpMessage {
            head: crate::http::head::MessageHead::parse(raw, 64).expect("head"),
            first_ts: Timestamp::default(),
            last_ts: Timestamp::default(),
            body: crate::http::Body::default(),
        };
        for h in [
            "RateLimit: limit=100, remaining=50, reset=5",
            "RateLimit-Policy: 100;w=60",
            "X-RateLimit-Remaining: 880",
            "x-rate-limit-limit: 1000",
        ] {
            let raw = format!("HTTP/1.1 200 OK\r\n{h}\r\n\r\n");
            assert!(advertises_rate_limit(&head(raw.as_bytes())), "{h}");
        }
        let plain = head(b"HTTP/1.1 200 OK\r\nRetry-After: 10\r\nX-Rate: 3\r\n\r\n");
        assert!(!advertises_rate_limit(&plain));
        fn advertises_rate_limit(r: &HttpMessage) -> bool {
            MessageView::new(r, 0).has_rate_limit_field()
        }
    }

    #[test]
    fn path_param_kinds() {
        let mut l = crate::analyze::template::TemplateLearner::new();
        let m = l.observe("/api/v1/users/42/orders/3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10.json");
        assert_eq!(m.template, "/api/v1/users/{user_id}/orders/{order_id}.json");
        assert_eq!(
            path_params(&m),
            vec![
                ("user_id".to_string(), "integer"),
                ("order_id".to_string(), "uuid")
            ]
        );
        let explain: serde_json::Value = serde_json::from_str(&explain_json(&m)).unwrap();
        let segs: Vec<&str> = explain
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["segment"].as_str().unwrap())
            .collect();
        assert_eq!(
            segs,
            [
                "api",
                "v1",
                "users",
                "{user_id}",
                "orders",
                "{order_id}",
                ".json"
            ]
        );
        assert_eq!(explain[5]["rule"], "typed:uuid");
        assert_eq!(explain[6]["rule"], "suffix");
    }
}

#[cfg(test)]
mod graphql_tests {
    use super::*;
    use crate::http::{HttpMessage, Tags};
    use crate::reassembly::{Endpoint, FlowId};

    fn message(raw: &str, ts: i64) -> HttpMessage {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        HttpMessage {
            head: crate::http::head::MessageHead::parse(format!("{head}\r\n\r\n").as_bytes(), 64)
                .expect("head"),
            first_ts: Timestamp(ts),
            last_ts: Timestamp(ts),
            body: crate::http::Body {
                len: body.len() as u64,
                sample: body.as_bytes().to_vec(),
                gap_bytes: 0,
            },
        }
    }

    fn post(path: &str, body: &str, ts: i64) -> HttpTransaction {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"data\":{}}";
        HttpTransaction {
            flow: FlowId(1),
            orig: Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 40000,
            },
            resp: Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 80,
            },
            depth: 1,
            request: Some(message(&req, ts)),
            response: Some(message(resp, ts + 1000)),
            interim: Vec::new(),
            tags: Tags::default(),
            tls: None,
            websocket: None,
        }
    }

    #[test]
    fn an_operation_stays_on_its_url_when_the_url_is_generalised() {
        let mut inv = Inventory::new(InventoryConfig::default());
        let ops = [
            r#"{"query":"query GetUser { user { id } }"}"#,
            r#"{"query":"mutation Save { save }"}"#,
        ];
        // Many tenants, each with its GraphQL URL: the tenant becomes a parameter.
        for i in 0..40 {
            let tenant = format!("t{:x}{:x}a9", i * 7919 + 13, i * 31);
            for (j, op) in ops.iter().enumerate() {
                let ts = 1_700_000_000_000_000_000 + (i * 10 + j as i64) * 1_000_000;
                inv.observe(&post(&format!("/tenants/{tenant}/graphql"), op, ts));
            }
        }
        let drained = inv.drain();
        let mut got: Vec<(String, u64)> = drained
            .endpoints
            .iter()
            .map(|d| (d.key.template.clone(), d.requests))
            .collect();
        got.sort();
        assert_eq!(got.len(), 2, "{got:?}");
        let (save, get_user) = (&got[0], &got[1]);
        assert!(
            get_user.0.starts_with("/tenants/{") && get_user.0.ends_with("}/graphql#query GetUser"),
            "{got:?}"
        );
        assert!(save.0.ends_with("}/graphql#mutation Save"), "{got:?}");
        assert_eq!((get_user.1, save.1), (40, 40));
        assert_eq!(inv.stats.graphql_requests, 80);
    }

    #[test]
    fn operation_names_are_capped_per_url() {
        let mut inv = Inventory::new(InventoryConfig::default());
        for i in 0..(GRAPHQL_NAMES_PER_URL + 20) {
            let body = format!(r#"{{"query":"query Op{i} {{ a }}"}}"#);
            inv.observe(&post(
                "/graphql",
                &body,
                1_700_000_000_000_000_000 + i as i64,
            ));
        }
        let drained = inv.drain();
        let other = drained
            .endpoints
            .iter()
            .find(|d| d.key.template == "/graphql#query (other)")
            .expect("the operations past the cap share one endpoint");
        assert_eq!(other.requests, 20);
        assert_eq!(drained.endpoints.len(), GRAPHQL_NAMES_PER_URL + 1);
        assert_eq!(inv.stats.graphql_operations_over_cap, 20);
    }

    #[test]
    fn templates_keep_their_operation() {
        assert_eq!(
            with_operation("/t/{id}/graphql", "/t/a1/graphql#query Q"),
            "/t/{id}/graphql#query Q"
        );
        assert_eq!(with_operation("/users/{id}", "/users/7"), "/users/{id}");
        assert_eq!(with_operation("/a#b", "/a%23b"), "/a%23b");
    }
}

#[cfg(test)]
mod grpc_tests {
    use super::*;
    use crate::http::{HttpMessage, Tags};
    use crate::reassembly::{Endpoint, FlowId};

    fn message(head: &str, body: &[u8], ts: i64) -> HttpMessage {
        HttpMessage {
            head: crate::http::head::MessageHead::parse(head.as_bytes(), 64).expect("head"),
            first_ts: Timestamp(ts),
            last_ts: Timestamp(ts),
            body: crate::http::Body {
                len: body.len() as u64,
                sample: body.to_vec(),
                gap_bytes: 0,
            },
        }
    }

    /// A gRPC call of `path` answered HTTP 200 with `grpc-status` (in the head, as
    /// `http2::stream` appends trailers).
    fn call(path: &str, grpc_status: u32, ts: i64) -> HttpTransaction {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: api.test:50051\r\nContent-Type: application/grpc\r\nTE: trailers\r\n\r\n"
        );
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\ngrpc-status: {grpc_status}\r\n\r\n"
        );
        // One message each way: {1: "x"}.
        let body = [0u8, 0, 0, 0, 3, 0x0a, 0x01, b'x'];
        HttpTransaction {
            flow: FlowId(1),
            orig: Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 40000,
            },
            resp: Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 50051,
            },
            depth: 1,
            request: Some(message(&req, &body, ts)),
            response: Some(message(&resp, &body, ts + 1000)),
            interim: Vec::new(),
            tags: Tags::default(),
            tls: None,
            websocket: None,
        }
    }

    #[test]
    fn services_and_methods_are_never_parameters() {
        let mut inv = Inventory::new(InventoryConfig::default());
        // Hundreds of methods whose names look like identifiers, on services that do too:
        // each stays an endpoint named by its path exactly.
        let mut want = std::collections::BTreeSet::new();
        for i in 0..300i64 {
            let path = format!("/acme.tenant{:x}a9.Svc/Get{:08x}", i % 7, i * 7919);
            inv.observe(&call(&path, 0, 1_700_000_000_000_000_000 + i));
            want.insert(path);
        }
        let drained = inv.drain();
        let got: std::collections::BTreeSet<String> = drained
            .endpoints
            .iter()
            .map(|d| d.key.template.clone())
            .collect();
        assert_eq!(got, want);
        assert!(drained.endpoints.iter().all(|d| {
            d.protocol == Protocol::Grpc && d.key.method == "POST" && d.path_params.is_empty()
        }));
        assert_eq!(inv.stats.grpc_calls, 300);
    }

    #[test]
    fn cut_bodies_are_counted_never_read_past() {
        let mut inv = Inventory::new(InventoryConfig::default());
        let mut t = call("/p.S/Upload", 0, 1_700_000_000_000_000_000);
        // The body cap kept 8 bytes of a 5,000,000-byte body whose prefix claims 4 GB.
        if let Some(r) = t.request.as_mut() {
            r.body.len = 5_000_000;
            r.body.sample = vec![0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        }
        inv.observe(&t);
        let d = inv.drain().endpoints.pop().expect("one endpoint");
        let g = d.grpc.expect("gRPC figures");
        assert_eq!((g.messages_in, g.truncated), (0, 1));
        assert_eq!(inv.stats.grpc_bodies_truncated, 1);
    }

    /// Server reflection seen on the wire names the fields of the calls observed after it
    /// (not of those before), once per file, and not when turned off.
    #[test]
    fn reflection_responses_name_the_fields_of_later_calls() {
        use prost::Message as _;
        use prost_types::field_descriptor_proto::Type;
        use prost_types::{
            DescriptorProto, FieldDescriptorProto, FileDescriptorProto, MethodDescriptorProto,
            ServiceDescriptorProto,
        };
        let file = FileDescriptorProto {
            name: Some("demo.proto".into()),
            package: Some("demo".into()),
            message_type: vec![DescriptorProto {
                name: Some("Msg".into()),
                field: vec![FieldDescriptorProto {
                    name: Some("greeting".into()),
                    number: Some(1),
                    r#type: Some(Type::String as i32),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            service: vec![ServiceDescriptorProto {
                name: Some("Svc".into()),
                method: vec![MethodDescriptorProto {
                    name: Some("Hello".into()),
                    input_type: Some(".demo.Msg".into()),
                    output_type: Some(".demo.Msg".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        // ServerReflectionResponse { valid_host: "", file_descriptor_response (4) {
        // file_descriptor_proto (1): [file] } }, framed as one gRPC message.
        let raw = file.encode_to_vec();
        let mut fdr = vec![0x0a];
        prost::encoding::encode_varint(raw.len() as u64, &mut fdr);
        fdr.extend_from_slice(&raw);
        let mut msg = vec![0x0a, 0x00, 0x22];
        prost::encoding::encode_varint(fdr.len() as u64, &mut msg);
        msg.extend_from_slice(&fdr);
        let mut body = vec![0];
        body.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        body.extend_from_slice(&msg);
        let mut refl = call(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            0,
            1_700_000_000_000_000_001,
        );
        if let Some(r) = refl.response.as_mut() {
            r.body.len = body.len() as u64;
            r.body.sample = body;
        }
        let shape = |inv: &mut Inventory| {
            let d = inv
                .drain()
                .endpoints
                .into_iter()
                .find(|d| d.key.template == "/demo.Svc/Hello")
                .expect("the call");
            format!("{:?}", d.bodies)
        };
        let t0 = 1_700_000_000_000_000_000;
        let mut inv = Inventory::new(InventoryConfig::default());
        inv.observe(&call("/demo.Svc/Hello", 0, t0));
        inv.observe(&refl);
        inv.observe(&refl);
        assert_eq!(
            (
                inv.stats.grpc_reflection_files,
                inv.stats.grpc_reflection_files_dropped
            ),
            (1, 0)
        );
        let before = shape(&mut inv);
        assert!(
            before.contains("\"f1\"") && !before.contains("greeting"),
            "{before}"
        );
        inv.observe(&call("/demo.Svc/Hello", 0, t0 + 2));
        let after = shape(&mut inv);
        assert!(after.contains("\"greeting\""), "{after}");

        let mut off = Inventory::new(InventoryConfig {
            grpc_reflection: false,
            ..InventoryConfig::default()
        });
        off.observe(&refl);
        off.observe(&call("/demo.Svc/Hello", 0, t0 + 2));
        assert_eq!(off.stats.grpc_reflection_files, 0);
        assert!(!shape(&mut off).contains("greeting"));
    }

    #[test]
    fn a_non_zero_grpc_status_is_an_error_under_http_200() {
        let mut inv = Inventory::new(InventoryConfig::default());
        inv.observe(&call("/p.S/M", 0, 1_700_000_000_000_000_000));
        inv.observe(&call("/p.S/M", 5, 1_700_000_000_000_000_001));
        let d = inv.drain().endpoints.pop().expect("one endpoint");
        assert_eq!((d.requests, d.errors), (2, 1));
        let g = d.grpc.expect("gRPC figures");
        assert_eq!((g.service.as_str(), g.method.as_str()), ("p.S", "M"));
        assert_eq!((g.messages_in, g.messages_out), (2, 2));
        assert_eq!(g.status.get(&Some(5)), Some(&1));
        assert_eq!(g.streaming(), grpc::Streaming::Unary);
    }
}
