//! Service levels: calendars of business time (`calendar`, `holidays`, their `config`), the
//! deadlines of a ticket and what is due about them (`policy`, pure), a ticket's history read
//! into a timeline (`due`), and the daemon's round that acts on the tickets due (`round`).

pub mod calendar;
pub mod config;
pub mod due;
pub mod holidays;
pub mod policy;
pub mod round;

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
    /// Builds every `[[calendar]]`, reading their holidays files.
    pub fn load(cfg: &crate::config::Config) -> Result<Calendars, CalendarError> {
        let dir = cfg.resolve(std::path::Path::new(""));
        let mut by_name = BTreeMap::new();
        for c in &cfg.calendars {
            by_name.insert(c.name.clone(), Calendar::from_config(c, &dir)?);
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
    /// Reads the calendars (their holidays files too) and the service levels.
    pub fn load(cfg: &crate::config::Config) -> Result<Slas, String> {
        let calendars = Calendars::load(cfg).map_err(|e| e.to_string())?;
        let mut by_name = BTreeMap::new();
        for s in &cfg.slas {
            let sla = s.policy(&cfg.calendars)?;
            by_name.insert(sla.name.clone(), sla);
        }
        let queues = cfg
            .queues
            .iter()
            .filter_map(|q| Some((q.name.to_ascii_lowercase(), q.sla.clone()?)))
            .collect();
        let mut h = Sha256::new();
        h.update(format!("{:?}{:?}{:?}", cfg.calendars, cfg.slas, queues).as_bytes());
        for c in &cfg.calendars {
            if let Some(f) = &c.holidays_file {
                h.update(std::fs::read(cfg.resolve(f)).unwrap_or_default());
            }
        }
        let digest = h.finalize();
        let fingerprint = i64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        Ok(Slas {
            calendars,
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
