//! A postdesk under test: a temp dir with a configuration, a data dir and Maildirs, and helpers
//! that run the real binary against them.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_postdesk");

/// Queues and agents as in the repository's postdesk.toml (the fixtures are written for them).
pub const QUEUES: &str = r#"
[[queue]]
name = "Support"
addresses = ["support@company.example", "hotline@company.example"]

[[queue]]
name = "Billing"
addresses = ["billing@company.example", "rechnung@company.example"]
language = "de"

[[queue]]
name = "Phone"
addresses = ["fax@company.example", "phone@company.example"]
on-closed = "new-ticket"

[[queue]]
name = "Junk"

[[agent]]
name = "Alice Agent"
address = "alice@company.example"
queues = ["Support", "Billing"]
"#;

pub struct Desk {
    pub dir: TempDir,
    pub config: PathBuf,
    pub data: PathBuf,
    /// The index's database when the tests run on PostgreSQL (`POSTDESK_TEST_INDEX=postgres`).
    pub pg_url: Option<String>,
}

/// `POSTDESK_KEEP_TEST_DIRS=1` keeps a desk's folder after its test, for a look at what it left.
impl Drop for Desk {
    fn drop(&mut self) {
        if std::env::var_os("POSTDESK_KEEP_TEST_DIRS").is_some_and(|v| !v.is_empty() && v != "0") {
            eprintln!("harness: keeping {}", self.dir.path().display());
            self.dir.disable_cleanup(true);
        }
    }
}

/// Whether desks keep their index in SQLite's file (the default), not on PostgreSQL.
pub fn sqlite_index() -> bool {
    !crate::postgres::enabled()
}

impl Desk {
    /// A desk whose configuration is `general` (extra keys for [general]), then `rest`
    /// (other tables), then the standard queues.
    pub fn with(general: &str, rest: &str) -> Desk {
        let dir = tempfile::Builder::new()
            .prefix("pd-it-")
            .tempdir()
            .expect("tempdir");
        let config = dir.path().join("postdesk.toml");
        let data = dir.path().join("var");
        let mut text = format!(
            "[general]\ndata-dir = \"var\"\nloop-value = \"postdesk@company.example\"\n{general}\n{rest}\n{QUEUES}"
        );
        let mut pg_url = None;
        if crate::postgres::enabled() {
            let server = crate::postgres::server();
            let url = server.database();
            text.push_str(&server.index_table(&url));
            pg_url = Some(url);
        }
        fs::write(&config, text).expect("write config");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&repo.join("templates"), &dir.path().join("templates"));
        copy_dir(&repo.join("filters"), &dir.path().join("filters"));
        Desk {
            dir,
            config,
            data,
            pg_url,
        }
    }

    pub fn new() -> Desk {
        Desk::with("", "")
    }

    /// Everything the index holds, to compare before and after something that must not write
    /// to it: SQLite's file, or every table of the PostgreSQL database as JSON.
    pub fn index_snapshot(&self) -> Vec<u8> {
        match &self.pg_url {
            None => fs::read(self.data.join("index.sqlite")).expect("read index.sqlite"),
            Some(url) => {
                let server = crate::postgres::server();
                let tables = server.query(
                    url,
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = 'public' ORDER BY 1",
                );
                let mut out = Vec::new();
                for t in tables {
                    let name: String = t.get(0);
                    let rows = server.query(
                        url,
                        &format!(
                            "SELECT coalesce(json_agg(x ORDER BY x::text), '[]')::text FROM {name} x"
                        ),
                    );
                    let json: String = rows[0].get(0);
                    out.extend_from_slice(format!("{name}: {json}\n").as_bytes());
                }
                out
            }
        }
    }

    /// Runs `sql` on the index, whichever engine holds it: each row's columns as JSON values
    /// (integers, text, null). For checks that count rows the CLI does not print.
    pub fn index_rows(&self, sql: &str) -> Vec<Vec<serde_json::Value>> {
        use serde_json::Value;
        match &self.pg_url {
            None => {
                let db = rusqlite::Connection::open(self.data.join("index.sqlite")).unwrap();
                let mut st = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = st.column_count();
                let rows = st
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => Value::Null,
                                    rusqlite::types::ValueRef::Integer(v) => v.into(),
                                    rusqlite::types::ValueRef::Real(v) => v.into(),
                                    rusqlite::types::ValueRef::Text(t) => {
                                        String::from_utf8_lossy(t).into_owned().into()
                                    }
                                    rusqlite::types::ValueRef::Blob(b) => b.len().into(),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<Value>>>()
                    })
                    .unwrap();
                rows.map(Result::unwrap).collect()
            }
            Some(url) => {
                use postgres::types::Type;
                let server = crate::postgres::server();
                server
                    .query(url, sql)
                    .into_iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| match *r.columns()[i].type_() {
                                Type::INT8 => r.get::<_, Option<i64>>(i).into(),
                                Type::INT4 => r.get::<_, Option<i32>>(i).into(),
                                Type::INT2 => r.get::<_, Option<i16>>(i).into(),
                                Type::BOOL => r.get::<_, Option<bool>>(i).into(),
                                Type::FLOAT8 => r.get::<_, Option<f64>>(i).into(),
                                Type::BYTEA => {
                                    r.get::<_, Option<Vec<u8>>>(i).map(|b| b.len()).into()
                                }
                                _ => r.get::<_, Option<String>>(i).into(),
                            })
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// `index_rows` of a query yielding one integer.
    pub fn index_count(&self, sql: &str) -> i64 {
        self.index_rows(sql)[0][0]
            .as_i64()
            .unwrap_or_else(|| panic!("{sql}: not an integer"))
    }

    /// Runs a statement that changes the index (a test putting it into a given state).
    pub fn index_exec(&self, sql: &str) -> u64 {
        match &self.pg_url {
            None => {
                let db = rusqlite::Connection::open(self.data.join("index.sqlite")).unwrap();
                db.execute(sql, []).unwrap() as u64
            }
            Some(url) => crate::postgres::server().execute(url, sql),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(&self.config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// The daemon (`postdesk run`), its output discarded.
    /// The daemon, its log dropped (`POSTDESK_TEST_DAEMON_LOG=1` shows it, for debugging).
    pub fn daemon(&self) -> std::process::Child {
        let log = match std::env::var_os("POSTDESK_TEST_DAEMON_LOG") {
            Some(_) => Stdio::inherit(),
            None => Stdio::null(),
        };
        self.cmd()
            .arg("run")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the daemon")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run postdesk")
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "postdesk {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("json output")
    }

    pub fn tickets(&self) -> Vec<serde_json::Value> {
        self.json(&["ticket", "list", "--json"])
            .as_array()
            .expect("array")
            .clone()
    }

    /// The number of the ticket with this subject.
    pub fn number_of(&self, subject: &str) -> String {
        let tickets = self.tickets();
        let t = tickets.iter().find(|t| t["subject"] == subject);
        t.unwrap_or_else(|| panic!("no ticket {subject:?}"))["number"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn show(&self, number: &str) -> serde_json::Value {
        self.json(&["ticket", "show", number, "--json"])
    }

    /// The articles of a ticket that came in (not what postdesk sent).
    pub fn incoming(&self, number: &str) -> Vec<serde_json::Value> {
        incoming(&self.show(number))
    }

    /// Drains `maildir` once (files kept) and returns the summary line.
    pub fn drain(&self, maildir: &Path) -> String {
        self.ok(&["run", "--once", "--maildir", maildir.to_str().unwrap()])
    }

    pub fn fsck_clean(&self) {
        let out = self.run(&["fsck"]);
        assert!(
            out.status.success(),
            "fsck found differences:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new empty Maildir under the desk's dir.
    pub fn maildir(&self, name: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        for sub in ["new", "cur", "tmp"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        d
    }

    /// The mails in the local outbox whose To names `rcpt`.
    pub fn outbox_to(&self, rcpt: &str) -> Vec<String> {
        files_in(&self.data.join("outbox/new"))
            .iter()
            .map(|f| fs::read_to_string(f).unwrap())
            .filter(|m| {
                let head = m
                    .split("\r\n\r\n")
                    .next()
                    .unwrap_or("")
                    .replace("\r\n ", " ");
                head.lines().any(|l| {
                    l.split_once(':')
                        .is_some_and(|(n, v)| n.eq_ignore_ascii_case("to") && v.contains(rcpt))
                })
            })
            .collect()
    }

    /// Files left in the staging areas (their locks aside).
    pub fn staged_files(&self) -> usize {
        fs::read_dir(self.data.join("staging"))
            .unwrap()
            .flatten()
            .map(|d| {
                fs::read_dir(d.path())
                    .map(|f| f.flatten().filter(|f| f.file_name() != ".lock").count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Runs `run --once` until `source` (a Maildir) has nothing left in new/, killing the first
    /// `kills` runs with SIGKILL after `delay()` each (unless they finished before). Returns how
    /// many runs were killed.
    pub fn run_with_kills(
        &self,
        source: &Path,
        kills: u32,
        mut delay: impl FnMut() -> std::time::Duration,
    ) -> u32 {
        use std::time::{Duration, Instant};
        let mut killed = 0;
        let started = Instant::now();
        loop {
            let errfile = self.path().join("stderr.log");
            let err = fs::File::create(&errfile).unwrap();
            let mut child = self
                .cmd()
                .args(["run", "--once"])
                .stdout(Stdio::null())
                .stderr(err)
                .spawn()
                .unwrap();
            if killed < kills {
                let (t, delay) = (Instant::now(), delay());
                while t.elapsed() < delay && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(Duration::from_millis(2));
                }
                if child.try_wait().unwrap().is_none() {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    killed += 1;
                    continue;
                }
            }
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "run failed: {status:?}\n{}",
                fs::read_to_string(&errfile).unwrap()
            );
            if fs::read_dir(source.join("new")).unwrap().count() == 0 {
                return killed;
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "runs do not finish"
            );
        }
    }

    pub fn mail_log(&self) -> String {
        fs::read_to_string(self.data.join("mail.log")).unwrap_or_default()
    }
}

/// Delivers a message into a Maildir the way an MDA does: tmp/, then rename into new/.
pub fn drop_mail(maildir: &Path, bytes: &[u8]) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let name = format!(
        "{}.{:06}.{}.test",
        now.as_secs(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    );
    let tmp = maildir.join("tmp").join(&name);
    fs::write(&tmp, bytes).unwrap();
    fs::rename(&tmp, maildir.join("new").join(&name)).unwrap();
    name
}

/// Delivers a small plain-text mail (see `mail`) into a Maildir.
pub fn post(
    maildir: &Path,
    from: &str,
    to: &str,
    subject: &str,
    id: &str,
    extra: &str,
    body: &str,
) -> String {
    drop_mail(maildir, &mail(from, to, subject, id, extra, body))
}

/// A small plain-text mail.
pub fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}\r\n"
    )
    .into_bytes()
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    // In the order written: Maildir names carry unpadded microseconds, so that `…M99990…`
    // sorts after `…M100010…` as strings.
    v.sort_by(|a, b| {
        let key = |p: &PathBuf| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        };
        let (a, b) = (key(a), key(b));
        postdesk::store::names::order_key(&a).cmp(&postdesk::store::names::order_key(&b))
    });
    v
}

/// Copies a folder tree (the repository's templates into a desk).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// The incoming articles of a `ticket show --json` (customers' and agents' mail).
pub fn incoming(show: &serde_json::Value) -> Vec<serde_json::Value> {
    show["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .filter(|a| a["direction"] != "out")
        .cloned()
        .collect()
}
