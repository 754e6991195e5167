//! Tests for `proof`, with headers of the shape Postfix, OpenDKIM and OpenDMARC write.

use super::authres::{authenticated_sender, parse};
use super::*;

const ID: &str = "mail.company.example";

fn cfg(require: Require, trusted_received: usize) -> ProofConfig {
    ProofConfig {
        require_proof: require,
        authserv_id: ID.into(),
        trusted_received,
    }
}

/// Header lines as they stand in a message (`Name: value`, continuation lines indented), to
/// the trace list `Facts` holds: names lowercased, values unfolded.
fn trace(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').unwrap();
            out.push((n.to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out.retain(|(n, _)| n == "received" || n == "authentication-results");
    out
}

fn alice() -> Claimed<'static> {
    Claimed {
        login: "alice",
        address: "alice@company.example",
    }
}

/// Alice sends through the site's submission service; Postfix delivers to postdesk.
const SUBMITTED: &str = "Received: from [192.168.7.20] (unknown [192.168.7.20])
\t(Authenticated sender: alice)
\tby mail.company.example (Postfix) with ESMTPSA id 4Xk2Lq0Ffz2xS
\tfor <support+2026030110000019-0123456789abcdef@company.example>; Sun,  1 Mar 2026 10:00:00 +0100 (CET)
Message-ID: <a1@company.example>
";

/// Alice writes from her phone's provider; OpenDMARC and OpenDKIM insert their results right
/// below Postfix's Received header (milter header position 1).
const FROM_OUTSIDE: &str = "Received: from mail-ej1-f41.google.com (mail-ej1-f41.google.com [209.85.218.41])
\tby mail.company.example (Postfix) with ESMTPS id 4Xk2Lq0Ffz2xT
\tfor <support+2026030110000019-0123456789abcdef@company.example>; Sun,  1 Mar 2026 10:00:00 +0100 (CET)
Authentication-Results: mail.company.example; dmarc=pass (p=none dis=none) header.from=company.example
Authentication-Results: mail.company.example;
\tdkim=pass (2048-bit key; unprotected) header.d=company.example header.i=@company.example header.b=\"Ab3dEf9h\";
\tdkim-atps=neutral
Received: by mail-ej1-f41.google.com with SMTP id a640c23a62f3a-a9a0ec0a94fso1;
\tSun, 01 Mar 2026 01:00:00 -0800 (PST)
";

/// A stranger forges what the site would write, below the site's own Received header.
const FORGED: &str = "Received: from evil.example (evil.example [203.0.113.9])
\tby mail.company.example (Postfix) with ESMTP id 4Xk2Lq0Ffz2xU
\tfor <support+2026030110000019-0123456789abcdef@company.example>; Sun,  1 Mar 2026 10:00:00 +0100 (CET)
Received: from [192.168.7.20] (unknown [192.168.7.20])
\t(Authenticated sender: alice)
\tby mail.company.example (Postfix) with ESMTPSA id 4Xk2Lq0Ffz2xV
Received: from localhost by evil.example
Authentication-Results: mail.company.example; dkim=pass header.d=company.example
";

#[test]
fn postfix_authenticated_sender_proves_smtp_auth() {
    let got = check(&cfg(Require::SmtpAuth, 1), &trace(SUBMITTED), &alice());
    assert_eq!(
        got,
        Proof::Proven("SMTP AUTH as alice (Received header of mail.company.example)".into())
    );
    assert!(matches!(
        check(&cfg(Require::Either, 1), &trace(SUBMITTED), &alice()),
        Proof::Proven(_)
    ));
    // Another agent's login is no proof for alice.
    let bob = Claimed {
        login: "bob",
        address: "bob@company.example",
    };
    assert_eq!(
        check(&cfg(Require::SmtpAuth, 1), &trace(SUBMITTED), &bob),
        Proof::Missing(
            "no proof from mail.company.example: wanted SMTP AUTH as bob, found SMTP AUTH as alice (Received header)".into()
        )
    );
    // SMTP AUTH is not DKIM.
    assert!(matches!(
        check(&cfg(Require::Dkim, 1), &trace(SUBMITTED), &alice()),
        Proof::Missing(_)
    ));
}

#[test]
fn opendkim_results_below_postfixs_received_prove_dkim() {
    let got = check(&cfg(Require::Dkim, 1), &trace(FROM_OUTSIDE), &alice());
    assert_eq!(
        got,
        Proof::Proven(
            "dkim=pass for company.example (Authentication-Results of mail.company.example)".into()
        )
    );
    assert!(matches!(
        check(&cfg(Require::SmtpAuth, 1), &trace(FROM_OUTSIDE), &alice()),
        Proof::Missing(_)
    ));
    // The domain must be the agent's.
    let carla = Claimed {
        login: "carla",
        address: "carla@partner.example",
    };
    assert!(matches!(
        check(&cfg(Require::Dkim, 1), &trace(FROM_OUTSIDE), &carla),
        Proof::Missing(m) if m.contains("found dkim=pass for company.example")
    ));
}

#[test]
fn forgeries_below_the_sites_received_header_prove_nothing() {
    for require in [Require::SmtpAuth, Require::Dkim, Require::Either] {
        assert!(
            matches!(
                check(&cfg(require, 1), &trace(FORGED), &alice()),
                Proof::Missing(_)
            ),
            "{require:?}"
        );
    }
    // With trusted-received = 2 the forged Received header would be read as the site's: the
    // setting must match the site's path, which is why it defaults to 1.
    assert!(matches!(
        check(&cfg(Require::SmtpAuth, 2), &trace(FORGED), &alice()),
        Proof::Proven(_)
    ));
}

#[test]
fn dovecot_lmtps_received_header_counts_as_the_sites() {
    let lmtp = format!(
        "Received: from mail.company.example\n\tby mail.company.example with LMTP\n\tid kJ3aBQ2r4mUbHwAAyK8b5Q\n\t(envelope-from <alice@company.example>); Sun, 01 Mar 2026 10:00:01 +0100\n{SUBMITTED}"
    );
    assert!(matches!(
        check(&cfg(Require::SmtpAuth, 1), &trace(&lmtp), &alice()),
        Proof::Missing(_)
    ));
    assert!(matches!(
        check(&cfg(Require::SmtpAuth, 2), &trace(&lmtp), &alice()),
        Proof::Proven(_)
    ));
}

#[test]
fn other_authserv_ids_failures_and_missing_received_headers() {
    let other = FROM_OUTSIDE.replace(
        "Authentication-Results: mail.company.example;\n",
        "Authentication-Results: mx.elsewhere.example;\n",
    );
    assert!(matches!(
        check(&cfg(Require::Dkim, 1), &trace(&other), &alice()),
        Proof::Missing(_)
    ));
    let failed = FROM_OUTSIDE.replace("dkim=pass (2048", "dkim=fail (2048");
    assert!(matches!(
        check(&cfg(Require::Dkim, 1), &trace(&failed), &alice()),
        Proof::Missing(_)
    ));
    let bare = "Authentication-Results: mail.company.example; dkim=pass header.d=company.example\n";
    assert_eq!(
        check(&cfg(Require::Dkim, 1), &trace(bare), &alice()),
        Proof::Missing(
            "no proof trusted: 0 Received header(s), fewer than agents.trusted-received = 1".into()
        )
    );
    assert_eq!(
        check(&cfg(Require::None, 1), &trace(bare), &alice()),
        Proof::NotRequired
    );
}

#[test]
fn an_auth_result_in_authentication_results_proves_smtp_auth() {
    let head = "Received: from x (x [192.168.7.20]) by mail.company.example with ESMTPSA\nAuthentication-Results: mail.company.example; auth=pass smtp.auth=Alice smtp.mailfrom=alice@company.example\n";
    assert!(matches!(
        check(&cfg(Require::SmtpAuth, 1), &trace(head), &alice()),
        Proof::Proven(p) if p.contains("Authentication-Results")
    ));
}

#[test]
fn authentication_results_parse() {
    let (id, r) = parse("mail.company.example 1; dkim=pass (2048-bit key; unprotected) header.d=company.example header.i=@company.example header.b=\"Ab3d\"; dkim-atps=neutral").unwrap();
    assert_eq!(id, "mail.company.example");
    assert_eq!(r.len(), 2);
    assert_eq!(
        (r[0].method.as_str(), r[0].result.as_str()),
        ("dkim", "pass")
    );
    assert_eq!(r[0].prop("header.d"), Some("company.example"));
    assert_eq!(r[0].prop("header.b"), Some("Ab3d"));
    assert_eq!(r[1].method, "dkim-atps");
    let (_, r) =
        parse("mail.company.example; spf/1=PASS reason=\"good; very\" smtp.mailfrom=x@y").unwrap();
    assert_eq!(
        (r[0].method.as_str(), r[0].result.as_str()),
        ("spf", "pass")
    );
    assert_eq!(
        r[0].props,
        [("smtp.mailfrom".to_string(), "x@y".to_string())]
    );
    assert_eq!(parse("mail.company.example; none").unwrap().1, []);
    for bad in [
        "",
        "; dkim=pass",
        "x; dkim",
        "x; dkim=pass (open",
        "x; dkim=pass header.d=\"open",
    ] {
        assert!(
            parse(bad).map(|(_, r)| r).unwrap_or_default().is_empty(),
            "{bad:?}"
        );
    }
}

#[test]
fn authenticated_sender_only_before_by() {
    assert_eq!(
        authenticated_sender("from [10.0.0.5] (unknown [10.0.0.5]) (Authenticated sender: alice@company.example) by mail.company.example (Postfix) with ESMTPSA id X"),
        Some("alice@company.example".into())
    );
    assert_eq!(
        authenticated_sender("from x (x [10.0.0.5]) by mail.company.example (Postfix) with ESMTP id X for <\"(Authenticated sender: alice)\"@company.example>"),
        None
    );
    assert_eq!(
        authenticated_sender(
            "from x (x [10.0.0.5]) by mail.company.example (Authenticated sender: alice)"
        ),
        None
    );
    assert_eq!(
        authenticated_sender("from x ((Authenticated sender: alice)"),
        None
    );
}
