//! The request on a mail's first line. Pure.

/// What a customer asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `#tickets`, `#vorgänge`: their (or their organisation's) tickets.
    Tickets,
    /// `#status NUMBER`: one ticket's state. The number as written (checked later).
    Status(String),
    /// `#history NUMBER`, `#verlauf NUMBER`: one ticket's messages a customer may see.
    History(String),
}

impl Command {
    /// The English name, as the history and the templates say it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Tickets => "tickets",
            Command::Status(_) => "status",
            Command::History(_) => "history",
        }
    }

    pub fn number(&self) -> Option<&str> {
        match self {
            Command::Tickets => None,
            Command::Status(n) | Command::History(n) => Some(n),
        }
    }
}

/// The request on the first line of `body` that is not blank, if it is one. A number may be
/// written with spaces or a `Ticket#` prefix; anything after it is ignored. A known word
/// without a number asks for a number that matches no ticket.
pub fn parse(body: &str) -> Option<Command> {
    let line = body.lines().find(|l| !l.trim().is_empty())?.trim();
    let rest = line.strip_prefix('#')?;
    let (word, args) = match rest.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (rest, ""),
    };
    let number = || {
        let a = args.trim_start_matches(|c: char| !c.is_ascii_digit());
        a.chars()
            .take_while(|c| c.is_ascii_digit() || *c == ' ')
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    match word.to_lowercase().as_str() {
        "tickets" | "vorgänge" | "vorgaenge" => Some(Command::Tickets),
        "status" => Some(Command::Status(number())),
        "history" | "verlauf" => Some(Command::History(number())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_on_the_first_line() {
        assert_eq!(parse("#tickets\n\nthanks"), Some(Command::Tickets));
        assert_eq!(parse("\n  #Vorgänge  \n"), Some(Command::Tickets));
        assert_eq!(
            parse("#status 2016010110000019"),
            Some(Command::Status("2016010110000019".into()))
        );
        assert_eq!(
            parse("#verlauf Ticket#2016 0101 1000 0019 please"),
            Some(Command::History("2016010110000019".into()))
        );
        assert_eq!(parse("#history"), Some(Command::History(String::new())));
        assert_eq!(parse("Hello\n#tickets"), None);
        assert_eq!(parse("#close"), None);
        assert_eq!(parse("tickets"), None);
        assert_eq!(parse(""), None);
    }
}
