//! The file name an attachment is sent under. Agents' mail clients pass on whatever name a
//! customer's file had, and a receiving client may save under it: no directory part (`../`,
//! `/abs`, `C:\`), no name that is only dots, nothing that reorders or hides characters on
//! screen (U+202E before `txt.exe` makes the name read as if it ended in `.txt`), no control
//! characters, no leading dots (hidden files) or trailing dots and spaces (dropped by some
//! systems), and a length every file system takes. What is left of nothing is `attachment`.

/// Names longer than this (in characters) are cut, keeping the extension when it is short.
const MAX_CHARS: usize = 120;

/// Characters that change how the text around them is shown: the bidirectional controls,
/// zero-width characters and the byte order mark.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The name to send for `name` (an attachment's name as the agent's mail client gave it).
pub fn attachment_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !invisible(*c))
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    // The last part of a path, on any system's separator.
    let last = cleaned
        .rsplit(['/', '\\'])
        .map(str::trim)
        .find(|p| !p.is_empty())
        .unwrap_or("");
    let trimmed = last
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let short = shorten(trimmed);
    if short.is_empty() {
        "attachment".to_string()
    } else {
        short
    }
}

/// At most `MAX_CHARS` characters; an extension of up to 10 characters survives the cut.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_CHARS {
        return name.to_string();
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.chars().count() <= 10)
        .unwrap_or("");
    let keep = if ext.is_empty() {
        MAX_CHARS
    } else {
        MAX_CHARS - ext.chars().count() - 1
    };
    let stem: String = name.chars().take(keep).collect();
    let stem = stem.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if ext.is_empty() {
        stem.to_string()
    } else {
        format!("{stem}.{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::attachment_name;

    #[test]
    fn paths_and_tricks_are_taken_out() {
        for (given, sent) in [
            ("../../etc/passwd", "passwd"),
            ("/abs/path.txt", "path.txt"),
            ("C:\\Users\\x\\report.pdf", "report.pdf"),
            ("..\\..\\boot.ini", "boot.ini"),
            ("dir/", "dir"),
            ("..", "attachment"),
            ("/", "attachment"),
            ("", "attachment"),
            ("  ", "attachment"),
            ("\u{202E}", "attachment"),
            ("evil\u{202E}txt.exe", "eviltxt.exe"),
            ("a\u{200B}b\u{2066}c\u{2069}.pdf", "abc.pdf"),
            (".bashrc", "bashrc"),
            ("name. . ", "name"),
            ("a\r\nBcc: x.pdf", "a  Bcc: x.pdf"),
            ("Rechnung März.pdf", "Rechnung März.pdf"),
        ] {
            assert_eq!(attachment_name(given), sent, "{given:?}");
        }
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "x".repeat(500));
        let sent = attachment_name(&long);
        assert_eq!(sent.chars().count(), 120);
        assert!(sent.ends_with("x.pdf"), "{sent}");
        let no_ext = "ä".repeat(300);
        assert_eq!(attachment_name(&no_ext).chars().count(), 120);
    }
}
