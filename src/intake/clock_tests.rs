//! Intake reads the time from the clock it was opened with: a ticket's number, its rows, its
//! history and the archive folder it is closed into all say the clock's moment.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Engine, Message, Outcome, TicketChange};
use crate::clock::SetClock;
use crate::config::Config;

fn message(id: &str) -> Message {
    let raw = format!(
        "From: Customer <customer@example.org>\r\nTo: support@company.example\r\n\
         Subject: The printer\r\nMessage-ID: <{id}@example.org>\r\n\r\nIt does not print.\r\n"
    );
    Message {
        raw: raw.into_bytes(),
        source: "test".into(),
        name: id.into(),
        remember: false,
        taken: std::time::Instant::now(),
        quarantine: None,
        phone: false,
        spliced: None,
    }
}

#[test]
fn a_ticket_its_history_and_its_archive_month_follow_the_engines_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = Config::parse(
        &format!(
            "[general]\ndata-dir = {:?}\n[[queue]]\nname = \"Support\"\naddresses = [\"support@company.example\"]\n",
            tmp.path().join("var")
        ),
        &repo.join("postdesk.toml"),
    )
    .unwrap();
    let opened: DateTime<Utc> = "2031-07-15T10:00:00Z".parse().unwrap();
    let clock = SetClock::at(opened);
    let mut engine = Engine::open_with_clock(&cfg, &cfg.data_dir(), clock.clone()).unwrap();
    let out = engine.process(&[message("1")]).unwrap();
    engine.flush().unwrap();
    let Outcome::Created { ticket, .. } = &out[0] else {
        panic!("not a new ticket: {out:?}");
    };
    assert!(
        ticket.starts_with("2031"),
        "numbered by the clock's date: {ticket}"
    );
    let t = engine.index_mut().ticket(ticket).unwrap().unwrap();
    assert_eq!(t.created, "2031-07-15T10:00:00.000Z");

    clock.advance(TimeDelta::days(20));
    engine
        .change_ticket(ticket, TicketChange::Close, "admin")
        .unwrap()
        .expect("the ticket is there");
    engine.flush().unwrap();
    let archived = cfg.data_dir().join("archive/Support/2031-08").join(ticket);
    assert!(
        archived.join("cur").is_dir(),
        "closed into the clock's month"
    );
    let history = engine.index_mut().history(ticket).unwrap();
    let closed = history.iter().find(|e| e.event == "closed").unwrap();
    assert_eq!(closed.at, "2031-08-04T10:00:00.000Z");
}
