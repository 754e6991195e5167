//! `postdesk migrate-layout` converts a store from before the archive (closed tickets in the
//! listed tree as `.Queue.Closed.N`) in place: killed after any rename and run again, it goes
//! on where it stopped; no article is lost, `fsck` and `reindex` agree with the index in the
//! mixed state and after, and Dovecot's files follow every folder, an interrupted one too.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use crate::harness::{post, Desk};
use crate::tree::chrono_month;

/// Article files under `dir`, at any depth below a `new/` or `cur/`.
fn articles(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if d.ends_with("new") || d.ends_with("cur") {
                n += 1;
            }
        }
    }
    n
}

fn legacy(store: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".Support.Closed."))
        .collect();
    v.sort();
    v
}

#[test]
fn migrate_layout_resumes_after_a_crash_at_any_rename_and_loses_nothing() {
    let desk = Desk::new();
    let md = desk.maildir("in");
    for i in 0..12 {
        post(
            &md,
            &format!("c{i}@example.org"),
            "support@company.example",
            &format!("Case {i}"),
            &format!("ml{i}@example.org"),
            "",
            "x",
        );
    }
    desk.drain(&md);
    let numbers: Vec<String> = desk
        .tickets()
        .iter()
        .map(|t| t["number"].as_str().unwrap().to_string())
        .collect();
    let closed = &numbers[..9];
    let month = chrono_month();
    let store = desk.data.join("store");
    let archive = desk.data.join("archive/Support").join(&month);
    let dovecot = desk.data.join("dovecot");
    // The layout before the archive: closed tickets beside the open ones, Dovecot's files
    // under the same names.
    for n in closed {
        desk.ok(&["ticket", "close", n]);
        fs::rename(archive.join(n), store.join(format!(".Support.Closed.{n}"))).unwrap();
        let control = dovecot.join(format!("control/.Support.Closed.{n}"));
        fs::create_dir_all(&control).unwrap();
        fs::write(control.join("dovecot-uidlist"), format!("3 V{n} N2\n")).unwrap();
    }
    let all = articles(&desk.data.join("store")) + articles(&desk.data.join("archive"));
    assert_eq!(legacy(&store).len(), 9);
    let states = |desk: &Desk| -> Vec<(String, String)> {
        desk.tickets()
            .iter()
            .map(|t| (t["number"].to_string(), t["state"].to_string()))
            .collect()
    };
    let before = states(&desk);
    desk.fsck_clean();

    for (crash_after, left) in [(4, 5), (2, 3)] {
        let out = desk
            .cmd()
            .arg("migrate-layout")
            .env("POSTDESK_MIGRATE_CRASH_AFTER", crash_after.to_string())
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{out:?}");
        assert_eq!(legacy(&store).len(), left);
        // Both layouts at once: the index agrees with the tree, and a rebuild keeps it.
        desk.fsck_clean();
        desk.ok(&["reindex"]);
        assert_eq!(states(&desk), before);
        let total = articles(&desk.data.join("store")) + articles(&desk.data.join("archive"));
        assert_eq!(total, all, "no article lost");
    }
    let out = desk.ok(&["migrate-layout"]);
    assert!(
        out.contains("3 closed tickets moved")
            && out.contains("followed")
            && out.contains("1 folder"),
        "{out}"
    );
    assert!(legacy(&store).is_empty());
    for n in closed {
        assert!(archive.join(n).join("cur").is_dir(), "{n}");
        let uidlist = dovecot.join(format!(
            "archive-control/Support/{month}/{n}/dovecot-uidlist"
        ));
        assert_eq!(
            fs::read_to_string(&uidlist).unwrap_or_default(),
            format!("3 V{n} N2\n"),
            "Dovecot's files of {n} followed"
        );
        assert_eq!(
            desk.show(n)["folder"],
            format!("Archive/Support/{month}/{n}").as_str()
        );
    }
    assert!(!dovecot.join("control").read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".Closed.")));
    for n in &numbers[9..] {
        assert!(
            store.join(format!(".Support.{n}/cur")).is_dir(),
            "open {n} stays"
        );
    }
    assert_eq!(
        articles(&desk.data.join("store")) + articles(&desk.data.join("archive")),
        all
    );
    assert_eq!(states(&desk), before);
    desk.fsck_clean();
    assert!(desk
        .ok(&["migrate-layout"])
        .contains("0 closed tickets moved"));
}
