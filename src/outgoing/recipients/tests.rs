//! Tests for `recipients`.

use super::*;

fn own() -> Vec<String> {
    vec!["support@company.example".into()]
}
fn agents() -> Vec<String> {
    vec!["alice@company.example".into()]
}

#[test]
fn the_customer_and_whom_agents_named() {
    let mail = Facts {
        to: vec![Mailbox::new("support+1-abc@company.example")],
        cc: vec![
            Mailbox::new("tom@example.org"),
            Mailbox::new("alice@company.example"),
            Mailbox::new("Jane@example.org"),
        ],
        ..Facts::default()
    };
    let before = vec![(
        "2026-01-01T00:00:00Z".to_string(),
        "\"Doe, Bob\" <bob@example.org>, support@company.example".to_string(),
    )];
    let r = answer(&Parties {
        opening: Some(("Jane Doe <jane@example.org>", Some("jane@example.org"))),
        customer: None,
        accepted_before: &before,
        cc: &[],
        answer: &mail,
        own: &own(),
        agents: &agents(),
    });
    assert_eq!(r.to.as_deref(), Some("jane@example.org"));
    assert_eq!(r.name.as_deref(), Some("Jane Doe"));
    assert_eq!(r.cc, vec!["bob@example.org", "tom@example.org"]);
}

#[test]
fn an_agent_is_never_the_customer_nor_greeted() {
    let mail = Facts::default();
    let r = answer(&Parties {
        opening: Some(("Alice <alice@company.example>", None)),
        customer: None,
        accepted_before: &[],
        cc: &[],
        answer: &mail,
        own: &own(),
        agents: &agents(),
    });
    assert_eq!(r, Recipients::default());
    // The opener's Reply-To is where answers go; the opener's name then greets no one else.
    let r = answer(&Parties {
        opening: Some(("Jane <jane@example.org>", Some("office@example.org"))),
        customer: None,
        accepted_before: &[],
        cc: &[],
        answer: &mail,
        own: &own(),
        agents: &agents(),
    });
    assert_eq!(r.to.as_deref(), Some("office@example.org"));
    assert_eq!(r.name, None);
}

#[test]
fn what_a_follow_up_wanted_to_add() {
    let f = Facts {
        from: Some(Mailbox::new("alice@company.example")),
        reply_to: Some(Mailbox::new("mallory@evil.example")),
        to: vec![Mailbox::new("support@company.example")],
        cc: vec![
            Mailbox::new("spy@evil.example"),
            Mailbox::new("jane@example.org"),
        ],
        ..Facts::default()
    };
    assert_eq!(
        wanted(&f, &["jane@example.org".into()], &own(), &agents()),
        vec!["mallory@evil.example", "spy@evil.example"]
    );
    // Someone agents accepted already is no wish of the follow-up's.
    assert_eq!(
        wanted(
            &f,
            &["jane@example.org".into(), "Spy@evil.example".into()],
            &own(),
            &agents()
        ),
        vec!["mallory@evil.example"]
    );
}

fn change(address: &str, added: bool, at: &str) -> Accepted {
    Accepted {
        address: address.into(),
        added,
        at: at.into(),
    }
}

#[test]
fn the_customer_an_agent_set_and_the_cc_changes() {
    let mail = Facts {
        cc: vec![Mailbox::new("eve@example.org")],
        ..Facts::default()
    };
    let before = vec![
        (
            "2026-01-01T10:00:00Z".to_string(),
            "bob@example.org, carl@example.org".to_string(),
        ),
        (
            "2026-01-03T10:00:00Z".to_string(),
            "dan@example.org".to_string(),
        ),
    ];
    let cc = vec![
        // Removed after the answer that named him.
        change("bob@example.org", false, "2026-01-02T10:00:00Z"),
        // Removed, then named again by a later answer.
        change("dan@example.org", false, "2026-01-02T10:00:00Z"),
        change("fay@example.org", true, "2026-01-02T10:00:00Z"),
        // Added, then removed.
        change("gil@example.org", true, "2026-01-02T10:00:00Z"),
        change("gil@example.org", false, "2026-01-04T10:00:00Z"),
        // Never ours.
        change("alice@company.example", true, "2026-01-02T10:00:00Z"),
    ];
    let r = answer(&Parties {
        opening: Some(("Jane Doe <jane@example.org>", None)),
        customer: Some("office@example.org"),
        accepted_before: &before,
        cc: &cc,
        answer: &mail,
        own: &own(),
        agents: &agents(),
    });
    assert_eq!(r.to.as_deref(), Some("office@example.org"));
    assert_eq!(r.name, None);
    assert_eq!(
        r.cc,
        vec![
            "carl@example.org",
            "dan@example.org",
            "fay@example.org",
            "eve@example.org"
        ]
    );
    // Set to the opener's own address, the opener is greeted again.
    let r = answer(&Parties {
        customer: Some("jane@example.org"),
        accepted_before: &[],
        cc: &[],
        ..Parties {
            opening: Some(("Jane Doe <jane@example.org>", Some("desk@example.org"))),
            customer: None,
            accepted_before: &[],
            cc: &[],
            answer: &mail,
            own: &own(),
            agents: &agents(),
        }
    });
    assert_eq!(r.to.as_deref(), Some("jane@example.org"));
    assert_eq!(r.name.as_deref(), Some("Jane Doe"));
}
