//! Who counts as an agent: each agent's notices carry a reply address bound to that agent (a
//! leaked copy works with no other From), the queue's shared address in the stored copies works
//! with the queue's agents' From, `[agents] require-proof` asks the site's MTA for proof in
//! Received and Authentication-Results headers of the shape Postfix and OpenDKIM write, and
//! `postdesk secret rotate` keeps old addresses working for the grace period only.

use std::fs;
use std::path::Path;

use crate::harness::{drop_mail, files_in, post, Desk};
use crate::outgoing::{header, only_ticket};

const BOB: &str =
    "[[agent]]\nname = \"Bob Agent\"\naddress = \"bob@company.example\"\nqueues = [\"Support\"]\n";

/// Notices as a copy to each agent, with that agent's own reply address.
const COPY: &str = "[autoresponse]\nagent-notice = \"copy\"\n";

/// Postfix's Received header for mail submitted with SMTP AUTH as `login`
/// (`smtpd_sasl_authenticated_header = yes`).
fn submitted(login: &str) -> String {
    format!("Received: from [192.168.7.20] (unknown [192.168.7.20])\r\n\t(Authenticated sender: {login})\r\n\tby mail.company.example (Postfix) with ESMTPSA id 4Xk2Lq0Ffz2xS\r\n\tfor <support@company.example>; Sun,  1 Mar 2026 10:00:00 +0100 (CET)\r\n")
}

/// Postfix's Received header for mail from the internet, with OpenDKIM's result below it.
fn from_outside(dkim_domain: &str) -> String {
    format!("Received: from mail-ej1-f41.google.com (mail-ej1-f41.google.com [209.85.218.41])\r\n\tby mail.company.example (Postfix) with ESMTPS id 4Xk2Lq0Ffz2xT\r\n\tfor <support@company.example>; Sun,  1 Mar 2026 10:00:00 +0100 (CET)\r\nAuthentication-Results: mail.company.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d={dkim_domain} header.i=@{dkim_domain} header.b=\"Ab3dEf9h\";\r\n\tdkim-atps=neutral\r\n")
}

/// A stranger's mail: the site's Received header on top, the forged proof below it.
fn forged_below() -> String {
    format!(
        "Received: from evil.example (evil.example [203.0.113.9])\r\n\tby mail.company.example (Postfix) with ESMTP id 4Xk2Lq0Ffz2xU\r\n\tfor <support@company.example>; Sun,  1 Mar 2026 10:00:00 +0100 (CET)\r\n{}",
        submitted("alice@company.example")
    )
}

fn agent_mail(trace: &str, from: &str, to: &str, n: &str, id: &str) -> Vec<u8> {
    format!("{trace}From: {from}\r\nTo: {to}\r\nSubject: Re: [Ticket#{n}] Printer\r\nMessage-ID: <{id}@company.example>\r\nDate: Sun, 01 Mar 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n#close\r\nDone.\r\n").into_bytes()
}

/// A customer's mail opens a ticket; its number.
fn opened(desk: &Desk, md: &Path) -> String {
    post(
        md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Printer",
        "p1@example.org",
        "",
        "It jams.",
    );
    desk.drain(md);
    only_ticket(desk)
}

/// The Reply-To of the stored copy all of the queue's agents read.
fn shared_address(desk: &Desk, n: &str) -> String {
    let show = desk.show(n);
    let stored = fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    header(&stored, "Reply-To").unwrap()
}

/// The Reply-To of the newest notice `agent` received (the local outbox).
fn notice_address(desk: &Desk, agent: &str) -> String {
    let notices: Vec<String> = files_in(&desk.data.join("outbox/new"))
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .filter(|m| header(m, "To").is_some_and(|to| to.contains(agent)))
        .collect();
    let last = notices
        .last()
        .unwrap_or_else(|| panic!("no notice to {agent}"));
    header(last, "Reply-To").unwrap()
}

/// What `explain` says of a message.
fn explain(desk: &Desk, bytes: &[u8]) -> String {
    let f = desk.path().join("explain.eml");
    fs::write(&f, bytes).unwrap();
    desk.ok(&["explain", f.to_str().unwrap()])
}

fn agent_articles(desk: &Desk, n: &str) -> usize {
    desk.show(n)["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["direction"] == "agent")
        .count()
}

#[test]
fn a_leaked_own_address_works_only_with_its_agents_from() {
    let desk = Desk::with("", &format!("{COPY}{BOB}"));
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    let alices = notice_address(&desk, "alice@company.example");
    let bobs = notice_address(&desk, "bob@company.example");
    let shared = shared_address(&desk, &n);
    assert!(alices.contains(&format!("support+{n}-")), "{alices}");
    assert_ne!(alices, bobs, "each agent has an address of their own");
    assert_ne!(alices, shared);

    // Alice's address, leaked, with Bob's From or a stranger's: customer mail.
    let as_bob = agent_mail("", "bob@company.example", &alices, &n, "l1");
    let said = explain(&desk, &as_bob);
    assert!(
        said.contains("agent Alice Agent's own reply address")
            && said.contains("handled as customer mail"),
        "{said}"
    );
    let stranger = agent_mail("", "mallory@evil.example", &alices, &n, "l2");
    assert!(explain(&desk, &stranger).contains("but mallory@evil.example is not an agent"));
    drop_mail(&md, &as_bob);
    drop_mail(&md, &stranger);
    desk.drain(&md);
    assert_eq!(desk.show(&n)["state"], "open", "no command ran");
    assert_eq!(agent_articles(&desk, &n), 0);
    // Both filed as customers' mail: strangers to the ticket, so new tickets that record it.
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    let froms: Vec<String> = tickets
        .iter()
        .filter(|t| t["number"] != n.as_str())
        .map(|t| desk.incoming(t["number"].as_str().unwrap())[0]["from"].to_string())
        .collect();
    assert!(
        froms.iter().any(|f| f.contains("mallory@evil.example"))
            && froms.iter().any(|f| f.contains("bob@company.example")),
        "{froms:?}"
    );

    // Bob with his own address: his answer, his command.
    let said = explain(
        &desk,
        &agent_mail("", "bob@company.example", &bobs, &n, "b1"),
    );
    assert!(
        said.contains("the agent's own reply address of ticket")
            && said.contains("by agent Bob Agent"),
        "{said}"
    );
    // The shared address of the stored copy works with any of the queue's agents' From.
    let said = explain(
        &desk,
        &agent_mail("", "alice@company.example", &shared, &n, "a1"),
    );
    assert!(said.contains("the queue's shared reply address"), "{said}");
    drop_mail(&md, &agent_mail("", "bob@company.example", &bobs, &n, "b2"));
    desk.drain(&md);
    assert_eq!(agent_articles(&desk, &n), 1);
    assert_eq!(desk.show(&n)["state"], "closed");
}

#[test]
fn with_proof_required_agent_mail_needs_the_sites_word() {
    let desk = Desk::with(
        "",
        "[agents]\nrequire-proof = \"either\"\nauthserv-id = \"mail.company.example\"\n",
    );
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    let to = notice_address(&desk, "alice@company.example");
    let alice = "Alice Agent <alice@company.example>";

    // No proof, a forged one below the site's Received header, DKIM for another domain:
    // customer mail, and explain says what was missing.
    for (trace, lacks) in [
        (String::new(), "no proof trusted: 0 Received header(s)"),
        (forged_below(), "no proof from mail.company.example"),
        (from_outside("gmail.com"), "found dkim=pass for gmail.com"),
    ] {
        let said = explain(&desk, &agent_mail(&trace, alice, &to, &n, "x"));
        assert!(
            said.contains(lacks) && said.contains("handled as customer mail"),
            "{lacks}: {said}"
        );
    }
    drop_mail(&md, &agent_mail(&forged_below(), alice, &to, &n, "f1"));
    drop_mail(&md, &agent_mail("", alice, &to, &n, "f2"));
    desk.drain(&md);
    assert_eq!(desk.show(&n)["state"], "open", "no command ran");
    assert_eq!(agent_articles(&desk, &n), 0);

    // Postfix's word on the SMTP AUTH login (the agent's login defaults to the address), or
    // OpenDKIM's dkim=pass for the agent's domain.
    let said = explain(
        &desk,
        &agent_mail(&submitted("alice@company.example"), alice, &to, &n, "x"),
    );
    assert!(
        said.contains("proven by SMTP AUTH as alice@company.example (Received header of mail.company.example)"),
        "{said}"
    );
    let said = explain(
        &desk,
        &agent_mail(&from_outside("company.example"), alice, &to, &n, "x"),
    );
    assert!(
        said.contains("proven by dkim=pass for company.example"),
        "{said}"
    );
    // Another agent's login is no proof for Alice.
    let said = explain(
        &desk,
        &agent_mail(&submitted("bob@company.example"), alice, &to, &n, "x"),
    );
    assert!(said.contains("handled as customer mail"), "{said}");

    drop_mail(
        &md,
        &agent_mail(&submitted("alice@company.example"), alice, &to, &n, "ok1"),
    );
    desk.drain(&md);
    assert_eq!(agent_articles(&desk, &n), 1);
    assert_eq!(desk.show(&n)["state"], "closed");
}

#[test]
fn after_a_rotation_old_addresses_work_for_the_grace_period_only() {
    let desk = Desk::with("", &format!("{COPY}[outgoing]\nsecret-grace-days = 30\n"));
    let md = desk.maildir("in");
    let n = opened(&desk, &md);
    let old_own = notice_address(&desk, "alice@company.example");
    let old_shared = shared_address(&desk, &n);
    let secret = desk.data.join("secret");
    let before = fs::read_to_string(&secret).unwrap();

    let said = desk.ok(&["secret", "rotate"]);
    assert!(
        said.contains("the replaced key is accepted until"),
        "{said}"
    );
    let after = fs::read_to_string(&secret).unwrap();
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines.len(), 2, "{after}");
    assert_ne!(lines[0], before.trim());
    assert!(lines[1].starts_with("retired ") && lines[1].ends_with(before.trim()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Within the grace period both old addresses work; new notices carry new addresses.
    let alice = "alice@company.example";
    for to in [&old_own, &old_shared] {
        let said = explain(&desk, &agent_mail("", alice, to, &n, "g"));
        assert!(said.contains("(verified) by agent Alice Agent"), "{said}");
    }
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        &format!("Re: [Ticket#{n}] Printer"),
        "p2@example.org",
        "",
        "Still jams.",
    );
    desk.drain(&md);
    let new_own = notice_address(&desk, alice);
    assert_ne!(new_own, old_own);
    assert!(
        explain(&desk, &agent_mail("", alice, &new_own, &n, "g")).contains("by agent Alice Agent")
    );

    // 31 days later (the retirement moved back, as the clock would): the old ones are forged.
    let retired = lines[1].split_whitespace().nth(1).unwrap();
    let earlier = (chrono::DateTime::parse_from_rfc3339(retired).unwrap()
        - chrono::Duration::days(31))
    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    fs::write(&secret, after.replace(retired, &earlier)).unwrap();
    for to in [&old_own, &old_shared] {
        let said = explain(&desk, &agent_mail("", alice, to, &n, "g"));
        assert!(said.contains("forged reply address"), "{said}");
    }
    drop_mail(&md, &agent_mail("", alice, &old_own, &n, "late"));
    desk.drain(&md);
    assert_eq!(desk.show(&n)["state"], "open", "no command ran");
    assert_eq!(agent_articles(&desk, &n), 0);
    assert!(
        explain(&desk, &agent_mail("", alice, &new_own, &n, "g")).contains("by agent Alice Agent")
    );
}

#[test]
fn the_daemon_signs_with_the_new_key_after_a_reload() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        let t = Instant::now();
        while !f() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let desk = Desk::with(
        "",
        "[intake]\nrescan-seconds = 1\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n",
    );
    let md = desk.maildir("inbox");
    let mut child = desk
        .cmd()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let notices = || {
        files_in(&desk.data.join("outbox/new"))
            .iter()
            .map(|f| fs::read_to_string(f).unwrap())
            .filter(|m| header(m, "X-Postdesk-Note-Address").is_some())
            .count()
    };
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Printer",
        "d1@example.org",
        "",
        "It jams.",
    );
    wait_for("the first notice", &|| notices() == 1);
    let n = only_ticket(&desk);
    let before = notice_address(&desk, "alice@company.example");

    desk.ok(&["secret", "rotate"]);
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    std::thread::sleep(Duration::from_millis(800));
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        &format!("Re: [Ticket#{n}] Printer"),
        "d2@example.org",
        "",
        "Still jams.",
    );
    wait_for("the second notice", &|| notices() == 2);
    let after = notice_address(&desk, "alice@company.example");
    let _ = child.kill();
    let _ = child.wait();
    assert_ne!(before, after, "the reloaded daemon signs with the new key");
    // Both work: the new one under the current key, the old one in its grace period.
    for to in [&before, &after] {
        let said = explain(&desk, &agent_mail("", "alice@company.example", to, &n, "d"));
        assert!(said.contains("by agent Alice Agent"), "{said}");
    }
}
