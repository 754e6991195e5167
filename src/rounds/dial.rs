//! The daemon's dialler: a thread of its own that places the calls agents asked for by mail
//! (`#call`, queued in the index with the agent's mail), so that a PBX's slow answer never holds
//! up intake. Each call is marked taken before it is dialled and removed once the attempt is in
//! the ticket's history; a call a stopped daemon had taken is reported as not known to be placed,
//! never dialled twice. A call no PBX placed gets the agent a notice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::Config;
use crate::dial::template::Values;
use crate::index::PendingCall;
use crate::intake::{Engine, IntakeError};

/// How often the queue of calls is looked at.
const POLL: Duration = Duration::from_millis(500);

pub struct Dialler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Dialler {
    /// The dialler, when the configuration names a PBX; `waker` is the outbox's (for notices).
    pub fn start(cfg: &Config, waker: Arc<crate::outgoing::Waker>) -> Option<Dialler> {
        if cfg.pbxs.is_empty() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (cfg, flag) = (cfg.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("dialler".into())
            .spawn(move || run(&cfg, &flag, waker))
            .map_err(|e| tracing::error!("dialler not started: {e}"))
            .ok()?;
        Some(Dialler {
            stop,
            handle: Some(handle),
        })
    }

    /// Lets the call in hand finish, then ends the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(cfg: &Config, stop: &AtomicBool, waker: Arc<crate::outgoing::Waker>) {
    let mut engine = loop {
        match Engine::open(cfg, &cfg.data_dir()) {
            Ok(mut e) => {
                e.set_waker(waker);
                break e;
            }
            Err(e) => tracing::error!("dialler: the store cannot be opened: {e}"),
        }
        if pause(stop, Duration::from_secs(10)) {
            return;
        }
    };
    if let Err(e) = interrupted(&mut engine) {
        tracing::error!("dialler: calls of a stopped daemon: {e}");
    }
    while !stop.load(Ordering::SeqCst) {
        let calls = match engine.index_mut().take_pending_calls(false) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("dialler: {e}");
                Vec::new()
            }
        };
        for c in calls {
            if let Err(e) = place(cfg, &mut engine, &c) {
                tracing::error!("dialler: call for ticket {}: {e}", c.ticket);
            }
        }
        if pause(stop, POLL) {
            return;
        }
    }
}

/// Sleeps `d` unless told to stop; whether it was.
fn pause(stop: &AtomicBool, d: Duration) -> bool {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < d {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(step);
        slept += step;
    }
    stop.load(Ordering::SeqCst)
}

fn interrupted(engine: &mut Engine) -> Result<(), IntakeError> {
    for c in engine.index_mut().take_pending_calls(true)? {
        let detail = format!(
            "a call asked for by {} is not known to be placed: postdesk stopped while placing it; not repeated",
            c.agent
        );
        engine.note(&c.ticket, "call", &detail)?;
        engine.index_mut().done_pending_call(c.id)?;
    }
    Ok(())
}

fn place(cfg: &Config, engine: &mut Engine, c: &PendingCall) -> Result<(), IntakeError> {
    let agent = cfg.agents.iter().find(|a| a.address == c.agent);
    let name = agent.map_or(c.agent.as_str(), |a| a.name.as_str());
    let index = engine.index_mut();
    let extension = crate::dial::extension::of(index, &c.agent)?.unwrap_or_default();
    let numbering = cfg.directory.numbering();
    let number = if c.number.is_empty() {
        let party = index.directory_ticket(&c.ticket)?;
        let person = party.person.and_then(|p| p.phone.first().cloned());
        person
            .or_else(|| party.organisation.and_then(|o| o.phone.first().cloned()))
            .ok_or_else(|| "the ticket's customer has no number in the directory".to_string())
    } else {
        numbering
            .normalise(&c.number)
            .map_err(|e| format!("{:?}: {e}", c.number))
    };
    let (said, placed) = match number {
        Err(why) => (format!("call for {name} not placed: {why}"), false),
        Ok(number) => {
            let values = Values {
                extension: extension.clone(),
                number: number.clone(),
                agent: name.to_string(),
                ticket: c.ticket.clone(),
            };
            let attempt = crate::dial::place(&cfg.pbxs, |p| {
                crate::dial::send(&|f| cfg.resolve(f), p, &values)
            });
            let ext = if extension.is_empty() {
                String::new()
            } else {
                format!(" (extension {extension})")
            };
            (
                attempt.summary(&format!("call to {number} for {name}{ext}")),
                attempt.placed_by().is_some(),
            )
        }
    };
    engine.note(&c.ticket, "call", &said)?;
    if !placed {
        let body = format!(
            "The call you asked for on ticket {} was not placed:\n\n{said}\n",
            c.ticket
        );
        engine.notify_agent(
            &c.ticket,
            &c.agent,
            &format!("Call not placed: ticket {}", c.ticket),
            body,
        )?;
    }
    engine.index_mut().done_pending_call(c.id)?;
    Ok(())
}
