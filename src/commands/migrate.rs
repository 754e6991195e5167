//! `postdesk migrate-layout`: closed tickets of a store from before the archive move out of the
//! listed tree into the archive (see `store::migrate`); then, and with `postdesk compact-tree`,
//! the listed tree's directory is compacted (see `store::compact`).

use std::path::Path;

use crate::article::history;
use crate::cli::Failure;
use crate::commands::Context;
use crate::intake::Engine;
use crate::store::compact::CrashAt;
use crate::store::{migrate, month_now, Store, HISTORY_FILE};

/// Makes the process abort after this many renames (the crash test's fault injection).
const CRASH_AFTER: &str = "POSTDESK_MIGRATE_CRASH_AFTER";
/// Makes compaction abort after this many exchanged entries, or `swapped` right after the
/// directories' exchange (the crash test's fault injection).
const COMPACT_CRASH: &str = "POSTDESK_COMPACT_CRASH";

pub fn migrate_layout(ctx: &Context, compact: bool) -> Result<i32, Failure> {
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
    if compact && engine.store().listed_worth_compacting()? {
        compact_listed(&engine.store())?;
    }
    Ok(0)
}

pub fn compact_tree(ctx: &Context) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let engine = Engine::open(&cfg, &cfg.data_dir())?;
    compact_listed(&engine.store())?;
    Ok(0)
}

fn compact_listed(store: &Store) -> Result<(), Failure> {
    let crash = std::env::var(COMPACT_CRASH)
        .ok()
        .and_then(|v| match v.as_str() {
            "swapped" => Some(CrashAt::Swapped),
            n => n.parse().ok().map(CrashAt::Moved),
        });
    let c = store.compact_listed(crash)?;
    println!(
        "compact-tree: {} entries moved, directory {} KiB before, {} KiB after; {} renamed and {} made by agents meanwhile carried over",
        c.moved,
        c.size_before / 1024,
        c.size_after / 1024,
        c.replayed,
        c.adopted,
    );
    if c.left > 0 {
        return Err(Failure::new(
            crate::cli::EX_TEMPFAIL,
            format!(
                "compact-tree: {} entries left in the old directory beside the tree, the tree has entries of those names (see the log); nothing was removed",
                c.left
            ),
        ));
    }
    Ok(())
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
