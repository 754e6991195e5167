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
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/numbers.tsv");

    /// `date:10`, `counter:10/8`, `random:10/4`, each optionally `@HOOK`; `-` is the default.
    fn scheme(spec: &str) -> Scheme {
        let mut s = Scheme::default();
        if spec == "-" {
            return s;
        }
        let (spec, hook) = spec.split_once('@').unwrap_or((spec, "Ticket#"));
        s.hook = hook.into();
        let (gen, sid) = spec.split_once(':').expect("scheme GEN:SID");
        let (sid, width) = sid
            .split_once('/')
            .map_or((sid, None), |(a, w)| (a, w.parse().ok()));
        s.system_id = sid.into();
        s.generator = match gen {
            "date" => Generator::DateChecksum,
            "counter" => Generator::Counter,
            "random" => Generator::Random,
            other => panic!("unknown generator {other:?}"),
        };
        if let Some(w) = width {
            s.counter_digits = w;
            s.random_digits = w;
        }
        s
    }

    /// `\t \n \r \0 \\ \u{HEX}`, and `{{N*TEXT}}` for TEXT repeated N times.
    fn unescape(field: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = field;
        while let Some(c) = rest.chars().next() {
            if let Some(r) = rest.strip_prefix("{{") {
                let bad = || format!("want {{{{N*TEXT}}}} in {field:?}");
                let (n, r) = r.split_once('*').ok_or_else(bad)?;
                let (text, r) = r.split_once("}}").ok_or_else(bad)?;
                out.push_str(&unescape(text)?.repeat(n.parse().map_err(|_| bad())?));
                rest = r;
            } else if let Some(r) = rest.strip_prefix('\\') {
                let bad = || format!("bad escape in {field:?}");
                let e = r.chars().next().ok_or_else(bad)?;
                rest = &r[e.len_utf8()..];
                out.push(match e {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    '0' => '\0',
                    '\\' => '\\',
                    'u' => {
                        let (hex, r) = rest
                            .strip_prefix('{')
                            .and_then(|r| r.split_once('}'))
                            .ok_or_else(bad)?;
                        rest = r;
                        u32::from_str_radix(hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(bad)?
                    }
                    _ => return Err(bad()),
                });
            } else {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        Ok(out)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date YYYY-MM-DD")
    }

    fn short(s: &str) -> String {
        if s.chars().count() <= 120 {
            format!("{s:?}")
        } else {
            let head: String = s.chars().take(100).collect();
            format!("{head:?}… ({} bytes)", s.len())
        }
    }

    #[test]
    fn table() {
        let text = std::fs::read_to_string(TABLE).expect(TABLE);
        let mut rng = StdRng::seed_from_u64(1);
        let (mut rows, mut failures) = (0, Vec::new());
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            rows += 1;
            let f: Vec<String> = match line.split('\t').map(unescape).collect() {
                Ok(f) => f,
                Err(e) => panic!("numbers.tsv:{}: {e}", i + 1),
            };
            let arity = match f[0].as_str() {
                "tag" | "tag-re" | "format" => 5,
                _ => 4,
            };
            assert_eq!(
                f.len(),
                arity,
                "numbers.tsv:{}: {} fields, want {arity}: {line:?}",
                i + 1,
                f.len()
            );
            let s = scheme(&f[1]);
            let expected = f[arity - 1].as_str();
            let got = match f[0].as_str() {
                "check" => check_digit(&f[2]).to_string(),
                "format" => s.format(date(&f[2]), f[3].parse().expect("counter"), &mut rng),
                "key" => s.counter_key(date(&f[2])).unwrap_or_else(|| "none".into()),
                "valid" => s.is_valid(&f[2]).to_string(),
                "find" => s.find_in_subject(&f[2]).join(","),
                "strip" => strip_prefixes(&f[2]).to_string(),
                "tag" => s.tag_subject(&f[2], &f[3], false),
                "tag-re" => s.tag_subject(&f[2], &f[3], true),
                other => panic!("numbers.tsv:{}: unknown op {other:?}", i + 1),
            };
            if got != expected {
                failures.push(format!(
                    "numbers.tsv:{}: {} {} {}\n    expected {}\n         got {}",
                    i + 1,
                    f[0],
                    f[1],
                    f[2..arity - 1]
                        .iter()
                        .map(|a| short(a))
                        .collect::<Vec<_>>()
                        .join(" "),
                    short(expected),
                    short(&got)
                ));
            }
        }
        assert!(rows >= 60, "numbers.tsv has only {rows} rows");
        assert!(
            failures.is_empty(),
            "{} of {rows} rows failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// The check-digit sum mod 10, written out independently of `check_digit`.
    fn sum_mod10(body: &[u8]) -> i32 {
        let w = |i: usize| if i.is_multiple_of(2) { 1 } else { 2 };
        body.iter()
            .enumerate()
            .map(|(i, d)| w(i) * i32::from(d - b'0'))
            .sum::<i32>()
            % 10
    }

    /// The closed form of which single-digit substitutions in the body (all but the check digit)
    /// leave the check digit unchanged: at a weight-2 position a change by ±5; at a weight-1
    /// position, when the sum is 0 or 9 mod 10 (check digit 1), the change that moves it to the
    /// other of the two (+1/−9 from 9, −1/+9 from 0). Every other substitution is detected.
    fn undetected(weight: i32, sum: i32, delta: i32) -> bool {
        match weight {
            2 => delta.abs() == 5,
            _ => matches!((sum, delta.rem_euclid(10)), (9, 1) | (0, 9)),
        }
    }

    #[test]
    fn closed_form_is_exact() {
        let f = |s: i32| if s == 0 { 1 } else { 10 - s };
        for sum in 0..10i32 {
            for weight in 1..=2i32 {
                for delta in (-9..=9).filter(|&d| d != 0) {
                    let same = f((sum + weight * delta).rem_euclid(10)) == f(sum);
                    assert_eq!(
                        same,
                        undetected(weight, sum, delta),
                        "sum {sum} weight {weight} delta {delta}"
                    );
                }
            }
        }
    }

    fn random_counter(rng: &mut StdRng) -> u64 {
        match rng.random_range(0..4) {
            0 | 1 => rng.random_range(0..100_000),
            2 => rng.random_range(100_000..10_000_000_000),
            _ => rng.random(),
        }
    }

    const SUBJECTS: &[&str] = &[
        "",
        "Printer on fire",
        "Re: AW: Printer",
        "Fwd: [Ticket#2016010110000019] other ticket",
        "Ticket#2016010110000018 wrong check digit",
        "\r\nBcc: x@example.com",
        "回复：你好",
        "call 2016010110000019",
    ];

    #[test]
    fn date_checksum_round_trip_and_substitutions() {
        let mut rng = StdRng::seed_from_u64(42);
        let s = Scheme::default();
        let (first, last) = (
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
        );
        let days = (last - first).num_days();
        let (mut total, mut missed) = ([0u64; 3], [0u64; 3]);
        for _ in 0..10_000 {
            let date = first + chrono::Duration::days(rng.random_range(0..=days));
            let counter = random_counter(&mut rng);
            let n = s.format(date, counter, &mut rng);
            let counter_len = counter.to_string().len().max(5);
            assert_eq!(n.len(), 8 + 2 + counter_len + 1, "{date} {counter}: {n}");
            assert!(s.is_valid(&n), "{date} {counter}: {n} not valid");
            let subject = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
            let reply = rng.random();
            let tagged = s.tag_subject(subject, &n, reply);
            let found = s.find_in_subject(&tagged);
            let others: Vec<String> = s
                .find_in_subject(subject)
                .into_iter()
                .filter(|o| *o != n)
                .collect();
            let want: Vec<String> = std::iter::once(n.clone()).chain(others).collect();
            assert_eq!(found, want, "{tagged:?}");

            let bytes = n.as_bytes();
            let body_sum = sum_mod10(&bytes[..bytes.len() - 1]);
            for pos in 0..bytes.len() {
                for d in b'0'..=b'9' {
                    if d == bytes[pos] {
                        continue;
                    }
                    let mut m = bytes.to_vec();
                    m[pos] = d;
                    let m = String::from_utf8(m).unwrap();
                    let delta = i32::from(d) - i32::from(bytes[pos]);
                    let weight = if pos % 2 == 0 { 1 } else { 2 };
                    let expect = match pos {
                        _ if pos == bytes.len() - 1 => false, // the check digit itself
                        8..=9 => false,                       // the system id
                        0..=7 => {
                            undetected(weight, body_sum, delta)
                                && NaiveDate::parse_from_str(&m[..8], "%Y%m%d").is_ok()
                        }
                        _ => undetected(weight, body_sum, delta),
                    };
                    assert_eq!(
                        s.is_valid(&m),
                        expect,
                        "{n} -> {m} (position {pos}, weight {weight}, sum {body_sum})"
                    );
                    let class = if pos < 8 {
                        0
                    } else if weight == 2 {
                        1
                    } else {
                        2
                    };
                    if (10..bytes.len() - 1).contains(&pos) || pos < 8 {
                        total[class] += 1;
                        missed[class] += u64::from(expect);
                    }
                }
            }
        }
        for (i, what) in [
            "date digits",
            "weight-2 counter digits",
            "weight-1 counter digits",
        ]
        .iter()
        .enumerate()
        {
            eprintln!(
                "{what}: {} of {} single-digit substitutions undetected",
                missed[i], total[i]
            );
        }
    }

    #[test]
    fn counter_and_random_round_trip() {
        let mut rng = StdRng::seed_from_u64(7);
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        for generator in [Generator::Counter, Generator::Random] {
            let s = Scheme {
                generator,
                system_id: "42".into(),
                ..Scheme::default()
            };
            for _ in 0..10_000 {
                let n = s.format(date, random_counter(&mut rng), &mut rng);
                assert!(n.starts_with("42") && s.is_valid(&n), "{generator:?}: {n}");
                if generator == Generator::Random {
                    assert_eq!(n.len(), 12);
                }
                let tagged = s.tag_subject(SUBJECTS[rng.random_range(0..3)], &n, rng.random());
                assert_eq!(
                    s.find_in_subject(&tagged),
                    std::slice::from_ref(&n),
                    "{tagged:?}"
                );
            }
        }
    }

    /// Random strings from pieces that stress the parser: nothing panics, the results are sane.
    #[test]
    fn arbitrary_subjects() {
        const PIECES: &[&str] = &[
            "Ticket#",
            "ticket #",
            "[",
            "]",
            ":",
            "：",
            " ",
            "\t",
            "\r\n",
            "\0",
            "Re",
            "AW",
            "(2)",
            "[3]",
            "İ",
            "ΑΠ",
            "回复",
            "2016010110000019",
            "0",
            "9",
            "\u{301}",
            "\u{FEFF}",
            "x",
            "é",
            "\u{1F600}",
            "\u{2028}",
            "_",
        ];
        let mut rng = StdRng::seed_from_u64(3);
        let s = Scheme::default();
        let n = "2016010110000019";
        for _ in 0..20_000 {
            let len = rng.random_range(0..30);
            let subject: String = (0..len)
                .map(|_| PIECES[rng.random_range(0..PIECES.len())])
                .collect();
            let rest = strip_prefixes(&subject);
            assert!(subject.ends_with(rest));
            for found in s.find_in_subject(&subject) {
                assert!(
                    s.is_valid(&found) && subject.contains(&found),
                    "{subject:?}: {found}"
                );
            }
            for reply in [false, true] {
                let tagged = s.tag_subject(&subject, n, reply);
                assert!(!tagged.chars().any(|c| c.is_control()), "{tagged:?}");
                assert_eq!(
                    s.find_in_subject(&tagged).first().map(String::as_str),
                    Some(n),
                    "{subject:?} -> {tagged:?}"
                );
                assert_eq!(
                    s.tag_subject(&tagged, n, reply),
                    tagged,
                    "not idempotent: {subject:?}"
                );
            }
        }
    }

    /// Inputs that would take quadratic time in a naive scanner: megabytes, done in well under a second.
    #[test]
    fn linear_time() {
        let s = Scheme::default();
        let mb = 1 << 20;
        for subject in [
            "Ticket# ".repeat(mb / 8),
            "[".repeat(mb),
            "Re".repeat(mb / 2),
            "Re [".repeat(mb / 4),
            format!("Ticket#{}", "9".repeat(mb)),
            "[Ticket#2016010110000019] ".repeat(mb / 26),
            " ".repeat(mb) + "[Ticket#2016010110000019]",
        ] {
            let t = std::time::Instant::now();
            s.find_in_subject(&subject);
            strip_prefixes(&subject);
            s.tag_subject(&subject, "2016010110000019", true);
            let took = t.elapsed();
            assert!(took.as_secs() < 10, "{} took {took:?}", short(&subject));
        }
    }
}
