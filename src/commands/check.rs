//! `postdesk check`: the configuration and everything it names, validated without side effects.

use crate::cli::{Failure, EX_CONFIG};
use crate::commands::{count, Context};
use crate::source;

pub fn check(ctx: &Context) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let mut problems = Vec::new();
    for s in source::configured(&cfg) {
        if let Err(e) = source::maildir::check(&s.dir) {
            problems.push(format!("source {:?}: {e}", s.name));
        }
    }
    match crate::template::Templates::load(&cfg.templates_dir()) {
        Ok(t) => {
            for e in t.check() {
                problems.push(e.to_string());
            }
            let sample = crate::template::Context::sample();
            // Customers' requests are answered only with a directory.
            let requests = match cfg.customer_requests.enabled && cfg.directory.file.is_some() {
                true => crate::requests::TEMPLATES,
                false => &[],
            };
            use crate::template::Kind;
            for name in Kind::ALL
                .iter()
                .map(|k| k.name())
                .chain(requests.iter().copied())
            {
                for q in &cfg.queues {
                    // A queue's agents get digests only with `agent-notice = "digest"`.
                    let digest =
                        cfg.notice_style(&q.name) == crate::outgoing::config::NoticeStyle::Digest;
                    if name == Kind::AgentDigest.name() && !digest {
                        continue;
                    }
                    if let Ok(None) = t.render(name, &q.language, &q.name, &sample) {
                        problems.push(format!(
                            "templates: no {name} template for queue {} in any language",
                            q.name
                        ));
                    }
                }
            }
        }
        Err(errs) => problems.extend(errs.iter().map(|e| e.to_string())),
    }
    let filters = cfg.filters_dir();
    let mut scripts = 0;
    if filters.is_dir() {
        match crate::filter::Filters::load(&filters) {
            Ok(f) => {
                scripts = f.scripts().len();
                let queues: Vec<String> = cfg.queues.iter().map(|q| q.name.clone()).collect();
                problems.extend(f.unknown_folders(&queues).iter().map(|e| e.to_string()));
            }
            Err(errs) => problems.extend(errs.iter().map(|e| e.to_string())),
        }
    }
    if let Some(file) = &cfg.directory.file {
        let queues: Vec<String> = cfg.queues.iter().map(|q| q.name.clone()).collect();
        let people: Vec<_> = cfg
            .directory
            .people
            .iter()
            .map(|p| cfg.resolve(p))
            .collect();
        if let Err(errs) = crate::directory::load(
            &cfg.resolve(file),
            &people,
            &cfg.directory.numbering(),
            &queues,
        ) {
            problems.extend(errs.iter().map(|e| e.to_string()));
        }
    }
    // LDAP's password file and CA file must be readable; the server is not asked.
    if let Some(l) = &cfg.directory.ldap {
        if let Err(e) = l.read_password(|p| cfg.resolve(p)) {
            problems.push(e);
        }
        if let Some(ca) = &l.tls_ca_file {
            if let Err(e) =
                crate::transport::tls_client_config("[directory.ldap]", Some(&cfg.resolve(ca)))
            {
                problems.push(e);
            }
        }
    }
    // Calendars' holidays files must be readable iCalendar files with dates we understand.
    if let Err(e) =
        crate::sla::Calendars::load(&cfg.calendars, &cfg.resolve(std::path::Path::new("")))
    {
        problems.push(e.to_string());
    }
    // The API's token files must be readable and hold tokens long enough, and the PBXs'
    // readable and not empty.
    if let Err(e) = crate::api::check(&cfg) {
        problems.push(e);
    }
    problems.extend(crate::dial::check_tokens(&|p| cfg.resolve(p), &cfg.pbxs));
    // Not a problem of the file: the same file works outside the sandbox.
    if let Some(w) = crate::transport::confinement(&cfg.transport_config()) {
        eprintln!("warning: {w}");
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
        "{}: OK ({}, {}, {}, templates in {}, {} in {}; data in {})",
        cfg.file.display(),
        count(cfg.queues.len(), "queue"),
        count(cfg.sources.len() + cfg.imap.len(), "source"),
        count(cfg.agents.len(), "agent"),
        cfg.templates_dir().display(),
        count(scripts, "filter script"),
        filters.display(),
        data.display()
    );
    Ok(0)
}
