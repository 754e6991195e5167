//! Unit tests of `limits`: hostile nesting and part counts are caught without building the
//! message, and for ordinary mail the count agrees exactly with what mail-parser builds.

use mail_parser::{MessageParser, PartType};

use super::*;

const HEAD: &str = "From: a@example.org\nTo: support@company.example\nSubject: s\n";

fn nested_messages(levels: usize) -> Vec<u8> {
    let mut m = String::from(HEAD);
    for i in 0..levels {
        m.push_str(&format!(
            "Content-Type: message/rfc822\n\nSubject: level {i}\n"
        ));
    }
    m.push_str("\nhello\n");
    m.into_bytes()
}

fn nested_multiparts(levels: usize) -> Vec<u8> {
    let mut m = String::from(HEAD);
    for i in 0..levels {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
        ));
    }
    m.push_str("Content-Type: text/plain\n\nhello\n");
    m.into_bytes()
}

fn many_parts(n: usize) -> Vec<u8> {
    let mut m = format!("{HEAD}Content-Type: multipart/mixed; boundary=\"x\"\n\n");
    for i in 0..n {
        m.push_str(&format!("--x\nContent-Type: text/plain\n\n{i}\n"));
    }
    m.push_str("--x--\n");
    m.into_bytes()
}

/// Every part mail-parser builds, nested messages' parts included (an explicit work list: the
/// tests, too, must not recurse on input).
fn parts_built(raw: &[u8]) -> usize {
    let message = MessageParser::default().parse(raw).expect("parses");
    let mut count = 0;
    let mut todo = vec![&message];
    while let Some(m) = todo.pop() {
        count += m.parts.len();
        for p in &m.parts {
            if let PartType::Message(nested) = &p.body {
                todo.push(nested);
            }
        }
    }
    count
}

/// `measure` passes at exactly mail-parser's count and fails one below it.
fn agrees(raw: &[u8]) {
    let n = parts_built(raw);
    let at = |max_parts| Limits {
        max_depth: 1000,
        max_parts,
    };
    assert_eq!(measure(raw, &at(n)), Ok(()), "{n} parts");
    assert_eq!(
        measure(raw, &at(n - 1)),
        Err(Over::Parts(n - 1)),
        "{n} parts"
    );
}

#[test]
fn a_hundred_thousand_nested_messages_are_caught_on_a_small_stack() {
    let raw = nested_messages(100_000);
    // A 64 KiB stack: measuring must not recurse, whatever the depth.
    let r = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || measure(&raw, &Limits::default()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(r, Err(Over::Depth(100)));
}

#[test]
fn deep_multiparts_are_caught() {
    assert_eq!(
        measure(&nested_multiparts(5_000), &Limits::default()),
        Err(Over::Depth(100))
    );
    assert_eq!(measure(&nested_multiparts(99), &Limits::default()), Ok(()));
    assert_eq!(measure(&nested_messages(100), &Limits::default()), Ok(()));
    assert_eq!(
        measure(&nested_messages(101), &Limits::default()),
        Err(Over::Depth(100))
    );
}

#[test]
fn empty_parts_count() {
    let mut raw = format!("{HEAD}Content-Type: multipart/mixed; boundary=\"x\"\n\n").into_bytes();
    raw.extend(b"--x\n\n".repeat(50_000));
    assert_eq!(measure(&raw, &Limits::default()), Err(Over::Parts(10_000)));
    assert_eq!(measure(&many_parts(9_998), &Limits::default()), Ok(()));
    assert_eq!(
        measure(&many_parts(10_000), &Limits::default()),
        Err(Over::Parts(10_000))
    );
}

#[test]
fn parts_of_encoded_nested_messages_count() {
    use std::fmt::Write;
    let inner = String::from_utf8(many_parts(300)).unwrap();
    let mut b64 = String::new();
    // A plain base64 encoder: the test must not lean on the code under test.
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in inner.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut raw = format!("{HEAD}Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\n\nintro\n");
    for _ in 0..3 {
        write!(
            raw,
            "--o\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{b64}\n"
        )
        .unwrap();
    }
    raw.push_str("--o--\n");
    agrees(raw.as_bytes());
    let small = Limits {
        max_depth: 100,
        max_parts: 500,
    };
    assert_eq!(measure(raw.as_bytes(), &small), Err(Over::Parts(500)));
}

#[test]
fn counts_agree_with_mail_parser_on_the_fixtures_and_odd_shapes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/maildir-fixtures");
    let mut seen = 0;
    for sub in ["new", "cur"] {
        for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            if MessageParser::default().parse(&raw).is_some() {
                agrees(&raw);
                seen += 1;
            }
        }
    }
    assert!(seen >= 40, "{seen} fixtures");
    agrees(&nested_messages(30));
    agrees(&nested_multiparts(30));
    agrees(&many_parts(50));
    // A digest's parts are messages; an unclosed multipart; a boundary that never comes.
    agrees(
        format!(
            "{HEAD}Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n\
             --d\nContent-Type: text/plain\n\nnot a message\n--d\n\nSubject: two\n\nx\n--d--\n"
        )
        .as_bytes(),
    );
    agrees(
        format!("{HEAD}Content-Type: multipart/mixed; boundary=u\n\n--u\n\na\n--u\n\nb\n")
            .as_bytes(),
    );
    agrees(format!("{HEAD}Content-Type: multipart/mixed; boundary=never\n\nno parts\n").as_bytes());
    agrees(
        format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\n\
             Subject: inner\nContent-Type: multipart/alternative; boundary=b\n\n--b\n\nt\n--b\n\
             Content-Type: text/html\n\n<p>h</p>\n--b--\n--a\n\nafter\n--a--\n"
        )
        .as_bytes(),
    );
}

#[test]
fn a_message_over_the_limits_keeps_its_headers_and_its_digest() {
    let raw = nested_messages(100_000);
    let facts = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || crate::parse::parse_within(&raw, &Limits::default()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(
        facts.over_limits.as_deref(),
        Some("MIME parts nested more than 100 levels deep (intake.max-mime-depth)")
    );
    assert_eq!(facts.subject, "s");
    assert_eq!(facts.from.unwrap().address, "a@example.org");
    assert!(facts.attachments.is_empty() && facts.body_preview.is_empty());

    // The digest is the one a full parse gives, so a copy seen again is a duplicate either way.
    let raw = nested_messages(150);
    let over = crate::parse::parse_within(&raw, &Limits::default());
    let wide = Limits {
        max_depth: 500,
        max_parts: 10_000,
    };
    let full = crate::parse::parse_within(&raw, &wide);
    assert!(over.over_limits.is_some() && full.over_limits.is_none());
    assert_eq!(over.digest, full.digest);
    assert_eq!(full.attachments.len(), 1);
}

/// The walk without the quick bound in front of it.
fn walked(raw: &[u8], limits: &Limits) -> Result<(), Over> {
    let mut parts = 0;
    walk(raw, limits, 0, ENCODED_LEVELS, &mut parts)
}

#[test]
fn nesting_in_any_letter_case_or_by_digest_is_walked() {
    let shouting = String::from_utf8(nested_messages(101))
        .unwrap()
        .replace("message/rfc822", "MeSsAgE/RFC822");
    assert!(!plainly_within(shouting.as_bytes(), &Limits::default()));
    assert_eq!(
        measure(shouting.as_bytes(), &Limits::default()),
        Err(Over::Depth(100))
    );
    // In a digest a part without a Content-Type is a message: its header block says "digest".
    let digest = format!(
        "{HEAD}Content-Type: Multipart/DIGEST; boundary=x\n\n--x\n\nSubject: in\n\nbody\n--x--\n"
    );
    assert!(!plainly_within(digest.as_bytes(), &Limits::default()));
    let plain = many_parts(3);
    assert!(plainly_within(&plain, &Limits::default()));
    assert!(!plainly_within(
        &plain,
        &Limits {
            max_depth: 100,
            max_parts: 3
        }
    ));
}

/// Over every corpus mail and a range of limits: wherever the quick bound says "within", the
/// walk agrees, so the bound never lets a message past a limit the walk would catch.
#[test]
fn the_quick_bound_never_contradicts_the_walk_over_the_corpus() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut files = vec![root];
    let (mut mails, mut skipped, mut spared_at_default) = (0, 0, 0);
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let raw = std::fs::read(&p).unwrap();
        mails += 1;
        if plainly_within(&raw, &Limits::default()) {
            spared_at_default += 1;
        }
        for max in [1, 2, 3, 5, 10, 100] {
            for limits in [
                Limits {
                    max_depth: max,
                    max_parts: 10_000,
                },
                Limits {
                    max_depth: 100,
                    max_parts: max,
                },
            ] {
                if plainly_within(&raw, &limits) {
                    skipped += 1;
                    assert_eq!(walked(&raw, &limits), Ok(()), "{} {limits:?}", p.display());
                }
            }
        }
    }
    assert!(mails > 1000, "{mails} corpus mails");
    // The bound must be worth having: most mail is spared the walk at the default limits.
    assert!(skipped > 100, "the bound spared the walk {skipped} times");
    assert!(
        spared_at_default * 2 > mails,
        "{spared_at_default} of {mails} spared at the default limits"
    );
}
