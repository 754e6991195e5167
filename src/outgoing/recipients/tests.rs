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
    let before = vec!["\"Doe, Bob\" <bob@example.org>, support@company.example".to_string()];
    let r = answer(&Parties {
        opening: Some(("Jane Doe <jane@example.org>", Some("jane@example.org"))),
        accepted_before: &before,
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
        accepted_before: &[],
        answer: &mail,
        own: &own(),
        agents: &agents(),
    });
    assert_eq!(r, Recipients::default());
    // The opener's Reply-To is where answers go; the opener's name then greets no one else.
    let r = answer(&Parties {
        opening: Some(("Jane <jane@example.org>", Some("office@example.org"))),
        accepted_before: &[],
        answer: &mail,
        own: &own(),
        agents: &agents(),
    });
    assert_eq!(r.to.as_deref(), Some("office@example.org"));
    assert_eq!(r.name, None);
}

#[test]
fn what_a_follow_up_wanted_to_add() {
    let mut f = Facts::default();
    f.from = Some(Mailbox::new("alice@company.example"));
    f.reply_to = Some(Mailbox::new("mallory@evil.example"));
    f.to = vec![Mailbox::new("support@company.example")];
    f.cc = vec![
        Mailbox::new("spy@evil.example"),
        Mailbox::new("jane@example.org"),
    ];
    assert_eq!(
        wanted(&f, Some("jane@example.org"), &own(), &agents()),
        vec!["mallory@evil.example", "spy@evil.example"]
    );
}
