//! `[directory.ldap]`: where the server is, how to bind, where persons, organisations and groups
//! are and which attributes say what. Strict like the rest of the configuration; `validate`
//! checks what can be checked without the network. The password is never in the configuration:
//! it is read from `password-file` when connecting and kept in a `Secret` that never prints.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::transport::{is_loopback, Secret};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LdapConfig {
    /// `ldaps://host[:port]` (TLS from the first byte) or `ldap://host[:port]` (STARTTLS).
    pub url: String,
    /// With `ldap://`: upgrade with STARTTLS before binding (default). Plain text only to a
    /// loopback host.
    #[serde(default = "yes")]
    pub starttls: bool,
    /// Extra trusted CA certificate(s), PEM, on top of the system store.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Simple bind as this DN; none: anonymous.
    #[serde(default)]
    pub bind_dn: Option<String>,
    /// A file whose first line is the bind password; relative to the configuration file.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    pub people_base: String,
    #[serde(default = "people_filter")]
    pub people_filter: String,
    /// None: organisations are not read from LDAP.
    #[serde(default)]
    pub organisations_base: Option<String>,
    #[serde(default = "organisations_filter")]
    pub organisations_filter: String,
    /// None: groups are not read from LDAP.
    #[serde(default)]
    pub groups_base: Option<String>,
    #[serde(default = "groups_filter")]
    pub groups_filter: String,
    /// How often the daemon reads the directory again.
    #[serde(default = "refresh_seconds")]
    pub refresh_seconds: u64,
    /// Entries per page of a paged search (RFC 2696).
    #[serde(default = "page_size")]
    pub page_size: u32,
    /// Limit for connecting (TCP, STARTTLS, TLS), binding and each page of a search.
    #[serde(default = "timeout_seconds")]
    pub timeout_seconds: u64,
    #[serde(default)]
    pub attributes: Attributes,
}

/// Which attribute holds what (inetOrgPerson, organization and groupOfNames by default).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Attributes {
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
    pub mail: String,
    pub phone: String,
    pub mobile: String,
    pub fax: String,
    /// A person's organisations (names or DNs of organisation entries) and an organisation's name.
    pub organisation: String,
    /// An organisation's mail domains.
    pub domains: String,
    pub language: String,
    /// A group's members (DNs).
    pub member: String,
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes {
            display_name: "cn".into(),
            first_name: "givenName".into(),
            last_name: "sn".into(),
            mail: "mail".into(),
            phone: "telephoneNumber".into(),
            mobile: "mobile".into(),
            fax: "facsimileTelephoneNumber".into(),
            organisation: "o".into(),
            domains: "associatedDomain".into(),
            language: "preferredLanguage".into(),
            member: "member".into(),
        }
    }
}

impl Attributes {
    /// Every attribute name, for the searches' attribute lists.
    pub fn all(&self) -> [&str; 11] {
        [
            &self.display_name,
            &self.first_name,
            &self.last_name,
            &self.mail,
            &self.phone,
            &self.mobile,
            &self.fax,
            &self.organisation,
            &self.domains,
            &self.language,
            &self.member,
        ]
    }
}

fn yes() -> bool {
    true
}
fn people_filter() -> String {
    "(objectClass=inetOrgPerson)".into()
}
fn organisations_filter() -> String {
    "(objectClass=organization)".into()
}
fn groups_filter() -> String {
    "(objectClass=groupOfNames)".into()
}
fn refresh_seconds() -> u64 {
    900
}
fn page_size() -> u32 {
    500
}
fn timeout_seconds() -> u64 {
    30
}

impl LdapConfig {
    /// `(implicit TLS, host)` of the URL.
    pub fn endpoint(&self) -> Result<(bool, String), String> {
        let (tls, rest) = if let Some(r) = self.url.strip_prefix("ldaps://") {
            (true, r)
        } else if let Some(r) = self.url.strip_prefix("ldap://") {
            (false, r)
        } else {
            return Err(format!(
                "url {:?}: ldap://host[:port] or ldaps://host[:port]",
                self.url
            ));
        };
        let hostport = rest.trim_end_matches('/');
        let host = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                if !p.is_empty() && p.parse::<u16>().map_or(true, |p| p == 0) {
                    return Err(format!("url {:?}: {p:?} is not a port", self.url));
                }
                h
            }
            _ => hostport,
        };
        if host.is_empty() || hostport.contains(['/', '?', ' ', '@']) {
            return Err(format!(
                "url {:?}: ldap://host[:port] or ldaps://host[:port], nothing after the port",
                self.url
            ));
        }
        Ok((tls, host.to_string()))
    }

    pub fn validate(&self) -> Result<(), String> {
        let (tls, host) = self.endpoint()?;
        if !tls && !self.starttls && !is_loopback(&host) {
            return Err(format!(
                "starttls = false is only allowed to a loopback host, not {host:?} (use ldaps:// or STARTTLS)"
            ));
        }
        if self.tls_ca_file.is_some() && !tls && !self.starttls {
            return Err("tls-ca-file is set but the connection is plain text".into());
        }
        if self.bind_dn.is_some() != self.password_file.is_some() {
            return Err("bind-dn and password-file go together (neither: anonymous)".into());
        }
        for (what, base) in [
            ("people-base", Some(&self.people_base)),
            ("organisations-base", self.organisations_base.as_ref()),
            ("groups-base", self.groups_base.as_ref()),
        ] {
            if base.is_some_and(|b| b.trim().is_empty()) {
                return Err(format!("{what} is empty"));
            }
        }
        for (what, f) in [
            ("people-filter", &self.people_filter),
            ("organisations-filter", &self.organisations_filter),
            ("groups-filter", &self.groups_filter),
        ] {
            if !(f.starts_with('(') && f.ends_with(')')) {
                return Err(format!("{what} {f:?}: a filter in parentheses"));
            }
        }
        if self.refresh_seconds == 0 {
            return Err("refresh-seconds is at least 1".into());
        }
        if !(1..=10_000).contains(&self.page_size) {
            return Err("page-size is 1..=10000".into());
        }
        if self.timeout_seconds == 0 {
            return Err("timeout-seconds is at least 1".into());
        }
        for a in self.attributes.all() {
            if a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(format!("attributes: {a:?} is not an attribute name"));
            }
        }
        Ok(())
    }

    /// Reads the bind password (the first line of `password-file`, resolved against `base`).
    /// The error names the file, never its content.
    pub fn read_password(&self, resolve: impl Fn(&Path) -> PathBuf) -> Result<Secret, String> {
        let Some(file) = &self.password_file else {
            return Ok(Secret::new(String::new()));
        };
        let path = resolve(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "[directory.ldap] password-file {}: {}",
                path.display(),
                e.kind()
            )
        })?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(format!(
                "[directory.ldap] password-file {}: empty",
                path.display()
            ));
        }
        Ok(Secret::new(line.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Result<LdapConfig, String> {
        let c: LdapConfig = toml::from_str(&format!(
            "url = \"ldap://ldap.example.org\"\npeople-base = \"ou=people,dc=example\"\n{extra}"
        ))
        .map_err(|e| e.to_string())?;
        c.validate().map(|()| c)
    }

    #[test]
    fn defaults_are_inetorgperson_and_starttls() {
        let c = cfg("").unwrap();
        assert!(c.starttls);
        assert_eq!(c.people_filter, "(objectClass=inetOrgPerson)");
        assert_eq!(c.attributes.fax, "facsimileTelephoneNumber");
        assert_eq!(c.endpoint().unwrap(), (false, "ldap.example.org".into()));
    }

    #[test]
    fn mistakes_are_refused() {
        for (extra, says) in [
            ("starttls = false", "loopback"),
            ("bind-dn = \"cn=x\"", "go together"),
            ("page-size = 0", "page-size"),
            ("people-filter = \"uid=x\"", "parentheses"),
            ("refresh-seconds = 0", "refresh-seconds"),
            ("colour = 1", "unknown field"),
            ("[attributes]\nmail = \"ma il\"", "attribute name"),
        ] {
            let e = cfg(extra).unwrap_err();
            assert!(e.contains(says), "{extra}: {e}");
        }
        let c: LdapConfig = toml::from_str("url = \"http://x\"\npeople-base = \"o=x\"").unwrap();
        assert!(c.validate().unwrap_err().contains("ldaps://"));
        let c: LdapConfig = toml::from_str(
            "url = \"ldap://127.0.0.1:3899\"\nstarttls = false\npeople-base = \"o=x\"",
        )
        .unwrap();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.endpoint().unwrap().1, "127.0.0.1");
    }
}
