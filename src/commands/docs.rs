//! `postdesk generate-docs DIR` (hidden): a man page per command and completions for bash, zsh
//! and fish, written from the same clap definitions the binary parses, so they cannot drift.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, Failure, EX_CANTCREAT};

pub fn generate(out: &Path) -> Result<i32, Failure> {
    let fail = |what: &Path, e: std::io::Error| {
        Failure::new(EX_CANTCREAT, format!("{}: {e}", what.display()))
    };
    let man = out.join("man");
    let completions = out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = 0;
    write_pages(&cmd, "postdesk", &man, &mut pages).map_err(|(p, e)| fail(&p, e))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(shell, &mut Cli::command(), "postdesk", &completions)
            .map_err(|e| fail(&completions, e))?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!("wrote {pages} man pages into {}", man.display());
    Ok(0)
}

/// `postdesk-ticket-list.1` for `postdesk ticket list`, as git names its pages; hidden commands
/// and clap's generated `help` get none.
fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    pages: &mut usize,
) -> Result<(), (std::path::PathBuf, std::io::Error)> {
    let path = dir.join(format!("{name}.1"));
    let page = cmd.clone().display_name(name.to_string());
    let mut bytes = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut bytes)
        .map_err(|e| (path.clone(), e))?;
    std::fs::write(&path, bytes).map_err(|e| (path.clone(), e))?;
    *pages += 1;
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, pages)?;
    }
    Ok(())
}
