//! The command line: argument definitions and one module per command.

pub mod central;
pub mod code;
pub mod demo;
pub mod endpoints;
pub mod export;
pub mod findings;
pub mod ingest;
pub mod log;
pub mod record;
pub mod report;
pub mod run;
pub mod sensors;
pub mod sequences;
pub mod serve;
pub mod spec;
pub mod template;
pub mod tls;

use crate::decode::DefragConfig;
use crate::engine::EngineConfig;
use crate::http::HttpConfig;
use crate::reassembly::ReassemblyConfig;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// shadowtap: a passive API inventory sensor.
#[derive(Debug, Parser)]
#[command(name = "shadowtap", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one row per HTTP transaction found in capture files or on an interface.
    Log(LogArgs),
    /// Write what an interface captures to a pcap file (to make captures for tests and demos).
    Record(RecordArgs),
    /// Add capture files to an inventory database (created if missing); a file already
    /// ingested is skipped (unless --force), an interrupted ingest is finished.
    Ingest(IngestArgs),
    /// List the endpoints of an inventory.
    Endpoints(EndpointsArgs),
    /// List the sensors of a fleet with their health, from the centre's `api_sensors`: last
    /// delta, lag, drops, version, interfaces.
    Sensors(SensorsArgs),
    /// Export an inventory: SQL dump, CSV (one file per public view), JSON or OpenAPI 3.1.
    Export(ExportArgs),
    /// Import an API description (OpenAPI 3.x or Swagger 2.0), or show how the observed
    /// inventory differs from the imported ones.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Pin, unpin and list endpoint templates: correct what the template learner decided
    /// (merge paths into one endpoint, or keep a literal apart from a parameter) and see why.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// List findings, posture and behavioural (table, JSON or SARIF for CI pipelines).
    Findings(FindingsArgs),
    /// Print the main call flows of an inventory: top transitions and three-call paths per host.
    Sequences(SequencesArgs),
    /// List the encrypted services of an inventory (from TLS handshakes, no keys needed):
    /// versions, cipher suites, ALPN, certificates, and clients with their JA4 fingerprints.
    Tls(TlsArgs),
    /// Serve the web dashboard over an inventory (read-only; works while another process ingests).
    Serve(ServeArgs),
    /// Run the sensor daemon: capture live on one or more interfaces, analyse on every core,
    /// keep the inventory current, serve the dashboard and /metrics, send alerts.
    Run(Box<RunArgs>),
    /// Ingest the bundled captures (and their OpenAPI document) into a fresh inventory and
    /// serve the dashboard: the quickest way to see what shadowtap does.
    Demo(DemoArgs),
    /// Find the routes source code declares (Express, Fastify, Koa, FastAPI, Flask, Django
    /// and DRF), by parsing it: method, path template with mounts resolved, file:line,
    /// handler, authentication.
    #[command(subcommand)]
    Code(CodeCommand),
    /// Run the fleet's centre: apply the deltas sensors ship (`ingest --central`) to the
    /// central inventory on PostgreSQL, in order per sensor, a few deltas per transaction (each in a
    /// savepoint of its own).
    Central(CentralArgs),
}

impl Command {
    /// Whether the command only prints (to a terminal, a file or a pipe) and ends: when a
    /// pipe it prints into closes early, it may simply die of SIGPIPE, as Unix tools do.
    /// Not the daemon, the dashboard and `demo` (servers), nor `log`, which handles a closed
    /// pipe itself and still prints `--stats`.
    pub fn prints_for_pipes(&self) -> bool {
        matches!(
            self,
            Command::Ingest(_)
                | Command::Endpoints(_)
                | Command::Export(_)
                | Command::Spec(_)
                | Command::Template(_)
                | Command::Findings(_)
                | Command::Sequences(_)
                | Command::Tls(_)
                | Command::Code(_)
        )
    }
}

/// Whether an error is output to a reader that went away (EPIPE): the command ends quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs `f`, which may create the inventory `db`; when it fails, the files of a new
/// inventory (the database, its `-wal`, `-shm` and `.key`) that it created are removed, so a
/// failed command leaves nothing behind. Files that were there before are never touched.
pub fn removed_on_failure<T>(
    db: &std::path::Path,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let new: Vec<PathBuf> = if db.symlink_metadata().is_err() {
        ["", "-wal", "-shm", ".key"]
            .iter()
            .map(|suffix| {
                let mut p = db.as_os_str().to_owned();
                p.push(suffix);
                PathBuf::from(p)
            })
            .filter(|p| p.symlink_metadata().is_err())
            .collect()
    } else {
        Vec::new()
    };
    let result = f();
    if result.is_err() {
        for p in &new {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

/// The text of an error for its user: the error and each cause below it that it does not
/// already say. Most errors here embed their cause in their own message (`{path}: {source}`)
/// and also expose it as their `source()`, so printing the whole chain (`{e:#}`) repeated it
/// two or three times; a cause is printed only when its text is new.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !c.is_empty() && !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

/// `spec` subcommands.
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Import a document (JSON or YAML) into the inventory and re-classify every endpoint.
    Import(SpecImportArgs),
    /// Print shadow, zombie and dormant endpoints, the drift of documented ones, and where
    /// scanned code and traffic disagree (`code scan --db`).
    Diff(SpecDiffArgs),
}

/// `code` subcommands.
#[derive(Debug, Subcommand)]
pub enum CodeCommand {
    /// Parse the source trees under DIR... and print the routes they declare, sorted by
    /// path (a summary of files read, skipped and unparsable goes to standard error).
    Scan(CodeScanArgs),
}

/// Arguments of `code scan`.
#[derive(Debug, Args)]
pub struct CodeScanArgs {
    /// Directories to scan (dependencies, build output and virtual environments are
    /// skipped; file paths are printed relative to their directory).
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    /// Files larger than this are skipped (bundles, minified and generated code).
    #[arg(long, default_value_t = 2 << 20, value_name = "BYTES")]
    pub max_file_bytes: u64,
    /// Also store the routes in this inventory (replacing an earlier scan of the same
    /// directories) and join them with the endpoints observed there: declared but never
    /// observed, observed but declared nowhere, and declared auth against observed auth.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The host the code serves, as the sensor sees it (`api.example.com`, `10.0.0.5:8080`);
    /// repeat for several. Without it, the hosts where its routes are observed.
    #[arg(long = "host", value_name = "HOST", requires = "db")]
    pub hosts: Vec<String>,
}

/// `template` subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Pin templates (`/users/{id}`, `/users/me`): they win over learning from now on, and the
    /// stored endpoints they cover are merged into them at once (endpoints are never split:
    /// a literal pin beside a learned parameter applies to later traffic).
    Pin(TemplatePinArgs),
    /// Remove pins (stored endpoints keep their templates).
    Unpin(TemplatePinArgs),
    /// List the pins, and with --learned the learned templates with the evidence for each
    /// parameter.
    List(TemplateListArgs),
}

/// Arguments of `template pin` and `template unpin`.
#[derive(Debug, Args)]
pub struct TemplatePinArgs {
    /// Inventory database.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Only this host (default: every host).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Templates, with `{name}` parameters (`/repos/{owner}/{repo}`, `/posts/{id}.json`).
    #[arg(value_name = "TEMPLATE", required = true)]
    pub templates: Vec<String>,
}

/// Arguments of `template list`.
#[derive(Debug, Args)]
pub struct TemplateListArgs {
    /// Inventory database.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Only this host (learned templates).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Also list learned templates, busiest first, with the rule and evidence of each
    /// parameter.
    #[arg(long)]
    pub learned: bool,
    /// Learned templates listed at most.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub limit: i64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `spec import`.
#[derive(Debug, Args)]
pub struct SpecImportArgs {
    /// Inventory database (created if missing).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Observed host names that stand for the spec's server host, as OBSERVED=SPECHOST
    /// (when the sensor sees internal names); repeatable.
    #[arg(long = "map-host", value_name = "OBSERVED=SPECHOST")]
    pub map_host: Vec<String>,
    /// Configuration file: its `[spec.hosts]` table maps observed hosts too.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The document.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Arguments of `spec diff`.
#[derive(Debug, Args)]
pub struct SpecDiffArgs {
    /// Inventory database.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Only this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Output format of `findings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FindingsFormat {
    /// A readable list.
    Table,
    /// A JSON array.
    Json,
    /// SARIF 2.1.0, for CI pipelines and code-scanning tools.
    Sarif,
}

/// Arguments of `findings`: the listing (`findings --db FILE` or `findings list --db FILE`)
/// or a triage change (`findings triage`).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct FindingsArgs {
    /// What to do (the listing when absent).
    #[command(subcommand)]
    pub command: Option<FindingsCommand>,
    /// The listing's arguments.
    #[command(flatten)]
    pub list: FindingsListArgs,
}

/// Subcommands of `findings`.
#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// List findings (what `findings` alone does).
    List(FindingsListArgs),
    /// Set a finding's triage state (open, acknowledged, false_positive, resolved), with why.
    Triage(TriageArgs),
}

/// Arguments of `findings list`.
#[derive(Debug, Args)]
pub struct FindingsListArgs {
    /// Inventory database: a SQLite file, or a fleet's centre (`postgres://USER@HOST/DB`).
    #[arg(long, value_name = "PATH|URL", required = true)]
    pub db: Option<PathBuf>,
    /// Only findings at least this severe (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY", default_value = "info")]
    pub min_severity: String,
    /// Only findings in this triage state: open, acknowledged, false_positive, resolved,
    /// active (open and acknowledged), unsuppressed (all but false positives) or all.
    /// Default: unsuppressed, or all with --include-suppressed.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// List false positives too (SARIF: as suppressed results).
    #[arg(long)]
    pub include_suppressed: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FindingsFormat::Table)]
    pub format: FindingsFormat,
}

/// Arguments of `findings triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Inventory database: a sensor's file, or the fleet's centre (`postgres://...`, as its
    /// owner role).
    #[arg(long, value_name = "PATH|URL")]
    pub db: PathBuf,
    /// The finding: its id (as `findings` lists it) or its dedup key.
    #[arg(value_name = "FINDING")]
    pub finding: String,
    /// The new state: open, acknowledged, false_positive or resolved.
    #[arg(long, value_name = "STATE")]
    pub state: String,
    /// Why (kept in the history).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Who (default: $USER, or `cli`).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// Text of captured (or imported) strings for text and table outputs. Control characters
/// (C0, DEL, C1: tabs, newlines, terminal escapes) and the invisible formatting characters
/// that reorder or hide text (bidirectional embeddings, overrides and isolates U+202A–202E
/// and U+2066–2069, marks U+200E/U+200F/U+061C, zero-width characters, line and paragraph
/// separators, BOM) are shown escaped, as `\u{202e}`: visible, so that a host or path
/// can neither break a row, drive the terminal, nor read as something it is not. JSON
/// output escapes by itself, and CSV export quotes (see `store::export`).
pub(crate) fn clean(s: &str) -> String {
    use std::fmt::Write as _;
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// The formatting characters [`clean`] escapes besides controls: bidirectional embeddings,
/// overrides, isolates and marks, zero-width characters, line and paragraph separators, BOM.
pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Arguments of `sequences`.
#[derive(Debug, Args)]
pub struct SequencesArgs {
    /// Inventory database.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Only this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Transitions and paths listed per host.
    #[arg(long, default_value_t = 15, value_name = "N")]
    pub top: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `tls`.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Inventory database.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Only this host (SNI, or server address without one).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Clients listed per service.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub clients: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Inventory database (not needed with --hash-password).
    #[arg(long, value_name = "PATH", required_unless_present = "hash_password")]
    pub db: Option<PathBuf>,
    /// Address to listen on. Anything but a loopback address requires --auth-token-file or
    /// --password-hash.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// File holding a bearer token that grants access (for automation; also accepted as the
    /// login password).
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// An argon2 hash (PHC string) of the dashboard password; `shadowtap serve --hash-password`
    /// prints one.
    #[arg(long, value_name = "PHC", env = "SHADOWTAP_PASSWORD_HASH")]
    pub password_hash: Option<String>,
    /// Read a password on standard input, print its argon2 hash and exit.
    #[arg(long)]
    pub hash_password: bool,
    /// Address or network (CIDR) of a reverse proxy in front of the dashboard, repeatable: its
    /// `X-Forwarded-Proto: https` makes the session cookie `Secure`, and its `X-Forwarded-For`
    /// names the client (login throttling is per client). Nobody else's are believed.
    #[arg(long = "trusted-proxy", value_name = "ADDR")]
    pub trusted_proxies: Vec<String>,
    /// Always mark the session cookie `Secure` (the dashboard is reached over HTTPS).
    #[arg(long)]
    pub cookie_secure: bool,
    /// Accept OpenAPI uploads on the Spec page and `POST /api/spec` (they write to the
    /// inventory); without it the dashboard is read-only.
    #[arg(long)]
    pub allow_spec_upload: bool,
}

/// Arguments of `run`. Every option can also be set in the configuration file (the flag wins);
/// `systemd/shadowtap.toml` documents them.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Configuration file (TOML): [capture], [store], [web], [alerts], [retention], [limits],
    /// and the pinned templates, sequences and spec host sections of `ingest`.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Interface to capture on (repeatable: one capture thread each).
    #[arg(short, long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Access log to follow as it grows, rotations included (repeatable): `PATH`, its format
    /// told from its first line, or `FORMAT:PATH` with a `--source` name (`nginx:/var/log/
    /// nginx/access.log`). Each line is a transaction of source `access_log`. With logs
    /// followed, an interface is optional.
    #[arg(long = "follow", value_name = "[FORMAT:]PATH")]
    pub follow: Vec<String>,
    /// The host of followed lines that name none (combined and HAProxy logs).
    #[arg(long, value_name = "HOST")]
    pub follow_host: Option<String>,
    /// BPF capture filter, as tcpdump takes it.
    #[arg(long, value_name = "EXPR")]
    pub bpf: Option<String>,
    /// Bytes captured per frame [default: 262144].
    #[arg(long, value_name = "N")]
    pub snaplen: Option<i32>,
    /// Promiscuous mode (needs CAP_NET_ADMIN).
    #[arg(long)]
    pub promisc: bool,
    /// Kernel capture buffer per interface, e.g. 64MiB [default: 32MiB].
    #[arg(long, value_name = "SIZE")]
    pub buffer_size: Option<crate::config::ByteSize>,
    /// Inventory database (created if missing).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Dashboard and /metrics address; "off" for none [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Analysis workers [default: one per available core].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// How often aggregates are merged into the database, e.g. 10s [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub flush_interval: Option<crate::config::Interval>,
    /// Packets queued per worker before new ones are dropped (and counted) [default: from
    /// the memory budget, at most 8192].
    #[arg(long, value_name = "N")]
    pub queue_depth: Option<usize>,
    /// How packets are shared out among workers [default: addresses].
    #[arg(long, value_enum, value_name = "MODE")]
    pub shard: Option<crate::sensor::ShardMode>,
    /// File holding a bearer token for the dashboard and /metrics.
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// argon2 hash (PHC string) of the dashboard password.
    #[arg(long, value_name = "PHC", env = "SHADOWTAP_PASSWORD_HASH")]
    pub password_hash: Option<String>,
    /// Address or network (CIDR) of a reverse proxy in front of the dashboard, repeatable:
    /// its `X-Forwarded-Proto` and `X-Forwarded-For` are believed [default: none].
    #[arg(long = "trusted-proxy", value_name = "ADDR")]
    pub trusted_proxies: Vec<String>,
    /// Always mark the dashboard's session cookie `Secure` (reached over HTTPS).
    #[arg(long)]
    pub cookie_secure: bool,
    /// Accept OpenAPI uploads on the dashboard (they write to the inventory).
    #[arg(long)]
    pub allow_spec_upload: bool,
    /// http:// or https:// URL alerts are POSTed to as JSON (https verifies the server
    /// against the system trust store, or --webhook-ca-file).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// File holding a bearer token sent with every webhook POST.
    #[arg(long, value_name = "FILE")]
    pub webhook_token_file: Option<PathBuf>,
    /// PEM bundle of the CAs trusted for an https:// webhook, used instead of the system
    /// trust store (private CA).
    #[arg(long, value_name = "FILE")]
    pub webhook_ca_file: Option<PathBuf>,
    /// Alert on findings at least this severe: info, low, medium, high, critical or off
    /// [default: high].
    #[arg(long, value_name = "SEVERITY")]
    pub alert_min_severity: Option<String>,
    /// Do not alert on new endpoints.
    #[arg(long)]
    pub no_alert_new_endpoints: bool,
    /// Do not alert on new shadow and zombie APIs.
    #[arg(long)]
    pub no_alert_shadow_zombie: bool,
    /// Do not alert on client fingerprints (JA4) new to an encrypted service.
    #[arg(long)]
    pub no_alert_new_tls_fingerprints: bool,
    /// Alerts allowed per minute [default: 60].
    #[arg(long, value_name = "N")]
    pub alert_rate: Option<u32>,
    /// Alerts allowed in a burst [default: 20].
    #[arg(long, value_name = "N")]
    pub alert_burst: Option<u32>,
    /// Name of this sensor in alerts [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub sensor_name: Option<String>,
    /// Delete per-client detail and samples older than this many days; 0 keeps them
    /// [default: 30].
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// Database size budget, e.g. 2GiB: past it the oldest detail is deleted first.
    #[arg(long, value_name = "SIZE")]
    pub max_db_size: Option<crate::config::ByteSize>,
    /// How often retention runs [default: 1h].
    #[arg(long, value_name = "DURATION")]
    pub retention_interval: Option<crate::config::Interval>,
    /// Memory the daemon should stay under; caps default to shares of it [default: 1GiB].
    #[arg(long, value_name = "SIZE")]
    pub memory_budget: Option<crate::config::ByteSize>,
    /// Connections tracked per worker [default: from the memory budget].
    #[arg(long, value_name = "N")]
    pub max_flows: Option<usize>,
    /// Idle time after which a connection is closed [default: 300s].
    #[arg(long, value_name = "DURATION")]
    pub flow_timeout: Option<crate::config::Interval>,
    /// Hosts tracked per worker [default: from the memory budget, at most 1024].
    #[arg(long, value_name = "N")]
    pub max_hosts: Option<usize>,
    /// Endpoints held per worker between two flushes [default: from the memory budget].
    #[arg(long, value_name = "N")]
    pub max_endpoints_per_flush: Option<usize>,
    /// Endpoints kept in the database [default: 100000].
    #[arg(long, value_name = "N")]
    pub max_endpoints: Option<i64>,
    /// Client rows kept per endpoint [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_clients_per_endpoint: Option<i64>,
    /// How often endpoints are re-classified against imported specs [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub assess_interval: Option<crate::config::Interval>,
    /// Timeout of one webhook POST [default: 5s].
    #[arg(long, value_name = "DURATION")]
    pub webhook_timeout: Option<crate::config::Interval>,
    /// Out-of-order bytes held per direction [default: 1MiB].
    #[arg(long, value_name = "SIZE")]
    pub max_buffered_per_dir: Option<crate::config::ByteSize>,
    /// Out-of-order bytes held per worker [default: from the memory budget].
    #[arg(long, value_name = "SIZE")]
    pub max_reassembly_memory: Option<crate::config::ByteSize>,
    /// Largest HTTP message head [default: 64KiB].
    #[arg(long, value_name = "SIZE")]
    pub max_head_bytes: Option<crate::config::ByteSize>,
    /// Most header fields per message [default: 128].
    #[arg(long, value_name = "N")]
    pub max_headers: Option<usize>,
    /// Bytes of each body kept for analysis [default: 64KiB].
    #[arg(long, value_name = "SIZE")]
    pub body_sample: Option<crate::config::ByteSize>,
    /// Bytes the HTTP layer holds per worker [default: from the memory budget].
    #[arg(long, value_name = "SIZE")]
    pub max_http_memory: Option<crate::config::ByteSize>,
    /// IP datagrams reassembled from fragments at once, per worker [default: 1024].
    #[arg(long, value_name = "N")]
    pub max_fragmented_datagrams: Option<usize>,
    /// NSS key log file (SSLKEYLOGFILE) to decrypt TLS with, followed as it grows: records wait
    /// (within [tls] caps and hold_timeout, default 10s of capture time) for keys written after
    /// the handshake. Secrets are never printed or stored.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Protobuf descriptor set (`protoc --descriptor_set_out=FILE --include_imports`), repeatable:
    /// gRPC message fields are named from it. Added to the config file's `[grpc] descriptors`.
    #[arg(long = "proto-descriptor", value_name = "FILE")]
    pub proto_descriptor: Vec<PathBuf>,
    /// Create this file once capture runs; it holds the dashboard URL (for scripts and tests).
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Also ship every flush's delta to a fleet's centre (`postgres://...`, see `central`):
    /// written to the outbox in the flush's own transaction, sent every flush interval,
    /// kept while the centre is down.
    #[arg(long, value_name = "URL")]
    pub central: Option<String>,
    /// This sensor's name in the fleet (kept in the database; default: the kept one, else
    /// the host name).
    #[arg(long, value_name = "NAME", requires = "central")]
    pub sensor: Option<String>,
}

/// Arguments of `central`.
#[derive(Debug, Args)]
pub struct CentralArgs {
    /// The central inventory: `postgres://USER@HOST/DB` (schema created or brought up to date).
    #[arg(long, value_name = "URL")]
    pub db: String,
    /// The fleet's keyed-hash key, the same file every sensor has as `<db>.key` (mode 0600):
    /// deltas hashed with another key are parked, not merged.
    #[arg(long, value_name = "FILE")]
    pub key_file: PathBuf,
    /// Apply what is waiting and exit (without it, keep applying every --every seconds).
    #[arg(long)]
    pub once: bool,
    /// Seconds between rounds.
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    pub every: u64,
    /// Seconds between assessments of the whole inventory (scope, scanner probes, TLS
    /// findings, auth consistency, the code's join), run after rounds that applied deltas,
    /// as a sensor's `assess_interval`; with --once, once at the end. 0 turns it off.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub assess_every: u64,
    /// Days of per-client detail kept (client rows, per-minute counts, sensitive-data
    /// samples, per-client findings), as a sensor's `[retention] detail_days`: older detail
    /// is deleted every hour (with --once, once at the end). 0 keeps everything.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub retention_days: u32,
}

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to put the demo inventory (default: $TMPDIR/shadowtap-demo/inventory.db, or
    /// under /tmp, started afresh by each run).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Directory of capture files to ingest.
    #[arg(long, default_value = "captures", value_name = "DIR")]
    pub captures: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Ingest and exit without serving (for scripts and tests).
    #[arg(long)]
    pub no_serve: bool,
    /// Accept OpenAPI uploads on the dashboard (they write to the demo inventory).
    #[arg(long)]
    pub allow_spec_upload: bool,
}

/// Arguments of `ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Inventory database (SQLite).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Also ship this ingest's deltas to a fleet's centre (`postgres://...`, see `central`):
    /// each flush is written to the outbox in the same transaction as the local merge, and
    /// sent at the end; when the centre is down they wait in the outbox for the next run.
    #[arg(long, value_name = "URL")]
    pub central: Option<String>,
    /// This sensor's name in the fleet (kept in the database; default: the kept one, else
    /// the host name).
    #[arg(long, value_name = "NAME", requires = "central")]
    pub sensor: Option<String>,
    /// Configuration file (TOML), the one `run` reads: `ingest` takes its pinned templates
    /// (`[[templates]]`), its mapping of observed hosts to the servers of API descriptions
    /// (`[spec.hosts]`), its call-sequence settings (`[sequences]`), its descriptor sets
    /// (`[grpc]`) and its WebSocket limits (`[websocket]`); the daemon's sections are checked and
    /// otherwise ignored. Example: captures/shadowtap.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Capture files (pcap or pcapng), or with `--source` access logs and HAR files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// What the files are: without it, capture files. `har` (HAR 1.2), `nginx` or `apache`
    /// (the combined or common log format), `nginx-json` (nginx JSON `log_format`, the keys
    /// in README), `envoy` (Envoy's default format), `haproxy` (`option httplog`), `caddy`,
    /// `traefik` and `kong` (their JSON logs), `alb` (AWS Application Load Balancer),
    /// `envoy-json` (Envoy JSON with the default format's operators as keys), `pcap`, or `auto` (told per file from its first bytes; an
    /// error when unsure).
    #[arg(long, value_enum, value_name = "KIND")]
    pub source: Option<SourceKind>,
    /// Host of access-log transactions whose lines name none (the combined format has no
    /// Host): without it they are recorded under `unknown-host.invalid`.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Longest access-log line read; longer lines are counted and skipped.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    pub max_line_bytes: usize,
    /// Largest HAR entry read (an entry is held whole while read); a larger one stops its
    /// file, keeping the entries before it.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub max_har_entry_bytes: u64,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
    /// At the end, print to stderr what happened to every packet and byte, what the
    /// inventory and the store did, and every cap that dropped something. Without it, a
    /// one-line warning still names the caps that dropped something.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub stats: Option<StatsFormat>,
    /// Ingest the files again from their start even if they were ingested before, completely
    /// or in part: their traffic is counted again. Without it, a file already ingested is
    /// skipped and one whose ingest was interrupted (killed) is finished where its last
    /// committed flush ended.
    #[arg(long)]
    pub force: bool,
    /// Merge into the database after this many transactions (an interrupted ingest resumes
    /// after the last merge).
    #[arg(long, default_value_t = 20_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub flush_every: u64,
    /// Protobuf descriptor set (`protoc --descriptor_set_out=FILE --include_imports`), repeatable:
    /// gRPC message fields are named from it in body shapes and sensitive-data findings
    /// (without one they are `f1`, `f3.f2`, ...). Added to the config file's `[grpc] descriptors`.
    #[arg(long = "proto-descriptor", value_name = "FILE")]
    pub proto_descriptor: Vec<PathBuf>,
    /// Engine limits.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Output format of `endpoints`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// An aligned table.
    Table,
    /// Tab-separated values with a header.
    Tsv,
    /// A JSON array.
    Json,
}

/// Arguments of `endpoints`.
#[derive(Debug, Args)]
pub struct EndpointsArgs {
    /// Inventory database: a SQLite file, or a fleet's centre (`postgres://USER@HOST/DB`).
    #[arg(long, value_name = "PATH|URL")]
    pub db: PathBuf,
    /// Only this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Arguments of `sensors`.
#[derive(Debug, Args)]
pub struct SensorsArgs {
    /// The fleet's centre (`postgres://USER@HOST/DB`), or a SQLite inventory.
    #[arg(long, value_name = "URL|PATH")]
    pub db: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A SQL dump that `sqlite3 new.db < dump.sql` loads.
    Sql,
    /// One CSV file per public view, in the --out directory.
    Csv,
    /// One JSON document with every endpoint and its details.
    Json,
    /// An OpenAPI 3.1 document of what was observed.
    Openapi,
    /// The findings as SARIF 2.1.0 (what `findings --format sarif` prints).
    Sarif,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Inventory database: a SQLite file, or a fleet's centre (`postgres://USER@HOST/DB`;
    /// csv, json and sarif).
    #[arg(long, value_name = "PATH|URL")]
    pub db: PathBuf,
    /// Format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Output file (a directory for csv); standard output when absent (not for csv).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Only this host (json, openapi and sarif).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Export findings triaged as false positives too (csv, json; sarif: as suppressed
    /// results). The SQL dump always has everything.
    #[arg(long)]
    pub include_suppressed: bool,
}

/// Output format of `log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Tab-separated values with a header line (Zeek's http.log columns; `-` for unset).
    Tsv,
    /// One JSON object per line (null for unset).
    Jsonl,
}

/// What `ingest --source` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// Told per file from its first bytes.
    Auto,
    /// pcap or pcapng captures.
    Pcap,
    /// HAR 1.2 files.
    Har,
    /// nginx access logs in the combined (or common) format.
    Nginx,
    /// nginx JSON access logs.
    NginxJson,
    /// Apache access logs in the combined (or common) format.
    Apache,
    /// Envoy access logs in Envoy's default format.
    Envoy,
    /// HAProxy logs in the HTTP format (`option httplog`), syslog lines or bare.
    Haproxy,
    /// Caddy's JSON access log.
    Caddy,
    /// Traefik's JSON access log.
    Traefik,
    /// AWS Application Load Balancer access logs.
    Alb,
    /// Envoy JSON access logs (keys named after the default format's operators, as Istio's).
    EnvoyJson,
    /// Kong Gateway's logging-plugin JSON (File Log, HTTP Log, ...).
    Kong,
}

/// Format of `--stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// A readable report.
    Text,
    /// One JSON object.
    Json,
}

/// Where packets come from.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Capture files (pcap or pcapng), read in order as one stream.
    #[arg(
        value_name = "FILE",
        required_unless_present = "interface",
        conflicts_with = "interface"
    )]
    pub files: Vec<PathBuf>,
    /// Capture live from this network interface instead (needs CAP_NET_RAW); Ctrl-C stops.
    #[arg(short, long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// BPF capture filter, as tcpdump takes it (e.g. "tcp port 80").
    #[arg(long, value_name = "EXPR")]
    pub bpf: Option<String>,
    /// Bytes captured per frame on a live interface.
    #[arg(long, default_value_t = 262_144, value_name = "N")]
    pub snaplen: i32,
    /// Put the interface in promiscuous mode (needs CAP_NET_ADMIN).
    #[arg(long)]
    pub promisc: bool,
    /// Kernel capture buffer size in bytes.
    #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
    pub buffer_size: i32,
}

/// Limits of the engine; every cap is counted in `--stats` when it bites.
#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// Connections tracked at once (least recently active evicted beyond).
    #[arg(long, default_value_t = 262_144, value_name = "N")]
    pub max_flows: usize,
    /// Seconds of inactivity (packet time) after which a connection is closed.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub flow_timeout: u64,
    /// Out-of-order bytes held per direction before holes are skipped as gaps.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_buffered_per_dir: usize,
    /// Out-of-order bytes held across all connections.
    #[arg(long, default_value_t = 512 << 20, value_name = "BYTES")]
    pub max_reassembly_memory: usize,
    /// Largest HTTP message head.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    pub max_head_bytes: usize,
    /// Most header fields per message.
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub max_headers: usize,
    /// Bytes of each body kept for analysis [default: 65536; `log` keeps none, it does not
    /// look at bodies].
    #[arg(long, value_name = "BYTES")]
    pub body_sample: Option<usize>,
    /// Bytes the HTTP layer may hold across connections (heads in progress, body samples).
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    pub max_http_memory: usize,
    /// IP datagrams reassembled from fragments at once.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_fragmented_datagrams: usize,
    /// NSS key log file (SSLKEYLOGFILE, as curl, browsers, Go, Java agents, nginx and envoy
    /// write it): TLS connections whose secrets it holds are decrypted, and their HTTP/1.x
    /// transactions read and tagged `tls`. Read whole before the first packet; secrets are
    /// never printed or stored.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
}

impl EngineArgs {
    /// The engine configuration these flags describe.
    pub fn config(&self) -> EngineConfig {
        EngineConfig {
            defrag: DefragConfig {
                max_datagrams: self.max_fragmented_datagrams,
                ..DefragConfig::default()
            },
            reassembly: ReassemblyConfig {
                max_flows: self.max_flows,
                idle_timeout_ns: (self.flow_timeout as i64).saturating_mul(1_000_000_000),
                max_buffered_per_dir: self.max_buffered_per_dir,
                max_buffered_total: self.max_reassembly_memory,
                ..ReassemblyConfig::default()
            },
            http: HttpConfig {
                max_head_bytes: self.max_head_bytes,
                max_headers: self.max_headers,
                body_sample_bytes: self.body_sample.unwrap_or(64 * 1024),
                max_memory: self.max_http_memory,
                ..HttpConfig::default()
            },
            tls: crate::tls::TlsConfig::default(),
            http2: None,
            websocket: None,
        }
    }

    /// [`EngineArgs::config`] with the key log of `--keylog` read (a file that cannot be read
    /// is an error).
    pub fn config_with_keys(&self) -> anyhow::Result<EngineConfig> {
        let mut cfg = self.config();
        if let Some(path) = &self.keylog {
            let store =
                crate::tls::KeyStore::read(path, crate::tls::keylog::KeyLog::DEFAULT_MAX_ENTRIES)
                    .map_err(|e| anyhow::anyhow!("--keylog {}: {e}", path.display()))?;
            // Counts only: a line of a key log is never shown.
            let s = store.stats();
            if s.secrets == 0 || s.malformed + s.dropped_full > 0 {
                eprintln!(
                    "shadowtap: warning: --keylog {}: {} secret(s) read, {} malformed line(s) skipped, {} dropped at the cap",
                    path.display(),
                    s.secrets,
                    s.malformed,
                    s.dropped_full
                );
            }
            cfg.tls.keys = Some(std::sync::Arc::new(store));
        }
        Ok(cfg)
    }
}

/// Arguments of `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Packet source.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LogFormat::Tsv)]
    pub format: LogFormat,
    /// At the end, print to stderr what happened to every packet and byte.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub stats: Option<StatsFormat>,
    /// Print secrets as captured, for forensics: credentials in the target and the Host
    /// header, JWTs, card numbers, API keys and other sensitive values are redacted otherwise
    /// (the same rules as the inventory). Prints a warning to standard error.
    #[arg(long)]
    pub unredacted: bool,
    /// Engine limits.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Arguments of `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Interface to capture from.
    #[arg(short, long, value_name = "IFACE")]
    pub interface: String,
    /// File to write (pcap, nanosecond timestamps).
    #[arg(short, long, value_name = "FILE")]
    pub write: PathBuf,
    /// BPF capture filter.
    #[arg(long, value_name = "EXPR")]
    pub bpf: Option<String>,
    /// Bytes captured per frame.
    #[arg(long, default_value_t = 262_144, value_name = "N")]
    pub snaplen: i32,
    /// Kernel capture buffer size in bytes.
    #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
    pub buffer_size: i32,
    /// Stop after this many frames.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Create this file once the capture is running (lets scripts wait for readiness).
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Log(args) => log::run(&args),
        Command::Record(args) => record::run(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Endpoints(args) => endpoints::run(&args),
        Command::Sensors(args) => sensors::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Spec(cmd) => spec::run(&cmd),
        Command::Template(cmd) => template::run(&cmd),
        Command::Findings(args) => findings::run(&args),
        Command::Sequences(args) => sequences::run(&args),
        Command::Tls(args) => tls::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Central(args) => central::run(&args),
        Command::Code(cmd) => code::run(&cmd),
        Command::Run(args) => run::run(&args),
    }
}

/// The descriptor sets of the config file's `[grpc] descriptors` and of `--proto-descriptor`,
/// read into one table (`None` without any; a file that cannot be read is an error).
pub fn grpc_descriptors(
    config: &crate::config::Config,
    flags: &[PathBuf],
) -> anyhow::Result<Option<std::sync::Arc<crate::analyze::grpc::Descriptors>>> {
    let files: Vec<PathBuf> = config
        .grpc
        .descriptors
        .iter()
        .chain(flags)
        .cloned()
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    let d = crate::analyze::grpc::Descriptors::load_all(&files)
        .map_err(|e| anyhow::anyhow!("--proto-descriptor: {e}"))?;
    Ok(Some(std::sync::Arc::new(d)))
}

/// Writes rows as an aligned text table under a header of `cols` (cells over 60 characters
/// clipped with `…`; cells are the caller's, already cleaned of control characters).
pub fn write_table(
    out: &mut impl std::io::Write,
    cols: &[&str],
    rows: Vec<Vec<String>>,
) -> std::io::Result<()> {
    fn clip(s: &str, w: usize) -> String {
        if s.chars().count() <= w {
            s.to_string()
        } else {
            s.chars()
                .take(w.saturating_sub(1))
                .chain(std::iter::once('…'))
                .collect()
        }
    }
    let mut width: Vec<usize> = cols.iter().map(|c| c.len()).collect();
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count()).min(60);
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{:<w$}", clip(c, *w), w = *w))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let header: Vec<String> = cols.iter().map(|s| s.to_string()).collect();
    writeln!(out, "{}", line(&header).trim_end())?;
    for row in rows {
        writeln!(out, "{}", line(&row).trim_end())?;
    }
    Ok(())
}

/// The URL when `--db` names a fleet's central inventory on PostgreSQL rather than a SQLite
/// file.
pub fn central_url(db: &std::path::Path) -> Option<&str> {
    db.to_str().filter(|d| crate::store::pg::is_postgres_url(d))
}

/// A Tokio runtime for a command that uses the store.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// A flag raised by SIGINT, SIGTERM or SIGHUP, installed once (for the synchronous
/// commands, `record` and `log`; async code waits on `tokio::signal`, which sits on the same
/// `signal-hook` registry).
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, OnceLock};
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            // If a handler cannot be installed, the signal ends the process the default way.
            let _ = signal_hook::flag::register(sig, flag.clone());
        }
        flag
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn clean_escapes_controls_and_bidi_visibly() {
        assert_eq!(clean("/users/{id}"), "/users/{id}");
        assert_eq!(clean("caf\u{e9} \u{1f600}"), "caf\u{e9} \u{1f600}");
        assert_eq!(clean("a\tb\nc\x1b[31m"), "a\\u{9}b\\u{a}c\\u{1b}[31m");
        assert_eq!(clean("x\u{85}\u{9b}"), "x\\u{85}\\u{9b}");
        assert_eq!(clean("/admin\u{202e}gpj.exe"), "/admin\\u{202e}gpj.exe");
        for c in [
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}',
            '\u{2067}', '\u{2068}', '\u{2069}', '\u{061c}', '\u{200b}', '\u{feff}', '\u{2028}',
        ] {
            let out = clean(&format!("a{c}b"));
            assert!(out.is_ascii(), "{c:?} -> {out}");
            assert_eq!(out, format!("a\\u{{{:x}}}b", u32::from(c)));
        }
    }
}
