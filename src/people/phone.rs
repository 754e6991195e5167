//! Phone and fax numbers as people write them, brought to one form (E.164, `+4954112340`) so
//! that `0541 1234-0`, `(0541) 12340` and `+49 541 12340` name the same line.
//!
//! Numbers written without a country are completed with the site's country code; numbers
//! written without an area code (no trunk prefix `0`) with its area code as well. `00` opens an
//! international number, `+49 (0)541` drops the bracketed trunk prefix. Pure: no I/O.

use serde::Deserialize;

/// The site's numbering: what a number written nationally or locally is completed with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Numbering {
    /// Country calling code without `+` (`49`).
    pub country_code: String,
    /// Area code without the trunk prefix (`541`); empty: local numbers are refused.
    pub area_code: String,
}

impl Default for Numbering {
    fn default() -> Self {
        Numbering {
            country_code: "49".into(),
            area_code: String::new(),
        }
    }
}

/// E.164 allows at most 15 digits; fewer than 6 is no reachable line.
const MAX_DIGITS: usize = 15;
const MIN_DIGITS: usize = 6;

impl Numbering {
    pub fn validate(&self) -> Result<(), String> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(&self.country_code) || self.country_code.len() > 3 {
            return Err(format!(
                "country-code {:?}: one to three digits, without +",
                self.country_code
            ));
        }
        if self.country_code.starts_with('0') {
            return Err(format!(
                "country-code {:?} cannot start with 0",
                self.country_code
            ));
        }
        if !self.area_code.is_empty()
            && (!digits(&self.area_code) || self.area_code.starts_with('0'))
        {
            return Err(format!(
                "area-code {:?}: digits without the leading 0",
                self.area_code
            ));
        }
        Ok(())
    }

    /// The E.164 form of a written number, or why it is none.
    pub fn normalise(&self, written: &str) -> Result<String, String> {
        let text = written.trim();
        // `+49 (0)541 …`: the bracketed trunk prefix is not dialled from abroad.
        let text = text.replacen("(0)", "", 1);
        let mut digits = String::with_capacity(text.len());
        let mut plus = false;
        for (i, c) in text.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '/' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(format!("{written:?} is not a phone number ({c:?})")),
            }
        }
        if digits.is_empty() {
            return Err(format!("{written:?} is not a phone number (no digits)"));
        }
        let full = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_string()
        } else if let Some(rest) = digits.strip_prefix('0') {
            format!("{}{rest}", self.country_code)
        } else if self.area_code.is_empty() {
            return Err(format!(
                "{written:?} has no area code and [directory] area-code is not set"
            ));
        } else {
            format!("{}{}{digits}", self.country_code, self.area_code)
        };
        if full.starts_with('0') {
            return Err(format!(
                "{written:?} is not a phone number (country code 0)"
            ));
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&full.len()) {
            return Err(format!(
                "{written:?} is not a phone number ({} digits; E.164 allows {MIN_DIGITS} to {MAX_DIGITS})",
                full.len()
            ));
        }
        Ok(format!("+{full}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn osnabrueck() -> Numbering {
        Numbering {
            country_code: "49".into(),
            area_code: "541".into(),
        }
    }

    #[test]
    fn every_written_form_of_one_line_is_the_same_number() {
        let n = osnabrueck();
        for w in [
            "0541 1234-0",
            "(0541) 12340",
            "+49 541 12340",
            "+49 (0)541 12340",
            "0049 541 12340",
            "0541/12340",
            "0541.1234.0",
            "1234-0",
            " 12340 ",
            "+49\u{a0}541\u{a0}12340",
        ] {
            assert_eq!(n.normalise(w).as_deref(), Ok("+4954112340"), "{w}");
        }
    }

    #[test]
    fn foreign_and_national_numbers_keep_their_own_codes() {
        let n = osnabrueck();
        assert_eq!(n.normalise("+43 1 5134567").unwrap(), "+4315134567");
        assert_eq!(n.normalise("0043 1 5134567").unwrap(), "+4315134567");
        assert_eq!(n.normalise("030 1234567").unwrap(), "+49301234567");
        assert_eq!(n.normalise("0800 123456").unwrap(), "+49800123456");
    }

    #[test]
    fn what_is_no_number_is_named() {
        let n = osnabrueck();
        for (w, why) in [
            ("", "no digits"),
            ("-", "no digits"),
            ("0541 12a40", "'a'"),
            ("0541+12340", "'+'"),
            ("+0 541 12340", "country code 0"),
            ("000 541", "country code 0"),
            ("+1234567890123456", "16 digits"),
            ("+4912", "4 digits"),
            ("ext. 12", "'e'"),
        ] {
            let e = n.normalise(w).unwrap_err();
            assert!(e.contains(why), "{w:?}: {e}");
        }
    }

    #[test]
    fn a_local_number_needs_an_area_code() {
        let n = Numbering {
            area_code: String::new(),
            ..osnabrueck()
        };
        assert!(n.normalise("12340").unwrap_err().contains("area-code"));
        assert_eq!(n.normalise("0541 12340").unwrap(), "+4954112340");
    }

    #[test]
    fn the_numbering_itself_is_checked() {
        assert!(osnabrueck().validate().is_ok());
        for (cc, ac) in [
            ("", "541"),
            ("+49", "541"),
            ("049", ""),
            ("1234", ""),
            ("49", "0541"),
            ("49", "54x"),
        ] {
            let n = Numbering {
                country_code: cc.into(),
                area_code: ac.into(),
            };
            assert!(n.validate().is_err(), "{cc:?} {ac:?}");
        }
    }
}
