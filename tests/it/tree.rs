//! The tree is the truth: state changes are visible in it, reindex rebuilds the same index from
//! it alone, and fsck notices when the two disagree.

use std::fs;

use crate::harness::{drop_mail, files_in, incoming, post, Desk};

fn snapshot(desk: &Desk) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for t in desk.tickets() {
        let mut show = desk.show(t["number"].as_str().unwrap());
        let mut hist = show["history"].as_array().unwrap().clone();
        hist.sort_by_key(|h| h.to_string());
        show["history"] = serde_json::Value::Array(hist);
        out.push(t);
        out.push(show);
    }
    out
}

fn populated() -> Desk {
    let desk = Desk::new();
    let md = desk.maildir("in");
    for i in 0..20 {
        let to = if i % 3 == 0 {
            "billing@company.example"
        } else {
            "support@company.example"
        };
        post(
            &md,
            &format!("c{i}@example.org"),
            to,
            &format!("Anfrage {i}"),
            &format!("t{i}@example.org"),
            "",
            "Text",
        );
    }
    for i in 0..10 {
        let refs = format!("In-Reply-To: <t{i}@example.org>\r\nReferences: <t{i}@example.org>\r\n");
        post(
            &md,
            &format!("c{i}@example.org"),
            "support@company.example",
            &format!("Re: Anfrage {i}"),
            &format!("r{i}@example.org"),
            &refs,
            "Mehr",
        );
    }
    // A stranger, garbage, and a duplicate.
    let refs = "In-Reply-To: <t1@example.org>\r\n";
    post(
        &md,
        "x@evil.example",
        "support@company.example",
        "Re: Anfrage 1",
        "e1@evil.example",
        refs,
        "y",
    );
    drop_mail(&md, b"\x00\x01\x02 not a mail");
    post(
        &md,
        "c2@example.org",
        "support@company.example",
        "Anfrage 2",
        "t2@example.org",
        "",
        "Text",
    );
    desk.drain(&md);
    desk
}

#[test]
fn state_changes_are_folder_renames() {
    let desk = populated();
    let t = desk.tickets();
    let n = t.iter().find(|t| t["queue"] == "Support").unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let store = desk.data.join("store");
    assert!(store.join(format!(".Support.{n}")).is_dir());
    let out = desk.ok(&["ticket", "close", &n]);
    assert!(!store.join(format!(".Support.{n}")).exists());
    assert!(!store.join(format!(".Support.Closed.{n}")).exists());
    let month = chrono_month();
    let archived = desk.data.join(format!("archive/Support/{month}/{n}"));
    assert!(
        archived.join("cur").is_dir(),
        "closed tickets go to the archive"
    );
    assert!(
        out.contains(&format!("now Archive/Support/{month}/{n}")),
        "{out}"
    );
    assert_eq!(
        desk.show(&n)["folder"],
        format!("Archive/Support/{month}/{n}")
    );
    desk.ok(&["ticket", "move", &n, "Billing"]);
    assert!(desk
        .data
        .join(format!("archive/Billing/{month}/{n}/cur"))
        .is_dir());
    assert!(!archived.exists());
    desk.ok(&["ticket", "reopen", &n]);
    let show = desk.show(&n);
    assert_eq!(
        (show["queue"].as_str(), show["state"].as_str()),
        (Some("Billing"), Some("open"))
    );
    assert!(store.join(format!(".Billing.{n}")).is_dir());
    for a in &incoming(&show) {
        assert!(
            fs::metadata(a["path"].as_str().unwrap()).is_ok(),
            "article path {a}"
        );
    }
    let hist = serde_json::to_string(&show["history"]).unwrap();
    for e in ["closed", "moved", "reopened"] {
        assert!(hist.contains(&format!("\"{e}\"")), "{e} in {hist}");
    }
    assert_eq!(
        desk.run(&["ticket", "close", "2016010110000019"])
            .status
            .code(),
        Some(65)
    );
    desk.fsck_clean();
}

#[test]
fn reindex_reproduces_the_index() {
    let desk = populated();
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    desk.ok(&["ticket", "close", &n]);
    let before = snapshot(&desk);
    desk.fsck_clean();
    let out = desk.ok(&["reindex"]);
    assert!(out.contains("reindexed: 21 tickets"), "{out}");
    assert_eq!(snapshot(&desk), before);
    // From nothing at all: delete the index.
    for f in files_in(&desk.data) {
        if f.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("index.sqlite")
        {
            fs::remove_file(f).unwrap();
        }
    }
    desk.ok(&["reindex"]);
    assert_eq!(snapshot(&desk), before);
    desk.fsck_clean();
    // Numbers drawn afterwards do not repeat.
    let md = desk.maildir("later");
    post(
        &md,
        "new@example.org",
        "support@company.example",
        "Neu",
        "n1@example.org",
        "",
        "x",
    );
    desk.drain(&md);
    let numbers: std::collections::HashSet<_> = desk
        .tickets()
        .iter()
        .map(|t| t["number"].to_string())
        .collect();
    assert_eq!(numbers.len(), 22);
}

#[test]
fn fsck_reports_differences() {
    let desk = populated();
    desk.fsck_clean();
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let show = desk.show(&n);
    let path = show["articles"][0]["path"].as_str().unwrap().to_string();
    let saved = fs::read(&path).unwrap();
    fs::remove_file(&path).unwrap();
    let out = desk.run(&["fsck"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("article"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    fs::write(&path, saved).unwrap();
    desk.fsck_clean();
    // A folder renamed behind postdesk's back.
    let store = desk.data.join("store");
    let dir = fs::read_dir(&store)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(&n))
        .unwrap()
        .path();
    fs::rename(&dir, store.join(format!(".Phone.{n}"))).unwrap();
    assert_eq!(desk.run(&["fsck"]).status.code(), Some(1));
}

#[test]
fn folders_moved_by_a_mail_client_are_adopted() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    post(
        &md,
        "kunde@example.org",
        "support@company.example",
        "Moved",
        "mv1@example.org",
        "",
        "x",
    );
    desk.drain(&md);
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let store = desk.data.join("store");
    let settle = || std::thread::sleep(std::time::Duration::from_millis(2100));
    // As Dovecot does for RENAME Tickets/Support/N Tickets/Support/Closed/N (Maildir++).
    fs::rename(
        store.join(format!(".Support.{n}")),
        store.join(format!(".Support.Closed.{n}")),
    )
    .unwrap();
    // Too fresh: not adopted yet (it could be postdesk's own rename in flight).
    desk.drain(&md);
    assert_eq!(desk.show(&n)["state"], "open");
    settle();
    let out = desk.drain(&md);
    assert!(
        out.contains(&format!("ticket {n} closed by an agent's mail client")),
        "{out}"
    );
    assert_eq!(desk.show(&n)["state"], "closed");
    // Out of the listed tree, into the archive.
    assert!(!store.join(format!(".Support.Closed.{n}")).exists());
    let archived = desk
        .data
        .join(format!("archive/Support/{}/{n}", chrono_month()));
    assert!(archived.join("cur").is_dir());
    desk.fsck_clean();
    desk.ok(&["ticket", "reopen", &n]);
    fs::rename(
        store.join(format!(".Support.{n}")),
        store.join(format!(".Billing.{n}")),
    )
    .unwrap();
    settle();
    desk.drain(&md);
    let t = desk.show(&n);
    assert_eq!(
        (t["queue"].as_str(), t["state"].as_str()),
        (Some("Billing"), Some("open"))
    );
    assert!(t["history"]
        .to_string()
        .contains("from Support to Billing by an agent's mail client"));
    // A name that is no configured queue is left alone.
    fs::rename(
        store.join(format!(".Billing.{n}")),
        store.join(format!(".Nowhere.{n}")),
    )
    .unwrap();
    settle();
    desk.drain(&md);
    assert_eq!(desk.show(&n)["queue"], "Billing");
    fs::rename(
        store.join(format!(".Nowhere.{n}")),
        store.join(format!(".Billing.{n}")),
    )
    .unwrap();
    desk.fsck_clean();
    let before = desk.show(&n);
    desk.ok(&["reindex"]);
    assert_eq!(desk.show(&n), before, "the event log carries the moves");
}

/// This month in UTC as the archive names it (`YYYY-MM`), from `date`.
pub fn chrono_month() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Every file under `dir`, depth first.
fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for p in files_in(dir) {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A ticket with a mail and what postdesk sent for it, and the paths of its article files in
/// the order `ticket show` lists them.
fn ticket_with_articles(desk: &Desk) -> (String, Vec<std::path::PathBuf>) {
    let md = desk.maildir("in");
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "Order",
        "o1@example.org",
        "",
        "Text",
    );
    desk.drain(&md);
    let number = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let mut files = Vec::new();
    walk(desk.path(), &mut files);
    let articles: Vec<_> = files
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&number))
        .filter(|p| {
            p.parent()
                .is_some_and(|d| d.ends_with("cur") || d.ends_with("new"))
        })
        .collect();
    assert!(
        articles.len() >= 2,
        "the mail and what postdesk sent: {articles:?}"
    );
    let show = desk.show(&number);
    assert_eq!(show["articles"][0]["direction"], "in");
    let base = |p: &std::path::Path| {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        name.split(':').next().unwrap().to_string()
    };
    let listed: Vec<_> = show["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let p = std::path::Path::new(a["path"].as_str().unwrap());
            articles
                .iter()
                .find(|f| base(f) == base(p))
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(listed.len(), articles.len());
    (number, listed)
}

/// Renames an article file to `1700000000.M<usec>P1Q<q>…`, keeping its Maildir flags.
fn rename_to(path: &std::path::Path, usec: u32, q: usize) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let flags = name
        .split_once(':')
        .map(|(_, f)| format!(":{f}"))
        .unwrap_or_default();
    let renamed = format!("1700000000.M{usec}P1Q{q}.host,S=1{flags}");
    fs::rename(path, path.with_file_name(renamed)).unwrap();
}

/// An article as postdesk wrote it before sequences existed: its trace block without
/// `X-Postdesk-Sequence` (the block's length adjusted).
fn strip_sequence(path: &std::path::Path) {
    let bytes = fs::read(path).unwrap();
    let first = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let head = String::from_utf8(bytes[..first].to_vec()).unwrap();
    let (name, len) = head.trim_end().rsplit_once(' ').unwrap();
    let len: usize = len.parse().unwrap();
    let block = &bytes[first..first + len];
    let mut kept = Vec::new();
    for line in block.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"X-Postdesk-Sequence:") {
            kept.extend_from_slice(line);
        }
    }
    assert!(kept.len() < block.len(), "{path:?} had a sequence");
    let eol = if head.ends_with("\r\n") { "\r\n" } else { "\n" };
    let mut out = format!("{name} {}{eol}", kept.len()).into_bytes();
    out.extend_from_slice(&kept);
    out.extend_from_slice(&bytes[first + len..]);
    fs::write(path, out).unwrap();
}

fn directions_and_seqs(show: &serde_json::Value) -> Vec<(String, u64)> {
    let list = show["articles"].as_array().unwrap().iter();
    list.map(|a| {
        (
            a["direction"].as_str().unwrap().to_string(),
            a["seq"].as_u64().unwrap(),
        )
    })
    .collect()
}

/// Follow-ups into a ticket of an earlier batch (on PostgreSQL its last sequence is asked
/// ahead with the ticket), two in one batch, by reference and by the subject's number: each
/// article gets the next sequence, none twice.
#[test]
fn follow_ups_in_later_batches_take_the_next_sequences() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "Order",
        "o1@example.org",
        "",
        "Text",
    );
    desk.drain(&md);
    let number = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let first = directions_and_seqs(&desk.show(&number)).len();
    let thread = "In-Reply-To: <o1@example.org>\r\n";
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "Re: Order",
        "o2@example.org",
        thread,
        "More",
    );
    let tagged = format!("Re: [Ticket#{number}] Order");
    post(
        &md,
        "c@example.org",
        "support@company.example",
        &tagged,
        "o3@example.org",
        "",
        "Again",
    );
    desk.drain(&md);
    post(
        &md,
        "c@example.org",
        "support@company.example",
        "Re: Order",
        "o4@example.org",
        thread,
        "Last",
    );
    desk.drain(&md);
    let filed = directions_and_seqs(&desk.show(&number));
    let seqs: Vec<u64> = filed.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        seqs,
        (1..=filed.len() as u64).collect::<Vec<_>>(),
        "{filed:?}"
    );
    let incoming = filed.iter().filter(|(d, _)| d == "in").count();
    assert_eq!(incoming, 4, "{filed:?}");
    assert!(filed.len() > first + 2, "{filed:?}");
    desk.fsck_clean();
}

#[test]
fn sequences_assigned_at_filing_survive_reindex_whatever_the_file_names() {
    let desk = Desk::new();
    let (number, articles) = ticket_with_articles(&desk);
    let before = desk.show(&number);
    let filed = directions_and_seqs(&before);
    let seqs: Vec<u64> = filed.iter().map(|(_, s)| *s).collect();
    assert_eq!(seqs, (1..=articles.len() as u64).collect::<Vec<_>>());
    // Names on both sides of the unpadded-microsecond boundary, against the filing order: the
    // mail gets the name that sorts last (as numbers and as strings), the last reply …M99990….
    let n = articles.len();
    let usecs = &[99990, 100010, 100020, 100030][..n];
    for (i, path) in articles.iter().enumerate() {
        rename_to(path, usecs[n - 1 - i], i);
    }
    desk.ok(&["reindex"]);
    let after = desk.show(&number);
    assert_eq!(directions_and_seqs(&after), filed, "{after}");
    assert!(after["articles"][0]["path"]
        .as_str()
        .unwrap()
        .contains(&format!("M{}", usecs[n - 1])));
    desk.fsck_clean();
}

/// A ticket whose articles look as if written before sequences existed, named in filing order
/// …M99990…, …M100010…, …M100020… (as strings the answers would come first); returns its
/// number and the directions and sequences it had.
fn written_before_sequences(desk: &Desk) -> (String, Vec<(String, u64)>) {
    let (number, articles) = ticket_with_articles(desk);
    let filed = directions_and_seqs(&desk.show(&number));
    for (i, path) in articles.iter().enumerate() {
        strip_sequence(path);
        rename_to(path, [99990, 100010, 100020, 100030][i], i);
    }
    (number, filed)
}

#[test]
fn articles_without_a_sequence_are_ordered_across_the_unpadded_microsecond_boundary() {
    let desk = Desk::new();
    let (number, filed) = written_before_sequences(&desk);
    desk.ok(&["reindex"]);
    let after = desk.show(&number);
    assert_eq!(directions_and_seqs(&after), filed, "{after}");
    assert!(after["articles"][0]["path"]
        .as_str()
        .unwrap()
        .contains("M99990"));
    desk.fsck_clean();
}

#[test]
fn an_index_of_the_previous_schema_is_upgraded_and_numbers_the_articles_already_filed() {
    if !crate::harness::sqlite_index() {
        return; // SQLite's own file and schema upgrades: nothing of it on PostgreSQL.
    }
    let desk = Desk::new();
    // The tree and index as the previous version left them: no sequences in the trace blocks,
    // names across the unpadded-microsecond boundary, schema version 2.
    let (number, filed) = written_before_sequences(&desk);
    let db = rusqlite::Connection::open(desk.data.join("index.sqlite")).unwrap();
    db.execute_batch(
        "DROP INDEX articles_ticket;
         ALTER TABLE articles DROP COLUMN seq;
         ALTER TABLE articles DROP COLUMN author_header;
         ALTER TABLE tickets DROP COLUMN customer_address;
         DROP TRIGGER tickets_due_organisation_added;
         DROP TRIGGER tickets_due_organisation_changed;
         DROP INDEX tickets_person;
         DROP INDEX tickets_organisation;
         ALTER TABLE tickets DROP COLUMN person;
         ALTER TABLE tickets DROP COLUMN organisation;
         ALTER TABLE tickets DROP COLUMN service;
         DROP TABLE accepted;
         DROP TRIGGER tickets_due_opened;
         DROP TRIGGER tickets_due_changed;
         DROP TRIGGER tickets_due_closed;
         DROP TRIGGER tickets_due_met;
         DROP INDEX tickets_due;
         ALTER TABLE tickets DROP COLUMN sla;
         ALTER TABLE tickets DROP COLUMN due_at;
         DROP TABLE sla_flags;
         CREATE INDEX articles_ticket ON articles(ticket);
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(db);
    // Reading commands do not upgrade it, and say what does.
    let out = desk.run(&["ticket", "show", &number]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("schema version 2 is older"),
        "{err}"
    );
    // The first command that takes mail upgrades it and rebuilds it from the tree.
    let md = desk.maildir("later");
    desk.drain(&md);
    assert_eq!(directions_and_seqs(&desk.show(&number)), filed);
    post(
        &md,
        "c@example.org",
        "support@company.example",
        &format!("Re: [Ticket#{number}] Order"),
        "o2@example.org",
        "",
        "More",
    );
    desk.drain(&md);
    let show = desk.show(&number);
    let now = directions_and_seqs(&show);
    assert_eq!(now[..filed.len()], filed[..], "{show}");
    assert_eq!(now[filed.len()], ("in".to_string(), filed.len() as u64 + 1));
    desk.ok(&["reindex"]);
    assert_eq!(directions_and_seqs(&desk.show(&number)), now);
    desk.fsck_clean();
}
