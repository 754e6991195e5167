//! A MIME part's file name from its raw Content-Disposition and Content-Type parameters.
//!
//! RFC 2231 splits a long or non-ASCII value into pieces (`filename*0*=utf-8''%C3`,
//! `filename*1*=%9F.txt`); the percent-decoded bytes of all pieces are joined in piece order
//! and only then read in the charset the first piece names, so a character split between
//! pieces, or an ISO-2022-JP name whose escape sequences span pieces, comes out whole. Plain
//! values may carry RFC 2047 words (not allowed there, written by many mailers, read by all
//! clients) or undeclared 8-bit bytes. Of `filename*`, `filename`, `name*` and `name`, the first
//! that decodes cleanly wins; when none does, the first that exists.

use std::collections::BTreeMap;

use super::charset::{self, Fallback};
use super::words;

/// The values of one parameter as written: plain, extended (`name*`), and numbered pieces.
#[derive(Default)]
struct Param {
    plain: Option<String>,
    extended: Option<String>,
    pieces: BTreeMap<u32, (bool, String)>,
}

/// The part's file name from the raw values of its Content-Disposition and Content-Type.
pub fn file_name(
    disposition: Option<&[u8]>,
    content_type: Option<&[u8]>,
    fallback: &mut Fallback<'_>,
) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    for (raw, key) in [(disposition, "filename"), (content_type, "name")] {
        let Some(raw) = raw else { continue };
        // Each byte is taken as one char so that the parameter syntax can be read as text and a
        // value's own bytes recovered exactly (`bytes`), 8-bit ones included.
        let text: String = raw.iter().map(|&b| char::from(b)).collect();
        let param = param(&text, key);
        if let Some(value) = extended(&param) {
            candidates.push(value);
        }
        if let Some(plain) = &param.plain {
            candidates.push(words::decode(&bytes(plain), fallback));
        }
    }
    let cleanly = |v: &&String| !v.trim().is_empty() && !v.contains('\u{FFFD}');
    let best = candidates.iter().find(cleanly);
    best.or_else(|| candidates.iter().find(|v| !v.trim().is_empty()))
        .cloned()
}

/// The extended value: pieces joined as bytes, then read in the first piece's charset.
fn extended(param: &Param) -> Option<String> {
    let (first_encoded, first) = match (&param.extended, param.pieces.get(&0)) {
        (Some(value), _) => (true, value.as_str()),
        (None, Some((encoded, value))) => (*encoded, value.as_str()),
        (None, None) => return None,
    };
    let (label, first_value) = match first.splitn(3, '\'').collect::<Vec<_>>()[..] {
        [label, _lang, value] if first_encoded => (label, value),
        _ => ("", first),
    };
    let mut bytes = piece_bytes(first_encoded, first_value);
    if param.extended.is_none() {
        // Pieces must count up from 0 without a gap; what follows a gap is not part of the value.
        for n in 1.. {
            let Some((encoded, value)) = param.pieces.get(&n) else {
                break;
            };
            bytes.extend(piece_bytes(*encoded, value));
        }
    }
    match charset::decode(label, &bytes) {
        Some(text) if !label.is_empty() => Some(text),
        _ => Some(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// A value's bytes back from its one-char-per-byte text.
fn bytes(value: &str) -> Vec<u8> {
    value.chars().map(|c| c as u32 as u8).collect()
}

fn piece_bytes(encoded: bool, value: &str) -> Vec<u8> {
    let bytes = bytes(value);
    if !encoded {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) if bytes[i] == b'%' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// Every value given for `key` in a header's parameter list (`; key=value; key*0*=...`).
fn param(text: &str, key: &str) -> Param {
    let mut param = Param::default();
    let mut rest = text.split_once(';').map_or("", |(_, r)| r);
    while let Some((name, value, after)) = next_pair(rest) {
        rest = after;
        let name = name.trim();
        let Some(suffix) = name
            .get(..key.len())
            .filter(|n| n.eq_ignore_ascii_case(key))
            .map(|_| &name[key.len()..])
        else {
            continue;
        };
        match suffix {
            "" => {
                param.plain.get_or_insert(value);
            }
            "*" => {
                param.extended.get_or_insert(value);
            }
            _ => {
                let piece = suffix.strip_prefix('*').unwrap_or("");
                let (number, encoded) = match piece.strip_suffix('*') {
                    Some(n) => (n, true),
                    None => (piece, false),
                };
                if let Ok(n) = number.parse::<u32>() {
                    param.pieces.entry(n).or_insert((encoded, value));
                }
            }
        }
    }
    param
}

/// The next `name=value` of a parameter list and what follows it; quoted values unescaped.
fn next_pair(text: &str) -> Option<(&str, String, &str)> {
    let text = text.trim_start_matches(|c: char| c == ';' || c.is_whitespace());
    let eq = text.find('=')?;
    let name = &text[..eq];
    if name.contains(';') {
        // A parameter without a value: skip it.
        return next_pair(&text[name.find(';')? + 1..]);
    }
    let value = text[eq + 1..].trim_start();
    if let Some(quoted) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => out.extend(chars.next().map(|(_, c)| c)),
                '"' => return Some((name, out, &quoted[i + 1..])),
                c => out.push(c),
            }
        }
        return Some((name, out, ""));
    }
    let end = value.find(';').unwrap_or(value.len());
    Some((name, value[..end].trim().to_string(), &value[end..]))
}
