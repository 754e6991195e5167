//! Strict configuration: each file in tests/bad-configs names the error it must produce in its
//! first line (`# expect: TEXT`); `postdesk check` exits 78 with that text.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::BIN;

/// `postdesk --config FILE check`.
fn check(config: &Path) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("check")
        .output()
        .unwrap()
}

#[test]
fn bad_configs_are_rejected_with_the_key_named() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad-configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("first line # expect:");
        let out = check(&e.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{}: {err}", e.path().display());
        assert!(
            err.contains(expect),
            "{}: expected {expect:?} in {err:?}",
            e.path().display()
        );
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
fn the_repository_configuration_and_example_pass_check() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = check(&repo.join("postdesk.toml"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The example documents every key; it names a source outside the repository, so only the
    // parse must succeed: check it with the source removed.
    let example = std::fs::read_to_string(repo.join("postdesk.example.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("md");
    std::fs::create_dir_all(md.join("new")).unwrap();
    let text = example.replace("/var/mail/support", md.to_str().unwrap());
    std::fs::write(dir.path().join("e.toml"), text).unwrap();
    crate::harness::copy_dir(&repo.join("templates"), &dir.path().join("templates"));
    let out = check(&dir.path().join("e.toml"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_renders_every_template_and_names_file_and_line() {
    let desk = crate::harness::Desk::new();
    let ok = check(&desk.config);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let t = desk.dir.path().join("templates/en/follow-up.txt");
    let mut text = std::fs::read_to_string(&t).unwrap();
    text.push_str("\nBest regards, {{ ticket.nmber }}\n");
    let line = text.lines().count();
    std::fs::write(&t, &text).unwrap();
    let out = check(&desk.config);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains(&format!("en/follow-up.txt:{line}")) && err.contains("ticket.nmber"),
        "{err}"
    );
    std::fs::write(&t, "Subject: {% if %}\n\nx\n").unwrap();
    let out = check(&desk.config);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("en/follow-up.txt:1"), "{err}");
    // The daemon refuses to start on it too (configuration error).
    let out = desk.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(78));
}

#[test]
fn check_compiles_the_filter_scripts_and_names_file_and_line() {
    let desk = crate::harness::Desk::new();
    std::fs::write(
        desk.dir.path().join("filters/50-bad.sieve"),
        "require \"fileinto\";\nif header :is \"subject\" \"x\" { fileinto \"Billing\" }\n",
    )
    .unwrap();
    let out = check(&desk.config);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("50-bad.sieve:2"), "{err}");
}

#[test]
fn every_command_says_which_configuration_and_data_dir_it_uses() {
    let desk = crate::harness::Desk::new();
    let out = desk.run(&["ticket", "list"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let config = &desk.config;
    let line = err
        .lines()
        .find(|l| l.starts_with("postdesk: configuration "))
        .unwrap_or_else(|| panic!("no announcement: {err}"));
    assert!(line.contains(&config.display().to_string()), "{line}");
    assert!(
        line.contains(&format!("data dir {}", desk.data.display())),
        "{line}"
    );
    // Once, and never on stdout, which scripts parse.
    assert_eq!(err.matches("postdesk: configuration ").count(), 1, "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("postdesk: configuration"));
}

#[test]
fn shipped_templates_are_neutral_and_the_bank_example_set_checks() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out)
            } else {
                out.push(p)
            }
        }
    }
    let mut found = Vec::new();
    walk(&repo.join("templates"), &mut found);
    for f in &found {
        let text = std::fs::read_to_string(f).unwrap().to_lowercase();
        for word in [
            " pin",
            " tan",
            "banking",
            "bank card",
            "bankkarte",
            "kontoausz",
        ] {
            assert!(!text.contains(word), "{} says {word:?}", f.display());
        }
    }
    // The bank's texts, laid over the shipped ones, are a valid set.
    let desk = crate::harness::Desk::new();
    crate::harness::copy_dir(
        &repo.join("examples/bank/templates"),
        &desk.dir.path().join("templates"),
    );
    let reset = desk
        .dir
        .path()
        .join("templates/en/responses/password-reset.txt");
    assert!(std::fs::read_to_string(reset)
        .unwrap()
        .contains("online banking"));
    let out = check(&desk.config);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_refuses_a_filter_filing_into_a_queue_that_is_not_configured() {
    let desk = crate::harness::Desk::new();
    let text = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(
        &desk.config,
        text.replace("[[queue]]\nname = \"Junk\"\n", ""),
    )
    .unwrap();
    let out = check(&desk.config);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(78), "{err}");
    let line = std::fs::read_to_string(desk.dir.path().join("filters/10-spam-virus.sieve"))
        .unwrap()
        .lines()
        .position(|l| l.trim() == "fileinto \"Junk\";")
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("10-spam-virus.sieve:{line}")),
        "{err}"
    );
    assert!(err.contains("\"Junk\""), "{err}");
}
