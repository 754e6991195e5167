//! Bytes in a named charset to text, and the charset to read undeclared 8-bit header bytes in.
//!
//! Labels go through encoding_rs (the WHATWG table Thunderbird and Firefox use: `iso-8859-1`
//! reads as windows-1252, `gb2312` as GBK, `ks_c_5601-1987` as EUC-KR); labels it does not know
//! (UTF-7, a few IBM code pages) through mail-parser's own table.
//!
//! Header bytes that are not UTF-8 and come with no charset are read, as Thunderbird reads them,
//! in the first charset that fits: UTF-8; the charset the message's own parts declare (a mailer
//! writes its headers in the charset it writes its body in); what chardetng guesses from the
//! header block; windows-1252 as the last resort. The guess costs a pass over the header block,
//! so it is made once per message and only when such a header exists.
//!
//! ISO-2022-JP is 7-bit: a header written in it raw (no encoded words, as some Japanese mailers
//! do) is valid ASCII with escape sequences. Text that switches to JIS X 0208 (`ESC $ B` or
//! `ESC $ @`) and reads as ISO-2022-JP without errors is read so.

use encoding_rs::{Encoding, ISO_2022_JP, UTF_8, WINDOWS_1252};
use mail_parser::decoders::charsets::map::charset_decoder;

/// `bytes` read in the charset `label` (an RFC 2231 language suffix `*lang` is ignored);
/// `None` when nobody knows the label.
pub fn decode(label: &str, bytes: &[u8]) -> Option<String> {
    let label = label.split('*').next().unwrap_or(label).trim();
    if let Some(encoding) = Encoding::for_label_no_replacement(label.as_bytes()) {
        return Some(read(encoding, bytes));
    }
    charset_decoder(label.as_bytes()).map(|decoder| decoder(bytes))
}

fn read(encoding: &'static Encoding, bytes: &[u8]) -> String {
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

/// The charset for this message's undeclared 8-bit header bytes, chosen on first use.
pub struct Fallback<'a> {
    header_block: &'a [u8],
    declared: Box<dyn Fn() -> Vec<String> + 'a>,
    chosen: Option<&'static Encoding>,
}

impl<'a> Fallback<'a> {
    /// `declared` lists the charsets the message's parts name, in part order; it is called only
    /// when a header needs a fallback.
    pub fn new(header_block: &'a [u8], declared: impl Fn() -> Vec<String> + 'a) -> Fallback<'a> {
        Fallback {
            header_block,
            declared: Box::new(declared),
            chosen: None,
        }
    }

    /// `bytes` as text: UTF-8 when they are, else in the message's fallback charset.
    pub fn text(&mut self, bytes: &[u8]) -> String {
        if let Some(text) = iso_2022_jp(bytes) {
            return text;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) if mostly_utf8(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Err(_) => read(self.encoding(bytes), bytes),
        }
    }

    fn encoding(&mut self, sample: &[u8]) -> &'static Encoding {
        if let Some(chosen) = self.chosen {
            return chosen;
        }
        let chosen = self.choose(sample);
        self.chosen = Some(chosen);
        chosen
    }

    fn choose(&self, sample: &[u8]) -> &'static Encoding {
        let declared = (self.declared)();
        let declared = declared
            .iter()
            // WHATWG reads `us-ascii` as windows-1252; a part declaring ASCII says nothing.
            .filter(|label| !label.trim().eq_ignore_ascii_case("us-ascii"))
            .filter_map(|label| Encoding::for_label_no_replacement(label.trim().as_bytes()))
            .filter(|e| *e != UTF_8 && e.is_ascii_compatible())
            .find(|e| {
                e.decode_without_bom_handling_and_without_replacement(sample)
                    .is_some()
            });
        if let Some(encoding) = declared {
            return encoding;
        }
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(self.header_block, true);
        match detector.guess(None, false) {
            e if e.is_ascii_compatible() && e != UTF_8 => e,
            _ => WINDOWS_1252,
        }
    }
}

/// Whether undeclared text switches to JIS X 0208 as ISO-2022-JP does (`ESC $ B`, `ESC $ @`).
pub fn looks_iso_2022_jp(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == b"\x1b$B" || w == b"\x1b$@")
}

/// `bytes` read as ISO-2022-JP when they look like it and decode without errors.
fn iso_2022_jp(bytes: &[u8]) -> Option<String> {
    if !looks_iso_2022_jp(bytes) {
        return None;
    }
    ISO_2022_JP
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
}

/// UTF-8 with a few broken sequences (a name cut in the middle of a character): legacy 8-bit
/// text seldom forms valid multi-byte UTF-8 sequences, so four good ones per bad one say UTF-8.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut good, mut bad) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        good += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        bad += usize::from(!chunk.invalid().is_empty());
    }
    good >= 4 * bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_whatwg_table() {
        assert_eq!(decode("iso-8859-1", b"\x80").unwrap(), "\u{20ac}");
        assert_eq!(decode("GB2312", b"\xc4\xe3\xba\xc3").unwrap(), "你好");
        assert_eq!(decode("utf-8*en", b"ok").unwrap(), "ok");
        assert!(decode("no-such-charset", b"x").is_none());
    }

    #[test]
    fn ascii_and_utf8_declarations_leave_it_to_the_detector() {
        let koi8 = b"\xf0\xd2\xc9\xd7\xc5\xd4, \xcb\xc1\xcb \xc4\xc5\xcc\xc1? \xfa\xc1\xd0\xd2\xcf\xd3 \xd0\xcf \xd3\xde\xc5\xd4\xd5";
        let block = [b"Subject: ".as_slice(), koi8, b"\n"].concat();
        let mut fallback = Fallback::new(&block, || vec!["us-ascii".into(), "utf-8".into()]);
        assert_eq!(fallback.text(koi8), "Привет, как дела? Запрос по счету");
    }

    #[test]
    fn a_declared_charset_comes_before_the_detector() {
        let mut fallback = Fallback::new(b"", || vec!["koi8-r".into()]);
        assert_eq!(fallback.text(b"\xf0\xd2\xc9"), "При");
    }

    #[test]
    fn raw_iso_2022_jp_is_read_as_such() {
        let mut fallback = Fallback::new(b"", Vec::new);
        // 日本語 between ESC $ B and ESC ( B.
        assert_eq!(fallback.text(b"a \x1b$BF|K\\8l\x1b(B b"), "a 日本語 b");
        // An escape that is not ISO-2022-JP's stays as it was.
        assert_eq!(fallback.text(b"a \x1b[1m b"), "a \x1b[1m b");
        // Broken ISO-2022-JP (an odd byte in two-byte mode) is not read as it.
        assert!(!fallback.text(b"\x1b$BF\x1b(B").contains('日'));
    }

    #[test]
    fn utf8_cut_in_a_character_stays_utf8() {
        let mut fallback = Fallback::new(b"", || vec!["koi8-r".into()]);
        let cut = "Картинка".as_bytes();
        let text = fallback.text(&cut[..cut.len() - 1]);
        assert_eq!(text, "Картинк\u{FFFD}");
    }
}
