//! Tests for `commands`.

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn every_command() {
    let p = parse(
        "#close\n#PENDING 2026-12-01\n#queue Billing\n#Owner alice\n#priority high\n\
         #template refund_2-b\n#note\nHello\n",
    );
    assert_eq!(
        p.commands,
        vec![
            Command::Close,
            Command::Pending {
                date: date(2026, 12, 1),
                time: None
            },
            Command::Queue("Billing".into()),
            Command::Owner("alice".into()),
            Command::Priority(Priority::High),
            Command::Template("refund_2-b".into()),
            Command::Note,
        ]
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.body, "Hello\n");
}

#[test]
fn pending_with_time() {
    for arg in ["2026-12-01 14:00", "2026-12-01T14:00", "2026-12-01   9:05"] {
        let p = parse(&format!("#pending {arg}\nText"));
        let Command::Pending { date: d, time } = &p.commands[0] else {
            panic!("{p:?}")
        };
        assert_eq!(*d, date(2026, 12, 1));
        assert!(time.is_some(), "{arg}");
    }
    let p = parse("#pending 2026-12-01 14:00");
    assert_eq!(
        p.commands,
        vec![Command::Pending {
            date: date(2026, 12, 1),
            time: NaiveTime::from_hms_opt(14, 0, 0)
        }]
    );
    assert_eq!(p.body, "");
}

#[test]
fn priorities() {
    for (arg, want) in [
        ("low", Priority::Low),
        ("1", Priority::Low),
        ("2", Priority::Low),
        ("Normal", Priority::Normal),
        ("3", Priority::Normal),
        ("HIGH", Priority::High),
        ("4", Priority::High),
        ("urgent", Priority::Urgent),
        ("5", Priority::Urgent),
    ] {
        assert_eq!(
            parse(&format!("#priority {arg}")).commands,
            vec![Command::Priority(want)]
        );
        assert_eq!(Priority::parse(want.as_str()), Some(want));
    }
}

#[test]
fn leading_blank_lines_and_whitespace_and_bom() {
    let p = parse("\u{feff}\n  \n   #close  \n\t#queue   Billing \n\nDear customer,\n\nthanks.\n");
    assert_eq!(
        p.commands,
        vec![Command::Close, Command::Queue("Billing".into())]
    );
    assert_eq!(p.body, "Dear customer,\n\nthanks.\n");
}

#[test]
fn stops_at_first_text_line() {
    let p = parse("#close\nHello\n#queue Billing\n");
    assert_eq!(p.commands, vec![Command::Close]);
    assert_eq!(p.body, "Hello\n#queue Billing\n");
    // A blank line ends the block too.
    let p = parse("#close\n\n#queue Billing\nHello\n");
    assert_eq!(p.commands, vec![Command::Close]);
    assert_eq!(p.body, "#queue Billing\nHello\n");
}

#[test]
fn commands_after_text_are_text() {
    let body = "Hello,\n#close\n#note\n";
    let p = parse(body);
    assert!(p.commands.is_empty() && p.errors.is_empty());
    assert_eq!(p.body, body);
    // Untouched, leading blank lines included, when there is no command.
    let body = "\n\n  Hi #close\n";
    assert_eq!(parse(body).body, body);
}

#[test]
fn hashtags_stay() {
    let p = parse("#close\n#blessed and #grateful\nThanks\n");
    assert_eq!(p.commands, vec![Command::Close]);
    assert_eq!(p.body, "#blessed and #grateful\nThanks\n");
    for body in [
        "#closed today\n",
        "# close\n",
        "#\n",
        "#closeall\n",
        "#notes\n",
    ] {
        let p = parse(body);
        assert!(p.commands.is_empty() && p.errors.is_empty(), "{body:?}");
        assert_eq!(p.body, body);
    }
}

#[test]
fn crlf() {
    let p = parse("\r\n#close\r\n#owner bob\r\n\r\nHello\r\nBye\r\n");
    assert_eq!(
        p.commands,
        vec![Command::Close, Command::Owner("bob".into())]
    );
    assert_eq!(p.body, "Hello\r\nBye\r\n");
}

#[test]
fn errors_are_collected_and_stripped() {
    let p = parse(
        "#pending tomorrow\n#priority extreme\n#queue\n#queue Bill ing\n#close now\n\
         #template a/b\n#pending 2026-02-30\n#pending 2026-12-01 25:00\n#owner\nText\n",
    );
    assert!(p.commands.is_empty(), "{:?}", p.commands);
    let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(p.errors[0].text, "#pending tomorrow");
    assert!(
        p.errors[0].message.contains("YYYY-MM-DD"),
        "{}",
        p.errors[0].message
    );
    assert!(p.errors[2].message.contains("missing"));
    assert_eq!(p.body, "Text\n");
}

#[test]
fn error_line_numbers_count_leading_blank_lines() {
    let p = parse("\n\n#priority 9\n");
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].line, 3);
    assert_eq!(p.body, "");
}

#[test]
fn last_one_wins() {
    let p = parse("#queue A\n#close\n#queue B\n#priority 1\n#priority nope\n");
    assert_eq!(
        p.commands,
        vec![
            Command::Close,
            Command::Queue("B".into()),
            Command::Priority(Priority::Low)
        ]
    );
    assert_eq!(p.errors.len(), 1);
}

#[test]
fn empty_and_blank_bodies() {
    assert_eq!(parse(""), Parsed::default());
    assert_eq!(parse("\n\n").body, "\n\n");
    assert_eq!(parse("#note").commands, vec![Command::Note]);
}

#[test]
fn find_takes_any_text() {
    let p = parse("#find 2026112010000023\n\nThanks");
    assert_eq!(p.commands, vec![Command::Find("2026112010000023".into())]);
    assert_eq!(p.body, "Thanks");
    let p = parse("#Find jane@example.org printer\n");
    assert_eq!(
        p.commands,
        vec![Command::Find("jane@example.org printer".into())]
    );
    for bad in ["#find".to_string(), format!("#find {}", "x".repeat(201))] {
        let p = parse(&bad);
        assert!(p.commands.is_empty() && p.errors.len() == 1, "{bad}: {p:?}");
    }
}

#[test]
fn customer_and_cc() {
    let p = parse(
        "#customer <Jane@Example.ORG>\n#cc bob@example.org, +carl@example.org\n#cc -Dan@example.org\nHi\n",
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let change = |a: &str, added| CcChange {
        address: a.into(),
        added,
    };
    assert_eq!(
        p.commands,
        vec![
            Command::Customer("jane@example.org".into()),
            Command::Cc(vec![
                change("bob@example.org", true),
                change("carl@example.org", true),
                change("dan@example.org", false),
            ]),
        ]
    );
    assert_eq!(p.body, "Hi\n");
}

#[test]
fn customer_and_cc_take_addresses_only() {
    for line in [
        "#customer",
        "#customer Jane Doe <jane@example.org>",
        "#customer jane",
        "#customer jane@localhost",
        "#customer \"a b\"@example.org",
        "#customer a@b@example.org",
        "#customer a@exa_mple.org",
        "#cc",
        "#cc bob@example.org, Bob",
        "#cc -",
        "#cc a@example.org;b@example.org",
    ] {
        let p = parse(&format!("{line}\nText\n"));
        assert_eq!(p.errors.len(), 1, "{line}: {p:?}");
        assert!(p.commands.is_empty(), "{line}: {p:?}");
    }
    // A header-like line after a command is the answer's text, never a header.
    let p = parse("#cc a@example.org\r\nBcc: x@example.org\r\n");
    assert_eq!(p.body, "Bcc: x@example.org\r\n");
    let many: Vec<String> = (0..21).map(|i| format!("a{i}@example.org")).collect();
    let p = parse(&format!("#cc {}\nText\n", many.join(" ")));
    assert_eq!(p.errors.len(), 1);
}

#[test]
fn sla_names_a_service_level() {
    let p = parse("#sla gold\n#SLA Premium-24x7\n\nText\n");
    assert_eq!(p.commands, vec![Command::Sla("Premium-24x7".into())]);
    assert_eq!(p.body, "Text\n");
    for line in ["#sla", "#sla gold plus", "#sla gold!"] {
        let p = parse(&format!("{line}\nText\n"));
        assert_eq!(p.errors.len(), 1, "{line}: {p:?}");
    }
}

#[test]
fn call_the_customer_or_a_number() {
    assert_eq!(parse("#call\n").commands, vec![Command::Call(None)]);
    assert_eq!(
        parse("#CALL +49 (0)541 1234-17\nText\n").commands,
        vec![Command::Call(Some("+49 (0)541 1234-17".into()))]
    );
    let p = parse("#call evil; rm\n");
    assert!(p.commands.is_empty());
    assert!(p.errors[0].message.contains("a telephone number"), "{p:?}");
}
