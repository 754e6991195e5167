//! `[[report]]`: reports the daemon mails on a schedule.

use serde::Deserialize;

use super::period::Named;
use super::schedule::Every;
use super::Format;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportConfig {
    /// Names the report in the index's record of what was sent: letters, digits, `-`, `_`.
    pub name: String,
    /// Who gets it.
    pub to: Vec<String>,
    /// `daily HH:MM`, `monday HH:MM` (any weekday), `monthly HH:MM` (the first).
    pub every: String,
    /// The zone `every` is read in (IANA name); default UTC.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// `yesterday`, `last-week` (Monday to Sunday) or `last-month`.
    pub period: Named,
    /// The queues it covers; default all.
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default = "pdf")]
    pub format: Format,
}

fn utc() -> String {
    "UTC".into()
}

fn pdf() -> Format {
    Format::Pdf
}

impl ReportConfig {
    pub fn every(&self) -> Result<Every, String> {
        Every::parse(&self.every)
    }

    pub fn zone(&self) -> Result<chrono_tz::Tz, String> {
        self.time_zone
            .parse()
            .map_err(|_| format!("time-zone {:?} is no IANA time zone", self.time_zone))
    }

    /// Checks what serde cannot: the name, the addresses, the schedule, the zone, the queues.
    pub fn validate(&self, queue_exists: impl Fn(&str) -> bool) -> Result<(), String> {
        let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.name.is_empty() || self.name.len() > 64 || !self.name.chars().all(ok) {
            return Err(format!(
                "name {:?}: 1 to 64 letters, digits, '-' or '_'",
                self.name
            ));
        }
        if self.to.is_empty() {
            return Err("to: at least one address".into());
        }
        for a in &self.to {
            let (local, domain) = a.split_once('@').unwrap_or(("", ""));
            let plain = |s: &str| {
                !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || "<>,;\"".contains(c))
            };
            if !plain(local) || !plain(domain) || domain.contains('@') {
                return Err(format!("to: {a:?} is no mail address"));
            }
        }
        self.every()?;
        self.zone()?;
        for q in &self.queues {
            if !queue_exists(q) {
                return Err(format!("queues: no queue {q:?} in the configuration"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ReportConfig, String> {
        let r: ReportConfig = toml::from_str(s).map_err(|e| e.to_string())?;
        r.validate(|q| q == "Support").map(|()| r)
    }

    #[test]
    fn strict_and_checked() {
        let good = "name = \"weekly\"\nto = [\"lead@company.example\"]\nevery = \"monday 07:00\"\nperiod = \"last-week\"\n";
        let r = parse(good).unwrap();
        assert_eq!((r.format, r.time_zone.as_str()), (Format::Pdf, "UTC"));
        for (extra, error) in [
            ("colour = \"red\"\n", "colour"),
            ("format = \"doc\"\n", "doc"),
            ("queues = [\"Nope\"]\n", "Nope"),
            ("time-zone = \"Mars/Olympus\"\n", "Mars/Olympus"),
        ] {
            let e = parse(&format!("{good}{extra}")).unwrap_err();
            assert!(e.contains(error), "{extra}: {e}");
        }
        let e = parse(&good.replace("monday 07:00", "mondays")).unwrap_err();
        assert!(e.contains("mondays"), "{e}");
        let e = parse(&good.replace("last-week", "fortnight")).unwrap_err();
        assert!(e.contains("fortnight"), "{e}");
        let e = parse(&good.replace("weekly", "a/b")).unwrap_err();
        assert!(e.contains("a/b"), "{e}");
        let e = parse(&good.replace("lead@company.example", "lead")).unwrap_err();
        assert!(e.contains("no mail address"), "{e}");
    }
}
