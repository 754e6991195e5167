//! What an LDAP entry says, in the directory's terms: a person, an organisation or a group.
//! Pure: attribute values in, model out, with a note for every value left out (a number that
//! is none, an address that is none), so one bad entry never stops a refresh.

use std::collections::HashMap;

use super::config::Attributes;
use crate::directory::phone::Numbering;
use crate::people::{Group, Organisation, Person};

/// An entry as the server sent it: its DN and attribute values (names in any case).
#[derive(Debug, Clone, Default)]
pub struct Raw {
    pub dn: String,
    pub attrs: HashMap<String, Vec<String>>,
}

impl Raw {
    fn values(&self, name: &str) -> &[String] {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    fn first(&self, name: &str) -> String {
        self.values(name)
            .first()
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }
}

/// A DN as a key: lower case, no blanks around `,` and `=` (`CN=Support, OU=Groups` and
/// `cn=support,ou=groups` are one group). Escaped characters are left as they are.
pub fn dn_key(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    // Blanks after an unescaped `,` or `=` are dropped; the ones before it are popped, down
    // to the last escaped character (`kept`).
    let (mut escaped, mut after_separator, mut kept) = (false, true, 0);
    for c in dn.trim().chars() {
        if escaped {
            out.extend(c.to_lowercase());
            escaped = false;
            kept = out.len();
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                after_separator = false;
                out.push(c);
            }
            ' ' if after_separator => {}
            ',' | '=' => {
                while out.len() > kept && out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
                after_separator = true;
            }
            _ => {
                after_separator = false;
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

/// Reads entries with the site's attribute map and numbering.
pub struct Reader<'a> {
    pub attributes: &'a Attributes,
    pub numbering: &'a Numbering,
    /// Organisations by lower-cased name and by DN key, to the organisation's id (its DN key).
    pub organisations: HashMap<String, String>,
}

impl Reader<'_> {
    fn numbers(&self, raw: &Raw, attrs: &[&str], notes: &mut Vec<String>) -> Vec<String> {
        let mut out = Vec::new();
        for a in attrs {
            for w in raw.values(a) {
                match self.numbering.normalise(w) {
                    Ok(n) if !out.contains(&n) => out.push(n),
                    Ok(_) => {}
                    Err(e) => notes.push(format!("{}: {a}: {e}", raw.dn)),
                }
            }
        }
        out
    }

    pub fn person(&self, raw: &Raw, notes: &mut Vec<String>) -> Person {
        let a = self.attributes;
        let mut mail = Vec::new();
        for m in raw.values(&a.mail) {
            let m = m.trim().to_ascii_lowercase();
            let valid = m
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
                && !m.chars().any(|c| c.is_whitespace() || c.is_control());
            if !valid {
                notes.push(format!(
                    "{}: {}: {m:?} is not a mail address",
                    raw.dn, a.mail
                ));
            } else if !mail.contains(&m) {
                mail.push(m);
            }
        }
        let mut organisations = Vec::new();
        for o in raw.values(&a.organisation) {
            let name = o.trim().to_lowercase();
            let id = self
                .organisations
                .get(&name)
                .or_else(|| self.organisations.get(&dn_key(o)));
            if let Some(id) = id.filter(|id| !organisations.contains(*id)) {
                organisations.push(id.clone());
            }
        }
        let first_name = raw.first(&a.first_name);
        let last_name = raw.first(&a.last_name);
        let mut display_name = raw.first(&a.display_name);
        if display_name.is_empty() {
            display_name = format!("{first_name} {last_name}").trim().to_string();
        }
        let language = raw.first(&a.language).to_ascii_lowercase();
        let language_ok = (2..=8).contains(&language.len())
            && language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        Person {
            id: dn_key(&raw.dn),
            display_name,
            first_name,
            last_name,
            mail,
            phone: self.numbers(raw, &[&a.phone, &a.mobile], notes),
            fax: self.numbers(raw, &[&a.fax], notes),
            language: if language_ok { language } else { String::new() },
            organisations,
            vip: false,
            attributes: Default::default(),
        }
    }

    pub fn organisation(&self, raw: &Raw, notes: &mut Vec<String>) -> Organisation {
        let a = self.attributes;
        let mut domains = Vec::new();
        for d in raw.values(&a.domains) {
            let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
            if d.contains('.') && !d.contains(['@', ' ', '/']) {
                if !domains.contains(&d) {
                    domains.push(d);
                }
            } else {
                notes.push(format!(
                    "{}: {}: {d:?} is not a mail domain",
                    raw.dn, a.domains
                ));
            }
        }
        let mut name = raw.first(&a.organisation);
        if name.is_empty() {
            name = raw.dn.clone();
        }
        Organisation {
            id: dn_key(&raw.dn),
            name,
            domains,
            phone: self.numbers(raw, &[&a.phone], notes),
            services: Vec::new(),
            // Customers see only their own tickets: no LDAP attribute says otherwise.
            customers_see_organisation: false,
        }
    }

    /// A group; `mail_of` gives the mail addresses of a member's DN key (none for a DN that is
    /// not a person's: a member who left the directory is no member).
    pub fn group(&self, raw: &Raw, mail_of: impl Fn(&str) -> Vec<String>) -> Group {
        let mut members = Vec::new();
        for m in raw.values(&self.attributes.member) {
            for address in mail_of(&dn_key(m)) {
                if !members.contains(&address) {
                    members.push(address);
                }
            }
        }
        members.sort();
        Group {
            name: dn_key(&raw.dn),
            queues: Vec::new(),
            members,
        }
    }
}

/// The organisations' names and DN keys, for `Reader::organisations`.
pub fn organisation_names(orgs: &[Organisation]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for o in orgs {
        out.insert(o.id.clone(), o.id.clone());
        out.entry(o.name.to_lowercase()).or_insert(o.id.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(dn: &str, attrs: &[(&str, &[&str])]) -> Raw {
        Raw {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn dns_compare_without_case_and_blanks() {
        assert_eq!(
            dn_key(" CN=Support , OU=Groups,dc=Example"),
            "cn=support,ou=groups,dc=example"
        );
        assert_eq!(dn_key("cn=a\\, b,o=x"), "cn=a\\, b,o=x");
    }

    #[test]
    fn an_inetorgperson_becomes_a_person_with_e164_numbers() {
        let attributes = Attributes::default();
        let numbering = Numbering {
            country_code: "49".into(),
            area_code: "541".into(),
        };
        let acme = Organisation {
            id: "o=acme,dc=example".into(),
            name: "ACME GmbH".into(),
            ..Default::default()
        };
        let r = Reader {
            attributes: &attributes,
            numbering: &numbering,
            organisations: organisation_names(&[acme]),
        };
        let mut notes = Vec::new();
        let p = r.person(
            &raw(
                "uid=mm,ou=People,dc=example",
                &[
                    ("cn", &["Maria Müller"]),
                    ("givenName", &["Maria"]),
                    ("SN", &["Müller"]),
                    ("mail", &["Maria@ACME.example", "not an address"]),
                    ("telephoneNumber", &["0541 1234-17"]),
                    ("mobile", &["0170 1234567", "call me"]),
                    ("facsimileTelephoneNumber", &["+49 541 1234-99"]),
                    ("o", &["acme gmbh", "Unknown Ltd"]),
                ],
            ),
            &mut notes,
        );
        assert_eq!(p.id, "uid=mm,ou=people,dc=example");
        assert_eq!(p.last_name, "Müller");
        assert_eq!(p.mail, ["maria@acme.example"]);
        assert_eq!(p.phone, ["+49541123417", "+491701234567"]);
        assert_eq!(p.fax, ["+49541123499"]);
        assert_eq!(p.organisations, ["o=acme,dc=example"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        let g = r.group(
            &raw(
                "cn=Support,ou=groups,dc=example",
                &[(
                    "member",
                    &["uid=MM, ou=People,dc=example", "uid=gone,dc=example"],
                )],
            ),
            |dn| {
                if dn == "uid=mm,ou=people,dc=example" {
                    vec!["maria@acme.example".into()]
                } else {
                    vec![]
                }
            },
        );
        assert_eq!(g.name, "cn=support,ou=groups,dc=example");
        assert_eq!(g.members, ["maria@acme.example"]);
    }
}
