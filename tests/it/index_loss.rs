//! A lost or broken index never misfiles mail: deleted, cut short, overwritten with garbage or
//! restored from an older copy between two deliveries, it is rebuilt from the tree before the
//! next message is taken, and every new customer gets a ticket of their own. Two folders with
//! one number are named, by reindex and fsck alike.

use std::fs;
use std::io::Write;
use std::process::Stdio;

use crate::harness::{mail, Desk};

fn deliver(desk: &Desk, n: usize) {
    let m = mail(
        &format!("customer{n}@example.org"),
        "support@company.example",
        &format!("Question {n}"),
        &format!("q{n}@example.org"),
        "",
        "hello",
    );
    let mut child = desk
        .cmd()
        .arg("deliver")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&m).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every customer's mail is the only incoming article of a ticket of its own.
fn each_in_its_own_ticket(desk: &Desk, customers: usize) {
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), customers, "{tickets:#?}");
    let mut subjects = Vec::new();
    for t in &tickets {
        let inc = desk.incoming(t["number"].as_str().unwrap());
        assert_eq!(inc.len(), 1, "ticket {} has {inc:#?}", t["number"]);
        subjects.push(inc[0]["subject"].as_str().unwrap().to_string());
    }
    subjects.sort();
    let mut want: Vec<String> = (0..customers).map(|n| format!("Question {n}")).collect();
    want.sort();
    assert_eq!(subjects, want);
    let folders = fs::read_dir(desk.data.join("store"))
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(".Support.") && n != ".Support.Closed"
        })
        .count();
    assert_eq!(folders, customers);
    desk.fsck_clean();
}

fn index_files(desk: &Desk) -> Vec<std::path::PathBuf> {
    ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"]
        .iter()
        .map(|n| desk.data.join(n))
        .collect()
}

fn break_index_and_deliver(damage: impl Fn(&Desk)) {
    let desk = Desk::new();
    deliver(&desk, 0);
    deliver(&desk, 1);
    damage(&desk);
    deliver(&desk, 2);
    deliver(&desk, 3);
    each_in_its_own_ticket(&desk, 4);
}

#[test]
fn a_deleted_index_is_rebuilt_before_the_next_delivery() {
    if !crate::harness::sqlite_index() {
        return; // SQLite's own file and schema upgrades: nothing of it on PostgreSQL.
    }
    break_index_and_deliver(|desk| {
        for f in index_files(desk) {
            let _ = fs::remove_file(f);
        }
    });
}

#[test]
fn a_truncated_index_is_set_aside_and_rebuilt() {
    if !crate::harness::sqlite_index() {
        return; // SQLite's own file and schema upgrades: nothing of it on PostgreSQL.
    }
    break_index_and_deliver(|desk| {
        let p = desk.data.join("index.sqlite");
        let len = fs::metadata(&p).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
    });
    break_index_and_deliver(|desk| {
        fs::write(desk.data.join("index.sqlite"), b"").unwrap();
    });
}

#[test]
fn a_garbled_index_is_set_aside_and_rebuilt() {
    if !crate::harness::sqlite_index() {
        return; // SQLite's own file and schema upgrades: nothing of it on PostgreSQL.
    }
    break_index_and_deliver(|desk| {
        let p = desk.data.join("index.sqlite");
        let mut bytes = fs::read(&p).unwrap();
        for (i, b) in bytes.iter_mut().enumerate().take(8192) {
            *b = (i * 7 + 3) as u8;
        }
        fs::write(&p, bytes).unwrap();
    });
    let aside = |desk: &Desk| {
        fs::read_dir(&desk.data).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("index.sqlite.broken-")
        })
    };
    let desk = Desk::new();
    deliver(&desk, 0);
    fs::write(
        desk.data.join("index.sqlite"),
        b"garbage, not a database at all",
    )
    .unwrap();
    desk.ok(&["reindex"]);
    assert!(aside(&desk), "the damaged file was not kept");
    each_in_its_own_ticket(&desk, 1);
}

#[test]
fn an_index_older_than_the_tree_is_rebuilt() {
    if !crate::harness::sqlite_index() {
        return; // SQLite's own file and schema upgrades: nothing of it on PostgreSQL.
    }
    let desk = Desk::new();
    deliver(&desk, 0);
    let backup = desk.path().join("index.backup");
    fs::copy(desk.data.join("index.sqlite"), &backup).unwrap();
    deliver(&desk, 1);
    deliver(&desk, 2);
    for f in index_files(&desk) {
        let _ = fs::remove_file(f);
    }
    fs::copy(&backup, desk.data.join("index.sqlite")).unwrap();
    deliver(&desk, 3);
    each_in_its_own_ticket(&desk, 4);
}

#[test]
fn two_folders_with_one_number_are_named() {
    let desk = Desk::new();
    deliver(&desk, 0);
    let number = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let store = desk.data.join("store");
    crate::harness::copy_dir(
        &store.join(format!(".Support.{number}")),
        &store.join(format!(".Billing.{number}")),
    );
    for args in [&["reindex"][..], &["fsck"][..]] {
        let out = desk.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(
            text.contains(&format!(".Support.{number}"))
                && text.contains(&format!(".Billing.{number}")),
            "{args:?}: {text}"
        );
        assert!(!text.contains("UNIQUE constraint"), "{text}");
    }
}
