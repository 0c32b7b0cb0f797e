//! Authentication of the dashboard, sessions, CSRF tokens and what the dashboard allows.
//!
//! - Without authentication configured the dashboard only listens on loopback (see
//!   [`check_listen`]) and only answers requests whose `Host` is a loopback name (so a web page
//!   cannot reach it through DNS rebinding).
//! - With a token and/or an argon2 password hash, every page needs a session, opened on
//!   `/login`. Sessions are random ids in an in-memory map with an expiry, carried by the cookie
//!   `st_sid` (`HttpOnly; SameSite=Strict; Path=/`, and `Secure` with `--cookie-secure` or when
//!   a trusted proxy says the request came over HTTPS). `/api/` also accepts
//!   `Authorization: Bearer <token>`.
//! - The token is compared as HMAC-SHA256 digests under a random per-process key, so the time a
//!   comparison takes depends neither on where the guess differs nor on the token's length.
//! - Failed logins and wrong bearer tokens are throttled per client address ([`Throttle`]):
//!   a few are free, then the address waits, twice as long after each further failure.
//! - Every visitor has a session id, anonymous until login; the CSRF token is an HMAC of it
//!   under a key made at start. Every POST must carry it (form field `csrf` or header
//!   `X-CSRF-Token`), except API calls authenticated by a bearer token (no ambient credential).
//! - Spec uploads need [`AuthConfig::allow_spec_upload`]; triage changes of findings (the
//!   other write) need a session (or a bearer token on `/api/`) and the CSRF token like every
//!   POST.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::Mac;
use hmac::digest::KeyInit;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The session cookie.
pub const COOKIE: &str = "st_sid";
/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Logged-in sessions kept at once (the oldest is dropped beyond).
pub const MAX_SESSIONS: usize = 4096;
/// Failed authentications (logins and bearer tokens) an address makes before it has to wait.
pub const FREE_FAILURES: u32 = 5;
/// The wait after the first failure beyond [`FREE_FAILURES`]; it doubles with each further one.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// The longest wait.
pub const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// An address's failures are forgotten after this long without one.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Client addresses whose failures are remembered at once (least recently seen evicted beyond).
pub const MAX_THROTTLED_ADDRESSES: usize = 10_000;

/// How the dashboard authenticates users, and what it lets them do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// A bearer token (also accepted as the login password).
    pub token: Option<String>,
    /// An argon2 PHC string of the password.
    pub password_hash: Option<String>,
    /// Reverse proxies whose `X-Forwarded-Proto` (HTTPS: `Secure` cookie) and
    /// `X-Forwarded-For` (the client address, for throttling) are believed.
    pub trusted_proxies: Vec<ProxyNet>,
    /// Always mark the session cookie `Secure` (the dashboard is reached over HTTPS).
    pub cookie_secure: bool,
    /// Accept OpenAPI uploads (`POST /spec`, `POST /api/spec`), which write to the inventory.
    /// Off by default, with or without authentication: the dashboard is read-only.
    pub allow_spec_upload: bool,
}

/// An address or network of trusted reverse proxies (`10.0.0.5`, `10.0.0.0/24`, `::1`,
/// `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Whether `ip` is in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || {
            format!(
                "trusted proxy {s:?}: expected an IP address or a network (10.0.0.5, 10.0.0.0/24, fd00::/8)"
            )
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr = canonical(
            addr.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| bad())?,
        );
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(ProxyNet { addr, prefix })
    }
}

impl std::fmt::Display for ProxyNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses `--trusted-proxy` values (or the `[web] trusted_proxies` list).
pub fn parse_proxies<S: AsRef<str>>(values: &[S]) -> Result<Vec<ProxyNet>, String> {
    values.iter().map(|v| v.as_ref().parse()).collect()
}

/// Reads a token file, refusing one that others could read or change (like ssh does with
/// private keys). `what` names the option in messages (`--auth-token-file`).
pub fn read_token_file(path: &Path, what: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{what} {}: not a regular file", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{what} {}: permissions {mode:04o} are too open: the token grants access to the dashboard, so its file must not be accessible by group or others. Run `chmod 600 {}` (or 400)",
                path.display(),
                path.display()
            ));
        }
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    let t = text.trim().to_string();
    if t.is_empty() {
        return Err(format!("{what} {} is empty", path.display()));
    }
    Ok(t)
}

impl AuthConfig {
    /// Whether any authentication is configured.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.password_hash.is_some()
    }

    /// Checks the configuration: the hash must be an argon2 PHC string, the token long enough.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.token
            && t.chars().count() < 16
        {
            return Err("the auth token is shorter than 16 characters: use a long random one (e.g. `openssl rand -hex 32`)".into());
        }
        if let Some(h) = &self.password_hash {
            let parsed = PasswordHash::new(h)
                .map_err(|e| format!("--password-hash is not a PHC string ({e}); make one with `shadowtap serve --hash-password`"))?;
            if !parsed.algorithm.as_str().starts_with("argon2") {
                return Err(format!(
                    "--password-hash uses {}, not argon2; make one with `shadowtap serve --hash-password`",
                    parsed.algorithm
                ));
            }
        }
        Ok(())
    }
}

/// Refuses a non-loopback listening address without authentication.
pub fn check_listen(addr: &SocketAddr, auth: &AuthConfig) -> Result<(), String> {
    if addr.ip().is_loopback() || auth.enabled() {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {addr} without authentication: the dashboard shows captured traffic \
         (hosts, paths, where credentials travel, personal data found). Configure --auth-token-file FILE \
         or --password-hash PHC (`shadowtap serve --hash-password` makes one), or listen on 127.0.0.1"
    ))
}

/// The argon2 PHC string of a password (with a random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt).map_err(|e| format!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Fills `buf` from the system's random source.
pub fn random_bytes(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

/// Compares in time that does not depend on where the inputs differ (only on their length:
/// compare fixed-length digests of secrets, as [`AuthState`] does).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sessions, keys and throttling.
pub struct AuthState {
    config: AuthConfig,
    key: [u8; 32],
    /// HMAC of the token under `key` (compared with the HMAC of a guess: fixed length).
    token_mac: Option<[u8; 32]>,
    counter: AtomicU64,
    sessions: Mutex<HashMap<String, Instant>>,
    throttle: Throttle,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("enabled", &self.config.enabled())
            .finish_non_exhaustive()
    }
}

impl AuthState {
    /// A new state with a fresh key.
    pub fn new(config: AuthConfig) -> Result<AuthState, String> {
        config.validate()?;
        let mut key = [0u8; 32];
        random_bytes(&mut key).map_err(|e| format!("no randomness for session keys: {e}"))?;
        let token_mac = config
            .token
            .as_ref()
            .map(|t| mac_with(&key, &[b"token", t.as_bytes()]));
        Ok(AuthState {
            config,
            key,
            token_mac,
            counter: AtomicU64::new(0),
            sessions: Mutex::new(HashMap::new()),
            throttle: Throttle::new(MAX_THROTTLED_ADDRESSES),
        })
    }

    /// Whether authentication is required.
    pub fn enabled(&self) -> bool {
        self.config.enabled()
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Whether spec uploads are accepted.
    pub fn spec_upload_allowed(&self) -> bool {
        self.config.allow_spec_upload
    }

    /// The throttle of failed authentications.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// Whether `peer` is a trusted reverse proxy.
    pub fn trusted_proxy(&self, peer: IpAddr) -> bool {
        self.config.trusted_proxies.iter().any(|n| n.contains(peer))
    }

    /// Where a request comes from and whether it reached the proxy over HTTPS: `peer` is the
    /// address of the TCP connection (`None` when unknown, in tests), `forwarded_for` and
    /// `forwarded_proto` the `X-Forwarded-For` and `X-Forwarded-Proto` headers, believed only
    /// from a trusted proxy. The client is the rightmost `X-Forwarded-For` address that is not a
    /// trusted proxy.
    pub fn client_of(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: Option<&str>,
        forwarded_proto: Option<&str>,
    ) -> (IpAddr, bool) {
        let unknown = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        let Some(peer) = peer.map(canonical) else {
            return (unknown, self.config.cookie_secure);
        };
        if !self.trusted_proxy(peer) {
            return (peer, self.config.cookie_secure);
        }
        let https = forwarded_proto
            .and_then(|p| p.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        let mut client = peer;
        if let Some(xff) = forwarded_for {
            for hop in xff.rsplit(',').take(32) {
                let Ok(ip) = hop.trim().parse::<IpAddr>().map(canonical) else {
                    break;
                };
                client = ip;
                if !self.trusted_proxy(ip) {
                    break;
                }
            }
        }
        (client, self.config.cookie_secure || https)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        mac_with(&self.key, parts)
    }

    /// A new random session id (64 hex digits): HMAC of a counter and the clock under the
    /// random key.
    pub fn new_sid(&self) -> String {
        let c = self.counter.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        hex(&self.mac(&[b"sid", &c.to_le_bytes(), &t.to_le_bytes()]))
    }

    /// Whether `s` has the shape of a session id.
    pub fn valid_sid(s: &str) -> bool {
        s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, sid: &str) -> String {
        hex(&self.mac(&[b"csrf", sid.as_bytes()]))
    }

    /// Whether `token` is the CSRF token of `sid`.
    pub fn check_csrf(&self, sid: &str, token: &str) -> bool {
        ct_eq(self.csrf(sid).as_bytes(), token.as_bytes())
    }

    /// Whether `sid` is a live logged-in session.
    pub fn logged_in(&self, sid: &str) -> bool {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match s.get(sid) {
            Some(exp) if *exp > Instant::now() => true,
            Some(_) => {
                s.remove(sid);
                false
            }
            None => false,
        }
    }

    /// Opens a logged-in session; returns its id.
    pub fn open_session(&self) -> String {
        let sid = self.new_sid();
        let now = Instant::now();
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.retain(|_, exp| *exp > now);
        if s.len() >= MAX_SESSIONS
            && let Some(oldest) = s.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone())
        {
            s.remove(&oldest);
        }
        s.insert(sid.clone(), now + SESSION_TTL);
        sid
    }

    /// Ends a session.
    pub fn close_session(&self, sid: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sid);
    }

    /// Whether `given` is the token: the HMACs of both under the per-process key are compared
    /// in constant time, so the time taken tells nothing of the token, its length included.
    fn token_matches(&self, given: &[u8]) -> bool {
        match &self.token_mac {
            Some(want) => ct_eq(&self.mac(&[b"token", given]), want),
            None => false,
        }
    }

    /// Whether an `Authorization` header value carries the configured bearer token.
    pub fn bearer_ok(&self, header: &str) -> bool {
        let Some((scheme, given)) = header.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && self.token_matches(given.trim().as_bytes())
    }

    /// Checks a login password (the token or the password of the hash). Slow on purpose
    /// (argon2): call it from a blocking thread. Failures are not counted here: see
    /// [`Throttle::fail`].
    pub fn verify_password(&self, password: &str) -> bool {
        let mut ok = self.token_matches(password.as_bytes());
        if let Some(h) = &self.config.password_hash
            && let Ok(parsed) = PasswordHash::new(h)
        {
            ok |= argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
        }
        ok
    }
}

fn mac_with(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// What kind of authentication failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// A wrong password or token on `/login`.
    Login,
    /// A wrong `Authorization: Bearer` token on `/api/` or `/metrics`.
    Bearer,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
    until: Option<Instant>,
}

/// Failed authentications per client address, with exponential backoff: an address makes
/// [`FREE_FAILURES`] failures freely; each further one makes it wait [`BACKOFF_BASE`], doubled
/// per failure up to [`BACKOFF_MAX`], during which every attempt from it (right or wrong) is
/// answered 429 without being checked. Failures are forgotten [`FORGET_AFTER`] after the last
/// one. IPv6 clients are counted per /64 (one host usually holds a whole /64). At most
/// `capacity` addresses are remembered; beyond, the least recently seen is evicted (counted).
pub struct Throttle {
    table: Mutex<lru::LruCache<IpAddr, Failures>>,
    login_failures: AtomicU64,
    bearer_failures: AtomicU64,
    refused: AtomicU64,
    evicted: AtomicU64,
}

/// Counters of a [`Throttle`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ThrottleStats {
    /// Failed logins.
    pub login_failures: u64,
    /// Wrong bearer tokens.
    pub bearer_failures: u64,
    /// Attempts refused (429) while their address had to wait.
    pub refused: u64,
    /// Addresses evicted from the full table.
    pub evicted: u64,
    /// Addresses remembered now.
    pub addresses: u64,
}

/// The dashboard's authentication counters on `/metrics`.
impl prometheus_client::collector::Collector for ThrottleStats {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder<'_>,
    ) -> std::fmt::Result {
        let mut f = super::live::Families::new(&mut encoder);
        f.counters(
            "shadowtap_dashboard_auth_failures",
            "Failed dashboard authentications.",
            "kind",
            [
                ("login", self.login_failures),
                ("bearer", self.bearer_failures),
            ],
        )?;
        f.counter(
            "shadowtap_dashboard_auth_throttled",
            "Authentication attempts refused (429) while their address had to wait.",
            self.refused,
        )?;
        f.counter(
            "shadowtap_dashboard_auth_throttle_evicted",
            "Addresses evicted from the full throttle table.",
            self.evicted,
        )?;
        f.gauge(
            "shadowtap_dashboard_auth_throttle_addresses",
            "Client addresses with failed authentications remembered.",
            self.addresses,
        )
    }
}

impl Throttle {
    /// A throttle remembering at most `capacity` addresses.
    pub fn new(capacity: usize) -> Throttle {
        Throttle {
            table: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
            login_failures: AtomicU64::new(0),
            bearer_failures: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    /// The key an address is counted under: IPv4 as is, IPv6 by its /64.
    fn key(ip: IpAddr) -> IpAddr {
        match canonical(ip) {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
            v4 => v4,
        }
    }

    /// `Err(wait)` when `client` must wait before its next attempt (counted as refused).
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = Self::key(client);
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let Some(f) = t.get(&key).copied() else {
            return Ok(());
        };
        if now.saturating_duration_since(f.last) > FORGET_AFTER {
            t.pop(&key);
            return Ok(());
        }
        match f.until {
            Some(until) if until > now => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(until - now)
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure from `client`; returns how long it must now wait, if at all.
    pub fn fail(&self, client: IpAddr, kind: FailureKind) -> Option<Duration> {
        self.fail_at(client, kind, Instant::now())
    }

    fn fail_at(&self, client: IpAddr, kind: FailureKind, now: Instant) -> Option<Duration> {
        match kind {
            FailureKind::Login => &self.login_failures,
            FailureKind::Bearer => &self.bearer_failures,
        }
        .fetch_add(1, Ordering::Relaxed);
        let key = Self::key(client);
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = match t.get(&key) {
            Some(f) if now.saturating_duration_since(f.last) <= FORGET_AFTER => *f,
            _ => Failures {
                count: 0,
                last: now,
                until: None,
            },
        };
        f.count = f.count.saturating_add(1);
        f.last = now;
        let wait = f.count.checked_sub(FREE_FAILURES + 1).map(|extra| {
            BACKOFF_BASE
                .checked_mul(1u32.checked_shl(extra).unwrap_or(u32::MAX))
                .unwrap_or(BACKOFF_MAX)
                .min(BACKOFF_MAX)
        });
        f.until = wait.map(|w| now + w);
        if let Some((old, _)) = t.push(key, f)
            && old != key
        {
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        wait
    }

    /// The counters.
    pub fn stats(&self) -> ThrottleStats {
        ThrottleStats {
            login_failures: self.login_failures.load(Ordering::Relaxed),
            bearer_failures: self.bearer_failures.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
            addresses: self.table.lock().unwrap_or_else(|e| e.into_inner()).len() as u64,
        }
    }
}

/// Whether a `Host` header names this machine's loopback (`localhost`, `127.x.y.z`, `[::1]`,
/// with any port).
pub fn loopback_host(host: &str) -> bool {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    let h = h.trim_end_matches('.');
    h.eq_ignore_ascii_case("localhost")
        || h.to_ascii_lowercase().ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The `Set-Cookie` value for a session id (`secure`: the dashboard is reached over HTTPS).
pub fn set_cookie(sid: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The value of a field in an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|kv| {
        let mut it = kv.splitn(2, |&b| b == b'=');
        let k = form_decode(it.next()?);
        (k == name).then(|| form_decode(it.next().unwrap_or(b"")))
    })
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn form_decode(s: &[u8]) -> String {
    let hexval = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hexval(s[i + 1]), hexval(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of a small text field in a `multipart/form-data` body.
pub fn multipart_field(body: &[u8], content_type: &str, name: &str) -> Option<String> {
    let boundary = content_type.split(';').find_map(|p| {
        let p = p.trim();
        p.strip_prefix("boundary=")
            .map(|b| b.trim_matches('"').to_string())
    })?;
    let delim = format!("--{boundary}");
    let want = format!("name=\"{name}\"");
    let mut rest = body;
    while let Some(i) = memchr::memmem::find(rest, delim.as_bytes()) {
        rest = &rest[i + delim.len()..];
        let end = memchr::memmem::find(rest, delim.as_bytes()).unwrap_or(rest.len());
        let part = &rest[..end];
        let head_end = memchr::memmem::find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..head_end]);
        let is_field = head.lines().any(|l| {
            l.to_ascii_lowercase().starts_with("content-disposition:")
                && l.split(';').any(|p| p.trim() == want)
        });
        if is_field {
            let value = &part[head_end + 4..];
            let value = value.strip_suffix(b"\r\n").unwrap_or(value);
            if value.len() > 256 {
                return None;
            }
            return String::from_utf8(value.to_vec()).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_policy() {
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let lo6: SocketAddr = "[::1]:8080".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let none = AuthConfig::default();
        assert!(check_listen(&lo, &none).is_ok());
        assert!(check_listen(&lo6, &none).is_ok());
        let err = check_listen(&any, &none).unwrap_err();
        assert!(err.contains("without authentication"), "{err}");
        let with = AuthConfig {
            token: Some("0123456789abcdef0123".into()),
            ..AuthConfig::default()
        };
        assert!(check_listen(&any, &with).is_ok());
    }

    #[test]
    fn passwords_and_tokens() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let st = AuthState::new(AuthConfig {
            token: Some("t0k3n-t0k3n-t0k3n-t0k3n".into()),
            password_hash: Some(hash),
            ..AuthConfig::default()
        })
        .unwrap();
        assert!(st.verify_password("correct horse"));
        assert!(st.verify_password("t0k3n-t0k3n-t0k3n-t0k3n"));
        assert!(!st.verify_password("wrong"));
        assert!(st.bearer_ok("Bearer t0k3n-t0k3n-t0k3n-t0k3n"));
        assert!(st.bearer_ok("bearer  t0k3n-t0k3n-t0k3n-t0k3n "));
        assert!(!st.bearer_ok("Bearer t0k3n"));
        assert!(!st.bearer_ok("Bearer t0k3n-t0k3n-t0k3n-t0k3n-and-more"));
        assert!(!st.bearer_ok("Basic t0k3n-t0k3n-t0k3n-t0k3n"));
        assert!(!st.bearer_ok("t0k3n-t0k3n-t0k3n-t0k3n"));
        // Without a token nothing matches, not even the empty string.
        let none = AuthState::new(AuthConfig::default()).unwrap();
        assert!(!none.bearer_ok("Bearer "));
        assert!(!none.verify_password(""));
        assert!(
            AuthConfig {
                token: Some("short".into()),
                ..AuthConfig::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            AuthConfig {
                password_hash: Some("not a hash".into()),
                ..AuthConfig::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn sessions_and_csrf() {
        let st = AuthState::new(AuthConfig::default()).unwrap();
        let a = st.new_sid();
        let b = st.new_sid();
        assert_ne!(a, b);
        assert!(AuthState::valid_sid(&a));
        assert!(st.check_csrf(&a, &st.csrf(&a)));
        assert!(!st.check_csrf(&b, &st.csrf(&a)));
        assert!(!st.logged_in(&a));
        let s = st.open_session();
        assert!(st.logged_in(&s));
        st.close_session(&s);
        assert!(!st.logged_in(&s));
    }

    #[test]
    fn hosts_and_cookies() {
        for h in [
            "localhost:8080",
            "127.0.0.1",
            "127.0.0.1:1",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(loopback_host(h), "{h}");
        }
        for h in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "127.0.0.1.evil.example",
        ] {
            assert!(!loopback_host(h), "{h}");
        }
        assert_eq!(cookie("a=1; st_sid=xyz; b=2", "st_sid"), Some("xyz"));
        assert_eq!(cookie("a=1", "st_sid"), None);
    }

    #[test]
    fn form_fields() {
        assert_eq!(
            form_field(b"a=1&csrf=abc%21", "csrf").as_deref(),
            Some("abc!")
        );
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"spec\"; filename=\"a.yaml\"\r\nContent-Type: application/yaml\r\n\r\nopenapi: 3.1.0\r\n--XyZ--\r\n";
        let ct = "multipart/form-data; boundary=XyZ";
        assert_eq!(multipart_field(body, ct, "csrf").as_deref(), Some("tok123"));
        assert_eq!(multipart_field(body, ct, "other"), None);
    }

    #[test]
    fn backoff_per_address() {
        let t = Throttle::new(100);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.fail_at(a, FailureKind::Login, now), None);
            assert!(t.check_at(a, now).is_ok());
        }
        // Then 1 s, 2 s, 4 s, ... up to the cap.
        let mut waits = Vec::new();
        let mut at = now;
        for _ in 0..16 {
            let w = t.fail_at(a, FailureKind::Bearer, at).unwrap();
            assert_eq!(t.check_at(a, at), Err(w));
            waits.push(w.as_secs());
            at += w;
            assert!(t.check_at(a, at).is_ok());
        }
        assert_eq!(&waits[..6], [1, 2, 4, 8, 16, 32]);
        assert_eq!(*waits.last().unwrap(), BACKOFF_MAX.as_secs());
        // Another address is not affected.
        assert!(t.check_at(b, now).is_ok());
        assert_eq!(t.fail_at(b, FailureKind::Login, now), None);
        // Failures are forgotten after a quiet hour.
        let later = at + FORGET_AFTER + Duration::from_secs(1);
        assert!(t.check_at(a, later).is_ok());
        assert_eq!(t.fail_at(a, FailureKind::Login, later), None);
        let s = t.stats();
        assert_eq!(s.login_failures, u64::from(FREE_FAILURES) + 2);
        assert_eq!(s.bearer_failures, 16);
        assert_eq!(s.refused, 16);
        assert_eq!(s.addresses, 2);
    }

    #[test]
    fn throttle_table_is_bounded_and_ipv6_counts_per_64() {
        let t = Throttle::new(3);
        let now = Instant::now();
        for i in 0..10u8 {
            t.fail_at(IpAddr::from([10, 0, 0, i]), FailureKind::Login, now);
        }
        let s = t.stats();
        assert_eq!((s.addresses, s.evicted), (3, 7));
        let t = Throttle::new(100);
        for i in 0..20u16 {
            let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i));
            t.fail_at(ip, FailureKind::Login, now);
        }
        assert_eq!(t.stats().addresses, 1);
        assert!(
            t.check_at("2001:db8:0:1::ffff".parse().unwrap(), now)
                .is_err()
        );
        assert!(t.check_at("2001:db8:0:2::1".parse().unwrap(), now).is_ok());
        // IPv4-mapped addresses are the IPv4 address.
        let t = Throttle::new(100);
        for _ in 0..=FREE_FAILURES {
            t.fail_at("::ffff:10.1.1.1".parse().unwrap(), FailureKind::Login, now);
        }
        assert!(t.check_at("10.1.1.1".parse().unwrap(), now).is_err());
    }

    #[test]
    fn proxies_and_forwarded_headers() {
        let nets = parse_proxies(&["10.0.0.0/24", "::1", "fd00::/8"]).unwrap();
        assert!(nets[0].contains("10.0.0.77".parse().unwrap()));
        assert!(!nets[0].contains("10.0.1.1".parse().unwrap()));
        assert!(nets[1].contains("::1".parse().unwrap()));
        assert!(nets[2].contains("fd12::5".parse().unwrap()));
        assert!(nets[0].contains("::ffff:10.0.0.9".parse().unwrap()));
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", "::/129", ""] {
            assert!(parse_proxies(&[bad]).is_err(), "{bad}");
        }
        let st = AuthState::new(AuthConfig {
            trusted_proxies: parse_proxies(&["10.0.0.1", "10.0.0.2"]).unwrap(),
            ..AuthConfig::default()
        })
        .unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A trusted proxy: the client is the rightmost untrusted hop; https is believed.
        assert_eq!(
            st.client_of(
                Some(ip("10.0.0.1")),
                Some("1.1.1.1, 203.0.113.9, 10.0.0.2"),
                Some("https")
            ),
            (ip("203.0.113.9"), true)
        );
        assert_eq!(
            st.client_of(Some(ip("10.0.0.1")), None, Some("http")),
            (ip("10.0.0.1"), false)
        );
        // Anyone else: the peer, and the headers are ignored.
        assert_eq!(
            st.client_of(Some(ip("198.51.100.1")), Some("1.2.3.4"), Some("https")),
            (ip("198.51.100.1"), false)
        );
        // --cookie-secure: always.
        let st = AuthState::new(AuthConfig {
            cookie_secure: true,
            ..AuthConfig::default()
        })
        .unwrap();
        assert!(st.client_of(Some(ip("198.51.100.1")), None, None).1);
        assert!(set_cookie("x", true).ends_with("; Secure"));
        assert!(!set_cookie("x", false).contains("Secure"));
    }

    #[cfg(unix)]
    #[test]
    fn token_files_readable_by_others_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "0123456789abcdef0123\n").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_token_file(&p, "--auth-token-file").unwrap_err();
            assert!(
                err.contains(&format!("permissions {mode:04o} are too open"))
                    && err.contains("chmod 600"),
                "{err}"
            );
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(
                read_token_file(&p, "--auth-token-file").unwrap(),
                "0123456789abcdef0123"
            );
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&p, "\n").unwrap();
        assert!(read_token_file(&p, "x").unwrap_err().contains("is empty"));
        assert!(read_token_file(dir.path(), "x").is_err());
    }
}
