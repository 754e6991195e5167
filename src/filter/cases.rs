//! The data-driven cases: `tests/filters/*.test` against the shipped `filters/`, and
//! `tests/filters-examples/*.test` against `filters/` with `90-examples.sieve` un-commented.
//! Every failing file is reported, not just the first.
//!
//! A case file is a block of `key: value` lines, a blank line, then the raw mail. Lines
//! starting with `#` in the block are comments. Inputs:
//!
//! | key | meaning |
//! |---|---|
//! | `spamtest: 10` | `ScanValues::spamtest` (0..10) |
//! | `spam-percent: 80` | `ScanValues::spam_percent` (0..100) |
//! | `virustest: 5` | `ScanValues::virustest` (0..5) |
//! | `envelope-from: a@b.example` | the envelope sender (`<>` for the null sender) |
//! | `envelope-to: x@y.example` | an envelope recipient (repeatable, or comma-separated) |
//!
//! Expectations (a key that is absent is not checked, except `errors`):
//!
//! | key | meaning |
//! |---|---|
//! | `queue: Junk` / `queue: -` | the chosen `fileinto` folder, or none (implicit keep) |
//! | `discard: yes` / `no` | the message was discarded |
//! | `reject: text` / `reject: -` | the reject text, or no reject |
//! | `stop: yes` / `no` | a script executed `stop` |
//! | `no-autoresponse:`, `priority:`, `owner:`, `customer-id:` | the attribute's value (last one set), or `-` for unset |
//! | `flags: \Seen $Label` / `flags: -` | the article's flags, in order |
//! | `trace: text` | some trace line contains `text` (repeatable) |
//! | `errors: 0` | the number of run-time errors (default 0: any error fails the case) |

use std::path::{Path, PathBuf};

use super::{Envelope, Filters, ScanValues, Verdict};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn filter_cases() {
    let filters =
        Filters::load(&root().join("filters")).unwrap_or_else(|e| panic!("shipped filters: {e:?}"));
    check_all(&filters, &root().join("tests/filters"));
}

#[test]
fn example_cases() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("filters")).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .filter(|_| path.extension().is_some_and(|x| x == "sieve"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let text = if name == "90-examples.sieve" {
            uncomment(&text)
        } else {
            text
        };
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let filters =
        Filters::load(dir.path()).unwrap_or_else(|e| panic!("un-commented examples: {e:?}"));
    check_all(&filters, &root().join("tests/filters-examples"));
}

/// What an admin does to enable the examples: drop the `# ` of code lines (`## ` is prose).
fn uncomment(text: &str) -> String {
    let lines = text.lines().map(|l| match l.strip_prefix("# ") {
        Some(code) if !l.starts_with("##") => code,
        _ => l,
    });
    lines.map(|l| format!("{l}\n")).collect()
}

fn check_all(filters: &Filters, cases: &Path) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", cases.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            check(filters, f)
                .err()
                .map(|e| format!("{}: {e}", f.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

fn check(filters: &Filters, file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let (head, mail) = text
        .split_once("\n\n")
        .ok_or("no blank line before the mail")?;
    let mut scan = ScanValues::default();
    let mut env = Envelope::default();
    let mut expect = Vec::new();
    for line in head
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
    {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("not `key: value`: {line:?}"))?;
        let (key, value) = (key.trim(), value.trim());
        let num = || {
            value
                .parse::<u8>()
                .map_err(|_| format!("{key}: not a number: {value:?}"))
        };
        match key {
            "spamtest" => scan.spamtest = Some(num()?),
            "spam-percent" => scan.spam_percent = Some(num()?),
            "virustest" => scan.virustest = Some(num()?),
            "envelope-from" => {
                env.from = if value == "<>" {
                    String::new()
                } else {
                    value.into()
                }
            }
            "envelope-to" => env
                .to
                .extend(value.split(',').map(|s| s.trim().to_string())),
            _ => expect.push((key.to_string(), value.to_string())),
        }
    }
    let verdict = filters.run(mail.as_bytes(), &env, &scan);
    let mut problems = Vec::new();
    let mut errors_expected = 0usize;
    for (key, want) in &expect {
        if key == "errors" {
            errors_expected = want
                .parse()
                .map_err(|_| format!("errors: not a number: {want:?}"))?;
            continue;
        }
        let got = actual(&verdict, key, want)?;
        if &got != want {
            problems.push(format!("{key}: expected {want:?}, got {got:?}"));
        }
    }
    if verdict.errors.len() != errors_expected {
        problems.push(format!(
            "errors: expected {errors_expected}, got {:?}",
            verdict.errors
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n    trace: {:?}",
            problems.join("; "),
            verdict.trace
        ))
    }
}

/// The verdict's value for `key`, in the case file's notation (`want` is used by `trace`).
fn actual(v: &Verdict, key: &str, want: &str) -> Result<String, String> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let or_dash = |s: Option<&str>| s.unwrap_or("-").to_string();
    Ok(match key {
        "queue" => or_dash(v.queue.as_ref().map(|q| q.0.as_str())),
        "discard" => yes_no(v.discard.is_some()),
        "reject" => or_dash(v.reject.as_ref().map(|r| r.0.as_str())),
        "stop" => yes_no(v.stop),
        "no-autoresponse" | "priority" | "owner" | "customer-id" => or_dash(v.attribute(key)),
        "flags" if v.flags.is_empty() => "-".into(),
        "flags" => v.flags.join(" "),
        "trace" if v.trace.iter().any(|t| t.contains(want)) => want.to_string(),
        "trace" => "(no such line)".into(),
        _ => return Err(format!("unknown key {key:?}")),
    })
}
