//! NSS key log files (`SSLKEYLOGFILE`, as curl, browsers, Go, Java agents, nginx and envoy
//! write them): the secrets that let [`decrypt`](super::decrypt) read a connection.
//!
//! One line per secret: `LABEL <client random, 64 hex> <secret, hex>`. Read here:
//! `CLIENT_RANDOM` (the TLS 1.2-and-older master secret), `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//! `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`
//! (TLS 1.3), and `RSA <first 8 bytes of the encrypted pre-master secret> <pre-master secret>`
//! (RSA key exchange), and `CLIENT_EARLY_TRAFFIC_SECRET` (0-RTT data). Exporter secrets are
//! counted and ignored, as are comments
//! (`#`) and blank lines; a malformed line is counted, never fatal.
//!
//! Secrets live in [`Secret`], which never prints (`[redacted]`) and is zeroed when dropped.
//! The map holds at most [`KeyLog::max_entries`] sessions: lines past it are counted in
//! [`KeyLogStats::dropped_full`].
//!
//! A [`KeyLogFile`] follows a file that grows (the daemon): each [`KeyLogFile::poll`] reads the
//! bytes appended since the last one, and starts over when the file was truncated or replaced.
//! [`KeyStore`] shares one map (and its follower) between the workers of a process.
//!
//! What it owns: parsing key log lines and holding secrets. What it may not touch: how secrets
//! become keys ([`decrypt`](super::decrypt)).

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Longest secret accepted, in bytes (SHA-384 traffic secrets are 48, master secrets 48).
pub const MAX_SECRET_BYTES: usize = 64;
/// Longest line read; a longer one is malformed (and skipped to its end).
pub const MAX_LINE_BYTES: usize = 1024;

/// A secret from the key log: never printed, zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }

    /// The secret bytes (to derive keys from; never to print).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The secrets known for one session (one client random).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionKeys {
    /// TLS 1.2 and older: the master secret (`CLIENT_RANDOM`).
    pub master: Option<Secret>,
    /// TLS 1.3: `CLIENT_EARLY_TRAFFIC_SECRET` (0-RTT data).
    pub client_early: Option<Secret>,
    /// TLS 1.3: `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake: Option<Secret>,
    /// TLS 1.3: `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake: Option<Secret>,
    /// TLS 1.3: `CLIENT_TRAFFIC_SECRET_0`.
    pub client_traffic: Option<Secret>,
    /// TLS 1.3: `SERVER_TRAFFIC_SECRET_0`.
    pub server_traffic: Option<Secret>,
}

/// Counters of key log reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct KeyLogStats {
    /// Secrets read and kept.
    pub secrets: u64,
    /// Lines with a label that is not used (early data, exporter, unknown labels).
    pub ignored: u64,
    /// Comment and blank lines.
    pub comments: u64,
    /// Lines that could not be read (bad hex, wrong lengths, missing fields, too long).
    pub malformed: u64,
    /// Secrets dropped because the map was full.
    pub dropped_full: u64,
    /// Times a followed file was truncated or replaced and read again from its start.
    pub restarts: u64,
}

crate::counters!(KeyLogStats {
    secrets,
    ignored,
    comments,
    malformed,
    dropped_full,
    restarts,
});

/// The secrets of a key log, by client random (and RSA pre-master secrets by the first 8 bytes
/// of their encrypted form), at most `max_entries` sessions.
pub struct KeyLog {
    sessions: HashMap<[u8; 32], SessionKeys>,
    rsa: HashMap<[u8; 8], Secret>,
    max_entries: usize,
    /// Counters.
    pub stats: KeyLogStats,
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog")
            .field("sessions", &self.sessions.len())
            .field("rsa", &self.rsa.len())
            .field("max_entries", &self.max_entries)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog::new(KeyLog::DEFAULT_MAX_ENTRIES)
    }
}

impl KeyLog {
    /// Sessions held by default.
    pub const DEFAULT_MAX_ENTRIES: usize = 1 << 20;

    /// An empty key log holding at most `max_entries` sessions.
    pub fn new(max_entries: usize) -> KeyLog {
        KeyLog {
            sessions: HashMap::new(),
            rsa: HashMap::new(),
            max_entries,
            stats: KeyLogStats::default(),
        }
    }

    /// The most sessions held.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Sessions (and RSA pre-master secrets) held.
    pub fn len(&self) -> usize {
        self.sessions.len() + self.rsa.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The secrets of the session with this client random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&SessionKeys> {
        self.sessions.get(client_random)
    }

    /// The pre-master secret whose encrypted form begins with these 8 bytes.
    pub fn rsa(&self, encrypted_prefix: &[u8; 8]) -> Option<&Secret> {
        self.rsa.get(encrypted_prefix)
    }

    /// Reads every line of `text` (a last line without its newline included), as
    /// [`KeyLogFile`] reads the same bytes.
    pub fn add_text(&mut self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        for line in body.split(|&b| b == b'\n') {
            self.add_line(line);
        }
    }

    /// Reads one line (without its newline; a trailing `\r` is allowed).
    pub fn add_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.trim_ascii();
        if line.is_empty() || line[0] == b'#' {
            self.stats.comments += 1;
            return;
        }
        if line.len() > MAX_LINE_BYTES {
            self.stats.malformed += 1;
            return;
        }
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let (Some(label), Some(id), Some(secret), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            self.stats.malformed += 1;
            return;
        };
        let Some(secret) = unhex(secret).filter(|s| !s.is_empty() && s.len() <= MAX_SECRET_BYTES)
        else {
            self.stats.malformed += 1;
            return;
        };
        let secret = Secret::new(secret.to_vec());
        if label == b"RSA" {
            let Some(prefix) = unhex(id).and_then(|v| <[u8; 8]>::try_from(&v[..]).ok()) else {
                self.stats.malformed += 1;
                return;
            };
            if !self.rsa.contains_key(&prefix) && self.len() >= self.max_entries {
                self.stats.dropped_full += 1;
                return;
            }
            self.rsa.insert(prefix, secret);
            self.stats.secrets += 1;
            return;
        }
        let slot: fn(&mut SessionKeys) -> &mut Option<Secret> = match label {
            b"CLIENT_RANDOM" => |k| &mut k.master,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => |k| &mut k.client_early,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => |k| &mut k.client_handshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => |k| &mut k.server_handshake,
            b"CLIENT_TRAFFIC_SECRET_0" => |k| &mut k.client_traffic,
            b"SERVER_TRAFFIC_SECRET_0" => |k| &mut k.server_traffic,
            _ => {
                self.stats.ignored += 1;
                return;
            }
        };
        let Some(random) = unhex(id).and_then(|v| <[u8; 32]>::try_from(&v[..]).ok()) else {
            self.stats.malformed += 1;
            return;
        };
        if !self.sessions.contains_key(&random) && self.len() >= self.max_entries {
            self.stats.dropped_full += 1;
            return;
        }
        *slot(self.sessions.entry(random).or_default()) = Some(secret);
        self.stats.secrets += 1;
    }
}

/// Hex to bytes (`None` for odd lengths and non-hex digits), in a buffer zeroed when dropped.
fn unhex(s: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = Zeroizing::new(Vec::with_capacity(s.len() / 2));
    for pair in s.chunks_exact(2) {
        out.push(digit(pair[0])? << 4 | digit(pair[1])?);
    }
    Some(out)
}

/// A key log file followed as it grows.
pub struct KeyLogFile {
    path: PathBuf,
    /// Bytes read so far.
    offset: u64,
    /// The file's identity (device, inode) when last read.
    id: Option<(u64, u64)>,
    /// The start of a line whose newline has not been written yet.
    partial: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for KeyLogFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the partial line: it may be the start of a secret.
        f.debug_struct("KeyLogFile")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl KeyLogFile {
    /// A follower of `path`, nothing read yet.
    pub fn new(path: &Path) -> KeyLogFile {
        KeyLogFile {
            path: path.to_path_buf(),
            offset: 0,
            id: None,
            partial: Zeroizing::new(Vec::new()),
        }
    }

    /// Reads what was appended since the last call into `log`. A file that shrank or was
    /// replaced (another inode) is read again from its start; a last line without its newline
    /// waits for it (and is read at the end by [`KeyLogFile::finish`]).
    pub fn poll(&mut self, log: &mut KeyLog) -> std::io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let mut f = std::fs::File::open(&self.path)?;
        let meta = f.metadata()?;
        let id = Some((meta.dev(), meta.ino()));
        if (self.id.is_some() && self.id != id) || meta.len() < self.offset {
            log.stats.restarts += 1;
            self.offset = 0;
            self.partial.clear();
        }
        self.id = id;
        if meta.len() == self.offset {
            return Ok(());
        }
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Zeroizing::new(Vec::new());
        f.take(meta.len() - self.offset).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        let mut rest: &[u8] = &buf;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                log.add_line(&rest[..nl]);
            } else {
                self.partial.extend_from_slice(&rest[..nl]);
                let line = std::mem::take(&mut *self.partial);
                log.add_line(&line);
                drop(Zeroizing::new(line));
            }
            rest = &rest[nl + 1..];
        }
        if self.partial.len() + rest.len() > MAX_LINE_BYTES {
            // Not a key log line: counted once its newline comes (or dropped now if huge).
            self.partial.clear();
            log.stats.malformed += 1;
        } else {
            self.partial.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Reads a last line left without its newline.
    pub fn finish(&mut self, log: &mut KeyLog) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut *self.partial);
            log.add_line(&line);
            drop(Zeroizing::new(line));
        }
    }
}

/// A key log shared by the workers of a process, and the file it is read from.
#[derive(Debug)]
pub struct KeyStore {
    inner: Mutex<StoreInner>,
    /// How often (wall clock) a lookup that misses may re-read the followed file.
    poll_every: Duration,
}

#[derive(Debug)]
struct StoreInner {
    log: KeyLog,
    file: Option<KeyLogFile>,
    last_poll: Option<Instant>,
}

impl KeyStore {
    /// A store over secrets already read, following no file.
    pub fn fixed(log: KeyLog) -> KeyStore {
        KeyStore {
            inner: Mutex::new(StoreInner {
                log,
                file: None,
                last_poll: None,
            }),
            poll_every: Duration::MAX,
        }
    }

    /// Reads the whole file at `path` once (for capture files: every key is there before the
    /// first packet).
    pub fn read(path: &Path, max_entries: usize) -> std::io::Result<KeyStore> {
        let mut log = KeyLog::new(max_entries);
        let mut file = KeyLogFile::new(path);
        file.poll(&mut log)?;
        file.finish(&mut log);
        Ok(KeyStore::fixed(log))
    }

    /// Reads the file at `path` and keeps following it: a lookup that misses re-reads what
    /// was appended, at most once per `poll_every`. A file that does not exist yet is waited
    /// for; one that cannot be read is an error.
    pub fn follow(
        path: &Path,
        max_entries: usize,
        poll_every: Duration,
    ) -> std::io::Result<KeyStore> {
        let mut log = KeyLog::new(max_entries);
        let mut file = KeyLogFile::new(path);
        match file.poll(&mut log) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(KeyStore {
            inner: Mutex::new(StoreInner {
                log,
                file: Some(file),
                last_poll: Some(Instant::now()),
            }),
            poll_every,
        })
    }

    /// The secrets of a session, re-reading a followed file first when it is time to.
    pub fn session(&self, client_random: &[u8; 32]) -> Option<SessionKeys> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = g.log.get(client_random) {
            return Some(k.clone());
        }
        g.poll(self.poll_every);
        g.log.get(client_random).cloned()
    }

    /// The pre-master secret of an RSA key exchange, by its encrypted form's first 8 bytes.
    pub fn rsa(&self, prefix: &[u8; 8]) -> Option<Secret> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = g.log.rsa(prefix) {
            return Some(s.clone());
        }
        g.poll(self.poll_every);
        g.log.rsa(prefix).cloned()
    }

    /// Counters of the key log.
    pub fn stats(&self) -> KeyLogStats {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .log
            .stats
    }
}

impl StoreInner {
    fn poll(&mut self, every: Duration) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let now = Instant::now();
        if self
            .last_poll
            .is_some_and(|t| now.duration_since(t) < every)
        {
            return;
        }
        self.last_poll = Some(now);
        // A file that cannot be read now (rotated away) may come back: nothing to do.
        let _ = file.poll(&mut self.log);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const CR: &str = "5d5d1e52b14504427a76778378bb92f4eb35e9db750760e241bacaad6434e9fa";

    #[test]
    fn reads_labels_and_counts_the_rest() {
        let mut log = KeyLog::default();
        let text = format!(
            "# comment\n\nCLIENT_RANDOM {CR} {m}\r\nCLIENT_TRAFFIC_SECRET_0 {CR} {t}\n\
             EXPORTER_SECRET {CR} {t}\nCLIENT_RANDOM {CR}\nCLIENT_RANDOM abc {m}\n\
             CLIENT_RANDOM {CR} zz\nRSA 0011223344556677 {m}",
            m = "ab".repeat(48),
            t = "cd".repeat(32)
        );
        log.add_text(text.as_bytes());
        let cr: [u8; 32] = unhex(CR.as_bytes()).unwrap()[..].try_into().unwrap();
        let k = log.get(&cr).unwrap();
        assert_eq!(k.master.as_ref().unwrap().expose(), &[0xab; 48][..]);
        assert_eq!(k.client_traffic.as_ref().unwrap().expose(), &[0xcd; 32][..]);
        assert!(k.server_traffic.is_none());
        assert!(
            log.rsa(&[0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77])
                .is_some()
        );
        let s = log.stats;
        assert_eq!(
            (s.secrets, s.ignored, s.comments, s.malformed),
            (3, 1, 2, 3)
        );
        assert_eq!(format!("{k:?}").matches("[redacted]").count(), 2);
        assert!(!format!("{k:?}").contains("abab"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let line = format!(
            "CLIENT_RANDOM {CR} {}\nCLIENT_RANDOM {CR} abcdef",
            "ab".repeat(48)
        );
        std::fs::write(&path, &line).unwrap();
        let store = KeyStore::follow(&path, 10, Duration::from_secs(1)).unwrap();
        let dbg = format!("{store:?}");
        assert!(!dbg.contains("abab") && !dbg.contains("171, 171") && !dbg.contains("abcdef"));
        assert!(!dbg.contains(&CR[..16]), "not even client randoms");
    }

    #[test]
    fn the_map_is_capped() {
        let mut log = KeyLog::new(2);
        for i in 0..4u8 {
            log.add_line(format!("CLIENT_RANDOM {:064x} {}", i, "00".repeat(48)).as_bytes());
        }
        assert_eq!((log.len(), log.stats.dropped_full), (2, 2));
    }

    #[test]
    fn follows_appends_partial_lines_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let line = |i: u8| format!("CLIENT_RANDOM {:064x} {}\n", i, "11".repeat(48));
        std::fs::write(&path, line(1)).unwrap();
        let mut log = KeyLog::default();
        let mut f = KeyLogFile::new(&path);
        f.poll(&mut log).unwrap();
        assert_eq!(log.len(), 1);
        let l2 = line(2);
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        w.write_all(&l2.as_bytes()[..20]).unwrap();
        f.poll(&mut log).unwrap();
        assert_eq!(log.len(), 1, "half a line waits");
        w.write_all(&l2.as_bytes()[20..]).unwrap();
        f.poll(&mut log).unwrap();
        assert_eq!(log.len(), 2);
        std::fs::write(&path, line(3)).unwrap();
        f.poll(&mut log).unwrap();
        assert_eq!((log.len(), log.stats.restarts), (3, 1));
        assert_eq!(log.stats.malformed, 0);
    }
}
