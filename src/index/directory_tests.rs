use super::*;
use crate::directory::{parse, Numbering};
use crate::people::Directory;

fn directory(text: &str) -> Directory {
    let n = Numbering {
        country_code: "49".into(),
        area_code: "541".into(),
    };
    parse(text, std::path::Path::new("d.toml"), &n, &[]).unwrap()
}

const FILE_TEXT: &str = r#"
[[service]]
name = "Online"
hotline = ["0800 123456"]
[[organisation]]
id = "acme"
name = "ACME GmbH"
domains = ["acme.example"]
phone = ["0541 1234-0"]
[[person]]
last-name = "Müller"
mail = ["mm@acme.example"]
phone = ["0541 1234-17"]
fax = ["0541 1234-99"]
organisations = ["acme"]
"#;

fn load(index: &mut Index, source: &str, text: &str) {
    let tx = index.begin().unwrap();
    tx.replace_directory(source, &directory(text), "f", "now")
        .unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_sender_is_found_by_address_else_by_domain() {
    let mut index = Index::open_memory().unwrap();
    load(&mut index, DIRECTORY_FILE, FILE_TEXT);
    let s = index.directory_sender("MM@acme.example").unwrap();
    assert_eq!(s.person.unwrap().last_name, "Müller");
    assert_eq!(s.organisation.unwrap().name, "ACME GmbH");
    let s = index.directory_sender("someone@acme.example").unwrap();
    assert!(s.person.is_none());
    assert_eq!(s.organisation.unwrap().id, "acme");
    assert_eq!(
        index.directory_sender("x@other.example").unwrap(),
        Sender::default()
    );
    assert_eq!(
        index.directory_sender("no address").unwrap(),
        Sender::default()
    );
}

#[test]
fn numbers_find_persons_switchboards_and_hotlines() {
    let mut index = Index::open_memory().unwrap();
    load(&mut index, DIRECTORY_FILE, FILE_TEXT);
    let who = |n: &str| index.directory_line(n).unwrap();
    assert!(matches!(who("+49541123417"), Some(Line::Person(p)) if p.last_name == "Müller"));
    assert!(matches!(who("+49541123499"), Some(Line::Person(_))));
    assert!(matches!(who("+4954112340"), Some(Line::Organisation(o)) if o.id == "acme"));
    assert!(matches!(who("+49800123456"), Some(Line::Service(s)) if s.name == "Online"));
    assert_eq!(who("+4954199"), None);
}

#[test]
fn the_file_wins_and_a_new_copy_replaces_only_its_source() {
    let mut index = Index::open_memory().unwrap();
    load(
        &mut index,
        "ldap",
        "[[person]]\nlast-name = \"Old\"\nmail = [\"mm@acme.example\"]\n\
         [[person]]\nlast-name = \"Only\"\nmail = [\"only@ldap.example\"]\n",
    );
    load(&mut index, DIRECTORY_FILE, FILE_TEXT);
    let name = |index: &Index, a: &str| {
        index
            .directory_sender(a)
            .unwrap()
            .person
            .map(|p| p.last_name)
    };
    assert_eq!(name(&index, "mm@acme.example").as_deref(), Some("Müller"));
    assert_eq!(name(&index, "only@ldap.example").as_deref(), Some("Only"));
    // A new copy of the file without that person: the other source's entry shows again.
    load(
        &mut index,
        DIRECTORY_FILE,
        "[[person]]\nmail = [\"new@x.example\"]\n",
    );
    assert_eq!(name(&index, "mm@acme.example").as_deref(), Some("Old"));
    assert!(index
        .directory_sender("someone@acme.example")
        .unwrap()
        .organisation
        .is_none());
    assert_eq!(index.directory_counts().unwrap(), [3, 0, 0, 0]);
    assert_eq!(
        index
            .directory_loaded(DIRECTORY_FILE)
            .unwrap()
            .unwrap()
            .fingerprint,
        "f"
    );
    let tx = index.begin().unwrap();
    tx.remove_directory(DIRECTORY_FILE).unwrap();
    tx.commit().unwrap();
    assert!(index.directory_loaded(DIRECTORY_FILE).unwrap().is_none());
    assert_eq!(index.directory_counts().unwrap(), [2, 0, 0, 0]);
}

/// Each lookup is answered from an index, never by reading a whole table.
#[test]
fn lookups_use_the_key_index() {
    let index = Index::open_memory().unwrap();
    let plan = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Vec<String> {
        index
            .db
            .lite()
            .expect("an SQLite index")
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(args, |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    for p in [
        plan(SENDER, rusqlite::params!["mail:a@b", "domain:b"]),
        plan(LINE, rusqlite::params!["phone:+491234567"]),
        plan(TICKET, rusqlite::params!["2026010110000017"]),
    ] {
        assert!(
            !p.is_empty() && p.iter().all(|l| !l.starts_with("SCAN")),
            "{p:?}"
        );
    }
}
