//! The PDF base-14 font Helvetica with WinAnsi encoding: every PDF reader has it, so a report
//! embeds no font file. Text is encoded to WinAnsi (characters it lacks print as `?`) and
//! measured with the font's standard widths.

/// Widths of the printable ASCII characters (32–126), in thousandths of the font size.
const ASCII_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // :;<=>?@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A-M
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
    278, 278, 278, 469, 556, 333, // [\]^_`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a-m
    556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n-z
    334, 260, 334, 584, // {|}~
];

/// Ascent and descent below the baseline, in units of the font size.
pub const ASCENT: f32 = 0.718;
pub const DESCENT: f32 = 0.207;

/// The characters WinAnsi puts at 0x80–0x9F.
const HIGH: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8A),
    ('‹', 0x8B),
    ('Œ', 0x8C),
    ('Ž', 0x8E),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9A),
    ('›', 0x9B),
    ('œ', 0x9C),
    ('ž', 0x9E),
    ('Ÿ', 0x9F),
];

fn byte(c: char) -> u8 {
    match c as u32 {
        0x20..=0x7E | 0xA0..=0xFF => c as u8,
        _ => HIGH.iter().find(|(h, _)| *h == c).map_or(b'?', |(_, b)| *b),
    }
}

/// `text` in WinAnsi; control characters become spaces.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| if c.is_control() { b' ' } else { byte(c) })
        .collect()
}

/// The width of `text` set at `size`.
pub fn width(text: &str, size: f32) -> f32 {
    let units: u32 = encode(text)
        .iter()
        .map(|&b| match b {
            0x20..=0x7E => ASCII_WIDTHS[(b - 0x20) as usize] as u32,
            _ => 556,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `text` cut to fit `max` at `size`, with `…` where it was cut.
pub fn clip(text: &str, size: f32, max: f32) -> String {
    if width(text, size) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if width(&out, size) + width("…", size) > max {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winansi_and_widths() {
        assert_eq!(encode("Grüße €1\n"), b"Gr\xfc\xdfe \x801 ".to_vec());
        assert_eq!(encode("日本"), b"??".to_vec());
        assert!((width("Hi", 10.0) - 9.44).abs() < 0.01);
        let c = clip("a long subject line", 10.0, 40.0);
        assert!(c.ends_with('…') && width(&c, 10.0) <= 40.0, "{c}");
    }
}
