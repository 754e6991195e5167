//! `postdesk explain FILE...`: every decision for a message with its reason, and the plan intake
//! would carry out, in the terms of the mail log line it writes (verdict, ticket, queue, detail,
//! the outgoing mail queued or suppressed). Reads the index read-only and writes nothing.
//!
//! The plan is the one intake carries out (`Rules::decide`: the decision and its actions); the
//! integration test `explain_plan` runs every fixture and the corpus through both and compares
//! the actions explain prints with those intake carried out.

mod plan;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Failure, EX_CONFIG, EX_NOINPUT};
use crate::commands::Context;
use crate::index::Index;
use crate::intake::Rules;

use plan::plan;

/// The text form's lines, or nothing in the JSON form.
struct Say {
    text: bool,
}

impl Say {
    fn line(&self, label: &str, value: impl std::fmt::Display) {
        if self.text {
            println!("{label:<16}{value}");
        }
    }
}

pub fn explain(ctx: &Context, files: &[PathBuf], json: bool) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let index_at = cfg.index_location();
    let index = Index::open_readonly_at(&index_at)?;
    // The agents the directory's groups add, as intake reads them.
    let cfg = match crate::directory::rights::with_group_agents(&cfg, &index) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("agents' groups not read from the directory: {e}");
            cfg
        }
    };
    let rules = Rules::with_outgoing(&cfg, false).map_err(|e| Failure::new(EX_CONFIG, e))?;
    let say = Say { text: !json };
    let mut first = Some(index);
    let mut one = |file: &Path| -> Result<(), Failure> {
        let raw = std::fs::read(file)
            .map_err(|e| Failure::new(EX_NOINPUT, format!("{}: {e}", file.display())))?;
        // Each message against the index as it is when its turn comes: what was filed since
        // the last one counts.
        let index = match first.take() {
            Some(i) => i,
            None => Index::open_readonly_at(&index_at)?,
        };
        let plan = plan(&rules, &index, &raw, file, &say)?;
        let mut stdout = std::io::stdout().lock();
        if json {
            let line = serde_json::to_string(&plan).expect("a plan is JSON");
            writeln!(stdout, "{line}").map_err(Failure::from)?;
        } else {
            writeln!(stdout).map_err(Failure::from)?;
        }
        stdout.flush().map_err(Failure::from)
    };
    if files.is_empty() {
        for name in std::io::stdin().lock().lines() {
            let name = name.map_err(Failure::from)?;
            if !name.is_empty() {
                one(Path::new(&name))?;
            }
        }
    } else {
        for file in files {
            one(file)?;
        }
    }
    Ok(0)
}
