//! `postdesk directory sync|lookup`: the directory's copy in the index, brought up to date or
//! asked the questions intake and the phone integration ask.

use serde_json::json;

use crate::cli::{DirectoryCommand, Failure, EX_DATAERR, EX_TEMPFAIL};
use crate::commands::Context;
use crate::config::Config;
use crate::directory::{forget_ldap, refresh_and_record, sync_file, Synced};
use crate::index::{Index, Line};

pub fn directory(ctx: &Context, cmd: DirectoryCommand) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let data = cfg.data_dir();
    // Opened for writing even to look up: an index of an older version gains the tables first.
    std::fs::create_dir_all(&data).map_err(crate::access::at(&data))?;
    let mut index = Index::open_at(&cfg.index_location(), cfg.general.durable)?;
    match cmd {
        DirectoryCommand::Sync => {
            let done = sync_file(&cfg, &mut index).map_err(|e| {
                Failure::new(
                    EX_DATAERR,
                    format!("{e}; the last good copy stays in force"),
                )
            })?;
            match done {
                Synced::None => println!("no directory file is configured"),
                Synced::Unchanged => {
                    println!("the directory file is unchanged since its last copy")
                }
                Synced::Loaded {
                    persons,
                    organisations,
                } => println!(
                    "directory file copied: {}, {}",
                    super::count(persons, "person"),
                    super::count(organisations, "organisation")
                ),
                Synced::Removed => {
                    println!("the directory file is no longer configured: its entries were removed")
                }
            }
            sync_ldap(&cfg, &mut index)?;
            Ok(0)
        }
        DirectoryCommand::Lookup { term, stdin } => {
            if stdin {
                return lookup_lines(&cfg, &index);
            }
            let term = term.unwrap_or_default();
            match find(&cfg, &index, term.trim())? {
                Some(v) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&v).expect("serialisable")
                    );
                    Ok(0)
                }
                None => {
                    eprintln!("the directory knows no {:?}", term.trim());
                    Ok(1)
                }
            }
        }
    }
}

/// The entry an address, a domain or a number belongs to.
fn find(cfg: &Config, index: &Index, term: &str) -> Result<Option<serde_json::Value>, Failure> {
    if term.contains('@') || term.chars().any(|c| c.is_alphabetic()) {
        // An address, or a domain (no local part: only organisations match).
        let address = if term.contains('@') {
            term.to_string()
        } else {
            format!("@{term}")
        };
        let s = index.directory_sender(&address)?;
        Ok((s.person.is_some() || s.organisation.is_some())
            .then(|| json!({ "person": s.person, "organisation": s.organisation })))
    } else {
        let number = cfg
            .directory
            .numbering()
            .normalise(term)
            .map_err(|e| Failure::new(crate::cli::EX_USAGE, e))?;
        Ok(index.directory_line(&number)?.map(|l| match l {
            Line::Person(p) => json!({ "number": number, "person": p }),
            Line::Organisation(o) => json!({ "number": number, "organisation": o }),
            Line::Service(s) => json!({ "number": number, "service": s }),
        }))
    }
}

/// `lookup --stdin`: each line's entry as one JSON line, with how long the lookup took (what
/// the directory benchmark reads). A line that is no address and no number says why.
fn lookup_lines(cfg: &Config, index: &Index) -> Result<i32, Failure> {
    use std::io::{BufRead, Write};
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Failure::new(crate::cli::EX_DATAERR, e.to_string()))?;
        let term = line.trim();
        if term.is_empty() {
            continue;
        }
        let t = std::time::Instant::now();
        let v = match find(cfg, index, term) {
            Ok(found) => {
                json!({ "term": term, "found": found, "micros": t.elapsed().as_micros() as u64 })
            }
            Err(e) => json!({ "term": term, "error": e.message }),
        };
        writeln!(out, "{v}").map_err(|e| Failure::new(crate::cli::EX_IOERR, e.to_string()))?;
    }
    out.flush()
        .map_err(|e| Failure::new(crate::cli::EX_IOERR, e.to_string()))?;
    Ok(0)
}

/// Reads the LDAP directory now, with progress on stderr; or removes its entries when it is no
/// longer configured.
fn sync_ldap(cfg: &Config, index: &mut Index) -> Result<(), Failure> {
    let Some(l) = &cfg.directory.ldap else {
        if forget_ldap(cfg, index).map_err(|e| Failure::new(EX_TEMPFAIL, e))? {
            println!("LDAP is no longer configured: its entries were removed");
        }
        return Ok(());
    };
    eprintln!("reading {} ...", l.url);
    let mut progress = |n: u64| eprintln!("  {n} entries read");
    let done = refresh_and_record(cfg, index, &mut progress).map_err(|e| {
        let since = index
            .directory_loaded(crate::directory::ldap::SOURCE)
            .ok()
            .flatten()
            .map(|l| format!(" (read {})", l.at))
            .unwrap_or_default();
        Failure::new(
            EX_TEMPFAIL,
            format!("{e}; the last good copy{since} stays in force"),
        )
    })?;
    println!(
        "LDAP directory read in {:.1} s: {}, {}, {}; {} written (new or changed), {} removed",
        done.seconds,
        super::count(done.persons as usize, "person"),
        super::count(done.organisations as usize, "organisation"),
        super::count(done.groups as usize, "group"),
        done.written,
        done.removed
    );
    for n in &done.notes {
        println!("note: left out {n}");
    }
    if done.notes_total > done.notes.len() as u64 {
        println!(
            "note: {} more values left out",
            done.notes_total - done.notes.len() as u64
        );
    }
    Ok(())
}
