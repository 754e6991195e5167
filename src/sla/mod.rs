//! Service levels: calendars of business time (`calendar`, `holidays`, their `config`).

pub mod calendar;
pub mod config;
pub mod holidays;

use std::collections::BTreeMap;

pub use calendar::{Calendar, CalendarError};

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
