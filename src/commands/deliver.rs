//! `postdesk deliver`: one message on stdin, for an MTA pipe. Exit 0 only once it is committed;
//! every failure, a broken configuration included, is 75 (try again later), so the MTA keeps the
//! message until the admin has fixed it instead of bouncing it to the customer. What the MTA is
//! told names no paths: the detail goes to the system log (facility mail), and to the terminal
//! when a person runs the command by hand.
//!
//! The one exception: a message over `intake.max-message-bytes` is refused permanently (EX_DATAERR with
//! the RFC 3463 status 5.3.4 at the start of the output, which Postfix's pipe puts in the bounce),
//! as an MTA's own size limit or an MDA over quota does: the sender learns at once, and the help
//! desk never holds an unbounded copy or a cut one posing as the message. Maildir sources, whose
//! file is already on disk, quarantine such a message whole instead.

use std::ffi::CString;
use std::io::{IsTerminal, Read};
use std::sync::atomic::AtomicBool;

use crate::cli::{DeliverArgs, Failure, EX_DATAERR, EX_TEMPFAIL};
use crate::commands::Context;
use crate::intake::{Engine, Message, TEMPORARY};
use crate::source::{self, Single, Summary};

pub fn deliver(ctx: &Context, args: DeliverArgs) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let mut raw = Vec::new();
    std::io::stdin()
        .take(cfg.intake.max_message_bytes + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Failure::new(EX_TEMPFAIL, format!("reading stdin: {e}")))?;
    let max = cfg.intake.max_message_bytes;
    if raw.len() as u64 > max {
        eprintln!(
            "5.3.4 message too big for this help desk: more than {max} bytes (intake.max-message-bytes); not delivered"
        );
        return Ok(EX_DATAERR);
    }
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
        phone: false,
        spliced: None,
    };
    let mut single = Single::new(msg);
    let stop = AtomicBool::new(false);
    let mut summary = Summary::default();
    let round = source::round(&mut engine, [&mut single as _], &stop, &mut summary, &[]);
    if let Some(e) = round.failure {
        return Err(e.into());
    }
    if let Some(o) = &single.outcome {
        println!("{}", o.summary());
    }
    Ok(0)
}

/// Turns any failure of `deliver` into a temporary one, logging its detail where only the
/// machine's admins read it.
pub fn temporary(f: Failure) -> Failure {
    syslog_err(&format!("deliver: {}", f.message));
    if std::io::stderr().is_terminal() {
        Failure::new(EX_TEMPFAIL, f.message)
    } else {
        Failure::new(EX_TEMPFAIL, TEMPORARY)
    }
}

/// One line at LOG_MAIL|LOG_ERR: the journal (or the syslog daemon's mail.log) keeps it.
fn syslog_err(text: &str) {
    let Ok(msg) = CString::new(text.replace('\0', " ")) else {
        return;
    };
    // SAFETY: openlog keeps a pointer to `ident`, a 'static C string; "%s" with one valid
    // C string argument matches syslog's variadic contract.
    unsafe {
        libc::openlog(c"postdesk".as_ptr(), libc::LOG_PID, libc::LOG_MAIL);
        libc::syslog(libc::LOG_ERR, c"%s".as_ptr(), msg.as_ptr());
        libc::closelog();
    }
}
