//! Subject lines: reply/forward prefixes and ticket tags.
//!
//! A subject is customer data: any Unicode, control characters, megabytes long. Everything here
//! works on `&str` slices at char boundaries, never indexes blindly, and does a bounded amount of
//! work per character (every look-ahead is capped), so it is linear in the subject's length.

use std::ops::Range;

/// Reply and forward prefixes, compared case-insensitively, each followed by an optional `[n]` or
/// `(n)` counter and a colon (`:` or the full-width `：`). Single letters (Italian `R:`/`I:`) are
/// left out on purpose: they are too likely to be the customer's own words.
#[rustfmt::skip]
const PREFIXES: &[&str] = &[
    "re", "fwd", "fw",              // English, and most clients in most languages
    "aw", "wg",                     // German: Antwort, Weitergeleitet
    "sv", "vs", "vb", "vl",         // Nordic: svar, vastaus/videresendt, vidarebefordrat, välitetty
    "tr",                           // French: transféré
    "rif",                          // Italian: riferimento
    "antw", "doorst",               // Dutch: antwoord, doorsturen
    "odp", "pd",                    // Polish: odpowiedź, przekazanie dalej
    "vá", "továbbítás",             // Hungarian: válasz, továbbítás
    "ynt", "ilt", "İlt",            // Turkish: yanıt, iletilen
    "rv", "enc", "res",             // Spanish reenviado, Portuguese encaminhado, resposta
    "απ", "σχετ", "πρθ",            // Greek: απάντηση, σχετικά, προώθηση
    "回复", "答复", "转发",          // Chinese (simplified)
    "回覆", "答覆", "轉寄", "轉發",  // Chinese (traditional)
    "返信", "転送",                  // Japanese
    "회신", "전달",                  // Korean
    "השב", "הועבר",                 // Hebrew
    "رد",                           // Arabic
];

/// At most this many whitespace characters are skipped inside a prefix or a tag.
const MAX_GAP: usize = 3;
/// A reply counter such as `Re[12]:` has at most this many digits.
const MAX_COUNTER: usize = 9;

/// Strips leading reply/forward prefixes (any case, repeated, with optional `[n]`/`(n)` counters)
/// and leading whitespace; returns the rest of `subject`.
pub fn strip_prefixes(subject: &str) -> &str {
    let mut rest = subject.trim_start();
    while let Some(after) = strip_one_prefix(rest) {
        rest = after.trim_start();
    }
    rest
}

fn strip_one_prefix(s: &str) -> Option<&str> {
    PREFIXES.iter().find_map(|word| {
        let mut rest = skip_gap(strip_ci(s, word)?);
        if let Some(after) = strip_counter(rest) {
            rest = skip_gap(after);
        }
        rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))
    })
}

/// `[n]` or `(n)` at the start of `s`: the rest after it.
fn strip_counter(s: &str) -> Option<&str> {
    let close = match s.as_bytes().first()? {
        b'[' => b']',
        b'(' => b')',
        _ => return None,
    };
    let digits = s[1..]
        .bytes()
        .take(MAX_COUNTER + 1)
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 || digits > MAX_COUNTER || s.as_bytes().get(1 + digits) != Some(&close) {
        return None;
    }
    Some(&s[digits + 2..])
}

/// Skips at most [`MAX_GAP`] whitespace characters.
fn skip_gap(s: &str) -> &str {
    let mut it = s.char_indices();
    for _ in 0..MAX_GAP {
        match it.next() {
            Some((_, c)) if c.is_whitespace() => {}
            Some((i, _)) => return &s[i..],
            None => return "",
        }
    }
    &s[it.offset()..]
}

fn ci_eq(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// If `s` starts with `word` (case-insensitively, char by char): the rest.
fn strip_ci<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let mut it = s.char_indices();
    for w in word.chars() {
        let (_, c) = it.next()?;
        if !ci_eq(c, w) {
            return None;
        }
    }
    Some(&s[it.offset()..])
}

/// A hook followed by a run of digits, e.g. `Ticket# 2016010110000019`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hit {
    /// Byte offset where the hook starts.
    pub start: usize,
    /// Byte range of the digits.
    pub digits: Range<usize>,
}

/// Every `hook` + digits in `subject`, left to right, not overlapping. The hook matches
/// case-insensitively, with up to [`MAX_GAP`] spaces before each of its punctuation characters
/// ("Ticket #"), then optional spaces, an optional `:` and optional spaces ("Ticket#: N").
/// A hook that starts with a letter or digit must not continue a word ("MyTicket#1" is no hit),
/// the digit run must not be followed by a letter, digit or `_`, and runs longer than `max_digits`
/// are no hit (they are taken whole, never as a number inside a longer run).
pub(super) fn hits(hook: &str, subject: &str, max_digits: usize) -> Vec<Hit> {
    let first_is_word = hook.chars().next().is_none_or(char::is_alphanumeric);
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    let mut i = 0;
    while let Some(c) = subject[i..].chars().next() {
        let boundary =
            !first_is_word || !prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '_');
        if boundary {
            if let Some(digits) = hook_at(hook, &subject[i..], max_digits) {
                let hit = Hit {
                    start: i,
                    digits: i + digits.start..i + digits.end,
                };
                i = hit.digits.end;
                prev = Some('0');
                out.push(hit);
                continue;
            }
        }
        prev = Some(c);
        i += c.len_utf8();
    }
    out
}

/// Matches `hook` + digits at the start of `s`: the byte range of the digits in `s`.
fn hook_at(hook: &str, s: &str, max_digits: usize) -> Option<Range<usize>> {
    let mut rest = s;
    for h in hook.chars() {
        if h.is_whitespace() {
            rest = skip_gap(rest);
            continue;
        }
        if !h.is_alphanumeric() {
            rest = skip_gap(rest);
        }
        let c = rest.chars().next()?;
        if !ci_eq(c, h) {
            return None;
        }
        rest = &rest[c.len_utf8()..];
    }
    rest = skip_gap(rest);
    if let Some(after) = rest.strip_prefix(':') {
        rest = skip_gap(after);
    }
    let start = s.len() - rest.len();
    let n = rest
        .bytes()
        .take(max_digits + 1)
        .take_while(u8::is_ascii_digit)
        .count();
    if n == 0 || n > max_digits {
        return None;
    }
    let next = rest[n..].chars().next();
    if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some(start..start + n)
}

/// The subject with every bracketed tag of `number` ("[Ticket#N]", "[ ticket# N ]"…) removed,
/// control characters and whitespace runs turned into single spaces, trimmed.
pub(super) fn remove_tags(hook: &str, subject: &str, number: &str, max_digits: usize) -> String {
    let mut kept = String::with_capacity(subject.len());
    let mut last = 0;
    for hit in hits(hook, subject, max_digits) {
        if subject[hit.digits.clone()] != *number {
            continue;
        }
        let Some(open) = open_bracket(&subject[..hit.start]).filter(|&o| o >= last) else {
            continue;
        };
        let Some(after) = skip_gap(&subject[hit.digits.end..]).strip_prefix(']') else {
            continue;
        };
        kept.push_str(&subject[last..open]);
        kept.push(' ');
        last = subject.len() - after.len();
    }
    kept.push_str(&subject[last..]);
    normalize(&kept)
}

/// The byte offset of a `[` that ends `before`, give or take [`MAX_GAP`] whitespace characters.
fn open_bracket(before: &str) -> Option<usize> {
    let mut it = before.char_indices().rev();
    for _ in 0..=MAX_GAP {
        match it.next()? {
            (i, '[') => return Some(i),
            (_, c) if c.is_whitespace() => {}
            _ => return None,
        }
    }
    None
}

/// Control characters and runs of whitespace become one space; trimmed. A subject so cleaned
/// cannot break a header line (no CR/LF) whatever the customer sent.
pub(super) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}
