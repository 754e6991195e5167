//! `postdesk secret rotate`: a new key for reply addresses and Message-IDs. The replaced key is
//! kept, with the time it was retired, and still verifies for `outgoing.secret-grace-days`, so
//! the addresses in agents' mailboxes keep working meanwhile.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::cli::{Failure, SecretCommand, EX_CANTCREAT};
use crate::commands::Context;
use crate::outgoing::secret;

pub fn secret(ctx: &Context, cmd: SecretCommand) -> Result<i32, Failure> {
    let SecretCommand::Rotate = cmd;
    let cfg = ctx.load()?;
    let path = cfg.data_dir().join(&cfg.outgoing.secret_file);
    let now = Utc::now().timestamp();
    let grace = cfg.outgoing.grace_seconds();
    let keys = secret::rotate(&path, now, grace)
        .map_err(|e| Failure::new(EX_CANTCREAT, format!("{}: {e}", path.display())))?;
    let until = DateTime::<Utc>::from_timestamp(now.saturating_add(grace), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    println!(
        "new key written to {}; the replaced key is accepted until {until} ({} retired key(s) kept)",
        path.display(),
        keys.retired.len()
    );
    println!("reload the daemon (systemctl reload postdesk) so that it signs with the new key");
    Ok(0)
}
