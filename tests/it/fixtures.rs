//! The repository's fixtures through the repository's own configuration: the expected tickets,
//! articles, queues and classifications (tests/fixtures-expected.tsv), and a second run changes
//! nothing.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{incoming, BIN};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Run {
    data: tempfile::TempDir,
}

impl Run {
    fn postdesk(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(BIN)
            .arg("--config")
            .arg(repo().join("postdesk.toml"))
            .arg("--data-dir")
            .arg(self.data.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// mail log: source file → (verdict, ticket, class)
fn log_by_file(data: &Path) -> HashMap<String, (String, String, String)> {
    let log = fs::read_to_string(data.join("mail.log")).unwrap();
    let mut out = HashMap::new();
    for line in log.lines() {
        let field = |k: &str| {
            line.split(' ')
                .find_map(|f| f.strip_prefix(&format!("{k}=")))
                .unwrap_or("")
                .trim_matches('"')
                .to_string()
        };
        let source = field("source");
        let file = source.rsplit('/').next().unwrap().to_string();
        out.insert(file, (field("verdict"), field("ticket"), field("class")));
    }
    out
}

fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn fixtures_become_the_expected_tickets() {
    let fixtures = repo().join("maildir-fixtures/new");
    let before = listing(&fixtures);
    let run = Run {
        data: tempfile::tempdir().unwrap(),
    };
    let summary = run.postdesk(&["run", "--once"]);
    assert_eq!(
        listing(&fixtures),
        before,
        "the fixtures must not be touched"
    );

    let expected = fs::read_to_string(repo().join("tests/fixtures-expected.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = expected
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    assert!(rows.len() >= 40);
    assert!(
        summary.contains(&format!("processed {}", rows.len())),
        "{summary}"
    );

    let log = log_by_file(run.data.path());
    let tickets: Vec<serde_json::Value> =
        serde_json::from_str(&run.postdesk(&["ticket", "list", "--json"])).unwrap();
    let queue_of: HashMap<String, String> = tickets
        .iter()
        .map(|t| {
            (
                t["number"].as_str().unwrap().into(),
                t["queue"].as_str().unwrap().into(),
            )
        })
        .collect();
    // Attachments per source file, from the stored articles' trace headers.
    let mut attachments: HashMap<String, usize> = HashMap::new();
    let mut refers: HashMap<String, String> = HashMap::new();
    for t in &tickets {
        let n = t["number"].as_str().unwrap();
        let show: serde_json::Value =
            serde_json::from_str(&run.postdesk(&["ticket", "show", n, "--json"])).unwrap();
        if let Some(r) = show["refers"].as_str() {
            refers.insert(n.to_string(), r.to_string());
        }
        for a in &incoming(&show) {
            let text = fs::read(a["path"].as_str().unwrap()).unwrap();
            let text = String::from_utf8_lossy(&text[..text.len().min(2000)]).into_owned();
            let src = text
                .lines()
                .find_map(|l| l.strip_prefix("X-Postdesk-Source: "))
                .unwrap()
                .trim()
                .to_string();
            attachments.insert(
                src.rsplit('/').next().unwrap().to_string(),
                a["attachments"].as_array().unwrap().len(),
            );
        }
    }

    let mut failures = Vec::new();
    let ticket_of = |file: &str| log.get(file).map(|l| l.1.clone()).unwrap_or_default();
    for r in &rows {
        let (file, queue, class, relation, atts) = (r[0], r[1], r[2], r[3], r[4]);
        let Some((verdict, ticket, got_class)) = log.get(file) else {
            failures.push(format!("{file}: not in the mail log"));
            continue;
        };
        let mut check = |what: &str, ok: bool, got: String| {
            if !ok {
                failures.push(format!("{file}: expected {what}, got {got}"));
            }
        };
        let (rel, other) = relation.split_once(' ').unwrap_or((relation, ""));
        match rel {
            "new" => check("a new ticket", verdict == "created", verdict.clone()),
            "follow-up" | "bounce-of" => check(
                &format!("a follow-up to {other}'s ticket"),
                verdict == "follow-up" && *ticket == ticket_of(other),
                format!("{verdict} {ticket}"),
            ),
            "duplicate" => check(
                &format!("a duplicate of {other}"),
                verdict == "duplicate" && *ticket == ticket_of(other),
                format!("{verdict} {ticket}"),
            ),
            "stranger" => check(
                &format!("a new ticket referring to {other}'s"),
                verdict == "created" && refers.get(ticket) == Some(&ticket_of(other)),
                format!("{verdict} {ticket} refers {:?}", refers.get(ticket)),
            ),
            "quarantine" => check("quarantine", verdict == "quarantined", verdict.clone()),
            other => panic!("unknown relation {other}"),
        }
        if queue != "-" {
            check(
                &format!("queue {queue}"),
                queue_of.get(ticket).map(String::as_str) == Some(queue),
                format!("{:?}", queue_of.get(ticket)),
            );
            check(
                &format!("class {class}"),
                got_class == class,
                got_class.clone(),
            );
        }
        if rel != "duplicate" && rel != "quarantine" {
            let want: usize = atts.parse().unwrap();
            check(
                &format!("{want} attachments"),
                attachments.get(file) == Some(&want),
                format!("{:?}", attachments.get(file)),
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Running the same input again changes nothing.
    let list_before = run.postdesk(&["ticket", "list", "--json"]);
    let again = run.postdesk(&["run", "--once"]);
    assert!(again.starts_with("processed 0,"), "{again}");
    // Even when the source forgets what it kept: every message is recognised as a duplicate.
    let copy = tempfile::tempdir().unwrap();
    for sub in ["new", "cur", "tmp"] {
        fs::create_dir_all(copy.path().join(sub)).unwrap();
    }
    for (name, _) in &before {
        fs::copy(fixtures.join(name), copy.path().join("new").join(name)).unwrap();
    }
    let again = run.postdesk(&["run", "--once", "--maildir", copy.path().to_str().unwrap()]);
    assert!(again.contains("new tickets 0, follow-ups 0"), "{again}");
    assert_eq!(run.postdesk(&["ticket", "list", "--json"]), list_before);
    run.postdesk(&["fsck"]);
}
