//! `postdesk call NUMBER [--agent X] [--ticket N]`: click-to-dial from the command line.

use crate::cli::{Failure, EX_DATAERR, EX_UNAVAILABLE, EX_USAGE};
use crate::commands::Context;
use crate::dial::{self, template::Values};
use crate::index::Index;
use crate::intake::Engine;

pub fn call(
    ctx: &Context,
    number: &str,
    agent: Option<&str>,
    ticket: Option<&str>,
) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let e164 = cfg
        .directory
        .numbering()
        .normalise(number)
        .map_err(|e| Failure::new(EX_DATAERR, format!("{number:?}: {e}")))?;
    let agent = match agent {
        None => None,
        Some(a) => Some(
            cfg.agents
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(a) || x.address.eq_ignore_ascii_case(a))
                .ok_or_else(|| Failure::new(EX_USAGE, format!("no [[agent]] {a:?}")))?,
        ),
    };
    let index = Index::open_readonly_at(&cfg.index_location())?;
    if let Some(n) = ticket {
        if index.ticket(n)?.is_none() {
            return Err(Failure::new(EX_DATAERR, format!("no ticket {n}")));
        }
    }
    let extension = match agent {
        Some(a) => dial::extension::of(&index, &a.address)?.unwrap_or_default(),
        None => String::new(),
    };
    drop(index);
    let values = Values {
        extension: extension.clone(),
        number: e164.clone(),
        agent: agent.map(|a| a.name.clone()).unwrap_or_default(),
        ticket: ticket.unwrap_or_default().to_string(),
    };
    let attempt = dial::place(&cfg.pbxs, |p| dial::send(&|f| cfg.resolve(f), p, &values));
    let who = match agent {
        Some(a) if extension.is_empty() => format!(" for {}", a.name),
        Some(a) => format!(" for {} (extension {extension})", a.name),
        None => String::new(),
    };
    let said = attempt.summary(&format!("call to {e164}{who}"));
    if let Some(n) = ticket {
        let mut engine = Engine::open(&cfg, &cfg.data_dir())?;
        engine.note(n, "call", &said)?;
    }
    println!("{said}");
    Ok(if attempt.placed_by().is_some() {
        0
    } else {
        EX_UNAVAILABLE
    })
}
