//! The checks of the directory file's entries, each mistake named with its line: services,
//! organisations, persons (also those of the CSV files), groups.

use std::collections::{HashMap, HashSet};

use toml::Spanned;

use super::{Checker, DirectoryError, RawGroup, RawOrganisation, RawPerson, RawService, Texts};
use crate::people::{Group, Organisation, Person, Service, ServiceInstance};

impl Checker<'_> {
    pub(super) fn error(&mut self, at: usize, message: String) {
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

    pub(super) fn services(&mut self, raw: Vec<Spanned<RawService>>) -> Vec<Service> {
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

    pub(super) fn organisations(
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
    pub(super) fn persons(
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

    pub(super) fn groups(&mut self, raw: Vec<Spanned<RawGroup>>, queues: &[String]) -> Vec<Group> {
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
