//! Values written as PostgreSQL literals, for the deferred statements that go to the server as
//! one text (`EXECUTE name(literal, …)` in a simple query): one message and one answer for a
//! flight, where the extended protocol costs a synchronisation and a send of the server's each.
//!
//! Every value is a quoted literal of unknown type, which the server reads with the input
//! function of the prepared statement's parameter type, as it reads a parameter sent as text.
//! Text goes in an escape string (`E'…'`) with its backslashes and quotes doubled, so what the
//! server reads back is exactly the value whatever `standard_conforming_strings` says; the
//! connection's encoding is UTF-8, in which no byte of a multi-byte character is a quote or a
//! backslash. A value the server could not take as a literal (text with a NUL character) has no
//! literal: its statement goes the ordinary way, where the server refuses it.

use std::fmt::Write;

use super::values::Owned;

/// `value` as a literal appended to `out`; false (and `out` unchanged) if it has none.
pub fn push(out: &mut String, value: &Owned) -> bool {
    match value {
        Owned::Null => out.push_str("NULL"),
        Owned::Int(v) => {
            let _ = write!(out, "'{v}'");
        }
        Owned::Real(v) if v.is_nan() => out.push_str("'NaN'"),
        Owned::Real(v) if v.is_infinite() && *v > 0.0 => out.push_str("'Infinity'"),
        Owned::Real(v) if v.is_infinite() => out.push_str("'-Infinity'"),
        // Rust's shortest form reads back as the same double.
        Owned::Real(v) => {
            let _ = write!(out, "'{v:?}'");
        }
        Owned::Text(s) => {
            if s.contains('\0') {
                return false;
            }
            out.reserve(s.len() + 4);
            out.push_str("E'");
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("''"),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
        Owned::Blob(b) => {
            out.reserve(b.len() * 2 + 8);
            out.push_str("E'\\\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
            out.push('\'');
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: Owned) -> Option<String> {
        let mut s = String::new();
        push(&mut s, &v).then_some(s)
    }

    #[test]
    fn values_become_quoted_literals() {
        assert_eq!(lit(Owned::Null).unwrap(), "NULL");
        assert_eq!(lit(Owned::Int(-42)).unwrap(), "'-42'");
        assert_eq!(lit(Owned::Real(0.1)).unwrap(), "'0.1'");
        assert_eq!(lit(Owned::Real(f64::NAN)).unwrap(), "'NaN'");
        assert_eq!(lit(Owned::Real(f64::NEG_INFINITY)).unwrap(), "'-Infinity'");
        assert_eq!(lit(Owned::Blob(vec![0, 0xff])).unwrap(), "E'\\\\x00ff'");
    }

    /// Quotes and backslashes are doubled inside an escape string, so no text ends it early.
    #[test]
    fn text_cannot_leave_its_literal() {
        assert_eq!(
            lit(Owned::Text("it's a \\'); DROP TABLE t; --".into())).unwrap(),
            "E'it''s a \\\\''); DROP TABLE t; --'"
        );
        assert_eq!(lit(Owned::Text("Grüße 🙂".into())).unwrap(), "E'Grüße 🙂'");
        assert_eq!(lit(Owned::Text("a\0b".into())), None);
    }
}
