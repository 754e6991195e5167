//! Does an agent's text already open with a greeting? Then the relay leaves out the template's
//! salutation, so the customer does not read "Dear Carla," above the agent's own "Hello Carla,".
//! Pure: the first non-empty line against greeting words in the languages templates ship.

/// Openings of a greeting line, lower case, each followed by a space, a comma or the line's end.
const GREETINGS: &[&str] = &[
    "dear",
    "hello",
    "hi",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "greetings",
    "sehr geehrte",
    "sehr geehrter",
    "liebe",
    "lieber",
    "hallo",
    "guten tag",
    "guten morgen",
    "guten abend",
    "moin",
    "servus",
    "grüß gott",
    "bonjour",
    "bonsoir",
    "cher",
    "chère",
    "buongiorno",
    "gentile",
    "caro",
    "cara",
    "hola",
    "estimado",
    "estimada",
    "hej",
    "hoi",
    "beste",
];

/// True when the first non-empty line of `text` starts with a greeting word.
pub fn opens_with_greeting(text: &str) -> bool {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return false;
    };
    let line = first.to_lowercase();
    GREETINGS.iter().any(|g| {
        line.strip_prefix(g)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ',', '!']))
    })
}

#[cfg(test)]
mod tests {
    use super::opens_with_greeting;

    #[test]
    fn greetings_are_recognised_and_other_openings_are_not() {
        for t in [
            "Hello Carla,\n\nyour card works again.",
            "\n\n  Dear Mr Smith,\nthanks",
            "Hi,\nsee below",
            "Sehr geehrte Frau Weber,\n",
            "Guten Tag Herr Müller,\n",
            "Bonjour Claire,",
        ] {
            assert!(opens_with_greeting(t), "{t:?}");
        }
        for t in [
            "Your card works again.",
            "History of your case:",
            "Highly urgent: call us.",
            "Liebherr machines are not supported.",
            "",
        ] {
            assert!(!opens_with_greeting(t), "{t:?}");
        }
    }
}
