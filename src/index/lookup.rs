//! The matcher's questions, answered on any connection: inside intake's write transaction, or
//! read-only for `explain`.

use super::db::{p, Db};

use super::prefetch::Prefetched;
use super::rows::{Duplicate, State, TicketRef};
use super::{AnswerParties, Lines, Sender, TicketParty};
use super::{Index, IndexError, Result, Tx};
use crate::people::{Organisation, Service};

/// What the matcher (`decide`) asks the index, on whatever connection the caller has.
pub trait Lookup {
    type Error;
    fn ticket(&self, number: &str) -> std::result::Result<Option<TicketRef>, Self::Error>;
    fn ticket_of_message(
        &self,
        message_id: &str,
    ) -> std::result::Result<Option<String>, Self::Error>;
    fn is_participant(&self, number: &str, address: &str)
        -> std::result::Result<bool, Self::Error>;
    /// An earlier message with the same digest (which covers the raw Message-ID, so the same
    /// message has the same `message_id`).
    fn duplicate(
        &self,
        digest: &str,
        message_id: Option<&str>,
    ) -> std::result::Result<Option<Duplicate>, Self::Error>;
    /// Autoresponses to `recipient` in the 24 hours before `now` and to anyone in the minute
    /// before it: what the autoresponse limits count.
    fn autoreply_counts(
        &self,
        recipient: &str,
        now: i64,
    ) -> std::result::Result<(u32, u32), Self::Error>;
    /// Notices about mail from `sender` since `since`, and when the oldest was sent.
    fn notices_about(
        &self,
        sender: &str,
        since: i64,
    ) -> std::result::Result<(u32, Option<i64>), Self::Error>;
    /// Who a ticket's answers go to: what a follow-up's named recipients are compared with.
    fn answer_parties(&self, number: &str) -> std::result::Result<AnswerParties, Self::Error>;
    /// The ticket's person and organisation as the directory has them now: an agent's answer's
    /// salutation, and what its standard responses may say.
    fn directory_ticket(&self, number: &str) -> std::result::Result<TicketParty, Self::Error>;
    /// Whom a new ticket from `address` belongs to (see `decide::customer`).
    fn directory_sender(&self, address: &str) -> std::result::Result<Sender, Self::Error>;
    /// Everyone a number (E.164) belongs to: a fax's sender.
    fn directory_lines(&self, number: &str) -> std::result::Result<Lines, Self::Error>;
    fn directory_organisation(
        &self,
        id: &str,
    ) -> std::result::Result<Option<Organisation>, Self::Error>;
    /// The one service the directory defines, if it defines exactly one.
    fn directory_only_service(&self) -> std::result::Result<Option<Service>, Self::Error>;
}

fn ticket(c: &Db, number: &str) -> Result<Option<TicketRef>> {
    c.opt(
        "SELECT queue, state FROM tickets WHERE number = ?1",
        p![number],
        |r| {
            let state: String = r.get(1)?;
            Ok(TicketRef {
                number: number.to_string(),
                queue: r.get(0)?,
                state: State::parse(&state).unwrap_or(State::Open),
            })
        },
    )
}

fn ticket_of_message(c: &Db, message_id: &str) -> Result<Option<String>> {
    c.opt(
        "SELECT ticket FROM articles WHERE message_id = ?1 LIMIT 1",
        p![message_id],
        |r| r.get(0),
    )
}

fn is_participant(c: &Db, number: &str, address: &str) -> Result<bool> {
    c.exists(
        "SELECT 1 FROM participants WHERE ticket = ?1 AND address = ?2",
        p![number, address],
    )
}

/// Articles are found by their Message-ID (the index that threading needs anyway) and only then
/// compared by digest; those without one through an index of them alone. A unique index of
/// every digest (random keys) dirtied a page of its own per message, which a large index no
/// longer holds in its cache (see README, Performance).
fn duplicate(c: &Db, digest: &str, message_id: Option<&str>) -> Result<Option<Duplicate>> {
    // Both look-ups in one query (a round trip each on PostgreSQL); an article comes first.
    let article = match message_id {
        Some(_) => "SELECT ticket FROM articles WHERE message_id = ?1 AND digest = ?2 LIMIT 1",
        None => {
            "SELECT ticket FROM articles
             WHERE digest = ?2 AND message_id IS NULL AND CAST(?1 AS TEXT) IS NULL LIMIT 1"
        }
    };
    let sql = format!(
        "SELECT 0, ticket FROM ({article}) a
         UNION ALL SELECT 1, reason FROM (SELECT reason FROM quarantine WHERE digest = ?2 LIMIT 1) q
         ORDER BY 1 LIMIT 1"
    );
    let found = c.opt(&sql, p![message_id, digest], |r| {
        Ok((r.get::<i64>(0)?, r.get::<String>(1)?))
    })?;
    Ok(found.map(|(kind, value)| match kind {
        0 => Duplicate::Article { ticket: value },
        _ => Duplicate::Quarantined { reason: value },
    }))
}

/// `Lookup` on a connection `$e` of `$conn`, after what the connection knows already (asked
/// ahead for a batch: `answers`).
macro_rules! lookup_on {
    ($t:ty, $conn:ident => $e:expr) => {
        impl Lookup for $t {
            type Error = IndexError;
            fn ticket(&self, number: &str) -> Result<Option<TicketRef>> {
                if let Some(known) = self.answers().and_then(|a| a.ticket(number)) {
                    return Ok(known);
                }
                let $conn = self;
                ticket($e, number)
            }
            fn ticket_of_message(&self, id: &str) -> Result<Option<String>> {
                if let Some(known) = self.answers().and_then(|a| a.ticket_of_message(id)) {
                    return Ok(known);
                }
                let $conn = self;
                ticket_of_message($e, id)
            }
            fn is_participant(&self, number: &str, address: &str) -> Result<bool> {
                if let Some(known) = self
                    .answers()
                    .and_then(|a| a.is_participant(number, address))
                {
                    return Ok(known);
                }
                let $conn = self;
                is_participant($e, number, address)
            }
            fn duplicate(&self, digest: &str, id: Option<&str>) -> Result<Option<Duplicate>> {
                if let Some(known) = self.answers().and_then(|a| a.duplicate(digest, id)) {
                    return Ok(known);
                }
                let $conn = self;
                duplicate($e, digest, id)
            }
            fn autoreply_counts(&self, recipient: &str, now: i64) -> Result<(u32, u32)> {
                <$t>::autoreply_counts(self, recipient, now)
            }
            fn notices_about(&self, sender: &str, since: i64) -> Result<(u32, Option<i64>)> {
                <$t>::notices_about(self, sender, since)
            }
            fn answer_parties(&self, number: &str) -> Result<AnswerParties> {
                <$t>::answer_parties(self, number)
            }
            fn directory_ticket(&self, number: &str) -> Result<TicketParty> {
                <$t>::directory_ticket(self, number)
            }
            fn directory_sender(&self, address: &str) -> Result<Sender> {
                <$t>::directory_sender(self, address)
            }
            fn directory_lines(&self, number: &str) -> Result<Lines> {
                <$t>::directory_lines(self, number)
            }
            fn directory_organisation(&self, id: &str) -> Result<Option<Organisation>> {
                <$t>::directory_organisation(self, id)
            }
            fn directory_only_service(&self) -> Result<Option<Service>> {
                <$t>::directory_only_service(self)
            }
        }
    };
}

impl Index {
    /// An index answers every question itself.
    fn answers(&self) -> Option<std::cell::Ref<'_, Prefetched>> {
        None
    }
}

impl Tx<'_> {
    fn answers(&self) -> Option<std::cell::Ref<'_, Prefetched>> {
        Some(self.prefetched.borrow())
    }
}

lookup_on!(Index, s => &s.db);
lookup_on!(Tx<'_>, s => s.db());
