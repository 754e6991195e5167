//! Data-driven matcher cases: each file in tests/match/ holds directives, a blank line, and the
//! raw mail. Directives: `ticket: NUMBER QUEUE open|closed PARTICIPANT...`, `article: MESSAGE-ID
//! NUMBER`, `policy: accept|accept-and-mark|new-ticket`, `duplicate: yes`, and `expect:` one of
//! `new QUEUE [refers NUMBER WHY]`, `follow-up NUMBER [stranger]`, `reopen NUMBER`,
//! `reject NUMBER`, `duplicate`.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::path::Path;

use super::*;
use crate::classify::{classify, OwnIdentity};
use crate::config::Config;
use crate::route::route;

#[derive(Default)]
struct Fake {
    tickets: HashMap<String, TicketRef>,
    messages: HashMap<String, String>,
    participants: HashSet<(String, String)>,
    duplicate: bool,
    /// What the autoresponse limits count: to the recipient in a day, to anyone in a minute.
    autoreplies: (u32, u32),
    /// What the directory says about any sender, and about any number.
    sender: crate::index::Sender,
    lines: crate::index::Lines,
}

impl Lookup for Fake {
    type Error = Infallible;
    fn ticket(&self, number: &str) -> Result<Option<TicketRef>, Infallible> {
        Ok(self.tickets.get(number).cloned())
    }
    fn ticket_of_message(&self, id: &str) -> Result<Option<String>, Infallible> {
        Ok(self.messages.get(id).cloned())
    }
    fn is_participant(&self, number: &str, address: &str) -> Result<bool, Infallible> {
        Ok(self
            .participants
            .contains(&(number.to_string(), address.to_string())))
    }
    fn duplicate(
        &self,
        _digest: &str,
        _message_id: Option<&str>,
    ) -> Result<Option<Duplicate>, Infallible> {
        Ok(self.duplicate.then(|| Duplicate::Article {
            ticket: "2016010110000019".into(),
        }))
    }
    fn autoreply_counts(&self, _: &str, _: i64) -> Result<(u32, u32), Infallible> {
        Ok(self.autoreplies)
    }
    fn notices_about(&self, _: &str, _: i64) -> Result<(u32, Option<i64>), Infallible> {
        Ok((0, None))
    }
    fn answer_parties(&self, _: &str) -> Result<crate::index::AnswerParties, Infallible> {
        Ok(Default::default())
    }
    fn directory_ticket(&self, _: &str) -> Result<crate::index::TicketParty, Infallible> {
        Ok(Default::default())
    }
    fn directory_sender(&self, _: &str) -> Result<crate::index::Sender, Infallible> {
        Ok(self.sender.clone())
    }
    fn directory_lines(&self, _: &str) -> Result<crate::index::Lines, Infallible> {
        Ok(self.lines.clone())
    }
    fn directory_organisation(
        &self,
        _: &str,
    ) -> Result<Option<crate::directory::Organisation>, Infallible> {
        Ok(None)
    }
    fn directory_only_service(&self) -> Result<Option<crate::people::Service>, Infallible> {
        Ok(None)
    }
}

const CONFIG: &str = r#"
[[queue]]
name = "Support"
addresses = ["support@company.example"]
[[queue]]
name = "Billing"
addresses = ["billing@company.example", "rechnung@company.example"]
on-closed = "new-ticket"
[[queue]]
name = "Phone"
addresses = ["phone@company.example"]
on-closed = "reject"
[[agent]]
name = "Alice"
address = "alice@company.example"
"#;

fn render(d: &Decision) -> String {
    match d {
        Decision::Duplicate(_) => "duplicate".into(),
        Decision::New {
            queue,
            refers: None,
        } => format!("new {queue}"),
        Decision::New {
            queue,
            refers: Some((n, why)),
        } => format!("new {queue} refers {n} {}", why.as_str()),
        Decision::FollowUp {
            ticket,
            reopen: true,
            ..
        } => format!("reopen {}", ticket.number),
        Decision::FollowUp {
            ticket,
            stranger: true,
            ..
        } => format!("follow-up {} stranger", ticket.number),
        Decision::FollowUp { ticket, .. } => format!("follow-up {}", ticket.number),
        Decision::Reject { ticket } => format!("reject {}", ticket.number),
        Decision::Agent { ticket, .. } => format!("agent {}", ticket.number),
        Decision::Request { queue, command } => format!("request {queue} {}", command.name()),
        Decision::Quarantine { reason } => format!("quarantine {reason}"),
    }
}

fn run_case(path: &Path) -> Result<(), String> {
    let text = std::fs::read(path).unwrap();
    let split = text
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or("no blank line after the directives")?;
    let (head, raw) = (
        String::from_utf8_lossy(&text[..split]).into_owned(),
        &text[split + 2..],
    );
    let cfg = Config::parse(CONFIG, Path::new("match.toml")).unwrap();
    let mut fake = Fake::default();
    let mut stranger = crate::config::StrangerPolicy::NewTicket;
    let mut expect = None;
    for line in head.lines() {
        let (key, value) = line
            .split_once(':')
            .ok_or(format!("bad directive {line:?}"))?;
        let words: Vec<&str> = value.split_whitespace().collect();
        match key.trim() {
            "ticket" => {
                let state = if words[2] == "closed" {
                    State::Closed
                } else {
                    State::Open
                };
                let t = TicketRef {
                    number: words[0].into(),
                    queue: words[1].into(),
                    state,
                };
                for p in &words[3..] {
                    fake.participants.insert((words[0].into(), p.to_string()));
                }
                fake.tickets.insert(words[0].into(), t);
            }
            "article" => {
                fake.messages.insert(words[0].into(), words[1].into());
            }
            "policy" => {
                stranger = match words[0] {
                    "accept" => crate::config::StrangerPolicy::Accept,
                    "accept-and-mark" => crate::config::StrangerPolicy::AcceptAndMark,
                    _ => crate::config::StrangerPolicy::NewTicket,
                }
            }
            "duplicate" => fake.duplicate = words == ["yes"],
            "expect" => expect = Some(words.join(" ")),
            other => return Err(format!("unknown directive {other}")),
        }
    }
    let Matched { plan, .. } = matched(&cfg, raw, stranger, &fake);
    let got = render(&plan.decision);
    let want = expect.ok_or("no expect: directive")?;
    if got != want {
        return Err(format!(
            "expected `{want}`, got `{got}`; steps: {:?}",
            plan.steps
        ));
    }
    if plan.steps.is_empty() {
        return Err("a plan without reasons".into());
    }
    Ok(())
}

/// What the matcher made of `raw` under `cfg`, and what it was given.
struct Matched {
    facts: Facts,
    class: crate::classify::Classification,
    route: crate::route::Route,
    own: Vec<String>,
    agents: Vec<String>,
    plan: Plan,
}

fn matched(
    cfg: &Config,
    raw: &[u8],
    stranger: crate::config::StrangerPolicy,
    fake: &Fake,
) -> Matched {
    let facts = crate::parse::parse(raw);
    let own = cfg.own_addresses();
    let class = classify(
        &facts,
        &OwnIdentity {
            addresses: &own,
            loop_value: "postdesk",
        },
    );
    let route = route(&facts, cfg);
    let scheme = cfg.scheme();
    let on_closed = |q: &str| cfg.queue(q).map(|q| q.on_closed).unwrap();
    let agents: Vec<String> = cfg.agents.iter().map(|a| a.address.clone()).collect();
    let policy = Policy {
        scheme: &scheme,
        stranger,
        on_closed: &on_closed,
        agents: &agents,
        own_id: &|_| OwnId::NotOurs,
    };
    let plan = decide(&facts, &class, &route, &policy, fake).unwrap();
    Matched {
        facts,
        class,
        route,
        own,
        agents,
        plan,
    }
}

#[test]
fn check() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/match"));
    let mut failures = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        n += 1;
        if let Err(msg) = run_case(&e.path()) {
            failures.push(format!("{}: {msg}", e.file_name().to_string_lossy()));
        }
    }
    assert!(n >= 15, "only {n} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The actions of a plan for `raw` against `fake`, as `Rules::decide` makes them with mail
/// sent (agents' notices on, Alice working in Support).
fn actions_for(raw: &[u8], fake: &Fake) -> Vec<action::Action> {
    fax_actions_for(raw, fake, None)
}

/// `actions_for` a fax gateway's mail from `fax` (`Some(None)`: a number that could not be read).
fn fax_actions_for(raw: &[u8], fake: &Fake, fax: Option<Option<&str>>) -> Vec<action::Action> {
    let cfg = Config::parse(
        &format!("{CONFIG}queues = [\"Support\"]\n"),
        Path::new("match.toml"),
    )
    .unwrap();
    let Matched {
        facts,
        class,
        route,
        own,
        agents,
        plan,
    } = matched(&cfg, raw, crate::config::StrangerPolicy::NewTicket, fake);
    let answering = respond::Answering {
        cfg: &cfg,
        own: &own,
        agents: &agents,
        sends: true,
        now: 1_000_000,
    };
    let filed = respond::Filed {
        facts: &facts,
        class: &class,
        suppressed: None,
    };
    let asked = actions::Asked {
        queue: &route.queue,
        attributes: &[("priority".into(), "high".into(), "10-vip.sieve:3".into())],
        reject: None,
        fax,
        request: None,
    };
    actions::actions(&answering, &filed, &asked, &plan.decision, fake).unwrap()
}

#[test]
fn a_new_tickets_customer_is_decided_with_its_plan() {
    use crate::people::{Organisation, Person, ServiceInstance};
    let online = ServiceInstance {
        service: "Online".into(),
        sla: "gold".into(),
        greeting: None,
    };
    let acme = Organisation {
        id: "acme".into(),
        name: "ACME GmbH".into(),
        services: vec![online.clone()],
        ..Organisation::default()
    };
    let maria = Person {
        id: "p1".into(),
        display_name: "Maria Müller".into(),
        organisations: vec!["acme".into()],
        ..Person::default()
    };
    let fake = Fake {
        sender: crate::index::Sender {
            person: Some(maria.clone()),
            organisation: Some(acme.clone()),
        },
        lines: crate::index::Lines {
            organisations: vec![Organisation {
                id: "branch".into(),
                name: "Branch office".into(),
                ..Organisation::default()
            }],
            ..Default::default()
        },
        ..Fake::default()
    };
    let customer = |got: &[action::Action]| match &got[0] {
        action::Action::OpenTicket { customer, .. } => (**customer).clone(),
        other => panic!("not opened: {other:?}"),
    };
    let mail = MAIL.replace("SUBJECT", "Login");
    let got = actions_for(mail.as_bytes(), &fake);
    assert_eq!(
        customer(&got),
        customer::Customer {
            person: Some(maria),
            organisation: Some(acme),
            service: Some(online),
        }
    );
    assert_eq!(
        got[0].words(),
        "open a ticket in Support for Maria Müller (p1) of ACME GmbH (acme) service Online"
    );
    assert_eq!(
        got[0].json()["customer"],
        serde_json::json!({"person": "p1", "organisation": "acme", "service": "Online"})
    );
    // A fax is its sender's, found by number, not the gateway's that mailed it.
    let got = fax_actions_for(mail.as_bytes(), &fake, Some(Some("+493012345")));
    let c = customer(&got);
    assert_eq!(
        (c.person, c.organisation.unwrap().id),
        (None, "branch".into())
    );
    // A fax whose number could not be read is nobody's.
    let got = fax_actions_for(mail.as_bytes(), &fake, Some(None));
    assert_eq!(customer(&got), customer::Customer::default());
    assert_eq!(got[0].words(), "open a ticket in Support");
}

const MAIL: &str = "From: Maria <maria@acme.example>\r\nTo: support@company.example\r\n\
    Subject: SUBJECT\r\nMessage-ID: <m1@acme.example>\r\n\r\nIt fails.\r\n";

#[test]
fn a_new_ticket_is_opened_filed_and_its_autoresponse_held_back_at_the_limit() {
    let fake = Fake {
        autoreplies: (10, 0),
        ..Fake::default()
    };
    let got = actions_for(MAIL.replace("SUBJECT", "Login").as_bytes(), &fake);
    let names: Vec<&str> = got.iter().map(|a| a.name()).collect();
    assert_eq!(
        names,
        [
            "open-ticket",
            "file-article",
            "set-attribute",
            "autoresponse-suppressed",
            "notify"
        ]
    );
    assert_eq!(
        got[0],
        action::Action::OpenTicket {
            queue: "Support".into(),
            refers: None,
            customer: Default::default(),
        }
    );
    assert_eq!(
        got[3].said().unwrap(),
        "autoresponse suppressed: rate limit: 10 autoresponses to maria@acme.example in 24 hours (limit 10)"
    );
    assert_eq!(
        got[4].said().unwrap(),
        "agents notified (alice@company.example)"
    );
}

#[test]
fn a_follow_up_to_a_closed_ticket_reopens_it_before_filing() {
    let mut fake = Fake::default();
    let number = "2016010110000019";
    let closed = TicketRef {
        number: number.into(),
        queue: "Support".into(),
        state: State::Closed,
    };
    fake.tickets.insert(number.into(), closed.clone());
    fake.participants
        .insert((number.into(), "maria@acme.example".into()));
    let subject = format!("Re: [Ticket#{number}] Login");
    let got = actions_for(MAIL.replace("SUBJECT", &subject).as_bytes(), &fake);
    let open = TicketRef {
        state: State::Open,
        ..closed.clone()
    };
    assert_eq!(got[0], action::Action::Reopen { ticket: closed });
    assert_eq!(
        got[1],
        action::Action::FileArticle {
            ticket: action::Target::Existing(open.clone()),
            event: "reopened",
            stranger: false,
            refers: None,
        }
    );
    assert!(matches!(
        &got[3],
        action::Action::Autorespond { kind: crate::template::Kind::Reopened, to, .. }
            if to == "maria@acme.example"
    ));
}
