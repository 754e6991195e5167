//! `[[pbx]]`: a telephone system that places calls on an agent's behalf over HTTP. PBXs are
//! added and removed in the configuration alone; `priority` orders them (lowest first).

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PbxConfig {
    pub name: String,
    /// Lower is asked first; equal priorities in the file's order.
    #[serde(default)]
    pub priority: i32,
    /// `http://` or `https://` (the system's CAs).
    pub url: String,
    /// `POST` (default), `PUT` or `GET` (no body).
    #[serde(default = "default_method")]
    pub method: String,
    /// The JSON body, with `{{extension}}`, `{{number}}`, `{{agent}}`, `{{ticket}}`.
    #[serde(default)]
    pub body: String,
    /// HTTP statuses that mean the call is placed.
    #[serde(default = "default_placed")]
    pub placed: Vec<u16>,
    /// HTTP statuses that mean this PBX does not know the number (the next one is asked).
    #[serde(default = "default_unknown")]
    pub unknown_number: Vec<u16>,
    /// A file whose first line is sent as `Authorization: Bearer …` (relative to the
    /// configuration file).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Seconds for connecting, sending and the answer together.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_method() -> String {
    "POST".into()
}

fn default_placed() -> Vec<u16> {
    vec![200, 201, 202, 204]
}

fn default_unknown() -> Vec<u16> {
    vec![404]
}

fn default_timeout() -> u64 {
    5
}

impl PbxConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        let scheme_ok = ["http://", "https://"]
            .iter()
            .any(|s| self.url.len() > s.len() && self.url[..s.len()].eq_ignore_ascii_case(s));
        if !scheme_ok || self.url.parse::<axum::http::Uri>().is_err() {
            return Err(format!("url {:?}: an http:// or https:// URL", self.url));
        }
        if !matches!(self.method.as_str(), "POST" | "PUT" | "GET") {
            return Err(format!("method {:?}: POST, PUT or GET", self.method));
        }
        if self.method == "GET" && !self.body.trim().is_empty() {
            return Err("a GET has no body".into());
        }
        super::template::check(&self.body).map_err(|e| format!("body: {e}"))?;
        let all = self.placed.iter().chain(&self.unknown_number);
        if let Some(s) = all.clone().find(|s| !(100..=599).contains(*s)) {
            return Err(format!("{s} is no HTTP status"));
        }
        if let Some(s) = self.placed.iter().find(|s| self.unknown_number.contains(s)) {
            return Err(format!(
                "status {s} cannot mean both placed and unknown-number"
            ));
        }
        if self.placed.is_empty() {
            return Err("placed names no status".into());
        }
        if !(1..=120).contains(&self.timeout_seconds) {
            return Err("timeout-seconds is 1..=120".into());
        }
        Ok(())
    }
}
