//! Rebuilding the index from the tree alone (DESIGN invariant 3), and `fsck`, which rebuilds
//! the tree's view into memory and compares it with the index.

mod diff;

pub use diff::{compare, Difference};

use std::io::Read;

use crate::article::history;
use crate::classify::{Classification, Kind};
use crate::index::{
    article_order, Attribution, Index, IndexError, Quarantined, Queued, State, TicketRef,
};
use crate::intake::{build_article, participants, Rules};
use crate::number::Generator;
use crate::store::names::order_key;
use crate::store::{trace, Folder, Tree};

#[derive(Debug, thiserror::Error)]
pub enum ReindexError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("store: {0}")]
    Io(#[from] std::io::Error),
    /// Two folders carry one ticket number: which one is the ticket is for a person to decide.
    #[error(
        "ticket {number} has {} folders in the store: {}; keep one (move the other's messages \
         into it, or remove it from the store), then run `postdesk reindex`",
        folders.len(), folders.join(", ")
    )]
    Duplicate {
        number: String,
        folders: Vec<String>,
    },
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub tickets: u64,
    pub articles: u64,
    pub quarantined: u64,
    pub unreadable: u64,
}

/// Replaces the index's contents with what the tree says, in one transaction. `progress` is
/// called every so often with the number of tickets done and the total.
pub fn rebuild(
    tree: &Tree,
    index: &mut Index,
    rules: &Rules,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Counts, ReindexError> {
    let tickets = tree.tickets()?;
    refuse_duplicates(&tickets)?;
    let total = tickets.len() as u64;
    let mut counts = Counts::default();
    index.clear()?;
    let tx = index.begin()?;
    for (i, t) in tickets.iter().enumerate() {
        let Folder::Ticket {
            queue,
            number,
            closed,
        } = &t.folder
        else {
            continue;
        };
        let tref = TicketRef {
            number: number.clone(),
            queue: queue.clone(),
            state: if *closed { State::Closed } else { State::Open },
        };
        let mut rows = Vec::new();
        for f in &t.articles {
            let bytes = match read_all(&f.path) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(path = %f.path.display(), "unreadable article: {e}");
                    counts.unreadable += 1;
                    continue;
                }
            };
            let tr = trace::parse(&bytes);
            let facts = stored_facts(&bytes[tr.body_offset..], &tr, rules);
            let kind = tr
                .get(trace::CLASSIFICATION)
                .and_then(Kind::from_str)
                .unwrap_or(Kind::Normal);
            let class = Classification {
                kind,
                reasons: Vec::new(),
                bounce_of: if kind == Kind::Bounce {
                    facts.returned_message_id.clone()
                } else {
                    None
                },
            };
            let event = tr.get(trace::EVENT).unwrap_or("follow-up").to_string();
            let stranger = tr.get(trace::STRANGER) == Some("yes");
            let received = tr.get(trace::RECEIVED).unwrap_or("").to_string();
            let who = Attribution {
                person: tr.get(trace::CUSTOMER).map(str::to_string),
                organisation: tr.get(trace::ORGANISATION).map(str::to_string),
                service: tr.get(trace::SERVICE).map(str::to_string),
            };
            let refers = tr.get(trace::REFERS).map(|v| {
                let (n, why) = history::split_refers(v);
                (n.to_string(), why.to_string())
            });
            let mut a = build_article(&facts, &class, &tref, &event, stranger, &f.file, &received);
            if let Some(d) = tr.get(trace::DIGEST) {
                a.digest = d.to_string();
            }
            let direction = tr.get(trace::DIRECTION).unwrap_or("in").to_string();
            let parts = if direction == "in" || direction == crate::intake::PHONE {
                participants(&facts, rules)
            } else {
                a.reply_addr = None;
                Vec::new()
            };
            let side = match direction.as_str() {
                "out" => {
                    a.classification = tr.get(trace::CLASSIFICATION).unwrap_or("").to_string();
                    Side::Out {
                        env_from: tr
                            .get(trace::ENVELOPE_FROM)
                            .unwrap_or("")
                            .trim_matches(|c| c == '<' || c == '>')
                            .to_string(),
                        rcpts: tr.get(trace::ENVELOPE_TO).unwrap_or("").to_string(),
                    }
                }
                "agent" => Side::Agent(tr.get(trace::AGENT).unwrap_or("").to_string()),
                _ => Side::In,
            };
            a.direction = direction;
            a.seq = tr
                .get(trace::SEQUENCE)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            rows.push((a, (refers, parts, side, who)));
        }
        number_unsequenced(&mut rows);
        let first = rows
            .iter()
            .find(|r| r.0.event == "created")
            .or(rows.first());
        let (subject, customer, created, refers, who) = match first {
            Some((a, (refers, _, _, who))) => (
                a.subject.clone(),
                a.from.clone(),
                a.received.clone(),
                refers.as_ref().map(|r| r.0.clone()),
                who.clone(),
            ),
            None => (
                String::new(),
                String::new(),
                String::new(),
                None,
                Attribution::default(),
            ),
        };
        tx.insert_ticket(
            number,
            queue,
            tref.state,
            &subject,
            &customer,
            &created,
            refers.as_deref(),
            &who,
        )?;
        let lines = match &t.history {
            Some(h) => history::read(h)?,
            None => Vec::new(),
        };
        for (a, (refers, parts, side, _)) in &rows {
            tx.insert_article(&crate::index::NewArticle {
                article: a,
                staged: None,
            })?;
            if !a.stranger {
                for p in parts {
                    tx.add_participant(number, p)?;
                }
            }
            match side {
                Side::In => {
                    let r = refers.as_ref().map(|(n, w)| (n.as_str(), w.as_str()));
                    for e in history::article_events(
                        number,
                        &a.received,
                        &a.event,
                        &a.from,
                        r,
                        a.stranger,
                    ) {
                        tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
                    }
                }
                Side::Agent(agent) => {
                    let e = history::agent_event(number, &a.received, &a.event, agent);
                    tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
                }
                Side::Out { env_from, rcpts } => {
                    let e = history::out_events(
                        number,
                        &a.received,
                        &a.classification,
                        &a.event,
                        rcpts,
                    );
                    tx.add_history(&e.ticket, &e.at, &e.event, &e.detail)?;
                    requeue(&tx, number, a, env_from, rcpts, &lines)?;
                }
            }
        }
        for line in &lines {
            tx.add_history_keyed(number, &line.at, &line.event, &line.detail, &line.key)?;
            // Changes of state move `updated`; a duplicate or a reject changed nothing.
            if matches!(line.event.as_str(), "closed" | "reopened" | "moved") {
                tx.set_ticket(number, queue, tref.state, &line.at)?;
            }
            if let Some(v) = &line.value {
                crate::article::attributes::apply(&tx, number, &line.event, v, &line.at)?;
            }
        }
        if let Some((key, value)) = counter_of(rules, number) {
            tx.raise_counter(&key, value)?;
        }
        counts.tickets += 1;
        counts.articles += rows.len() as u64;
        if (i + 1) % 1000 == 0 {
            progress(i as u64 + 1, total);
        }
    }
    for f in tree.quarantine()? {
        let Ok(bytes) = read_all(&f.path) else {
            counts.unreadable += 1;
            continue;
        };
        let tr = trace::parse(&bytes);
        let facts =
            crate::parse::parse_within(&bytes[tr.body_offset..], &rules.cfg.intake.mime_limits());
        let q = Quarantined {
            file: f.file.clone(),
            digest: tr
                .get(trace::DIGEST)
                .map(str::to_string)
                .unwrap_or(facts.digest.clone()),
            message_id: facts.message_id.clone(),
            reason: tr.get(trace::REASON).unwrap_or("").to_string(),
            received: tr.get(trace::RECEIVED).unwrap_or("").to_string(),
        };
        tx.insert_quarantine(&q, None)?;
        if tr.get(trace::DIRECTION) == Some("out") {
            // A reply to a rejected message: counted for the rate limits, never sent again by
            // a rebuild (it has no ticket whose event log could say it went out).
            let rcpts: Vec<String> = tr
                .get(trace::ENVELOPE_TO)
                .unwrap_or("")
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect();
            let at = chrono::DateTime::parse_from_rfc3339(&q.received)
                .map(|d| d.timestamp())
                .unwrap_or(0);
            for r in &rcpts {
                tx.add_autoreply(r, at)?;
            }
            tx.enqueue(&Queued {
                id: 0,
                ticket: String::new(),
                file: f.file.clone(),
                kind: tr.get(trace::CLASSIFICATION).unwrap_or("").to_string(),
                env_from: String::new(),
                rcpts,
                state: "sent".into(),
                attempts: 0,
                created: at,
                next_at: at,
                last_error: None,
            })?;
        }
        counts.quarantined += 1;
    }
    progress(total, total);
    tx.commit()?;
    Ok(counts)
}

/// Articles stored before sequences existed (no `X-Postdesk-Sequence`) are numbered 1, 2, ...
/// by receipt time, then their file name's time and counter read as numbers, as the index
/// numbered them when it was upgraded; articles written since keep the sequence their block
/// carries. `rows` ends in the order `ticket show` lists them.
fn number_unsequenced<T>(rows: &mut [(crate::index::Article, T)]) {
    rows.sort_by(|x, y| {
        (&x.0.received, order_key(&x.0.file)).cmp(&(&y.0.received, order_key(&y.0.file)))
    });
    let mut next = 0;
    for r in rows.iter_mut().filter(|r| r.0.seq == 0) {
        next += 1;
        r.0.seq = next;
    }
    rows.sort_by(|x, y| article_order(&x.0).cmp(&article_order(&y.0)));
}

/// A stored article's facts as intake read them. The copy's own Reply-To was renamed
/// `X-Original-Reply-To` when the block says where answers go (`X-Postdesk-Answer-To`): the
/// message is read with it restored, so its author (a From without an address falls back to
/// Reply-To) and names read as they did on arrival; should that not give the recorded answer
/// address, the block's value stands. The size is the stored copy's, as intake records it.
fn stored_facts(stored: &[u8], tr: &trace::Parsed, rules: &Rules) -> crate::facts::Facts {
    let limits = rules.cfg.intake.mime_limits();
    let Some(answer_to) = tr.get(trace::ANSWER_TO) else {
        return crate::parse::parse_within(stored, &limits);
    };
    let wanted = (!answer_to.is_empty()).then(|| answer_to.to_string());
    if let Some(original) = trace::restore_reply_to(stored) {
        let mut facts = crate::parse::parse_within(&original, &limits);
        if crate::decide::policy::answer_address(&facts) == wanted {
            facts.size = stored.len() as u64;
            return facts;
        }
    }
    let mut facts = crate::parse::parse_within(stored, &limits);
    if crate::decide::policy::answer_address(&facts) != wanted {
        facts.reply_to = wanted.as_deref().map(crate::facts::Mailbox::new);
    }
    facts
}

/// The first ticket number held by more than one folder, with the folders' names.
fn refuse_duplicates(tickets: &[crate::store::TreeTicket]) -> Result<(), ReindexError> {
    let mut by_number: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for t in tickets {
        if let Folder::Ticket { number, .. } = &t.folder {
            by_number.entry(number).or_default().push(label(&t.dir));
        }
    }
    match by_number.into_iter().find(|(_, f)| f.len() > 1) {
        Some((number, folders)) => Err(ReindexError::Duplicate {
            number: number.to_string(),
            folders,
        }),
        None => Ok(()),
    }
}

/// A folder as an admin finds it: `.Support.N` in the store, `Support/2026-12/N` in the archive.
fn label(dir: &std::path::Path) -> String {
    let parts: Vec<String> = dir
        .iter()
        .rev()
        .take(3)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts[0].starts_with('.') {
        parts[0].clone()
    } else {
        parts.into_iter().rev().collect::<Vec<_>>().join("/")
    }
}

/// Which side of the conversation an article is.
enum Side {
    In,
    Agent(String),
    Out { env_from: String, rcpts: String },
}

/// An outgoing article back into the outbox: sent or failed when its ticket's event log says
/// so, else queued (sent after the rebuild). Autoresponses count again for the rate limits.
fn requeue(
    tx: &crate::index::Tx,
    number: &str,
    a: &crate::index::Article,
    env_from: &str,
    rcpts: &str,
    lines: &[history::HistoryLine],
) -> Result<(), ReindexError> {
    let state = if lines.iter().any(|l| l.key == format!("sent:{}", a.file)) {
        "sent"
    } else if lines.iter().any(|l| l.key == format!("failed:{}", a.file)) {
        "failed"
    } else {
        "queued"
    };
    let at = chrono::DateTime::parse_from_rfc3339(&a.received)
        .map(|d| d.timestamp())
        .unwrap_or_else(|_| chrono::Utc::now().timestamp());
    let rcpts: Vec<String> = rcpts
        .split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    if a.classification == "autoresponse" {
        for r in &rcpts {
            tx.add_autoreply(r, at)?;
        }
    }
    tx.enqueue(&Queued {
        id: 0,
        ticket: number.to_string(),
        file: a.file.clone(),
        kind: a.classification.clone(),
        env_from: env_from.to_string(),
        rcpts,
        state: state.into(),
        attempts: 0,
        created: at,
        next_at: at,
        last_error: None,
    })?;
    Ok(())
}

/// The counter a number was drawn from, so a rebuilt index never hands out a number again.
fn counter_of(rules: &Rules, number: &str) -> Option<(String, u64)> {
    let sys = rules.scheme.system_id.len();
    match rules.scheme.generator {
        Generator::DateChecksum if number.len() > 8 + sys + 1 => Some((
            number[..8].to_string(),
            number[8 + sys..number.len() - 1].parse().ok()?,
        )),
        Generator::Counter if number.len() > sys => {
            Some(("counter".into(), number[sys..].parse().ok()?))
        }
        _ => None,
    }
}

fn read_all(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut v)?;
    Ok(v)
}
