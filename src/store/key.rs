//! The key of the keyed hashes of credentials, in `<db>.key` next to the database.
//!
//! The file is trusted only when it is what shadowtap itself would have written: a regular file
//! (never a symbolic link, which is not followed), owned by the user shadowtap runs as, readable
//! and writable by that user only (mode 0600 or stricter), holding the key in hex. Anything else
//! is refused with a message that says what to do; a key is created only when the file does not
//! exist, never over a file that is there (a corrupt key is not replaced: the hashes already
//! stored were made with it, and a new key would stop new hashes from matching them).
//!
//! A new key is written to a temporary file of its own (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600)
//! that is then hard-linked to the final name: `link(2)` fails when the name exists, symbolic
//! link or not, so the key appears whole or not at all, and two processes creating it at once
//! both end up with the one that won.

use super::StoreError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Bytes of a new key.
const KEY_BYTES: usize = 32;
/// Shortest key accepted.
const MIN_KEY_BYTES: usize = 16;
/// Largest key file read.
const MAX_FILE: u64 = 4096;

/// `<db>.key`.
pub fn key_path(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push(".key");
    PathBuf::from(path)
}

/// The key for `db`: read from `<db>.key` after checking it, or created when the file does not
/// exist.
pub fn load_or_create(db: &Path) -> Result<Vec<u8>, StoreError> {
    let path = key_path(db);
    match std::fs::symlink_metadata(&path) {
        Ok(_) => read_key(&path, db),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(&path, db),
        Err(e) => Err(io(&path, e)),
    }
}

/// A fleet's key from a file of its own (`shadowtap central --key-file`), checked as `<db>.key`
/// is; never created.
pub fn read_key_file(path: &Path) -> Result<Vec<u8>, StoreError> {
    read_key(path, path)
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn refused(path: &Path, reason: String) -> StoreError {
    StoreError::Refused {
        path: path.to_path_buf(),
        reason,
    }
}

fn read_key(path: &Path, db: &Path) -> Result<Vec<u8>, StoreError> {
    let shown = path.display();
    let meta = std::fs::symlink_metadata(path).map_err(|e| io(path, e))?;
    if meta.file_type().is_symlink() {
        return Err(refused(
            path,
            format!(
                "is a symbolic link; the key file of the keyed hashes must be a regular file \
                 (a link could make shadowtap read or overwrite another file), so it is not \
                 followed. Remove the link ({shown}) and put the real key file there, or let \
                 shadowtap create a new one where the link was"
            ),
        ));
    }
    let mut file = open_no_follow(path).map_err(|e| io(path, e))?;
    // The checks are made on the file that was opened, not on the name.
    let meta = file.metadata().map_err(|e| io(path, e))?;
    if !meta.is_file() {
        return Err(refused(
            path,
            "is not a regular file; the key of the keyed hashes must be one".into(),
        ));
    }
    check_owner_and_mode(path, &meta)?;
    let mut text = String::new();
    let read = std::io::Read::by_ref(&mut file)
        .take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => refused(path, corrupt(path, db, "it is not text")),
            _ => io(path, e),
        })?;
    if read as u64 >= MAX_FILE {
        return Err(refused(
            path,
            corrupt(path, db, "it is larger than a key file"),
        ));
    }
    match hex_decode(text.trim()) {
        Some(key) if key.len() >= MIN_KEY_BYTES => Ok(key),
        Some(key) if !text.trim().is_empty() => Err(refused(
            path,
            corrupt(
                path,
                db,
                &format!(
                    "it holds {} bytes, at least {MIN_KEY_BYTES} are needed",
                    key.len()
                ),
            ),
        )),
        Some(_) => Err(refused(path, corrupt(path, db, "it is empty"))),
        None => Err(refused(
            path,
            corrupt(path, db, "it is not a key in hexadecimal digits"),
        )),
    }
}

/// The message for a key file that cannot be read as a key.
fn corrupt(path: &Path, db: &Path, why: &str) -> String {
    format!(
        "does not hold a valid key ({why}). It keys the hashes of the credentials already \
         stored in {db}; shadowtap does not replace it, because with a new key the same \
         credential would hash differently and no longer link to what is stored. Restore the \
         file from a backup; or, to start over with a new key (the stored hashes then stop \
         matching new traffic), delete {path} and run again",
        db = db.display(),
        path = path.display()
    )
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(unix)]
fn check_owner_and_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display();
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(refused(
            path,
            format!(
                "is owned by uid {}, but shadowtap runs as uid {me}; the key of the keyed \
                 hashes is trusted only from a file of the user that runs shadowtap. If the \
                 file is right, give it to that user (chown {me} {shown}); otherwise remove it",
                meta.uid()
            ),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(refused(
            path,
            format!(
                "can be read or written by group or others (mode {mode:04o}); it holds the key \
                 of the keyed hashes of captured credentials, which must stay private. Run \
                 chmod 600 {shown} (and consider a new key if others may have read it)"
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_and_mode(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), StoreError> {
    Ok(())
}

fn create_key(path: &Path, db: &Path) -> Result<Vec<u8>, StoreError> {
    let mut key = vec![0u8; KEY_BYTES];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| io(Path::new("/dev/urandom"), e))?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}-{}", std::process::id(), &hex[..8]));
    let tmp = PathBuf::from(tmp);
    write_new(&tmp, hex.as_bytes()).map_err(|e| io(&tmp, e))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        // Created meanwhile (by another process): use that one, after the same checks.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(path, db),
        // A file system without hard links: create the name itself, exclusively.
        Err(_) => match write_new(path, hex.as_bytes()) {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(path, db),
            Err(e) => Err(io(path, e)),
        },
    }
}

/// Creates `path` (never an existing file, never through a symbolic link), mode 0600, with
/// `content`, on disk.
fn write_new(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(nix::libc::O_NOFOLLOW);
    }
    let mut f = opts.open(path)?;
    let written = f.write_all(content).and_then(|()| f.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn a_key_is_created_once_private_and_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("inv.db");
        let key = load_or_create(&db).unwrap();
        assert_eq!(key.len(), KEY_BYTES);
        let meta = std::fs::metadata(key_path(&db)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(load_or_create(&db).unwrap(), key);
        // No temporary file is left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn links_open_files_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("inv.db");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        symlink(&victim, key_path(&db)).unwrap();
        let e = load_or_create(&db).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        std::fs::remove_file(key_path(&db)).unwrap();
        // A dangling link is not followed either (its target is not created).
        symlink(dir.path().join("nowhere"), key_path(&db)).unwrap();
        assert!(load_or_create(&db).is_err());
        assert!(!dir.path().join("nowhere").exists());
        std::fs::remove_file(key_path(&db)).unwrap();

        let key = load_or_create(&db).unwrap();
        let path = key_path(&db);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = load_or_create(&db).unwrap_err().to_string();
        assert!(e.contains("mode 0640") && e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(load_or_create(&db).unwrap(), key);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

        for (content, why) in [
            ("zz-not-hex", "hexadecimal"),
            ("", "empty"),
            ("abcd", "at least 16"),
        ] {
            std::fs::write(&path, content).unwrap();
            let e = load_or_create(&db).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("Restore"), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
        }
    }
}
