//! Queries for the CLI, recovery and fsck.

use super::db::{p, Db, Row};

use super::rows::{Article, Event, Quarantined, State, Ticket};
use super::{Index, Result};
use crate::store::names::order_key;

pub(super) const TICKET_COLUMNS: &str =
    "t.number, t.queue, t.state, t.subject, t.customer, t.created, t.updated, t.refers,
     (SELECT count(*) FROM articles a WHERE a.ticket = t.number), t.owner, t.priority, t.pending,
     t.customer_id, t.person, t.organisation, t.service, t.sla";

pub(super) fn ticket_row(r: &Row) -> Result<Ticket> {
    let state: String = r.get(2)?;
    Ok(Ticket {
        number: r.get(0)?,
        queue: r.get(1)?,
        state: State::parse(&state).unwrap_or(State::Open),
        subject: r.get(3)?,
        customer: r.get(4)?,
        created: r.get(5)?,
        updated: r.get(6)?,
        refers: r.get(7)?,
        articles: r.get::<i64>(8)? as u64,
        owner: r.get(9)?,
        priority: r.get(10)?,
        pending: r.get(11)?,
        customer_id: r.get(12)?,
        attribution: super::rows::Attribution {
            person: r.get(13)?,
            organisation: r.get(14)?,
            service: r.get(15)?,
        },
        sla: r.get(16)?,
    })
}

const ARTICLE_COLUMNS: &str =
    "ticket, file, message_id, digest, from_addr, to_addrs, cc_addrs, subject, date,
     received, direction, classification, event, bounce_of, stranger, size, attachments,
     reply_addr, seq, author_header";

fn article_row(r: &Row) -> Result<Article> {
    let attachments: String = r.get(16)?;
    Ok(Article {
        ticket: r.get(0)?,
        file: r.get(1)?,
        message_id: r.get(2)?,
        digest: r.get(3)?,
        from: r.get(4)?,
        to: r.get(5)?,
        cc: r.get(6)?,
        subject: r.get(7)?,
        date: r.get(8)?,
        received: r.get(9)?,
        direction: r.get(10)?,
        classification: r.get(11)?,
        event: r.get(12)?,
        bounce_of: r.get(13)?,
        stranger: r.get(14)?,
        size: r.get::<i64>(15)? as u64,
        attachments: serde_json::from_str(&attachments).unwrap_or_default(),
        reply_addr: r.get(17)?,
        seq: r.get::<i64>(18)? as u64,
        author_header: r.get(19)?,
    })
}

fn event_row(r: &Row) -> Result<Event> {
    Ok(Event {
        ticket: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        detail: r.get(3)?,
    })
}

/// Where an article sorts among its ticket's: its sequence, then receipt time, then the file
/// name's own time and counter read as numbers (a plain string order puts `…M99990…` after
/// `…M100010…`).
pub fn article_order(a: &Article) -> (u64, &str, (u64, u64, u64, &str)) {
    (a.seq, &a.received, order_key(&a.file))
}

/// Which tickets `tickets_where` lists; `None` places no condition. `person` and `address`
/// together match a ticket that either matches.
#[derive(Debug, Clone, Copy, Default)]
pub struct TicketFilter<'a> {
    pub queue: Option<&'a str>,
    pub state: Option<State>,
    pub person: Option<&'a str>,
    pub address: Option<&'a str>,
    pub organisation: Option<&'a str>,
}

/// A row still waiting for its staged file to be placed in the tree.
#[derive(Debug, Clone)]
pub struct Pending {
    pub staged: String,
    pub file: String,
    /// The ticket it belongs to; `None` for quarantine.
    pub ticket: Option<Ticket>,
}

impl Index {
    pub fn tickets(&self, queue: Option<&str>, state: Option<State>) -> Result<Vec<Ticket>> {
        self.tickets_where(&TicketFilter {
            queue,
            state,
            ..TicketFilter::default()
        })
    }

    /// Tickets in the order they were opened, filtered: each given condition must hold.
    pub fn tickets_where(&self, f: &TicketFilter) -> Result<Vec<Ticket>> {
        tickets_where(&self.db, f)
    }

    pub fn ticket(&self, number: &str) -> Result<Option<Ticket>> {
        ticket(&self.db, number)
    }

    pub fn articles(&self, number: &str) -> Result<Vec<Article>> {
        articles(&self.db, number)
    }

    pub fn all_articles(&self) -> Result<Vec<Article>> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY file");
        self.db.all(&sql, p![], article_row)
    }

    /// A ticket's history in time order. Events of the same instant (one batch) come in a fixed
    /// order — what arrived, what it changed, what was queued, what was sent — so the index and
    /// a rebuilt one show the same sequence whatever order they were recorded in.
    pub fn history(&self, number: &str) -> Result<Vec<Event>> {
        self.db.all(
            "SELECT ticket, at, event, detail FROM history WHERE ticket = ?1
             ORDER BY at,
                CASE
                    WHEN event IN ('created', 'follow-up', 'reopened', 'answer', 'note') THEN 0
                    WHEN event IN ('linked', 'suspected-stranger') THEN 1
                    WHEN event IN ('autoresponse', 'notified', 'answer-queued', 'notice') THEN 3
                    WHEN event IN ('sent', 'send-failed') THEN 4
                    WHEN event = 'sla-breach' THEN 3
                    ELSE 2
                END,
                event, detail",
            p![number],
            event_row,
        )
    }

    pub fn all_history(&self) -> Result<Vec<Event>> {
        self.db.all(
            "SELECT ticket, at, event, detail FROM history ORDER BY ticket, at, event, detail",
            p![],
            event_row,
        )
    }

    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        self.db.all(
            "SELECT file, digest, message_id, reason, received FROM quarantine ORDER BY file",
            p![],
            |r| {
                Ok(Quarantined {
                    file: r.get(0)?,
                    digest: r.get(1)?,
                    message_id: r.get(2)?,
                    reason: r.get(3)?,
                    received: r.get(4)?,
                })
            },
        )
    }

    pub fn counters(&self) -> Result<Vec<(String, u64)>> {
        self.db
            .all("SELECT key, value FROM counters ORDER BY key", p![], |r| {
                Ok((r.get(0)?, r.get::<i64>(1)? as u64))
            })
    }

    pub fn participants(&self) -> Result<Vec<(String, String)>> {
        self.db.all(
            "SELECT ticket, address FROM participants ORDER BY ticket, address",
            p![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Rows whose file is still in the staging area (a crash came between commit and placing).
    pub fn pending(&self) -> Result<Vec<Pending>> {
        let mut out = Vec::new();
        let rows: Vec<(String, String, String)> = self.db.all(
            "SELECT staged, file, ticket FROM articles WHERE staged IS NOT NULL",
            p![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for (staged, file, ticket) in rows {
            let ticket = self.ticket(&ticket)?;
            out.push(Pending {
                staged,
                file,
                ticket,
            });
        }
        out.extend(self.db.all(
            "SELECT staged, file FROM quarantine WHERE staged IS NOT NULL",
            p![],
            |r| {
                Ok(Pending {
                    staged: r.get(0)?,
                    file: r.get(1)?,
                    ticket: None,
                })
            },
        )?);
        Ok(out)
    }

    pub fn is_staged_known(&self, staged: &str) -> Result<bool> {
        Ok(self
            .db
            .exists("SELECT 1 FROM articles WHERE staged = ?1", p![staged])?
            || self
                .db
                .exists("SELECT 1 FROM quarantine WHERE staged = ?1", p![staged])?)
    }
}

impl Index {
    /// Whether a kept source file was already taken in.
    pub fn source_seen(&self, source: &str, name: &str) -> Result<bool> {
        self.db.exists(
            "SELECT 1 FROM seen_sources WHERE source = ?1 AND name = ?2",
            p![source, name],
        )
    }
}

fn tickets_where(c: &Db, f: &TicketFilter) -> Result<Vec<Ticket>> {
    // The customer: the person's id, or the address the ticket's first message came from
    // (the `customer` column is `Name <address>` or the address alone).
    // The last characters of the customer column: SQLite counts from the end with a negative
    // start, PostgreSQL has `right`.
    let tail = c.pick(
        "substr(lower(t.customer), -length(CAST(?4 AS TEXT)) - 2)",
        "right(lower(t.customer), length(CAST(?4 AS TEXT)) + 2)",
    );
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t
         WHERE (CAST(?1 AS TEXT) IS NULL OR lower(t.queue) = lower(?1)) AND (CAST(?2 AS TEXT) IS NULL OR t.state = ?2)
           AND (CAST(?3 AS TEXT) IS NULL AND CAST(?4 AS TEXT) IS NULL
                OR t.person = ?3
                OR lower(t.customer) = ?4
                OR {tail} = '<' || ?4 || '>')
           AND (CAST(?5 AS TEXT) IS NULL OR t.organisation = ?5)
         ORDER BY t.created, t.number"
    );
    let address = f.address.map(|a| a.trim().to_ascii_lowercase());
    c.all(
        &sql,
        p![
            f.queue,
            f.state.map(State::as_str),
            f.person,
            address,
            f.organisation
        ],
        ticket_row,
    )
}

fn ticket(c: &Db, number: &str) -> Result<Option<Ticket>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.number = ?1");
    c.opt(&sql, p![number], ticket_row)
}

fn articles(c: &Db, number: &str) -> Result<Vec<Article>> {
    let sql = format!(
        "SELECT {ARTICLE_COLUMNS} FROM articles WHERE ticket = ?1 ORDER BY seq, received, file"
    );
    let mut articles: Vec<Article> = c.all(&sql, p![number], article_row)?;
    // The sequence postdesk assigned; should two share one (files copied in by hand), the
    // rule `reindex` numbers old articles by.
    articles.sort_by(|a, b| article_order(a).cmp(&article_order(b)));
    Ok(articles)
}

/// Tickets and their articles as the CLI prints them, read from the index or inside a batch's
/// transaction (customer requests answered by mail).
pub trait Records {
    fn records(&self, f: &TicketFilter) -> Result<Vec<Ticket>>;
    fn record(&self, number: &str) -> Result<Option<Ticket>>;
    fn articles_of(&self, number: &str) -> Result<Vec<Article>>;
    fn sender(&self, address: &str) -> Result<super::Sender>;
}

macro_rules! records_on {
    ($t:ty, $s:ident => $e:expr) => {
        impl Records for $t {
            fn records(&self, f: &TicketFilter) -> Result<Vec<Ticket>> {
                let $s = self;
                tickets_where($e, f)
            }
            fn record(&self, number: &str) -> Result<Option<Ticket>> {
                let $s = self;
                ticket($e, number)
            }
            fn articles_of(&self, number: &str) -> Result<Vec<Article>> {
                let $s = self;
                articles($e, number)
            }
            fn sender(&self, address: &str) -> Result<super::Sender> {
                self.directory_sender(address)
            }
        }
    };
}

records_on!(Index, s => &s.db);
records_on!(super::Tx<'_>, s => s.db());
