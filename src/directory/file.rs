//! The directory file admins edit: TOML, strict like the configuration. Every mistake (an
//! unknown key, a number that is none, an address given twice, an organisation or queue that
//! does not exist) is named with the file and the line it is on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::people::Numbering;
use crate::people::{Directory, Group, Organisation, Person, Service, ServiceInstance};

mod pieces;

/// One mistake in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryError {
    pub path: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    person: Vec<Spanned<RawPerson>>,
    #[serde(default)]
    organisation: Vec<Spanned<RawOrganisation>>,
    #[serde(default)]
    service: Vec<Spanned<RawService>>,
    #[serde(default)]
    group: Vec<Spanned<RawGroup>>,
}

pub(super) type Texts = Vec<Spanned<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPerson {
    pub(super) id: Option<String>,
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) first_name: String,
    #[serde(default)]
    pub(super) last_name: String,
    #[serde(default)]
    pub(super) mail: Texts,
    #[serde(default)]
    pub(super) phone: Texts,
    #[serde(default)]
    pub(super) fax: Texts,
    #[serde(default)]
    pub(super) language: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) organisations: Texts,
    #[serde(default)]
    pub(super) vip: bool,
    #[serde(default)]
    pub(super) attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawOrganisation {
    id: String,
    name: String,
    #[serde(default)]
    domains: Texts,
    #[serde(default)]
    phone: Texts,
    #[serde(default)]
    service: Vec<Spanned<RawInstance>>,
    #[serde(default)]
    customers_see_organisation: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawInstance {
    service: String,
    #[serde(default)]
    sla: String,
    greeting: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawService {
    name: String,
    #[serde(default)]
    hotline: Texts,
    default_instance: Option<RawDefaultInstance>,
    #[serde(default)]
    greeting: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDefaultInstance {
    #[serde(default)]
    sla: String,
    greeting: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGroup {
    name: String,
    #[serde(default)]
    queues: Texts,
    #[serde(default)]
    members: Texts,
}

/// Reads and checks the file and the CSV files of persons beside it (`people`). `queues` are
/// the configured queue names groups may name.
pub fn load(
    path: &Path,
    people: &[PathBuf],
    numbering: &Numbering,
    queues: &[String],
) -> Result<Directory, Vec<DirectoryError>> {
    let read = |path: &Path, what: &str| {
        std::fs::read_to_string(path).map_err(|e| {
            vec![DirectoryError {
                path: path.to_path_buf(),
                line: 0,
                message: format!("cannot read the {what}: {e}"),
            }]
        })
    };
    let text = read(path, "directory file")?;
    let mut csvs = Vec::with_capacity(people.len());
    for p in people {
        csvs.push((p.clone(), read(p, "people file")?));
    }
    parse_all(&text, path, &csvs, numbering, queues)
}

/// Checks the text of a directory file.
pub fn parse(
    text: &str,
    path: &Path,
    numbering: &Numbering,
    queues: &[String],
) -> Result<Directory, Vec<DirectoryError>> {
    parse_all(text, path, &[], numbering, queues)
}

/// The directory file's text and the CSV files of persons (path, text), checked together: an
/// address or id given twice is a mistake across files too.
fn parse_all(
    text: &str,
    path: &Path,
    people: &[(PathBuf, String)],
    numbering: &Numbering,
    queues: &[String],
) -> Result<Directory, Vec<DirectoryError>> {
    let mut c = Checker {
        text,
        path,
        numbering,
        errors: Vec::new(),
    };
    let pieces = match text.len() > pieces::PIECE {
        true => pieces::parse(text),
        false => None,
    };
    let raw: RawFile = match pieces.map_or_else(|| toml::from_str(text), Ok) {
        Ok(r) => r,
        Err(e) => {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            c.error(at, e.message().trim_end().replace('\n', " | "));
            return Err(c.errors);
        }
    };
    let services = c.services(raw.service);
    let service_names: HashSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let organisations = c.organisations(raw.organisation, &service_names);
    let org_ids: HashSet<&str> = organisations.iter().map(|o| o.id.as_str()).collect();
    let (mut ids, mut seen) = (HashSet::new(), HashMap::new());
    let mut persons = c.persons(raw.person, &org_ids, &mut ids, &mut seen);
    for (csv_path, csv_text) in people {
        let mut cc = Checker {
            text: csv_text,
            path: csv_path,
            numbering,
            errors: Vec::new(),
        };
        match super::people_csv::read(csv_text) {
            Ok(raw) => persons.extend(cc.persons(raw, &org_ids, &mut ids, &mut seen)),
            Err(errors) => {
                for (at, message) in errors {
                    cc.error(at, message);
                }
            }
        }
        c.errors.append(&mut cc.errors);
    }
    let groups = c.groups(raw.group, queues);
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    Ok(Directory {
        persons,
        organisations,
        services,
        groups,
    })
}

struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
    numbering: &'a Numbering,
    errors: Vec<DirectoryError>,
}

impl Checker<'_> {
    fn error(&mut self, at: usize, message: String) {
        let line = self.text[..at.min(self.text.len())].matches('\n').count() + 1;
        self.errors.push(DirectoryError {
            path: self.path.to_path_buf(),
            line,
            message,
        });
    }

    fn numbers(&mut self, written: Texts) -> Vec<String> {
        let mut out = Vec::new();
        for w in written {
            match self.numbering.normalise(w.get_ref()) {
                Ok(n) if !out.contains(&n) => out.push(n),
                Ok(_) => {}
                Err(e) => self.error(w.span().start, e),
            }
        }
        out
    }

    /// Lower-cased addresses, each new to `seen` (which says whose it already is).
    fn addresses(
        &mut self,
        written: Texts,
        owner: &str,
        seen: &mut HashMap<String, String>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for w in written {
            let a = w.get_ref().trim().to_ascii_lowercase();
            let valid = a
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
                && !a.chars().any(|c| c.is_whitespace() || c.is_control());
            if !valid {
                self.error(
                    w.span().start,
                    format!("{:?} is not a mail address", w.get_ref()),
                );
            } else if let Some(other) = seen.insert(a.clone(), owner.to_string()) {
                self.error(
                    w.span().start,
                    format!("address {a:?} is already {other:?}'s"),
                );
            } else {
                out.push(a);
            }
        }
        out
    }

    fn services(&mut self, raw: Vec<Spanned<RawService>>) -> Vec<Service> {
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for s in raw {
            let at = s.span().start;
            let s = s.into_inner();
            if s.name.trim().is_empty() || !names.insert(s.name.clone()) {
                self.error(
                    at,
                    format!("service name {:?} is empty or used twice", s.name),
                );
                continue;
            }
            let hotline = self.numbers(s.hotline);
            out.push(Service {
                default_instance: s.default_instance.map(|d| ServiceInstance {
                    service: s.name.clone(),
                    sla: d.sla,
                    greeting: d.greeting,
                }),
                name: s.name,
                hotline,
                greeting: s.greeting,
            });
        }
        out
    }

    fn organisations(
        &mut self,
        raw: Vec<Spanned<RawOrganisation>>,
        services: &HashSet<&str>,
    ) -> Vec<Organisation> {
        let mut ids = HashSet::new();
        let mut domains: HashMap<String, String> = HashMap::new();
        let mut out = Vec::new();
        for o in raw {
            let at = o.span().start;
            let o = o.into_inner();
            if o.id.trim().is_empty() || !ids.insert(o.id.clone()) {
                self.error(
                    at,
                    format!("organisation id {:?} is empty or used twice", o.id),
                );
                continue;
            }
            let mut own = Vec::new();
            for d in o.domains {
                let name = d
                    .get_ref()
                    .trim()
                    .trim_start_matches('@')
                    .to_ascii_lowercase();
                let valid = name.contains('.')
                    && !name.starts_with('.')
                    && !name.ends_with('.')
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
                if !valid {
                    self.error(
                        d.span().start,
                        format!("{:?} is not a mail domain", d.get_ref()),
                    );
                } else if let Some(other) = domains.insert(name.clone(), o.id.clone()) {
                    self.error(
                        d.span().start,
                        format!("domain {name:?} is already organisation {other:?}'s"),
                    );
                } else {
                    own.push(name);
                }
            }
            let phone = self.numbers(o.phone);
            let mut instances = Vec::new();
            for i in o.service {
                if !services.contains(i.get_ref().service.as_str()) {
                    self.error(
                        i.span().start,
                        format!("service {:?} is not a [[service]]", i.get_ref().service),
                    );
                    continue;
                }
                let i = i.into_inner();
                instances.push(ServiceInstance {
                    service: i.service,
                    sla: i.sla,
                    greeting: i.greeting,
                });
            }
            out.push(Organisation {
                id: o.id,
                name: o.name,
                domains: own,
                phone,
                services: instances,
                customers_see_organisation: o.customers_see_organisation,
            });
        }
        out
    }

    /// Persons whose ids and addresses are new to `ids` and `seen` (shared by all files).
    fn persons(
        &mut self,
        raw: Vec<Spanned<RawPerson>>,
        organisations: &HashSet<&str>,
        ids: &mut HashSet<String>,
        seen: &mut HashMap<String, String>,
    ) -> Vec<Person> {
        let mut out = Vec::with_capacity(raw.len());
        for p in raw {
            let at = p.span().start;
            let p = p.into_inner();
            let first_mail = p
                .mail
                .first()
                .map(|m| m.get_ref().trim().to_ascii_lowercase());
            let Some(id) = p.id.clone().or(first_mail) else {
                self.error(at, "a [[person]] needs an id or a mail address".into());
                continue;
            };
            if !ids.insert(id.clone()) {
                self.error(at, format!("person id {id:?} is used twice"));
                continue;
            }
            let mail = self.addresses(p.mail, &id, seen);
            let phone = self.numbers(p.phone);
            let fax = self.numbers(p.fax);
            let mut orgs = Vec::new();
            for o in p.organisations {
                if organisations.contains(o.get_ref().as_str()) {
                    orgs.push(o.into_inner());
                } else {
                    self.error(
                        o.span().start,
                        format!("organisation {:?} is not an [[organisation]]", o.get_ref()),
                    );
                }
            }
            let language = match p.language {
                Some(l) if valid_language(l.get_ref()) => l.into_inner(),
                Some(l) => {
                    self.error(
                        l.span().start,
                        format!(
                            "language {:?}: a code such as \"de\" or \"en\"",
                            l.get_ref()
                        ),
                    );
                    String::new()
                }
                None => String::new(),
            };
            let display_name = p.display_name.unwrap_or_else(|| {
                format!("{} {}", p.first_name, p.last_name)
                    .trim()
                    .to_string()
            });
            out.push(Person {
                id,
                display_name,
                first_name: p.first_name,
                last_name: p.last_name,
                mail,
                phone,
                fax,
                language,
                organisations: orgs,
                vip: p.vip,
                attributes: p.attributes,
            });
        }
        out
    }

    fn groups(&mut self, raw: Vec<Spanned<RawGroup>>, queues: &[String]) -> Vec<Group> {
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for g in raw {
            let at = g.span().start;
            let g = g.into_inner();
            if g.name.trim().is_empty() || !names.insert(g.name.clone()) {
                self.error(
                    at,
                    format!("group name {:?} is empty or used twice", g.name),
                );
                continue;
            }
            let mut own = Vec::new();
            for q in g.queues {
                match queues.iter().find(|n| n.eq_ignore_ascii_case(q.get_ref())) {
                    Some(n) => own.push(n.clone()),
                    None => self.error(
                        q.span().start,
                        format!("queue {:?} is not a [[queue]]", q.get_ref()),
                    ),
                }
            }
            let mut seen = HashMap::new();
            let members = self.addresses(g.members, &g.name, &mut seen);
            out.push(Group {
                name: g.name,
                queues: own,
                members,
            });
        }
        out
    }
}

/// `de`, `en`, `pt-br`: what template folders are named by.
fn valid_language(l: &str) -> bool {
    (2..=8).contains(&l.len())
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
