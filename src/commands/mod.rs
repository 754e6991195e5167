//! One file per subcommand; each returns the exit code or a `Failure`.

mod call;
mod check;
mod deadlines;
mod deliver;
mod directory;
mod docs;
mod dovecot;
mod explain;
mod migrate;
mod outbox;
mod report;
mod run;
mod secret;
mod status;
mod ticket;
mod tree;

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{Cli, Command, Failure};
use crate::config::Config;

pub fn dispatch(cli: Cli) -> Result<i32, Failure> {
    // What an MTA's pipe prints reaches the sender (Postfix quotes it in its log and in delay
    // notices): `deliver` names no paths unless a person runs it on a terminal.
    let announce = !matches!(cli.command, Command::Deliver(_)) || std::io::stderr().is_terminal();
    let ctx = Context {
        config: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
        announce: std::cell::Cell::new(announce),
    };
    match cli.command {
        Command::Run(args) => run::run(&ctx, args),
        Command::Deliver(args) => deliver::deliver(&ctx, args).map_err(deliver::temporary),
        Command::Check => check::check(&ctx),
        Command::Ticket(t) => ticket::ticket(&ctx, t),
        Command::Explain { json, files } => explain::explain(&ctx, &files, json),
        Command::Outbox(o) => outbox::outbox(&ctx, o),
        Command::Status { json } => status::status(&ctx, json),
        Command::DovecotConfig { out } => dovecot::dovecot_config(&ctx, out),
        Command::Secret(s) => secret::secret(&ctx, s),
        Command::Directory(d) => directory::directory(&ctx, d),
        Command::Reindex => tree::reindex(&ctx),
        Command::MigrateLayout { no_compact } => migrate::migrate_layout(&ctx, !no_compact),
        Command::CompactTree => migrate::compact_tree(&ctx),
        Command::Report(args) => report::report(&ctx, args),
        Command::Call {
            number,
            agent,
            ticket,
        } => call::call(&ctx, &number, agent.as_deref(), ticket.as_deref()),
        Command::Fsck { json } => tree::fsck(&ctx, json),
        Command::GenerateDocs { out } => docs::generate(&out),
    }
}

/// The global options every subcommand shares.
pub struct Context {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    /// Print which configuration and data dir the command uses (once, on stderr).
    pub announce: std::cell::Cell<bool>,
}

impl Context {
    /// Loads the configuration and applies `--data-dir` (relative to the working directory),
    /// then settles who the process acts as and its file modes (`access`) before anything in
    /// the data directory is touched.
    pub fn load(&self) -> Result<Config, Failure> {
        let mut cfg = Config::locate(self.config.as_deref())?;
        self.apply(&mut cfg)?;
        if self.announce.replace(false) {
            eprintln!("{}", announcement(&cfg));
        }
        crate::access::settle(&cfg.data_dir(), cfg.dovecot.store_group.as_deref())
            .map_err(|e| Failure::new(crate::cli::EX_TEMPFAIL, e.to_string()))?;
        Ok(cfg)
    }

    pub fn apply(&self, cfg: &mut Config) -> Result<(), Failure> {
        if let Some(d) = &self.data_dir {
            cfg.general.data_dir = std::path::absolute(d).map_err(Failure::from)?;
        }
        Ok(())
    }
}

/// One line saying which files a command works on, so that nobody runs the repository's demo
/// against an installed help desk's data without noticing.
pub fn announcement(cfg: &Config) -> String {
    let file = std::path::absolute(&cfg.file).unwrap_or_else(|_| cfg.file.clone());
    let data = std::path::absolute(cfg.data_dir()).unwrap_or_else(|_| cfg.data_dir());
    format!(
        "postdesk: configuration {}, data dir {}",
        file.display(),
        data.display()
    )
}

/// "1 source", "2 sources": counts in sentences people read.
pub fn count(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_as_english() {
        assert_eq!(super::count(1, "source"), "1 source");
        assert_eq!(super::count(0, "source"), "0 sources");
        assert_eq!(super::count(3, "filter script"), "3 filter scripts");
    }
}
