//! `[index]`: which database holds the index. SQLite (the default) is a file in the data
//! folder and needs nothing else; PostgreSQL is for several nodes sharing one store. The
//! password is never in the configuration: it is read from `password-file` when connecting.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    #[default]
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct IndexConfig {
    pub backend: Backend,
    /// PostgreSQL: `postgresql://user@host:port/database`, without a password.
    pub url: String,
    /// PostgreSQL: a file whose first line is the password; relative to the configuration file.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL: how long connecting may take.
    pub connect_timeout_seconds: u64,
    /// PostgreSQL: the CA certificates (PEM) that may sign the server's certificate, besides
    /// the system's; relative to the configuration file. TLS is asked for with
    /// `sslmode=require` in the url.
    pub tls_ca_file: Option<PathBuf>,
    /// PostgreSQL beyond loopback without TLS: the password and every customer's mail cross the
    /// network readable, so only on a network the site trusts.
    pub allow_plain_text: bool,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            backend: Backend::Sqlite,
            url: String::new(),
            password_file: None,
            connect_timeout_seconds: 10,
            tls_ca_file: None,
            allow_plain_text: false,
        }
    }
}

impl super::Config {
    /// Where the index this configuration names is.
    pub fn index_location(&self) -> crate::index::Location {
        self.index_location_in(&self.data_dir())
    }

    /// As `index_location`, with SQLite's file in `data_dir` (a process given its own data
    /// folder).
    pub fn index_location_in(&self, data_dir: &std::path::Path) -> crate::index::Location {
        use crate::index::{Location, PgConfig};
        match self.index.backend {
            Backend::Sqlite => Location::Sqlite(crate::store::index_file(data_dir)),
            Backend::Postgres => Location::Postgres(PgConfig {
                url: self.index.url.clone(),
                password_file: self.index.password_file.as_ref().map(|p| self.resolve(p)),
                connect_timeout: std::time::Duration::from_secs(self.index.connect_timeout_seconds),
                tls_ca_file: self.index.tls_ca_file.as_ref().map(|p| self.resolve(p)),
            }),
        }
    }
}

impl IndexConfig {
    pub fn validate(&self) -> Result<(), String> {
        match self.backend {
            Backend::Sqlite => {
                if !self.url.is_empty()
                    || self.password_file.is_some()
                    || self.tls_ca_file.is_some()
                {
                    return Err(
                        "index: url, password-file and tls-ca-file are for backend = \
                         \"postgres\""
                            .into(),
                    );
                }
            }
            Backend::Postgres => {
                if self.url.is_empty() {
                    return Err("index: backend = \"postgres\" needs a url".into());
                }
                let parsed: tokio_postgres::Config =
                    self.url.parse().map_err(|e| format!("index: url: {e}"))?;
                if parsed.get_password().is_some() {
                    return Err(
                        "index: url: put the password in password-file, not in the url".into(),
                    );
                }
                if parsed.get_dbname().is_none() {
                    return Err("index: url: name the database (…/DATABASE)".into());
                }
                let tls = parsed.get_ssl_mode() == tokio_postgres::config::SslMode::Require;
                if self.tls_ca_file.is_some() && !tls {
                    return Err("index: tls-ca-file is for a url with sslmode=require".into());
                }
                for host in parsed.get_hosts() {
                    if let tokio_postgres::config::Host::Tcp(name) = host {
                        if !crate::transport::is_loopback(name) && !tls && !self.allow_plain_text {
                            return Err(format!(
                                "index: {name} is not on this host and the connection would \
                                 not be encrypted: add sslmode=require to the url, or set \
                                 allow-plain-text = true if the network is trusted"
                            ));
                        }
                    }
                }
            }
        }
        if !(1..=600).contains(&self.connect_timeout_seconds) {
            return Err("index: connect-timeout-seconds must be 1..=600".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IndexConfig, String> {
        let c: IndexConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map(|_| c)
    }

    #[test]
    fn sqlite_by_default_and_postgres_needs_a_url_without_password() {
        assert_eq!(parse("").unwrap().backend, Backend::Sqlite);
        let pg =
            parse("backend = \"postgres\"\nurl = \"postgresql://pd@127.0.0.1:5432/pd\"\n").unwrap();
        assert_eq!(pg.backend, Backend::Postgres);
        assert!(parse("backend = \"postgres\"")
            .unwrap_err()
            .contains("needs a url"));
        assert!(
            parse("backend = \"postgres\"\nurl = \"postgresql://pd:secret@localhost/pd\"")
                .unwrap_err()
                .contains("password-file")
        );
        assert!(
            parse("backend = \"postgres\"\nurl = \"postgresql://pd@localhost\"")
                .unwrap_err()
                .contains("database")
        );
        assert!(parse("url = \"postgresql://pd@localhost/pd\"")
            .unwrap_err()
            .contains("postgres"));
        // Beyond loopback only when the site says the network is trusted.
        let remote = "backend = \"postgres\"\nurl = \"postgresql://pd@db.example/pd\"\n";
        assert!(parse(remote).unwrap_err().contains("allow-plain-text"));
        assert!(parse(&format!("{remote}allow-plain-text = true\n")).is_ok());
        // Or over TLS, with a CA of the site's own if it likes.
        let tls =
            "backend = \"postgres\"\nurl = \"postgresql://pd@db.example/pd?sslmode=require\"\n";
        assert!(parse(tls).is_ok());
        assert!(parse(&format!("{tls}tls-ca-file = \"ca.pem\"\n")).is_ok());
        assert!(parse(&format!("{remote}tls-ca-file = \"ca.pem\"\n"))
            .unwrap_err()
            .contains("sslmode=require"));
        assert!(parse("backend = \"mysql\"").is_err());
        assert!(parse("passwrd-file = \"x\"").is_err());
    }
}
