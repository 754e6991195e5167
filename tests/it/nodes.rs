//! Two nodes on one store and one PostgreSQL index: daemons `a` and `b` share a data folder (as
//! machines share a file system) and a database. Mail from two Maildir sources both watch and
//! from `deliver` is filed once while `a` is killed again and again; a dead node's outbox lease
//! and claimed Maildir mail go to the survivor.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{drop_mail, files_in, mail, Desk, BIN};
use crate::services::SmtpSink;

/// `[general] node-lease-seconds` when a test leaves it out.
const DEFAULT_LEASE: u64 = 10;

/// Two nodes' configurations on one data folder and one database (PostgreSQL, whether or not
/// the suite runs with `POSTDESK_TEST_INDEX=postgres`), sending through SMTP on `port`.
struct Nodes {
    desk: Desk,
    /// Node b's configuration file (node a's is `desk.config`).
    config_b: PathBuf,
    sources: [PathBuf; 2],
}

impl Nodes {
    fn new(port: u16, lease: u64) -> Nodes {
        Nodes::on(port, lease, None, "")
    }

    /// Nodes whose index is on `server` (a private one a test stops), else on the suite's;
    /// `extra` adds to their configuration. A lease of DEFAULT_LEASE is left to the default.
    fn on(port: u16, lease: u64, server: Option<&crate::postgres::Server>, extra: &str) -> Nodes {
        let rest = format!(
            "[intake]\nrescan-seconds = 1\n\
             [[source]]\nname = \"in1\"\nmaildir = \"in1\"\n\
             [[source]]\nname = \"in2\"\nmaildir = \"in2\"\n\
             [outgoing]\ntransport = \"smtp\"\n[outgoing.smtp]\nport = {port}\ntimeout-seconds = 5\n\
             [autoresponse]\nagent-notify = false\nper-recipient-per-day = 1000\n\
             circuit-breaker-per-minute = 1000000\n{extra}\n"
        );
        let general = match lease {
            DEFAULT_LEASE => "node = \"a\"\n".to_string(),
            _ => format!("node = \"a\"\nnode-lease-seconds = {lease}\n"),
        };
        let mut desk = Desk::with(&general, &rest);
        let mut text = fs::read_to_string(&desk.config).unwrap();
        if server.is_some() || !crate::postgres::enabled() {
            // The desk's own index (SQLite, or the suite's server) makes way for this one.
            if let Some(url) = &desk.pg_url {
                text = text.replace(&crate::postgres::server().index_table(url), "");
            }
            let server = server.unwrap_or_else(|| crate::postgres::server());
            let url = server.database();
            text.push_str(&server.index_table(&url));
            desk.pg_url = Some(url);
            fs::write(&desk.config, &text).unwrap();
        }
        let config_b = desk.path().join("postdesk-b.toml");
        fs::write(&config_b, text.replacen("node = \"a\"", "node = \"b\"", 1)).unwrap();
        let sources = [desk.maildir("in1"), desk.maildir("in2")];
        Nodes {
            desk,
            config_b,
            sources,
        }
    }

    fn config(&self, node: char) -> &Path {
        match node {
            'a' => &self.desk.config,
            _ => &self.config_b,
        }
    }

    fn cmd(&self, node: char) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(self.config(node))
            .env("PD_IMAP_PW", "pw")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Node `node`'s daemon (its log in `<node>.log` beside the configuration).
    fn daemon(&self, node: char) -> Child {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.desk.path().join(format!("{node}.log")))
            .unwrap();
        self.cmd(node)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a daemon")
    }

    /// `deliver` on node `node`; its exit code.
    fn deliver(&self, node: char, bytes: &[u8]) -> Option<i32> {
        use std::io::Write;
        let mut child = self
            .cmd(node)
            .arg("deliver")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        child.wait().unwrap().code()
    }

    /// Messages still at the sources: in `new/` or claimed by a node.
    fn at_sources(&self) -> usize {
        self.sources
            .iter()
            .map(|s| {
                let claimed: usize = fs::read_dir(s.join("postdesk-claims"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|d| files_in(&d.path()).len())
                    .sum();
                files_in(&s.join("new")).len() + claimed
            })
            .sum()
    }

    /// Incoming articles with a test Message-ID in the index.
    fn filed(&self) -> i64 {
        self.desk
            .index_count("SELECT count(*) FROM articles WHERE message_id LIKE '%@nodes.test%'")
    }

    fn queued(&self) -> i64 {
        self.desk
            .index_count("SELECT count(*) FROM outbox WHERE state = 'queued'")
    }
}

fn customer_mail(i: usize) -> Vec<u8> {
    mail(
        &format!("Customer {i} <c{i}@example.org>"),
        "support@company.example",
        &format!("Question {i}"),
        &format!("m{i}@nodes.test"),
        "",
        &format!("Message number {i}."),
    )
}

fn stop(mut child: Child) {
    // SAFETY: sending SIGTERM to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
}

fn kill(child: &mut Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// Waits until `done` holds, up to `limit`; panics with `what` otherwise.
fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

/// Message-IDs of the test's mail in the stored articles (the tree and the archive), counted.
fn ids_in_tree(data: &Path) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut dirs = vec![data.join("store"), data.join("archive")];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .parent()
                .is_some_and(|d| d.ends_with("new") || d.ends_with("cur"))
            {
                let raw = fs::read(&p).unwrap();
                let text = String::from_utf8_lossy(&raw);
                let head = text.split("\r\n\r\n").next().unwrap_or("");
                if head.lines().any(|l| l.starts_with("Auto-Submitted:")) {
                    continue; // our own autoresponse, stored in the ticket
                }
                for l in head.lines() {
                    if let Some(v) = l
                        .strip_prefix("Message-ID:")
                        .or(l.strip_prefix("Message-Id:"))
                    {
                        if v.contains("@nodes.test") {
                            *out.entry(v.trim().to_string()).or_default() += 1;
                        }
                    }
                }
            }
        }
    }
    out
}

/// The autoresponses the sink received per customer address, and their Message-IDs.
fn answers(sink: &SmtpSink) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (raw, env) in sink.messages() {
        let env: serde_json::Value = serde_json::from_str(&env).unwrap();
        let text = String::from_utf8_lossy(&raw);
        let id = crate::outgoing::header(&text, "Message-ID").unwrap_or_default();
        for r in env["rcpt_tos"].as_array().unwrap() {
            out.entry(r.as_str().unwrap().to_string())
                .or_default()
                .push(id.clone());
        }
    }
    out
}

#[test]
fn two_nodes_file_every_message_once_while_one_is_killed_again_and_again() {
    // POSTDESK_NODES_MESSAGES sets the number of messages (default 1,000).
    let total: usize = std::env::var("POSTDESK_NODES_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let started = Instant::now();
    let sink = SmtpSink::start();
    let nodes = Nodes::new(sink.port, 5);
    let mut a = nodes.daemon('a');
    let b = nodes.daemon('b');
    // The mail arrives over a minute: two fifths into each Maildir, one fifth through
    // `deliver` (on either node), while node a is killed at random moments and started again.
    let feeder = std::thread::scope(|s| {
        let feed = s.spawn(|| {
            for i in 0..total {
                let m = customer_mail(i);
                match i % 5 {
                    0 | 1 => {
                        drop_mail(&nodes.sources[0], &m);
                    }
                    2 | 3 => {
                        drop_mail(&nodes.sources[1], &m);
                    }
                    _ => {
                        let node = if i % 10 == 4 { 'a' } else { 'b' };
                        assert_eq!(nodes.deliver(node, &m), Some(0), "deliver {i}");
                    }
                }
                if i % 50 == 49 {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        let mut kills = 0;
        let mut rng_state = std::process::id() as u64 | 1;
        let mut rand = move |n: u64| {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            rng_state % n
        };
        // Six kills a thousand messages, while the mail arrives.
        let most = (6 * total / 1000).max(6);
        while kills < 3 || !feed.is_finished() {
            std::thread::sleep(Duration::from_millis(300 + rand(1200)));
            if kills < most {
                kill(&mut a);
                kills += 1;
                std::thread::sleep(Duration::from_millis(rand(500)));
                a = nodes.daemon('a');
            }
        }
        feed.join().unwrap();
        (kills, started.elapsed())
    });
    let (feeder, fed) = feeder;
    assert!(feeder >= 3, "node a was killed {feeder} times");
    wait_for(
        Duration::from_secs(240.max(total as u64 / 10)),
        "every message filed and sent",
        || nodes.at_sources() == 0 && nodes.filed() >= total as i64 && nodes.queued() == 0,
    );
    stop(a);
    stop(b);

    // Each Message-ID once in the index and once in the tree.
    let rows = nodes.desk.index_rows(
        "SELECT message_id, count(*) FROM articles WHERE message_id LIKE '%@nodes.test%'
         GROUP BY message_id HAVING count(*) > 1",
    );
    assert!(rows.is_empty(), "filed twice in the index: {rows:?}");
    assert_eq!(nodes.filed(), total as i64);
    let tree = ids_in_tree(&nodes.desk.data);
    assert_eq!(tree.len(), total, "Message-IDs in the tree");
    let twice: Vec<_> = tree.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "in the tree twice: {twice:?}");
    // Ticket numbers unique: one ticket per message, no folder twice.
    let tickets = nodes
        .desk
        .index_rows("SELECT count(*), count(DISTINCT number) FROM tickets");
    assert_eq!(tickets[0][0], tickets[0][1]);
    assert_eq!(tickets[0][0].as_i64(), Some(total as i64));
    nodes.desk.fsck_clean();
    // Every autoresponse reached the sink; one in flight at a kill may have gone twice, with
    // the same Message-ID.
    let got = answers(&sink);
    let mut resent = 0;
    for i in 0..total {
        let ids = got
            .get(&format!("c{i}@example.org"))
            .unwrap_or_else(|| panic!("no autoresponse to c{i}"));
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "c{i}: different mails {ids:?}"
        );
        resent += ids.len() - 1;
    }
    assert!(resent <= 3 * 256, "{resent} resent");
    assert_eq!(nodes.at_sources(), 0, "nothing left claimed");
    eprintln!(
        "two nodes: {total} messages, node a killed {feeder} times, {resent} autoresponse(s) sent twice; fed in {:.0}s, {:.0}s in all",
        fed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn two_nodes_draining_once_at_the_same_time_take_nothing_from_each_other() {
    // `run --once` on both nodes at once, each draining both Maildirs: each is alive to the
    // other while it runs, so neither takes over what the other claimed and is filing.
    const TOTAL: usize = 600;
    let sink = SmtpSink::start();
    let nodes = Nodes::new(sink.port, DEFAULT_LEASE);
    for i in 0..TOTAL {
        drop_mail(&nodes.sources[i % 2], &customer_mail(i));
    }
    let once = |node| {
        nodes
            .cmd(node)
            .args(["run", "--once"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let runs = [once('a'), once('b')];
    let mut processed = 0;
    for (node, run) in ['a', 'b'].into_iter().zip(runs) {
        let out = run.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "node {node}: {text}");
        let line = text
            .lines()
            .find(|l| l.starts_with("processed "))
            .unwrap_or_else(|| panic!("node {node}: {text}"));
        let count = |what: &str| -> usize {
            line.split(", ")
                .find_map(|f| f.strip_prefix(what))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{what} in {line}"))
        };
        assert_eq!(count("duplicates "), 0, "node {node} filed again: {line}");
        processed += count("processed ");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("dead node"), "node {node}: {err}");
    }
    assert_eq!(processed, TOTAL);
    assert_eq!(nodes.filed(), TOTAL as i64);
    assert_eq!(nodes.at_sources(), 0);
    nodes.desk.fsck_clean();
}

#[test]
fn the_survivor_takes_over_the_outbox_and_a_dead_nodes_claimed_mail() {
    let sink = SmtpSink::start();
    let lease = DEFAULT_LEASE;
    let nodes = Nodes::new(sink.port, lease);
    let mut a = nodes.daemon('a');
    // Node a files and sends alone first: it holds the outbox lease.
    drop_mail(&nodes.sources[0], &customer_mail(0));
    wait_for(Duration::from_secs(30), "the first autoresponse", || {
        answers(&sink).contains_key("c0@example.org")
    });
    let holder = nodes
        .desk
        .index_rows("SELECT node FROM leases WHERE name = 'outbox'");
    assert_eq!(holder[0][0], "a");
    let b = nodes.daemon('b');
    wait_for(Duration::from_secs(30), "node b's heartbeat", || {
        nodes
            .desk
            .index_count("SELECT count(*) FROM nodes WHERE name = 'b'")
            == 1
    });

    kill(&mut a);
    let killed = Instant::now();
    // What a had claimed when it died: mail it had not filed yet, and one it had filed but not
    // let go of (a copy of message 0 under a new file name).
    let claims = nodes.sources[1].join("postdesk-claims/a");
    fs::create_dir_all(&claims).unwrap();
    for i in 1..=20 {
        fs::write(
            claims.join(format!("1700000000.M{i}P1Q1.a,S=1")),
            customer_mail(i),
        )
        .unwrap();
    }
    fs::write(claims.join("1700000000.M99P1Q1.a,S=1"), customer_mail(0)).unwrap();
    // New mail: b files it at once; its autoresponse waits for the outbox lease.
    drop_mail(&nodes.sources[0], &customer_mail(21));
    // Both measured from the kill.
    let (mut sent, mut filed) = (None, None);
    while sent.is_none() || filed.is_none() {
        assert!(
            killed.elapsed() < Duration::from_secs(lease + 20),
            "node b has not taken over: sent {sent:?}, filed {filed:?}"
        );
        if sent.is_none() && answers(&sink).contains_key("c21@example.org") {
            sent = Some(killed.elapsed());
        }
        if filed.is_none() && nodes.filed() == 22 {
            filed = Some(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (sent, filed) = (sent.unwrap(), filed.unwrap());
    let a_dead = nodes.desk.index_count(&format!(
        "SELECT count(*) FROM nodes WHERE name = 'a' AND heartbeat < {}",
        unix_now() - lease as i64
    ));
    assert_eq!(a_dead, 1, "node a counts as dead");
    wait_for(Duration::from_secs(20), "every autoresponse sent", || {
        nodes.queued() == 0
    });
    let holder = nodes
        .desk
        .index_rows("SELECT node FROM leases WHERE name = 'outbox'");
    assert_eq!(holder[0][0], "b");
    // Message 0, claimed again by the dead node after it was filed, is not filed twice.
    let twice = nodes
        .desk
        .index_count("SELECT count(*) FROM articles WHERE message_id LIKE '%m0@nodes.test%'");
    assert_eq!(twice, 1);
    assert!(files_in(&claims).is_empty(), "{:?}", files_in(&claims));
    let status = String::from_utf8(nodes.cmd('b').arg("status").output().unwrap().stdout).unwrap();
    assert!(status.contains("node a: dead"), "{status}");
    assert!(status.contains("node b (this one): alive"), "{status}");
    // Each node reports its own daemon.
    assert!(status.contains("daemon: running"), "{status}");
    let status_a = nodes.cmd('a').arg("status").output().unwrap().stdout;
    let status_a = String::from_utf8(status_a).unwrap();
    assert!(status_a.contains("daemon: not running"), "{status_a}");
    assert!(status_a.contains("node a (this one): dead"), "{status_a}");
    stop(b);
    nodes.desk.fsck_clean();
    eprintln!(
        "failover: node a killed; node b sent after {:.1}s and filed a's claimed mail after {:.1}s (lease {lease}s)",
        sent.as_secs_f64(),
        filed.as_secs_f64()
    );
}

#[test]
fn a_send_group_slower_than_the_lease_sends_each_mail_once() {
    // A relay that takes 500 ms a mail: a group of 256 autoresponses, eight at a time, takes
    // some 16 s, twice the lease. The sender must keep its lease through the group; one that
    // let it run out would see the other node send the group's rest too. (The sender renews
    // its lease when less than two thirds of it are left, so a handover whose relay answers
    // later than that may still go out twice: a lease of 8 s leaves a loaded machine 5 s for
    // it, where 5 s left it 3.)
    const TOTAL: usize = 500;
    let sink = SmtpSink::start_slow(Duration::from_millis(500));
    let lease: u64 = 8;
    let nodes = Nodes::new(sink.port, lease);
    for i in 0..TOTAL {
        drop_mail(&nodes.sources[i % 2], &customer_mail(i));
    }
    let a = nodes.daemon('a');
    let b = nodes.daemon('b');
    let took = wait_for(
        Duration::from_secs(180),
        "every message filed and sent",
        || nodes.at_sources() == 0 && nodes.filed() >= TOTAL as i64 && nodes.queued() == 0,
    );
    stop(a);
    stop(b);
    let got = answers(&sink);
    let twice: Vec<_> = (0..TOTAL)
        .map(|i| format!("c{i}@example.org"))
        .map(|c| (got.get(&c).map_or(0, Vec::len), c))
        .filter(|(n, _)| *n != 1)
        .collect();
    assert!(
        twice.is_empty(),
        "{} customer(s) without exactly one autoresponse: {:?}",
        twice.len(),
        &twice[..twice.len().min(10)]
    );
    nodes.desk.fsck_clean();
    eprintln!(
        "slow relay: {TOTAL} autoresponses sent once each in {:.1}s (lease {lease}s)",
        took.as_secs_f64()
    );
}

#[test]
fn a_node_paused_longer_than_its_lease_sends_no_more_of_its_group() {
    // Node a sends a long group to a slow relay and is paused (a stalled machine) until node b
    // took the lease over; when it goes on, it stops before its next mail. Only what a had in
    // flight at the pause, one handover, may reach the relay twice.
    const TOTAL: usize = 300;
    let sink = SmtpSink::start_slow(Duration::from_millis(300));
    let lease: u64 = 5;
    let nodes = Nodes::new(sink.port, lease);
    for i in 0..TOTAL {
        drop_mail(&nodes.sources[i % 2], &customer_mail(i));
    }
    let a = nodes.daemon('a');
    wait_for(Duration::from_secs(60), "node a filing and sending", || {
        sink.messages().len() >= 20 && nodes.filed() >= TOTAL as i64
    });
    let b = nodes.daemon('b');
    wait_for(Duration::from_secs(30), "node b's heartbeat", || {
        nodes
            .desk
            .index_count("SELECT count(*) FROM nodes WHERE name = 'b'")
            == 1
    });
    // SAFETY: stopping and continuing our own child.
    unsafe { libc::kill(a.id() as i32, libc::SIGSTOP) };
    // The lease runs out `lease` seconds after a's last renewal and b's sender asks every few
    // seconds; the rest is room for a loaded machine (15 s in all was seen to be too short).
    wait_for(
        Duration::from_secs(lease + 30),
        "node b taking the lease",
        || {
            nodes
                .desk
                .index_rows("SELECT node FROM leases WHERE name = 'outbox'")
                .first()
                .is_some_and(|r| r[0] == "b")
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    unsafe { libc::kill(a.id() as i32, libc::SIGCONT) };
    wait_for(Duration::from_secs(120), "every autoresponse sent", || {
        nodes.queued() == 0
    });
    stop(a);
    stop(b);
    let got = answers(&sink);
    let missing = (0..TOTAL)
        .filter(|i| !got.contains_key(&format!("c{i}@example.org")))
        .count();
    assert_eq!(missing, 0, "customers without an autoresponse");
    let twice = got.values().filter(|ids| ids.len() > 1).count();
    assert!(
        twice <= 8,
        "{twice} autoresponses sent twice: node a sent on after the lease moved"
    );
    nodes.desk.fsck_clean();
    eprintln!("paused node: {twice} autoresponse(s) sent twice (in flight at the pause)");
}

#[test]
fn both_nodes_wait_while_postgresql_is_away_and_go_on_when_it_is_back() {
    const TOTAL: usize = 300;
    let sink = SmtpSink::start();
    let server = crate::postgres::start();
    let nodes = Nodes::on(sink.port, 30, Some(&server), "");
    // The test servers commit asynchronously (for speed), so a kill loses the last commits they
    // acknowledged, which no production server does: this database commits as PostgreSQL does
    // by default.
    let url = nodes.desk.pg_url.clone().unwrap();
    let db = url.rsplit('/').next().unwrap();
    server.execute(
        &url,
        &format!("ALTER DATABASE {db} SET synchronous_commit = on"),
    );
    let mut a = nodes.daemon('a');
    let mut b = nodes.daemon('b');
    let drop_range = |r: std::ops::Range<usize>| {
        for i in r {
            drop_mail(&nodes.sources[i % 2], &customer_mail(i));
            if i % 20 == 19 {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    drop_range(0..150);
    wait_for(Duration::from_secs(60), "some mail filed", || {
        nodes.filed() >= 50
    });
    server.kill();
    let down = Instant::now();
    drop_range(150..TOTAL);
    // Both daemons live on and say why nothing is filed.
    std::thread::sleep(Duration::from_secs(3));
    for (node, child) in [('a', &mut a), ('b', &mut b)] {
        assert!(child.try_wait().unwrap().is_none(), "node {node} ended");
        let out = nodes.cmd(node).arg("status").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("index: cannot be read"), "{text}");
    }
    assert!(nodes.at_sources() > 0, "mail waits at the sources");
    let outage = down.elapsed();
    server.run();
    let back = Instant::now();
    let resumed = wait_for(
        Duration::from_secs(120),
        "every message filed and sent",
        || nodes.at_sources() == 0 && nodes.filed() >= TOTAL as i64 && nodes.queued() == 0,
    );
    let _ = back;
    stop(a);
    stop(b);
    let rows = nodes.desk.index_rows(
        "SELECT message_id, count(*) FROM articles WHERE message_id LIKE '%@nodes.test%'
         GROUP BY message_id HAVING count(*) > 1",
    );
    assert!(rows.is_empty(), "filed twice in the index: {rows:?}");
    assert_eq!(nodes.filed(), TOTAL as i64);
    let tree = ids_in_tree(&nodes.desk.data);
    assert_eq!(tree.len(), TOTAL, "Message-IDs in the tree");
    assert!(
        tree.values().all(|n| *n == 1),
        "a message in the tree twice"
    );
    let staged = staged_names(&nodes.desk.data);
    assert!(staged.is_empty(), "nothing half filed is left: {staged:?}");
    nodes.desk.fsck_clean();
    let got = answers(&sink);
    assert!((0..TOTAL).all(|i| got.contains_key(&format!("c{i}@example.org"))));
    eprintln!(
        "PostgreSQL away {:.1}s: both nodes waited; everything filed and sent {:.1}s after it was back",
        outage.as_secs_f64(),
        resumed.as_secs_f64()
    );
}

/// Appends customer mails `range` to the INBOX of user desk on Dovecot at `port`.
fn append_imap(port: u16, range: std::ops::Range<usize>) {
    let script = format!(
        "for i in range({}, {}):\n    \
         m = ('From: c%d@example.org\\r\\nTo: support@company.example\\r\\nSubject: Question %d\\r\\n'\n         \
         'Message-ID: <m%d@nodes.test>\\r\\n\\r\\nMessage number %d.\\r\\n') % (i, i, i, i)\n    \
         typ, _ = M.append('INBOX', None, None, m.encode())\n    assert typ == 'OK'\nout('ok')",
        range.start, range.end
    );
    crate::services::imap_try(port, "desk", "pw", &script).expect("append");
}

#[test]
fn an_imap_folder_is_read_by_one_node_and_by_the_survivor_after_a_kill() {
    crate::services::require("dovecot");
    let sink = SmtpSink::start();
    let store = tempfile::tempdir().unwrap();
    let dv = crate::services::Dovecot::start(store.path(), &[("desk", "pw")], &[]);
    let imap = format!(
        "[[imap]]\nname = \"mbox\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         user = \"desk\"\npassword-env = \"PD_IMAP_PW\"\npoll-seconds = 1\ntimeout-seconds = 5\n",
        dv.imap_port
    );
    let lease: u64 = 5;
    let nodes = Nodes::on(sink.port, lease, None, &imap);
    let holder = || {
        nodes
            .desk
            .index_rows("SELECT node FROM leases WHERE name = 'imap:mbox:INBOX'")
            .first()
            .map(|r| r[0].as_str().unwrap_or_default().to_string())
    };
    let mut a = nodes.daemon('a');
    append_imap(dv.imap_port, 0..100);
    wait_for(Duration::from_secs(60), "node a filing", || {
        nodes.filed() >= 100
    });
    assert_eq!(holder().as_deref(), Some("a"));
    let b = nodes.daemon('b');
    append_imap(dv.imap_port, 100..200);
    wait_for(Duration::from_secs(60), "the second hundred filed", || {
        nodes.filed() >= 200
    });
    assert_eq!(
        holder().as_deref(),
        Some("a"),
        "b reads nothing while a holds the folder"
    );
    kill(&mut a);
    let killed = Instant::now();
    append_imap(dv.imap_port, 200..300);
    wait_for(
        Duration::from_secs(lease + 30),
        "node b reading the folder",
        || nodes.filed() >= 300,
    );
    let taken_over = killed.elapsed();
    assert_eq!(holder().as_deref(), Some("b"));
    // What a had committed and not yet placed when it died, b places (and removes the rest).
    wait_for(
        Duration::from_secs(lease + 20),
        "a's staging area recovered",
        || nodes.desk.staged_files() == 0,
    );
    stop(b);
    let rows = nodes.desk.index_rows(
        "SELECT count(*), count(DISTINCT message_id) FROM articles
         WHERE message_id LIKE '%@nodes.test%'",
    );
    assert_eq!(
        rows[0][0].as_i64(),
        Some(300),
        "each message once: {rows:?}"
    );
    assert_eq!(rows[0][1].as_i64(), Some(300));
    nodes.desk.fsck_clean();
    eprintln!(
        "IMAP: node a killed; node b filed what came after {:.1}s (lease {lease}s)",
        taken_over.as_secs_f64()
    );
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The files in the staging areas (not their locks), with each one's Message-ID line.
fn staged_names(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for area in fs::read_dir(data.join("staging")).unwrap().flatten() {
        for f in fs::read_dir(area.path()).into_iter().flatten().flatten() {
            if f.file_name() == ".lock" {
                continue;
            }
            let text = fs::read_to_string(f.path()).unwrap_or_default();
            let id = text
                .lines()
                .find(|l| l.starts_with("Message-ID:"))
                .unwrap_or("");
            out.push(format!("{}: {id}", f.path().display()));
        }
    }
    out
}
