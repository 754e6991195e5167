//! Whom a new ticket belongs to: the directory's person with the sender's address, else the
//! organisation of the sender's mail domain, else nobody known; and the service it is for
//! (`service`). One indexed query in the batch's transaction. The answer is written into the
//! ticket's row and into the trace block of the article that opens the ticket, both part of the
//! batch that files the message: a crash before the commit leaves the message at its source and
//! nothing of its attribution, one after it leaves both, and `reindex` reads it back from the
//! trace block.

use crate::directory::{Organisation, Person, Service, ServiceInstance};
use crate::facts::Facts;
use crate::index::{self, Attribution, Tx};
use crate::store::trace;
use crate::template;

/// What the directory says about a ticket's customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub person: Option<Person>,
    pub organisation: Option<Organisation>,
    pub service: Option<ServiceInstance>,
}

impl Customer {
    /// For a new ticket from the message's author.
    pub fn of_sender(tx: &Tx, facts: &Facts) -> index::Result<Customer> {
        let Some(author) = facts.author() else {
            return Ok(Customer::default());
        };
        let found = tx.directory_sender(&author.address)?;
        let service = service_of(tx, found.organisation.as_ref())?;
        Ok(Customer {
            person: found.person,
            organisation: found.organisation,
            service,
        })
    }

    /// For a new ticket from a number (a fax's sender, E.164): the one person with it and
    /// their first organisation, else the one organisation with it; a number several persons
    /// share names nobody.
    pub fn of_number(tx: &Tx, number: &str) -> index::Result<Customer> {
        let lines = tx.directory_lines(number)?;
        let (person, organisation) =
            match (lines.persons.as_slice(), lines.organisations.as_slice()) {
                ([p], _) => {
                    let org = match p.organisations.first() {
                        Some(id) => tx.directory_organisation(id)?,
                        None => None,
                    };
                    (Some(p.clone()), org)
                }
                ([], [o]) => (None, Some(o.clone())),
                _ => (None, None),
            };
        let service = service_of(tx, organisation.as_ref())?;
        Ok(Customer {
            person,
            organisation,
            service,
        })
    }

    /// For an existing ticket: its person and organisation as the directory has them now.
    pub fn of_ticket(tx: &Tx, number: &str) -> index::Result<Customer> {
        Ok(Customer::of_party(tx.directory_ticket(number)?))
    }

    /// The ticket's person and organisation the directory answered (`Lookup::directory_ticket`).
    pub fn of_party(p: index::TicketParty) -> Customer {
        let service = p.service.map(|name| {
            p.organisation
                .iter()
                .flat_map(|o| &o.services)
                .find(|i| i.service == name)
                .cloned()
                .unwrap_or(ServiceInstance {
                    service: name,
                    ..ServiceInstance::default()
                })
        });
        Customer {
            person: p.person,
            organisation: p.organisation,
            service,
        }
    }

    /// The ids the ticket's row keeps.
    pub fn ids(&self) -> Attribution {
        Attribution {
            person: self.person.as_ref().map(|p| p.id.clone()),
            organisation: self.organisation.as_ref().map(|o| o.id.clone()),
            service: self.service.as_ref().map(|s| s.service.clone()),
        }
    }

    /// The same ids in the trace block of the article that opens the ticket.
    pub fn trace(&self, tr: &mut trace::Trace) {
        let ids = self.ids();
        for (name, value) in [
            (trace::CUSTOMER, ids.person),
            (trace::ORGANISATION, ids.organisation),
            (trace::SERVICE, ids.service),
        ] {
            if let Some(v) = value {
                tr.add(name, v);
            }
        }
    }

    /// What templates see of it. The person's names only when the mail goes to one of the
    /// person's addresses: a colleague who wrote a follow-up is not greeted by another's name.
    pub fn fill(&self, ctx: &mut template::Context) {
        if let Some(p) = &self.person {
            let to = ctx.customer.address.trim().to_ascii_lowercase();
            if p.mail.contains(&to) {
                let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
                let c = &mut ctx.customer;
                c.name = some(&p.display_name).or(c.name.take());
                c.id = Some(p.id.clone());
                c.first_name = some(&p.first_name);
                c.last_name = some(&p.last_name);
                c.vip = p.vip;
            }
        }
        ctx.organisation = self.organisation.as_ref().map(|o| template::Organisation {
            id: o.id.clone(),
            name: o.name.clone(),
        });
        ctx.service = self.service.as_ref().map(|s| template::Service {
            name: s.service.clone(),
            sla: s.sla.clone(),
        });
    }
}

/// The service of a new ticket of `org` (see `default_service`).
fn service_of(tx: &Tx, org: Option<&Organisation>) -> index::Result<Option<ServiceInstance>> {
    Ok(match org {
        Some(o) if o.services.is_empty() => default_service(o, tx.directory_only_service()?),
        Some(o) => default_service(o, None),
        None => None,
    })
}

/// The service of a new ticket from an organisation: its one service instance; with none, the
/// directory's one service when that has a default instance (a help desk for one service);
/// with several, none: which one a mail is about is for an agent to say, and a wrong guess
/// would put the ticket under the wrong service level.
pub fn default_service(org: &Organisation, only: Option<Service>) -> Option<ServiceInstance> {
    match org.services.as_slice() {
        [one] => Some(one.clone()),
        [] => only.and_then(|s| {
            s.default_instance.map(|i| ServiceInstance {
                service: s.name,
                ..i
            })
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, sla: &str) -> ServiceInstance {
        ServiceInstance {
            service: name.into(),
            sla: sla.into(),
            greeting: None,
        }
    }

    #[test]
    fn the_service_is_the_organisations_only_one_else_the_sites_default() {
        let mut org = Organisation {
            id: "acme".into(),
            ..Organisation::default()
        };
        let only = Service {
            name: "Online".into(),
            default_instance: Some(instance("", "bronze")),
            ..Service::default()
        };
        assert_eq!(
            default_service(&org, Some(only.clone())),
            Some(instance("Online", "bronze"))
        );
        assert_eq!(
            default_service(
                &org,
                Some(Service {
                    default_instance: None,
                    ..only.clone()
                })
            ),
            None
        );
        assert_eq!(default_service(&org, None), None);
        org.services = vec![instance("Branch", "gold")];
        assert_eq!(
            default_service(&org, Some(only.clone())),
            Some(instance("Branch", "gold"))
        );
        org.services.push(instance("Online", "silver"));
        assert_eq!(default_service(&org, Some(only)), None);
    }

    #[test]
    fn templates_greet_the_person_only_at_their_own_address() {
        let c = Customer {
            person: Some(Person {
                id: "p1".into(),
                display_name: "Maria Müller".into(),
                first_name: "Maria".into(),
                last_name: "Müller".into(),
                mail: vec!["maria@acme.example".into()],
                ..Person::default()
            }),
            organisation: Some(Organisation {
                id: "acme".into(),
                name: "ACME GmbH".into(),
                ..Organisation::default()
            }),
            service: None,
        };
        let mut ctx = template::Context::sample_sparse();
        ctx.customer.address = "Maria@ACME.example".into();
        c.fill(&mut ctx);
        assert_eq!(ctx.customer.name.as_deref(), Some("Maria Müller"));
        assert_eq!(ctx.customer.last_name.as_deref(), Some("Müller"));
        assert_eq!(ctx.organisation.as_ref().unwrap().name, "ACME GmbH");
        assert!(ctx.service.is_none());
        let mut ctx = template::Context::sample_sparse();
        ctx.customer.address = "colleague@acme.example".into();
        ctx.customer.name = Some("Col League".into());
        c.fill(&mut ctx);
        assert_eq!(ctx.customer.name.as_deref(), Some("Col League"));
        assert_eq!(ctx.customer.last_name, None);
        assert_eq!(ctx.organisation.unwrap().id, "acme");
    }
}
