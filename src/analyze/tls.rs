//! The TLS inventory: what the handshakes of encrypted connections tell, summed per service
//! (server address, port and SNI) between two flushes, with who called it and with which
//! client stack (JA4). No keys are needed: only the cleartext handshake is read (by `tls`).
//!
//! What it owns: the per-service sums and their caps. What it may not touch: the bytes of a
//! connection (the `tls` layer reads them), SQL (the store merges [`TlsServiceDelta`]s).

use crate::time::Timestamp;
use crate::tls::{TlsEvent, TlsHandshake};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// A TLS service: where the handshakes went, and the name the client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlsServiceKey {
    /// The server's address.
    pub server_ip: IpAddr,
    /// The server's port.
    pub server_port: u16,
    /// The SNI the clients sent, lower case ("" without one).
    pub sni: String,
}

impl TlsServiceKey {
    /// The host this service joins in the inventory: its SNI, or the server address.
    pub fn host(&self) -> String {
        if self.sni.is_empty() {
            self.server_ip.to_string()
        } else {
            self.sni.clone()
        }
    }
}

/// The server certificate, as the last full handshake showed it (TLS ≤ 1.2: TLS 1.3 encrypts it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TlsCert {
    /// Subject (RFC 4514 text).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Subject alternative names (DNS names and addresses).
    pub sans: Vec<String>,
    /// Start of validity, s since the epoch.
    pub not_before: i64,
    /// End of validity, s since the epoch.
    pub not_after: i64,
    /// Key type and size (`rsa 2048`, `ec 256`, `ed25519`).
    pub key: String,
    /// Issued by itself.
    pub self_signed: bool,
    /// Certificates the server sent.
    pub chain_len: u32,
    /// SHA-256 of the certificate (hex).
    pub sha256: String,
}

/// One client of a service with one client stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsClientDelta {
    /// Handshakes.
    pub handshakes: u64,
    /// First handshake.
    pub first_seen: Timestamp,
    /// Last handshake.
    pub last_seen: Timestamp,
}

/// (client address, JA4 of its hello, JA4S of the answer).
pub type TlsClientKey = (IpAddr, String, String);

/// What a service did between two flushes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsServiceDelta {
    /// The service.
    pub key: TlsServiceKey,
    /// First event.
    pub first_seen: Timestamp,
    /// Last event.
    pub last_seen: Timestamp,
    /// ClientHellos.
    pub handshakes: u64,
    /// Connections whose server hello was never seen.
    pub incomplete: u64,
    /// Abbreviated handshakes (resumed sessions).
    pub resumed: u64,
    /// Record bytes the clients sent after the handshake.
    pub client_bytes: u64,
    /// Record bytes the server sent after the handshake.
    pub server_bytes: u64,
    /// Negotiated versions, by name.
    pub versions: BTreeMap<String, u64>,
    /// Chosen cipher suites, by name.
    pub ciphers: BTreeMap<String, u64>,
    /// ALPN protocols offered.
    pub alpn_offered: BTreeMap<String, u64>,
    /// ALPN protocols selected.
    pub alpn_selected: BTreeMap<String, u64>,
    /// The latest negotiated version.
    pub version: Option<String>,
    /// The latest chosen cipher suite.
    pub cipher: Option<String>,
    /// The server certificate, when a handshake showed it.
    pub cert: Option<TlsCert>,
    /// Clients by (address, JA4, JA4S), at most `max_clients` per flush.
    pub clients: HashMap<TlsClientKey, TlsClientDelta>,
}

impl TlsServiceDelta {
    fn new(key: TlsServiceKey, ts: Timestamp) -> TlsServiceDelta {
        TlsServiceDelta {
            key,
            first_seen: ts,
            last_seen: ts,
            handshakes: 0,
            incomplete: 0,
            resumed: 0,
            client_bytes: 0,
            server_bytes: 0,
            versions: BTreeMap::new(),
            ciphers: BTreeMap::new(),
            alpn_offered: BTreeMap::new(),
            alpn_selected: BTreeMap::new(),
            version: None,
            cipher: None,
            cert: None,
            clients: HashMap::new(),
        }
    }

    fn seen(&mut self, ts: Timestamp) {
        self.first_seen = self.first_seen.min(ts);
        self.last_seen = self.last_seen.max(ts);
    }
}

/// Caps of the TLS inventory (per flush; the store caps what it keeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsInventoryConfig {
    /// Services held between two flushes.
    pub max_services: usize,
    /// (client, JA4, JA4S) entries per service between two flushes.
    pub max_clients: usize,
    /// Distinct names per counted map (versions, ciphers, ALPN) of a service.
    pub max_names: usize,
}

impl Default for TlsInventoryConfig {
    fn default() -> Self {
        TlsInventoryConfig {
            max_services: 10_000,
            max_clients: 1_000,
            max_names: 32,
        }
    }
}

/// Counters of the TLS inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TlsInventoryStats {
    /// Handshakes counted.
    pub handshakes: u64,
    /// Events dropped because `max_services` services were held.
    pub services_over_cap: u64,
    /// Client entries not recorded at `max_clients`.
    pub clients_over_cap: u64,
    /// Names (versions, ciphers, ALPN) not recorded at `max_names`.
    pub names_over_cap: u64,
}

crate::counters!(TlsInventoryStats {
    handshakes,
    services_over_cap,
    clients_over_cap,
    names_over_cap
});

/// Sums TLS events per service until drained.
#[derive(Debug, Default)]
pub struct TlsInventory {
    cfg: TlsInventoryConfig,
    services: HashMap<TlsServiceKey, TlsServiceDelta>,
    stats: TlsInventoryStats,
}

fn count(map: &mut BTreeMap<String, u64>, name: &str, n: u64, cap: usize, over: &mut u64) {
    if let Some(c) = map.get_mut(name) {
        *c += n;
    } else if map.len() < cap {
        map.insert(name.to_string(), n);
    } else {
        *over += 1;
    }
}

impl TlsInventory {
    /// An inventory with these caps.
    pub fn new(cfg: TlsInventoryConfig) -> TlsInventory {
        TlsInventory {
            cfg,
            ..TlsInventory::default()
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &TlsInventoryStats {
        &self.stats
    }

    fn service(&mut self, key: TlsServiceKey, ts: Timestamp) -> Option<&mut TlsServiceDelta> {
        let full = self.services.len() >= self.cfg.max_services;
        if full && !self.services.contains_key(&key) {
            self.stats.services_over_cap += 1;
            return None;
        }
        let d = self
            .services
            .entry(key.clone())
            .or_insert_with(|| TlsServiceDelta::new(key, ts));
        d.seen(ts);
        Some(d)
    }

    /// Records one event of the TLS layer.
    pub fn observe(&mut self, ev: &TlsEvent) {
        match ev {
            TlsEvent::Handshake(s) => {
                let h: &TlsHandshake = &s.hello;
                let key = TlsServiceKey {
                    server_ip: s.server.ip,
                    server_port: s.server.port,
                    sni: h.sni.as_deref().unwrap_or("").to_ascii_lowercase(),
                };
                let cfg = self.cfg;
                let mut names_over = 0;
                let mut clients_over = 0;
                let Some(d) = self.service(key, s.ts) else {
                    return;
                };
                if h.client_hello {
                    d.handshakes += 1;
                }
                if !h.server_hello {
                    d.incomplete += 1;
                }
                if h.resumed {
                    d.resumed += 1;
                }
                for a in &h.alpn_offered {
                    count(&mut d.alpn_offered, a, 1, cfg.max_names, &mut names_over);
                }
                if let Some(a) = &h.alpn_selected {
                    count(&mut d.alpn_selected, a, 1, cfg.max_names, &mut names_over);
                }
                if let Some(v) = h.version {
                    let name = crate::tls::names::version_name(v);
                    count(&mut d.versions, &name, 1, cfg.max_names, &mut names_over);
                    d.version = Some(name.into_owned());
                }
                if let Some(c) = h.cipher {
                    let name = crate::tls::names::cipher_suite_name(c)
                        .map_or_else(|| format!("0x{c:04x}"), str::to_string);
                    count(&mut d.ciphers, &name, 1, cfg.max_names, &mut names_over);
                    d.cipher = Some(name);
                }
                if let Some(c) = &h.certificate {
                    d.cert = Some(TlsCert {
                        subject: c.subject.clone(),
                        issuer: c.issuer.clone(),
                        sans: c.sans.clone(),
                        not_before: c.not_before,
                        not_after: c.not_after,
                        key: if c.key_bits > 0 {
                            format!("{} {}", c.key_type, c.key_bits)
                        } else {
                            c.key_type.clone()
                        },
                        self_signed: c.self_signed,
                        chain_len: h.chain_len,
                        sha256: c.sha256_hex.clone(),
                    });
                }
                let ck = (
                    s.client.ip,
                    h.ja4.clone().unwrap_or_default(),
                    h.ja4s.clone().unwrap_or_default(),
                );
                let full = d.clients.len() >= cfg.max_clients;
                match d.clients.get_mut(&ck) {
                    Some(c) => {
                        c.handshakes += 1;
                        c.first_seen = c.first_seen.min(s.ts);
                        c.last_seen = c.last_seen.max(s.ts);
                    }
                    None if full => clients_over += 1,
                    None => {
                        d.clients.insert(
                            ck,
                            TlsClientDelta {
                                handshakes: 1,
                                first_seen: s.ts,
                                last_seen: s.ts,
                            },
                        );
                    }
                }
                self.stats.handshakes += 1;
                self.stats.names_over_cap += names_over;
                self.stats.clients_over_cap += clients_over;
            }
            TlsEvent::Traffic {
                server,
                sni,
                client_bytes,
                server_bytes,
                ts,
                ..
            } => {
                let key = TlsServiceKey {
                    server_ip: server.ip,
                    server_port: server.port,
                    sni: sni.as_deref().unwrap_or("").to_ascii_lowercase(),
                };
                if let Some(d) = self.service(key, *ts) {
                    d.client_bytes += client_bytes;
                    d.server_bytes += server_bytes;
                }
            }
        }
    }

    /// Services held now.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// No service held.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Takes what was summed since the last drain, in key order.
    pub fn drain(&mut self) -> Vec<TlsServiceDelta> {
        let mut out: Vec<TlsServiceDelta> = self.services.drain().map(|(_, d)| d).collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }
}
