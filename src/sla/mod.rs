//! Service levels: calendars of business time (`calendar`, `holidays`, their `config`), the
//! deadlines of a ticket and what is due about them (`policy`, pure), a ticket's history read
//! into a timeline (`due`), and the daemon's round that acts on the tickets due (`round`).

pub mod calendar;
pub mod config;
pub mod due;
pub mod holidays;
pub mod policy;
pub mod timeline;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

pub use calendar::{Calendar, CalendarError};
pub use policy::Sla;

/// The configuration's calendars by name, and the built-in 24/7 one.
#[derive(Debug, Clone)]
pub struct Calendars {
    by_name: BTreeMap<String, Calendar>,
    always: Calendar,
}

impl Calendars {
    /// Builds every `[[calendar]]`, reading their holidays files (relative to `dir`, the
    /// configuration's folder).
    pub fn load(
        calendars: &[config::CalendarConfig],
        dir: &std::path::Path,
    ) -> Result<Calendars, CalendarError> {
        let mut by_name = BTreeMap::new();
        for c in calendars {
            by_name.insert(c.name.clone(), Calendar::from_config(c, dir)?);
        }
        Ok(Calendars {
            by_name,
            always: Calendar::always(),
        })
    }

    /// The calendar of that name; the 24/7 calendar for `24/7` or an empty name.
    pub fn get(&self, name: &str) -> Option<&Calendar> {
        if name.is_empty() || name == Calendar::ALWAYS {
            return Some(&self.always);
        }
        self.by_name.get(name)
    }
}

/// The service levels of a configuration, their calendars, and which queue has which.
#[derive(Debug, Clone)]
pub struct Slas {
    calendars: Calendars,
    by_name: BTreeMap<String, Sla>,
    queues: BTreeMap<String, String>,
    /// Changes whenever anything deadlines depend on in the configuration changes.
    pub fingerprint: i64,
}

impl Slas {
    /// Reads the calendars (their holidays files too, relative to `dir`, the configuration's
    /// folder) and the service levels; `queues`: each queue's name and its `sla`, if any.
    pub fn load<'a>(
        calendars: &[config::CalendarConfig],
        slas: &[config::SlaConfig],
        queues: impl Iterator<Item = (&'a str, Option<&'a str>)>,
        dir: &std::path::Path,
    ) -> Result<Slas, String> {
        let built = Calendars::load(calendars, dir).map_err(|e| e.to_string())?;
        let mut by_name = BTreeMap::new();
        for s in slas {
            let sla = s.policy(calendars)?;
            by_name.insert(sla.name.clone(), sla);
        }
        let queues: BTreeMap<String, String> = queues
            .filter_map(|(name, sla)| Some((name.to_ascii_lowercase(), sla?.to_string())))
            .collect();
        let mut h = Sha256::new();
        h.update(format!("{calendars:?}{slas:?}{queues:?}").as_bytes());
        for c in calendars {
            if let Some(f) = &c.holidays_file {
                h.update(std::fs::read(dir.join(f)).unwrap_or_default());
            }
        }
        let digest = h.finalize();
        let fingerprint = i64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        Ok(Slas {
            calendars: built,
            by_name,
            queues,
            fingerprint,
        })
    }

    /// Each queue with a service level, with that level's calendar (lower-cased queue names).
    pub fn queue_calendars(&self) -> Vec<(String, Calendar)> {
        self.queues
            .iter()
            .filter_map(|(q, s)| Some((q.clone(), self.calendar(self.get(s)?).clone())))
            .collect()
    }

    /// Whether any service level is configured at all.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Sla> {
        self.by_name.get(name)
    }

    pub fn calendar(&self, sla: &Sla) -> &Calendar {
        self.calendars
            .get(&sla.calendar)
            .unwrap_or(&self.calendars.always)
    }

    /// The name that holds for a ticket: an agent's choice, else its service instance's, else
    /// its queue's.
    pub fn name_for<'a>(
        &'a self,
        chosen: Option<&'a str>,
        instance: Option<&'a str>,
        queue: &str,
    ) -> Option<&'a str> {
        chosen
            .filter(|s| !s.is_empty())
            .or(instance.filter(|s| !s.is_empty()))
            .or_else(|| {
                self.queues
                    .get(&queue.to_ascii_lowercase())
                    .map(String::as_str)
            })
    }
}
/// The service level of the ticket's service instance, as `instance_sla`, or, for an
/// organisation without instances, of the directory's one service's default instance (which
/// `intake::customer` gave the ticket then); `only` reads that service, and only when needed.
pub fn ticket_instance_sla(
    party: &crate::index::TicketParty,
    only: impl FnOnce() -> crate::index::Result<Option<crate::people::Service>>,
) -> crate::index::Result<Option<String>> {
    if let Some(sla) = instance_sla(party) {
        return Ok(Some(sla));
    }
    let (Some(service), Some(org)) = (party.service.as_deref(), party.organisation.as_ref()) else {
        return Ok(None);
    };
    if !org.services.is_empty() {
        return Ok(None);
    }
    Ok(only()?
        .filter(|s| s.name == service)
        .and_then(|s| s.default_instance)
        .map(|i| i.sla)
        .filter(|s| !s.is_empty()))
}

/// The service level the ticket's service instance has in the directory.
pub fn instance_sla(party: &crate::index::TicketParty) -> Option<String> {
    let service = party.service.as_deref()?;
    party
        .organisation
        .as_ref()?
        .services
        .iter()
        .find(|i| i.service == service)
        .map(|i| i.sla.clone())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index;
    use crate::people::{Organisation, Service, ServiceInstance};

    fn instance(service: &str, sla: &str) -> ServiceInstance {
        ServiceInstance {
            service: service.into(),
            sla: sla.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_service_instance_names_the_service_level() {
        let org = |services| Organisation {
            id: "o".into(),
            services,
            ..Default::default()
        };
        let party = |o: Organisation, service: &str| index::TicketParty {
            person: None,
            organisation: Some(o),
            service: Some(service.into()),
        };
        let only = || {
            Ok(Some(Service {
                name: "Online".into(),
                default_instance: Some(instance("", "bronze")),
                ..Default::default()
            }))
        };
        let own = party(org(vec![instance("Online", "gold")]), "Online");
        assert_eq!(
            ticket_instance_sla(&own, only).unwrap().as_deref(),
            Some("gold")
        );
        // Without instances of its own: the one service's default instance, as intake chose it.
        let none = party(org(vec![]), "Online");
        assert_eq!(
            ticket_instance_sla(&none, only).unwrap().as_deref(),
            Some("bronze")
        );
        // Instances, but not of this service: none (and the default is not asked).
        let other = party(org(vec![instance("Branch", "gold")]), "Online");
        let never = || -> index::Result<Option<Service>> { panic!("not asked") };
        assert_eq!(ticket_instance_sla(&other, never).unwrap(), None);
    }
}
