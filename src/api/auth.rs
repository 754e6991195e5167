//! Who is calling the API: each client's token from its file, compared in constant time (the
//! SHA-256 of the presented token against each client's, every client tried). Tokens are never
//! logged; a refused request is logged with the client's address only.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::config::ApiConfig;

/// Tokens shorter than this are refused when read: guessable.
const MIN_TOKEN: usize = 32;

pub struct Tokens {
    clients: Vec<(String, [u8; 32])>,
}

impl Tokens {
    /// Reads every client's token file (paths relative to the configuration file's folder).
    pub fn load(
        api: &ApiConfig,
        resolve: impl Fn(&std::path::Path) -> std::path::PathBuf,
    ) -> Result<Tokens, String> {
        let mut clients = Vec::new();
        for c in &api.clients {
            let path = resolve(&c.token_file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("client {}: token file {}: {e}", c.name, path.display()))?;
            let token = text.lines().next().unwrap_or("").trim();
            if token.len() < MIN_TOKEN {
                return Err(format!(
                    "client {}: the token in {} is shorter than {MIN_TOKEN} characters",
                    c.name,
                    path.display()
                ));
            }
            clients.push((c.name.clone(), digest(token)));
        }
        Ok(Tokens { clients })
    }

    /// The client an `Authorization` header value belongs to.
    pub fn client(&self, authorization: Option<&str>) -> Option<&str> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        let d = digest(token);
        let mut found = None;
        for (name, known) in &self.clients {
            if bool::from(known.ct_eq(&d)) && found.is_none() {
                found = Some(name.as_str());
            }
        }
        found
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::config::Client;

    #[test]
    fn a_token_names_its_client_and_short_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = "a".repeat(40);
        std::fs::write(dir.path().join("pbx"), format!("{good}\n")).unwrap();
        std::fs::write(dir.path().join("ivr"), "b".repeat(32)).unwrap();
        std::fs::write(dir.path().join("short"), "abc").unwrap();
        let client = |name: &str, file: &str| Client {
            name: name.into(),
            token_file: file.into(),
        };
        let mut api = ApiConfig {
            clients: vec![client("pbx", "pbx"), client("ivr", "ivr")],
            ..ApiConfig::default()
        };
        let t = Tokens::load(&api, |p| dir.path().join(p)).unwrap();
        assert_eq!(t.client(Some(&format!("Bearer {good}"))), Some("pbx"));
        assert_eq!(
            t.client(Some(&format!("Bearer {}", "b".repeat(32)))),
            Some("ivr")
        );
        assert_eq!(t.client(Some(&format!("Basic {good}"))), None);
        assert_eq!(t.client(Some("Bearer aaaa")), None);
        assert_eq!(t.client(None), None);
        api.clients.push(client("x", "short"));
        let e = Tokens::load(&api, |p| dir.path().join(p)).err().unwrap();
        assert!(e.contains("shorter"), "{e}");
        api.clients[2] = client("y", "missing");
        let e = Tokens::load(&api, |p| dir.path().join(p)).err().unwrap();
        assert!(e.contains("token file"), "{e}");
    }
}
