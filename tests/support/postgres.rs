//! A throwaway PostgreSQL server for integration tests (the fleet's central store, issue 18).
//!
//! Include it with `#[path = "support/postgres.rs"] mod postgres;` and call
//! [`database`]: the first call of a test binary starts a server from Debian's server binaries
//! (the newest `/usr/lib/postgresql/<version>/bin`, or the directory in `SHADOWTAP_PG_BIN`):
//! `initdb` into a temporary directory (trust authentication, UTF-8, C locale), `pg_ctl start`
//! listening on 127.0.0.1 on a free port and on a Unix socket in that directory, durability off
//! (a test server needs no fsync). Every call gets a database of its own on that server. The
//! server is stopped and its directory deleted when the last [`Database`] of the binary is
//! dropped (a later call starts a new one).
//!
//! Run as root (CI), `initdb` and `pg_ctl` run as the `postgres` system user (`runuser -u
//! postgres --`; PostgreSQL refuses to run as root), with the directory given to that user; as
//! any other user they run as that user.
//!
//! Without server binaries [`database`] says so and returns `None` (the test skips), unless
//! `SHADOWTAP_REQUIRE_PG=1` is set (as `.ci/run` does), in which case the test fails. Binaries
//! that are present but cannot start a server always fail the test, with the server's log.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The server of this test binary while some [`Database`] holds it.
static SERVER: Mutex<Weak<Server>> = Mutex::new(Weak::new());
/// Numbers the databases of this test binary.
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// A running PostgreSQL server in a temporary directory.
pub struct Server {
    /// `initdb`, `pg_ctl`, `postgres`.
    bin: PathBuf,
    /// The cluster (`data/`), the server's log (`server.log`) and its Unix socket.
    dir: tempfile::TempDir,
    /// TCP port on 127.0.0.1.
    port: u16,
    /// The server runs as the `postgres` system user (this process is root).
    as_postgres: bool,
}

/// A database of its own on the test binary's server; the server lives while this does.
pub struct Database {
    /// Connection URL: `postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable`.
    pub url: String,
    /// The database's name.
    pub name: String,
    server: Arc<Server>,
}

impl Database {
    /// The PEM file of the CA that issued the server's certificate (for `sslrootcert=`).
    pub fn ca_pem(&self) -> PathBuf {
        self.server.dir.path().join("tls/ca.pem")
    }

    /// The server's log so far (for a failure message).
    pub fn server_log(&self) -> String {
        self.server.log()
    }
}

/// The directory of the newest PostgreSQL server binaries installed (Debian's layout,
/// `/usr/lib/postgresql/<major>/bin`), or `SHADOWTAP_PG_BIN` when set; `None` when there are
/// none.
pub fn server_binaries() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("SHADOWTAP_PG_BIN") {
        let dir = PathBuf::from(dir);
        return has_all(&dir).then_some(dir);
    }
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            // "15", "16", ... and the old "9.6": compare by major, then minor.
            let name = entry.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// A fresh database on this test binary's server (started if needed), named after `test`.
/// `None` when no server binaries are installed and `SHADOWTAP_REQUIRE_PG=1` is not set (the
/// caller returns: the test is skipped, and says so on stderr).
pub async fn database(test: &str) -> Option<Database> {
    let server = server()?;
    let n = DATABASES.fetch_add(1, Ordering::Relaxed);
    let mut name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(50)
        .collect();
    name = format!("t{n}_{name}");
    let admin = server.url("postgres");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "connect to the test server ({admin}): {e}\n{}",
                server.log()
            )
        });
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    sqlx::Connection::close(conn).await.ok();
    Some(Database {
        url: server.url(&name),
        name,
        server,
    })
}

/// The running server, or a new one; `None` when there are no binaries and none are required.
fn server() -> Option<Arc<Server>> {
    let mut slot = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = slot.upgrade() {
        return Some(server);
    }
    let Some(bin) = server_binaries() else {
        assert!(
            std::env::var("SHADOWTAP_REQUIRE_PG").as_deref() != Ok("1"),
            "SHADOWTAP_REQUIRE_PG=1 but no PostgreSQL server binaries (initdb, pg_ctl, postgres) in \
             /usr/lib/postgresql/*/bin or $SHADOWTAP_PG_BIN (apt-get install -y postgresql)"
        );
        eprintln!(
            "skipped: no PostgreSQL server binaries (initdb, pg_ctl, postgres) in \
             /usr/lib/postgresql/*/bin or $SHADOWTAP_PG_BIN (apt-get install -y postgresql to run \
             the PostgreSQL tests)"
        );
        return None;
    };
    let server = Arc::new(Server::start(bin));
    *slot = Arc::downgrade(&server);
    Some(server)
}

impl Server {
    /// initdb and start; panics with the reason (and the server's log) when either fails.
    fn start(bin: PathBuf) -> Server {
        let as_postgres = nix::unistd::geteuid().is_root();
        let dir = tempfile::Builder::new()
            .prefix("shadowtap-pg-")
            .tempdir()
            .expect("a temporary directory for the test server");
        if as_postgres {
            let user = nix::unistd::User::from_name("postgres")
                .ok()
                .flatten()
                .expect("running as root, the test server runs as the `postgres` user, which does not exist");
            std::os::unix::fs::chown(dir.path(), Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .expect("give the test server's directory to the postgres user");
        }
        let mut server = Server {
            bin,
            dir,
            port: 0,
            as_postgres,
        };
        let data = server.data();
        let tls = server.dir.path().join("tls");
        let initdb = server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        assert!(
            initdb.status.success(),
            "initdb failed (is {} readable by the postgres user?):\n{}{}",
            server.dir.path().display(),
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        );
        server.write_tls(&tls);
        // A free port can be taken between the look and the start: try a few.
        for attempt in 1..=5 {
            server.port = free_port();
            let options = format!(
                "-p {} -h 127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                server.port,
                server.dir.path().display(),
                tls.join("server.pem").display(),
                tls.join("server.key").display(),
            );
            let log = server.dir.path().join("server.log");
            let start = server.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-o".as_ref(),
                    options.as_ref(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "60".as_ref(),
                    "start".as_ref(),
                ],
            );
            if start.status.success() {
                return server;
            }
            let log = server.log();
            assert!(
                attempt < 5 && log.contains("could not bind"),
                "pg_ctl start failed:\n{}{}\nserver log:\n{log}",
                String::from_utf8_lossy(&start.stdout),
                String::from_utf8_lossy(&start.stderr)
            );
        }
        unreachable!("the loop returns or fails")
    }

    /// A CA and a server certificate it issued for `127.0.0.1` and `localhost`, in `dir`:
    /// `ca.pem`, `server.pem`, `server.key` (mode 0600, the server's user's, as PostgreSQL
    /// requires). Every test server offers TLS; URLs with `sslmode=disable` do not use it.
    fn write_tls(&self, dir: &Path) {
        let mut params = rcgen::CertificateParams::default();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "shadowtap test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap())
            .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
        let key_path = dir.join("server.key");
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if self.as_postgres {
            let user = nix::unistd::User::from_name("postgres")
                .ok()
                .flatten()
                .unwrap();
            for p in [
                dir.to_path_buf(),
                dir.join("ca.pem"),
                dir.join("server.pem"),
                key_path,
            ] {
                std::os::unix::fs::chown(&p, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                    .unwrap();
            }
        }
    }

    /// The cluster's directory.
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Connection URL of database `name`.
    fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        )
    }

    /// The server's log so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Runs a server binary (as the postgres user when this process is root).
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Output {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        // The server's working directory must be readable by it (the test's may not be).
        command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", path.display()))
    }
}

impl Drop for Server {
    /// Stops the server (immediate shutdown: nothing in it is kept); the directory goes with
    /// `dir`.
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.data();
            self.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-m".as_ref(),
                    "immediate".as_ref(),
                    "-w".as_ref(),
                    "stop".as_ref(),
                ],
            );
        }
    }
}

/// A TCP port free on 127.0.0.1 right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A SQLite value as `type:text` (`int:1`, `real:1.0`, `text:"a"`, `null`), to compare rows
/// of the two backends value by value, types included.
#[allow(dead_code)]
pub fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> String {
    use sqlx::{Row, TypeInfo, ValueRef};
    let raw = row.try_get_raw(i).unwrap();
    if raw.is_null() {
        return "null".into();
    }
    match raw.type_info().name() {
        "INTEGER" => format!("int:{}", row.get::<i64, _>(i)),
        "REAL" => format!("real:{:?}", row.get::<f64, _>(i)),
        "TEXT" => format!("text:{:?}", row.get::<String, _>(i)),
        other => format!("{other}:?"),
    }
}

/// A PostgreSQL value in the form of [`sqlite_value`].
#[allow(dead_code)]
pub fn pg_value(row: &sqlx::postgres::PgRow, i: usize) -> String {
    use sqlx::{Row, TypeInfo, ValueRef};
    let raw = row.try_get_raw(i).unwrap();
    if raw.is_null() {
        return "null".into();
    }
    match raw.type_info().name() {
        "INT8" => format!("int:{}", row.get::<i64, _>(i)),
        "INT4" => format!("int:{}", row.get::<i32, _>(i)),
        "FLOAT8" => format!("real:{:?}", row.get::<f64, _>(i)),
        "TEXT" => format!("text:{:?}", row.get::<String, _>(i)),
        other => format!("{other}:?"),
    }
}
