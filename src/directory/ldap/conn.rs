//! One bound connection to the LDAP server (ldap3's blocking client on its own current-thread
//! runtime): TLS from the first byte or STARTTLS before the bind, a simple bind with the
//! password from its file, and subtree searches in pages (RFC 2696) handed over one entry at a
//! time, so memory does not grow with the directory. Connecting (TCP, STARTTLS, TLS), the bind
//! and each entry of a search have the configured timeout: a server that accepts and then says
//! nothing is an error after that long, not a hang. Errors never hold the password.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};

use super::config::LdapConfig;
use super::entry::Raw;
use crate::transport::Secret;

/// Why the directory could not be read; the last good copy stays in force either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LdapError(pub String);

pub struct Connection {
    conn: LdapConn,
    timeout: Duration,
    page_size: u32,
    url: String,
}

/// `what` and the library's error, with a timeout said in plain words.
fn failed(url: &str, what: &str, e: ldap3::LdapError, timeout: Duration) -> LdapError {
    let why = match e {
        ldap3::LdapError::Timeout { .. } => {
            format!("no answer within {} s (timeout-seconds)", timeout.as_secs())
        }
        other => other.to_string(),
    };
    LdapError(format!("LDAP {url}: {what}: {why}"))
}

impl Connection {
    /// Connects, secures and binds. `ca_file` is already resolved against the configuration.
    pub fn open(
        cfg: &LdapConfig,
        password: &Secret,
        ca_file: Option<&Path>,
    ) -> Result<Connection, LdapError> {
        let (implicit, _) = cfg.endpoint().map_err(LdapError)?;
        let timeout = Duration::from_secs(cfg.timeout_seconds);
        let url = cfg.url.trim_end_matches('/').to_string();
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(timeout)
            .set_starttls(!implicit && cfg.starttls);
        if implicit || cfg.starttls {
            let tls = crate::transport::tls_client_config("[directory.ldap]", ca_file)
                .map_err(LdapError)?;
            settings = settings.set_config(Arc::new(tls));
        }
        let what = if implicit {
            "connecting (TLS)"
        } else if cfg.starttls {
            "connecting (STARTTLS)"
        } else {
            "connecting"
        };
        let mut conn =
            LdapConn::with_settings(settings, &url).map_err(|e| failed(&url, what, e, timeout))?;
        if let Some(dn) = &cfg.bind_dn {
            let res = conn
                .with_timeout(timeout)
                .simple_bind(dn, password.expose())
                .map_err(|e| failed(&url, "bind", e, timeout))?;
            if res.rc != 0 {
                let why = if res.rc == 49 {
                    "invalid credentials (49): check bind-dn and the password in password-file"
                        .to_string()
                } else {
                    format!("result {} {}", res.rc, res.text)
                };
                return Err(LdapError(format!(
                    "LDAP {url}: the server refused the bind as {dn:?}: {why}"
                )));
            }
        }
        Ok(Connection {
            conn,
            timeout,
            page_size: cfg.page_size,
            url,
        })
    }

    /// Searches the subtree under `base`, handing each entry to `each` as it arrives; the
    /// number of entries read. An error from `each` ends the search with that error.
    pub fn search(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        mut each: impl FnMut(Raw) -> Result<(), String>,
    ) -> Result<u64, LdapError> {
        let (url, timeout) = (self.url.clone(), self.timeout);
        let what = format!("search under {base:?}");
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(self.page_size as i32)),
        ];
        let attrs: Vec<String> = attrs.iter().map(|s| s.to_string()).collect();
        let mut stream = self
            .conn
            .with_timeout(timeout)
            .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs)
            .map_err(|e| failed(&url, &what, e, timeout))?;
        let mut n = 0;
        loop {
            let entry = match stream.next() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => return Err(failed(&url, &what, e, timeout)),
            };
            // ldap3 panics on an entry it cannot decode; that is one bad answer, not a crash.
            let entry = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                SearchEntry::construct(entry)
            }))
            .map_err(|_| LdapError(format!("LDAP {url}: {what}: an entry that is not BER")))?;
            n += 1;
            each(Raw {
                dn: entry.dn,
                attrs: entry.attrs,
            })
            .map_err(|e| LdapError(format!("LDAP {url}: {what}: {e}")))?;
        }
        let res = stream.result();
        if res.rc != 0 {
            let why = match res.rc {
                4 => "size limit exceeded: allow paged searches to return everything \
                      (slapd: limits ... size.prtotal=unlimited)"
                    .to_string(),
                32 => "no such object (is the base right?)".to_string(),
                rc => format!("result {rc} {}", res.text),
            };
            return Err(LdapError(format!("LDAP {url}: {what}: {why}")));
        }
        Ok(n)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.conn.unbind();
    }
}
