//! Tests for `msgid`.

use super::*;
use rand::{rngs::StdRng, SeedableRng};

fn signer() -> Signer {
    Signer::new(b"0123456789abcdef0123456789abcdef")
}

const NOW: i64 = 1_780_000_000;

fn domains() -> Vec<String> {
    vec!["company.example".to_string()]
}

fn id(number: &str) -> String {
    signer().message_id(number, "company.example", &mut StdRng::seed_from_u64(7))
}

/// Replaces the byte at `i` with another character of the same class.
fn tamper(s: &str, i: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[i] = match b[i] {
        b'0' => b'1',
        c if c.is_ascii_digit() => b'0',
        b'a' => b'b',
        _ => b'a',
    };
    String::from_utf8(b).unwrap()
}

#[test]
fn message_id_shape() {
    let id = id("2016010110000019");
    let (local, domain) = id.split_once('@').unwrap();
    assert_eq!(domain, "company.example");
    let parts: Vec<&str> = local.split('.').collect();
    assert_eq!(parts.len(), 3, "{id}");
    assert_eq!(parts[0], "2016010110000019");
    assert_eq!(parts[1].len(), 12);
    assert!(parts[1].bytes().all(|b| RANDOM_ALPHABET.contains(&b)));
    assert_eq!(parts[2].len(), 16);
    assert!(parts[2]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let mut rng = StdRng::seed_from_u64(8);
    let a = signer().message_id("1", "d.example", &mut rng);
    let b = signer().message_id("1", "d.example", &mut rng);
    assert_ne!(a, b, "the random part differs between calls");
}

#[test]
fn message_id_round_trip() {
    let s = signer();
    let id = id("2016010110000019");
    let ours = IdVerdict::Ours("2016010110000019".into());
    assert_eq!(s.check_message_id(&id, &domains(), NOW), ours);
    assert_eq!(
        s.check_message_id(&format!(" <{id}> "), &domains(), NOW),
        ours
    );
    assert_eq!(
        s.check_message_id(&id.to_uppercase(), &domains(), NOW),
        ours
    );
    // A valid MAC is ours under any domain (the domain is not signed).
    let moved = id.replace("company.example", "old.example");
    assert_eq!(s.check_message_id(&moved, &[], NOW), ours);
}

#[test]
fn tampered_message_ids_are_forged_under_our_domains() {
    let s = signer();
    let id = id("2016010110000019");
    let mac_at = id.find('@').unwrap() - 1;
    for i in [0, 5, 17, 20, mac_at] {
        let bad = tamper(&id, i);
        assert!(
            matches!(
                s.check_message_id(&bad, &domains(), NOW),
                IdVerdict::Forged { .. }
            ),
            "{bad}"
        );
        assert_eq!(
            s.check_message_id(&bad, &["other.example".into()], NOW),
            IdVerdict::NotOurs
        );
    }
    let other = Signer::new(b"another secret");
    assert_eq!(
        other.check_message_id(&id, &domains(), NOW),
        IdVerdict::Forged {
            number: "2016010110000019".into()
        }
    );
}

#[test]
fn foreign_message_ids_are_not_ours() {
    let s = signer();
    for id in [
        "",
        "CAF=abc@mail.gmail.com",
        "20160101.abcdefghijkl@company.example",
        "x2016.abcdefghijkl.0123456789abcdef@company.example",
        "2016.abcdefghijkw.0123456789abcdef@company.example", // 'w' is not base32hex
        "2016.abcdefghijk.0123456789abcdef@company.example",  // 11 random chars
        "2016.abcdefghijkl.0123456789abcdeg@company.example",
        "2016.abcdefghijkl.0123456789abcdef.x@company.example",
        "2016.abcdefghijkl.0123456789abcdef",
        "ü.abcdefghijkl.0123456789abcdef@company.example",
    ] {
        assert_eq!(
            s.check_message_id(id, &domains(), NOW),
            IdVerdict::NotOurs,
            "{id}"
        );
    }
    let long = format!(
        "{}.abcdefghijkl.0123456789abcdef@company.example",
        "1".repeat(65)
    );
    assert_eq!(
        s.check_message_id(&long, &domains(), NOW),
        IdVerdict::NotOurs
    );
}

#[test]
fn reply_address_round_trip() {
    let s = signer();
    let a = s.reply_address("support@company.example", "2016010110000019", false);
    assert!(a.starts_with("support+2016010110000019-"), "{a}");
    assert!(a.ends_with("@company.example"));
    assert_eq!(
        a.len(),
        "support+2016010110000019-".len() + 16 + "@company.example".len()
    );
    let want = ReplyCheck::Valid(ReplyTarget {
        number: "2016010110000019".into(),
        note: false,
        base: "support@company.example".into(),
        agent: None,
    });
    assert_eq!(s.parse_reply_address(&a, &[], NOW), want);
    assert_eq!(s.parse_reply_address(&a.to_uppercase(), &[], NOW), want);
    assert_eq!(
        s.parse_reply_address(&format!("Support Desk <{a}>"), &[], NOW),
        want
    );

    let n = s.reply_address("Support+old@Company.Example", "42", true);
    assert!(n.starts_with("Support+42-note-"), "{n}");
    let want = ReplyCheck::Valid(ReplyTarget {
        number: "42".into(),
        note: true,
        base: "support@company.example".into(),
        agent: None,
    });
    assert_eq!(s.parse_reply_address(&n, &[], NOW), want);
    assert_eq!(s.parse_reply_address(&n.to_uppercase(), &[], NOW), want);
}

#[test]
fn tampered_reply_addresses_are_forged() {
    let s = signer();
    let a = s.reply_address("support@company.example", "2016010110000019", false);
    let n = s.reply_address("support@company.example", "2016010110000019", true);
    let forged = |n: &str| ReplyCheck::Forged { number: n.into() };
    assert_eq!(
        s.parse_reply_address(&tamper(&a, 10), &[], NOW),
        forged("2006010110000019")
    );
    assert_eq!(
        s.parse_reply_address(&tamper(&a, 30), &[], NOW),
        forged("2016010110000019")
    );
    // A reply MAC does not work as a note MAC, nor the other way round.
    let swapped = a.replace("19-", "19-note-");
    assert_eq!(
        s.parse_reply_address(&swapped, &[], NOW),
        forged("2016010110000019")
    );
    let swapped = n.replace("-note-", "-");
    assert_eq!(
        s.parse_reply_address(&swapped, &[], NOW),
        forged("2016010110000019")
    );
    assert_eq!(
        Signer::new(b"other").parse_reply_address(&a, &[], NOW),
        forged("2016010110000019")
    );
}

#[test]
fn other_addresses_are_not_replies() {
    let s = signer();
    for a in [
        "",
        "support@company.example",
        "support+billing@company.example",
        "support+123@company.example",
        "support+123-abc@company.example",
        "support+123-0123456789abcdef",
        "+123-0123456789abcdef@company.example",
        "support+12a-0123456789abcdef@company.example",
        "support+123-memo-0123456789abcdef@company.example",
        "support+123-0123456789abcdef0@company.example",
        "Name <support@company.example>",
    ] {
        assert_eq!(
            s.parse_reply_address(a, &[], NOW),
            ReplyCheck::NotReply,
            "{a}"
        );
    }
}

#[test]
fn debug_hides_the_key() {
    assert!(!format!("{:?}", signer()).contains("0123"));
}

#[test]
fn an_agents_own_address_is_bound_to_the_agent() {
    let s = signer();
    let agents = vec![
        "alice@company.example".to_string(),
        "bob@company.example".to_string(),
    ];
    let a = s.agent_reply_address(
        "support@company.example",
        "42",
        "bob@company.example",
        false,
    );
    assert!(
        a.starts_with("support+42-") && a.ends_with("@company.example"),
        "{a}"
    );
    assert_ne!(a, s.reply_address("support@company.example", "42", false));
    let want = |note| {
        ReplyCheck::Valid(ReplyTarget {
            number: "42".into(),
            note,
            base: "support@company.example".into(),
            agent: Some("bob@company.example".into()),
        })
    };
    assert_eq!(s.parse_reply_address(&a, &agents, NOW), want(false));
    let n = s.agent_reply_address("support@company.example", "42", "bob@company.example", true);
    assert_eq!(s.parse_reply_address(&n, &agents, NOW), want(true));
    // Without bob among the agents (removed from the configuration) it verifies as nothing.
    assert_eq!(
        s.parse_reply_address(&a, &agents[..1], NOW),
        ReplyCheck::Forged {
            number: "42".into()
        }
    );
    // An agent's MAC is not the shared one for another ticket, nor a note's.
    let other = a.replace("+42-", "+43-");
    assert!(matches!(
        s.parse_reply_address(&other, &agents, NOW),
        ReplyCheck::Forged { .. }
    ));
    let as_note = a.replace("+42-", "+42-note-");
    assert!(matches!(
        s.parse_reply_address(&as_note, &agents, NOW),
        ReplyCheck::Forged { .. }
    ));
}

#[test]
fn a_retired_key_verifies_until_its_grace_ends_and_signs_nothing() {
    let old = signer();
    let addr = old.reply_address("support@company.example", "42", false);
    let own = old.agent_reply_address(
        "support@company.example",
        "42",
        "alice@company.example",
        false,
    );
    let id = id("42");
    let agents = vec!["alice@company.example".to_string()];
    let until = NOW + 30 * 86_400;
    let new = Signer::new(b"a new key, thirty-two bytes long")
        .with_retired(b"0123456789abcdef0123456789abcdef", until);
    for t in [NOW, until - 1] {
        assert!(matches!(
            new.parse_reply_address(&addr, &agents, t),
            ReplyCheck::Valid(_)
        ));
        assert!(matches!(
            new.parse_reply_address(&own, &agents, t),
            ReplyCheck::Valid(_)
        ));
        assert_eq!(
            new.check_message_id(&id, &domains(), t),
            IdVerdict::Ours("42".into())
        );
    }
    assert!(matches!(
        new.parse_reply_address(&addr, &agents, until),
        ReplyCheck::Forged { .. }
    ));
    assert!(matches!(
        new.parse_reply_address(&own, &agents, until),
        ReplyCheck::Forged { .. }
    ));
    assert!(matches!(
        new.check_message_id(&id, &domains(), until),
        IdVerdict::Forged { .. }
    ));
    // The new key signs.
    assert_ne!(
        new.reply_address("support@company.example", "42", false),
        addr
    );
}
