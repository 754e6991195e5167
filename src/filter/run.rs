//! Running the scripts on one message: one sieve-rs instance per script (so the file is always
//! known), in name order, each seeing the header edits and IMAP flags of the scripts before it.
//!
//! sieve-rs reports `fileinto`, `reject` and the final keep/discard as events; it applies
//! `addheader`/`deleteheader` and flag changes silently to its own state. So at every marker
//! (see `compile.rs`) and at the end, the message's top-level header list and the `__flags`
//! variable are compared with the last snapshot, and a change is put down to the marker before.

use mail_parser::{Encoding, Header, Message, MessagePart, PartType};
use sieve::runtime::RuntimeError;
use sieve::{Event, Input, SpamStatus, VirusStatus};

use super::compile::{Script, MARKER_ID};
use super::verdict::{self, Act, Outcome};
use super::{Envelope, Filters, ScanValues, Verdict};

/// The global variable in which sieve-rs keeps the imap4flags internal flags.
const FLAGS_VAR: &str = "__flags";

/// `parsed`: `raw` as `parse::filters_parser` parses it, when the caller has it already.
pub fn run_all<'x>(
    filters: &Filters,
    raw: &'x [u8],
    parsed: Option<Message<'x>>,
    env: &Envelope,
    scan: &ScanValues,
) -> Verdict {
    let mut message = match parsed {
        Some(m) => m,
        None => crate::parse::filters_parser()
            .parse(raw)
            .unwrap_or_else(empty_message),
    };
    let mut flags: Vec<String> = Vec::new();
    let mut builder = verdict::Builder::new(filters.queues.as_deref());
    for (n, script) in filters.scripts.iter().enumerate() {
        let before = message.clone();
        let (outcome, after) = run_one(filters, script, message, &flags, env, scan);
        message = if outcome.error.is_some() {
            before
        } else {
            after
        };
        if outcome.error.is_none() {
            flags = outcome.final_flags.clone();
        }
        if builder.add(&script.file, outcome) {
            for later in &filters.scripts[n + 1..] {
                builder.not_run(&later.file);
            }
            break;
        }
    }
    builder.finish(flags)
}

/// What sieve-rs itself uses for bytes that do not parse: one empty part (its editheader code
/// expects part 0 to exist).
fn empty_message<'x>() -> Message<'x> {
    Message {
        parts: vec![MessagePart {
            headers: vec![],
            is_encoding_problem: false,
            body: PartType::Text("".into()),
            encoding: Encoding::None,
            offset_header: 0,
            offset_body: 0,
            offset_end: 0,
        }],
        raw_message: b""[..].into(),
        ..Default::default()
    }
}

/// Runs one script; returns what it did and the message as it left it.
fn run_one<'x>(
    filters: &'x Filters,
    script: &Script,
    message: Message<'x>,
    flags: &[String],
    env: &Envelope,
    scan: &ScanValues,
) -> (Outcome, Message<'x>) {
    let mut inst = filters
        .runtime
        .filter_parsed(message)
        .with_spam_status(spam_status(scan))
        .with_virus_status(VirusStatus::from_number(u32::from(
            scan.virustest.unwrap_or(0),
        )));
    inst.set_envelope(sieve::Envelope::From, env.from.clone());
    for to in &env.to {
        inst.set_envelope(sieve::Envelope::To, to.clone());
    }
    if !flags.is_empty() {
        inst.set_global_variable(FLAGS_VAR, flags.join(" "));
    }

    let mut out = Outcome::default();
    let mut current: Option<usize> = None;
    let mut last_discard: Option<usize> = None;
    let mut state = Snapshot::take(inst.message(), inst.global_variable(FLAGS_VAR));
    let line_of = |m: Option<usize>| m.and_then(|i| script.markers.get(i)).map(|m| m.line);
    let name = script.file.display().to_string();
    let mut input = Input::script(name, script.compiled.clone());

    while let Some(result) = inst.run(input) {
        input = Input::True;
        match result {
            Ok(Event::DuplicateId { id, .. }) => {
                input = Input::False;
                let next = Snapshot::take(inst.message(), inst.global_variable(FLAGS_VAR));
                let raw = inst.message().raw_message.as_ref();
                state.changes(&next, raw, line_of(current), &mut out.acts);
                state = next;
                let index = id
                    .strip_prefix(MARKER_ID)
                    .and_then(|n| n.parse::<usize>().ok());
                let Some(marker) = index.and_then(|i| script.markers.get(i)) else {
                    out.error
                        .get_or_insert_with(|| "unexpected duplicate test".into());
                    continue;
                };
                current = index;
                let line = Some(marker.line);
                match marker.command.as_str() {
                    "discard" => {
                        last_discard = index;
                        out.acts.push(Act::Discard { line });
                    }
                    "keep" => out.acts.push(Act::Keep { line }),
                    "stop" => out.acts.push(Act::Stop { line }),
                    _ => {}
                }
            }
            Ok(Event::FileInto { folder, flags, .. }) => {
                out.acts.push(Act::FileInto {
                    folder,
                    flags,
                    line: line_of(current),
                });
            }
            Ok(Event::Reject { extended, reason }) => {
                out.acts.push(Act::Reject {
                    reason,
                    extended,
                    line: line_of(current),
                });
            }
            Ok(Event::Discard) => out.discarded = Some(line_of(last_discard)),
            // The final keep, and the edited copy sieve-rs builds before a keep or fileinto.
            Ok(Event::Keep { .. } | Event::CreatedMessage { .. }) => {}
            Ok(other) => {
                input = Input::False;
                let msg = format!("unexpected request from the interpreter: {other:?}");
                out.error.get_or_insert(msg);
            }
            Err(e) => {
                out.error.get_or_insert_with(|| describe(&e));
            }
        }
    }
    let end = Snapshot::take(inst.message(), inst.global_variable(FLAGS_VAR));
    let raw = inst.message().raw_message.as_ref();
    state.changes(&end, raw, line_of(current), &mut out.acts);
    out.final_flags = end.flags;
    (out, inst.take_message())
}

/// One spam status from the two ways the caller may give it.
fn spam_status(scan: &ScanValues) -> SpamStatus {
    match (scan.spam_percent, scan.spamtest) {
        (Some(0), _) => SpamStatus::Ham,
        (Some(p), _) if p >= 100 => SpamStatus::Spam,
        (Some(p), _) => SpamStatus::MaybeSpam(fraction(p)),
        (None, Some(n)) => SpamStatus::from_number(u32::from(n)),
        (None, None) => SpamStatus::Unknown,
    }
}

/// `p / 100` as the float nearest to it for which sieve-rs's conversions give back exactly
/// `p` for `:percent` (`ceil(x * 100)`) and `p / 10` for the plain form (`trunc(x * 10)`).
pub(super) fn fraction(p: u8) -> f64 {
    let exact = f64::from(p) / 100.0;
    let ok = |x: f64| {
        (x * 100.0).ceil() as i64 == i64::from(p)
            && ((x * 10.0) as i64).clamp(2, 9) == (i64::from(p) / 10).clamp(2, 9)
    };
    let mut candidates = vec![exact];
    let (mut down, mut up) = (exact, exact);
    for _ in 0..4 {
        down = f64::from_bits(down.to_bits() - 1);
        up = f64::from_bits(up.to_bits() + 1);
        candidates.extend([down, up]);
    }
    candidates.into_iter().find(|&x| ok(x)).unwrap_or(exact)
}

fn describe(e: &RuntimeError) -> String {
    match e {
        RuntimeError::CPULimitReached => "stopped: the script reached its instruction limit".into(),
        RuntimeError::CapabilityNotAllowed(c) => format!("extension {c} is not available"),
        RuntimeError::CapabilityNotSupported(c) => format!("extension {c:?} is not supported"),
        RuntimeError::ScriptErrorMessage(m) => format!("script error: {m}"),
        RuntimeError::TooManyIncludes => "include is not available".into(),
        RuntimeError::InvalidInstruction(i) => {
            format!(
                "invalid instruction {:?} at line {}",
                i.name(),
                i.line_num()
            )
        }
    }
}

/// A header as far as diffing cares: original ones by their place in the raw message (their
/// value is read from it only when reported), added ones by name and value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Original { field: u32, start: u32, end: u32 },
    Added { name: String, value: String },
}

#[derive(Debug, Clone)]
struct Snapshot {
    headers: Vec<Entry>,
    /// The names of the original headers, by their field offset, as the parser spelled them.
    names: Vec<(u32, String)>,
    flags: Vec<String>,
}

impl Snapshot {
    fn take(message: &Message, flags: Option<&sieve::runtime::Variable>) -> Snapshot {
        let mut names = Vec::new();
        let headers = message
            .parts
            .first()
            .map(|part| part.headers.iter().map(|h| entry(h, &mut names)).collect())
            .unwrap_or_default();
        let flags = flags
            .map(|v| {
                v.to_string()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Snapshot {
            headers,
            names,
            flags,
        }
    }

    /// The name and value of a header of this snapshot; `raw` is the message's raw bytes.
    fn describe(&self, e: &Entry, raw: &[u8]) -> (String, String) {
        match e {
            Entry::Added { name, value } => (name.clone(), value.clone()),
            Entry::Original { field, start, end } => {
                let name = self
                    .names
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
                let value = raw.get(*start as usize..*end as usize).unwrap_or_default();
                let value = String::from_utf8_lossy(value);
                (name, value.split_whitespace().collect::<Vec<_>>().join(" "))
            }
        }
    }

    /// What changed from `self` to `next`, put down to `line`; `raw` is the message's raw bytes.
    fn changes(&self, next: &Snapshot, raw: &[u8], line: Option<usize>, acts: &mut Vec<Act>) {
        let (a, b) = (&self.headers, &next.headers);
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                i += 1;
                j += 1;
            } else if j < b.len() && !a[i..].contains(&b[j]) {
                let (name, value) = next.describe(&b[j], raw);
                acts.push(Act::AddHeader {
                    name,
                    value,
                    last: j > 0,
                    line,
                });
                j += 1;
            } else {
                let (name, value) = self.describe(&a[i], raw);
                acts.push(Act::DeleteHeader { name, value, line });
                i += 1;
            }
        }
        if self.flags != next.flags {
            acts.push(Act::Flags {
                flags: next.flags.clone(),
                line,
            });
        }
    }
}

fn entry(h: &Header, names: &mut Vec<(u32, String)>) -> Entry {
    if h.offset_end == 0 {
        let value = match &h.value {
            mail_parser::HeaderValue::Text(t) => t.to_string(),
            other => format!("{other:?}"),
        };
        // Added headers compare by name and value: identical ones are interchangeable.
        return Entry::Added {
            name: h.name.as_str().to_string(),
            value,
        };
    }
    names.push((h.offset_field, h.name.as_str().to_string()));
    Entry::Original {
        field: h.offset_field,
        start: h.offset_start,
        end: h.offset_end,
    }
}
