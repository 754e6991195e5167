//! `[[fax]]`: a fax gateway (HylaFAX's faxrcvd, a T.38 gateway, a fax-to-mail service) that
//! delivers each received fax as a mail, and where in that mail the sender's number is.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaxGateway {
    /// For the ticket's history and the logs.
    pub name: String,
    /// The gateway's From (or envelope sender) address: mail from it is a fax.
    pub sender: String,
    /// The header holding the sender's fax number, e.g. `X-Fax-Sender`.
    #[serde(default)]
    pub number_header: Option<String>,
    /// A regular expression on the subject; its first group (else the whole match) is the
    /// number, e.g. `from ([+0-9 ()/-]+)`.
    #[serde(default)]
    pub number_subject: Option<String>,
    /// The queue a fax opens its ticket in; the queue its recipient address names when empty.
    #[serde(default)]
    pub queue: Option<String>,
}

impl FaxGateway {
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if !self.sender.contains('@') || self.sender.chars().any(char::is_whitespace) {
            return Err(format!("sender {:?} is not a mail address", self.sender));
        }
        match (&self.number_header, &self.number_subject) {
            (Some(_), Some(_)) | (None, None) => {
                return Err("give one of number-header and number-subject".into())
            }
            (Some(h), None) => {
                if h.is_empty() || !h.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                    return Err(format!("number-header {h:?} is not a header name"));
                }
            }
            (None, Some(r)) => {
                regex::Regex::new(r).map_err(|e| format!("number-subject: {e}"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(header: Option<&str>, subject: Option<&str>) -> FaxGateway {
        FaxGateway {
            name: "hylafax".into(),
            sender: "fax@gw.example".into(),
            number_header: header.map(str::to_string),
            number_subject: subject.map(str::to_string),
            queue: None,
        }
    }

    #[test]
    fn one_place_for_the_number_and_a_regex_that_compiles() {
        assert!(gw(Some("X-Fax-Sender"), None).validate().is_ok());
        assert!(gw(None, Some("from ([+0-9 ]+)")).validate().is_ok());
        assert!(gw(None, None).validate().unwrap_err().contains("one of"));
        assert!(gw(Some("X"), Some("y")).validate().is_err());
        assert!(gw(None, Some("from ([0-9"))
            .validate()
            .unwrap_err()
            .contains("number-subject"));
        assert!(gw(Some("X-Fax: evil"), None).validate().is_err());
    }
}
