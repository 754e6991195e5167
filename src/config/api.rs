//! `[api]`: the HTTP API for telephone systems. Off unless `listen` is set.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ApiConfig {
    /// `host:port`; empty: no API.
    pub listen: String,
    /// Serve plain HTTP on an address beyond loopback (tokens then cross the network readable).
    pub allow_plain_http: bool,
    /// HTTPS: the certificate chain (PEM, the server's first) and its private key (PEM),
    /// relative to the configuration file; both or neither.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// The largest request body (JSON), in bytes.
    pub max_body_bytes: usize,
    /// The largest call recording attached to a phone article, in bytes (streamed, or before
    /// base64 in the JSON form).
    pub max_recording_bytes: usize,
    /// Queue of a new ticket opened by a call, per service name; else `general.default-queue`.
    pub service_queues: BTreeMap<String, String>,
    /// Seconds a request may take before its connection is closed.
    pub timeout_seconds: u64,
    /// When the caller's organisations have several instances of the dialled service.
    pub several_instances: Several,
    /// The greeting when neither the instance nor the service has one.
    pub greeting: String,
    /// `[[api.client]]`: who may call, each with a token file.
    #[serde(rename = "client")]
    pub clients: Vec<Client>,
}

/// A client of the API (a PBX, an IVR) and the file holding its token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Client {
    pub name: String,
    /// Relative to the configuration file; the token is its first line, at least 32 characters.
    pub token_file: PathBuf,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: String::new(),
            allow_plain_http: false,
            tls_cert_file: None,
            tls_key_file: None,
            max_body_bytes: 64 * 1024,
            max_recording_bytes: 20 * 1024 * 1024,
            service_queues: BTreeMap::new(),
            timeout_seconds: 30,
            several_instances: Several::First,
            greeting: String::new(),
            clients: Vec::new(),
        }
    }
}

impl ApiConfig {
    /// The address to listen on, `None` without one. Beyond loopback, plain HTTP would carry
    /// the tokens readable: refused unless `allow-plain-http` says the network is trusted.
    pub fn address(&self) -> Result<Option<SocketAddr>, String> {
        let l = self.listen.trim();
        if l.is_empty() {
            return Ok(None);
        }
        let addr: SocketAddr = l
            .parse()
            .map_err(|_| format!("listen {l:?}: not host:port with an IP address"))?;
        if !addr.ip().is_loopback() && !self.allow_plain_http && !self.tls() {
            return Err(format!(
                "listen {l:?}: plain HTTP carries the API's tokens readable; give \
                 tls-cert-file and tls-key-file, listen on a loopback address (behind a TLS \
                 proxy) or set allow-plain-http = true"
            ));
        }
        Ok(Some(addr))
    }

    /// Whether the API speaks HTTPS.
    pub fn tls(&self) -> bool {
        self.tls_cert_file.is_some() && self.tls_key_file.is_some()
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err("give both tls-cert-file and tls-key-file, or neither".into());
        }
        let on = self.address()?.is_some();
        if on && self.clients.is_empty() {
            return Err("listen is set but no [[api.client]] may call".into());
        }
        let mut names = std::collections::HashSet::new();
        for c in &self.clients {
            if c.name.trim().is_empty() || !names.insert(c.name.as_str()) {
                return Err(format!("client name {:?} is empty or given twice", c.name));
            }
        }
        if self.max_body_bytes < 1024 || self.timeout_seconds == 0 {
            return Err(
                "max-body-bytes must be at least 1024 and timeout-seconds at least 1".into(),
            );
        }
        Ok(())
    }
}

/// What to do when the caller's organisations have several instances of the dialled service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Several {
    /// The instance of the caller's first organisation (in the directory's order).
    #[default]
    First,
    /// The service's default instance (the first organisation's when the service has none).
    Default,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ApiConfig, String> {
        let c: ApiConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map(|()| c)
    }

    #[test]
    fn off_by_default_and_strict() {
        assert_eq!(parse("").unwrap().address().unwrap(), None);
        let e = parse("listn = \"127.0.0.1:8026\"").unwrap_err();
        assert!(e.contains("listn"), "{e}");
        let client = "[[client]]\nname = \"pbx\"\ntoken-file = \"pbx.token\"\n";
        let ok = parse(&format!("listen = \"127.0.0.1:8026\"\n{client}")).unwrap();
        assert_eq!(ok.address().unwrap().unwrap().port(), 8026);
        let e = parse("listen = \"127.0.0.1:8026\"").unwrap_err();
        assert!(e.contains("no [[api.client]]"), "{e}");
    }

    #[test]
    fn beyond_loopback_only_when_plain_http_is_allowed() {
        let client = "[[client]]\nname = \"pbx\"\ntoken-file = \"t\"\n";
        let e = parse(&format!("listen = \"0.0.0.0:8026\"\n{client}")).unwrap_err();
        assert!(e.contains("allow-plain-http"), "{e}");
        assert!(parse(&format!(
            "listen = \"0.0.0.0:8026\"\nallow-plain-http = true\n{client}"
        ))
        .is_ok());
        assert!(parse(&format!(
            "{client}[[client]]\nname = \"pbx\"\ntoken-file = \"u\"\n"
        ))
        .is_err());
    }
}
