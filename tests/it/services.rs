//! Real mail services on loopback for the integration tests: Dovecot (IMAP + LMTP over a ticket store),
//! an aiosmtpd SMTP sink, spamd and clamd. Configurations follow shared SERVICES.md (Debian 12, root).
//!
//! Install the programs with `scripts/install-test-deps.sh` (as root). Every service runs in the
//! foreground as a direct child of the test, in its own short temp dir under /tmp with its own ports,
//! so tests may run in parallel. Drop sends SIGTERM to the child and waits for it.
//! Set `POSTDESK_KEEP_TEST_DIRS=1` to keep the temp dirs (configs and logs) after the test.
//!
//! Ticket store and permissions (SERVICES.md section 1, "Ownership trap"): Dovecot's mail processes run
//! as uid/gid 65534, the store is usually written by root. `Dovecot::start` therefore
//! - runs `chmod -R a+rX` on the store (and adds o+x to any temp-dir ancestor that lacks it), and
//! - keeps Dovecot's own files out of the store: `INDEX=` and `CONTROL=` point into the Dovecot dir
//!   (owned by 65534), `INDEXPVT=~/pvt` keeps per-user \Seen flags in the user's home.
//!
//! That gives LIST, SELECT and FETCH on a root-owned store. Writes through IMAP (APPEND, flag changes
//! that rename files, EXPUNGE, moving new/ to cur/) need a store writable by 65534: call
//! `Dovecot::chown_store()` first. Files the daemon under test writes later are readable only if it
//! creates them world-readable; call `Dovecot::open_up_store()` after it wrote, if not.
//!
//! Ticket ACLs: the global ACL file holds one line per rule, names include the `Tickets/` prefix and
//! `*` matches across the `/` separator, so `Tickets/Support*` covers `Tickets/Support` and every
//! ticket folder below it (and also a queue named `Tickets/SupportX`; use the two lines
//! `Tickets/Support` + `Tickets/Support/*` to be exact). `Tickets/Support` alone hides the ticket
//! folders, `Tickets/Support/*` alone hides the queue folder itself; `Tickets/*` covers everything.
//! Rules are read at each login. `acl_globals_only = yes`: no per-mailbox `dovecot-acl` files are read
//! (SETACL does not work), and Dovecot writes no `dovecot-acl-list` into the store root (it does without
//! that setting, once the store is writable for 65534).
//!
//! Dovecot touches the store only when it can write there (after `chown_store`): a SELECT (not the
//! EXAMINE that `imap_fetch_all` uses) renames new/ files into cur/ with a `:2,` suffix, flag changes
//! rename files, APPEND/CREATE add files and folders (`maildirfolder`). On a root-owned store a STORE
//! of a flag still answers OK but the flag lives only in Dovecot's index, not in the file name.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The Debian interpreter: it has python3-aiosmtpd (a `python3` earlier on PATH, e.g. pyenv, may not).
pub const PYTHON: &str = "/usr/bin/python3";
/// uid and gid of Dovecot's mail processes (nobody/nogroup).
pub const MAIL_UID: u32 = 65534;
/// The EICAR test file (68 bytes); `Clamd` reports it as `Test.EICAR.*.UNOFFICIAL FOUND`.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/// GTUBE line: spamd scores a message containing it 1000.
pub const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

const IMAP_CLIENT_PY: &str = include_str!("imap_client.py");
const SMTP_SINK_PY: &str = include_str!("smtp_sink.py");
const INSTALL_HINT: &str =
    "run `scripts/install-test-deps.sh` as root (Debian 12) to install the test services";

// ---------------------------------------------------------------------------------------------
// helpers

fn find_tool(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        return Path::new(tool).is_file().then(|| PathBuf::from(tool));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file());
    found
}

/// Panics with an install hint when `tool` (a name looked up in PATH plus the sbin dirs, or a path) is missing.
pub fn require(tool: &str) {
    if find_tool(tool).is_none() {
        panic!("test tool `{tool}` not found: {INSTALL_HINT}");
    }
}

pub(crate) fn tool(name: &str) -> PathBuf {
    require(name);
    find_tool(name).unwrap()
}

/// A free TCP port on 127.0.0.1 (bind port 0, read it, close). Never hands out the same port twice in
/// one test process, so parallel tests do not collide with each other.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let set = given.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind 127.0.0.1:0")
            .local_addr()
            .unwrap()
            .port();
        if set.insert(port) {
            return port;
        }
    }
}

/// A fresh dir `/tmp/<prefix>XXXXXX`, mode 0755 (short: Dovecot's socket paths must stay < 108 bytes).
pub(crate) fn short_tempdir(prefix: &str) -> TempDir {
    let t = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("create temp dir in /tmp");
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

fn keep_dirs() -> bool {
    std::env::var_os("POSTDESK_KEEP_TEST_DIRS").is_some_and(|v| !v.is_empty() && v != "0")
}

pub(crate) fn release_dir(tmp: &mut Option<TempDir>) {
    if let Some(t) = tmp.take() {
        if keep_dirs() {
            eprintln!("services: keeping {}", t.path().display());
            std::mem::forget(t);
        }
    }
}

pub(crate) fn log_file(path: &Path) -> Stdio {
    Stdio::from(fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display())))
}

/// Last `n` lines of a file (for panic messages).
pub fn tail(path: &Path, n: usize) -> String {
    let text = String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// SIGTERM to the child, wait up to 15 s for it, then SIGKILL.
pub(crate) fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", child.id()))
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

enum NotReady {
    Exited(ExitStatus),
    Timeout,
}

/// Polls `probe` until it returns true, the child exits, or `timeout` passes.
fn wait_ready(
    child: &mut Child,
    timeout: Duration,
    mut probe: impl FnMut() -> bool,
) -> Result<Duration, NotReady> {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Err(NotReady::Exited(st));
        }
        if probe() {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            return Err(NotReady::Timeout);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn connect(port: u16) -> Option<TcpStream> {
    let s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    Some(s)
}

/// Connects, reads the first line and checks its prefix (IMAP `* OK`, SMTP `220`).
fn greeting_starts_with(port: u16, prefix: &str, bye: &[u8]) -> bool {
    let Some(s) = connect(port) else { return false };
    let mut line = String::new();
    let ok = BufReader::new(&s).read_line(&mut line).is_ok() && line.starts_with(prefix);
    let _ = (&s).write_all(bye);
    ok
}

/// Sends `request`, optionally half-closes, reads to EOF (or a read timeout).
fn exchange(port: u16, request: &[u8], half_close: bool) -> Option<Vec<u8>> {
    let mut s = connect(port)?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let sent = s.write_all(request);
    if half_close {
        let _ = s.shutdown(Shutdown::Write);
    }
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply); // clamd may close early (size limit): still read what came
    if sent.is_err() && reply.is_empty() {
        return None;
    }
    Some(reply)
}

/// Runs a command with a wall-clock limit; returns (status, stdout, stderr). Kills it on timeout.
pub(crate) fn run_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<(ExitStatus, Vec<u8>, Vec<u8>), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let he = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {timeout:?}: {cmd:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok((status, ho.join().unwrap(), he.join().unwrap()))
}

fn chmod_a_rx(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        return;
    }
    let mode = meta.permissions().mode();
    let want = if meta.is_dir() {
        mode | 0o555
    } else {
        mode | 0o444 | if mode & 0o111 != 0 { 0o111 } else { 0 }
    };
    if want != mode {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(want));
    }
    if meta.is_dir() {
        for e in fs::read_dir(path).into_iter().flatten().flatten() {
            chmod_a_rx(&e.path());
        }
    }
}

fn chown_r(path: &Path, uid: u32, gid: u32) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    let _ = std::os::unix::fs::lchown(path, Some(uid), Some(gid));
    if meta.is_dir() {
        for e in fs::read_dir(path).into_iter().flatten().flatten() {
            chown_r(&e.path(), uid, gid);
        }
    }
}

/// `chmod -R a+rX path`, plus o+x on every ancestor inside the temp dir that lacks it (tempfile makes
/// 0700 dirs). Panics if an ancestor outside the temp dir is not searchable for "other".
pub fn open_up(path: &Path) {
    chmod_a_rx(path);
    let tmp = std::env::temp_dir()
        .canonicalize()
        .unwrap_or_else(|_| "/tmp".into());
    for anc in path.ancestors().skip(1) {
        let mode = fs::metadata(anc)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o755);
        if mode & 0o001 == 0 {
            if anc.starts_with(&tmp) && anc != tmp {
                fs::set_permissions(anc, fs::Permissions::from_mode(mode | 0o011)).unwrap();
            } else {
                panic!("{} (mode {mode:o}) is not searchable by uid {MAIL_UID}: put the store under /tmp", anc.display());
            }
        }
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    assert!(b.len().is_multiple_of(2), "odd hex length");
    let v = |c: u8| (c as char).to_digit(16).expect("hex digit") as u8;
    b.chunks(2).map(|p| v(p[0]) << 4 | v(p[1])).collect()
}

// ---------------------------------------------------------------------------------------------
// Dovecot

/// Dovecot 2.3 serving a Maildir++ ticket store as the public namespace `Tickets/` (separator `/`),
/// with IMAP and LMTP on 127.0.0.1. Every user also gets an empty private INBOX under `dir/mail/<user>`.
pub struct Dovecot {
    pub dir: PathBuf,
    pub imap_port: u16,
    /// LMTP (`smtplib.LMTP(...).sendmail(frm, ["user"], raw)` delivers into that user's private INBOX).
    pub lmtp_port: u16,
    /// The store, canonicalized.
    pub store: PathBuf,
    child: Child,
    tmp: Option<TempDir>,
}

impl Dovecot {
    /// `users`: (name, plain password). `acl_lines`: the global ACL file, e.g.
    /// `Tickets/Support* user=agent1 lrwsti`, `Tickets/* user=admin lrwstipekxa`.
    pub fn start(store: &Path, users: &[(&str, &str)], acl_lines: &[String]) -> Dovecot {
        Self::start_with_store_users(store, users, &[], acl_lines)
    }

    /// Like `start`, plus `store_users` whose private namespace (INBOX, no prefix) is the store itself:
    /// they see `Support`, `Support/2026...` at top level with full owner rights (global ACL lines
    /// without the `Tickets/` prefix restrict them, e.g. `Support* owner lr`) and can CREATE queues,
    /// which public-namespace users cannot. They share INDEX and CONTROL (so UIDs) with `Tickets/`.
    pub fn start_with_store_users(
        store: &Path,
        users: &[(&str, &str)],
        store_users: &[(&str, &str)],
        acl_lines: &[String],
    ) -> Dovecot {
        Self::start_inner(store, users, store_users, acl_lines, None)
    }

    /// Dovecot configured by what `postdesk dovecot-config` wrote into `generated`: only the
    /// basics here (listeners, logs, the agents' private INBOX), then `!include postdesk.conf`,
    /// which brings the `Tickets/` namespace, the ACLs and the agents' passwd file.
    pub fn start_generated(store: &Path, generated: &Path) -> Dovecot {
        Self::start_inner(store, &[], &[], &[], Some(generated))
    }

    fn start_inner(
        store: &Path,
        users: &[(&str, &str)],
        store_users: &[(&str, &str)],
        acl_lines: &[String],
        generated: Option<&Path>,
    ) -> Dovecot {
        let dovecot = tool("dovecot");
        let store = store
            .canonicalize()
            .unwrap_or_else(|e| panic!("store {}: {e}", store.display()));
        let s = store.to_str().expect("utf-8 store path");
        assert!(
            !s.contains([':', ' ', '\t', '\n', '%']),
            "store path must not contain ':', '%' or blanks: {s}"
        );
        open_up(&store);
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let tmp = short_tempdir("pdv-");
            let d = tmp.path().to_str().unwrap().to_owned();
            let (imap_port, lmtp_port) = (free_port(), free_port());
            for sub in ["run", "state", "mail", "home", "idx"] {
                fs::create_dir(format!("{d}/{sub}")).unwrap();
            }
            for sub in ["mail", "home", "idx"] {
                std::os::unix::fs::chown(format!("{d}/{sub}"), Some(MAIL_UID), Some(MAIL_UID))
                    .unwrap();
            }
            let store_loc = format!("maildir:{s}:INDEX={d}/idx/index:CONTROL={d}/idx/control");
            let mut passwd = String::new();
            for (u, p) in users {
                assert!(
                    !u.contains([':', ' ']) && !p.contains([':', '\n']),
                    "bad user entry {u}:{p}"
                );
                passwd += &format!("{u}:{{PLAIN}}{p}::::::\n");
            }
            for (u, p) in store_users {
                assert!(
                    !u.contains([':', ' ']) && !p.contains([':', '\n']),
                    "bad user entry {u}:{p}"
                );
                passwd += &format!("{u}:{{PLAIN}}{p}::::::userdb_mail={store_loc}\n");
            }
            fs::write(format!("{d}/users"), passwd).unwrap();
            let mut acl = acl_lines.join("\n");
            acl.push('\n');
            fs::write(format!("{d}/global-acl"), acl).unwrap();
            let plugins = if generated.is_some() {
                String::new()
            } else {
                "mail_plugins = acl\nprotocol imap {\n  mail_plugins = $mail_plugins imap_acl\n}\n"
                    .to_string()
            };
            let rest = match generated {
                Some(g) => format!("!include {}/postdesk.conf\n", g.display()),
                None => format!(
                    "passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
                     userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/users\n  \
                     default_fields = uid={MAIL_UID} gid={MAIL_UID} home={d}/home/%u\n}}\n\
                     namespace tickets {{\n  type = public\n  separator = /\n  prefix = Tickets/\n  \
                     location = {store_loc}:INDEXPVT=~/pvt\n  subscriptions = no\n}}\n\
                     plugin {{\n  acl = vfile:{d}/global-acl\n  acl_globals_only = yes\n}}\n"
                ),
            };
            let conf = format!(
                r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
mail_location = maildir:{d}/mail/%u
{plugins}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
{rest}"#
            );
            let conf_path = format!("{d}/dovecot.conf");
            fs::write(&conf_path, conf).unwrap();
            let mut child = Command::new(&dovecot)
                .args(["-F", "-c", &conf_path])
                .stdin(Stdio::null())
                .stdout(log_file(&tmp.path().join("dovecot.out")))
                .stderr(log_file(&tmp.path().join("dovecot.err")))
                .spawn()
                .expect("spawn dovecot");
            let r = wait_ready(&mut child, Duration::from_secs(10), || {
                greeting_starts_with(imap_port, "* OK", b"a LOGOUT\r\n")
            });
            let logs = || {
                format!(
                    "--- dovecot.err:\n{}\n--- dovecot.log (tail):\n{}",
                    tail(&tmp.path().join("dovecot.err"), 20),
                    tail(&tmp.path().join("dovecot.log"), 30)
                )
            };
            match r {
                Ok(_) => {
                    return Dovecot {
                        dir: tmp.path().to_owned(),
                        imap_port,
                        lmtp_port,
                        store,
                        child,
                        tmp: Some(tmp),
                    };
                }
                Err(NotReady::Exited(st)) => {
                    last_err = format!(
                        "dovecot exited with {st} before answering `* OK` on port {imap_port}\n{}",
                        logs()
                    );
                    if last_err.contains("Address already in use") {
                        continue; // a port was taken between free_port() and bind: retry with new ports
                    }
                    break;
                }
                Err(NotReady::Timeout) => {
                    stop(&mut child);
                    last_err = format!(
                        "dovecot gave no `* OK` on port {imap_port} within 10 s\n{}",
                        logs()
                    );
                    break;
                }
            }
        }
        panic!("Dovecot did not start: {last_err}");
    }

    /// dovecot.log so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.dir.join("dovecot.log")).unwrap_or_default())
            .into_owned()
    }

    /// Stops Dovecot (SIGTERM, wait) and starts it again with the same configuration, ports and
    /// mail: what an admin's `systemctl restart dovecot` does to connected clients.
    pub fn restart(&mut self) {
        stop(&mut self.child);
        let conf = self.dir.join("dovecot.conf");
        let mut child = Command::new(tool("dovecot"))
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log_file(&self.dir.join("dovecot.out")))
            .stderr(log_file(&self.dir.join("dovecot.err")))
            .spawn()
            .expect("spawn dovecot");
        let port = self.imap_port;
        if wait_ready(&mut child, Duration::from_secs(10), || {
            greeting_starts_with(port, "* OK", b"a LOGOUT\r\n")
        })
        .is_err()
        {
            panic!("dovecot did not come back:\n{}", self.log());
        }
        self.child = child;
    }

    /// `chmod -R a+rX` the store again (after the daemon under test created root-only files or dirs).
    pub fn open_up_store(&self) {
        open_up(&self.store);
    }

    /// `chown -R 65534:65534` the store, so that IMAP writes (APPEND, flags, EXPUNGE, new/->cur/) work.
    /// Root (the daemon under test) can still write there.
    pub fn chown_store(&self) {
        chown_r(&self.store, MAIL_UID, MAIL_UID);
    }

    /// `chown -R 65534:65534` another tree Dovecot writes into (the archive).
    pub fn chown_tree(&self, path: &Path) {
        chown_r(path, MAIL_UID, MAIL_UID);
    }

    /// Replaces the global ACL file; applies to the next login (sessions re-read it every 30 s).
    pub fn set_acl(&self, acl_lines: &[String]) {
        let mut acl = acl_lines.join("\n");
        acl.push('\n');
        fs::write(self.dir.join("global-acl"), acl).unwrap();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        stop(&mut self.child);
        release_dir(&mut self.tmp);
    }
}

// ---------------------------------------------------------------------------------------------
// IMAP client (python3 imaplib)

/// Logs in as `user` and runs the Python `script` (see tests/it/imap_client.py for the names in
/// scope: M, q, out, list_mailboxes, fetch_all). Returns stdout, or Err with the stderr (e.g. a
/// failed LOGIN raises `imaplib.IMAP4.error`). Limited to 30 s.
pub fn imap_try(port: u16, user: &str, pass: &str, script: &str) -> Result<String, String> {
    let mut cmd = Command::new(PYTHON);
    cmd.arg("-c")
        .arg(IMAP_CLIENT_PY)
        .arg(port.to_string())
        .arg(user)
        .arg(pass)
        .arg(script);
    let (st, out, err) = run_with_timeout(&mut cmd, Duration::from_secs(30))?;
    if st.success() {
        Ok(String::from_utf8_lossy(&out).into_owned())
    } else {
        Err(format!(
            "imap script failed ({st}) for {user}:\n{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        ))
    }
}

/// `imap_try`, panicking on failure.
pub fn imap(port: u16, user: &str, pass: &str, script: &str) -> String {
    imap_try(port, user, pass, script).unwrap_or_else(|e| panic!("{e}"))
}

/// LIST "" "*": (flags, name) per mailbox, e.g. ("\\Noselect \\HasChildren", "Tickets").
pub fn imap_list_full(port: u16, user: &str, pass: &str) -> Vec<(String, String)> {
    imap(
        port,
        user,
        pass,
        "for f, n in list_mailboxes('*'): out(f + '\\t' + n)",
    )
    .lines()
    .map(|l| {
        let (f, n) = l.split_once('\t').expect("flags\\tname");
        (f.to_owned(), n.to_owned())
    })
    .collect()
}

/// LIST "" "*": the mailbox names (modified UTF-7, as the server sends them).
pub fn imap_list(port: u16, user: &str, pass: &str) -> Vec<String> {
    imap_list_full(port, user, pass)
        .into_iter()
        .map(|(_, n)| n)
        .collect()
}

/// The raw bytes of every message in `mailbox` (EXAMINE + UID FETCH BODY.PEEK[], in UID order).
/// Note: Dovecot sends CRLF line ends; a Maildir file stored with bare LF comes back with CRLF.
pub fn imap_fetch_all(port: u16, user: &str, pass: &str, mailbox: &str) -> Vec<Vec<u8>> {
    let script = format!("for uid, body in fetch_all({mailbox:?}): out(body.hex())");
    imap(port, user, pass, &script)
        .lines()
        .map(hex_decode)
        .collect()
}

/// Whether SELECT of `mailbox` answers OK (a mailbox without rights answers NO "doesn't exist").
pub fn imap_select_ok(port: u16, user: &str, pass: &str, mailbox: &str) -> bool {
    let script = format!("typ, _ = M._simple_command('SELECT', q({mailbox:?})); out(typ)");
    imap(port, user, pass, &script).trim() == "OK"
}

// ---------------------------------------------------------------------------------------------
// SMTP sink (aiosmtpd, SERVICES.md section 4)

/// Receives the daemon's outgoing mail on 127.0.0.1:`port`; each message becomes `dir/<ns>.eml`
/// (raw bytes, CRLF kept) and `dir/<ns>.json` (envelope: mail_from, rcpt_tos, mail_options, helo),
/// written before the `250`. RCPT `reject*@...` gets 550, `tempfail*@...` gets 451.
pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
    tmp: Option<TempDir>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        SmtpSink::start_at(None)
    }

    /// A sink on `port` (e.g. where a stopped one was), or on a free port.
    pub fn start_at(fixed: Option<u16>) -> SmtpSink {
        SmtpSink::start_with(fixed, Duration::ZERO)
    }

    /// A sink that answers each mail's data only after `delay` (a slow relay).
    pub fn start_slow(delay: Duration) -> SmtpSink {
        SmtpSink::start_with(None, delay)
    }

    fn start_with(fixed: Option<u16>, delay: Duration) -> SmtpSink {
        require(PYTHON);
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let tmp = short_tempdir("pdsmtp-");
            let dir = tmp.path().join("out");
            let port = fixed.unwrap_or_else(free_port);
            let log = tmp.path().join("sink.log");
            let mut child = Command::new(PYTHON)
                .arg("-c")
                .arg(SMTP_SINK_PY)
                .args(["127.0.0.1", &port.to_string(), dir.to_str().unwrap()])
                .env("POSTDESK_SINK_DELAY", delay.as_secs_f64().to_string())
                .stdin(Stdio::null())
                .stdout(log_file(&log))
                .stderr(Stdio::from(
                    fs::OpenOptions::new().append(true).open(&log).unwrap(),
                ))
                .spawn()
                .expect("spawn python3 smtp sink");
            match wait_ready(&mut child, Duration::from_secs(10), || {
                greeting_starts_with(port, "220", b"QUIT\r\n")
            }) {
                Ok(_) => {
                    return SmtpSink {
                        port,
                        dir,
                        child,
                        tmp: Some(tmp),
                    }
                }
                Err(NotReady::Exited(st)) => {
                    last_err = format!("smtp sink exited with {st}:\n{}", tail(&log, 20));
                    if last_err.contains("No module named 'aiosmtpd'") {
                        last_err += &format!("\n{INSTALL_HINT}");
                        break;
                    }
                }
                Err(NotReady::Timeout) => {
                    stop(&mut child);
                    last_err = format!("smtp sink gave no 220 within 10 s:\n{}", tail(&log, 20));
                    break;
                }
            }
        }
        panic!("SMTP sink did not start: {last_err}");
    }

    /// Every message received so far, oldest first: (raw bytes, envelope JSON text).
    pub fn messages(&self) -> Vec<(Vec<u8>, String)> {
        sink_messages(&self.dir)
    }

    /// Waits until at least `n` messages arrived (the daemon may send asynchronously); panics after `timeout`.
    pub fn wait_messages(&self, n: usize, timeout: Duration) -> Vec<(Vec<u8>, String)> {
        let t0 = Instant::now();
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            if t0.elapsed() > timeout {
                panic!(
                    "SMTP sink got {} message(s), expected {n} within {timeout:?}",
                    m.len()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// What an smtp_sink.py wrote into `dir`, oldest first: (raw bytes, envelope JSON text).
pub fn sink_messages(dir: &Path) -> Vec<(Vec<u8>, String)> {
    let mut jsons: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    jsons.sort();
    jsons
        .into_iter()
        .map(|j| {
            (
                fs::read(j.with_extension("eml")).unwrap(),
                fs::read_to_string(&j).unwrap(),
            )
        })
        .collect()
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        stop(&mut self.child);
        release_dir(&mut self.tmp);
    }
}

// ---------------------------------------------------------------------------------------------
// spamd (SERVICES.md section 2)

/// SpamAssassin's spamd on 127.0.0.1:`port`, local tests only (no network, no Bayes).
pub struct Spamd {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
    tmp: Option<TempDir>,
}

impl Spamd {
    pub fn start() -> Spamd {
        Spamd::start_at(None)
    }

    /// spamd on `port` (where a stopped one was), or on a free port. TELL is allowed.
    pub fn start_at(fixed: Option<u16>) -> Spamd {
        let spamd = tool("spamd");
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let tmp = short_tempdir("pdspam-");
            let d = tmp.path().to_owned();
            let port = fixed.unwrap_or_else(free_port);
            let home = d.join("sahome");
            fs::create_dir(&home).unwrap();
            std::os::unix::fs::chown(&home, Some(MAIL_UID), Some(MAIL_UID)).unwrap();
            let log = d.join("spamd.log");
            let mut child = Command::new(&spamd)
                .arg(format!("--listen=127.0.0.1:{port}"))
                .args([
                    "--local",
                    "--nouser-config",
                    "--username=nobody",
                    "--max-children=2",
                    "--min-children=1",
                    "--allow-tell",
                ])
                .arg(format!("--helper-home-dir={}", home.display()))
                .arg("--syslog=stderr")
                .arg(format!("--pidfile={}", d.join("spamd.pid").display()))
                .args(["--cf=use_bayes 0", "--cf=skip_rbl_checks 1"])
                .stdin(Stdio::null())
                .stdout(log_file(&d.join("spamd.out")))
                .stderr(log_file(&log))
                .spawn()
                .expect("spawn spamd");
            let ping = || {
                exchange(port, b"PING SPAMC/1.5\r\n\r\n", false)
                    .is_some_and(|r| String::from_utf8_lossy(&r).contains("PONG"))
            };
            match wait_ready(&mut child, Duration::from_secs(30), ping) {
                Ok(_) => {
                    return Spamd {
                        port,
                        dir: d,
                        child,
                        tmp: Some(tmp),
                    }
                }
                Err(NotReady::Exited(st)) => {
                    last_err = format!("spamd exited with {st}:\n{}", tail(&log, 20));
                    if !last_err.contains("in use") {
                        break;
                    }
                }
                Err(NotReady::Timeout) => {
                    stop(&mut child);
                    last_err = format!("spamd gave no PONG within 30 s:\n{}", tail(&log, 20));
                    break;
                }
            }
        }
        panic!("spamd did not start: {last_err}");
    }

    /// CHECK: the raw reply, e.g. "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n\r\n".
    pub fn check(&self, msg: &[u8]) -> String {
        let mut req = format!(
            "CHECK SPAMC/1.5\r\nContent-length: {}\r\nUser: nobody\r\n\r\n",
            msg.len()
        )
        .into_bytes();
        req.extend_from_slice(msg);
        let r = exchange(self.port, &req, false).expect("spamd CHECK");
        String::from_utf8_lossy(&r).into_owned()
    }
}

impl Drop for Spamd {
    fn drop(&mut self) {
        stop(&mut self.child);
        release_dir(&mut self.tmp);
    }
}

// ---------------------------------------------------------------------------------------------
// clamd (SERVICES.md section 3)

/// clamd on 127.0.0.1:`port` with a local two-signature EICAR database (no freshclam, no internet).
/// EICAR is reported as `stream: Test.EICAR.NDB.UNOFFICIAL FOUND`; StreamMaxLength is 1M.
pub struct Clamd {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
    tmp: Option<TempDir>,
}

/// MD5 of `EICAR`, for the .hdb signature (std has no MD5).
const EICAR_MD5: &str = "44d88612fea8a8f36de82e1278abb02f";

impl Clamd {
    pub fn start() -> Clamd {
        let clamd = tool("clamd");
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let tmp = short_tempdir("pdclam-");
            let d = tmp.path().to_owned();
            let port = free_port();
            let db = d.join("db");
            fs::create_dir(&db).unwrap();
            fs::write(
                db.join("test.hdb"),
                format!("{}:{}:Test.EICAR.HDB\n", EICAR_MD5, EICAR.len()),
            )
            .unwrap();
            let hex: String = EICAR[..40].iter().map(|b| format!("{b:02x}")).collect();
            fs::write(db.join("test.ndb"), format!("Test.EICAR.NDB:0:*:{hex}\n")).unwrap();
            let conf = d.join("clamd.conf");
            fs::write(
                &conf,
                format!(
                    "Foreground yes\nDatabaseDirectory {db}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nPidFile {d}/clamd.pid\n\
                     LogFile {d}/clamd.log\nLogTime yes\nMaxThreads 2\nStreamMaxLength 1M\n",
                    db = db.display(),
                    d = d.display()
                ),
            )
            .unwrap();
            let mut child = Command::new(&clamd)
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(log_file(&d.join("clamd.out")))
                .stderr(log_file(&d.join("clamd.err")))
                .spawn()
                .expect("spawn clamd");
            let ping = || exchange(port, b"zPING\0", false).is_some_and(|r| r.starts_with(b"PONG"));
            let logs = || {
                format!(
                    "{}\n{}",
                    tail(&d.join("clamd.err"), 10),
                    tail(&d.join("clamd.log"), 20)
                )
            };
            match wait_ready(&mut child, Duration::from_secs(30), ping) {
                Ok(_) => {
                    return Clamd {
                        port,
                        dir: d,
                        child,
                        tmp: Some(tmp),
                    }
                }
                Err(NotReady::Exited(st)) => {
                    last_err = format!("clamd exited with {st}:\n{}", logs());
                    if !last_err.contains("in use") {
                        break;
                    }
                }
                Err(NotReady::Timeout) => {
                    stop(&mut child);
                    last_err = format!("clamd gave no PONG within 30 s:\n{}", logs());
                    break;
                }
            }
        }
        panic!("clamd did not start: {last_err}");
    }

    /// INSTREAM scan: the reply without its trailing NUL, e.g. "stream: OK" or
    /// "stream: Test.EICAR.NDB.UNOFFICIAL FOUND" or "INSTREAM size limit exceeded. ERROR".
    pub fn instream(&self, data: &[u8]) -> String {
        let mut req = b"zINSTREAM\0".to_vec();
        for c in data.chunks(64 * 1024) {
            req.extend_from_slice(&(c.len() as u32).to_be_bytes());
            req.extend_from_slice(c);
        }
        req.extend_from_slice(&[0, 0, 0, 0]);
        let r = exchange(self.port, &req, false).expect("clamd INSTREAM");
        String::from_utf8_lossy(&r)
            .trim_end_matches('\0')
            .to_owned()
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        stop(&mut self.child);
        release_dir(&mut self.tmp);
    }
}
