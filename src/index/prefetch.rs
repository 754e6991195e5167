//! What a batch's decisions will ask the index, asked for the whole batch at once (on
//! PostgreSQL, where each question is a round trip): earlier copies of its messages, the
//! tickets their references and subjects name, the autoresponse counts of their senders and
//! what the directory says of them. The answers are kept in the transaction and kept true
//! by the transaction's own writes (an article or quarantine entry filed, an autoresponse
//! counted); the write lock keeps anyone else from changing them until the commit. A question
//! the batch was not asked ahead goes to the engine as before.

use std::collections::{HashMap, HashSet};

use super::db::{p, Engine};
use super::directory::PartyRow;
use super::rows::{Duplicate, State, TicketRef};
use super::{Result, Tx};

/// The answers a transaction holds.
#[derive(Default)]
pub(super) struct Prefetched {
    dups: Option<Dups>,
    replies: Option<Replies>,
    /// The tickets of Message-IDs asked (`None`: no article has it).
    threads: Option<HashMap<String, Option<String>>>,
    /// Tickets' queue and state, of the numbers asked (`None`: no such ticket).
    tickets: Option<HashMap<String, Option<(String, State)>>>,
    /// The directory's rows for senders, by their `mail:` key (see `directory::sender`).
    senders: Option<HashMap<String, Option<SenderRow>>>,
    /// The participants of the existing tickets asked, by ticket.
    participants: Participants,
    /// The directory's view of the existing tickets asked (`directory::TICKET`), by ticket.
    /// Nothing in a batch changes a ticket's person, organisation or service, or the directory.
    parties: HashMap<String, PartyRow>,
}

/// Tickets' participants, by ticket.
type Participants = HashMap<String, HashSet<String>>;

/// A sender's person's and organisation's data, as the directory keeps them.
type SenderRow = (Option<String>, Option<String>);

/// Earlier articles and quarantine entries of the digests asked.
struct Dups {
    asked: HashSet<String>,
    /// An article by (Message-ID, digest): its ticket.
    articles: HashMap<(Option<String>, String), String>,
    /// A quarantine entry by digest: its reason.
    quarantined: HashMap<String, String>,
}

/// Autoresponse counts as of `now`: per recipient asked in the day before, all in the minute.
struct Replies {
    now: i64,
    to: HashMap<String, u32>,
    minute: u32,
}

impl Prefetched {
    /// An earlier copy of (`digest`, `message_id`), if the batch asked: `Some(answer)`.
    pub fn duplicate(&self, digest: &str, message_id: Option<&str>) -> Option<Option<Duplicate>> {
        let d = self.dups.as_ref()?;
        if !d.asked.contains(digest) {
            return None;
        }
        let key = (message_id.map(str::to_string), digest.to_string());
        if let Some(ticket) = d.articles.get(&key) {
            return Some(Some(Duplicate::Article {
                ticket: ticket.clone(),
            }));
        }
        Some(
            d.quarantined
                .get(digest)
                .map(|reason| Duplicate::Quarantined {
                    reason: reason.clone(),
                }),
        )
    }

    /// The ticket of an article with Message-ID `id`, if the batch asked: `Some(answer)`.
    pub fn ticket_of_message(&self, id: &str) -> Option<Option<String>> {
        self.threads.as_ref()?.get(id).cloned()
    }

    /// The directory's row of ticket `number`, if the batch asked.
    pub fn party(&self, number: &str) -> Option<PartyRow> {
        self.parties.get(number).cloned()
    }

    /// Whether `address` takes part in ticket `number`, if the batch asked: `Some(answer)`.
    pub fn is_participant(&self, number: &str, address: &str) -> Option<bool> {
        Some(self.participants.get(number)?.contains(address))
    }

    /// A participant the transaction added.
    pub fn participant_added(&mut self, number: &str, address: &str) {
        if let Some(known) = self.participants.get_mut(number) {
            known.insert(address.to_string());
        }
    }

    /// Ticket `number`, if the batch asked: `Some(answer)`.
    pub fn ticket(&self, number: &str) -> Option<Option<TicketRef>> {
        let known = self.tickets.as_ref()?.get(number)?;
        Some(known.as_ref().map(|(queue, state)| TicketRef {
            number: number.to_string(),
            queue: queue.clone(),
            state: *state,
        }))
    }

    /// A ticket opened or moved in the transaction: where it is now.
    pub fn ticket_at(&mut self, number: &str, queue: &str, state: State) {
        if let Some(t) = &mut self.tickets {
            if let Some(known) = t.get_mut(number) {
                *known = Some((queue.to_string(), state));
            }
        }
    }

    pub fn filed(&mut self, message_id: Option<&str>, digest: &str, ticket: &str) {
        if let (Some(threads), Some(id)) = (&mut self.threads, message_id) {
            if let Some(known @ None) = threads.get_mut(id) {
                *known = Some(ticket.to_string());
            }
        }
        if let Some(d) = &mut self.dups {
            d.articles
                .entry((message_id.map(str::to_string), digest.to_string()))
                .or_insert_with(|| ticket.to_string());
        }
    }

    pub fn quarantined(&mut self, digest: &str, reason: &str) {
        if let Some(d) = &mut self.dups {
            d.quarantined
                .entry(digest.to_string())
                .or_insert_with(|| reason.to_string());
        }
    }

    /// The directory's row for the sender with `mail` key, if the batch asked.
    pub fn sender(&self, mail: &str) -> Option<Option<SenderRow>> {
        self.senders.as_ref()?.get(mail).cloned()
    }

    /// The counts for `recipient` at `now`, if the batch asked.
    pub fn autoreply_counts(&self, recipient: &str, now: i64) -> Option<(u32, u32)> {
        let r = self.replies.as_ref().filter(|r| r.now == now)?;
        Some((*r.to.get(recipient)?, r.minute))
    }

    pub fn autoreplied(&mut self, recipient: &str, at: i64) {
        if let Some(r) = &mut self.replies {
            if at >= r.now - 86_400 {
                if let Some(n) = r.to.get_mut(recipient) {
                    *n += 1;
                }
            }
            if at >= r.now - 60 {
                r.minute += 1;
            }
        }
    }
}

impl Tx<'_> {
    /// The participants and the directory's row of these existing tickets.
    fn ask_about_tickets(
        &self,
        numbers: &[&str],
    ) -> Result<(Participants, HashMap<String, PartyRow>)> {
        let mut participants: Participants = numbers
            .iter()
            .map(|n| (n.to_string(), HashSet::new()))
            .collect();
        let mut parties = HashMap::new();
        if numbers.is_empty() {
            return Ok((participants, parties));
        }
        let json = serde_json::to_string(numbers).expect("strings serialise");
        let asked = self.db().json_texts_table(1, "n");
        let sql = format!(
            "SELECT p.ticket, p.address FROM {asked} JOIN participants p ON p.ticket = n.value"
        );
        self.db().each(&sql, p![json.clone()], |r| {
            let ticket: String = r.get(0)?;
            if let Some(set) = participants.get_mut(&ticket) {
                set.insert(r.get(1)?);
            }
            Ok(())
        })?;
        let sql = format!(
            "SELECT {}, t.number FROM {asked} JOIN tickets t ON t.number = n.value",
            super::directory::ticket_party_columns!()
        );
        self.db().each(&sql, p![json], |r| {
            parties.insert(r.get(3)?, (r.get(0)?, r.get(1)?, r.get(2)?));
            Ok(())
        })?;
        Ok((participants, parties))
    }
}

/// The columns of a ticket `t` that `known_of` reads: its last article's sequence, when it was
/// opened and last updated.
const KNOWN: &str = "(SELECT max(seq) FROM articles WHERE ticket = t.number), t.created, t.updated";

/// A ticket's number with the `KNOWN` columns from column `at` of `r` on.
fn known_of(
    number: &str,
    r: &super::values::Row,
    at: usize,
) -> Result<(String, u64, String, String)> {
    let last_seq = r.get::<Option<i64>>(at)?.unwrap_or(0).max(0) as u64;
    Ok((number.to_string(), last_seq, r.get(at + 1)?, r.get(at + 2)?))
}

impl Tx<'_> {
    /// Asks, in one query, for the earlier articles and quarantine entries of these
    /// (Message-ID, digest) pairs. On PostgreSQL only: SQLite answers in the process.
    pub fn prefetch_duplicates(&self, keys: &[(Option<&str>, &str)]) -> Result<()> {
        if self.db().engine() == Engine::Sqlite || keys.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = keys.iter().filter_map(|(id, _)| *id).collect();
        let bare: Vec<&str> = (keys.iter())
            .filter(|(id, _)| id.is_none())
            .map(|(_, d)| *d)
            .collect();
        let digests: Vec<&str> = keys.iter().map(|(_, d)| *d).collect();
        let db = self.db();
        let sql = format!(
            "SELECT 0, a.message_id, a.digest, a.ticket FROM {} JOIN articles a
                ON a.message_id = ids.value
             UNION ALL SELECT 0, NULL, a.digest, a.ticket FROM {} JOIN articles a
                ON a.message_id IS NULL AND a.digest = bare.value
             UNION ALL SELECT 1, NULL, q.digest, q.reason FROM {} JOIN quarantine q
                ON q.digest = digests.value",
            db.json_texts_table(1, "ids"),
            db.json_texts_table(2, "bare"),
            db.json_texts_table(3, "digests")
        );
        let json = |v: &[&str]| serde_json::to_string(v).expect("strings serialise");
        let asked: HashSet<String> = digests.iter().map(|d| d.to_string()).collect();
        let mut d = Dups {
            asked,
            articles: HashMap::new(),
            quarantined: HashMap::new(),
        };
        db.each(&sql, p![json(&ids), json(&bare), json(&digests)], |r| {
            let kind: i64 = r.get(0)?;
            let digest: String = r.get(2)?;
            let value: String = r.get(3)?;
            if !d.asked.contains(&digest) {
                return Ok(()); // the same Message-ID, another digest: not a copy
            }
            match kind {
                0 => {
                    let id: Option<String> = r.get(1)?;
                    d.articles.entry((id, digest)).or_insert(value);
                }
                _ => {
                    d.quarantined.entry(digest).or_insert(value);
                }
            }
            Ok(())
        })?;
        self.prefetched.borrow_mut().dups = Some(d);
        Ok(())
    }

    /// Asks, in one query, for what the directory says of these senders (the sender query
    /// of `directory::sender` for each, on PostgreSQL, with `LATERAL`). The directory does not
    /// change inside intake's transaction.
    pub fn prefetch_senders(&self, addresses: &[&str]) -> Result<()> {
        if self.db().engine() == Engine::Sqlite {
            return Ok(());
        }
        let keys: Vec<(String, String)> = (addresses.iter())
            .filter_map(|a| super::directory::sender_keys(a))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let mut senders: HashMap<String, Option<SenderRow>> =
            keys.iter().map(|(mail, _)| (mail.clone(), None)).collect();
        let json = serde_json::to_string(&keys).expect("strings serialise");
        self.db().each(
            "SELECT asked.value->>0, s.person, s.organisation
               FROM json_array_elements(CAST(?1 AS TEXT)::json) AS asked(value)
               CROSS JOIN LATERAL (
                 SELECT p.data AS person, o.data AS organisation FROM directory_keys k
                   LEFT JOIN directory_persons p
                          ON k.kind = 'person' AND p.id = k.id AND p.source = k.source
                   LEFT JOIN directory_organisations o
                          ON o.id = (CASE k.kind WHEN 'person' THEN p.organisation ELSE k.id END)
                  WHERE k.key IN (asked.value->>0, asked.value->>1)
                    AND k.kind IN ('person', 'organisation')
                  ORDER BY k.key = asked.value->>0 DESC, k.source <> 'file', o.source <> 'file'
                  LIMIT 1) s",
            p![json],
            |r| {
                senders.insert(r.get(0)?, Some((r.get(1)?, r.get(2)?)));
                Ok(())
            },
        )?;
        self.prefetched.borrow_mut().senders = Some(senders);
        Ok(())
    }

    /// Asks, in two queries, for the tickets of these Message-IDs (with their queue and state)
    /// and the tickets of these numbers.
    pub fn prefetch_tickets(&self, ids: &[&str], numbers: &[String]) -> Result<()> {
        if self.db().engine() == Engine::Sqlite {
            return Ok(());
        }
        let mut threads: HashMap<String, Option<String>> =
            ids.iter().map(|id| (id.to_string(), None)).collect();
        let mut tickets: HashMap<String, Option<(String, State)>> =
            numbers.iter().map(|n| (n.clone(), None)).collect();
        let state = |s: String| State::parse(&s).unwrap_or(State::Open);
        // What the transaction needs of a ticket it files into (`Tx::known_ticket`).
        let mut known = Vec::new();
        if !ids.is_empty() {
            let json = serde_json::to_string(ids).expect("strings serialise");
            self.db().each(
                &format!(
                    "SELECT m.value, a.ticket, t.queue, t.state, {KNOWN}
                       FROM json_array_elements_text(CAST(?1 AS TEXT)::json) AS m(value)
                       CROSS JOIN LATERAL
                         (SELECT ticket FROM articles WHERE message_id = m.value LIMIT 1) a
                       LEFT JOIN tickets t ON t.number = a.ticket"
                ),
                p![json],
                |r| {
                    let ticket: String = r.get(1)?;
                    if let Some(queue) = r.get::<Option<String>>(2)? {
                        let s: String = r.get(3)?;
                        tickets.insert(ticket.clone(), Some((queue, state(s))));
                        known.push(known_of(&ticket, r, 4)?);
                    }
                    threads.insert(r.get(0)?, Some(ticket));
                    Ok(())
                },
            )?;
        }
        if !numbers.is_empty() {
            let json = serde_json::to_string(numbers).expect("strings serialise");
            self.db().each(
                &format!(
                    "SELECT t.number, t.queue, t.state, {KNOWN}
                       FROM json_array_elements_text(CAST(?1 AS TEXT)::json) AS n(value)
                       JOIN tickets t ON t.number = n.value"
                ),
                p![json],
                |r| {
                    let s: String = r.get(2)?;
                    let number: String = r.get(0)?;
                    known.push(known_of(&number, r, 3)?);
                    tickets.insert(number, Some((r.get(1)?, state(s))));
                    Ok(())
                },
            )?;
        }
        let numbers: Vec<&str> = known.iter().map(|k| k.0.as_str()).collect();
        let (participants, parties) = self.ask_about_tickets(&numbers)?;
        for (number, last_seq, created, updated) in known {
            self.known_ticket(&number, last_seq, created, updated);
        }
        let mut p = self.prefetched.borrow_mut();
        p.participants = participants;
        p.parties = parties;
        p.threads = Some(threads);
        p.tickets = Some(tickets);
        Ok(())
    }

    /// Asks, in one query, for the autoresponse counts of these recipients at `now`.
    pub fn prefetch_autoreplies(&self, recipients: &[&str], now: i64) -> Result<()> {
        if self.db().engine() == Engine::Sqlite || recipients.is_empty() {
            return Ok(());
        }
        let db = self.db();
        let sql = format!(
            "SELECT a.recipient, count(*) FROM {} JOIN autoreplies a ON a.recipient = asked.value
              WHERE a.at >= ?2 GROUP BY a.recipient
             UNION ALL SELECT NULL, CAST(coalesce(sum(n), 0) AS BIGINT) FROM autoreply_seconds
              WHERE at >= ?3",
            db.json_texts_table(1, "asked")
        );
        let json = serde_json::to_string(recipients).expect("strings serialise");
        let mut to: HashMap<String, u32> = recipients.iter().map(|r| (r.to_string(), 0)).collect();
        let mut minute = 0;
        db.each(&sql, p![json, now - 86_400, now - 60], |r| {
            let n = r.get::<i64>(1)? as u32;
            match r.get::<Option<String>>(0)? {
                Some(recipient) => {
                    to.insert(recipient, n);
                }
                None => minute = n,
            }
            Ok(())
        })?;
        self.prefetched.borrow_mut().replies = Some(Replies { now, to, minute });
        Ok(())
    }
}

#[cfg(test)]
#[path = "prefetch_tests.rs"]
mod tests;
