//! What reports read: every ticket with the times that matter for it, and the changes agents
//! and customers made (answers, closes, reopens), streamed row by row so that a year of a
//! million tickets is never held in memory. The figures are computed from these rows by
//! `report::figures`, without I/O.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::db::{p, Row};

use super::{Index, Result, Tx};

/// A ticket as a report sees it. Times are the index's UTC stamps (`…T…Z`), which sort as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts<'a> {
    pub number: &'a str,
    pub queue: &'a str,
    pub organisation: Option<&'a str>,
    pub subject: &'a str,
    pub created: &'a str,
    /// The first agent's answer (history `answer`) before the report's end.
    pub first_answer: Option<&'a str>,
    /// The first close (history `closed`) before the report's end.
    pub first_close: Option<&'a str>,
    /// Whether the ticket was open at the report's end: its last close or reopen before then
    /// was no close.
    pub open_at_end: bool,
}

/// An answer, close or reopen, with the queue and organisation of its ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    pub ticket: &'a str,
    pub queue: &'a str,
    pub organisation: Option<&'a str>,
    pub at: &'a str,
    /// `answer`, `closed` or `reopened`.
    pub event: &'a str,
    pub detail: &'a str,
}

fn text<'r>(r: &Row<'r>, i: usize) -> Result<&'r str> {
    r.text(i)
}

fn opt<'r>(r: &Row<'r>, i: usize) -> Result<Option<&'r str>> {
    r.text_opt(i)
}

/// What a ticket's changes before the report's end say of it (times `pack`ed).
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    first_answer: Option<u64>,
    first_close: Option<u64>,
    /// The last close or reopen: when, and whether it was a close.
    last: Option<(u64, bool)>,
}

/// Tickets' `Seen` by number: digits (every generator's numbers) as one integer, so a million
/// tickets take some 60 MB; anything else by its text.
#[derive(Default)]
struct SeenMap {
    digits: HashMap<u128, Seen, BuildHasherDefault<Mix>>,
    other: HashMap<String, Seen>,
}

/// A multiply-rotate hash for ticket numbers, which postdesk itself draws (nobody chooses them
/// to collide): several times faster than the default SipHash over a million lookups.
#[derive(Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

fn as_digits(number: &str) -> Option<u128> {
    if number.is_empty() || number.len() > 38 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

impl SeenMap {
    fn entry(&mut self, number: &str) -> &mut Seen {
        match as_digits(number) {
            Some(n) => self.digits.entry(n).or_default(),
            None => self.other.entry(number.to_string()).or_default(),
        }
    }

    fn get(&self, number: &str) -> Seen {
        let found = match as_digits(number) {
            Some(n) => self.digits.get(&n),
            None => self.other.get(number),
        };
        found.copied().unwrap_or_default()
    }
}

/// The positions of the 17 digits of `2026-12-06T03:56:45.123Z`, the index's time stamps.
const DIGITS: [usize; 17] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
const STAMP: &[u8; 24] = b"0000-00-00T00:00:00.000Z";

/// A time stamp as the number its digits make (`20261206035645123`): ordered as the stamps
/// are, and `unpack` gives the text back. Other spellings are read as times first.
fn pack(at: &str) -> Option<u64> {
    let b = at.as_bytes();
    let canonical = b.len() == 24
        && STAMP.iter().zip(b).enumerate().all(|(i, (&p, &c))| {
            if DIGITS.contains(&i) {
                c.is_ascii_digit()
            } else {
                p == c
            }
        });
    if !canonical {
        let t = chrono::DateTime::parse_from_rfc3339(at).ok()?;
        let text = t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        return (text.len() == 24).then(|| pack(&text)).flatten();
    }
    Some(
        DIGITS
            .iter()
            .fold(0u64, |n, &i| n * 10 + (b[i] - b'0') as u64),
    )
}

fn unpack(mut n: u64) -> String {
    let mut out = *STAMP;
    for &i in DIGITS.iter().rev() {
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Index {
    /// Calls `change` for every answer, close and reopen before `end`, then `ticket` for every
    /// ticket opened before `end` (in number order) with what those changes say of it. One scan
    /// of each table: a year of a million tickets in seconds.
    pub fn report_rows(
        &self,
        end: &str,
        mut change: impl FnMut(&Change),
        mut ticket: impl FnMut(&TicketFacts),
    ) -> Result<()> {
        let mut seen = SeenMap::default();
        self.db.each(
            "SELECT h.ticket, t.queue, t.organisation, h.at, h.event, h.detail
             FROM history h JOIN tickets t ON t.number = h.ticket
             WHERE h.event IN ('answer', 'closed', 'reopened') AND h.at < ?1
             ORDER BY h.id",
            p![end],
            |r| {
                let c = Change {
                    ticket: text(r, 0)?,
                    queue: text(r, 1)?,
                    organisation: opt(r, 2)?,
                    at: text(r, 3)?,
                    event: text(r, 4)?,
                    detail: text(r, 5)?,
                };
                change(&c);
                let Some(at) = pack(c.at) else { return Ok(()) };
                let s = seen.entry(c.ticket);
                let first = |v: &mut Option<u64>| *v = Some(v.map_or(at, |o| o.min(at)));
                match c.event {
                    "answer" => first(&mut s.first_answer),
                    "closed" => first(&mut s.first_close),
                    _ => {}
                }
                if c.event != "answer" && s.last.is_none_or(|(l, _)| at >= l) {
                    s.last = Some((at, c.event == "closed"));
                }
                Ok(())
            },
        )?;
        self.db.each(
            "SELECT t.number, t.queue, t.organisation, t.subject, t.created
             FROM tickets t WHERE t.created < ?1",
            p![end],
            |r| {
                let number = text(r, 0)?;
                let s = seen.get(number);
                let (answer, close) = (s.first_answer.map(unpack), s.first_close.map(unpack));
                ticket(&TicketFacts {
                    number,
                    queue: text(r, 1)?,
                    organisation: opt(r, 2)?,
                    subject: text(r, 3)?,
                    created: text(r, 4)?,
                    first_answer: answer.as_deref(),
                    first_close: close.as_deref(),
                    open_at_end: !s.last.is_some_and(|(_, closed)| closed),
                });
                Ok(())
            },
        )
    }

    /// Runs `f` in one read transaction: every query sees the index as it was at the start (a
    /// report's figures agree with each other while intake goes on), and a million small
    /// queries take the file's lock once instead of each.
    pub fn snapshot<T, E: From<super::IndexError>>(
        &self,
        f: impl FnOnce(&Index) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.db
            .batch(
                self.db
                    .pick("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            )
            .map_err(E::from)?;
        let out = f(self);
        let _ = self.db.batch("COMMIT");
        out
    }

    /// When the scheduled report `name` was queued for `period`, if it was.
    pub fn report_sent(&self, name: &str, period: &str) -> Result<Option<String>> {
        self.db.opt(
            "SELECT at FROM report_sent WHERE name = ?1 AND period = ?2",
            p![name, period],
            |r| r.get(0),
        )
    }
}

impl Tx<'_> {
    /// Records that the scheduled report `name` for `period` is queued as outbox mail `file`;
    /// committed with the outbox row, so the report is queued exactly once. `false`: it was
    /// already recorded (another process queued it first), and nothing may be queued.
    pub fn record_report_sent(
        &self,
        name: &str,
        period: &str,
        at: &str,
        file: &str,
    ) -> Result<bool> {
        let n = self.db().exec(
            "INSERT INTO report_sent(name, period, at, file) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name, period) DO NOTHING",
            p![name, period, at, file],
        )?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_stamps_keep_order_and_text() {
        let a = "2026-12-06T03:56:45.123Z";
        assert_eq!(pack(a), Some(20261206035645123));
        assert_eq!(unpack(pack(a).unwrap()), a);
        assert!(pack("2026-12-06T03:56:45.124Z") > pack(a));
        assert_eq!(pack("2026-12-06T04:56:45.123+01:00"), pack(a));
        assert_eq!(pack("yesterday"), None);
    }

    #[test]
    fn ticket_numbers_as_keys() {
        let mut m = SeenMap::default();
        m.entry("2026120610000019").first_answer = Some(1);
        m.entry("T-17").first_close = Some(2);
        assert_eq!(m.get("2026120610000019").first_answer, Some(1));
        assert_eq!(m.get("T-17").first_close, Some(2));
        assert_eq!(m.get("2026120610000027").first_answer, None);
        assert_eq!(m.digits.len() + m.other.len(), 2);
    }
}
