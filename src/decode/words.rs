//! RFC 2047 encoded words, read the way Thunderbird reads them.
//!
//! Adjacent encoded words (only white space between them) are one run: the white space is
//! dropped, as RFC 2047 section 6.2 says, and when they share a charset their bytes are joined
//! before the charset is applied. RFC 2047 forbids splitting a character between two words, but
//! mailers do it with UTF-8, Shift_JIS and GB2312 alike, and decoding each word alone turns the
//! split character into U+FFFD. A word is `=?charset?B|Q?data?=` wherever it stands, as
//! Thunderbird finds them; data of B words is read leniently (stray characters and missing
//! padding are ignored).

use super::charset::{self, Fallback};

/// A stretch of header bytes: literal bytes, or the decoded bytes of adjacent same-charset words.
enum Piece<'a> {
    Text(&'a [u8]),
    Words {
        charset: &'a str,
        bytes: Vec<u8>,
        /// Where each word's bytes end in `bytes`.
        ends: Vec<usize>,
        raw: &'a [u8],
    },
}

/// `raw` with its encoded words decoded and the rest read through `fallback`.
pub fn decode(raw: &[u8], fallback: &mut Fallback<'_>) -> String {
    let mut out = String::with_capacity(raw.len());
    for piece in pieces(raw) {
        match piece {
            Piece::Text(t) => out.push_str(&fallback.text(t)),
            Piece::Words {
                charset,
                bytes,
                ends,
                ..
            } => out.push_str(&run_text(charset, &bytes, &ends)),
        }
    }
    out
}

/// `raw` as UTF-8, with each run of two or more adjacent same-charset words replaced by one
/// UTF-8 B word of their joined text, for a parser that decodes words one at a time (addresses:
/// a decoded comma or angle bracket must not change the structure).
pub fn merge(raw: &[u8], fallback: &mut Fallback<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for piece in pieces(raw) {
        match piece {
            Piece::Text(t) => out.extend_from_slice(fallback.text(t).as_bytes()),
            Piece::Words { raw, ends, .. } if ends.len() == 1 => out.extend_from_slice(raw),
            Piece::Words {
                charset,
                bytes,
                ends,
                ..
            } => {
                out.extend_from_slice(b"=?UTF-8?B?");
                out.extend(base64(run_text(charset, &bytes, &ends).as_bytes()).bytes());
                out.extend_from_slice(b"?=");
            }
        }
    }
    out
}

/// Whether `text` has two or more encoded words (only then can joining change anything).
pub fn has_several(text: &[u8]) -> bool {
    text.windows(2).filter(|w| w == b"=?").nth(1).is_some()
}

/// The text of a run: its joined bytes read at once, unless reading each word alone loses less
/// (stateful ISO-2022-JP words each return to ASCII, and two escapes in a row read as an error).
fn run_text(label: &str, bytes: &[u8], ends: &[usize]) -> String {
    let read = |b: &[u8]| {
        charset::decode(label, b).unwrap_or_else(|| String::from_utf8_lossy(b).into_owned())
    };
    let joined = read(bytes);
    if ends.len() < 2 || !joined.contains('\u{FFFD}') {
        return joined;
    }
    let mut start = 0;
    let mut alone = String::new();
    for &end in ends {
        alone.push_str(&read(&bytes[start..end]));
        start = end;
    }
    let losses = |t: &str| t.matches('\u{FFFD}').count();
    if losses(&alone) < losses(&joined) {
        alone
    } else {
        joined
    }
}

fn pieces(text: &[u8]) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece<'_>> = Vec::new();
    let mut pos = 0;
    let mut search = 0;
    while let Some(found) = find(&text[search..], b"=?") {
        let start = search + found;
        let Some((end, label, bytes)) = word(text, start) else {
            search = start + 2;
            continue;
        };
        let gap = &text[pos..start];
        let joins = gap.iter().all(|&b| b == b' ' || b == b'\t');
        match out.last_mut() {
            Some(Piece::Words {
                charset,
                bytes: run,
                ends,
                raw,
            }) if joins && charset.eq_ignore_ascii_case(label) => {
                run.extend_from_slice(&bytes);
                ends.push(run.len());
                let run_start = raw.as_ptr() as usize - text.as_ptr() as usize;
                *raw = &text[run_start..end];
            }
            last => {
                let after_words = matches!(last, Some(Piece::Words { .. }));
                if !(gap.is_empty() || (joins && after_words)) {
                    out.push(Piece::Text(gap));
                }
                out.push(Piece::Words {
                    charset: label,
                    ends: vec![bytes.len()],
                    bytes,
                    raw: &text[start..end],
                });
            }
        }
        pos = end;
        search = end;
    }
    if pos < text.len() {
        out.push(Piece::Text(&text[pos..]));
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The encoded word starting at `start`: its end, charset label and decoded bytes.
fn word(text: &[u8], start: usize) -> Option<(usize, &str, Vec<u8>)> {
    let rest = &text[start + 2..];
    let q1 = rest.iter().position(|&b| b == b'?')?;
    let label = std::str::from_utf8(&rest[..q1]).ok()?;
    if label.is_empty() || !label.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let after = &rest[q1 + 1..];
    let (&encoding, after) = after.split_first()?;
    let after = after.strip_prefix(b"?")?;
    let q2 = after.iter().position(|&b| b == b'?')?;
    if after.get(q2 + 1) != Some(&b'=') {
        return None;
    }
    let data = &after[..q2];
    let bytes = match encoding {
        b'B' | b'b' => unbase64(data),
        b'Q' | b'q' => unquote(data),
        _ => return None,
    };
    let end = start + 2 + q1 + 1 + 2 + q2 + 2;
    Some((end, label, bytes))
}

fn unquote(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < bytes.len() && hex_pair(bytes[i + 1], bytes[i + 2]).is_some() => {
                out.extend(hex_pair(bytes[i + 1], bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    Some(digit(high)? << 4 | digit(low)?)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Lenient base64: characters outside the alphabet are skipped, padding is optional.
fn unbase64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data.iter().take_while(|&&b| b != b'=') {
        let Some(v) = ALPHABET.iter().position(|&a| a == b) else {
            continue;
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| acc << 8 | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "abcd", "Привет"] {
            assert_eq!(unbase64(base64(s.as_bytes()).as_bytes()), s.as_bytes());
        }
    }

    #[test]
    fn merge_keeps_single_words_and_structure() {
        let mut fallback = Fallback::new(b"", Vec::new);
        let merged = merge(b"=?x?Q?a?= <a@b>", &mut fallback);
        assert_eq!(merged, b"=?x?Q?a?= <a@b>");
        let merged = merge(b"=?utf-8?Q?Doe,?= =?utf-8?Q?_J?= <a@b>", &mut fallback);
        assert_eq!(
            merged,
            format!("=?UTF-8?B?{}?= <a@b>", base64(b"Doe, J")).as_bytes()
        );
    }
}
