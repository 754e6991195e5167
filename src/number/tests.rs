//! Tests of ticket numbers: the data-driven table in tests/numbers.tsv and property tests.
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
