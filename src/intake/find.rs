//! `#find NUMBER` (or an address, or subject words) in an agent's mail: the agent gets a notice
//! saying where the tickets are (state, queue and the folder to open, `Archive/...` for an
//! archived one, which mail clients do not list). Only tickets of the agent's own queues are
//! named, as the ACL lets them open no other. The notice is an outgoing article of the ticket the
//! agent wrote to, queued in the batch's commit like every notice.

use super::apply::After;
use super::outbound::{stage_out, Moment};
use super::{IntakeError, Rules};
use crate::index::{Query, State, TicketRef, Tx};
use crate::outgoing::agent::AgentMail;
use crate::outgoing::build;
use crate::store::{Folder, Store};

/// At most this many tickets are listed in the notice.
const LIMIT: usize = 20;

/// Queues the notice for `mail`'s agent; returns what happened, for the mail log.
#[allow(clippy::too_many_arguments)]
pub(super) fn answer_find(
    store: &Store,
    tx: &Tx,
    after: &mut After,
    rules: &Rules,
    mail: &AgentMail,
    t: &TicketRef,
    text: &str,
    clock: &Moment,
    rng: &mut impl rand::Rng,
) -> Result<String, IntakeError> {
    let cfg = &rules.cfg;
    let out = rules
        .out
        .as_ref()
        .expect("agent mail is only detected with outgoing rules");
    let queues: Vec<String> = cfg
        .agents
        .iter()
        .filter(|a| a.address == mail.address)
        .flat_map(|a| a.queues.iter().cloned())
        .collect();
    let q = Query::parse(text);
    let found = tx.find(&q, Some(&queues), LIMIT)?;
    let mut body = format!("Tickets of your queues matching \"{text}\":\n\n");
    if found.is_empty() {
        body.push_str("  none\n");
    }
    for f in &found {
        let folder = Folder::ticket(&f.queue, &f.number, f.state == State::Closed);
        body.push_str(&format!(
            "  {}  {}  {}\n      folder: {}\n      subject: {}\n      customer: {}\n\n",
            f.number,
            f.state.as_str(),
            f.queue,
            store.imap_name(&folder),
            f.subject,
            f.customer
        ));
    }
    if found.len() == LIMIT {
        body.push_str(&format!("(the {LIMIT} most recently changed)\n"));
    }
    body.push_str(
        "\nA folder under Archive/ is not listed by mail clients: open it by its name \
         (subscribe to it, or type the name).\n",
    );
    let subject = format!("Find: {text}");
    let sentence = format!("find {text:?} for {}: {} found", mail.name, found.len());
    match (build::Mailer {
        cfg,
        out,
        date: clock.date(),
    })
    .notice(
        &t.queue,
        &t.number,
        std::slice::from_ref(&mail.address),
        &subject,
        body,
        rng,
    ) {
        Ok(m) => stage_out(store, tx, after, t, m, clock)?,
        Err(e) => tracing::error!(ticket = %t.number, "find notice to {}: {e}", mail.address),
    }
    Ok(sentence)
}
