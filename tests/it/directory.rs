//! The directory file: strict (each file in tests/bad-directories names the line and error it
//! must produce in its first line, `# expect: LINE: TEXT`), copied into the index, looked up by
//! address, domain and any written form of a number, and copied again when it changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::Desk;

/// A desk whose configuration names `directory.toml` next to it, in Osnabrück.
pub fn desk_with_directory(text: &str) -> Desk {
    let desk = Desk::with(
        "",
        "[intake]\nrescan-seconds = 1\n[directory]\nfile = \"directory.toml\"\ncountry-code = \"49\"\narea-code = \"541\"\n",
    );
    fs::write(desk.path().join("directory.toml"), text).unwrap();
    desk
}

pub const DIRECTORY: &str = r#"
[[service]]
name = "Online"
hotline = ["0800 123456"]
greeting = "Welcome to Online"

[[organisation]]
id = "acme"
name = "ACME GmbH"
domains = ["acme.example"]
phone = ["0541 1234-0"]
service = [{ service = "Online", sla = "gold" }]

[[person]]
first-name = "Maria"
last-name = "Müller"
mail = ["maria.mueller@acme.example"]
phone = ["0541 1234-17"]
fax = ["+49 541 1234-99"]
language = "de"
organisations = ["acme"]
vip = true
"#;

#[test]
fn bad_directory_files_are_refused_with_file_and_line() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad-directories");
    let desk = desk_with_directory("");
    let mut n = 0;
    for e in fs::read_dir(&dir).unwrap().flatten() {
        let text = fs::read_to_string(e.path()).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("first line # expect: LINE: TEXT");
        let (line, what) = expect.split_once(": ").expect("LINE: TEXT");
        fs::write(desk.path().join("directory.toml"), &text).unwrap();
        let out = desk.run(&["check"]);
        let err = String::from_utf8_lossy(&out.stderr);
        let name = e.file_name();
        assert_eq!(out.status.code(), Some(78), "{name:?}: {err}");
        let at = format!("directory.toml:{line}: ");
        assert!(
            err.contains(&at) && err.contains(what),
            "{name:?}: expected {at:?} and {what:?} in {err:?}"
        );
        // `directory sync` refuses it too, and says the last good copy stays.
        let out = desk.run(&["directory", "sync"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{name:?}: {err}");
        assert!(err.contains(&at) && err.contains("last good copy"), "{err}");
        n += 1;
    }
    assert!(n >= 10);
}

pub fn lookup(desk: &Desk, term: &str) -> Option<serde_json::Value> {
    let out = desk.run(&["directory", "lookup", term]);
    match out.status.code() {
        Some(0) => Some(serde_json::from_slice(&out.stdout).unwrap()),
        Some(1) => None,
        c => panic!(
            "lookup {term:?}: {c:?} {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[test]
fn entries_are_found_by_address_domain_and_any_written_number() {
    let desk = desk_with_directory(DIRECTORY);
    desk.ok(&["check"]);
    let said = desk.ok(&["directory", "sync"]);
    assert!(said.contains("1 person, 1 organisation"), "{said}");
    assert!(desk.ok(&["directory", "sync"]).contains("unchanged"));

    let p = lookup(&desk, "Maria.Mueller@ACME.example").unwrap();
    assert_eq!(p["person"]["last_name"], "Müller");
    assert_eq!(p["organisation"]["name"], "ACME GmbH");
    let o = lookup(&desk, "someone.else@acme.example").unwrap();
    assert!(o["person"].is_null());
    assert_eq!(o["organisation"]["id"], "acme");
    assert_eq!(
        lookup(&desk, "acme.example").unwrap()["organisation"]["id"],
        "acme"
    );
    assert!(lookup(&desk, "jane@example.org").is_none());

    for w in [
        "0541 1234-0",
        "(0541) 12340",
        "+49 541 12340",
        "12340",
        "0049541 12340",
    ] {
        let l = lookup(&desk, w).unwrap_or_else(|| panic!("{w}"));
        assert_eq!(l["number"], "+4954112340", "{w}");
        assert_eq!(l["organisation"]["id"], "acme", "{w}");
    }
    for w in ["0541 1234-17", "+49 (0)541 123417", "1234 99"] {
        assert_eq!(
            lookup(&desk, w).unwrap()["person"]["first_name"],
            "Maria",
            "{w}"
        );
    }
    assert_eq!(
        lookup(&desk, "0800 123456").unwrap()["service"]["name"],
        "Online"
    );
    assert!(lookup(&desk, "0541 99999").is_none());
}

/// A directory file edited while the daemon runs is copied within seconds; one with a mistake
/// leaves the last good copy in force.
#[test]
fn the_daemon_copies_the_directory_file_again_when_it_changes() {
    let desk = desk_with_directory(DIRECTORY);
    let child = desk
        .cmd()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        let t = Instant::now();
        while !f() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("the first copy", &|| {
        lookup(&desk, "acme.example").is_some()
    });
    let file: &Path = &desk.path().join("directory.toml");
    // Editors write a copy and rename it over the file.
    let edit = |text: &str| {
        let tmp = desk.path().join(".directory.toml.swp");
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, file).unwrap();
    };
    edit(&DIRECTORY.replace("ACME GmbH", "ACME AG"));
    wait_for("the edited copy", &|| {
        lookup(&desk, "acme.example").unwrap()["organisation"]["name"] == "ACME AG"
    });
    edit(&format!(
        "{DIRECTORY}\n[[person]]\nmail = [\"x@acme.example\"]\nphone = [\"0541 x\"]\n"
    ));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        lookup(&desk, "acme.example").unwrap()["organisation"]["name"],
        "ACME AG"
    );
    assert!(lookup(&desk, "x@acme.example").unwrap()["person"].is_null());
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("directory.toml:"), "{log}");
}

/// Persons exported from elsewhere as CSV (`[directory] people`), read with the directory file:
/// found like its own persons, copied again when the CSV changes, and every mistake named with
/// the CSV's name and line; an address in both files is one mistake.
#[test]
fn persons_from_a_csv_file_join_the_directory() {
    let desk = Desk::with(
        "",
        "[directory]\nfile = \"directory.toml\"\npeople = [\"people.csv\"]\ncountry-code = \"49\"\narea-code = \"541\"\n",
    );
    fs::write(desk.path().join("directory.toml"), DIRECTORY).unwrap();
    let csv = desk.path().join("people.csv");
    fs::write(
        &csv,
        "first-name;last-name;mail;phone;organisations;vip;attribute:customer-no\n\
         Jens;Schulz;jens.schulz@acme.example|js@acme.example;(0541) 1234-55;acme;ja;K-4711\n\
         Eva;Ernst;eva@example.org;0171 5550123;;nein;\n",
    )
    .unwrap();
    desk.ok(&["check"]);
    let said = desk.ok(&["directory", "sync"]);
    assert!(said.contains("3 persons, 1 organisation"), "{said}");
    let jens = lookup(&desk, "js@acme.example").unwrap();
    assert_eq!(jens["person"]["last_name"], "Schulz");
    assert_eq!(jens["person"]["vip"], true);
    assert_eq!(jens["organisation"]["id"], "acme");
    assert_eq!(
        lookup(&desk, "+49 541 123455").unwrap()["person"]["first_name"],
        "Jens"
    );
    assert_eq!(
        lookup(&desk, "0171 5550123").unwrap()["person"]["first_name"],
        "Eva"
    );
    assert!(desk.ok(&["directory", "sync"]).contains("unchanged"));

    // A mistake in the CSV: named with its file and line; the last good copy stays.
    fs::write(
        &csv,
        "first-name;mail;vip\nJens;jens.schulz@acme.example;yes\nEva;eva@example.org;perhaps\n",
    )
    .unwrap();
    let out = desk.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("people.csv:3: vip \"perhaps\""), "{err}");
    let out = desk.run(&["directory", "sync"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(lookup(&desk, "js@acme.example").is_some());

    // The same address in the directory file and in the CSV.
    fs::write(&csv, "id,mail\nmaria2,maria.mueller@acme.example\n").unwrap();
    let out = desk.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("people.csv:2: address \"maria.mueller@acme.example\" is already"),
        "{err}"
    );
    fs::write(&csv, "mail,email\nx@example.org,y\n").unwrap();
    let err = String::from_utf8_lossy(&desk.run(&["check"]).stderr).into_owned();
    assert!(
        err.contains("people.csv:1: unknown column \"email\""),
        "{err}"
    );
}
