//! Agents' digests (`agent-notice = "digest"`): the events of customers' mail committed with the
//! mail, one digest per agent at most every `digest-minutes`, nothing lost to a rebuild of the
//! index or to kills, nothing sent twice.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::time::Duration;

use crate::harness::{files_in, post, Desk};
use crate::outgoing::{body, header, subject};

const BOB: &str =
    "[[agent]]\nname = \"Bob Agent\"\naddress = \"bob@company.example\"\nqueues = [\"Support\"]\n";

fn digest_desk(extra: &str) -> Desk {
    Desk::with(
        "",
        &format!(
            "[autoresponse]\nagent-notice = \"digest\"\n{extra}\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\nafter = \"seen\"\n{BOB}"
        ),
    )
}

/// The mails in the local outbox, each once (a kill at the handover may leave a second copy
/// with the same Message-ID).
fn sent(desk: &Desk) -> Vec<String> {
    let mut seen = HashSet::new();
    files_in(&desk.data.join("outbox/new"))
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .filter(|m| seen.insert(header(m, "Message-ID")))
        .collect()
}

/// Whether `m` is a digest, in English or German.
fn is_digest(m: &str) -> bool {
    let s = subject(m);
    s.starts_with("Digest:") || s.starts_with("Sammelmeldung:")
}

/// The digests in the local outbox, by recipient.
fn digests(desk: &Desk) -> HashMap<String, Vec<String>> {
    let mut by = HashMap::<String, Vec<String>>::new();
    for m in sent(desk) {
        if is_digest(&m) {
            by.entry(header(&m, "X-Postdesk-Envelope-To").unwrap())
                .or_default()
                .push(body(&m));
        }
    }
    by
}

/// The agents' per-event notices in the local outbox.
fn per_event_notices(desk: &Desk) -> usize {
    sent(desk)
        .iter()
        .filter(|m| {
            header(m, "Auto-Submitted").as_deref() == Some("auto-generated") && !is_digest(m)
        })
        .count()
}

/// As if `minutes` had passed since every agent's last digest.
fn later(desk: &Desk, minutes: i64) {
    let made =
        match desk.pg_url {
            None => desk.data.join("index.sqlite").exists(),
            Some(_) => desk.index_count(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'digest_agents'",
            ) == 1,
        };
    if !made {
        return;
    }
    desk.index_exec(&format!(
        "UPDATE digest_agents SET sent = sent - {} WHERE sent IS NOT NULL",
        minutes * 60
    ));
}

fn waiting(desk: &Desk) -> i64 {
    desk.index_count("SELECT count(*) FROM digest_waiting")
}

#[test]
fn one_digest_per_agent_names_every_ticket_and_the_next_waits_its_interval() {
    let desk = digest_desk("");
    let md = desk.maildir("inbox");
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Printer jams",
        "d1@example.org",
        "",
        "The printer jams.\r\nline 2\r\nline 3\r\nline 4\r\nline 5 is not shown",
    );
    post(
        &md,
        "Max <max@example.org>",
        "support@company.example",
        "Scanner broken",
        "d2@example.org",
        "",
        "The scanner is broken.",
    );
    post(
        &md,
        "Jane Doe <jane@example.org>",
        "support@company.example",
        "Re: Printer jams",
        "d3@example.org",
        "In-Reply-To: <d1@example.org>\r\n",
        "It still jams.",
    );
    let out = desk.ok(&["run", "--once"]);
    assert!(out.contains("agents' digests: 2 digest(s)"), "{out}");
    assert_eq!(desk.tickets().len(), 2);
    let (printer, scanner) = (
        desk.number_of("Printer jams"),
        desk.number_of("Scanner broken"),
    );
    let got = digests(&desk);
    assert_eq!(got.len(), 2, "{got:#?}");
    for agent in ["alice@company.example", "bob@company.example"] {
        let mine = &got[agent];
        assert_eq!(mine.len(), 1, "{agent}: {mine:#?}");
        let d = &mine[0];
        for n in [&printer, &scanner] {
            assert!(d.contains(&format!("[Ticket#{n}]")), "{agent}: {d}");
        }
        // The printer's follow-up is the newest event: its ticket comes first, its follow-up
        // before its opening.
        let (p, s) = (d.find(&printer).unwrap(), d.find(&scanner).unwrap());
        assert!(p < s, "{d}");
        let (f, o) = (
            d.find("It still jams").unwrap(),
            d.find("The printer jams").unwrap(),
        );
        assert!(f < o, "{d}");
        assert!(d.contains("> line 4"), "{d}");
        assert!(!d.contains("line 5"), "{d}");
        assert!(d.contains(&format!("Tickets/Support/{printer}")), "{d}");
    }
    assert_eq!(per_event_notices(&desk), 0);
    let history = desk.show(&printer)["history"].to_string();
    let told: Vec<&str> = history
        .split("agents notified in the next digest (")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap())
        .collect();
    assert_eq!(told.len(), 2, "{history}");
    for t in told {
        assert!(
            t.contains("alice@company.example") && t.contains("bob@company.example"),
            "{history}"
        );
    }
    let log = desk.mail_log();
    assert_eq!(
        log.matches("agents notified in the next digest").count(),
        3,
        "{log}"
    );

    // Within the interval: filed, recorded, not sent; also not lost to a rebuild.
    post(
        &md,
        "Ann <ann@example.org>",
        "support@company.example",
        "Monitor flickers",
        "d4@example.org",
        "",
        "It flickers.",
    );
    let out = desk.ok(&["run", "--once"]);
    assert!(!out.contains("agents' digests"), "{out}");
    let got = digests(&desk);
    assert!(got.values().all(|d| d.len() == 1), "{got:#?}");
    assert_eq!(waiting(&desk), 2);
    desk.ok(&["reindex"]);
    desk.fsck_clean();
    assert_eq!(waiting(&desk), 2);
    let monitor = desk.number_of("Monitor flickers");
    assert!(desk.show(&monitor)["history"]
        .to_string()
        .contains("agents notified in the next digest"));

    // The interval over: the next digest lists what waited, and only that.
    later(&desk, 15);
    let out = desk.ok(&["run", "--once"]);
    assert!(
        out.contains("agents' digests: 2 digest(s) with 2 event(s)"),
        "{out}"
    );
    let got = digests(&desk);
    for agent in ["alice@company.example", "bob@company.example"] {
        let mine = &got[agent];
        assert_eq!(mine.len(), 2, "{agent}: {mine:#?}");
        let newest = mine.iter().find(|d| d.contains(&monitor)).unwrap();
        assert!(
            !newest.contains(&printer) && !newest.contains(&scanner),
            "{newest}"
        );
    }
    assert_eq!(waiting(&desk), 0);
    assert_eq!(per_event_notices(&desk), 0);
    desk.fsck_clean();
}

/// A digest lists at most 500 events, the oldest; the rest come in the next one.
#[test]
fn a_digest_lists_at_most_500_events_and_the_rest_come_next() {
    let desk = digest_desk("");
    let md = desk.maildir("inbox");
    for i in 0..502 {
        post(
            &md,
            &format!("c{i}@example.org"),
            "support@company.example",
            &format!("Frage {i}"),
            &format!("m{i}@example.org"),
            "",
            &format!("Text {i}."),
        );
    }
    let out = desk.ok(&["run", "--once"]);
    assert!(out.contains("2 digest(s) with 1000 event(s)"), "{out}");
    assert_eq!(waiting(&desk), 4);
    let first = &digests(&desk)["bob@company.example"][0];
    assert!(first.contains("> Text 499."), "the oldest 500 are listed");
    assert!(!first.contains("> Text 500."));
    assert!(first.contains("it comes in your next digest"), "{first}");
    later(&desk, 15);
    let out = desk.ok(&["run", "--once"]);
    assert!(out.contains("2 digest(s) with 4 event(s)"), "{out}");
    let bob = &digests(&desk)["bob@company.example"];
    let second = bob.iter().find(|d| d.contains("> Text 501.")).unwrap();
    assert!(
        second.contains("> Text 500.") && !second.contains("next digest"),
        "{second}"
    );
    assert_eq!(waiting(&desk), 0);
}

/// A queue's own `agent-notice` overrides `[autoresponse]`'s.
#[test]
fn a_queue_may_collect_its_notices_into_digests_alone() {
    let desk = Desk::with("", "[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\n");
    let cfg = fs::read_to_string(&desk.config).unwrap().replace(
        "name = \"Billing\"\n",
        "name = \"Billing\"\nautoresponse = { agent-notice = \"digest\" }\n",
    );
    fs::write(&desk.config, cfg).unwrap();
    let md = desk.maildir("inbox");
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "Pointer",
        "q1@example.org",
        "",
        "x",
    );
    post(
        &md,
        "b@example.org",
        "billing@company.example",
        "Digest",
        "q2@example.org",
        "",
        "y",
    );
    desk.ok(&["run", "--once"]);
    let got = digests(&desk);
    let alice = &got["alice@company.example"];
    assert_eq!(alice.len(), 1);
    // Billing's events only: in Billing's language.
    let german: Vec<String> = sent(&desk)
        .iter()
        .filter(|m| is_digest(m))
        .map(|m| subject(m))
        .collect();
    assert_eq!(
        german,
        ["Sammelmeldung: 1 Nachricht von Kunden in 1 Ticket"]
    );
    assert!(alice[0].contains(&desk.number_of("Digest")), "{}", alice[0]);
    assert!(
        !alice[0].contains(&desk.number_of("Pointer")),
        "{}",
        alice[0]
    );
    // Support's mail: one pointer to Alice.
    assert_eq!(per_event_notices(&desk), 1);
}

#[test]
fn digest_minutes_is_checked() {
    for bad in ["0", "1441"] {
        let desk = digest_desk(&format!("digest-minutes = {bad}"));
        let out = desk.run(&["check"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("digest-minutes is 1..=1440"), "{err}");
    }
    let desk = digest_desk("digest-minutes = 1440");
    let out = desk.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("digest"), "{err}");
}

/// Kill -9 at random points while mail is filed and digests are made and sent, in rounds of
/// mail each after a digest's interval: every event reaches each of the queue's agents in
/// exactly one digest (a digest handed over twice by a kill carries one Message-ID).
#[test]
fn kills_lose_no_event_and_send_none_twice() {
    let desk = digest_desk("[intake]\nbatch-size = 8\n");
    let md = desk.maildir("inbox");
    const ROUNDS: usize = 8;
    const PER_ROUND: usize = 40;
    const N: usize = ROUNDS * PER_ROUND;
    let mut x: u64 = 0x005E_EDD1_6E57;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut kills = 0;
    let mut span = 250;
    for round in 0..ROUNDS {
        for i in round * PER_ROUND..(round + 1) * PER_ROUND {
            let (subject, extra) = match i {
                i if i > 10 && i % 3 == 0 => (
                    format!("Re: Frage {}", i / 2),
                    format!("In-Reply-To: <k{}@example.org>\r\n", i / 2),
                ),
                _ => (format!("Frage {i}"), String::new()),
            };
            post(
                &md,
                &format!("c{}@example.org", i % 50),
                "support@company.example",
                &subject,
                &format!("k{i}@example.org"),
                &extra,
                &format!("Text {i}."),
            );
        }
        // The last digest's interval is over: this round's run makes the next.
        later(&desk, 15);
        // A run that ended before its kill came shows how short runs are on this machine now:
        // the next delays are drawn from a shorter span.
        let delay = Duration::from_millis(5 + next() % span);
        let killed = desk.run_with_kills(&md, 1, || delay);
        if killed == 0 {
            span = (span * 2 / 3).max(10);
        }
        kills += killed;
    }
    assert!(
        kills >= 4,
        "the test must actually kill runs (killed {kills})"
    );
    eprintln!("digests: {kills} of {ROUNDS} runs killed");
    // Whatever waits now goes out once its interval is over.
    later(&desk, 15);
    desk.ok(&["run", "--once"]);
    assert_eq!(waiting(&desk), 0);
    let got = digests(&desk);
    for agent in ["alice@company.example", "bob@company.example"] {
        let mut told = HashMap::<usize, usize>::new();
        for d in &got[agent] {
            for i in 0..N {
                if d.contains(&format!("> Text {i}.")) {
                    *told.entry(i).or_default() += 1;
                }
            }
        }
        let missing: Vec<usize> = (0..N).filter(|i| !told.contains_key(i)).collect();
        let twice: Vec<(&usize, &usize)> = told.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            missing.is_empty(),
            "{agent}: events never told: {missing:?}"
        );
        assert!(twice.is_empty(), "{agent}: events told twice: {twice:?}");
    }
    assert_eq!(per_event_notices(&desk), 0);
    assert_eq!(desk.staged_files(), 0);
    desk.fsck_clean();
    eprintln!(
        "digests across kills: {kills} kills, {N} mails, {} digests to alice",
        got["alice@company.example"].len()
    );
}
