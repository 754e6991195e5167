//! One decoded text everywhere: for every case in `tests/decoding/` that opens a ticket, the
//! subject and customer that `ticket list`, `ticket show`, `explain` and the autoresponse
//! written from the templates show are the case's expected text, before and after `reindex`.

use std::path::PathBuf;

use crate::harness::{drop_mail, Desk};

/// The case's directives and its raw mail.
fn case(path: &PathBuf) -> (Vec<(String, String)>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let split = bytes.windows(2).position(|w| w == b"\n\n").unwrap();
    let directives = std::str::from_utf8(&bytes[..split])
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (directives, bytes[split + 2..].to_vec())
}

#[test]
fn list_show_explain_templates_and_reindex_show_the_same_decoded_text() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/decoding");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    // Most cases come from one customer: above the per-sender limits, so every case is answered.
    let desk = Desk::with("", "[autoresponse]\nper-recipient-per-day = 100\n");
    let md = desk.maildir("in");
    let mut expected = Vec::new();
    for path in &files {
        let (directives, mail) = case(path);
        let get = |k: &str| {
            directives
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        // Only cases whose mail opens a ticket: it names an address.
        if get("author-header").as_deref() == Some("none") {
            continue;
        }
        let eml = desk.path().join("case.eml");
        std::fs::write(&eml, &mail).unwrap();
        let explain = desk.ok(&["explain", eml.to_str().unwrap()]);
        if let Some(subject) = get("subject") {
            assert!(
                explain.contains(&format!("subject:        {subject}\n")),
                "{path:?}: {explain}"
            );
        }
        if let Some(from) = get("from") {
            assert!(
                explain.contains(&format!("from:           {from}")),
                "{path:?}: {explain}"
            );
        }
        drop_mail(&md, &mail);
        expected.push((path.clone(), get("subject"), get("from")));
    }
    assert!(expected.len() >= 20, "{}", expected.len());
    desk.drain(&md);
    let check = |when: &str| {
        let tickets = desk.tickets();
        assert_eq!(tickets.len(), expected.len(), "{when}");
        for (path, subject, from) in &expected {
            let found = tickets.iter().find(|t| {
                subject.as_ref().is_none_or(|s| t["subject"] == s.as_str())
                    && from.as_ref().is_none_or(|f| t["customer"] == f.as_str())
            });
            let t = found.unwrap_or_else(|| panic!("{when} {path:?}: no ticket shows it"));
            let show = desk.show(t["number"].as_str().unwrap());
            let first = &show["articles"][0];
            assert_eq!(first["subject"], t["subject"], "{when} {path:?}");
            assert_eq!(first["from"], t["customer"], "{when} {path:?}");
            if let Some(subject) = subject {
                // The templates' ticket subject is the subject without its reply prefix.
                let subject = subject.strip_prefix("Re: ").unwrap_or(subject);
                let answered = show["articles"].as_array().unwrap().iter().any(|a| {
                    a["direction"] == "out" && a["subject"].as_str().unwrap().ends_with(subject)
                });
                assert!(answered, "{when} {path:?}: the autoresponse: {show}");
            }
        }
    };
    check("filed");
    desk.ok(&["reindex"]);
    check("rebuilt");
    desk.fsck_clean();
}
