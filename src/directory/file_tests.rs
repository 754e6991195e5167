use super::*;

fn numbering() -> Numbering {
    Numbering {
        country_code: "49".into(),
        area_code: "541".into(),
    }
}

fn read(text: &str) -> Result<Directory, Vec<DirectoryError>> {
    parse(text, Path::new("d.toml"), &numbering(), &["Support".into()])
}

#[test]
fn a_full_file_becomes_the_model() {
    let d = read(
        r#"
[[service]]
name = "Online"
hotline = ["0800 123456"]
greeting = "Welcome"
default-instance = { sla = "standard" }

[[organisation]]
id = "acme"
name = "ACME GmbH"
domains = ["ACME.example", "@acme-group.example"]
phone = ["(0541) 12340"]
service = [{ service = "Online", sla = "gold", greeting = "Hello ACME" }]

[[person]]
first-name = "Maria"
last-name = "Müller"
mail = ["Maria.Mueller@ACME.example", "mm@home.example"]
phone = ["0541 1234-17"]
fax = ["+49 541 1234 99"]
language = "de"
organisations = ["acme"]
vip = true
attributes = { customer-number = "4711" }

[[group]]
name = "cn=support,ou=groups,dc=example"
queues = ["support"]
members = ["Agent@desk.example"]
"#,
    )
    .unwrap();
    let p = &d.persons[0];
    assert_eq!(p.id, "maria.mueller@acme.example");
    assert_eq!(p.display_name, "Maria Müller");
    assert_eq!(p.mail, ["maria.mueller@acme.example", "mm@home.example"]);
    assert_eq!(p.phone, ["+49541123417"]);
    assert_eq!(p.fax, ["+49541123499"]);
    assert!(p.vip);
    assert_eq!(p.attributes["customer-number"], "4711");
    let o = &d.organisations[0];
    assert_eq!(o.domains, ["acme.example", "acme-group.example"]);
    assert_eq!(o.phone, ["+4954112340"]);
    assert_eq!(o.services[0].sla, "gold");
    assert_eq!(d.services[0].hotline, ["+49800123456"]);
    assert_eq!(
        d.services[0].default_instance.as_ref().unwrap().sla,
        "standard"
    );
    assert_eq!(d.groups[0].queues, ["Support"]);
    assert_eq!(d.group_queues("agent@desk.example"), ["Support"]);
}

#[test]
fn every_mistake_is_named_with_its_line() {
    let errs = read(
        "[[person]]\nmail = [\"a@x.example\"]\nphone = [\"12x\"]\n\
         [[person]]\nid = \"b\"\nmail = [\"A@x.example\"]\norganisations = [\"nope\"]\n",
    )
    .unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(text[0].starts_with("d.toml:3: \"12x\""), "{text:?}");
    assert!(
        text[1].starts_with("d.toml:6: address \"a@x.example\" is already"),
        "{text:?}"
    );
    assert!(
        text[2].starts_with("d.toml:7: organisation \"nope\""),
        "{text:?}"
    );
    assert_eq!(errs.len(), 3);
}
