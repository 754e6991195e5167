//! `postdesk outbox list|flush`: the outgoing queue, as an MTA's mailq and `postqueue -f`.

use crate::cli::{Failure, OutboxCommand, EX_TEMPFAIL};
use crate::commands::Context;
use crate::index::Index;
use crate::intake::Engine;
use crate::outbox::Sender;

pub fn outbox(ctx: &Context, cmd: OutboxCommand) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    match cmd {
        OutboxCommand::List { queued, json } => {
            let index = Index::open_readonly_at(&cfg.index_location())?;
            let rows: Vec<_> = index
                .outbox(None)?
                .into_iter()
                .filter(|q| !queued || q.state == "queued")
                .collect();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
                return Ok(0);
            }
            for q in &rows {
                println!(
                    "{:>6} {:<7} {:<16} {:<14} attempts {:<3} to {}{}",
                    q.id,
                    q.state,
                    q.ticket,
                    q.kind,
                    q.attempts,
                    q.rcpts.join(", "),
                    q.last_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                );
            }
            Ok(0)
        }
        OutboxCommand::Flush => {
            let mut engine = Engine::open(&cfg, &cfg.data_dir())?;
            {
                let tx = engine.index_mut().begin()?;
                tx.retry_all_now(chrono::Utc::now().timestamp())?;
                tx.commit()?;
            }
            let out = engine.rules().out.clone().expect("engine rules send");
            match Sender::open(&cfg, out, engine.store(), &cfg.data_dir(), engine.clock())
                .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e.to_string()))?
            {
                Some(mut s) => {
                    let n = s
                        .send_due()
                        .map_err(|e| Failure::new(EX_TEMPFAIL, e.to_string()))?;
                    println!(
                        "outbox ({}): sent {}, deferred {}, failed {}",
                        s.describe(),
                        n.sent,
                        n.deferred,
                        n.failed
                    );
                }
                None => println!("outbox: made due; the running postdesk sends it"),
            }
            Ok(0)
        }
    }
}
