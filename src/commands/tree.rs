//! `postdesk reindex` and `postdesk fsck`.

use std::io::Write;

use crate::cli::Failure;
use crate::commands::Context;
use crate::index::Index;
use crate::intake::reindex::{self, ReindexError};
use crate::intake::Rules;
use crate::store::Tree;

impl From<ReindexError> for Failure {
    fn from(e: ReindexError) -> Failure {
        match e {
            ReindexError::Index(e) => e.into(),
            ReindexError::Io(e) => e.into(),
            e @ ReindexError::Duplicate { .. } => {
                Failure::new(crate::cli::EX_DATAERR, e.to_string())
            }
        }
    }
}

pub(super) fn progress(done: u64, total: u64) {
    if total >= 1000 {
        let _ = write!(std::io::stderr(), "\r{done}/{total} tickets");
        if done == total {
            let _ = writeln!(std::io::stderr());
        }
    }
}

pub fn reindex(ctx: &Context) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let data = cfg.data_dir();
    // Opening the engine first finishes any interrupted batch, so the tree is complete.
    let mut engine = crate::intake::Engine::open(&cfg, &data)?;
    let c = engine.rebuild(&cfg, &mut progress)?;
    println!(
        "reindexed: {} tickets, {} articles, {} quarantined, {} unreadable",
        c.tickets, c.articles, c.quarantined, c.unreadable
    );
    Ok(if c.unreadable > 0 { 1 } else { 0 })
}

pub fn fsck(ctx: &Context, json: bool) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let data = cfg.data_dir();
    let live = Index::open_readonly_at(&cfg.index_location())?;
    let mut tree = Index::open_memory()?;
    let c = match reindex::rebuild(
        &Tree::at(&data),
        &mut tree,
        &Rules::new(&cfg),
        &mut progress,
    ) {
        Err(e @ ReindexError::Duplicate { .. }) => {
            println!("fsck: {e}");
            return Ok(1);
        }
        r => r?,
    };
    let diffs = reindex::compare(&live, &tree)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&diffs).expect("serialisable")
        );
    } else {
        for d in &diffs {
            println!("{} {}: index {} | tree {}", d.what, d.key, d.index, d.tree);
        }
        println!(
            "fsck: {} tickets, {} articles, {} quarantined in the tree; {} differences",
            c.tickets,
            c.articles,
            c.quarantined,
            diffs.len()
        );
    }
    Ok(if diffs.is_empty() && c.unreadable == 0 {
        0
    } else {
        1
    })
}
