//! Ticket numbers: the generators, the check digit, and ticket tags in subjects.
//!
//! Pure code: no I/O, no clock. The caller draws the counter (see [`Scheme::counter_key`]) and
//! passes the date. Subjects are customer data: nothing here panics on them, and the work is
//! linear in their length.

mod subject;
pub use subject::strip_prefixes;

use chrono::{Datelike, NaiveDate};
use std::collections::HashSet;

/// Which numbers a site hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Generator {
    /// `YYYYMMDD` + system id + daily counter (5 digits, more past 99999) + check digit: OTRS's
    /// default, e.g. `2016010110000019`.
    DateChecksum,
    /// System id + a global counter, zero-padded to `counter_digits`.
    Counter,
    /// System id + `random_digits` random digits, for sites that do not want to reveal volumes.
    Random,
}

/// Everything that shapes numbers and tags; built from configuration.
#[derive(Debug, Clone)]
pub struct Scheme {
    pub generator: Generator,
    /// Digits, e.g. "10".
    pub system_id: String,
    /// Default "Ticket#".
    pub hook: String,
    /// Minimum width of the plain counter (default 6): counter numbers are system_id +
    /// zero-padded counter. Capped at [`MAX_WIDTH`].
    pub counter_digits: usize,
    /// Default 10. Capped at [`MAX_WIDTH`].
    pub random_digits: usize,
}

/// Widths above this are treated as this (configuration should reject them).
pub const MAX_WIDTH: usize = 40;
/// The daily counter of [`Generator::DateChecksum`] is zero-padded to this width.
const DAILY_WIDTH: usize = 5;
/// A u64 counter has at most this many digits.
const U64_DIGITS: usize = 20;

impl Default for Scheme {
    fn default() -> Self {
        Scheme {
            generator: Generator::DateChecksum,
            system_id: "10".into(),
            hook: "Ticket#".into(),
            counter_digits: 6,
            random_digits: 10,
        }
    }
}

impl Scheme {
    /// The number for a generator's `counter` value (the daily counter for DateChecksum, a global
    /// counter for Counter). For Random, `counter` is ignored and `rng` supplies digits; the result
    /// starts with system_id.
    pub fn format(&self, date: NaiveDate, counter: u64, rng: &mut impl rand::Rng) -> String {
        match self.generator {
            Generator::DateChecksum => {
                let mut n = format!("{}{}{counter:0DAILY_WIDTH$}", ymd(date), self.system_id);
                n.push(digit_char(check_digit(&n)));
                n
            }
            Generator::Counter => {
                let width = self.counter_digits.min(MAX_WIDTH);
                format!("{}{counter:0width$}", self.system_id)
            }
            Generator::Random => {
                let mut n = self.system_id.clone();
                let width = self.random_digits.min(MAX_WIDTH);
                n.extend((0..width).map(|_| digit_char(rng.random_range(0..10))));
                n
            }
        }
    }

    /// The key of the counter this generator draws from: Some("20261121") for DateChecksum (the
    /// date), Some("counter") for Counter, None for Random.
    pub fn counter_key(&self, date: NaiveDate) -> Option<String> {
        match self.generator {
            Generator::DateChecksum => Some(ymd(date)),
            Generator::Counter => Some("counter".into()),
            Generator::Random => None,
        }
    }

    /// Whether `number` is well-formed for this scheme. All generators: ASCII digits only, starts
    /// with system_id, at most [`Scheme::max_len`] digits. DateChecksum: a valid date `YYYYMMDD`,
    /// then system_id, at least one counter digit, and the right check digit. Counter: at least
    /// one digit after system_id. Random: exactly system_id + random_digits digits.
    pub fn is_valid(&self, number: &str) -> bool {
        let sid = self.system_id.as_str();
        let len = number.len();
        if len == 0 || len > self.max_len() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        match self.generator {
            Generator::DateChecksum => {
                len >= 8 + sid.len() + 2
                    && number[8..].starts_with(sid)
                    && valid_date(&number[..8])
                    && check_digit(&number[..len - 1])
                        == u32::from(number.as_bytes()[len - 1] - b'0')
            }
            Generator::Counter => len > sid.len() && number.starts_with(sid),
            Generator::Random => {
                len == sid.len() + self.random_digits.min(MAX_WIDTH) && number.starts_with(sid)
            }
        }
    }

    /// The longest number this scheme can produce (u64 counters, capped widths).
    pub fn max_len(&self) -> usize {
        let sid = self.system_id.len();
        match self.generator {
            Generator::DateChecksum => 8 + sid + U64_DIGITS + 1,
            Generator::Counter => sid + self.counter_digits.clamp(U64_DIGITS, MAX_WIDTH),
            Generator::Random => sid + self.random_digits.min(MAX_WIDTH),
        }
    }

    /// The subject tag, e.g. "[Ticket#2026112110000015]".
    pub fn tag(&self, number: &str) -> String {
        format!("[{}{}]", self.hook, number)
    }

    /// The subject with the tag: strips reply/forward prefixes and every bracketed tag of the same
    /// number (anywhere, any hook case/spacing), turns control characters and whitespace runs into
    /// single spaces, then "[Ticket#N] rest"; with `reply`, "Re: [Ticket#N] rest". Tags of other
    /// numbers are kept as part of the rest. No trailing space when the rest is empty.
    pub fn tag_subject(&self, subject: &str, number: &str, reply: bool) -> String {
        let cleaned = subject::remove_tags(&self.hook, subject, number, self.max_len());
        let rest = strip_prefixes(&cleaned);
        let mut out = String::with_capacity(rest.len() + self.hook.len() + number.len() + 7);
        if reply {
            out.push_str("Re: ");
        }
        out.push_str(&self.tag(number));
        if !rest.is_empty() {
            out.push(' ');
            out.push_str(rest);
        }
        out
    }

    /// Every number found after the hook in a subject ("[Ticket#N]" anywhere; the hook in any
    /// case; "Ticket# N", "Ticket#: N", "Ticket #N", no brackets needed), in order of appearance,
    /// deduplicated, that [`Scheme::is_valid`] accepts. Reply/forward prefixes do not matter: the
    /// tag is found wherever it is. A digit run is taken whole, so a number inside a longer run
    /// is no match, and without the hook no digits match.
    pub fn find_in_subject(&self, subject: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for hit in subject::hits(&self.hook, subject, self.max_len()) {
            let n = &subject[hit.digits];
            if self.is_valid(n) && seen.insert(n) {
                found.push(n.to_string());
            }
        }
        found
    }
}

/// The check digit per DESIGN.md (OTRS's DateChecksum): the digits left to right times weights
/// 1,2,1,2,…; the products summed as they are (not digit-summed as in Luhn); 10 − (sum mod 10),
/// and 10 becomes 1. So the result is 1..=9, and sums ≡ 0 and ≡ 9 (mod 10) both give 1.
/// Characters other than ASCII digits are skipped (they take no weight).
pub fn check_digit(digits: &str) -> u32 {
    let mut sum = 0;
    let mut weight = 1;
    for d in digits.bytes().filter(u8::is_ascii_digit) {
        sum = (sum + weight * u32::from(d - b'0')) % 10;
        weight = 3 - weight;
    }
    match 10 - sum {
        10 => 1,
        c => c,
    }
}

fn digit_char(d: u32) -> char {
    char::from_digit(d % 10, 10).unwrap_or('0')
}

/// `YYYYMMDD`. Years outside 0..=9999 give something other than 8 digits, which is_valid rejects.
fn ymd(date: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", date.year(), date.month(), date.day())
}

/// Eight ASCII digits that are a date chrono knows (years 0000..=9999).
fn valid_date(s: &str) -> bool {
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    match (num(0..4), num(4..6), num(6..8)) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
