//! Which PBX places a call: each in priority order (lowest first, ties in the file's order)
//! until one answers with a "placed" status. One that does not know the number, answers with
//! an error or cannot be reached is passed over with a log line; none left means the call is
//! not placed. The request itself goes through the function the caller gives (HTTP in the
//! daemon and the CLI), so the order and the verdicts are tested without a network.

use super::config::PbxConfig;

/// What one PBX's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Placed,
    UnknownNumber,
    /// Down, an error status, a timeout: why.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub pbx: String,
    pub verdict: Verdict,
}

/// The attempt: every PBX asked, in order; the last one placed the call if any did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attempt {
    pub tried: Vec<Tried>,
}

impl Attempt {
    /// The PBX that placed the call.
    pub fn placed_by(&self) -> Option<&str> {
        self.tried
            .last()
            .filter(|t| t.verdict == Verdict::Placed)
            .map(|t| t.pbx.as_str())
    }

    /// One line for the ticket's history and the command's output.
    pub fn summary(&self, what: &str) -> String {
        let passed: Vec<String> = self
            .tried
            .iter()
            .filter(|t| t.verdict != Verdict::Placed)
            .map(|t| match &t.verdict {
                Verdict::UnknownNumber => format!("{}: unknown number", t.pbx),
                Verdict::Failed(why) => format!("{}: {why}", t.pbx),
                Verdict::Placed => unreachable!("filtered out"),
            })
            .collect();
        match (self.placed_by(), passed.is_empty()) {
            (Some(p), true) => format!("{what} placed by {p}"),
            (Some(p), false) => format!("{what} placed by {p} ({})", passed.join("; ")),
            (None, _) if self.tried.is_empty() => {
                format!("{what} not placed: no [[pbx]] configured")
            }
            (None, _) => format!("{what} not placed: {}", passed.join("; ")),
        }
    }
}

/// Asks `pbxs` in priority order through `send` (the HTTP status, or why there is none) until
/// one places the call.
pub fn place(
    pbxs: &[PbxConfig],
    mut send: impl FnMut(&PbxConfig) -> Result<u16, String>,
) -> Attempt {
    let mut order: Vec<&PbxConfig> = pbxs.iter().collect();
    order.sort_by_key(|p| p.priority);
    let mut attempt = Attempt::default();
    for p in order {
        let verdict = match send(p) {
            Ok(s) if p.placed.contains(&s) => Verdict::Placed,
            Ok(s) if p.unknown_number.contains(&s) => Verdict::UnknownNumber,
            Ok(s) => Verdict::Failed(format!("answered {s}")),
            Err(e) => Verdict::Failed(e),
        };
        match &verdict {
            Verdict::Placed => {}
            Verdict::UnknownNumber => {
                tracing::info!("pbx {}: does not know the number, asking the next", p.name)
            }
            Verdict::Failed(why) => tracing::warn!("pbx {}: passed over: {why}", p.name),
        }
        let placed = verdict == Verdict::Placed;
        attempt.tried.push(Tried {
            pbx: p.name.clone(),
            verdict,
        });
        if placed {
            break;
        }
    }
    attempt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pbx(name: &str, priority: i32) -> PbxConfig {
        PbxConfig {
            name: name.into(),
            priority,
            url: "http://127.0.0.1:1/".into(),
            method: "POST".into(),
            body: String::new(),
            placed: vec![200, 201],
            unknown_number: vec![404],
            token_file: None,
            timeout_seconds: 5,
        }
    }

    #[test]
    fn priority_order_and_the_first_that_places_ends_it() {
        let pbxs = [pbx("c", 3), pbx("a", 1), pbx("b", 2), pbx("a2", 1)];
        let mut asked = Vec::new();
        let a = place(&pbxs, |p| {
            asked.push(p.name.clone());
            match p.name.as_str() {
                "a" => Ok(404),
                "a2" => Err("connection refused".into()),
                "b" => Ok(201),
                _ => Ok(200),
            }
        });
        assert_eq!(asked, ["a", "a2", "b"]);
        assert_eq!(a.placed_by(), Some("b"));
        assert_eq!(
            a.summary("call to +49541"),
            "call to +49541 placed by b (a: unknown number; a2: connection refused)"
        );
    }

    #[test]
    fn none_placed_names_every_reason() {
        let a = place(&[pbx("a", 0), pbx("b", 0)], |p| match p.name.as_str() {
            "a" => Ok(500),
            _ => Ok(404),
        });
        assert_eq!(a.placed_by(), None);
        assert_eq!(
            a.summary("call"),
            "call not placed: a: answered 500; b: unknown number"
        );
        assert_eq!(
            place(&[], |_| Ok(200)).summary("call"),
            "call not placed: no [[pbx]] configured"
        );
    }
}
