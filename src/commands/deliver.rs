//! `postdesk deliver`: one message on stdin, for an MTA pipe. Exit 0 only once it is committed.

use std::io::Read;

use crate::cli::{DeliverArgs, Failure, EX_TEMPFAIL};
use crate::commands::Context;
use crate::intake::{Engine, Message, Outcome};

pub fn deliver(ctx: &Context, args: DeliverArgs) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let mut raw = Vec::new();
    std::io::stdin()
        .take(cfg.intake.max_message_bytes + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Failure::new(EX_TEMPFAIL, format!("reading stdin: {e}")))?;
    let mut engine = Engine::open(&cfg, &cfg.data_dir())?;
    let name = format!(
        "{}.{}",
        chrono::Utc::now().timestamp_micros(),
        std::process::id()
    );
    let msg = Message {
        raw,
        source: args.source,
        name,
        remember: false,
        taken: std::time::Instant::now(),
        quarantine: None,
    };
    let outcome = engine.process(std::slice::from_ref(&msg))?;
    engine.flush()?;
    match outcome.first() {
        Some(Outcome::Created { ticket, .. }) => println!("stored: new ticket {ticket}"),
        Some(Outcome::FollowUp { ticket, .. }) => println!("stored: follow-up to ticket {ticket}"),
        Some(Outcome::Duplicate { .. }) => println!("stored: duplicate of a message already filed"),
        Some(Outcome::Quarantined { reason }) => println!("stored in quarantine: {reason}"),
        Some(Outcome::Answered { ticket, note, .. }) => println!(
            "stored: {} to ticket {ticket}",
            if *note { "note" } else { "answer" }
        ),
        None => {}
    }
    Ok(0)
}
