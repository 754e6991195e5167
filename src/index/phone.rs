//! The directory asked about a telephone call: everyone a number belongs to (a number shared by
//! several persons is ambiguous, and the caller is asked), the organisations by id, a person
//! by mail address. Each is one indexed query.

use super::db::{p, Db, Engine};

use super::directory::{keyed_entries, parse};
use super::read::{ticket_row, TICKET_COLUMNS};
use super::Ticket;
use super::{Index, Result, Tx};
use crate::people::{Organisation, Person, Service};

/// Whom a number (E.164) belongs to, each entry once, the file's first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    pub persons: Vec<Person>,
    pub organisations: Vec<Organisation>,
    pub services: Vec<Service>,
}

/// Every entry with the key `?1`: kind, id, data; the file's entry of an id first.
const LINES: &str = concat!(
    "SELECT k.kind, k.id, coalesce(p.data, o.data, s.data)",
    keyed_entries!(),
    " ORDER BY k.kind, k.id, k.source <> 'file'"
);

const ORGANISATION: &str =
    "SELECT data FROM directory_organisations WHERE id = ?1 ORDER BY source <> 'file' LIMIT 1";

/// The person with the key `?1` (`mail:ADDRESS`), the file's first.
const PERSON: &str = "SELECT p.data FROM directory_keys k
             JOIN directory_persons p ON p.id = k.id AND p.source = k.source
             WHERE k.key = ?1 AND k.kind = 'person'
             ORDER BY k.source <> 'file' LIMIT 1";

/// Open tickets of a person (`?1`) or an organisation (`?2`), the newest first, at most `?3`:
/// through the partial indexes on `tickets.person` and `tickets.organisation` (SQLite is told
/// which, its planner would take the state's index; PostgreSQL's chooses them itself).
fn open_tickets_sql(engine: Engine) -> String {
    let (by_person, by_organisation) = match engine {
        Engine::Sqlite => (
            "INDEXED BY tickets_person",
            "INDEXED BY tickets_organisation",
        ),
        Engine::Postgres => ("", ""),
    };
    format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t {by_person}
           WHERE t.person = ?1 AND t.person IS NOT NULL AND t.state = 'open'
         UNION ALL
         SELECT {TICKET_COLUMNS} FROM tickets t {by_organisation}
           WHERE t.organisation = ?2 AND t.organisation IS NOT NULL AND t.state = 'open'
         ORDER BY 6 DESC, 1 DESC LIMIT ?3"
    )
}

fn lines(c: &Db, number: &str) -> Result<Lines> {
    let mut out = Lines::default();
    let mut last: Option<(String, String)> = None;
    c.each(LINES, p![format!("phone:{number}")], |r| {
        let (kind, id): (String, String) = (r.get(0)?, r.get(1)?);
        let Some(data) = r.get::<Option<String>>(2)? else {
            return Ok(());
        };
        if last.as_ref() == Some(&(kind.clone(), id.clone())) {
            return Ok(());
        }
        match kind.as_str() {
            "person" => out.persons.push(parse(&data)?),
            "organisation" => out.organisations.push(parse(&data)?),
            "service" => out.services.push(parse(&data)?),
            _ => {}
        }
        last = Some((kind, id));
        Ok(())
    })?;
    Ok(out)
}

fn organisation(c: &Db, id: &str) -> Result<Option<Organisation>> {
    let data: Option<String> = c.opt(ORGANISATION, p![id], |r| r.get(0))?;
    data.as_deref().map(parse).transpose()
}

/// What a fax's sender is asked about, on intake's transaction or a read-only index (`explain`).
pub trait Parties {
    /// Everyone a number (E.164) belongs to.
    fn number_lines(&self, number: &str) -> Result<Lines>;
    /// The ticket's person and organisation as the directory has them.
    fn ticket_party(&self, number: &str) -> Result<super::TicketParty>;
}

impl Parties for Tx<'_> {
    fn number_lines(&self, number: &str) -> Result<Lines> {
        lines(self.db(), number)
    }
    fn ticket_party(&self, number: &str) -> Result<super::TicketParty> {
        self.directory_ticket(number)
    }
}

impl Parties for Index {
    fn number_lines(&self, number: &str) -> Result<Lines> {
        lines(&self.db, number)
    }
    fn ticket_party(&self, number: &str) -> Result<super::TicketParty> {
        self.directory_ticket(number)
    }
}

/// The same questions inside intake's transaction (a fax's sender by their number).
impl Tx<'_> {
    pub fn directory_lines(&self, number: &str) -> Result<Lines> {
        lines(self.db(), number)
    }

    pub fn directory_organisation(&self, id: &str) -> Result<Option<Organisation>> {
        organisation(self.db(), id)
    }
}

impl Index {
    /// Everyone a number (E.164) belongs to.
    pub fn directory_lines(&self, number: &str) -> Result<Lines> {
        lines(&self.db, number)
    }

    /// An organisation by its id.
    pub fn directory_organisation(&self, id: &str) -> Result<Option<Organisation>> {
        organisation(&self.db, id)
    }

    /// Open tickets of a person or (without one) an organisation, the newest first.
    pub fn open_tickets_of(
        &self,
        person: Option<&str>,
        organisation: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Ticket>> {
        let (person, organisation) = match person {
            Some(p) => (Some(p), None),
            None => (None, organisation),
        };
        self.db.all(
            &open_tickets_sql(self.db.engine()),
            p![person, organisation, limit as i64],
            ticket_row,
        )
    }

    /// The person with this mail address.
    pub fn directory_person(&self, address: &str) -> Result<Option<Person>> {
        let key = format!("mail:{}", address.trim().to_ascii_lowercase());
        let data: Option<String> = self.db.opt(PERSON, p![key], |r| r.get(0))?;
        data.as_deref().map(parse).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{parse as parse_file, Numbering};

    fn load(index: &mut Index, source: &str, text: &str) {
        let n = Numbering {
            country_code: "49".into(),
            area_code: "541".into(),
        };
        let d = parse_file(text, std::path::Path::new("d.toml"), &n, &[]).unwrap();
        let tx = index.begin().unwrap();
        tx.replace_directory(source, &d, "f", "now").unwrap();
        tx.commit().unwrap();
    }

    #[test]
    fn a_shared_number_names_everyone_once_and_the_file_wins() {
        let mut index = Index::open_memory().unwrap();
        load(
            &mut index,
            "ldap",
            "[[person]]\nid = \"a\"\nlast-name = \"Old\"\nphone = [\"0541 1\"]\n",
        );
        load(
            &mut index,
            super::super::DIRECTORY_FILE,
            "[[organisation]]\nid = \"acme\"\nname = \"ACME\"\nphone = [\"0541 1\"]\n\
             [[person]]\nid = \"a\"\nlast-name = \"New\"\nphone = [\"0541 1\"]\nmail = [\"a@x.example\"]\n\
             [[person]]\nid = \"b\"\nlast-name = \"Other\"\nphone = [\"+49 541 1\"]\n",
        );
        let l = index.directory_lines("+495411").unwrap();
        let names: Vec<_> = l.persons.iter().map(|p| p.last_name.as_str()).collect();
        assert_eq!(names, ["New", "Other"]);
        assert_eq!(l.organisations.len(), 1);
        assert!(l.services.is_empty());
        assert_eq!(index.directory_lines("+4954199").unwrap(), Lines::default());
        assert_eq!(
            index.directory_organisation("acme").unwrap().unwrap().name,
            "ACME"
        );
        assert!(index.directory_organisation("none").unwrap().is_none());
        assert_eq!(
            index.directory_person("A@x.example").unwrap().unwrap().id,
            "a"
        );
    }

    /// A call's lookups are answered from an index, never by reading a whole table.
    #[test]
    fn lookups_use_indexes() {
        let index = Index::open_memory().unwrap();
        for (sql, arg) in [
            (LINES, "phone:+491234567"),
            (ORGANISATION, "acme"),
            (PERSON, "mail:a@b.example"),
            (&open_tickets_sql(Engine::Sqlite), "p"),
        ] {
            let plan: Vec<String> = index
                .db
                .lite()
                .expect("an SQLite index")
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(
                    rusqlite::params_from_iter(
                        [arg, "o", "20"]
                            .into_iter()
                            .take(sql.matches('?').count().min(3)),
                    ),
                    |r| r.get(3),
                )
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert!(
                !plan.is_empty() && plan.iter().all(|l| !l.starts_with("SCAN")),
                "{plan:?}"
            );
        }
    }
}
