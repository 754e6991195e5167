//! Unit tests: load errors with file and line, each action's mapping, the markers' lines,
//! limits, script order, the scanners' values. The shipped scripts are tested by `cases`.

use super::*;

/// Writes `scripts` (name, text) into a fresh directory and loads it.
pub(super) fn load_with(
    scripts: &[(&str, &str)],
    limits: Limits,
) -> (tempfile::TempDir, Result<Filters, Vec<FilterError>>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in scripts {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let filters = Filters::load_with(dir.path(), limits);
    (dir, filters)
}

pub(super) fn load_ok(scripts: &[(&str, &str)]) -> (tempfile::TempDir, Filters) {
    let (dir, f) = load_with(scripts, Limits::default());
    (dir, f.unwrap_or_else(|e| panic!("load failed: {e:?}")))
}

pub(super) fn load_err(scripts: &[(&str, &str)]) -> Vec<FilterError> {
    match load_with(scripts, Limits::default()).1 {
        Ok(_) => panic!("loaded, expected errors"),
        Err(e) => e,
    }
}

pub(super) const MAIL: &[u8] = b"From: Anna <anna@customer.example>\r\nTo: hotline@company.example\r\n\
Subject: Invoice 42\r\nX-Spam: yes\r\nMessage-ID: <a1@customer.example>\r\n\r\nHello, my invoice is wrong.\r\n";

pub(super) fn run_with(scripts: &[(&str, &str)], scan: ScanValues) -> Verdict {
    let (_dir, filters) = load_ok(scripts);
    let env = Envelope {
        from: "anna@customer.example".into(),
        to: vec!["hotline@company.example".into()],
    };
    filters.run(MAIL, &env, &scan)
}

pub(super) fn run(scripts: &[(&str, &str)]) -> Verdict {
    run_with(scripts, ScanValues::default())
}

pub(super) fn lines(errors: &[FilterError]) -> Vec<(String, Option<usize>)> {
    let name = |e: &FilterError| e.file.file_name().unwrap().to_string_lossy().into_owned();
    errors.iter().map(|e| (name(e), e.line)).collect()
}

#[test]
fn filters_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Filters>();
}

#[test]
fn missing_require_is_reported_with_file_and_line() {
    let e = load_err(&[("10-a.sieve", "# routing\n\nfileinto \"Billing\";\n")]);
    assert_eq!(lines(&e), [("10-a.sieve".into(), Some(3))], "{e:?}");
    assert!(e[0].to_string().contains("10-a.sieve:3: "), "{}", e[0]);
}

#[test]
fn syntax_errors_of_all_files_are_collected() {
    let e = load_err(&[
        (
            "10-a.sieve",
            "require \"fileinto\";\nif true {\n  fileinto \"A\"\n}\n",
        ),
        (
            "20-b.sieve",
            "keep;\n\nif header :bogus \"x\" \"y\" { keep; }\n",
        ),
        ("30-ok.sieve", "keep;\n"),
    ]);
    assert_eq!(
        lines(&e),
        [
            ("10-a.sieve".into(), Some(4)),
            ("20-b.sieve".into(), Some(3))
        ],
        "{e:?}"
    );
}

#[test]
fn refused_extensions_and_commands() {
    let e = load_err(&[(
        "10-a.sieve",
        "require [\"fileinto\",\n  \"vacation\"];\nrequire \"vnd.stalwart.while\";\nredirect \"x@example.org\";\nif duplicate { keep; }\n",
    )]);
    assert_eq!(
        lines(&e).iter().map(|l| l.1).collect::<Vec<_>>(),
        [Some(2), Some(3), Some(4), Some(5)],
        "{e:?}"
    );
    assert!(
        e[0].message.contains("\"vacation\" is not available"),
        "{e:?}"
    );
    assert!(e[2].message.contains("redirect"), "{e:?}");
}

#[test]
fn fileinto_sets_the_queue_first_wins() {
    let v = run(&[
        (
            "10-a.sieve",
            "require \"fileinto\";\n# first\nfileinto \"Billing\";\n",
        ),
        (
            "20-b.sieve",
            "require \"fileinto\";\n\n\nfileinto \"Sales\";\n",
        ),
    ]);
    let (q, cause) = v.queue.clone().unwrap();
    assert_eq!((q.as_str(), cause.line), ("Billing", Some(3)));
    assert!(cause.file.ends_with("10-a.sieve"));
    assert!(
        v.trace[1].contains(
            "20-b.sieve:4: fileinto \"Sales\" (ignored: already filed into \"Billing\" by "
        ),
        "{:?}",
        v.trace
    );
    assert!(v.errors.is_empty());
}

#[test]
fn unknown_queue_is_an_error_not_a_panic() {
    let (_dir, filters) = load_ok(&[(
        "10-a.sieve",
        "require \"fileinto\";\nfileinto \"Nope\";\nfileinto \"Billing\";\nfileinto \"a/b\";\n",
    )]);
    let filters = filters.with_queues(["Billing", "Sales"]);
    let v = filters.run(MAIL, &Envelope::default(), &ScanValues::default());
    assert_eq!(
        v.queue.as_ref().map(|q| (q.0.as_str(), q.1.line)),
        Some(("Billing", Some(3)))
    );
    assert_eq!(
        lines(&v.errors).iter().map(|l| l.1).collect::<Vec<_>>(),
        [Some(2), Some(4)],
        "{:?}",
        v.errors
    );
    assert!(
        v.errors[0].message.contains("no queue named \"Nope\""),
        "{:?}",
        v.errors
    );
}

#[test]
fn discard_goes_to_quarantine_with_file_and_line() {
    let v = run(&[(
        "50-drop.sieve",
        "if header :contains \"X-Spam\" \"yes\" {\n  discard;\n}\n",
    )]);
    assert_eq!(v.discard.as_ref().and_then(|c| c.line), Some(2));
    let reason = v.discard_reason().unwrap();
    assert!(
        reason.starts_with("discarded by ") && reason.ends_with("50-drop.sieve line 2"),
        "{reason}"
    );
    assert_eq!(v.quarantine_reason(), Some(reason));
    assert!(v.queue.is_none() && v.reject.is_none());
}

#[test]
fn discard_is_undone_by_a_later_keep_or_fileinto() {
    let v = run(&[("10-a.sieve", "discard;\n"), ("20-b.sieve", "keep;\n")]);
    assert!(v.discard.is_none(), "{v:?}");
    let v = run(&[
        ("10-a.sieve", "discard;\n"),
        ("20-b.sieve", "require \"fileinto\"; fileinto \"Sales\";\n"),
    ]);
    assert!(v.discard.is_none() && v.queue.is_some(), "{v:?}");
    let v = run(&[
        ("10-a.sieve", "keep;\ndiscard;\n"),
        ("20-b.sieve", "# implicit keep only\n"),
    ]);
    assert_eq!(v.discard.map(|c| c.line), Some(Some(2)));
}

#[test]
fn reject_ends_the_run() {
    let v = run(&[
        ("10-a.sieve", "require [\"reject\", \"ereject\"];\nif true {\n  reject \"We do not accept invoices here.\";\n}\n"),
        ("20-b.sieve", "discard;\n"),
    ]);
    let (text, cause) = v.reject.clone().unwrap();
    assert_eq!(
        (text.as_str(), cause.line),
        ("We do not accept invoices here.", Some(3))
    );
    assert!(v.discard.is_none());
    assert!(
        v.trace.last().unwrap().contains("20-b.sieve: not run"),
        "{:?}",
        v.trace
    );
}

#[test]
fn addheader_maps_attributes_and_keeps_other_edits() {
    let v = run(&[(
        "10-a.sieve",
        "require [\"editheader\", \"variables\"];\nset \"who\" \"alice\";\n\
addheader \"X-Postdesk-Priority\" \"high\";\naddheader \"X-Postdesk-Owner\" \"${who}\";\n\
addheader \"X-Postdesk-No-Autoresponse\" \"spam\";\naddheader \"X-Postdesk-Customer-Id\" \"4711\";\n\
addheader :last \"X-Filtered\" \"yes\";\naddheader \"X-Postdesk-Evil\" \"1\";\ndeleteheader \"X-Spam\";\n\
deleteheader \"X-Postdesk-Trace\";\n",
    )]);
    let attrs: Vec<_> = v
        .attributes
        .iter()
        .map(|a| (a.0.as_str(), a.1.as_str(), a.2.line.unwrap()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("priority", "high", 3),
            ("owner", "alice", 4),
            ("no-autoresponse", "spam", 5),
            ("customer-id", "4711", 6)
        ]
    );
    assert_eq!(v.attribute("owner"), Some("alice"));
    let edits: Vec<_> = v
        .header_edits
        .iter()
        .map(|e| match e {
            HeaderEdit::Add {
                name,
                value,
                last,
                cause,
            } => format!("+{name}:{value}:{last}@{}", cause.line.unwrap()),
            HeaderEdit::Delete { name, value, cause } => {
                format!("-{name}:{value}@{}", cause.line.unwrap())
            }
        })
        .collect();
    assert_eq!(edits, ["+X-Filtered:yes:true@7", "-X-Spam:yes@9"]);
    assert!(
        v.trace.iter().any(|t| t.ends_with(
            ":8: addheader \"X-Postdesk-Evil\" \"1\" (ignored: not a postdesk attribute)"
        )),
        "{:?}",
        v.trace
    );
}

#[test]
fn flags_for_keep_and_fileinto() {
    let v = run(&[("10-a.sieve", "require \"imap4flags\";\nsetflag \"\\\\Seen\";\naddflag [\"\\\\Flagged\", \"$Billing\"];\nremoveflag \"\\\\Flagged\";\n")]);
    assert_eq!(v.flags, ["\\Seen", "$Billing"]);
    assert!(
        v.trace[0].ends_with(":2: flags now \"\\\\Seen\""),
        "{:?}",
        v.trace
    );
    // Flags are taken when fileinto runs (RFC 5232), and carry over to later scripts.
    let v = run(&[
        ("10-a.sieve", "require \"imap4flags\";\nsetflag \"\\\\Seen\";\n"),
        ("20-b.sieve", "require [\"fileinto\", \"imap4flags\"];\naddflag \"$Sales\";\nfileinto \"Sales\";\naddflag \"$Late\";\n"),
    ]);
    assert_eq!(v.flags, ["\\Seen", "$Sales"]);
}

#[test]
fn scripts_run_in_name_order_and_see_earlier_edits() {
    let (_dir, filters) = load_ok(&[
        ("20-route.sieve", "require \"fileinto\";\nif header :is \"X-Postdesk-Priority\" \"high\" { fileinto \"VIP\"; }\n"),
        ("10-tag.sieve", "require \"editheader\";\naddheader \"X-Postdesk-Priority\" \"high\";\n"),
        ("README.md", "not a script"),
    ]);
    let names: Vec<_> = filters
        .scripts()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["10-tag.sieve", "20-route.sieve"]);
    let v = filters.run(MAIL, &Envelope::default(), &ScanValues::default());
    assert_eq!(
        v.queue.map(|q| (q.0, q.1.line)),
        Some(("VIP".to_string(), Some(2)))
    );
    assert!(
        v.trace[0].contains("10-tag.sieve:2:") && v.trace[1].contains("20-route.sieve:2:"),
        "{:?}",
        v.trace
    );
}

#[test]
fn instruction_limit_drops_the_script_and_goes_on() {
    let mut busy = String::from(
        "require [\"fileinto\", \"editheader\"];\naddheader \"X-Postdesk-Owner\" \"bob\";\n",
    );
    for _ in 0..50 {
        busy.push_str("if header :contains \"subject\" \"nothing-like-this\" { keep; }\n");
    }
    busy.push_str("fileinto \"Sales\";\n");
    let limits = Limits {
        instructions: 40,
        ..Limits::default()
    };
    let (_dir, filters) = load_with(
        &[
            ("10-busy.sieve", &busy),
            (
                "20-next.sieve",
                "require \"editheader\";\naddheader \"X-Postdesk-Priority\" \"low\";\n",
            ),
        ],
        limits,
    );
    let v = filters
        .unwrap()
        .run(MAIL, &Envelope::default(), &ScanValues::default());
    assert_eq!(v.errors.len(), 1, "{:?}", v.errors);
    assert!(
        v.errors[0].message.contains("instruction limit"),
        "{:?}",
        v.errors
    );
    assert!(v.queue.is_none() && v.attribute("owner").is_none(), "{v:?}");
    assert_eq!(v.attribute("priority"), Some("low"));
}

#[test]
fn stop_ends_the_run() {
    let v = run(&[
        ("10-a.sieve", "keep;\nstop;\n"),
        ("20-b.sieve", "discard;\n"),
    ]);
    assert!(v.stop && v.discard.is_none(), "{v:?}");
    assert!(v.trace[1].ends_with(":2: stop"), "{:?}", v.trace);
}
