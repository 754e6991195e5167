//! Command lines at the very top of an agent's mail.
//!
//! Agents answer tickets from a mail client. Lines such as `#close` or `#queue Billing` at the top
//! of the body change the ticket and are stripped before the answer is relayed to the customer.
//! Pure code: no I/O and no clock (whether a `#pending` date is in the past is the caller's
//! question).
//!
//! The rules:
//! - A UTF-8 BOM at the start is dropped; leading blank lines and leading whitespace are skipped.
//! - The block is the run of lines whose first word is `#` + a known command word (any case).
//!   It ends at the first other line: text, a blank line, or `#word` for an unknown word, which
//!   stays in the text (it may be a hashtag). `#...` lines after text are never commands.
//! - Blank lines right after the block are removed too, so the answer starts with its text.
//! - A known command with a bad argument (`#pending tomorrow`, `#queue` alone, `#close now`) is
//!   reported as a [`CommandError`] and still stripped: it was meant as an instruction.
//! - The same command twice: the last one wins ([`Parsed::commands`] holds at most one of each
//!   kind, in the order of their last occurrence); `#cc` lines add up instead.
//! - The rest of the body is returned byte for byte, with its own line endings (CRLF or LF).
//!   A body without commands comes back unchanged (less the BOM).

use chrono::{NaiveDate, NaiveTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// A name (any case) or a number on OTRS's 1-5 scale: 1 and 2 → low, 3 → normal, 4 → high,
    /// 5 → urgent.
    pub fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" | "1" | "2" => Some(Priority::Low),
            "normal" | "3" => Some(Priority::Normal),
            "high" | "4" => Some(Priority::High),
            "urgent" | "5" => Some(Priority::Urgent),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Close,
    /// `#pending 2026-12-01` or `#pending 2026-12-01 14:00` (local time of the site; `time` is
    /// `None` when only a date was given).
    Pending {
        date: NaiveDate,
        time: Option<NaiveTime>,
    },
    /// A queue name as written (ASCII letters, digits, `-`, `_`); the caller checks it exists.
    Queue(String),
    /// An agent's login as written (one word); the caller checks it exists.
    Owner(String),
    Priority(Priority),
    /// A standard response's name (`[A-Za-z0-9_-]+`).
    Template(String),
    /// The whole mail becomes an internal note and is not sent.
    Note,
    /// `#find NUMBER` (or an address, or subject words): the agent is told where the tickets
    /// are, archived ones included; the mail becomes a note.
    Find(String),
    /// `#customer ADDRESS`: answers go to this address from now on (lowercased, brackets
    /// removed); the caller refuses our own and agents' addresses.
    Customer(String),
    /// `#cc a@x b@y -c@z`: participants an agent accepts (later answers go to them too) or
    /// removes; several `#cc` lines add up, in order.
    Cc(Vec<CcChange>),
    /// `#sla NAME`: the ticket's service level from now on (`default`: its service's or
    /// queue's again); the caller checks the name exists.
    Sla(String),
    /// `#call` (the ticket's customer) or `#call NUMBER`: a PBX rings the agent's extension
    /// and then the number (click-to-dial); the mail becomes a note.
    Call(Option<String>),
}

/// One address of a `#cc` line: `a@x` or `+a@x` accepts it, `-a@x` removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcChange {
    pub address: String,
    pub added: bool,
}

impl Command {
    /// The command word, lowercase.
    pub fn word(&self) -> &'static str {
        match self {
            Command::Close => "close",
            Command::Pending { .. } => "pending",
            Command::Queue(_) => "queue",
            Command::Owner(_) => "owner",
            Command::Priority(_) => "priority",
            Command::Template(_) => "template",
            Command::Note => "note",
            Command::Find(_) => "find",
            Command::Customer(_) => "customer",
            Command::Cc(_) => "cc",
            Command::Sla(_) => "sla",
            Command::Call(_) => "call",
        }
    }
}

/// A known command whose argument is wrong. The line is stripped all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// 1-based line number in the body (after the BOM).
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub errors: Vec<CommandError>,
    /// The body without the command block.
    pub body: String,
}

const WORDS: &[&str] = &[
    "close", "pending", "queue", "owner", "priority", "template", "note", "find", "customer", "cc",
    "sla", "call",
];
/// A `#cc` line names at most this many addresses.
const MAX_CC: usize = 20;
/// A `#find` text is at most this long.
const MAX_FIND: usize = 200;
/// Queue names, logins and template names are at most this long.
const MAX_NAME: usize = 64;

/// Splits the command block off the top of `body` (see the module docs for the rules).
/// Linear in the length of the block; the rest of the body is only copied.
pub fn parse(body: &str) -> Parsed {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let mut out = Parsed::default();
    let mut rest = body;
    let mut line_no = 0;
    let mut in_block = false;
    let mut seen_command = false;

    while !rest.is_empty() {
        let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let (line, after) = rest.split_at(end);
        let trimmed = line.trim();
        line_no += 1;
        if trimmed.is_empty() {
            // Blank lines before the block are skipped; after it they end it and are removed.
            if in_block {
                in_block = false;
            }
            rest = after;
            continue;
        }
        if seen_command && !in_block {
            break; // text after the blank lines that followed the block
        }
        let Some(word) = command_word(trimmed) else {
            break;
        };
        in_block = true;
        seen_command = true;
        let arg = trimmed[1 + word.len()..].trim();
        match command(&word.to_ascii_lowercase(), arg) {
            Ok(Command::Cc(more)) => {
                // `#cc` lines add up where other commands replace one another.
                let earlier = out.commands.iter_mut().find_map(|c| match c {
                    Command::Cc(list) => Some(list),
                    _ => None,
                });
                match earlier {
                    Some(list) => list.extend(more),
                    None => out.commands.push(Command::Cc(more)),
                }
            }
            Ok(cmd) => {
                out.commands.retain(|c| c.word() != cmd.word());
                out.commands.push(cmd);
            }
            Err(message) => out.errors.push(CommandError {
                line: line_no,
                text: trimmed.to_string(),
                message,
            }),
        }
        rest = after;
    }
    out.body = if seen_command { rest } else { body }.to_string();
    out
}

/// The word after `#` if it is a known command word.
fn command_word(line: &str) -> Option<&str> {
    let after = line.strip_prefix('#')?;
    let word = after.split(char::is_whitespace).next().unwrap_or(after);
    WORDS
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word))
        .then_some(word)
}

fn command(word: &str, arg: &str) -> Result<Command, String> {
    match word {
        "close" => no_argument(arg, Command::Close),
        "note" => no_argument(arg, Command::Note),
        "pending" => pending(arg),
        "priority" => Priority::parse(arg)
            .map(Command::Priority)
            .ok_or_else(|| format!("priority {arg:?}: use low, normal, high, urgent or 1-5")),
        "queue" => name(arg, "queue name", |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        })
        .map(Command::Queue),
        "template" => name(arg, "template name", |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        })
        .map(Command::Template),
        "sla" => name(arg, "service level", |c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        })
        .map(Command::Sla),
        "owner" => {
            name(arg, "login", |c| !c.is_whitespace() && !c.is_control()).map(Command::Owner)
        }
        "find" if arg.is_empty() => Err("missing ticket number, address or words".into()),
        "find" if arg.chars().count() > MAX_FIND => {
            Err(format!("#find takes at most {MAX_FIND} characters"))
        }
        "find" => Ok(Command::Find(arg.to_string())),
        "customer" => match arg.split_whitespace().count() {
            0 => Err("missing address".into()),
            1 => address(arg).map(Command::Customer),
            _ => Err("#customer takes one address".into()),
        },
        "cc" => cc(arg),
        "call" if arg.is_empty() => Ok(Command::Call(None)),
        "call"
            if arg.len() > 40
                || !arg
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +()/-.".contains(c)) =>
        {
            Err(format!("#call {arg:?}: a telephone number"))
        }
        "call" => Ok(Command::Call(Some(arg.to_string()))),
        _ => Err(format!("unknown command #{word}")),
    }
}

/// `a@x b@y, -c@z`: whitespace or commas between addresses, `-` before one to remove it.
fn cc(arg: &str) -> Result<Command, String> {
    let words: Vec<&str> = arg
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err("missing address: #cc a@example.org, or #cc -a@example.org to remove".into());
    }
    if words.len() > MAX_CC {
        return Err(format!("#cc takes at most {MAX_CC} addresses a line"));
    }
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        let (added, a) = match w.strip_prefix('-') {
            Some(rest) => (false, rest),
            None => (true, w.strip_prefix('+').unwrap_or(w)),
        };
        out.push(CcChange {
            address: address(a)?,
            added,
        });
    }
    Ok(Command::Cc(out))
}

/// One mail address, `local@domain` or `<local@domain>`, lowercased: no display name, no
/// quoting, nothing a header could be built from other than the address itself.
fn address(arg: &str) -> Result<String, String> {
    let a = arg.trim();
    let a = a
        .strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(a);
    let bad = || format!("{arg:?} is not a mail address (local@domain)");
    let (local, domain) = a.rsplit_once('@').ok_or_else(bad)?;
    let ok_char = |c: char| c.is_ascii_graphic() && !"<>()[]\\,;:\"@".contains(c);
    if a.len() > 254
        || local.is_empty()
        || !local.chars().all(ok_char)
        || local.starts_with('.')
        || local.ends_with('.')
        || !domain.contains('.')
        || domain.starts_with(['.', '-'])
        || domain.ends_with(['.', '-'])
        || !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(bad());
    }
    Ok(a.to_ascii_lowercase())
}

fn no_argument(arg: &str, cmd: Command) -> Result<Command, String> {
    if arg.is_empty() {
        Ok(cmd)
    } else {
        Err(format!("#{} takes no argument", cmd.word()))
    }
}

fn name(arg: &str, what: &str, allowed: impl Fn(char) -> bool) -> Result<String, String> {
    if arg.is_empty() {
        return Err(format!("missing {what}"));
    }
    if arg.chars().count() > MAX_NAME || !arg.chars().all(allowed) {
        return Err(format!("{arg:?} is not a {what}"));
    }
    Ok(arg.to_string())
}

/// `YYYY-MM-DD`, optionally followed by whitespace (or `T`) and `HH:MM`.
fn pending(arg: &str) -> Result<Command, String> {
    let bad = || format!("pending date {arg:?}: use YYYY-MM-DD or YYYY-MM-DD HH:MM");
    if arg.is_empty() {
        return Err("missing date: use YYYY-MM-DD or YYYY-MM-DD HH:MM".into());
    }
    let (date, time) = match arg.find(|c: char| c.is_whitespace() || c == 'T' || c == 't') {
        Some(i) => (&arg[..i], Some(arg[i + 1..].trim())),
        None => (arg, None),
    };
    let date = parse_date(date).ok_or_else(bad)?;
    let time = match time {
        Some(t) => Some(parse_time(t).ok_or_else(bad)?),
        None => None,
    };
    Ok(Command::Pending { date, time })
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(y)? as i32, digits(m)?, digits(d)?)
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    if !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(digits(h)?, digits(m)?, 0)
}

#[cfg(test)]
mod tests;
