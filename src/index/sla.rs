//! What service levels keep in the index: each ticket's next due time (`tickets.due_at`, with a
//! partial index, so a round reads the due tickets and nothing else), what a ticket's deadlines
//! are computed from, and the Maildir flags still to be set or cleared (`sla_flags`).

use super::db::{p, Db, Row};

use super::{Index, Result, Tx};

/// What a ticket's deadlines follow from, read in one go.
#[derive(Debug, Clone, Default)]
pub struct SlaRows {
    pub number: String,
    pub queue: String,
    pub open: bool,
    pub created: String,
    pub pending: Option<String>,
    pub sla: Option<String>,
    pub owner: Option<String>,
    pub organisation: Option<String>,
    pub service: Option<String>,
    pub subject: String,
    /// The ticket's customer as its first sender wrote it.
    pub customer: String,
    /// `(received, direction, event, classification, file)` in the ticket's order.
    pub articles: Vec<(String, String, String, String, String)>,
    /// `(at, event, detail, key)` of the events deadlines depend on and of the service levels'
    /// own lines (keys `sla:…`), in the order they were recorded.
    pub events: Vec<(String, String, String, Option<String>)>,
}

/// The fingerprint of the service levels' configuration the stored due times were computed with.
const FINGERPRINT: &str = "sla-configuration";

/// The ticket's own columns, as `ticket_row` reads them.
const TICKET_COLUMNS: &str = "number, queue, state, created, pending, sla, owner, organisation, \
     service, subject, customer";

/// The events deadlines read, as a condition on `history` (the partial index
/// `history_deadlines` has the same one, so that a scan of them reads that index alone).
const EVENTS_WANTED: &str = "(event IN ('pending', 'closed', 'reopened') \
     OR key LIKE 'sla:%' OR key LIKE 'pending:%')";

fn ticket_row(r: &Row) -> Result<SlaRows> {
    Ok(SlaRows {
        number: r.get(0)?,
        queue: r.get(1)?,
        open: r.get::<String>(2)? == "open",
        created: r.get(3)?,
        pending: r.get(4)?,
        sla: r.get(5)?,
        owner: r.get(6)?,
        organisation: r.get(7)?,
        service: r.get(8)?,
        subject: r.get(9)?,
        customer: r.get(10)?,
        ..Default::default()
    })
}

type Article = (String, String, String, String, String);
type Event = (String, String, String, Option<String>);

/// An article's columns from `at`: received, direction, event, classification, file.
fn article_row(r: &Row, at: usize) -> Result<Article> {
    Ok((
        r.get(at)?,
        r.get(at + 1)?,
        r.get(at + 2)?,
        r.get(at + 3)?,
        r.get(at + 4)?,
    ))
}

/// An article's place among its ticket's (seq, id), then its columns, from `at`.
fn placed_article_row(r: &Row, at: usize) -> Result<(i64, i64, Article)> {
    Ok((r.get(at)?, r.get(at + 1)?, article_row(r, at + 2)?))
}

/// An event's columns from `at`: at, event, detail, key.
fn event_row(r: &Row, at: usize) -> Result<Event> {
    Ok((r.get(at)?, r.get(at + 1)?, r.get(at + 2)?, r.get(at + 3)?))
}

fn rows(conn: &Db, number: &str) -> Result<Option<SlaRows>> {
    let t = conn.opt(
        &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE number = ?1"),
        p![number],
        ticket_row,
    )?;
    let Some(mut t) = t else { return Ok(None) };
    t.articles = conn.all(
        "SELECT received, direction, event, classification, file FROM articles
         WHERE ticket = ?1 ORDER BY seq, received, id",
        p![number],
        |r| article_row(r, 0),
    )?;
    t.events = conn.all(
        &format!(
            "SELECT at, event, detail, key FROM history
             WHERE ticket = ?1 AND {EVENTS_WANTED} ORDER BY id"
        ),
        p![number],
        |r| event_row(r, 0),
    )?;
    Ok(Some(t))
}

/// How many of the wanted numbers `sla_rows_of` reads at a time: three range scans per chunk,
/// each held in memory until the chunk is merged.
const CHUNK: usize = 2_000;

/// One of the ordered scans `sla_rows_of` merges: rows keyed by ticket number, in the order of
/// the numbers.
struct Scan<T> {
    rows: std::iter::Peekable<std::vec::IntoIter<(String, T)>>,
}

impl<T> Scan<T> {
    fn new(rows: Vec<(String, T)>) -> Self {
        Scan {
            rows: rows.into_iter().peekable(),
        }
    }

    /// The rows of ticket `number`, skipping those of tickets before it (numbers come in
    /// binary order, which is `str`'s).
    fn take(&mut self, number: &str, into: &mut Vec<T>) {
        while let Some((ticket, _)) = self.rows.peek() {
            if ticket.as_str() > number {
                break;
            }
            let (ticket, row) = self.rows.next().expect("a row is ahead");
            if ticket == number {
                into.push(row);
            }
        }
    }
}

impl Index {
    pub fn sla_rows(&self, number: &str) -> Result<Option<SlaRows>> {
        rows(&self.db, number)
    }

    /// What `sla_rows` reads, for each of `numbers` (sorted, each once) that is a ticket, in
    /// their order: three scans over the range of the numbers, merged, instead of three
    /// look-ups a ticket (a year of a million tickets in seconds, not a minute).
    pub fn sla_rows_of(
        &self,
        numbers: &[String],
        mut each: impl FnMut(SlaRows) -> Result<()>,
    ) -> Result<()> {
        let (Some(first), Some(last)) = (numbers.first(), numbers.last()) else {
            return Ok(());
        };
        let _ = (first, last);
        // Ordered by what the index `articles_ticket` orders; the rest of a ticket's order
        // (received, id), which the engine would sort in a temporary B-tree, is sorted here.
        let tickets_sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE number BETWEEN ?1 AND ?2 ORDER BY number"
        );
        let articles_sql =
            "SELECT ticket, seq, id, received, direction, event, classification, file
             FROM articles WHERE ticket BETWEEN ?1 AND ?2 ORDER BY ticket, seq";
        let events_sql = format!(
            "SELECT ticket, at, event, detail, key FROM history
             WHERE ticket BETWEEN ?1 AND ?2 AND {EVENTS_WANTED} ORDER BY ticket, id"
        );
        let mut placed = Vec::new();
        for chunk in numbers.chunks(CHUNK) {
            let range = p![chunk[0], chunk[chunk.len() - 1]];
            let tickets = self.db.all(&tickets_sql, range, ticket_row)?;
            let mut articles = Scan::new(self.db.all(articles_sql, range, |r| {
                Ok((r.get::<String>(0)?, placed_article_row(r, 1)?))
            })?);
            let mut events = Scan::new(self.db.all(&events_sql, range, |r| {
                Ok((r.get::<String>(0)?, event_row(r, 1)?))
            })?);
            let mut wanted = chunk.iter().peekable();
            for mut t in tickets {
                while wanted.next_if(|n| **n < t.number).is_some() {}
                if wanted.next_if(|n| **n == t.number).is_none() {
                    continue;
                }
                articles.take(&t.number, &mut placed);
                placed.sort_unstable_by(|(s1, i1, a1): &(i64, i64, Article), (s2, i2, a2)| {
                    (s1, &a1.0, i1).cmp(&(s2, &a2.0, i2))
                });
                t.articles.extend(placed.drain(..).map(|(_, _, a)| a));
                events.take(&t.number, &mut t.events);
                each(t)?;
            }
        }
        Ok(())
    }

    /// The smallest stored due time, if any ticket has one.
    pub fn earliest_due(&self) -> Result<Option<i64>> {
        self.db.one(
            "SELECT min(due_at) FROM tickets WHERE due_at IS NOT NULL",
            p![],
            |r| r.get(0),
        )
    }

    /// Flag renames committed but not yet known done: `(ticket, file, want)`.
    pub fn flags_to_do(&self) -> Result<Vec<(String, String, bool)>> {
        self.db.all(
            "SELECT ticket, file, want FROM sla_flags WHERE done = 0",
            p![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get::<i64>(2)? == 1)),
        )
    }
}

impl Tx<'_> {
    pub fn sla_rows(&self, number: &str) -> Result<Option<SlaRows>> {
        rows(self.db(), number)
    }

    /// Tickets due at `now` (Unix seconds), the most overdue first.
    pub fn due_tickets(&self, now: i64, limit: usize) -> Result<Vec<String>> {
        self.db().all(
            "SELECT number FROM tickets WHERE due_at IS NOT NULL AND due_at <= ?1
             ORDER BY due_at LIMIT ?2",
            p![now, limit as i64],
            |r| r.get(0),
        )
    }

    /// With no service level configured, a due ticket waits for nothing but its pending time:
    /// the due times of those without one are cleared at once, without reading their rows
    /// (after a batch of new tickets, a statement instead of four reads a ticket). Returns how
    /// many were.
    pub fn settle_due_without_levels(&self, now: i64) -> Result<usize> {
        self.db().exec(
            "UPDATE tickets SET due_at = NULL
             WHERE due_at IS NOT NULL AND due_at <= ?1 AND pending IS NULL",
            p![now],
        )
    }

    /// Stores a ticket's next due time; `None`: nothing is to be done for it.
    pub fn set_due(&self, number: &str, due: Option<i64>) -> Result<()> {
        self.db().defer(
            "UPDATE tickets SET due_at = ?2 WHERE number = ?1",
            p![number, due],
        )?;
        Ok(())
    }

    /// When the configuration the due times were computed with is not `fingerprint`: every
    /// open ticket is due for a new computation. Returns how many were.
    pub fn sla_configuration(&self, fingerprint: i64) -> Result<usize> {
        let old: Option<i64> = self.db().opt(
            "SELECT value FROM counters WHERE key = ?1",
            p![FINGERPRINT],
            |r| r.get(0),
        )?;
        if old == Some(fingerprint) {
            return Ok(0);
        }
        self.db().exec(
            "INSERT INTO counters(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            p![FINGERPRINT, fingerprint],
        )?;
        self.db()
            .exec("UPDATE tickets SET due_at = 0 WHERE state = 'open'", p![])
    }

    /// Wants an article flagged (`want`) or not; the rename follows the commit.
    pub fn want_flag(&self, ticket: &str, file: &str, want: bool) -> Result<()> {
        self.db().exec(
            "INSERT INTO sla_flags(ticket, file, want, done) VALUES (?1, ?2, ?3, 0)
                 ON CONFLICT(ticket, file) DO UPDATE SET want = excluded.want, done = 0",
            p![ticket, file, want as i64],
        )?;
        Ok(())
    }

    /// Every article of the ticket the service levels flagged is to be unflagged.
    pub fn unflag_ticket(&self, ticket: &str) -> Result<usize> {
        self.db().exec(
            "UPDATE sla_flags SET want = 0, done = 0 WHERE ticket = ?1 AND want = 1",
            p![ticket],
        )
    }

    /// The rename is done and durable: a set flag is remembered, a cleared one forgotten.
    pub fn flag_done(&self, ticket: &str, file: &str, want: bool) -> Result<()> {
        let sql = if want {
            "UPDATE sla_flags SET done = 1 WHERE ticket = ?1 AND file = ?2 AND want = 1"
        } else {
            "DELETE FROM sla_flags WHERE ticket = ?1 AND file = ?2 AND want = 0"
        };
        self.db().exec(sql, p![ticket, file])?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "sla_tests.rs"]
mod tests;
