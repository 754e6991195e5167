//! `postdesk migrate-layout`: closed tickets of a store from before the archive move out of the
//! listed tree into the archive (see `store::migrate`).

use std::path::Path;

use crate::cli::Failure;
use crate::commands::Context;
use crate::intake::{history, Engine};
use crate::store::{migrate, month_now, HISTORY_FILE};

/// Makes the process abort after this many renames (the crash test's fault injection).
const CRASH_AFTER: &str = "POSTDESK_MIGRATE_CRASH_AFTER";

pub fn migrate_layout(ctx: &Context) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    // Opening the engine first finishes any interrupted batch, so every article is in place.
    let engine = Engine::open(&cfg, &cfg.data_dir())?;
    let crash_after = std::env::var(CRASH_AFTER).ok().and_then(|v| v.parse().ok());
    let m = migrate::migrate(
        &engine.store(),
        &month_closed,
        &mut super::tree::progress,
        crash_after,
    )?;
    println!(
        "migrate-layout: {} moved into the archive, {} reopened or moved meanwhile, Dovecot's files of {} followed after an interrupted run",
        super::count(m.moved as usize, "closed ticket"),
        m.gone,
        super::count(m.followed as usize, "folder"),
    );
    Ok(0)
}

/// The month a ticket was closed: its event log's last close, else when its folder last
/// changed, else now.
fn month_closed(dir: &Path) -> String {
    let closed = history::read(&dir.join(HISTORY_FILE))
        .ok()
        .and_then(|lines| lines.into_iter().rev().find(|l| l.event == "closed"))
        .and_then(|l| l.at.get(..7).map(str::to_string))
        .filter(|m| m.as_bytes().get(4) == Some(&b'-'));
    if let Some(m) = closed {
        return m;
    }
    match std::fs::metadata(dir).and_then(|m| m.modified()) {
        Ok(t) => chrono::DateTime::<chrono::Utc>::from(t)
            .format("%Y-%m")
            .to_string(),
        Err(_) => month_now(),
    }
}
