//! Our Message-IDs and reply addresses, authenticated by a MAC.
//!
//! Pure code: no I/O, no clock; the caller passes the random source. Every id and address this
//! module hands out carries a truncated HMAC-SHA256 under the site's secret, so a reply that
//! names one of them can be trusted to point at the ticket it names:
//!
//! - Message-ID: `<number>.<random>.<mac>@<domain>`, where `random` is 12 characters of
//!   lowercase base32hex (`0-9a-v`) and `mac = HMAC(key, "msgid\0" + number + "." + random)`.
//! - Reply address: `<local>+<number>-<mac>@<domain>`, `mac = HMAC(key, "reply\0" + number)`;
//!   a note address: `<local>+<number>-note-<mac>@<domain>`, `mac = HMAC(key, "note\0" + number)`.
//!   This is the queue's shared form, in the stored copies all of a queue's agents read.
//! - An agent's own reply address has the same shape, its MAC bound to the agent too:
//!   `HMAC(key, "agent-reply\0" + number + "\0" + agent address)` (`agent-note` for a note). It
//!   is only in the notices sent to that agent, and works only with that agent's From.
//!
//! Each MAC is the first 8 bytes of the HMAC, written as 16 lowercase hex digits. The prefixes
//! (`msgid`, `reply`, `note`, `agent-reply`, `agent-note`) keep one kind of MAC from being
//! replayed as another. Keys a rotation retired still verify (never sign) until their grace
//! period ends; the caller passes the time. Checking is
//! case-insensitive on the random part, the MAC and the domain (MTAs and clients may change case)
//! and compares the MAC in constant time. What comes in is customer data: nothing here panics on
//! it, and the work is bounded by its length.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Characters in the random part of a Message-ID (base32hex, 5 bits each: 60 bits).
const RANDOM_LEN: usize = 12;
const RANDOM_ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
/// Hex digits of a MAC (8 bytes).
const MAC_HEX: usize = 16;
/// Ticket numbers are ASCII digits; longer runs are not ours.
pub const MAX_NUMBER_LEN: usize = 64;

/// What [`Signer::check_message_id`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdVerdict {
    /// Our shape and a valid MAC: the ticket number.
    Ours(String),
    /// Our shape under one of our domains, but the MAC does not verify.
    Forged { number: String },
    /// Not an id we made.
    NotOurs,
}

/// Where a verified reply address points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTarget {
    pub number: String,
    /// The note address (`+<number>-note-<mac>`): the mail becomes an internal note.
    pub note: bool,
    /// The address without its `+detail`, lowercased, e.g. `support@company.example`.
    pub base: String,
    /// The agent an agent's own address is bound to (their configured address); `None` for the
    /// queue's shared form.
    pub agent: Option<String>,
}

/// What [`Signer::parse_reply_address`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyCheck {
    Valid(ReplyTarget),
    /// The `+detail` has our shape but the MAC does not verify: log "forged reply address".
    Forged {
        number: String,
    },
    /// No `+detail` of our shape.
    NotReply,
}

/// Signs and checks ids and addresses with the site's secret.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
    /// Keys a rotation retired, each with the end of its grace period (Unix seconds).
    retired: Vec<(Vec<u8>, i64)>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

impl Signer {
    /// Any length works (HMAC hashes long keys); the caller should supply at least 32 random bytes.
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            key: secret.to_vec(),
            retired: Vec::new(),
        }
    }

    /// Also accepts what `key` signed, until `until` (Unix seconds).
    pub fn with_retired(mut self, key: &[u8], until: i64) -> Signer {
        self.retired.push((key.to_vec(), until));
        self
    }

    /// The keys that verify at `now`: the current one first, then retired ones still in grace.
    fn keys_at(&self, now: i64) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.key.as_slice()).chain(
            self.retired
                .iter()
                .filter(move |(_, until)| now < *until)
                .map(|(k, _)| k.as_slice()),
        )
    }

    /// `<number>.<random>.<mac>@<domain>`, without angle brackets. `number` must be ASCII digits
    /// (as `number::Scheme` makes them) and `domain` a plain domain; the caller guarantees both.
    pub fn message_id(&self, number: &str, domain: &str, rng: &mut impl rand::Rng) -> String {
        debug_assert!(is_number(number), "ticket numbers are digits: {number:?}");
        let random: String = (0..RANDOM_LEN)
            .map(|_| char::from(RANDOM_ALPHABET[rng.random_range(0..RANDOM_ALPHABET.len())]))
            .collect();
        let mac = mac_hex(
            &self.key,
            &[b"msgid\0", number.as_bytes(), b".", random.as_bytes()],
        );
        format!("{number}.{random}.{mac}@{domain}")
    }

    /// Whether `id` (with or without angle brackets) is one of our Message-IDs. A valid MAC makes
    /// it ours whatever its domain (the configured domain may have changed since); a wrong MAC is
    /// reported as forged only under one of `domains`, since another site could use our shape.
    pub fn check_message_id(&self, id: &str, domains: &[String], now: i64) -> IdVerdict {
        let id = strip_brackets(id);
        let Some((local, domain)) = id.rsplit_once('@') else {
            return IdVerdict::NotOurs;
        };
        let mut parts = local.split('.');
        let (Some(number), Some(random), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return IdVerdict::NotOurs;
        };
        let random_ok = random.len() == RANDOM_LEN
            && random
                .bytes()
                .all(|b| RANDOM_ALPHABET.contains(&b.to_ascii_lowercase()));
        let Some(tag) = decode_mac(mac) else {
            return IdVerdict::NotOurs;
        };
        if !is_number(number) || !random_ok {
            return IdVerdict::NotOurs;
        }
        let random = random.to_ascii_lowercase();
        if self.verify(
            &[b"msgid\0", number.as_bytes(), b".", random.as_bytes()],
            &tag,
            now,
        ) {
            IdVerdict::Ours(number.to_string())
        } else if domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            IdVerdict::Forged {
                number: number.to_string(),
            }
        } else {
            IdVerdict::NotOurs
        }
    }

    /// The queue's shared reply address, as the stored copies carry it:
    /// `<local>+<number>-<mac>@<domain>`, or `<local>+<number>-note-<mac>@<domain>` for a note.
    /// `queue_address` is the queue's address (`support@company.example`); a `+detail` it already
    /// has is dropped. Queue addresses come from validated configuration; one without `@` gets
    /// the detail appended to the whole string.
    pub fn reply_address(&self, queue_address: &str, number: &str, note: bool) -> String {
        let kind: &[u8] = if note { b"note\0" } else { b"reply\0" };
        let mac = mac_hex(&self.key, &[kind, number.as_bytes()]);
        with_detail(queue_address, number, note, &mac)
    }

    /// The reply address of one agent (their configured address, lowercased): the same shape as
    /// the shared one, but accepted only with that agent's From.
    pub fn agent_reply_address(
        &self,
        queue_address: &str,
        number: &str,
        agent: &str,
        note: bool,
    ) -> String {
        let kind: &[u8] = if note {
            b"agent-note\0"
        } else {
            b"agent-reply\0"
        };
        let mac = mac_hex(
            &self.key,
            &[kind, number.as_bytes(), b"\0", agent.as_bytes()],
        );
        with_detail(queue_address, number, note, &mac)
    }

    /// Checks an address (`a@b`, `<a@b>` or `Name <a@b>`) for a reply `+detail`. The detail is
    /// taken after the first `+` of the local part; the MAC and `note` are case-insensitive. The
    /// MAC is tried as the shared form, then as the own address of each of `agents` (configured
    /// addresses, lowercased), under every key that verifies at `now`.
    pub fn parse_reply_address(&self, addr: &str, agents: &[String], now: i64) -> ReplyCheck {
        let addr = bare_address(addr);
        let Some((local, domain)) = addr.rsplit_once('@') else {
            return ReplyCheck::NotReply;
        };
        let Some((base_local, detail)) = local.split_once('+') else {
            return ReplyCheck::NotReply;
        };
        let Some((number, rest)) = detail.split_once('-') else {
            return ReplyCheck::NotReply;
        };
        let (note, mac) = match rest.split_once('-') {
            Some((word, mac)) if word.eq_ignore_ascii_case("note") => (true, mac),
            Some(_) => return ReplyCheck::NotReply,
            None => (false, rest),
        };
        let (Some(tag), true) = (decode_mac(mac), is_number(number)) else {
            return ReplyCheck::NotReply;
        };
        if base_local.is_empty() || domain.is_empty() {
            return ReplyCheck::NotReply;
        }
        let (kind, agent_kind): (&[u8], &[u8]) = if note {
            (b"note\0", b"agent-note\0")
        } else {
            (b"reply\0", b"agent-reply\0")
        };
        let bound = if self.verify(&[kind, number.as_bytes()], &tag, now) {
            Some(None)
        } else {
            agents
                .iter()
                .find(|a| {
                    let parts = [agent_kind, number.as_bytes(), b"\0", a.as_bytes()];
                    self.verify(&parts, &tag, now)
                })
                .map(|a| Some(a.clone()))
        };
        if let Some(agent) = bound {
            ReplyCheck::Valid(ReplyTarget {
                number: number.to_string(),
                note,
                base: format!("{base_local}@{domain}").to_ascii_lowercase(),
                agent,
            })
        } else {
            ReplyCheck::Forged {
                number: number.to_string(),
            }
        }
    }

    /// Constant-time comparison of the leftmost bytes of the HMAC with `tag`, under each key
    /// that verifies at `now`.
    fn verify(&self, parts: &[&[u8]], tag: &[u8; MAC_HEX / 2], now: i64) -> bool {
        self.keys_at(now)
            .any(|key| hmac(key, parts).verify_truncated_left(tag).is_ok())
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac
}

fn mac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let bytes = hmac(key, parts).finalize().into_bytes();
    bytes[..MAC_HEX / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<local>+<number>[-note]-<mac>@<domain>` from a queue address.
fn with_detail(queue_address: &str, number: &str, note: bool, mac: &str) -> String {
    debug_assert!(is_number(number), "ticket numbers are digits: {number:?}");
    let queue_address = queue_address.trim();
    let (local, domain) = match queue_address.rsplit_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (queue_address, None),
    };
    let local = local.split('+').next().unwrap_or(local);
    let infix = if note { "-note-" } else { "-" };
    match domain {
        Some(d) => format!("{local}+{number}{infix}{mac}@{d}"),
        None => format!("{local}+{number}{infix}{mac}"),
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NUMBER_LEN && s.bytes().all(|b| b.is_ascii_digit())
}

/// 16 hex digits (any case) → 8 bytes.
fn decode_mac(s: &str) -> Option<[u8; MAC_HEX / 2]> {
    if s.len() != MAC_HEX {
        return None;
    }
    let mut out = [0u8; MAC_HEX / 2];
    for (i, pair) in s.as_bytes().chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

fn strip_brackets(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
        .trim()
}

/// The address inside `Name <addr>` or `<addr>`, else the trimmed input.
fn bare_address(s: &str) -> &str {
    let s = s.trim();
    match s.rfind('<') {
        Some(open) => {
            let inner = &s[open + 1..];
            inner.split('>').next().unwrap_or(inner).trim()
        }
        None => s,
    }
}

#[cfg(test)]
mod tests;
