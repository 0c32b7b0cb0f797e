//! A flush's delta on the wire: what a sensor ships to the centre (issue 18, step 2).
//!
//! Format, version 1: the three bytes `STD`, one version byte (`1`), then the raw-deflate
//! (flate2) of one JSON document, a [`Delta`]. Why this and not bincode or postcard: the two
//! crates the format needs are already dependencies (serde_json, flate2); JSON carries its
//! field names, so a field added later (`#[serde(default)]`) is read by an older centre and
//! an older delta by a newer centre without a version bump, and a parked delta can be read by
//! hand (`zlib-flate`-style inflate, then `jq`); deflate takes back most of the names'
//! overhead (a delta of the bundled captures is about a tenth of its JSON). Binary values
//! (the HyperLogLog sketches, the latency histogram in hdrhistogram's V2 format) are base64.
//! An incompatible change bumps the version byte; a centre refuses versions it does not know.
//!
//! What a delta carries is what the store stores, nothing more: templates, redacted examples,
//! keyed hashes (never a secret in clear), counts and sketches. It also carries the
//! fingerprint of the sensor's keyed-hash key ([`key_fingerprint`]), so that a centre refuses
//! deltas hashed with another key (their hashes would never join its own).
//!
//! Decoding is for attacker-controlled bytes: the compressed and inflated sizes are bounded
//! ([`MAX_PAYLOAD_BYTES`], [`MAX_JSON_BYTES`]), serde_json bounds nesting, and every error is
//! a [`WireError`], never a panic.

use crate::analyze::form::FormShape;
use crate::analyze::inventory::{InventoryDrain, new_latency_histogram};
use crate::analyze::shape::Shape;
use hdrhistogram::serialization::{Serializer as _, V2Serializer};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The format's magic bytes.
const MAGIC: &[u8; 3] = b"STD";
/// The version this build writes and reads.
pub const VERSION: u8 = 1;
/// Largest payload (compressed) a centre accepts.
pub const MAX_PAYLOAD_BYTES: usize = 16 << 20;
/// Largest inflated JSON a centre reads.
pub const MAX_JSON_BYTES: u64 = 128 << 20;

/// Why a payload was refused.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not a delta (wrong magic bytes, too short).
    #[error("not a shadowtap delta")]
    NotADelta,
    /// A version this build does not read.
    #[error("delta format version {0} (this build reads {VERSION})")]
    Version(u8),
    /// Over a size bound.
    #[error("delta over {0} bytes")]
    TooLarge(u64),
    /// Inflating or parsing failed.
    #[error("corrupt delta: {0}")]
    Corrupt(String),
}

/// One flush of one sensor.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Delta {
    /// Fingerprint of the keyed-hash key the sensor hashed with ([`key_fingerprint`]).
    pub key_fingerprint: String,
    /// When the sensor made it (ns since the epoch, its wall clock).
    pub created_at: i64,
    /// The sensor's version (`CARGO_PKG_VERSION`).
    pub sensor_version: String,
    /// Endpoints touched by the flush.
    pub endpoints: Vec<Endpoint>,
    /// Transitions between endpoints.
    pub transitions: Vec<Transition>,
    /// Three-call paths.
    pub paths: Vec<Path>,
    /// What the drain held that this version does not ship (counted, see [`Omitted`]).
    pub omitted: Omitted,
    /// The sensor's health when it made the delta (the centre's `api_sensors`).
    pub health: Health,
    /// Encrypted services and their clients since the last delta (`tls_services`,
    /// `tls_clients`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<TlsService>,
}

/// A sensor's health as of a delta: what the centre shows of it (`api_sensors`). Counters
/// are since the sensor started; a delta without (an older sensor, a fold) has zeros.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    /// The sensor's host name.
    pub host: String,
    /// Its capture interfaces (the daemon), or the files it read (an ingest).
    pub interfaces: Vec<String>,
    /// When it started, ns since the epoch (its clock); 0 when unknown.
    pub started_at: i64,
    /// Frames read.
    pub packets: u64,
    /// Captured bytes read.
    pub bytes: u64,
    /// Frames the kernel dropped (capture buffer full).
    pub kernel_dropped: u64,
    /// Frames the interface or driver dropped.
    pub if_dropped: u64,
    /// Packets dropped at full worker queues.
    pub queue_dropped: u64,
    /// What the store's caps dropped and evicted (endpoints, clients, transitions, ...).
    pub cap_drops: u64,
}

/// Parts of a drain not carried by format version 1: the centre's inventory lacks them
/// (docs/fleet.md, "What exists now").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Omitted {
    /// Encrypted services (carried since format 1's `tls` field; counted by older sensors
    /// only).
    pub tls_services: u64,
    /// Endpoints' WebSocket figures (carried since format 1's `websocket` field; counted by
    /// older sensors only).
    pub websocket: u64,
    /// Endpoints' gRPC figures (carried since format 1's `grpc_figures` field; counted by
    /// older sensors only).
    pub grpc_figures: u64,
    /// Hosts re-templated locally (counted by older sensors only: the centre re-templates
    /// across sensors since, `fleet::retemplate`).
    pub changed_hosts: u64,
}

/// An encrypted service's delta ([`crate::analyze::tls::TlsServiceDelta`], addresses as text).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TlsService {
    pub server_ip: String,
    pub server_port: u16,
    pub sni: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub handshakes: u64,
    pub incomplete: u64,
    pub resumed: u64,
    pub client_bytes: u64,
    pub server_bytes: u64,
    pub versions: BTreeMap<String, u64>,
    pub ciphers: BTreeMap<String, u64>,
    pub alpn_offered: BTreeMap<String, u64>,
    pub alpn_selected: BTreeMap<String, u64>,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub cert: Option<crate::analyze::tls::TlsCert>,
    pub clients: Vec<TlsClient>,
}

/// A client of an encrypted service: address, JA4 and JA4S fingerprints, handshakes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TlsClient {
    pub ip: String,
    pub ja4: String,
    pub ja4s: String,
    pub handshakes: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

impl TlsService {
    /// The wire form of `d`.
    pub fn of(d: &crate::analyze::tls::TlsServiceDelta) -> TlsService {
        let mut clients: Vec<TlsClient> = d
            .clients
            .iter()
            .map(|((ip, ja4, ja4s), c)| TlsClient {
                ip: ip.to_string(),
                ja4: ja4.clone(),
                ja4s: ja4s.clone(),
                handshakes: c.handshakes,
                first_seen: c.first_seen.as_nanos(),
                last_seen: c.last_seen.as_nanos(),
            })
            .collect();
        clients.sort_by(|a, b| (&a.ip, &a.ja4, &a.ja4s).cmp(&(&b.ip, &b.ja4, &b.ja4s)));
        TlsService {
            server_ip: d.key.server_ip.to_string(),
            server_port: d.key.server_port,
            sni: d.key.sni.clone(),
            first_seen: d.first_seen.as_nanos(),
            last_seen: d.last_seen.as_nanos(),
            handshakes: d.handshakes,
            incomplete: d.incomplete,
            resumed: d.resumed,
            client_bytes: d.client_bytes,
            server_bytes: d.server_bytes,
            versions: d.versions.clone(),
            ciphers: d.ciphers.clone(),
            alpn_offered: d.alpn_offered.clone(),
            alpn_selected: d.alpn_selected.clone(),
            version: d.version.clone(),
            cipher: d.cipher.clone(),
            cert: d.cert.clone(),
            clients,
        }
    }

    /// Back into the analysis's form, as the store merges it; `None` when the server address
    /// does not parse (a client whose address does not parse is left out).
    pub fn delta(&self) -> Option<crate::analyze::tls::TlsServiceDelta> {
        use crate::analyze::tls::{TlsClientDelta, TlsServiceDelta, TlsServiceKey};
        use crate::time::Timestamp;
        let server_ip = self.server_ip.parse().ok()?;
        Some(TlsServiceDelta {
            key: TlsServiceKey {
                server_ip,
                server_port: self.server_port,
                sni: self.sni.clone(),
            },
            first_seen: Timestamp(self.first_seen),
            last_seen: Timestamp(self.last_seen),
            handshakes: self.handshakes,
            incomplete: self.incomplete,
            resumed: self.resumed,
            client_bytes: self.client_bytes,
            server_bytes: self.server_bytes,
            versions: self.versions.clone(),
            ciphers: self.ciphers.clone(),
            alpn_offered: self.alpn_offered.clone(),
            alpn_selected: self.alpn_selected.clone(),
            version: self.version.clone(),
            cipher: self.cipher.clone(),
            cert: self.cert.clone(),
            clients: self
                .clients
                .iter()
                .filter_map(|c| {
                    Some((
                        (c.ip.parse().ok()?, c.ja4.clone(), c.ja4s.clone()),
                        TlsClientDelta {
                            handshakes: c.handshakes,
                            first_seen: Timestamp(c.first_seen),
                            last_seen: Timestamp(c.last_seen),
                        },
                    ))
                })
                .collect(),
        })
    }
}

/// gRPC figures of one method ([`crate::analyze::grpc::MethodFigures`] without the names,
/// which [`Endpoint::grpc`] carries; the statuses as a list: JSON keys are text).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct GrpcFigures {
    pub calls: u64,
    pub client_streamed: bool,
    pub server_streamed: bool,
    pub messages_in: u64,
    pub messages_out: u64,
    pub in_sizes: Option<(u32, u32)>,
    pub out_sizes: Option<(u32, u32)>,
    pub compressed: u64,
    pub truncated: u64,
    /// (`grpc-status`, calls); `None`: no status.
    pub status: Vec<(Option<u32>, u64)>,
}

/// Statuses of one method a centre keeps from one delta (a status is a `u32` a server
/// chooses; a sensor sees few).
pub const MAX_GRPC_STATUSES: usize = 64;

impl GrpcFigures {
    /// The figures of `m`.
    pub fn of(m: &crate::analyze::grpc::MethodFigures) -> GrpcFigures {
        GrpcFigures {
            calls: m.calls,
            client_streamed: m.client_streamed,
            server_streamed: m.server_streamed,
            messages_in: m.messages_in,
            messages_out: m.messages_out,
            in_sizes: m.in_sizes,
            out_sizes: m.out_sizes,
            compressed: m.compressed,
            truncated: m.truncated,
            status: m.status.iter().map(|(k, n)| (*k, *n)).collect(),
        }
    }

    /// As the analysis's figures of `service`/`method` (statuses past
    /// [`MAX_GRPC_STATUSES`] left out; the smaller size first).
    pub fn figures(&self, service: &str, method: &str) -> crate::analyze::grpc::MethodFigures {
        let order = |s: Option<(u32, u32)>| s.map(|(a, b)| (a.min(b), a.max(b)));
        let mut m = crate::analyze::grpc::MethodFigures::new(service, method);
        m.merge(&crate::analyze::grpc::MethodFigures {
            calls: self.calls,
            client_streamed: self.client_streamed,
            server_streamed: self.server_streamed,
            messages_in: self.messages_in,
            messages_out: self.messages_out,
            in_sizes: order(self.in_sizes),
            out_sizes: order(self.out_sizes),
            compressed: self.compressed,
            truncated: self.truncated,
            status: self
                .status
                .iter()
                .take(MAX_GRPC_STATUSES)
                .map(|(k, n)| (*k, *n))
                .collect(),
            ..crate::analyze::grpc::MethodFigures::default()
        });
        m
    }

    fn absorb(&mut self, later: &GrpcFigures) {
        let mut m = self.figures("", "");
        m.merge(&later.figures("", ""));
        *self = GrpcFigures::of(&m);
    }
}

/// An endpoint's delta ([`crate::analyze::inventory::EndpointDelta`], names as text).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Endpoint {
    pub host: String,
    pub method: String,
    pub template: String,
    pub rule: String,
    pub confidence: f32,
    pub explain: String,
    pub example_path: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub requests: u64,
    pub responses: u64,
    pub errors: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// (status, count).
    pub status: Vec<(u16, u64)>,
    pub clients: Vec<Client>,
    #[serde(with = "b64")]
    pub clients_hll: Vec<u8>,
    pub clients_over_cap: bool,
    /// hdrhistogram V2 (empty: no latency).
    #[serde(with = "b64")]
    pub latency: Vec<u8>,
    pub query: FormShape,
    /// (name, kind).
    pub path_params: Vec<(String, String)>,
    pub bodies: Vec<Body>,
    pub auth: Vec<Auth>,
    pub sensitive: Vec<Sensitive>,
    /// (minute, count, errors).
    pub minutes: Vec<(i64, u64, u64)>,
    pub findings: Vec<Finding>,
    pub protocol: String,
    /// gRPC service and method names.
    pub grpc: Option<(String, String)>,
    pub sources: Vec<Source>,
    /// The endpoint's gRPC figures since the last delta (`endpoint_grpc`,
    /// `endpoint_grpc_status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_figures: Option<GrpcFigures>,
    /// The endpoint's WebSocket figures since the last delta (`endpoint_websockets`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websocket: Option<crate::analyze::websocket::WsDelta>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Client {
    pub ip: String,
    pub count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Body {
    pub direction: String,
    pub status: u16,
    pub content_type: String,
    pub count: u64,
    pub samples: u64,
    pub json: Option<Shape>,
    pub form: Option<FormShape>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Auth {
    pub scheme: String,
    pub location: String,
    pub count: u64,
    pub ok: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Sensitive {
    pub class: String,
    pub location: String,
    pub field: String,
    pub count: u64,
    /// Redacted, as stored.
    pub example: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Finding {
    pub kind: String,
    pub client: Option<String>,
    pub detail: String,
    pub evidence: String,
    pub count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Source {
    pub source: String,
    pub count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// An endpoint by its key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Key {
    pub host: String,
    pub method: String,
    pub template: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Transition {
    pub from: Key,
    pub to: Key,
    pub count: u64,
    #[serde(with = "b64")]
    pub principals: Vec<u8>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub gap_sum_ms: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct Path {
    pub steps: [Key; 3],
    pub count: u64,
    #[serde(with = "b64")]
    pub principals: Vec<u8>,
    pub first_seen: i64,
    pub last_seen: i64,
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

fn key(k: &crate::analyze::inventory::EndpointKey) -> Key {
    Key {
        host: k.host.clone(),
        method: k.method.clone(),
        template: k.template.clone(),
    }
}

/// Whether `b` is an hdrhistogram V2 serialisation (uncompressed, as `V2Serializer` writes)
/// whose payload length is the bytes that follow its 40-byte header: hdrhistogram's
/// deserializer allocates the length its header claims, so a hostile header could ask for
/// gigabytes. Checked before a delta's histogram is read.
pub fn plain_v2_histogram(b: &[u8]) -> bool {
    const COOKIE: u32 = 0x1c84_9313; // V2_COOKIE_BASE | 0x10
    const HEADER: usize = 40;
    b.len() >= HEADER
        && u32::from_be_bytes([b[0], b[1], b[2], b[3]]) == COOKIE
        && u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize == b.len() - HEADER
}

/// The fingerprint of a keyed-hash key: 16 hex digits of HMAC-SHA256(key, a fixed label).
/// It names the key without revealing it.
pub fn key_fingerprint(key: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"shadowtap fleet key fingerprint v1");
    mac.finalize().into_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Delta {
    /// The delta of a drain, as the store merges it.
    pub fn of(drain: &InventoryDrain, key_fingerprint: &str) -> Delta {
        // Nothing of a drain is left out any more: what the sensor re-templates locally reaches
        // the centre as new rows, which it re-templates across sensors (`fleet::retemplate`).
        let omitted = Omitted::default();
        let endpoints = drain
            .endpoints
            .iter()
            .map(|d| {
                let mut latency = new_latency_histogram();
                let latency = if d.latency.add_to(&mut latency).is_ok() && !latency.is_empty() {
                    let mut out = Vec::new();
                    V2Serializer::new()
                        .serialize(&latency, &mut out)
                        .map(|_| out)
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                Endpoint {
                    host: d.key.host.clone(),
                    method: d.key.method.clone(),
                    template: d.key.template.clone(),
                    rule: d.rule.clone(),
                    confidence: d.confidence,
                    explain: d.explain.clone(),
                    example_path: d.example_path.clone(),
                    first_seen: d.first_seen.as_nanos(),
                    last_seen: d.last_seen.as_nanos(),
                    requests: d.requests,
                    responses: d.responses,
                    errors: d.errors,
                    bytes_in: d.bytes_in,
                    bytes_out: d.bytes_out,
                    status: d.status.iter().map(|(s, n)| (*s, *n)).collect(),
                    clients: d
                        .clients
                        .iter()
                        .map(|(ip, c)| Client {
                            ip: ip.to_string(),
                            count: c.count,
                            first_seen: c.first_seen.as_nanos(),
                            last_seen: c.last_seen.as_nanos(),
                        })
                        .collect(),
                    clients_hll: d.clients_hll.to_bytes(),
                    clients_over_cap: d.clients_over_cap,
                    latency,
                    query: d.query.clone(),
                    path_params: d
                        .path_params
                        .iter()
                        .map(|(n, k)| (n.clone(), (*k).to_string()))
                        .collect(),
                    bodies: d
                        .bodies
                        .iter()
                        .map(|((dir, status, ct), b)| Body {
                            direction: dir.name().to_string(),
                            status: *status,
                            content_type: ct.clone(),
                            count: b.count,
                            samples: b.samples,
                            json: b.json.clone(),
                            form: b.form.clone(),
                        })
                        .collect(),
                    auth: d
                        .auth
                        .iter()
                        .map(|((scheme, location), (n, ok))| Auth {
                            scheme: scheme.name().to_string(),
                            location: location.clone(),
                            count: *n,
                            ok: *ok,
                        })
                        .collect(),
                    sensitive: d
                        .sensitive
                        .iter()
                        .map(|((class, location, field), s)| Sensitive {
                            class: class.name().to_string(),
                            location: (*location).to_string(),
                            field: field.clone(),
                            count: s.count,
                            example: s.example.clone(),
                            first_seen: s.first_seen.as_nanos(),
                            last_seen: s.last_seen.as_nanos(),
                        })
                        .collect(),
                    minutes: d.minutes.iter().map(|(m, (n, e))| (*m, *n, *e)).collect(),
                    findings: d
                        .findings
                        .values()
                        .map(|f| Finding {
                            kind: f.kind.to_string(),
                            client: f.client.clone(),
                            detail: f.detail.clone(),
                            evidence: f.evidence.clone(),
                            count: f.count,
                            first_seen: f.first_seen.as_nanos(),
                            last_seen: f.last_seen.as_nanos(),
                        })
                        .collect(),
                    protocol: d.protocol.name().to_string(),
                    grpc: d
                        .grpc
                        .as_ref()
                        .map(|g| (g.service.clone(), g.method.clone())),
                    sources: d
                        .sources
                        .iter()
                        .map(|(o, s)| Source {
                            source: o.as_str().to_string(),
                            count: s.count,
                            first_seen: s.first_seen.as_nanos(),
                            last_seen: s.last_seen.as_nanos(),
                        })
                        .collect(),
                    grpc_figures: d.grpc.as_ref().map(GrpcFigures::of),
                    websocket: d.websocket.as_deref().cloned(),
                }
            })
            .collect();
        Delta {
            key_fingerprint: key_fingerprint.to_string(),
            created_at: crate::time::Timestamp::now().as_nanos(),
            sensor_version: env!("CARGO_PKG_VERSION").to_string(),
            health: Health::default(),
            endpoints,
            transitions: drain
                .transitions
                .iter()
                .map(|(f, t, x)| Transition {
                    from: key(f),
                    to: key(t),
                    count: x.count,
                    principals: x.principals.to_bytes(),
                    first_seen: x.first_seen.as_nanos(),
                    last_seen: x.last_seen.as_nanos(),
                    gap_sum_ms: x.gap_sum_ms,
                })
                .collect(),
            paths: drain
                .paths
                .iter()
                .map(|(steps, p)| Path {
                    steps: [key(&steps[0]), key(&steps[1]), key(&steps[2])],
                    count: p.count,
                    principals: p.principals.to_bytes(),
                    first_seen: p.first_seen.as_nanos(),
                    last_seen: p.last_seen.as_nanos(),
                })
                .collect(),
            tls: drain.tls.iter().map(TlsService::of).collect(),
            omitted,
        }
    }

    /// Whether the delta carries nothing to merge.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
            && self.transitions.is_empty()
            && self.paths.is_empty()
            && self.tls.is_empty()
    }

    /// The payload: magic, version, deflate(JSON).
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let json = serde_json::to_vec(self).map_err(|e| WireError::Corrupt(e.to_string()))?;
        let mut out = Vec::with_capacity(json.len() / 4 + 8);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        let mut z = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
        z.write_all(&json)
            .map_err(|e| WireError::Corrupt(e.to_string()))?;
        z.finish().map_err(|e| WireError::Corrupt(e.to_string()))
    }

    /// A payload read back, within the size bounds; never panics.
    pub fn decode(payload: &[u8]) -> Result<Delta, WireError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(WireError::TooLarge(MAX_PAYLOAD_BYTES as u64));
        }
        if payload.len() < 4 || &payload[..3] != MAGIC {
            return Err(WireError::NotADelta);
        }
        if payload[3] != VERSION {
            return Err(WireError::Version(payload[3]));
        }
        let mut json = Vec::new();
        flate2::read::DeflateDecoder::new(&payload[4..])
            .take(MAX_JSON_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(|e| WireError::Corrupt(e.to_string()))?;
        if json.len() as u64 > MAX_JSON_BYTES {
            return Err(WireError::TooLarge(MAX_JSON_BYTES));
        }
        Delta::decode_json(&json)
    }

    /// A delta from its JSON document (what [`Delta::decode`] inflates; the fuzz target
    /// `fleet_delta` feeds it directly).
    pub fn decode_json(json: &[u8]) -> Result<Delta, WireError> {
        serde_json::from_slice(json).map_err(|e| WireError::Corrupt(e.to_string()))
    }
}

/// Adds each item of `add` into the entry of `list` with the same key, or appends it: lists
/// keep the order of first appearance (the centre merges them in that order). Linear in the
/// two lengths (a hash index of the keys).
fn fold<T, K: std::hash::Hash + Eq>(
    list: &mut Vec<T>,
    add: Vec<T>,
    key: impl Fn(&T) -> K,
    merge: impl Fn(&mut T, T),
) {
    let mut at: std::collections::HashMap<K, usize> =
        list.iter().enumerate().map(|(i, x)| (key(x), i)).collect();
    for a in add {
        match at.get(&key(&a)) {
            Some(&i) => merge(&mut list[i], a),
            None => {
                at.insert(key(&a), list.len());
                list.push(a);
            }
        }
    }
}

/// The union of two sketches' bytes (empty when both are).
fn hll_union(a: &[u8], b: &[u8]) -> Vec<u8> {
    if b.is_empty() {
        return a.to_vec();
    }
    if a.is_empty() {
        return b.to_vec();
    }
    let mut h = crate::analyze::hll::Hll::from_bytes(a);
    h.merge(&crate::analyze::hll::Hll::from_bytes(b));
    h.to_bytes()
}

/// The sum of two serialised latency histograms (empty: none), `None` when one cannot be read.
fn latency_sum(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    use hdrhistogram::serialization::Deserializer;
    if b.is_empty() {
        return Some(a.to_vec());
    }
    if a.is_empty() {
        return Some(b.to_vec());
    }
    let mut sum = new_latency_histogram();
    for bytes in [a, b] {
        if !plain_v2_histogram(bytes) {
            return None;
        }
        let h: hdrhistogram::Histogram<u32> = Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .ok()?;
        sum.add(&h).ok()?;
    }
    let mut out = Vec::new();
    V2Serializer::new().serialize(&sum, &mut out).ok()?;
    Some(out)
}

fn span(first: &mut i64, last: &mut i64, f: i64, l: i64) {
    *first = (*first).min(f);
    *last = (*last).max(l);
}

/// A sighting folded into another: counts add, the span widens.
fn counted(count: &mut u64, first: &mut i64, last: &mut i64, n: u64, f: i64, l: i64) {
    *count = count.saturating_add(n);
    span(first, last, f, l);
}

impl Endpoint {
    /// Folds a later delta of the same endpoint into this one, as the centre's merge would
    /// apply the two in turn. `None` (and `self` unchanged) when a histogram cannot be read.
    fn absorb(&mut self, later: Endpoint) -> Option<()> {
        let latency = latency_sum(&self.latency, &later.latency)?;
        self.latency = latency;
        // Written when a later delta names them (the centre's UPDATE); the example path and
        // the first parameter kinds stay those of the first (written on insert only).
        if !later.explain.is_empty() && !later.rule.is_empty() {
            self.rule = later.rule;
            self.confidence = later.confidence;
            self.explain = later.explain;
        }
        if self.example_path.is_empty() {
            self.example_path = later.example_path;
        }
        span(
            &mut self.first_seen,
            &mut self.last_seen,
            later.first_seen,
            later.last_seen,
        );
        self.requests = self.requests.saturating_add(later.requests);
        self.responses = self.responses.saturating_add(later.responses);
        self.errors = self.errors.saturating_add(later.errors);
        self.bytes_in = self.bytes_in.saturating_add(later.bytes_in);
        self.bytes_out = self.bytes_out.saturating_add(later.bytes_out);
        fold(
            &mut self.status,
            later.status,
            |x| x.0,
            |a, b| a.1 = a.1.saturating_add(b.1),
        );
        fold(
            &mut self.clients,
            later.clients,
            |x| x.ip.clone(),
            |a, b| {
                counted(
                    &mut a.count,
                    &mut a.first_seen,
                    &mut a.last_seen,
                    b.count,
                    b.first_seen,
                    b.last_seen,
                );
            },
        );
        self.clients_hll = hll_union(&self.clients_hll, &later.clients_hll);
        self.clients_over_cap |= later.clients_over_cap;
        self.query = crate::analyze::form::merge_form(&self.query, &later.query);
        fold(
            &mut self.path_params,
            later.path_params,
            |x| x.0.clone(),
            |_, _| {},
        );
        fold(
            &mut self.bodies,
            later.bodies,
            |x| (x.direction.clone(), x.status, x.content_type.clone()),
            |a, b| {
                a.count = a.count.saturating_add(b.count);
                a.samples = a.samples.saturating_add(b.samples);
                a.json = match (a.json.take(), b.json) {
                    (Some(x), Some(y)) => Some(crate::analyze::shape::merge(&x, &y)),
                    (x, y) => x.or(y),
                };
                a.form = match (a.form.take(), b.form) {
                    (Some(x), Some(y)) => Some(crate::analyze::form::merge_form(&x, &y)),
                    (x, y) => x.or(y),
                };
            },
        );
        fold(
            &mut self.auth,
            later.auth,
            |x| (x.scheme.clone(), x.location.clone()),
            |a, b| {
                a.count = a.count.saturating_add(b.count);
                a.ok = a.ok.saturating_add(b.ok);
            },
        );
        fold(
            &mut self.sensitive,
            later.sensitive,
            |x| (x.class.clone(), x.location.clone(), x.field.clone()),
            |a, b| {
                counted(
                    &mut a.count,
                    &mut a.first_seen,
                    &mut a.last_seen,
                    b.count,
                    b.first_seen,
                    b.last_seen,
                );
            },
        );
        fold(
            &mut self.minutes,
            later.minutes,
            |x| x.0,
            |a, b| {
                a.1 = a.1.saturating_add(b.1);
                a.2 = a.2.saturating_add(b.2);
            },
        );
        fold(
            &mut self.findings,
            later.findings,
            |x| (x.kind.clone(), x.client.clone()),
            |a, b| {
                counted(
                    &mut a.count,
                    &mut a.first_seen,
                    &mut a.last_seen,
                    b.count,
                    b.first_seen,
                    b.last_seen,
                );
                a.detail = b.detail;
                a.evidence = b.evidence;
            },
        );
        // The centre keeps an application protocol (gRPC, GraphQL, WebSocket) against a later
        // plain one, and takes any other later one.
        let special = |p: &str| matches!(p, "grpc" | "graphql" | "websocket");
        if !special(&self.protocol) || special(&later.protocol) {
            self.protocol = later.protocol;
        }
        if later.grpc.is_some() {
            self.grpc = later.grpc;
        }
        match (&mut self.grpc_figures, later.grpc_figures) {
            (Some(a), Some(b)) => a.absorb(&b),
            (a @ None, b) => *a = b,
            (Some(_), None) => {}
        }
        match (&mut self.websocket, later.websocket) {
            (Some(a), Some(b)) => a.merge(&b),
            (a @ None, b) => *a = b,
            (Some(_), None) => {}
        }
        fold(
            &mut self.sources,
            later.sources,
            |x| x.source.clone(),
            |a, b| {
                counted(
                    &mut a.count,
                    &mut a.first_seen,
                    &mut a.last_seen,
                    b.count,
                    b.first_seen,
                    b.last_seen,
                );
            },
        );
        Some(())
    }

    fn key(&self) -> Key {
        Key {
            host: self.host.clone(),
            method: self.method.clone(),
            template: self.template.clone(),
        }
    }
}

impl Delta {
    /// Folds a later delta of the same sensor into this one: one delta that the centre merges
    /// as it would merge the two in turn (the sensor's spool summarises its oldest deltas so,
    /// `store::outbox`). Exact for counts, status codes, clients, sketches, histograms,
    /// shapes, findings, minutes and sources; the rows a delta dates by its endpoint's span
    /// (parameters, auth schemes) get the summary's span. Refused (`false`, `self`
    /// unchanged in what it carried) when the two were hashed with different keys or a
    /// histogram cannot be read.
    pub fn absorb(&mut self, later: Delta) -> bool {
        if later.key_fingerprint != self.key_fingerprint {
            return false;
        }
        // Histograms first: nothing changes unless every endpoint can be folded.
        let mut endpoints = self.endpoints.clone();
        let mut at: std::collections::HashMap<Key, usize> = endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key(), i))
            .collect();
        for e in later.endpoints {
            match at.get(&e.key()) {
                Some(&i) => {
                    if endpoints[i].absorb(e).is_none() {
                        return false;
                    }
                }
                None => {
                    at.insert(e.key(), endpoints.len());
                    endpoints.push(e);
                }
            }
        }
        self.endpoints = endpoints;
        fold(
            &mut self.transitions,
            later.transitions,
            |x| (x.from.clone(), x.to.clone()),
            |a, b| {
                a.principals = hll_union(&a.principals, &b.principals);
                counted(
                    &mut a.count,
                    &mut a.first_seen,
                    &mut a.last_seen,
                    b.count,
                    b.first_seen,
                    b.last_seen,
                );
                a.gap_sum_ms = a.gap_sum_ms.saturating_add(b.gap_sum_ms);
            },
        );
        fold(
            &mut self.paths,
            later.paths,
            |x| x.steps.clone(),
            |a, b| {
                a.principals = hll_union(&a.principals, &b.principals);
                counted(
                    &mut a.count,
                    &mut a.first_seen,
                    &mut a.last_seen,
                    b.count,
                    b.first_seen,
                    b.last_seen,
                );
            },
        );
        self.created_at = self.created_at.max(later.created_at);
        self.sensor_version = later.sensor_version;
        // Counters since start: the later delta's are the newer.
        self.health = later.health;
        // A fold keeps every service's delta: the centre merges them one after the other.
        self.tls.extend(later.tls);
        self.omitted.tls_services += later.omitted.tls_services;
        self.omitted.websocket += later.omitted.websocket;
        self.omitted.grpc_figures += later.omitted.grpc_figures;
        self.omitted.changed_hosts += later.omitted.changed_hosts;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(template: &str, first: i64, last: i64) -> Endpoint {
        Endpoint {
            host: "api.test".into(),
            method: "GET".into(),
            template: template.into(),
            example_path: format!("{template}?first={first}"),
            first_seen: first,
            last_seen: last,
            requests: 2,
            status: vec![(200, 2)],
            clients: vec![Client {
                ip: "10.0.0.1".into(),
                count: 2,
                first_seen: first,
                last_seen: last,
            }],
            minutes: vec![(first / 60, 2, 0)],
            findings: vec![Finding {
                kind: "unauthenticated".into(),
                detail: format!("seen at {first}"),
                count: 1,
                first_seen: first,
                last_seen: last,
                ..Finding::default()
            }],
            protocol: "http/1.1".into(),
            ..Endpoint::default()
        }
    }

    #[test]
    fn absorb_folds_as_the_centre_merges() {
        let mut a = Delta {
            key_fingerprint: "k".into(),
            endpoints: vec![endpoint("/a", 60, 120)],
            transitions: vec![Transition {
                count: 1,
                first_seen: 60,
                last_seen: 60,
                gap_sum_ms: 5,
                ..Transition::default()
            }],
            ..Delta::default()
        };
        let mut later_a = endpoint("/a", 180, 240);
        later_a.protocol = "grpc".into();
        later_a.clients[0].ip = "10.0.0.2".into();
        later_a.status = vec![(200, 1), (404, 1)];
        let b = Delta {
            key_fingerprint: "k".into(),
            endpoints: vec![endpoint("/b", 100, 110), later_a],
            transitions: vec![Transition {
                count: 2,
                first_seen: 30,
                last_seen: 200,
                gap_sum_ms: 7,
                ..Transition::default()
            }],
            ..Delta::default()
        };
        assert!(a.absorb(b));
        assert_eq!(a.endpoints.len(), 2);
        let e = &a.endpoints[0];
        assert_eq!(
            (e.template.as_str(), e.first_seen, e.last_seen),
            ("/a", 60, 240)
        );
        assert_eq!(e.requests, 4);
        assert_eq!(e.status, vec![(200, 3), (404, 1)]);
        assert_eq!(e.clients.len(), 2);
        assert_eq!(e.minutes, vec![(1, 2, 0), (3, 2, 0)]);
        // One finding (same kind and client): counts add, the later detail wins.
        assert_eq!(e.findings.len(), 1);
        assert_eq!(e.findings[0].count, 2);
        assert_eq!(e.findings[0].detail, "seen at 180");
        assert_eq!(
            (e.findings[0].first_seen, e.findings[0].last_seen),
            (60, 240)
        );
        // The example path is the first one (the centre writes it on insert only); an
        // application protocol wins over a plain one.
        assert_eq!(e.example_path, "/a?first=60");
        assert_eq!(e.protocol, "grpc");
        let t = &a.transitions[0];
        assert_eq!(
            (t.count, t.first_seen, t.last_seen, t.gap_sum_ms),
            (3, 30, 200, 12)
        );
        // gRPC stays against a later plain protocol.
        let mut c = a.clone();
        let plain = Delta {
            key_fingerprint: "k".into(),
            endpoints: vec![endpoint("/a", 300, 300)],
            ..Delta::default()
        };
        assert!(c.absorb(plain));
        assert_eq!(c.endpoints[0].protocol, "grpc");
        // Another key: refused, nothing changes.
        let other = Delta {
            key_fingerprint: "other".into(),
            endpoints: vec![endpoint("/c", 1, 1)],
            ..Delta::default()
        };
        assert!(!a.absorb(other));
        assert_eq!(a.endpoints.len(), 2);
        // An unreadable histogram: refused as a whole.
        let mut bad = endpoint("/a", 1, 1);
        bad.latency = vec![1, 2, 3];
        let mut with_hist = a.clone();
        with_hist.endpoints[0].latency = vec![9; 8];
        assert!(!with_hist.absorb(Delta {
            key_fingerprint: "k".into(),
            endpoints: vec![bad],
            ..Delta::default()
        }));
        assert_eq!(with_hist.endpoints[0].requests, 4);
    }

    #[test]
    fn round_trip_and_refusals() {
        let d = Delta {
            key_fingerprint: "00ff".into(),
            endpoints: vec![Endpoint {
                host: "h".into(),
                clients_hll: vec![1, 2, 3],
                status: vec![(200, 3)],
                ..Endpoint::default()
            }],
            ..Delta::default()
        };
        let bytes = d.encode().unwrap();
        let back = Delta::decode(&bytes).unwrap();
        assert_eq!(back.key_fingerprint, "00ff");
        assert_eq!(back.endpoints[0].clients_hll, vec![1, 2, 3]);
        assert_eq!(back.endpoints[0].status, vec![(200, 3)]);
        assert!(matches!(Delta::decode(b""), Err(WireError::NotADelta)));
        assert!(matches!(
            Delta::decode(b"STD\x09"),
            Err(WireError::Version(9))
        ));
        // Every prefix of a payload, and garbage after the header: an error, never a panic.
        for n in 0..bytes.len() {
            let _ = Delta::decode(&bytes[..n]);
        }
        assert!(Delta::decode(b"STD\x01garbage").is_err());
        // A deflate bomb stops at the bound.
        let mut bomb = b"STD\x01".to_vec();
        let mut z =
            flate2::write::DeflateEncoder::new(bomb.split_off(4), flate2::Compression::fast());
        for _ in 0..(MAX_JSON_BYTES / (1 << 20) + 2) {
            z.write_all(&vec![b' '; 1 << 20]).unwrap();
        }
        bomb.extend(z.finish().unwrap());
        assert!(matches!(Delta::decode(&bomb), Err(WireError::TooLarge(_))));
    }

    #[test]
    fn histograms_are_checked_before_they_are_read() {
        let mut h = new_latency_histogram();
        h.record(1500).unwrap();
        let mut b = Vec::new();
        V2Serializer::new().serialize(&h, &mut b).unwrap();
        assert!(plain_v2_histogram(&b));
        let mut lying = b.clone();
        lying[4..8].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        assert!(!plain_v2_histogram(&lying));
        assert!(!plain_v2_histogram(&b[..39]));
    }

    #[test]
    fn websocket_figures_travel_and_fold() {
        use crate::analyze::websocket::WsDelta;
        let mut w = WsDelta {
            connections: 2,
            max_message_bytes: 90,
            ..WsDelta::default()
        };
        w.sizes.record(90);
        w.close_codes.insert(1000, 2);
        w.subprotocols.insert("chat".into(), 2);
        let mut e = endpoint("/ws", 60, 120);
        e.websocket = Some(w.clone());
        let d = Delta {
            key_fingerprint: "k".into(),
            endpoints: vec![e.clone()],
            ..Delta::default()
        };
        let back = Delta::decode(&d.encode().unwrap()).unwrap();
        assert_eq!(back.endpoints[0].websocket.as_ref(), Some(&w));
        assert_eq!(back.omitted.websocket, 0);
        // A fold adds them as the centre's merge does; an endpoint without keeps them.
        let mut a = d.clone();
        assert!(a.absorb(d.clone()));
        let folded = a.endpoints[0].websocket.as_ref().unwrap();
        assert_eq!(folded.connections, 4);
        assert_eq!(folded.sizes.len(), 2);
        assert_eq!(folded.close_codes[&1000], 4);
        let mut plain = endpoint("/ws", 130, 140);
        plain.websocket = None;
        let mut b = d.clone();
        assert!(b.absorb(Delta {
            key_fingerprint: "k".into(),
            endpoints: vec![plain],
            ..Delta::default()
        }));
        assert_eq!(b.endpoints[0].websocket.as_ref(), Some(&w));
    }

    #[test]
    fn grpc_figures_travel_and_fold() {
        let mut m = crate::analyze::grpc::MethodFigures::new("shop.Cart", "Add");
        m.calls = 3;
        m.messages_in = 3;
        m.in_sizes = Some((5, 40));
        m.status.insert(Some(0), 2);
        m.status.insert(None, 1);
        let mut e = endpoint("/shop.Cart/Add", 60, 120);
        e.grpc = Some(("shop.Cart".into(), "Add".into()));
        e.grpc_figures = Some(GrpcFigures::of(&m));
        let d = Delta {
            key_fingerprint: "k".into(),
            endpoints: vec![e],
            ..Delta::default()
        };
        let back = Delta::decode(&d.encode().unwrap()).unwrap();
        let g = back.endpoints[0].grpc_figures.as_ref().unwrap();
        assert_eq!(g.figures("shop.Cart", "Add"), m);
        let mut a = d.clone();
        let mut later = d.clone();
        later.endpoints[0].grpc_figures.as_mut().unwrap().in_sizes = Some((2, 9));
        assert!(a.absorb(later));
        let f = a.endpoints[0].grpc_figures.as_ref().unwrap();
        assert_eq!((f.calls, f.in_sizes), (6, Some((2, 40))));
        assert_eq!(f.status, vec![(None, 2), (Some(0), 4)]);
        // What a delta may say: statuses past the cap are left, bounds in either order.
        let hostile = GrpcFigures {
            calls: u64::MAX,
            in_sizes: Some((90, 3)),
            status: (0..1000).map(|s| (Some(s), u64::MAX)).collect(),
            ..GrpcFigures::default()
        };
        let mut m2 = hostile.figures("s", "m");
        m2.merge(&hostile.figures("s", "m"));
        assert_eq!(m2.calls, u64::MAX);
        assert_eq!(m2.in_sizes, Some((3, 90)));
        assert_eq!(m2.status.len(), MAX_GRPC_STATUSES);
    }

    #[test]
    fn tls_services_travel_and_a_bad_address_is_left_out() {
        use crate::analyze::tls::{
            TlsCert as Cert, TlsClientDelta, TlsServiceDelta, TlsServiceKey,
        };
        use crate::time::Timestamp;
        let mut d = TlsServiceDelta {
            key: TlsServiceKey {
                server_ip: "10.0.0.5".parse().unwrap(),
                server_port: 443,
                sni: "api.test".into(),
            },
            first_seen: Timestamp(5),
            last_seen: Timestamp(9),
            handshakes: 3,
            incomplete: 1,
            resumed: 1,
            client_bytes: 100,
            server_bytes: 900,
            versions: [("TLS 1.3".to_string(), 3)].into(),
            ciphers: BTreeMap::new(),
            alpn_offered: [("h2".to_string(), 3)].into(),
            alpn_selected: BTreeMap::new(),
            version: Some("TLS 1.3".into()),
            cipher: None,
            cert: Some(Cert {
                subject: "CN=api.test".into(),
                sans: vec!["api.test".into()],
                chain_len: 2,
                ..Cert::default()
            }),
            clients: Default::default(),
        };
        d.clients.insert(
            ("10.0.0.9".parse().unwrap(), "t13d".into(), "t130".into()),
            TlsClientDelta {
                handshakes: 3,
                first_seen: Timestamp(5),
                last_seen: Timestamp(9),
            },
        );
        let wire = Delta {
            key_fingerprint: "k".into(),
            tls: vec![TlsService::of(&d)],
            ..Delta::default()
        };
        assert!(!wire.is_empty());
        let back = Delta::decode(&wire.encode().unwrap()).unwrap();
        assert_eq!(back.tls[0].delta().unwrap(), d);
        let mut bad = back.tls[0].clone();
        bad.clients[0].ip = "not an address".into();
        assert!(bad.delta().unwrap().clients.is_empty());
        bad.server_ip = "999.1.1.1".into();
        assert!(bad.delta().is_none());
    }

    #[test]
    fn hostile_websocket_figures_saturate() {
        use crate::analyze::websocket::WsDelta;
        // What a delta may say: counts at the top of the range, a histogram of the wrong
        // length, more subprotocols than the cap.
        let json = format!(
            r#"{{"connections": {m}, "client": {{"text": {m}, "bytes": {m}}}, "sizes": [{m}, {m}, 1],
                "subprotocols": {{{subs}}}, "close_codes": {{"1000": {m}}}}}"#,
            m = u64::MAX,
            subs = (0..100)
                .map(|i| format!("\"p{i}\": 1"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let hostile: WsDelta = serde_json::from_str(&json).unwrap();
        let mut stored = WsDelta::default();
        stored.merge(&hostile);
        stored.merge(&hostile);
        assert_eq!(stored.connections, u64::MAX);
        assert_eq!(stored.client.text, u64::MAX);
        assert_eq!(stored.sizes.len(), u64::MAX);
        assert!(stored.sizes.quantile(0.99).is_some());
        assert!(stored.subprotocols.len() <= crate::analyze::websocket::MAX_SUBPROTOCOLS);
        let short: crate::websocket::SizeHistogram = serde_json::from_str("[1, 2]").unwrap();
        assert_eq!(short.len(), 3);
    }

    #[test]
    fn fingerprints_differ_by_key() {
        assert_eq!(key_fingerprint(b"0123456789abcdef").len(), 16);
        assert_ne!(
            key_fingerprint(b"0123456789abcdef"),
            key_fingerprint(b"0123456789abcdeg")
        );
    }
}
