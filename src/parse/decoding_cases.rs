//! The decoding cases in `tests/decoding/`: one mail per `.test` file, the text a reader must
//! see written above it (see the README there). Checked through `parse`, the path every mail
//! takes, so what passes here is what the index, `ticket`, `explain` and the templates show.

use super::parse;

/// Runs one case file: directives, a blank line, the raw mail.
fn check(name: &str, case: &[u8]) {
    let split = case
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or_else(|| panic!("{name}: no blank line after the directives"));
    let directives = std::str::from_utf8(&case[..split]).expect("directives are UTF-8");
    let facts = parse(&case[split + 2..]);
    let mut checked = 0;
    for line in directives.lines().filter(|l| !l.starts_with('#')) {
        let (key, want) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: not a directive: {line:?}"));
        let got = match key {
            "subject" => facts.subject.clone(),
            "from" => facts.author().map(|m| m.display()).unwrap_or_default(),
            "author-header" => facts.author_header().unwrap_or("none").to_string(),
            "attachments" => {
                let names: Vec<&str> = facts
                    .attachments
                    .iter()
                    .map(|a| a.filename.as_str())
                    .collect();
                names.join(" | ")
            }
            _ => panic!("{name}: unknown directive {key:?}"),
        };
        assert_eq!(got, want, "{name}: {key}");
        checked += 1;
    }
    assert!(checked > 0, "{name}: checks nothing");
}

#[test]
fn cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/decoding");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/decoding exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    for class in ["split-", "rfc2231-", "8bit-", "address-", "jis-"] {
        let n = files
            .iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(class))
            .count();
        assert!(n >= 5, "only {n} {class}* cases");
    }
    for path in &files {
        let case = std::fs::read(path).expect("readable case");
        check(&path.file_name().unwrap().to_string_lossy(), &case);
    }
}
