//! How a trace value is written so that it reads back exactly: control characters and `%` as
//! `%XX` (so no value can break a line or hide a NUL), and long values folded over continuation
//! lines that start with one space (so no line grows past what mail software handles).
//! Whitespace is kept as it is: the reader takes everything after `": "`.

/// Value bytes per line; a header line stays under the 998 bytes RFC 5322 allows.
const FOLD: usize = 900;

/// Appends `name: value` (encoded, folded) and the line ending.
pub(super) fn write_field(out: &mut Vec<u8>, name: &str, value: &str, eol: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    let encoded = encode(value);
    let mut line = 0;
    for c in encoded.chars() {
        if line + c.len_utf8() > FOLD {
            out.extend_from_slice(eol);
            out.push(b' ');
            line = 0;
        }
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        line += c.len_utf8();
    }
    out.extend_from_slice(eol);
}

/// The fields of a block's field lines (exactly the bytes `write_field` produced).
pub(super) fn read_fields(block: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    for line in block.split_inclusive(|&b| b == b'\n') {
        let line = strip_eol(line);
        if let Some(rest) = line.strip_prefix(b" ") {
            if let Some((_, v)) = fields.last_mut() {
                v.extend_from_slice(rest);
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        fields.push((name, value.to_vec()));
    }
    fields.into_iter().map(|(n, v)| (n, decode(&v))).collect()
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '%' || c.is_control() {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn decode(v: &[u8]) -> String {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%' && i + 2 < v.len() {
            if let (Some(h), Some(l)) = (hex(v[i + 1]), hex(v[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(v[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &str, eol: &[u8]) -> String {
        let mut out = Vec::new();
        write_field(&mut out, "X-Postdesk-Answer-To", value, eol);
        assert!(out.split(|&b| b == b'\n').all(|l| l.len() <= FOLD + 30));
        let fields = read_fields(&out);
        assert_eq!(fields.len(), 1);
        fields[0].1.clone()
    }

    #[test]
    fn any_value_reads_back_exactly() {
        let long = format!("{}@example.org", "a".repeat(5000));
        let nuls = format!("x{}y@example.org", "\0".repeat(3000));
        let mixed = " 100% Grüße\r\nBcc: x@y\t\u{85}ä ".repeat(200);
        for v in [&long, &nuls, &mixed, "", "%41", "%", "ab%"] {
            assert_eq!(round_trip(v, b"\r\n"), *v);
            assert_eq!(round_trip(v, b"\n"), *v);
        }
    }
}
