//! Which language to answer in: the customer's Content-Language, then their Accept-Language,
//! then the queue's default, then English, then whatever exists.
//!
//! Matching is by primary subtag only (RFC 4647 basic filtering reduced to what the template
//! folders can express): `de-AT` picks the `de` folder. Both headers are customer text, so the
//! parser never fails: anything it cannot read is skipped.

/// Headers longer than this many entries are read only this far.
const MAX_ENTRIES: usize = 32;

/// The language folder to render from. `available` are the folder names (`Templates::languages`).
pub fn choose_language(
    content_language: Option<&str>,
    accept_language: Option<&str>,
    available: &[String],
    queue_default: &str,
) -> String {
    let find = |primary: &str| {
        available
            .iter()
            .find(|a| a.eq_ignore_ascii_case(primary))
            .cloned()
    };
    if let Some(header) = content_language {
        for tag in header.split(',').take(MAX_ENTRIES) {
            if let Some(found) = primary_subtag(tag).and_then(find) {
                return found;
            }
        }
    }
    if let Some(header) = accept_language {
        for (primary, _) in accept_list(header) {
            if let Some(found) = find(primary) {
                return found;
            }
        }
    }
    if let Some(found) = find(queue_default.trim()) {
        return found;
    }
    if let Some(found) = find("en") {
        return found;
    }
    let mut sorted: Vec<&String> = available.iter().collect();
    sorted.sort();
    match sorted.first() {
        Some(first) => (*first).clone(),
        None if !queue_default.trim().is_empty() => queue_default.trim().to_ascii_lowercase(),
        None => "en".into(),
    }
}

/// Accept-Language entries as (primary subtag, q), best first; equal q keep header order.
/// `*`, q=0 and malformed entries are dropped.
fn accept_list(header: &str) -> Vec<(&str, u16)> {
    let mut out = Vec::new();
    for entry in header.split(',').take(MAX_ENTRIES) {
        let mut parts = entry.split(';');
        let Some(primary) = parts.next().and_then(primary_subtag) else {
            continue;
        };
        let mut q = Some(1000);
        for param in parts {
            let Some((k, v)) = param.split_once('=') else {
                q = None;
                break;
            };
            if k.trim().eq_ignore_ascii_case("q") {
                q = parse_q(v.trim());
            }
        }
        match q {
            Some(q) if q > 0 => out.push((primary, q)),
            _ => {}
        }
    }
    // A stable sort keeps the header's order among equal weights.
    out.sort_by_key(|e| std::cmp::Reverse(e.1));
    out
}

/// The primary subtag of a language tag (`de` of ` de-DE `), if the tag is well formed.
/// `*` and private-use or grandfathered `x-`/`i-` tags give none.
fn primary_subtag(tag: &str) -> Option<&str> {
    let tag = tag.trim();
    let primary = tag.split('-').next()?;
    let well_formed = tag.split('-').all(|sub| {
        !sub.is_empty() && sub.len() <= 8 && sub.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    let letters = primary.len() >= 2
        && primary.len() <= 8
        && primary.bytes().all(|b| b.is_ascii_alphabetic());
    (well_formed && letters).then_some(primary)
}

/// RFC 7231 qvalue: `0`, `0.5`, `1`, `1.000`; as thousandths. Anything else is malformed.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn content_language_wins_over_accept_language() {
        let av = langs(&["de", "en", "fr"]);
        assert_eq!(choose_language(Some("fr"), Some("de, en"), &av, "en"), "fr");
        // The first listed language that exists, case-insensitively, by primary subtag.
        assert_eq!(choose_language(Some("nl, DE-at"), None, &av, "en"), "de");
    }

    #[test]
    fn accept_language_highest_q_wins() {
        let av = langs(&["de", "en"]);
        assert_eq!(
            choose_language(None, Some("de-DE;q=0.8, en;q=0.5"), &av, "fr"),
            "de"
        );
        assert_eq!(
            choose_language(None, Some("en;q=0.5, de-DE;q=0.8"), &av, "fr"),
            "de"
        );
        assert_eq!(choose_language(None, Some("de;q=0.3, en"), &av, "de"), "en");
        // Equal weights keep the header's order.
        assert_eq!(
            choose_language(None, Some("en;q=0.7, de;q=0.7"), &av, "de"),
            "en"
        );
        // Unavailable languages are skipped.
        assert_eq!(choose_language(None, Some("ja, de;q=0.1"), &av, "en"), "de");
        // Spacing and case of the parameter do not matter.
        assert_eq!(
            choose_language(None, Some("EN ; Q=0.2 ,de ; q = 0.9"), &av, "en"),
            "de"
        );
    }

    #[test]
    fn q_zero_and_malformed_entries_are_ignored() {
        let av = langs(&["de", "en"]);
        assert_eq!(
            choose_language(None, Some("de;q=0, en;q=0.1"), &av, "de"),
            "en"
        );
        assert_eq!(
            choose_language(None, Some("de;q=2, en;q=0.1"), &av, "de"),
            "en"
        );
        assert_eq!(choose_language(None, Some("de;q=abc"), &av, "en"), "en");
        assert_eq!(choose_language(None, Some("de;q=0.1234"), &av, "en"), "en");
        assert_eq!(
            choose_language(None, Some("*, x-klingon, d@, , ;;"), &av, "de"),
            "de"
        );
        assert_eq!(
            choose_language(Some("{{ 7*7 }}\r\n"), None, &av, "de"),
            "de"
        );
    }

    #[test]
    fn fallbacks_queue_default_then_english_then_first() {
        assert_eq!(
            choose_language(None, None, &langs(&["de", "en"]), "de"),
            "de"
        );
        assert_eq!(
            choose_language(None, None, &langs(&["de", "en"]), "fr"),
            "en"
        );
        assert_eq!(
            choose_language(Some("ja"), Some("ko"), &langs(&["fr", "de"]), "it"),
            "de"
        );
        assert_eq!(choose_language(None, None, &[], "DE"), "de");
        assert_eq!(choose_language(None, None, &[], ""), "en");
    }

    #[test]
    fn qvalues_parse_per_rfc() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("1.001"), None);
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.05"), Some(50));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q(".5"), None);
        assert_eq!(parse_q("0.x"), None);
    }
}
