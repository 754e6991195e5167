//! Waiting for new mail with IDLE (RFC 2177). Before it starts, a fresh SELECT compares the
//! folder's UIDNEXT with what the last fetch saw, so mail that came in between is not missed.
//! IDLE is re-issued every 25 minutes (servers drop idlers after 30), the stop flag is looked at
//! every 250 ms, and DONE ends it with the usual timeout, which also proves the connection alive.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{MailboxDatum, Response, Status};

use super::conn::{within, Conn};
use super::ops::select;
use super::ImapError;

/// RFC 2177: clients should re-issue IDLE at least every 29 minutes.
const IDLE_CYCLE: Duration = Duration::from_secs(25 * 60);
/// How often a waiting IDLE looks at the stop flag.
pub const STOP_CHECK: Duration = Duration::from_millis(250);

/// `known` is the folder's UIDVALIDITY and `Found::known_next` from the last fetch, if any.
/// Waits in IDLE on `folder` until the server announces new mail (true), `limit`
/// passes or `stop` is set (false). Consumes the connection and gives it back after DONE.
pub async fn idle(
    mut c: Conn,
    folder: &str,
    known: Option<(u32, Option<u32>)>,
    stop: &AtomicBool,
    limit: Duration,
    t: Duration,
) -> Result<(Conn, bool), ImapError> {
    let sel = select(&mut c, folder, t).await?;
    if let Some((uidvalidity, known_next)) = known {
        let arrived = matches!((sel.uid_next, known_next), (Some(n), Some(k)) if n > k);
        if arrived || sel.uidvalidity != uidvalidity {
            return Ok((c, true)); // changed since the last fetch, before this IDLE
        }
    }
    while c.session.unsolicited_responses.try_recv().is_ok() {}
    let deadline = Instant::now() + limit;
    let Conn {
        session,
        caps,
        selected,
        processed_ready,
    } = c;
    let mut session = session;
    loop {
        let cycle_end = deadline.min(Instant::now() + IDLE_CYCLE);
        let mut handle = session.idle();
        within(t, "IDLE", async {
            handle.init().await.map_err(ImapError::from_imap)
        })
        .await?;
        let mut news = false;
        while !news && Instant::now() < cycle_end && !stop.load(Ordering::Relaxed) {
            let (wait, _interrupt) = handle.wait_with_timeout(STOP_CHECK);
            match wait.await.map_err(ImapError::from_imap)? {
                IdleResponse::Timeout => {}
                IdleResponse::ManualInterrupt => {
                    return Err(ImapError::Transient("IDLE: connection closed".into()))
                }
                IdleResponse::NewData(r) => match r.parsed() {
                    Response::MailboxData(MailboxDatum::Exists(_) | MailboxDatum::Recent(_)) => {
                        news = true
                    }
                    Response::Data {
                        status: Status::Bye,
                        outcome,
                        ..
                    } => {
                        return Err(ImapError::Transient(format!(
                            "IDLE: BYE {}",
                            outcome.information.as_deref().unwrap_or("")
                        )))
                    }
                    _ => {}
                },
            }
        }
        session = within(t, "DONE", async {
            handle.done().await.map_err(ImapError::from_imap)
        })
        .await?;
        if news || Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
            let c = Conn {
                session,
                caps,
                selected,
                processed_ready,
            };
            return Ok((c, news));
        }
    }
}
