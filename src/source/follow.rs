//! An access log followed as it grows (`shadowtap run` with `[[follow]]` or `--follow`), the
//! way `tail -F` does:
//!
//! - every [`Follower::poll`] reads what was appended since the last one (at most
//!   [`POLL_BYTES`] per call), and hands each complete line to the format's reader; a line
//!   still being written waits for its newline (at most `max_line_bytes` of it is held; a
//!   longer one is skipped up to its newline and counted under `line_too_long`);
//! - **rotation by renaming** (logrotate's default, nginx's `USR1`): when the path names
//!   another file than the one open, the open one is read to its end first, then the new one
//!   is followed from its start;
//! - **rotation by truncation** (`copytruncate`): a file shorter than what was read is read
//!   again from its start;
//! - a missing file is waited for (a rotation between the rename and the creation, a log not
//!   written yet).
//!
//! A file that exists when following starts is read from its end (what was logged before the
//! daemon started is `shadowtap ingest`'s to read) unless `from_start` is set; one created
//! later is read from its start. Lines written while the daemon is down are not read.

use super::{Format, SourceConfig, SourceStats, detect, read};
use crate::http::HttpTransaction;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Bytes read per [`Follower::poll`] at most: a burst is taken in steps, so one poll never
/// holds more than this (plus one line).
pub const POLL_BYTES: usize = 4 << 20;

/// What following did, besides the lines ([`SourceStats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FollowStats {
    /// Bytes read.
    pub bytes: u64,
    /// Files switched to after a rotation by renaming.
    pub rotations: u64,
    /// Times the file was found shorter than what was read (truncated) and read again.
    pub truncations: u64,
    /// An unfinished last line dropped at a rotation (the old file ended without a newline).
    pub partial_dropped: u64,
    /// Lines before the format was known that could not tell it (auto-detection).
    pub undetected: u64,
}

/// One followed file.
pub struct Follower {
    path: PathBuf,
    format: Option<Format>,
    cfg: SourceConfig,
    from_start: bool,
    file: Option<File>,
    /// (device, inode) of the open file.
    id: (u64, u64),
    offset: u64,
    /// The unfinished line at the end of what was read.
    partial: Vec<u8>,
    /// Skipping a line longer than the cap, up to its newline.
    discarding: bool,
    opened_once: bool,
    polled: bool,
    /// Lines read.
    pub source: SourceStats,
    /// Rotation and byte counters.
    pub follow: FollowStats,
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

impl Follower {
    /// Follows `path` in `format` (`None`: told from its first line, see [`detect`]).
    pub fn new(path: &Path, format: Option<Format>, cfg: SourceConfig, from_start: bool) -> Self {
        Follower {
            path: path.to_path_buf(),
            format,
            cfg,
            from_start,
            file: None,
            id: (0, 0),
            offset: 0,
            partial: Vec::new(),
            discarding: false,
            opened_once: false,
            polled: false,
            source: SourceStats::default(),
            follow: FollowStats::default(),
        }
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format, once known.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// Reads what was appended (and follows a rotation), giving each transaction to `emit`;
    /// returns whether anything was read (the caller sleeps when nothing was).
    pub fn poll(&mut self, mut emit: impl FnMut(HttpTransaction)) -> std::io::Result<bool> {
        let first = !self.polled;
        self.polled = true;
        if self.file.is_none() && !self.open()? {
            // A file created after the follower started is new: read from its start.
            if first {
                self.opened_once = true;
            }
            return Ok(false);
        }
        let mut any = self.read_more(&mut emit)?;
        if any {
            return Ok(true);
        }
        // At the end of the open file: has the path moved on?
        match std::fs::metadata(&self.path) {
            Ok(m) if file_id(&m) != self.id => {
                // Renamed away and replaced: the old file was read to its end above.
                if !self.partial.is_empty() {
                    self.follow.partial_dropped += 1;
                }
                self.partial.clear();
                self.discarding = false;
                self.file = None;
                self.follow.rotations += 1;
                if self.open()? {
                    any = self.read_more(&mut emit)?;
                }
            }
            Ok(m) if m.len() < self.offset => {
                // Truncated in place.
                self.follow.truncations += 1;
                if let Some(f) = self.file.as_mut() {
                    f.seek(SeekFrom::Start(0))?;
                }
                self.offset = 0;
                self.partial.clear();
                self.discarding = false;
                any = self.read_more(&mut emit)?;
            }
            // The same file, nothing new; or the path is gone (waiting for its successor).
            _ => {}
        }
        Ok(any)
    }

    /// Opens the path: `false` when it does not exist (yet).
    fn open(&mut self) -> std::io::Result<bool> {
        let mut f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let m = f.metadata()?;
        self.id = file_id(&m);
        // The first file starts at its end (unless from_start); every later one (a rotation)
        // at its start.
        self.offset = if !self.opened_once && !self.from_start {
            m.len()
        } else {
            0
        };
        f.seek(SeekFrom::Start(self.offset))?;
        self.opened_once = true;
        self.file = Some(f);
        Ok(true)
    }

    /// Reads up to [`POLL_BYTES`] from the open file and its complete lines.
    fn read_more(&mut self, emit: &mut impl FnMut(HttpTransaction)) -> std::io::Result<bool> {
        let Some(f) = self.file.as_mut() else {
            return Ok(false);
        };
        let mut buf = Vec::new();
        let n = f.take(POLL_BYTES as u64).read_to_end(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.offset += n as u64;
        self.follow.bytes += n as u64;
        let mut rest = &buf[..];
        if self.discarding {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    rest = &rest[i + 1..];
                    self.discarding = false;
                }
                None => return Ok(true),
            }
        }
        // Complete lines: what was held, then up to the last newline of this read.
        let Some(last_nl) = memchr::memrchr(b'\n', rest) else {
            self.hold(rest);
            return Ok(true);
        };
        let mut lines = std::mem::take(&mut self.partial);
        lines.extend_from_slice(&rest[..=last_nl]);
        self.hold(&rest[last_nl + 1..]);
        self.lines(&lines, emit);
        Ok(true)
    }

    /// Keeps the start of an unfinished line, up to the line cap (past it the line is
    /// skipped up to its newline).
    fn hold(&mut self, tail: &[u8]) {
        if self.partial.len() + tail.len() > self.cfg.max_line_bytes {
            self.partial.clear();
            self.discarding = true;
            self.source.lines += 1;
            self.source.skip(super::Skip::LineTooLong);
        } else {
            self.partial.extend_from_slice(tail);
        }
    }

    fn lines(&mut self, lines: &[u8], emit: &mut impl FnMut(HttpTransaction)) {
        let format = match self.format {
            Some(f) => f,
            None => match detect(lines) {
                Ok(f) if f != Format::Har => {
                    tracing::info!(path = %self.path.display(), format = f.name(), "followed log's format told from its first line");
                    self.format = Some(f);
                    f
                }
                _ => {
                    // Counted; the next lines try again.
                    self.follow.undetected += lines.iter().filter(|b| **b == b'\n').count() as u64;
                    return;
                }
            },
        };
        // Line formats only read complete lines from memory: no I/O error is possible.
        let _ = read(format, lines, &self.cfg, &mut self.source, |_, t| emit(t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(path: &str, status: u16) -> String {
        format!(
            "10.0.0.7 - - [07/Dec/2026:10:00:00 +0000] \"GET {path} HTTP/1.1\" {status} 12 \"-\" \"curl/8.0\"\n"
        )
    }

    fn follower(p: &Path, from_start: bool) -> Follower {
        Follower::new(
            p,
            Some(Format::Combined),
            SourceConfig {
                host: Some("api.test".into()),
                max_line_bytes: 4096,
                ..SourceConfig::default()
            },
            from_start,
        )
    }

    fn paths(f: &mut Follower) -> Vec<String> {
        let mut out = Vec::new();
        f.poll(|t| {
            let target = t.request.as_ref().map_or(&b""[..], |r| r.head.target());
            out.push(String::from_utf8_lossy(target).into_owned())
        })
        .unwrap();
        out
    }

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    #[test]
    fn appended_lines_are_read_once_and_a_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, &line("/before", 200));
        let mut f = follower(&p, false);
        // What was there before is not read: the follower starts at the end.
        assert!(paths(&mut f).is_empty());
        append(&p, &line("/a", 200));
        let half = line("/b", 404);
        append(&p, &half[..20]);
        assert_eq!(paths(&mut f), ["/a"]);
        append(&p, &half[20..]);
        assert_eq!(paths(&mut f), ["/b"]);
        assert!(paths(&mut f).is_empty());
        assert_eq!(f.source.transactions, 2);
        // From the start when asked.
        let mut g = follower(&p, true);
        assert_eq!(paths(&mut g), ["/before", "/a", "/b"]);
    }

    #[test]
    fn a_rotation_by_renaming_reads_the_old_file_to_its_end_then_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, "");
        let mut f = follower(&p, false);
        assert!(paths(&mut f).is_empty());
        append(&p, &line("/old-1", 200));
        // Written just before the rename, still in the old file.
        std::fs::rename(&p, dir.path().join("access.log.1")).unwrap();
        append(&dir.path().join("access.log.1"), &line("/old-2", 200));
        // The path is missing for a while: nothing breaks.
        assert_eq!(paths(&mut f), ["/old-1", "/old-2"]);
        assert!(paths(&mut f).is_empty());
        append(&p, &line("/new-1", 200));
        assert_eq!(paths(&mut f), ["/new-1"]);
        assert_eq!(f.follow.rotations, 1);
    }

    #[test]
    fn a_truncated_file_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, "");
        let mut f = follower(&p, false);
        assert!(paths(&mut f).is_empty());
        append(&p, &line("/a", 200));
        append(&p, &line("/b", 200));
        assert_eq!(paths(&mut f), ["/a", "/b"]);
        // copytruncate: the file is emptied in place, then written again.
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        assert!(paths(&mut f).is_empty());
        append(&p, &line("/c", 200));
        assert_eq!(paths(&mut f), ["/c"]);
        assert_eq!(f.follow.truncations, 1);
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_without_being_held() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, "");
        let mut f = follower(&p, false);
        assert!(paths(&mut f).is_empty());
        // 1 MiB without a newline, in pieces, then its end and a good line.
        for _ in 0..16 {
            append(&p, &"x".repeat(64 * 1024));
            assert!(paths(&mut f).is_empty());
            assert!(f.partial.len() <= 4096);
        }
        append(&p, &format!("tail\n{}", line("/ok", 200)));
        assert_eq!(paths(&mut f), ["/ok"]);
        assert_eq!(f.source.line_too_long, 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// However the writes are cut (lines split anywhere, several per write, a line over
        /// the cap, garbage), the follower gives what reading the whole file at once gives.
        #[test]
        fn any_cut_of_the_writes_reads_as_the_whole_file(
            kinds in proptest::collection::vec(0u8..6, 1..40),
            cuts in proptest::collection::vec(1usize..200, 1..60),
        ) {
            let mut whole = Vec::new();
            for (i, k) in kinds.iter().enumerate() {
                match k {
                    0..=2 => whole.extend_from_slice(line(&format!("/p/{i}"), 200 + u16::from(*k)).as_bytes()),
                    3 => whole.extend_from_slice(b"not a log line\n"),
                    4 => whole.extend_from_slice(format!("{}\n", "y".repeat(5000)).as_bytes()),
                    _ => whole.extend_from_slice(b"\n"),
                }
            }
            let cfg = SourceConfig { host: Some("api.test".into()), max_line_bytes: 4096, ..SourceConfig::default() };
            let mut want_stats = SourceStats::default();
            let mut want = Vec::new();
            read(Format::Combined, &whole[..], &cfg, &mut want_stats, |_, t| {
                want.push(t.request.as_ref().map(|r| r.head.target().to_vec()))
            }).unwrap();

            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("access.log");
            append(&p, "");
            let mut f = Follower::new(&p, Some(Format::Combined), cfg, false);
            let mut got = Vec::new();
            let mut poll = |f: &mut Follower| {
                f.poll(|t| got.push(t.request.as_ref().map(|r| r.head.target().to_vec()))).unwrap();
            };
            poll(&mut f);
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= whole.len() {
                    break;
                }
                let end = (at + c).min(whole.len());
                let mut file = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
                file.write_all(&whole[at..end]).unwrap();
                drop(file);
                at = end;
                poll(&mut f);
            }
            poll(&mut f);
            proptest::prop_assert_eq!(&got, &want);
            proptest::prop_assert_eq!(f.source.transactions, want_stats.transactions);
            proptest::prop_assert_eq!(f.source.lines, want_stats.lines);
            proptest::prop_assert_eq!(f.source.line_too_long, want_stats.line_too_long);
            proptest::prop_assert_eq!(f.source.skipped(), want_stats.skipped());
        }
    }

    #[test]
    fn a_missing_file_is_waited_for_and_the_format_told_from_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("later.log");
        let mut f = Follower::new(
            &p,
            None,
            SourceConfig {
                host: Some("api.test".into()),
                ..SourceConfig::default()
            },
            false,
        );
        assert!(paths(&mut f).is_empty());
        // Created after the follower started: read from its start.
        append(&p, &line("/first", 200));
        assert_eq!(paths(&mut f), ["/first"]);
        append(&p, &line("/second", 201));
        assert_eq!(paths(&mut f), ["/second"]);
        assert_eq!(f.format(), Some(Format::Combined));
    }
}
