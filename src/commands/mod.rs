//! One file per subcommand; each returns the exit code or a `Failure`.

mod check;
mod deliver;
mod dovecot;
mod explain;
mod outbox;
mod run;
mod status;
mod ticket;
mod tree;

use std::path::PathBuf;

use crate::cli::{Cli, Command, Failure};
use crate::config::Config;

pub fn dispatch(cli: Cli) -> Result<i32, Failure> {
    let ctx = Context {
        config: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
    };
    match cli.command {
        Command::Run(args) => run::run(&ctx, args),
        Command::Deliver(args) => deliver::deliver(&ctx, args),
        Command::Check => check::check(&ctx),
        Command::Ticket(t) => ticket::ticket(&ctx, t),
        Command::Explain { file } => explain::explain(&ctx, &file),
        Command::Outbox(o) => outbox::outbox(&ctx, o),
        Command::Status { json } => status::status(&ctx, json),
        Command::DovecotConfig { out } => dovecot::dovecot_config(&ctx, out),
        Command::Reindex => tree::reindex(&ctx),
        Command::Fsck { json } => tree::fsck(&ctx, json),
    }
}

/// The global options every subcommand shares.
pub struct Context {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

impl Context {
    /// Loads the configuration and applies `--data-dir` (relative to the working directory).
    pub fn load(&self) -> Result<Config, Failure> {
        let mut cfg = Config::locate(self.config.as_deref())?;
        self.apply(&mut cfg)?;
        Ok(cfg)
    }

    pub fn apply(&self, cfg: &mut Config) -> Result<(), Failure> {
        if let Some(d) = &self.data_dir {
            cfg.general.data_dir = std::path::absolute(d).map_err(Failure::from)?;
        }
        Ok(())
    }
}
