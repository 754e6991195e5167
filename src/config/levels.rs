//! The service levels a configuration describes, built (calendars with their holidays files
//! read) for the daemon's round, `ticket show` and the reports.

use std::path::Path;

use super::Config;
use crate::sla::Slas;

impl Config {
    pub fn service_levels(&self) -> Result<Slas, String> {
        Slas::load(
            &self.calendars,
            &self.slas,
            self.queues
                .iter()
                .map(|q| (q.name.as_str(), q.sla.as_deref())),
            &self.resolve(Path::new("")),
        )
    }
}
