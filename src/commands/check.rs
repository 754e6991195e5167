//! `postdesk check`: the configuration and everything it names, validated without side effects.

use crate::cli::{Failure, EX_CONFIG};
use crate::commands::Context;
use crate::source;

pub fn check(ctx: &Context) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let mut problems = Vec::new();
    for s in source::configured(&cfg) {
        if let Err(e) = source::maildir::check(&s.dir) {
            problems.push(format!("source {:?}: {e}", s.name));
        }
    }
    let data = cfg.data_dir();
    if data.exists() && !data.is_dir() {
        problems.push(format!(
            "data directory {} is not a directory",
            data.display()
        ));
    }
    if !problems.is_empty() {
        return Err(Failure::new(
            EX_CONFIG,
            format!("{}: {}", cfg.file.display(), problems.join("; ")),
        ));
    }
    println!(
        "{}: OK ({} queues, {} sources, {} agents; data in {})",
        cfg.file.display(),
        cfg.queues.len(),
        cfg.sources.len(),
        cfg.agents.len(),
        data.display()
    );
    Ok(0)
}
