//! `postdesk report`: a service report over a period, from the index.

use std::path::Path;

use crate::cli::{Failure, ReportArgs, EX_CANTCREAT, EX_CONFIG, EX_USAGE};
use crate::commands::Context;
use crate::index::Index;
use crate::report::{self, Format, Period};

pub fn report(ctx: &Context, args: ReportArgs) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let now = chrono::Utc::now();
    let period = Period::parse(args.from.as_deref(), args.to.as_deref(), now.date_naive())
        .map_err(|e| Failure::new(EX_USAGE, e))?;
    let format = match (&args.format, &args.out) {
        (Some(f), _) => Format::parse(f).ok_or_else(|| {
            Failure::new(
                EX_USAGE,
                format!("unknown format {f:?}: pdf, html, csv or json"),
            )
        })?,
        // The file's extension, else JSON.
        (None, Some(out)) => out
            .extension()
            .and_then(|e| Format::parse(&e.to_string_lossy()))
            .unwrap_or(Format::Json),
        (None, None) => Format::Json,
    };
    for q in &args.queue {
        if cfg.queue(q).is_none() {
            return Err(Failure::new(
                EX_USAGE,
                format!("no queue {q:?} in the configuration"),
            ));
        }
    }
    let queues: Vec<String> = args
        .queue
        .iter()
        .filter_map(|q| cfg.queue(q).map(|c| c.name.clone()))
        .collect();
    let index = Index::open_readonly_at(&cfg.index_location())?;
    let slas = cfg
        .service_levels()
        .map_err(|e| Failure::new(EX_CONFIG, e))?;
    let r = report::make(&index, period, &queues, &slas, now)?;
    let bytes = report::render(&r, format).map_err(|e| Failure::new(EX_CANTCREAT, e))?;
    match &args.out {
        Some(path) => write(path, &bytes)?,
        None => {
            if format == Format::Pdf && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(Failure::new(
                    EX_USAGE,
                    "a PDF is not for the terminal: give --out FILE or redirect the output",
                ));
            }
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::new(EX_CANTCREAT, format!("writing the report: {e}")))?;
        }
    }
    Ok(0)
}

/// Writes next to `path` and renames, so a reader never sees half a report.
fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail =
        |e: std::io::Error| Failure::new(EX_CANTCREAT, format!("writing {}: {e}", path.display()));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}
