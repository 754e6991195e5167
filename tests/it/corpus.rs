//! A sweep of the shared corpus of real-world mail through the whole pipeline: every message
//! ends as an article or in quarantine with a reason, nothing panics, fsck agrees.

use std::path::PathBuf;

use crate::harness::{drop_mail, Desk};

#[test]
fn corpus_sweep() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let list = root.join("files.tsv");
    if !list.exists() {
        eprintln!(
            "corpus sweep skipped: {} does not exist (CI always has it)",
            root.display()
        );
        return;
    }
    let desk = Desk::new();
    let md = desk.maildir("corpus");
    let mut n = 0;
    for line in std::fs::read_to_string(&list).unwrap().lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        let bytes = std::fs::read(root.join(file)).unwrap();
        drop_mail(&md, &bytes);
        n += 1;
    }
    let out = desk.run(&["run", "--once", "--maildir", md.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    eprintln!("corpus sweep over {n} messages: {stdout}");
    let nums = |k: &str| -> u64 {
        stdout
            .lines()
            .next()
            .unwrap_or("")
            .split(", ")
            .find_map(|p| p.trim().strip_prefix(&format!("{k} ")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(nums("processed"), n);
    assert_eq!(nums("failed"), 0);
    assert_eq!(
        nums("new tickets") + nums("follow-ups") + nums("duplicates") + nums("quarantined"),
        n
    );
    // Every quarantined message has its reason in the mail log.
    let log = desk.mail_log();
    for l in log.lines().filter(|l| l.contains("verdict=quarantined")) {
        assert!(l.contains("detail="), "quarantine without a reason: {l}");
    }
    // Per-classification counts, for the record.
    let mut kinds = std::collections::BTreeMap::new();
    for l in log.lines() {
        if let Some(c) = l.split(' ').find_map(|f| f.strip_prefix("class=")) {
            *kinds.entry(c.to_string()).or_insert(0) += 1;
        }
    }
    eprintln!("corpus classifications: {kinds:?}");
    desk.fsck_clean();
}

/// Decoded subject, sender and attachment names of every corpus mail against the committed
/// snapshot `tests/corpus-decoded.tsv`: prints how many of each changed, fails on any change
/// until it is reviewed and blessed with `POSTDESK_BLESS=1`.
#[test]
fn corpus_decoded_text() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let list = root.join("files.tsv");
    if !list.exists() {
        eprintln!(
            "decoded-text snapshot skipped: {} does not exist",
            root.display()
        );
        return;
    }
    let snapshot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-decoded.tsv");
    let mut now = String::from("file\tsubject\tsender\tattachments\n");
    for line in std::fs::read_to_string(&list).unwrap().lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        let facts = postdesk::parse::parse(&std::fs::read(root.join(file)).unwrap());
        let sender = facts.author().map(|m| m.display()).unwrap_or_default();
        let names: Vec<&str> = facts
            .attachments
            .iter()
            .map(|a| a.filename.as_str())
            .collect();
        let row = [file, &facts.subject, &sender, &names.join(" | ")]
            .map(|f| f.replace(['\t', '\n'], " "));
        now.push_str(&row.join("\t"));
        now.push('\n');
    }
    let before = std::fs::read_to_string(&snapshot).unwrap_or_default();
    let rows = |text: &str| -> std::collections::BTreeMap<String, Vec<String>> {
        let split = |l: &str| l.split('\t').map(str::to_string).collect::<Vec<_>>();
        text.lines()
            .skip(1)
            .map(|l| (split(l)[0].clone(), split(l)))
            .collect()
    };
    let (old, new) = (rows(&before), rows(&now));
    let mut changed = [0usize; 3];
    for (file, row) in &new {
        for (i, count) in changed.iter_mut().enumerate() {
            let was = old.get(file).and_then(|r| r.get(i + 1));
            if was != row.get(i + 1) {
                *count += 1;
                eprintln!(
                    "{file} {}: {:?} -> {:?}",
                    ["subject", "sender", "attachments"][i],
                    was,
                    row[i + 1]
                );
            }
        }
    }
    eprintln!(
        "decoded text against the snapshot: {} subjects, {} senders, {} attachment lists changed of {}",
        changed[0], changed[1], changed[2], new.len()
    );
    if std::env::var_os("POSTDESK_BLESS").is_some() {
        std::fs::write(&snapshot, &now).unwrap();
        return;
    }
    assert!(
        before == now,
        "decoded text changed; review the lines above and re-run with POSTDESK_BLESS=1"
    );
}
