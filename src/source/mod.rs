//! Sources of mail: Maildirs, IMAP accounts and, through `deliver`, an MTA's pipe, each a
//! `Source` that `round` drains. Each gives the one drain loop (`drain`) its messages in
//! batches through a `Reader` and a `Holder` (`producer`), and lets go of each message only
//! after its batch is committed and durable.

mod drain;
#[cfg(test)]
mod drain_tests;
pub mod imap;
pub mod maildir;
mod producer;
mod progress;
mod reader;
mod round;
mod single;
mod summary;

pub use drain::drain;
pub use maildir::MaildirSource;
pub use producer::{Holder, Reader, Taken};
pub use round::{round, DrainError, Drained, Round, Source};
pub use single::Single;
pub use summary::Summary;

use crate::config::Config;

/// The configured Maildir sources, paths resolved against the configuration file.
pub fn configured(cfg: &Config) -> Vec<MaildirSource> {
    cfg.sources
        .iter()
        .map(|s| MaildirSource {
            name: s.name.clone(),
            dir: cfg.resolve(&s.maildir),
            after: s.after.unwrap_or(cfg.intake.after),
        })
        .collect()
}
