//! Whom a new ticket belongs to: the directory's person with the sender's address, else the
//! organisation of the sender's mail domain, else nobody known; for a fax, whoever has its
//! sender's number; and the service it is for (`default_service`). Decided with the plan, through
//! `Lookup` (one indexed query, asked ahead for a batch), so `explain` shows it; intake writes it
//! into the ticket's row and the trace block of the article that opens the ticket.

use crate::facts::Facts;
use crate::index::{self, Attribution, Lookup};
use crate::people::{Organisation, Person, Service, ServiceInstance};

/// What the directory says about a ticket's customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub person: Option<Person>,
    pub organisation: Option<Organisation>,
    pub service: Option<ServiceInstance>,
}

impl Customer {
    /// For a new ticket from the message's author.
    pub fn of_sender<L: Lookup>(index: &L, facts: &Facts) -> Result<Customer, L::Error> {
        let Some(author) = facts.author() else {
            return Ok(Customer::default());
        };
        let found = index.directory_sender(&author.address)?;
        let service = service_of(index, found.organisation.as_ref())?;
        Ok(Customer {
            person: found.person,
            organisation: found.organisation,
            service,
        })
    }

    /// For a new ticket from a number (a fax's sender, E.164): the one person with it and
    /// their first organisation, else the one organisation with it; a number several persons
    /// share names nobody.
    pub fn of_number<L: Lookup>(index: &L, number: &str) -> Result<Customer, L::Error> {
        let lines = index.directory_lines(number)?;
        let (person, organisation) =
            match (lines.persons.as_slice(), lines.organisations.as_slice()) {
                ([p], _) => {
                    let org = match p.organisations.first() {
                        Some(id) => index.directory_organisation(id)?,
                        None => None,
                    };
                    (Some(p.clone()), org)
                }
                ([], [o]) => (None, Some(o.clone())),
                _ => (None, None),
            };
        let service = service_of(index, organisation.as_ref())?;
        Ok(Customer {
            person,
            organisation,
            service,
        })
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
}

/// The service of a new ticket of `org` (see `default_service`).
fn service_of<L: Lookup>(
    index: &L,
    org: Option<&Organisation>,
) -> Result<Option<ServiceInstance>, L::Error> {
    Ok(match org {
        Some(o) if o.services.is_empty() => default_service(o, index.directory_only_service()?),
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
}
