//! Is this mail from a person, or automatic? Pure: `Facts` and our identity in, a verdict out.
//!
//! This is where invariant 5 (no mail loops) is decided. Every rule that matches adds a short
//! sentence to `reasons`, so `postdesk explain` can say why; the kind is the first family that
//! matched, in this order: Loop, Bounce, AutoReply, List, Bulk, else Normal. The rules themselves
//! live in `rules`; the cases that pin them down are the files in `tests/classify/`.

pub mod rules;

use serde::Serialize;

use crate::facts::Facts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Written by a person: may get an autoresponse.
    Normal,
    /// Out-of-office and other automatic answers (Auto-Submitted, X-Autoreply, subject prefixes).
    AutoReply,
    /// Delivery status notifications and other returned mail.
    Bounce,
    /// Mailing-list traffic.
    List,
    /// Bulk mail: Precedence bulk/junk, the null sender, noreply senders.
    Bulk,
    /// Our own mail coming back: our X-Loop value or one of our addresses as the author.
    Loop,
}

/// All kinds, in order of precedence (`Normal` last).
const PRECEDENCE: [Kind; 5] = [
    Kind::Loop,
    Kind::Bounce,
    Kind::AutoReply,
    Kind::List,
    Kind::Bulk,
];

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Normal => "normal",
            Kind::AutoReply => "auto-reply",
            Kind::Bounce => "bounce",
            Kind::List => "list",
            Kind::Bulk => "bulk",
            Kind::Loop => "loop",
        }
    }

    /// The inverse of `as_str`.
    #[allow(clippy::should_implement_trait)] // an Option is what callers want, not a FromStr error
    pub fn from_str(s: &str) -> Option<Kind> {
        PRECEDENCE
            .into_iter()
            .chain([Kind::Normal])
            .find(|k| k.as_str() == s)
    }

    /// Automatic mail never gets an autoresponse.
    pub fn is_automatic(&self) -> bool {
        *self != Kind::Normal
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: Kind,
    /// Every rule that matched, of any kind, as short sentences.
    pub reasons: Vec<String>,
    /// For a bounce, the Message-ID of the message it returns.
    pub bounce_of: Option<String>,
}

impl Classification {
    /// Ordinary mail, no rule matched.
    pub fn normal() -> Classification {
        Classification {
            kind: Kind::Normal,
            reasons: Vec::new(),
            bounce_of: None,
        }
    }
}

/// Who we are, so that our own mail is recognised when it comes back.
#[derive(Debug, Clone, Copy)]
pub struct OwnIdentity<'a> {
    /// Our queue addresses, lowercased.
    pub addresses: &'a [String],
    /// The value of the X-Loop header we put on every mail we send.
    pub loop_value: &'a str,
}

pub fn classify(facts: &Facts, own: &OwnIdentity) -> Classification {
    let mut reasons = Vec::new();
    let mut kind = Kind::Normal;
    for candidate in PRECEDENCE {
        let before = reasons.len();
        match candidate {
            Kind::Loop => rules::looped(facts, own, &mut reasons),
            Kind::Bounce => rules::bounce(facts, &mut reasons),
            Kind::AutoReply => rules::auto_reply(facts, &mut reasons),
            Kind::List => rules::list(facts, &mut reasons),
            Kind::Bulk => rules::bulk(facts, &mut reasons),
            Kind::Normal => {}
        }
        if kind == Kind::Normal && reasons.len() > before {
            kind = candidate;
        }
    }
    let bounce_of = if kind == Kind::Bounce {
        facts.returned_message_id.clone()
    } else {
        None
    };
    Classification {
        kind,
        reasons,
        bounce_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    const OWN_ADDRESSES: [&str; 2] = ["hotline@company.example", "billing@company.example"];
    const OWN_LOOP: &str = "postdesk hotline@company.example";

    /// One case file: `kind: NAME`, optional `bounce-of: ID` and `# comment` lines, a blank line,
    /// then the raw mail. Our identity is `OWN_ADDRESSES` and `OWN_LOOP`.
    fn check(name: &str, case: &[u8]) {
        let split = case
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("directives end");
        let directives = std::str::from_utf8(&case[..split]).expect("directives are UTF-8");
        let (mut kind, mut bounce_of) = (None, None);
        for line in directives.lines().filter(|l| !l.starts_with('#')) {
            match line.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("kind", v)) => kind = Some(Kind::from_str(v).expect("known kind")),
                Some(("bounce-of", v)) => bounce_of = Some(v.to_string()),
                _ => panic!("{name}: unknown directive {line:?}"),
            }
        }
        let addresses: Vec<String> = OWN_ADDRESSES.iter().map(|a| a.to_string()).collect();
        let own = OwnIdentity {
            addresses: &addresses,
            loop_value: OWN_LOOP,
        };
        let facts = parse(&case[split + 2..]);
        assert_eq!(facts.unparseable, None, "{name}");
        let verdict = classify(&facts, &own);
        let kind = kind.unwrap_or_else(|| panic!("{name}: no kind directive"));
        assert_eq!(verdict.kind, kind, "{name}: reasons {:?}", verdict.reasons);
        assert!(
            kind == Kind::Normal || !verdict.reasons.is_empty(),
            "{name}"
        );
        if bounce_of.is_some() {
            assert_eq!(verdict.bounce_of, bounce_of, "{name}");
        }
    }

    #[test]
    fn cases() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/classify");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("tests/classify exists")
            .map(|e| e.expect("readable entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "test"))
            .collect();
        files.sort();
        assert!(files.len() >= 25, "only {} cases", files.len());
        for path in &files {
            let case = std::fs::read(path).expect("readable case");
            check(&path.file_name().unwrap().to_string_lossy(), &case);
        }
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in PRECEDENCE.into_iter().chain([Kind::Normal]) {
            assert_eq!(Kind::from_str(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::from_str("spam"), None);
        assert!(!Kind::Normal.is_automatic() && Kind::Bulk.is_automatic());
    }
}
