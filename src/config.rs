//! Configuration file (TOML). Every option also has a command-line flag; the file is for what a
//! tap host keeps: pinned templates, limits.
//!
//! ```toml
//! # Templates that win over learning. `host` is optional (every host when absent).
//! [[templates]]
//! host = "api.example.com"
//! path = "/users/{user_id}/avatar"
//!
//! # Call-sequence analysis (every key optional; defaults shown).
//! [sequences]
//! session_gap_secs = 1800   # silence that ends a principal's session
//! baseline_secs = 3600      # packet time per host that only builds the baseline
//! max_principals = 100000   # principals tracked at once (least recently active evicted)
//!
//! # Noise control: which hosts are ours, which are third parties, what to ignore (present,
//! # it replaces the rules stored in the inventory; `[hosts]` alone clears them).
//! [hosts]
//! owned = ["api.example.com", "*.example.internal"]
//! third_party = ["*.google-analytics.com"]
//! ignore = [{ path = "/healthz" }, { host = "cdn.example.com", path = "/assets/*" }]
//!
//! # Observed host names that stand for an API description's server host (the sensor often
//! # sees internal names): observed = "spec host".
//! [spec.hosts]
//! "orders.svc.cluster.local:8080" = "api.example.com"
//! ```
//!
//! The sensor daemon (`shadowtap run`) reads the sections `[capture]`, `[store]`, `[web]`,
//! `[alerts]`, `[retention]`, `[limits]` and `[tls]`; `systemd/shadowtap.toml` documents every
//! key. `ingest` and `run` both read `[grpc]`, `[websocket]` and `[hosts]`.
//! Sizes are a number of bytes or a string with a unit (`"64MiB"`, `"2G"`); durations are a
//! number of seconds or a string with a unit (`"500ms"`, `"10s"`, `"5m"`, `"1h"`, `"7d"`).

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A pinned template.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PinnedTemplate {
    /// Only for this host (all hosts when absent).
    pub host: Option<String>,
    /// The template, with `{name}` parameters.
    pub path: String,
}

/// The `[sequences]` section: call-sequence analysis.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SequencesSection {
    /// A principal silent this long starts a new session (seconds).
    pub session_gap_secs: Option<i64>,
    /// Packet time, from a host's first call, during which its traffic only builds the
    /// baseline of `novel_transition` (seconds).
    pub baseline_secs: Option<i64>,
    /// Principals tracked at once.
    pub max_principals: Option<usize>,
}

impl SequencesSection {
    /// Applies the options that are set.
    pub fn apply(&self, cfg: &mut crate::analyze::sequence::SequenceConfig) {
        if let Some(v) = self.session_gap_secs {
            cfg.session_gap_secs = v.max(1);
        }
        if let Some(v) = self.baseline_secs {
            cfg.baseline_secs = v.max(0);
        }
        if let Some(v) = self.max_principals {
            cfg.max_principals = v.max(1);
        }
    }
}

/// The `[spec]` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SpecSection {
    /// Observed host -> the host of a spec's `servers` it stands for.
    #[serde(default)]
    pub hosts: std::collections::BTreeMap<String, String>,
}

/// The `[hosts]` section: which hosts are ours and which endpoints to ignore (noise control;
/// `ingest` and `run` read it and store it in the inventory, where every assessment applies
/// it; see [`crate::analyze::scope`]). Present, it replaces the rules stored before (an empty
/// `[hosts]` clears them); absent, they are kept.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HostsSection {
    /// Host patterns that are ours (`api.acme.io`, `*.acme.internal`). When set, every host
    /// that matches none of them nor an imported description's servers is third-party; when
    /// empty, every host is ours but those of `third_party`.
    #[serde(default)]
    pub owned: Vec<String>,
    /// Host patterns that are not ours (`*.google-analytics.com`), even without `owned`.
    #[serde(default)]
    pub third_party: Vec<String>,
    /// Endpoints to ignore: kept in the inventory, hidden, no findings.
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
}

/// One ignore rule of `[hosts]`: every part that is set must match (at least one part).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    /// Host pattern.
    pub host: Option<String>,
    /// Path template pattern (`/healthz`, `/assets/*`).
    pub path: Option<String>,
}

impl HostsSection {
    /// The rules, checked: an ignore rule needs a host or a path, a pattern is not empty.
    pub fn rules(&self) -> Result<crate::analyze::scope::ScopeRules, String> {
        let check = |what: &str, p: &str| -> Result<String, String> {
            let p = p.trim();
            if p.is_empty() {
                return Err(format!("[hosts] {what}: an empty pattern"));
            }
            Ok(p.to_string())
        };
        let mut out = crate::analyze::scope::ScopeRules::default();
        for h in &self.owned {
            out.owned.push(check("owned", h)?);
        }
        for h in &self.third_party {
            out.third_party.push(check("third_party", h)?);
        }
        for r in &self.ignore {
            if r.host.is_none() && r.path.is_none() {
                return Err("[hosts] ignore: a rule needs a host, a path or both".into());
            }
            out.ignore.push(crate::analyze::scope::IgnoreRule {
                host: r
                    .host
                    .as_deref()
                    .map(|h| check("ignore host", h))
                    .transpose()?,
                path: r
                    .path
                    .as_deref()
                    .map(|p| check("ignore path", p))
                    .transpose()?,
            });
        }
        Ok(out)
    }
}

/// A size in bytes: a number, or a string with a unit (`k`, `M`, `G`, `T` are powers of 1000;
/// `KiB`, `MiB`, `GiB`, `TiB` powers of 1024; `B` optional).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<ByteSize, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a size (e.g. 512MiB, 2G, 1048576)"))?;
        let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "t" | "tb" => 1e12,
            "ki" | "kib" => 1024.0,
            "mi" | "mib" => 1024.0 * 1024.0,
            "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
            "ti" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return Err(format!("{s:?}: unknown size unit {unit:?}")),
        };
        let v = n * mult;
        if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
            return Err(format!("{s:?} is out of range"));
        }
        Ok(ByteSize(v as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ByteSize, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A duration: a number of seconds, or a string with a unit (`ms`, `s`, `m`, `h`, `d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval(pub std::time::Duration);

impl std::str::FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Interval, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 10s, 5m, 1h, 7d)"))?;
        let secs = match unit.trim() {
            "ms" => n / 1000.0,
            "" | "s" => n,
            "m" | "min" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86400.0,
            _ => return Err(format!("{s:?}: unknown duration unit {unit:?}")),
        };
        std::time::Duration::try_from_secs_f64(secs)
            .map(Interval)
            .map_err(|_| format!("{s:?} is out of range"))
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interval, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            F(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Interval(std::time::Duration::from_secs(n))),
            Raw::F(f) => std::time::Duration::try_from_secs_f64(f)
                .map(Interval)
                .map_err(serde::de::Error::custom),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The `[capture]` section of the daemon: where packets come from and how they are shared
/// out to the analysis workers.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CaptureSection {
    /// Interfaces to capture on (one capture thread each).
    pub interfaces: Option<Vec<String>>,
    /// BPF filter expression, as tcpdump takes it.
    pub bpf: Option<String>,
    /// Bytes captured per frame.
    pub snaplen: Option<i32>,
    /// Promiscuous mode (needs CAP_NET_ADMIN).
    pub promisc: Option<bool>,
    /// Kernel capture buffer per interface.
    pub buffer_size: Option<ByteSize>,
    /// Analysis workers (0 or absent: one per available core).
    pub workers: Option<usize>,
    /// Packets queued per worker before new ones are dropped (and counted).
    pub queue_depth: Option<usize>,
    /// How packets are shared out: `addresses` or `flow`.
    pub shard: Option<ShardMode>,
}

/// The `[store]` section of the daemon.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// Inventory database.
    pub db: Option<PathBuf>,
    /// How often the workers' aggregates are merged into the database.
    pub flush_interval: Option<Interval>,
    /// How often endpoints are re-classified against imported specs.
    pub assess_interval: Option<Interval>,
    /// Endpoints kept in the database.
    pub max_endpoints: Option<i64>,
    /// Client rows kept per endpoint.
    pub max_clients_per_endpoint: Option<i64>,
    /// With `--central`: bytes of deltas the outbox may hold while the centre is unreachable
    /// (past them the oldest are folded together, never dropped).
    pub spool_bytes: Option<ByteSize>,
}

/// The `[web]` section of the daemon: the dashboard and `/metrics`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebSection {
    /// Address to listen on; an empty string turns the dashboard off.
    pub listen: Option<String>,
    /// File holding a bearer token (also accepted as the login password).
    pub auth_token_file: Option<PathBuf>,
    /// argon2 hash (PHC string) of the dashboard password.
    pub password_hash: Option<String>,
    /// Reverse proxies (addresses or CIDR networks) whose `X-Forwarded-Proto` and
    /// `X-Forwarded-For` are believed.
    pub trusted_proxies: Option<Vec<String>>,
    /// Always mark the session cookie `Secure`.
    pub cookie_secure: Option<bool>,
    /// Accept OpenAPI uploads on the dashboard.
    pub allow_spec_upload: Option<bool>,
}

/// The `[alerts]` section of the daemon.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// `http://` or `https://` URL alerts are POSTed to as JSON (none: alerts are only logged).
    pub webhook_url: Option<String>,
    /// File holding a bearer token sent with every POST.
    pub webhook_token_file: Option<PathBuf>,
    /// PEM bundle of the CAs trusted for an `https://` webhook, instead of the system store.
    pub webhook_ca_file: Option<PathBuf>,
    /// Timeout of one POST.
    pub webhook_timeout: Option<Interval>,
    /// Alert on findings at least this severe (`info` ... `critical`, or `off`).
    pub min_severity: Option<String>,
    /// Alert on endpoints not in the inventory before.
    pub new_endpoints: Option<bool>,
    /// Alert on new shadow (undocumented) and zombie (deprecated but called) APIs.
    pub shadow_zombie: Option<bool>,
    /// Alert on a client fingerprint (JA4) new to an encrypted service that had a stable set.
    pub new_tls_fingerprints: Option<bool>,
    /// Alerts allowed per minute (token bucket refill).
    pub rate_per_minute: Option<u32>,
    /// Alerts allowed in a burst (token bucket size).
    pub burst: Option<u32>,
    /// Name of this sensor in alerts (default: the host name).
    pub sensor_name: Option<String>,
}

/// The `[retention]` section of the daemon.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Per-client detail and samples older than this many days are deleted (0: kept).
    pub detail_days: Option<u32>,
    /// Database size budget: past it, the oldest detail is deleted first.
    pub max_db_size: Option<ByteSize>,
    /// How often retention runs.
    pub interval: Option<Interval>,
}

/// The `[limits]` section of the daemon: the memory budget and the caps derived from it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Memory the daemon should stay under; the caps below default to shares of it.
    pub memory_budget: Option<ByteSize>,
    /// Connections tracked per worker.
    pub max_flows: Option<usize>,
    /// Idle time after which a connection is closed.
    pub flow_timeout: Option<Interval>,
    /// Out-of-order bytes held per direction.
    pub max_buffered_per_dir: Option<ByteSize>,
    /// Out-of-order bytes held per worker.
    pub max_reassembly_memory: Option<ByteSize>,
    /// Largest HTTP message head.
    pub max_head_bytes: Option<ByteSize>,
    /// Most header fields per message.
    pub max_headers: Option<usize>,
    /// Bytes of each body kept for analysis.
    pub body_sample: Option<ByteSize>,
    /// Bytes the HTTP layer holds per worker.
    pub max_http_memory: Option<ByteSize>,
    /// IP datagrams reassembled from fragments at once, per worker.
    pub max_fragmented_datagrams: Option<usize>,
    /// Hosts tracked per worker.
    pub max_hosts: Option<usize>,
    /// Endpoints held per worker between two flushes.
    pub max_endpoints_per_flush: Option<usize>,
}

/// The `[tls]` section: decryption with a key log (`shadowtap run`; `log` and `ingest` take
/// `--keylog`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// NSS key log file (SSLKEYLOGFILE), followed as it grows; it may not exist yet.
    pub keylog: Option<PathBuf>,
    /// Sessions kept from the key log (the oldest are not evicted: new ones are dropped and
    /// counted).
    pub keylog_max_entries: Option<usize>,
    /// Capture time a connection's records wait for its key to appear in the file.
    pub hold_timeout: Option<Interval>,
    /// Encrypted bytes held per connection while its key is missing.
    pub max_held_per_conn: Option<ByteSize>,
    /// Encrypted bytes held per worker while keys are missing.
    pub max_held: Option<ByteSize>,
}

/// `[grpc]`: protobuf descriptor sets that name the fields of gRPC messages (the file's
/// counterpart of `--proto-descriptor`; `ingest` and `run` read it).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GrpcSection {
    /// `FileDescriptorSet` files (`protoc --descriptor_set_out=FILE --include_imports`).
    #[serde(default)]
    pub descriptors: Vec<PathBuf>,
}

/// `[websocket]`: limits of the WebSocket layer (`ingest` and `run` read it; every key
/// optional, the defaults are [`crate::websocket::WsConfig`]'s). Every cap that drops something
/// is counted under `engine.websocket` (docs/caps.md).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebSocketSection {
    /// Frames parsed per connection; the rest of the connection is counted, not parsed.
    pub max_frames: Option<u64>,
    /// Text messages sampled per connection (the first ones).
    pub max_samples: Option<usize>,
    /// Bytes of each sampled text message (default: the body sample).
    pub sample_bytes: Option<ByteSize>,
    /// Bytes held for samples and inflaters (per worker for `run`).
    pub max_memory: Option<ByteSize>,
    /// Bytes inflated per direction of a connection (`permessage-deflate`).
    pub max_inflate_bytes: Option<ByteSize>,
    /// Memory an inflater is charged against `max_memory` (at least its 32 KiB window).
    pub inflater_cost: Option<ByteSize>,
}

impl WebSocketSection {
    /// The WebSocket limits: the options that are set over the defaults, whose sample size is
    /// `body_sample`. Refuses a frame cap of 0 and an inflater cost below the deflate window
    /// (which would let inflaters escape the memory cap).
    pub fn config(&self, body_sample: usize) -> Result<crate::websocket::WsConfig, String> {
        let mut cfg = crate::websocket::WsConfig::from_http(body_sample);
        let size = |b: ByteSize| usize::try_from(b.0).unwrap_or(usize::MAX);
        if let Some(v) = self.max_frames {
            if v == 0 {
                return Err("[websocket] max_frames must be at least 1".into());
            }
            cfg.max_frames = v;
        }
        if let Some(v) = self.max_samples {
            cfg.max_samples = v;
        }
        if let Some(v) = self.sample_bytes {
            cfg.sample_bytes = size(v);
        }
        if let Some(v) = self.max_memory {
            cfg.max_memory = size(v);
        }
        if let Some(v) = self.max_inflate_bytes {
            cfg.max_inflate_bytes = v.0;
        }
        if let Some(v) = self.inflater_cost {
            if v.0 < 32 * 1024 {
                return Err(
                    "[websocket] inflater_cost must be at least 32KiB (the deflate window)".into(),
                );
            }
            cfg.inflater_cost = size(v);
        }
        Ok(cfg)
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Pinned templates.
    #[serde(default)]
    pub templates: Vec<PinnedTemplate>,
    /// Call-sequence analysis.
    #[serde(default)]
    pub sequences: SequencesSection,
    /// Matching observed hosts to imported API descriptions.
    #[serde(default)]
    pub spec: SpecSection,
    /// Daemon: capture.
    #[serde(default)]
    pub capture: CaptureSection,
    /// Daemon: the database.
    #[serde(default)]
    pub store: StoreSection,
    /// Daemon: dashboard and metrics.
    #[serde(default)]
    pub web: WebSection,
    /// Daemon: alerts.
    #[serde(default)]
    pub alerts: AlertsSection,
    /// Daemon: retention.
    #[serde(default)]
    pub retention: RetentionSection,
    /// Daemon: memory budget and caps.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Daemon: decryption with a key log.
    #[serde(default)]
    pub tls: TlsSection,
    /// gRPC: descriptor sets.
    #[serde(default)]
    pub grpc: GrpcSection,
    /// WebSocket limits.
    #[serde(default)]
    pub websocket: WebSocketSection,
    /// Noise control: owned hosts, third parties, ignore rules (`None`: the section is absent).
    pub hosts: Option<HostsSection>,
    /// Daemon: access logs followed as they grow (`[[follow]]`, repeated).
    #[serde(default)]
    pub follow: Vec<FollowLog>,
}

/// One access log the daemon follows (`[[follow]]`): each line is a transaction of source
/// `access_log`, beside what the interfaces capture.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FollowLog {
    /// The log file's path (followed across rotations: renamed or truncated).
    pub path: PathBuf,
    /// Its format (`--source` names: `combined`, `nginx-json`, `envoy`, ...; `auto` or absent:
    /// told from its first line).
    pub format: Option<String>,
    /// The host of lines that name none (combined and HAProxy logs).
    pub host: Option<String>,
    /// Read what the file holds already, not only what is appended after the start.
    #[serde(default)]
    pub from_start: bool,
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("{}: {}; give --config the path of a TOML configuration file", path.display(), crate::capture::io_reason(error))]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// It is not valid TOML or has unknown keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error.
        source: toml::de::Error,
    },
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// How the daemon shares frames out among its workers (`[capture] shard`, `--shard`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ShardMode {
    /// By the pair of IP addresses: keeps every connection of a client to a server (and so
    /// its call sequences) on one worker.
    #[default]
    Addresses,
    /// By addresses and ports: the most even spread, but one client's connections may be
    /// analysed by different workers.
    Flow,
}

impl ShardMode {
    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            ShardMode::Addresses => "addresses",
            ShardMode::Flow => "flow",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pins_and_refuses_unknown_keys() {
        let c: Config = toml::from_str(
            "[[templates]]\nhost = \"a\"\npath = \"/x/{id}\"\n[[templates]]\npath = \"/y\"\n",
        )
        .unwrap();
        assert_eq!(c.templates.len(), 2);
        assert_eq!(c.templates[1].host, None);
        assert!(toml::from_str::<Config>("[[templates]]\npaht = \"/x\"\n").is_err());
        let c: Config = toml::from_str(
            "[sequences]\nbaseline_secs = 19\n[spec.hosts]\n\"api.internal:8080\" = \"api.example.com\"\n",
        )
        .unwrap();
        assert_eq!(c.sequences.baseline_secs, Some(19));
        assert_eq!(c.spec.hosts["api.internal:8080"], "api.example.com");
        assert!(toml::from_str::<Config>("[sequences]\nbaseline = 19\n").is_err());
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!("512MiB".parse::<ByteSize>(), Ok(ByteSize(512 << 20)));
        assert_eq!("2G".parse::<ByteSize>(), Ok(ByteSize(2_000_000_000)));
        assert_eq!("1048576".parse::<ByteSize>(), Ok(ByteSize(1 << 20)));
        assert_eq!("1.5KiB".parse::<ByteSize>(), Ok(ByteSize(1536)));
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        assert!("-1".parse::<ByteSize>().is_err());
        let d = |s: &str| s.parse::<Interval>().map(|i| i.0.as_millis());
        assert_eq!(d("500ms"), Ok(500));
        assert_eq!(d("10s"), Ok(10_000));
        assert_eq!(d("10"), Ok(10_000));
        assert_eq!(d("5m"), Ok(300_000));
        assert_eq!(d("1h"), Ok(3_600_000));
        assert_eq!(d("7d"), Ok(604_800_000));
        assert!(d("soon").is_err());
        assert!(d("1e400").is_err());
    }

    #[test]
    fn daemon_sections() {
        let c: Config = toml::from_str(
            r#"
            [capture]
            interfaces = ["eth1", "eth2"]
            bpf = "tcp port 80"
            buffer_size = "64MiB"
            workers = 4
            shard = "flow"
            [store]
            db = "/var/lib/shadowtap/inventory.db"
            flush_interval = "5s"
            [web]
            listen = ""
            [alerts]
            webhook_url = "http://127.0.0.1:9000/hook"
            min_severity = "high"
            rate_per_minute = 30
            [retention]
            detail_days = 30
            max_db_size = "2GiB"
            [limits]
            memory_budget = "1GiB"
            flow_timeout = 120
            [tls]
            keylog = "/run/keys.log"
            hold_timeout = "5s"
            max_held = "8MiB"
            "#,
        )
        .unwrap();
        assert_eq!(
            c.capture.interfaces.as_deref().map(<[String]>::len),
            Some(2)
        );
        assert_eq!(c.capture.buffer_size, Some(ByteSize(64 << 20)));
        assert_eq!(c.capture.shard, Some(ShardMode::Flow));
        assert_eq!(
            c.store.flush_interval,
            Some(Interval(std::time::Duration::from_secs(5)))
        );
        assert_eq!(c.web.listen.as_deref(), Some(""));
        assert_eq!(c.retention.max_db_size, Some(ByteSize(2 << 30)));
        assert_eq!(
            c.limits.flow_timeout,
            Some(Interval(std::time::Duration::from_secs(120)))
        );
        assert_eq!(
            c.tls.keylog.as_deref(),
            Some(std::path::Path::new("/run/keys.log"))
        );
        assert_eq!(c.tls.max_held, Some(ByteSize(8 << 20)));
        assert!(toml::from_str::<Config>("[tls]\nkeylogfile = \"x\"\n").is_err());
        assert!(toml::from_str::<Config>("[capture]\ninterface = \"eth0\"\n").is_err());
        assert!(toml::from_str::<Config>("[capture]\nshard = \"round-robin\"\n").is_err());
    }

    #[test]
    fn websocket_section() {
        let c: Config = toml::from_str(
            "[websocket]\nmax_frames = 10\nmax_samples = 2\nmax_memory = \"1MiB\"\nmax_inflate_bytes = \"64KiB\"\ninflater_cost = \"64KiB\"\n",
        )
        .unwrap();
        let w = c.websocket.config(4096).unwrap();
        assert_eq!(w.max_frames, 10);
        assert_eq!(w.max_samples, 2);
        assert_eq!(w.sample_bytes, 4096);
        assert_eq!(w.max_memory, 1 << 20);
        assert_eq!(w.max_inflate_bytes, 64 << 10);
        assert_eq!(w.inflater_cost, 64 << 10);
        // Nothing set: the defaults, the sample following the body sample.
        let d = WebSocketSection::default().config(100).unwrap();
        let def = crate::websocket::WsConfig::default();
        assert_eq!(d.sample_bytes, 100);
        assert_eq!(
            (
                d.max_frames,
                d.max_samples,
                d.max_memory,
                d.max_inflate_bytes,
                d.inflater_cost
            ),
            (
                def.max_frames,
                def.max_samples,
                def.max_memory,
                def.max_inflate_bytes,
                def.inflater_cost
            )
        );
        let c: Config = toml::from_str("[websocket]\nsample_bytes = \"1KiB\"\n").unwrap();
        assert_eq!(c.websocket.config(100).unwrap().sample_bytes, 1024);
        let bad = |t: &str| {
            toml::from_str::<Config>(t)
                .unwrap()
                .websocket
                .config(0)
                .unwrap_err()
        };
        assert!(bad("[websocket]\nmax_frames = 0\n").contains("max_frames"));
        assert!(bad("[websocket]\ninflater_cost = 1024\n").contains("inflater_cost"));
        assert!(toml::from_str::<Config>("[websocket]\nmax_frame = 1\n").is_err());
    }

    #[test]
    fn hosts_section() {
        let c: Config = toml::from_str(
            "[hosts]\nowned = [\"api.acme.io\", \"*.acme.internal\"]\nthird_party = [\"*.google-analytics.com\"]\nignore = [{ path = \"/healthz\" }, { host = \"cdn.acme.io\", path = \"/assets/*\" }]\n",
        )
        .unwrap();
        let r = c.hosts.unwrap().rules().unwrap();
        assert_eq!(r.owned, ["api.acme.io", "*.acme.internal"]);
        assert_eq!(r.third_party, ["*.google-analytics.com"]);
        assert_eq!(r.ignore.len(), 2);
        assert!(r.ignore[1].matches("cdn.acme.io", "/assets/{file}"));
        // Absent: None (the stored rules are kept); empty: no rules (they are cleared).
        assert_eq!(Config::default().hosts, None);
        let empty: Config = toml::from_str("[hosts]\n").unwrap();
        assert_eq!(empty.hosts.unwrap().rules().unwrap(), Default::default());
        let bad = |t: &str| {
            toml::from_str::<Config>(t)
                .unwrap()
                .hosts
                .unwrap()
                .rules()
                .unwrap_err()
        };
        assert!(bad("[hosts]\nignore = [{}]\n").contains("host, a path"));
        assert!(bad("[hosts]\nowned = [\" \"]\n").contains("empty"));
        assert!(toml::from_str::<Config>("[hosts]\nignore = [{ hots = \"x\" }]\n").is_err());
    }
}
