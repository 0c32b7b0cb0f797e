//! Authentication of the dashboard, sessions and CSRF tokens.
//!
//! - Without authentication configured the dashboard only listens on loopback (see
//!   [`check_listen`]) and only answers requests whose `Host` is a loopback name (so a web page
//!   cannot reach it through DNS rebinding).
//! - With a token and/or an argon2 password hash, every page needs a session, opened on
//!   `/login`. Sessions are random ids in an in-memory map with an expiry, carried by the cookie
//!   `st_sid` (`HttpOnly; SameSite=Strict; Path=/`). `/api/` also accepts
//!   `Authorization: Bearer <token>`.
//! - Every visitor has a session id, anonymous until login; the CSRF token is an HMAC of it
//!   under a key made at start. Every POST must carry it (form field `csrf` or header
//!   `X-CSRF-Token`), except API calls authenticated by a bearer token (no ambient credential).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{KeyInit, Mac};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
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
/// Failed logins allowed per minute (then 429 until the minute passes).
pub const MAX_FAILURES_PER_MINUTE: usize = 10;

/// How the dashboard authenticates users.
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    /// A bearer token (also accepted as the login password).
    pub token: Option<String>,
    /// An argon2 PHC string of the password.
    pub password_hash: Option<String>,
}

impl AuthConfig {
    /// Whether any authentication is configured.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.password_hash.is_some()
    }

    /// Checks the configuration: the hash must be an argon2 PHC string, the token long enough.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.token {
            if t.chars().count() < 16 {
                return Err("the auth token is shorter than 16 characters: use a long random one (e.g. `openssl rand -hex 32`)".into());
            }
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

/// Compares in time that does not depend on where the inputs differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sessions, keys and login throttling.
pub struct AuthState {
    config: AuthConfig,
    key: [u8; 32],
    counter: AtomicU64,
    sessions: Mutex<HashMap<String, Instant>>,
    failures: Mutex<VecDeque<Instant>>,
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
        Ok(AuthState {
            config,
            key,
            counter: AtomicU64::new(0),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(VecDeque::new()),
        })
    }

    /// Whether authentication is required.
    pub fn enabled(&self) -> bool {
        self.config.enabled()
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("any key length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
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
        if s.len() >= MAX_SESSIONS {
            if let Some(oldest) = s.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone()) {
                s.remove(&oldest);
            }
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

    /// Whether an `Authorization` header value carries the configured bearer token.
    pub fn bearer_ok(&self, header: &str) -> bool {
        let Some(token) = &self.config.token else {
            return false;
        };
        let Some(given) = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
        else {
            return false;
        };
        ct_eq(given.trim().as_bytes(), token.as_bytes())
    }

    /// Whether too many logins failed in the last minute.
    pub fn throttled(&self) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        while f
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            f.pop_front();
        }
        f.len() >= MAX_FAILURES_PER_MINUTE
    }

    fn failed(&self) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(Instant::now());
    }

    /// Checks a login password (the token or the password of the hash). Slow on purpose
    /// (argon2): call it from a blocking thread.
    pub fn verify_password(&self, password: &str) -> bool {
        let mut ok = false;
        if let Some(t) = &self.config.token {
            ok |= ct_eq(password.as_bytes(), t.as_bytes());
        }
        if let Some(h) = &self.config.password_hash {
            if let Ok(parsed) = PasswordHash::new(h) {
                ok |= argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok();
            }
        }
        if !ok {
            self.failed();
        }
        ok
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

/// The `Set-Cookie` value for a session id.
pub fn set_cookie(sid: &str) -> String {
    format!("{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict")
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
            password_hash: None,
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
        })
        .unwrap();
        assert!(st.verify_password("correct horse"));
        assert!(st.verify_password("t0k3n-t0k3n-t0k3n-t0k3n"));
        assert!(!st.verify_password("wrong"));
        assert!(st.bearer_ok("Bearer t0k3n-t0k3n-t0k3n-t0k3n"));
        assert!(!st.bearer_ok("Bearer t0k3n"));
        assert!(
            AuthConfig {
                token: Some("short".into()),
                password_hash: None
            }
            .validate()
            .is_err()
        );
        assert!(
            AuthConfig {
                token: None,
                password_hash: Some("not a hash".into())
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
}
