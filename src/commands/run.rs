//! `postdesk run`: the daemon, or with `--once` a single drain of every source.

use std::sync::atomic::AtomicBool;

use crate::cli::{Failure, RunArgs, EX_USAGE};
use crate::commands::Context;
use crate::config::After;
use crate::daemon::threads::{Heartbeat, OutboxThread};
use crate::intake::Engine;
use crate::outbox::{Sender, Sent};
use crate::source::imap::ImapIntake;
use crate::source::{self, MaildirSource, Source, Summary};
use crate::status;

/// Leaves what this run found for `postdesk status`, unless a running daemon keeps that file.
fn write_status(cfg: &crate::config::Config, snapshot: &mut status::Snapshot) {
    let data = cfg.data_dir();
    // SAFETY: kill with signal 0 only checks that the process exists.
    let alive = |pid: u32| unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    let node = cfg.general.node();
    if status::once_may_write(status::read(&data, &node).as_ref(), alive) {
        snapshot.updated = status::now();
        status::write(&data, &node, snapshot);
    }
}

/// Sends what is due now (unless a running daemon holds the outbox and does it), and says so
/// with what `before` (the sender that ran during the round) did.
fn send_once(cfg: &crate::config::Config, engine: &Engine, before: Option<Sent>) {
    let Some(out) = engine.rules().out.clone() else {
        return;
    };
    match Sender::open(cfg, out, engine.store(), &cfg.data_dir(), engine.clock()) {
        Ok(Some(mut s)) => match s.send_due() {
            Ok(mut n) => {
                n += before.unwrap_or_default();
                println!(
                    "outbox ({}): sent {}, deferred {}, failed {}",
                    s.describe(),
                    n.sent,
                    n.deferred,
                    n.failed
                )
            }
            Err(e) => tracing::error!("outbox: {e}"),
        },
        Ok(None) => println!("outbox: a running postdesk sends the mail"),
        Err(e) => tracing::error!("outbox: {e}"),
    }
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let sources = if args.maildir.is_empty() {
        source::configured(&cfg)
    } else {
        let after = match args.after.as_str() {
            "keep" => After::Keep,
            "seen" => After::Seen,
            "delete" => After::Delete,
            other => {
                return Err(Failure::new(
                    EX_USAGE,
                    format!("--after {other:?}: keep, seen or delete"),
                ))
            }
        };
        args.maildir
            .iter()
            .map(|d| {
                let dir = std::path::absolute(d).unwrap_or_else(|_| d.clone());
                let name = format!("maildir:{}", dir.display());
                MaildirSource { name, dir, after }
            })
            .collect()
    };
    for s in &sources {
        source::maildir::check(&s.dir)
            .map_err(|e| Failure::new(crate::cli::EX_CONFIG, format!("source {}: {e}", s.name)))?;
    }
    if !args.once {
        return crate::daemon::run(&|| ctx.load(), cfg, sources);
    }
    // Alive while it runs, as the daemon: a node that looks dead has its claimed mail taken over.
    let _heartbeat = Heartbeat::start(&cfg)?;
    let mut engine = Engine::open(&cfg, &cfg.data_dir())?;
    for moved in engine.adopt_moves()?.said {
        println!("{moved}");
    }
    engine.housekeeping()?;
    // Mail committed by the first batches is sent while later ones are filed, as in the daemon;
    // what is left is sent after the round (`send_once`).
    let mut sending = match engine.rules().out.is_some() {
        true => {
            let waker = std::sync::Arc::new(crate::outgoing::Waker::default());
            engine.set_waker(waker.clone());
            OutboxThread::start(&cfg, &engine, waker)
                .inspect_err(|e| tracing::error!("outbox: {}", e.message))
                .ok()
        }
        false => None,
    };
    let stop = AtomicBool::new(false);
    let mut summary = Summary::default();
    let mut snapshot = status::Snapshot {
        pid: std::process::id(),
        once: true,
        started: status::now(),
        ..Default::default()
    };
    let mut sources = sources;
    let mut imap = Vec::new();
    let mut unreachable = Vec::new();
    if args.maildir.is_empty() {
        let base = cfg
            .file
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        for c in &cfg.imap {
            match ImapIntake::new(c, &base) {
                Ok(src) => imap.push(src),
                Err(e) => {
                    tracing::error!(source = %c.name, "{e}");
                    summary.failed += 1;
                    unreachable.push(status::drained(&c.name, "imap", Some(e.to_string()), None));
                }
            }
        }
    }
    let all = (sources.iter_mut().map(|s| s as &mut dyn Source))
        .chain(imap.iter_mut().map(|s| s as &mut dyn Source));
    let round = source::round(&mut engine, all, &stop, &mut summary, &[]);
    summary.failed += round.left;
    let mut failure = round.failure;
    snapshot.sources = round.states;
    snapshot.sources.extend(unreachable);
    write_status(&cfg, &mut snapshot);
    println!("{}", summary.line());
    if let Err(e) = engine.flush() {
        tracing::error!("{e}");
        failure.get_or_insert(e);
    }
    let slas = cfg
        .service_levels()
        .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e))?;
    let now = engine.clock().now();
    match crate::rounds::sla::run(&mut engine, &slas, now) {
        Ok(r) => {
            tracing::info!("service levels: {}", r.line());
            if r.warnings + r.breaches + r.met + r.reminders > 0 {
                println!("service levels: {}", r.line());
            }
        }
        Err(e) => {
            tracing::error!("service levels: {e}");
            failure.get_or_insert(e);
        }
    }
    let now = engine.clock().now();
    match crate::rounds::digest::run(&mut engine, now) {
        Ok(r) => {
            tracing::info!("agents' digests: {}", r.line());
            if r.digests > 0 {
                println!("agents' digests: {}", r.line());
            }
        }
        Err(e) => {
            tracing::error!("agents' digests: {e}");
            failure.get_or_insert(e);
        }
    }
    let before = sending.as_mut().map(OutboxThread::stop);
    send_once(&cfg, &engine, before);
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(0),
    }
}
