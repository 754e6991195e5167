//! PostgreSQL for the tests: one server per test process (initdb in a temporary folder, on a
//! loopback port, password logins over TCP), one database per desk. The server is stopped when
//! the test process ends, however it ends: a watcher shell stops it once the process is gone.
//!
//! `POSTDESK_TEST_INDEX=postgres` switches every `Desk` to an index on this server; tests that
//! look at SQLite's file itself ask `harness::sqlite_index()` first.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::services::{free_port, short_tempdir};

const PGBIN: &str = "/usr/lib/postgresql/15/bin";
/// The role postdesk logs in as (not a superuser) and its password.
pub const ROLE: &str = "postdesk";
const PASSWORD: &str = "postdesk-test-password";
const SUPER_PASSWORD: &str = "postgres-test-password";

/// Whether the tests run with the index on PostgreSQL.
pub fn enabled() -> bool {
    std::env::var("POSTDESK_TEST_INDEX").is_ok_and(|v| v == "postgres")
}

pub struct Server {
    pub dir: PathBuf,
    pub port: u16,
    /// A file holding the role's password (for `[index] password-file`).
    pub password_file: PathBuf,
}

/// The test process's server, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// Starts a fresh server in a folder of its own (a test that stops or kills it uses this).
pub fn start() -> Server {
    let initdb = Path::new(PGBIN).join("initdb");
    assert!(
        initdb.exists(),
        "{} not found: run scripts/install-test-deps.sh (postgresql-15)",
        initdb.display()
    );
    let tmp = short_tempdir("pd-pg-");
    let dir = tmp.keep();
    let data = dir.join("data");
    let sock = dir.join("sock");
    for d in [&data, &sock] {
        fs::create_dir_all(d).unwrap();
        chown_postgres(d);
    }
    let superpw = dir.join("superpw");
    fs::write(&superpw, SUPER_PASSWORD).unwrap();
    chown_postgres(&superpw);
    fs::set_permissions(&superpw, fs::Permissions::from_mode(0o600)).unwrap();
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(&initdb)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", superpw.display()))
        .args([
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password_file = dir.join("password");
    fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let server = Server {
        dir,
        port: free_port(),
        password_file,
    };
    server.run();
    let mut admin = server.admin();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}' CREATEDB"
        ))
        .expect("create role");
    server
}

fn chown_postgres(p: &Path) {
    let st = Command::new("chown")
        .arg("postgres:postgres")
        .arg(p)
        .status()
        .expect("chown");
    assert!(st.success(), "chown postgres {}", p.display());
}

impl Server {
    /// Starts the server on its folder (again, after `stop` or `kill`), and waits until it
    /// takes connections. A watcher stops it when the test process is gone.
    pub fn run(&self) {
        let log = self.dir.join("pg.log");
        let script = format!(
            "{PGBIN}/postgres -D {data} -k {sock} -p {port} -c listen_addresses=127.0.0.1 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c max_connections=200 >>{log} 2>&1 &
             pg=$!
             echo $pg > {dir}/server.pid
             while [ -d /proc/{test} ] && kill -0 $pg 2>/dev/null; do sleep 1; done
             if [ ! -d /proc/{test} ]; then
                 kill -INT $pg 2>/dev/null; wait $pg; rm -rf {dir}
             fi",
            data = self.dir.join("data").display(),
            sock = self.dir.join("sock").display(),
            port = self.port,
            log = log.display(),
            dir = self.dir.display(),
            test = std::process::id(),
        );
        let pid_file = self.dir.join("server.pid");
        let _ = fs::remove_file(&pid_file);
        fs::write(self.dir.join("pg.log"), "").unwrap();
        chown_postgres(&log);
        chown_postgres(&self.dir);
        let mut server = Command::new("runuser")
            .args(["-u", "postgres", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        // The server runs until the test stops it; a thread reaps it then (no zombie).
        std::thread::spawn(move || server.wait());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if postgres::Client::connect(&self.admin_url(), postgres::NoTls).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not take connections within 30 s:\n{}",
                crate::services::tail(&log, 20)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process id (the postmaster).
    pub fn pid(&self) -> i32 {
        let text = fs::read_to_string(self.dir.join("server.pid")).unwrap_or_default();
        text.trim().parse().expect("server.pid")
    }

    /// Stops the server at once (SIGQUIT: no checkpoint, recovery at the next start), and waits
    /// until it is gone.
    pub fn kill(&self) {
        let pid = self.pid();
        // SAFETY: signalling a process we started.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn admin_url(&self) -> String {
        format!(
            "postgresql://postgres:{SUPER_PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.admin_url(), postgres::NoTls).expect("connect as postgres")
    }

    /// A new, empty database owned by the postdesk role; its url (without the password).
    pub fn database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "pd_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.admin()
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {ROLE}"))
            .expect("create database");
        format!("postgresql://{ROLE}@127.0.0.1:{}/{name}", self.port)
    }

    /// The `[index]` table for a database of this server.
    pub fn index_table(&self, url: &str) -> String {
        format!(
            "[index]\nbackend = \"postgres\"\nurl = \"{url}\"\npassword-file = \"{}\"\n",
            self.password_file.display()
        )
    }

    /// A session on a database as the postdesk role.
    pub fn client(&self, url: &str) -> postgres::Client {
        postgres::Client::connect(
            &url.replacen(&format!("{ROLE}@"), &format!("{ROLE}:{PASSWORD}@"), 1),
            postgres::NoTls,
        )
        .expect("connect as postdesk")
    }

    /// Makes the server speak TLS with a certificate for 127.0.0.1 signed by a CA of its own,
    /// and refuse the postdesk role any connection without it; returns the CA's certificate.
    pub fn require_tls(&self) -> PathBuf {
        let certs = self.dir.join("certs");
        fs::create_dir_all(&certs).unwrap();
        crate::slapd::certificates(&certs);
        let data = self.dir.join("data");
        for (from, to) in [("cert.pem", "server.crt"), ("key.pem", "server.key")] {
            fs::copy(certs.join(from), data.join(to)).unwrap();
            chown_postgres(&data.join(to));
            fs::set_permissions(data.join(to), fs::Permissions::from_mode(0o600)).unwrap();
        }
        let hba = data.join("pg_hba.conf");
        let rest = fs::read_to_string(&hba).unwrap();
        fs::write(
            &hba,
            format!(
                "hostnossl all {ROLE} 0.0.0.0/0 reject
{rest}"
            ),
        )
        .unwrap();
        let mut admin = self.admin();
        admin
            .batch_execute("ALTER SYSTEM SET ssl = on")
            .expect("ssl on");
        admin.query("SELECT pg_reload_conf()", &[]).expect("reload");
        // The reload is signalled, not waited for.
        let deadline = Instant::now() + Duration::from_secs(10);
        while admin
            .query_one("SHOW ssl", &[])
            .map(|r| r.get::<_, String>(0) != "on")
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "ssl did not come on");
            std::thread::sleep(Duration::from_millis(50));
            admin = self.admin();
        }
        certs.join("ca.pem")
    }

    /// A query on a database as the postdesk role (for tests that look into the index).
    pub fn query(&self, url: &str, sql: &str) -> Vec<postgres::Row> {
        self.client(url)
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// A statement on a database as the postdesk role; the rows it changed.
    pub fn execute(&self, url: &str, sql: &str) -> u64 {
        self.client(url)
            .execute(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}
