//! Finding tickets, open or archived, by number, customer address or subject words
//! (`postdesk ticket find`, an agent's `#find`). The query's terms are read without I/O; the
//! search is one statement over the tickets table, so it costs the same wherever the folders
//! are.

use super::db::{Db, P};

use super::read::{ticket_row, TICKET_COLUMNS};
use super::{Index, Result, Ticket, Tx};

/// What a search asks for; every term must match (a ticket number among `numbers`, each
/// address, each word).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Ticket numbers: digits, perhaps written as `#N`, `Ticket#N` or `[Ticket#N]`.
    pub numbers: Vec<String>,
    /// Words with an `@`: the customer's address or a participant's (lowercase).
    pub addresses: Vec<String>,
    /// Other words: in the subject, any case.
    pub words: Vec<String>,
}

/// At most this many terms are used; the rest of a long text is ignored.
const MAX_TERMS: usize = 8;

impl Query {
    /// Reads terms separated by white space; punctuation around a term is dropped.
    pub fn parse(text: &str) -> Query {
        let mut q = Query::default();
        for raw in text.split_whitespace().take(MAX_TERMS) {
            let t = raw.trim_matches(|c: char| {
                matches!(
                    c,
                    '<' | '>' | '[' | ']' | '(' | ')' | '"' | '\'' | ',' | ';'
                )
            });
            let lower = t.to_lowercase();
            let number = lower
                .strip_prefix("ticket#")
                .or_else(|| lower.strip_prefix('#'))
                .unwrap_or(&lower)
                .trim_start_matches(':');
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
                q.numbers.push(number.to_string());
            } else if t.contains('@') {
                q.addresses
                    .push(lower.trim_start_matches("mailto:").to_string());
            } else if !t.is_empty() {
                q.words.push(t.to_string());
            }
        }
        q
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty() && self.addresses.is_empty() && self.words.is_empty()
    }
}

/// `%` and `_` in a term match themselves.
fn like(term: &str) -> String {
    let mut s = String::from("%");
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// Tickets matching `q`, most recently changed first, at most `limit`; with `queues`, only
/// tickets of those queues (an agent's).
fn find(conn: &Db, q: &Query, queues: Option<&[String]>, limit: usize) -> Result<Vec<Ticket>> {
    let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1 = 1");
    let mut texts: Vec<String> = Vec::new();
    let list = |n: usize| vec!["?"; n].join(", ");
    if !q.numbers.is_empty() {
        sql.push_str(&format!(" AND t.number IN ({})", list(q.numbers.len())));
        texts.extend(q.numbers.iter().cloned());
    }
    if let Some(queues) = queues {
        // Queue names compare without case (ASCII), on either engine.
        sql.push_str(&format!(" AND lower(t.queue) IN ({})", list(queues.len())));
        texts.extend(queues.iter().map(|q| q.to_ascii_lowercase()));
    }
    // SQLite's LIKE ignores ASCII case; PostgreSQL's does not, its ILIKE does.
    let like_op = conn.pick("LIKE", "ILIKE");
    for a in &q.addresses {
        sql.push_str(&format!(
            " AND (t.customer {like_op} ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM participants p
                   WHERE p.ticket = t.number AND p.address = ?))"
        ));
        texts.push(like(a));
        texts.push(a.clone());
    }
    for w in &q.words {
        sql.push_str(&format!(" AND t.subject {like_op} ? ESCAPE '\\'"));
        texts.push(like(w));
    }
    sql.push_str(" ORDER BY t.updated DESC, t.number DESC LIMIT ?");
    let mut args: Vec<P> = texts.iter().map(|t| P::Text(t)).collect();
    args.push(P::Int(limit.min(i64::MAX as usize) as i64));
    conn.all(&sql, &args, ticket_row)
}

impl Index {
    pub fn find(&self, q: &Query, queues: Option<&[String]>, limit: usize) -> Result<Vec<Ticket>> {
        find(&self.db, q, queues, limit)
    }
}

impl Tx<'_> {
    pub fn find(&self, q: &Query, queues: Option<&[String]>, limit: usize) -> Result<Vec<Ticket>> {
        find(self.db(), q, queues, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::State;

    #[test]
    fn terms_are_numbers_addresses_or_words() {
        let q = Query::parse("[Ticket#2026112010000023] <Jane@Example.org> printer, #42 jams");
        assert_eq!(q.numbers, ["2026112010000023", "42"]);
        assert_eq!(q.addresses, ["jane@example.org"]);
        assert_eq!(q.words, ["printer", "jams"]);
        assert!(Query::parse("  ").is_empty());
        assert_eq!(Query::parse("a b c d e f g h i j").words.len(), MAX_TERMS);
    }

    #[test]
    fn every_term_must_match_and_queues_limit_the_search() {
        let mut idx = Index::open_memory().unwrap();
        let tx = idx.begin().unwrap();
        for (n, queue, state, subject, customer, at) in [
            (
                "11",
                "Support",
                State::Closed,
                "Printer jams",
                "jane@example.org",
                "2026-01-01",
            ),
            (
                "12",
                "Support",
                State::Open,
                "Printer 100% broken",
                "Kim <kim@example.org>",
                "2026-02-01",
            ),
            (
                "13",
                "Billing",
                State::Closed,
                "Invoice printer",
                "jane@example.org",
                "2026-03-01",
            ),
        ] {
            tx.insert_ticket(
                n,
                queue,
                state,
                subject,
                customer,
                at,
                None,
                &Default::default(),
            )
            .unwrap();
        }
        tx.add_participant("12", "jane@example.org").unwrap();
        let numbers = |t: Vec<Ticket>| t.into_iter().map(|t| t.number).collect::<Vec<_>>();
        let find = |text: &str, queues: Option<&[String]>| {
            numbers(tx.find(&Query::parse(text), queues, 10).unwrap())
        };
        assert_eq!(find("11", None), ["11"]);
        assert_eq!(find("printer", None), ["13", "12", "11"]);
        assert_eq!(find("PRINTER jams", None), ["11"]);
        assert_eq!(find("jane@example.org", None), ["13", "12", "11"]);
        assert_eq!(find("kim@example.org printer", None), ["12"]);
        assert_eq!(find("100%", None), ["12"]);
        assert_eq!(find("1%", None), Vec::<String>::new());
        let support = ["support".to_string()];
        assert_eq!(find("printer", Some(&support)), ["12", "11"]);
        assert_eq!(find("13", Some(&support)), Vec::<String>::new());
        assert_eq!(
            numbers(tx.find(&Query::parse("printer"), None, 1).unwrap()),
            ["13"]
        );
    }
}
