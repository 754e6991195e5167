//! The directory from a real OpenLDAP slapd: read over STARTTLS and ldaps in pages of two
//! entries, looked up by address, domain and any written form of a number; the file's entries
//! win; a refresh writes only what changed; the last good copy stays when the server is down,
//! and `status` says since when and why; a wrong password and a server that never answers are
//! clear errors, in seconds, that never show the password.

use std::fs;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::directory::lookup;
use crate::harness::Desk;
use crate::services::require;
use crate::slapd::{base_ldif, ldap_config, ldif_line, Slapd, ADMIN_PW, SUFFIX};

/// Two organisations (ACME with a switchboard number, Globex), a person of each, one person in
/// both, two agents and two groups of them.
pub fn test_ldif() -> String {
    let mut l = base_ldif();
    let org = |o: &str, domain: &str, phone: &str| {
        format!(
            "dn: o={o},ou=organisations,{SUFFIX}\nobjectClass: organization\n\
             objectClass: domainRelatedObject\no: {o}\nassociatedDomain: {domain}\n\
             telephoneNumber: {phone}\n\n"
        )
    };
    l += &org("ACME GmbH", "acme.example", "0541 1234-0");
    l += &org("Globex", "globex.example", "+49 30 5550");
    let person = |uid: &str, given: &str, sn: &str, rest: &str| {
        format!(
            "dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n{}{}{}{rest}\n",
            ldif_line("cn", &format!("{given} {sn}")),
            ldif_line("givenName", given),
            ldif_line("sn", sn),
        )
    };
    l += &person(
        "mmueller",
        "Maria",
        "Müller",
        "mail: maria.mueller@acme.example\ntelephoneNumber: 0541 1234-17\n\
         facsimileTelephoneNumber: +49 541 1234-99\no: ACME GmbH\n",
    );
    l += &person(
        "gsmith",
        "Gina",
        "Smith",
        "mail: gina.smith@globex.example\ntelephoneNumber: (030) 5550-42\no: Globex\n",
    );
    l += &person(
        "jdoe",
        "John",
        "Doe",
        "mail: john.doe@globex.example\nmail: jd@acme.example\nmobile: 0170 1234567\n\
         telephoneNumber: not a number\no: Globex\no: ACME GmbH\n",
    );
    l += &person("carol", "Carol", "Agent", "mail: carol@company.example\n");
    l += &person("bob", "Bob", "Agent", "mail: bob@company.example\n");
    let group = |cn: &str, members: &[&str]| {
        let mut g =
            format!("dn: cn={cn},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: {cn}\n");
        for m in members {
            g += &format!("member: uid={m},ou=people,{SUFFIX}\n");
        }
        g + "\n"
    };
    l += &group("support", &["carol", "bob"]);
    l += &group("billing", &["bob"]);
    l
}

/// A desk reading `slapd` at `url` with the admin's password (`extra`: more `[directory.ldap]`
/// keys, `file`: a directory file to add).
pub fn ldap_desk(slapd: &Slapd, url: &str, extra: &str, file: Option<&str>) -> Desk {
    let mut rest = ldap_config(url, &slapd.cert, "ldap.pw", extra);
    if let Some(text) = file {
        rest = rest.replacen(
            "[directory]\n",
            "[directory]\nfile = \"directory.toml\"\n",
            1,
        );
        let desk = Desk::with("", &rest);
        fs::write(desk.path().join("directory.toml"), text).unwrap();
        fs::write(desk.path().join("ldap.pw"), format!("{ADMIN_PW}\n")).unwrap();
        return desk;
    }
    let desk = Desk::with("", &rest);
    fs::write(desk.path().join("ldap.pw"), format!("{ADMIN_PW}\n")).unwrap();
    desk
}

/// `directory sync`: (exit code, stdout, stderr).
pub fn sync(desk: &Desk) -> (i32, String, String) {
    let out = desk.run(&["directory", "sync"]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_ldap_directory_is_read_in_pages_and_looked_up() {
    require("slapd");
    let slapd = Slapd::start(&test_ldif());
    // Pages of two entries: the search takes several round trips.
    let desk = ldap_desk(&slapd, &slapd.url(), "page-size = 2", None);
    desk.ok(&["check"]);
    let (code, out, err) = sync(&desk);
    assert_eq!(code, 0, "{out}{err}\n{}", slapd.log());
    assert!(
        out.contains("5 persons, 2 organisations, 2 groups; 9 written"),
        "{out}"
    );
    assert!(err.contains("entries read"), "progress: {err}");
    assert!(
        out.contains("note: left out") && out.contains("not a number"),
        "{out}"
    );

    let p = lookup(&desk, "Maria.Mueller@ACME.example").unwrap();
    assert_eq!(p["person"]["last_name"], "Müller");
    assert_eq!(p["organisation"]["name"], "ACME GmbH");
    // By domain: the organisation, for someone the directory does not know.
    let o = lookup(&desk, "new.colleague@globex.example").unwrap();
    assert!(o["person"].is_null());
    assert_eq!(o["organisation"]["name"], "Globex");
    assert_eq!(
        lookup(&desk, "acme.example").unwrap()["organisation"]["name"],
        "ACME GmbH"
    );
    // A person in two organisations: both, the first the one a ticket is filed for.
    let j = lookup(&desk, "jd@acme.example").unwrap();
    assert_eq!(j["person"]["organisations"].as_array().unwrap().len(), 2);
    assert_eq!(j["organisation"]["name"], "Globex");
    // Every written form of a number: a person's phone, fax and mobile, an organisation's
    // switchboard.
    for w in [
        "0541 1234-17",
        "+49 541 123417",
        "123417",
        "0049 541 1234 17",
    ] {
        assert_eq!(
            lookup(&desk, w).unwrap()["person"]["first_name"],
            "Maria",
            "{w}"
        );
    }
    assert_eq!(
        lookup(&desk, "1234 99").unwrap()["person"]["first_name"],
        "Maria"
    );
    assert_eq!(
        lookup(&desk, "+49 170 1234567").unwrap()["person"]["first_name"],
        "John"
    );
    assert_eq!(
        lookup(&desk, "030 5550 42").unwrap()["person"]["first_name"],
        "Gina"
    );
    for w in ["0541 1234-0", "(0541) 12340", "+49 541 12340", "12340"] {
        let l = lookup(&desk, w).unwrap();
        assert_eq!(l["organisation"]["name"], "ACME GmbH", "{w}");
        assert!(l["person"].is_null(), "{w}");
    }
    assert!(lookup(&desk, "0541 99999").is_none());

    // Nothing changed: nothing written.
    let (code, out, _) = sync(&desk);
    assert_eq!(code, 0);
    assert!(
        out.contains("0 written (new or changed), 0 removed"),
        "{out}"
    );

    // One number changed, one person gone: one entry written, one removed.
    slapd.modify(&format!(
        "dn: uid=gsmith,ou=people,{SUFFIX}\nchangetype: modify\nreplace: telephoneNumber\n\
         telephoneNumber: 030 5550-43\n\n\
         dn: uid=mmueller,ou=people,{SUFFIX}\nchangetype: delete\n"
    ));
    let (code, out, _) = sync(&desk);
    assert_eq!(code, 0);
    // The group of Maria's organisation is unchanged; Gina's entry is written again.
    assert!(
        out.contains("1 written (new or changed), 1 removed"),
        "{out}"
    );
    assert_eq!(
        lookup(&desk, "030 5550 43").unwrap()["person"]["first_name"],
        "Gina"
    );
    assert!(lookup(&desk, "030 5550 42").is_none());
    assert!(lookup(&desk, "0541 1234-17").is_none());
    assert!(lookup(&desk, "maria.mueller@acme.example").unwrap()["person"].is_null());

    // The same server over ldaps://: the same entries, nothing to write.
    let tls = ldap_desk(&slapd, &slapd.ldaps_url(), "", None);
    let (code, out, err) = sync(&tls);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("4 persons"), "{out}");
    assert_eq!(
        lookup(&tls, "john.doe@globex.example").unwrap()["person"]["last_name"],
        "Doe"
    );
}

/// Where the file and LDAP know the same address, number or domain, the file's entry wins; what
/// only LDAP knows is still found.
#[test]
fn the_directory_file_overrides_ldap() {
    require("slapd");
    let slapd = Slapd::start(&test_ldif());
    let file = r#"
[[organisation]]
id = "acme-local"
name = "ACME (local)"
domains = ["acme.example"]

[[person]]
first-name = "Maria"
last-name = "Local"
mail = ["maria.mueller@acme.example"]
phone = ["0541 1234-17"]
organisations = ["acme-local"]
"#;
    let desk = ldap_desk(&slapd, &slapd.url(), "", Some(file));
    let (code, out, err) = sync(&desk);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("directory file copied"), "{out}");
    let m = lookup(&desk, "maria.mueller@acme.example").unwrap();
    assert_eq!(m["person"]["last_name"], "Local");
    assert_eq!(m["organisation"]["name"], "ACME (local)");
    assert_eq!(
        lookup(&desk, "0541 1234-17").unwrap()["person"]["last_name"],
        "Local"
    );
    assert_eq!(
        lookup(&desk, "someone@acme.example").unwrap()["organisation"]["name"],
        "ACME (local)"
    );
    // LDAP's own entries are still there.
    assert_eq!(
        lookup(&desk, "1234 99").unwrap()["person"]["last_name"],
        "Müller"
    );
    assert_eq!(
        lookup(&desk, "gina.smith@globex.example").unwrap()["person"]["last_name"],
        "Smith"
    );
}

/// slapd stopped: `directory sync` fails with exit 75 and says the last good copy stays, the
/// lookups still answer from it, and `status` says since when and the error.
#[test]
fn a_server_that_is_down_leaves_the_last_good_copy() {
    require("slapd");
    let mut slapd = Slapd::start(&test_ldif());
    let desk = ldap_desk(&slapd, &slapd.url(), "timeout-seconds = 5", None);
    assert_eq!(sync(&desk).0, 0);
    slapd.stop();
    let (code, out, err) = sync(&desk);
    assert_eq!(code, 75, "{out}{err}");
    assert!(
        err.contains("last good copy (read 20") && err.contains("stays in force"),
        "{err}"
    );
    assert_eq!(
        lookup(&desk, "john.doe@globex.example").unwrap()["person"]["last_name"],
        "Doe"
    );
    let status = desk.json(&["status", "--json"]);
    let l = &status["directory_ldap"];
    assert!(l["copy_from"].as_str().unwrap().starts_with("20"), "{l}");
    assert_eq!(l["persons"], 5, "{l}");
    let e = l["last_error"].as_str().unwrap();
    assert!(e.contains("connecting (STARTTLS)"), "{e}");
    let text = desk.ok(&["status"]);
    assert!(
        text.contains("copy in force from 20") && text.contains("failed: LDAP ldap://127.0.0.1"),
        "{text}"
    );
    // Back up: the next read succeeds and the error is gone.
    slapd.run();
    assert_eq!(sync(&desk).0, 0);
    let status = desk.json(&["status", "--json"]);
    assert!(status["directory_ldap"]["last_error"].is_null());
}

/// A wrong password is refused with a clear error that never shows it.
#[test]
fn a_wrong_bind_password_is_a_clear_error_without_the_password() {
    require("slapd");
    let slapd = Slapd::start(&test_ldif());
    let desk = ldap_desk(&slapd, &slapd.url(), "", None);
    let wrong = "wr0ng-Passw0rd-xyz";
    fs::write(desk.path().join("ldap.pw"), format!("{wrong}\n")).unwrap();
    let (code, out, err) = sync(&desk);
    assert_eq!(code, 75, "{out}{err}");
    assert!(
        err.contains("refused the bind") && err.contains("invalid credentials"),
        "{err}"
    );
    let status = fs::read_to_string(desk.data.join("directory-ldap.json")).unwrap();
    for text in [&out, &err, &status] {
        assert!(!text.contains(wrong) && !text.contains(ADMIN_PW), "{text}");
    }
    // `check` reads the password file (and asks no server): one that is missing is named.
    desk.ok(&["check"]);
    fs::remove_file(desk.path().join("ldap.pw")).unwrap();
    let out = desk.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("password-file") && err.contains("ldap.pw"),
        "{err}"
    );
}

/// A server that accepts the connection and never says a word: an error after timeout-seconds,
/// not a hang — with STARTTLS (the upgrade waits) and without (the bind waits).
#[test]
fn a_server_that_never_answers_is_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    for extra in [
        "timeout-seconds = 2",
        "timeout-seconds = 2\nstarttls = false",
    ] {
        let rest = ldap_config(
            &format!("ldap://127.0.0.1:{port}"),
            std::path::Path::new("/etc/ssl/certs/ca-certificates.crt"),
            "ldap.pw",
            extra,
        );
        let rest = if extra.contains("starttls = false") {
            rest.replace("tls-ca-file = \"/etc/ssl/certs/ca-certificates.crt\"\n", "")
        } else {
            rest
        };
        let desk = Desk::with("", &rest);
        fs::write(desk.path().join("ldap.pw"), "pw\n").unwrap();
        let t = Instant::now();
        let (code, out, err) = sync(&desk);
        assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
        assert_eq!(code, 75, "{out}{err}");
        assert!(err.contains("no answer within 2 s"), "{extra}: {err}");
    }
}
