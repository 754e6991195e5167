//! The directory's copy in the index: each entry as JSON under its source (`file`, later
//! `ldap`), and one key table that every lookup goes through (`mail:ADDRESS`, `domain:DOMAIN`,
//! `phone:+E164`), so a lookup is one indexed query however large the directory. Where two
//! sources know the same key, the file's entry wins.

use super::db::{p, Db};

use super::{Index, Result, Tx};
use crate::people::{Group, Organisation, Person, Service};

/// Which source an entry came from; the file overrides the others.
pub const DIRECTORY_FILE: &str = "file";

/// What the directory says about a sender.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sender {
    /// Found by their address.
    pub person: Option<Person>,
    /// The person's first organisation, or the one found by the sender's mail domain.
    pub organisation: Option<Organisation>,
}

/// An entry a phone number belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Person(Person),
    Organisation(Organisation),
    Service(Service),
}

/// A source's fingerprint and when it was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub fingerprint: String,
    pub at: String,
}

/// The kinds of entries, each in a table of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Person,
    Organisation,
    Service,
    Group,
}

impl EntryKind {
    pub(super) fn table(self) -> &'static str {
        match self {
            EntryKind::Person => "directory_persons",
            EntryKind::Organisation => "directory_organisations",
            EntryKind::Service => "directory_services",
            EntryKind::Group => "directory_groups",
        }
    }

    pub(super) fn id_column(self) -> &'static str {
        match self {
            EntryKind::Person | EntryKind::Organisation => "id",
            EntryKind::Service | EntryKind::Group => "name",
        }
    }

    /// `directory_keys.kind`.
    pub(super) fn key_kind(self) -> &'static str {
        match self {
            EntryKind::Person => "person",
            EntryKind::Organisation => "organisation",
            EntryKind::Service => "service",
            EntryKind::Group => "group",
        }
    }
}

/// One entry of a source, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Entry {
    Person(Person),
    Organisation(Organisation),
    Service(Service),
    Group(Group),
}

impl Entry {
    pub fn kind(&self) -> EntryKind {
        match self {
            Entry::Person(_) => EntryKind::Person,
            Entry::Organisation(_) => EntryKind::Organisation,
            Entry::Service(_) => EntryKind::Service,
            Entry::Group(_) => EntryKind::Group,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Entry::Person(p) => &p.id,
            Entry::Organisation(o) => &o.id,
            Entry::Service(s) => &s.name,
            Entry::Group(g) => &g.name,
        }
    }

    /// What it is found by in `directory_keys`.
    pub(super) fn keys(&self) -> Vec<String> {
        let phone = |n: &String| format!("phone:{n}");
        match self {
            Entry::Person(p) => p
                .mail
                .iter()
                .map(|a| format!("mail:{a}"))
                .chain(p.phone.iter().chain(&p.fax).map(phone))
                .collect(),
            Entry::Organisation(o) => o
                .domains
                .iter()
                .map(|d| format!("domain:{d}"))
                .chain(o.phone.iter().map(phone))
                .collect(),
            Entry::Service(s) => s.hotline.iter().map(phone).collect(),
            Entry::Group(_) => Vec::new(),
        }
    }

    /// The stored text: what a refresh compares to tell a changed entry.
    pub fn data(&self) -> String {
        json(self)
    }

    fn parse(kind: EntryKind, data: &str) -> Result<Entry> {
        Ok(match kind {
            EntryKind::Person => Entry::Person(parse(data)?),
            EntryKind::Organisation => Entry::Organisation(parse(data)?),
            EntryKind::Service => Entry::Service(parse(data)?),
            EntryKind::Group => Entry::Group(parse(data)?),
        })
    }
}

/// The sender's person (by address, `?1`) or organisation (by domain, `?2`), with the
/// person's first organisation.
const SENDER: &str = "SELECT p.data, o.data FROM directory_keys k
             LEFT JOIN directory_persons p
                    ON k.kind = 'person' AND p.id = k.id AND p.source = k.source
             LEFT JOIN directory_organisations o
                    ON o.id = (CASE k.kind WHEN 'person' THEN p.organisation ELSE k.id END)
             WHERE k.key IN (?1, ?2) AND k.kind IN ('person', 'organisation')
             ORDER BY k.key = ?1 DESC, k.source <> 'file', o.source <> 'file'
             LIMIT 1";

/// The directory's entries of a ticket `t`'s person and organisation (the file's first), and
/// its service's name: a `PartyRow`.
macro_rules! ticket_party_columns {
    () => {
        "(SELECT data FROM directory_persons WHERE id = t.person
          ORDER BY source <> 'file' LIMIT 1),
        (SELECT data FROM directory_organisations WHERE id = t.organisation
          ORDER BY source <> 'file' LIMIT 1),
        t.service"
    };
}
pub(super) use ticket_party_columns;

/// `ticket_party_columns` of ticket `?1`.
const TICKET: &str = concat!(
    "SELECT ",
    ticket_party_columns!(),
    " FROM tickets t WHERE t.number = ?1"
);

/// What the directory says today about the person and organisation a ticket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketParty {
    pub person: Option<Person>,
    pub organisation: Option<Organisation>,
    pub service: Option<String>,
}

/// The keys `?1` with their entry's data, whichever kind it is.
macro_rules! keyed_entries {
    () => {
        " FROM directory_keys k
             LEFT JOIN directory_persons p
                    ON k.kind = 'person' AND p.id = k.id AND p.source = k.source
             LEFT JOIN directory_organisations o
                    ON k.kind = 'organisation' AND o.id = k.id AND o.source = k.source
             LEFT JOIN directory_services s
                    ON k.kind = 'service' AND s.name = k.id AND s.source = k.source
             WHERE k.key = ?1"
    };
}
pub(super) use keyed_entries;

/// Whose number `?1` is.
const LINE: &str = concat!(
    "SELECT k.kind, coalesce(p.data, o.data, s.data)",
    keyed_entries!(),
    " ORDER BY k.kind <> 'person', k.kind <> 'organisation', k.source <> 'file' LIMIT 1"
);

pub(super) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("directory entries serialise")
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| super::IndexError::Corrupt(format!("directory entry: {e}")))
}

impl Tx<'_> {
    /// The directory's answer for a new ticket's sender (one query; see `sender`), unless
    /// the batch asked ahead.
    pub fn directory_sender(&self, address: &str) -> Result<Sender> {
        let known =
            (sender_keys(address)).and_then(|(mail, _)| self.prefetched.borrow().sender(&mail));
        match known {
            Some(row) => sender_of(row),
            None => sender(self.db(), address),
        }
    }

    /// The ticket's person and organisation as the directory has them now (one query).
    pub fn directory_ticket(&self, number: &str) -> Result<TicketParty> {
        let known = self.prefetched.borrow().party(number);
        match known {
            Some(row) => party_of(Some(row)),
            None => ticket_party(self.db(), number),
        }
    }

    /// The one service the directory defines, if it defines exactly one.
    pub fn directory_only_service(&self) -> Result<Option<Service>> {
        only_service(self.db())
    }
}

fn only_service(c: &Db) -> Result<Option<Service>> {
    let mut first: Option<(String, String)> = None;
    let mut several = false;
    c.each(
        "SELECT name, data FROM directory_services ORDER BY source <> 'file'",
        p![],
        |r| {
            let name: String = r.get(0)?;
            match &first {
                None => first = Some((name, r.get(1)?)),
                Some((n, _)) if *n == name => {}
                Some(_) => several = true,
            }
            Ok(())
        },
    )?;
    if several {
        return Ok(None);
    }
    first.map(|(_, data)| parse(&data)).transpose()
}

/// A `TICKET` row: the person's and the organisation's data and the service's name.
pub(super) type PartyRow = (Option<String>, Option<String>, Option<String>);

fn ticket_party(c: &Db, number: &str) -> Result<TicketParty> {
    let row: Option<PartyRow> = c.opt(TICKET, p![number], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    party_of(row)
}

/// What a `TICKET` row says (none: the ticket does not exist).
pub(super) fn party_of(row: Option<PartyRow>) -> Result<TicketParty> {
    let Some((p, o, service)) = row else {
        return Ok(TicketParty::default());
    };
    Ok(TicketParty {
        person: p.as_deref().map(parse).transpose()?,
        organisation: o.as_deref().map(parse).transpose()?,
        service,
    })
}

/// The person with this address (and their first organisation), else the organisation of its
/// mail domain: one indexed query, the file's entries first.
fn sender(c: &Db, address: &str) -> Result<Sender> {
    let Some((mail, domain)) = sender_keys(address) else {
        return Ok(Sender::default());
    };
    let row = c.opt(SENDER, p![mail, domain], |r| Ok((r.get(0)?, r.get(1)?)))?;
    sender_of(row)
}

/// The directory keys of a sender's address: `mail:ADDRESS` and `domain:DOMAIN`.
pub(super) fn sender_keys(address: &str) -> Option<(String, String)> {
    let address = address.trim().to_ascii_lowercase();
    let (_, domain) = address.rsplit_once('@')?;
    Some((format!("mail:{address}"), format!("domain:{domain}")))
}

/// The sender the `SENDER` row (the person's and the organisation's data) describes.
pub(super) fn sender_of(row: Option<(Option<String>, Option<String>)>) -> Result<Sender> {
    let Some((p, o)) = row else {
        return Ok(Sender::default());
    };
    Ok(Sender {
        person: p.as_deref().map(parse).transpose()?,
        organisation: o.as_deref().map(parse).transpose()?,
    })
}

/// Whose number this is (already E.164): persons before organisations before services, the
/// file's entries first.
fn line(c: &Db, number: &str) -> Result<Option<Line>> {
    let row: Option<(String, String)> = c.opt(LINE, p![format!("phone:{number}")], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(match row {
        None => None,
        Some((kind, data)) => Some(match kind.as_str() {
            "person" => Line::Person(parse(&data)?),
            "organisation" => Line::Organisation(parse(&data)?),
            _ => Line::Service(parse(&data)?),
        }),
    })
}

impl Index {
    pub fn directory_sender(&self, address: &str) -> Result<Sender> {
        sender(&self.db, address)
    }

    pub fn directory_ticket(&self, number: &str) -> Result<TicketParty> {
        ticket_party(&self.db, number)
    }

    /// The one service the directory defines, if it defines exactly one.
    pub fn directory_only_service(&self) -> Result<Option<Service>> {
        only_service(&self.db)
    }

    /// Whose line a number (E.164) is.
    pub fn directory_line(&self, number: &str) -> Result<Option<Line>> {
        line(&self.db, number)
    }

    /// What was last loaded from a source.
    pub fn directory_loaded(&self, source: &str) -> Result<Option<Loaded>> {
        self.db.opt(
            "SELECT fingerprint, loaded FROM directory_sources WHERE source = ?1",
            p![source],
            |r| {
                Ok(Loaded {
                    fingerprint: r.get(0)?,
                    at: r.get(1)?,
                })
            },
        )
    }

    /// The stored text of one entry of `source`.
    pub fn directory_data(
        &self,
        kind: EntryKind,
        source: &str,
        id: &str,
    ) -> Result<Option<String>> {
        self.db.opt(
            &format!(
                "SELECT data FROM {} WHERE {} = ?1 AND source = ?2",
                kind.table(),
                kind.id_column()
            ),
            p![id, source],
            |r| r.get(0),
        )
    }

    /// One entry of `source`, as stored.
    pub fn directory_entry(
        &self,
        kind: EntryKind,
        source: &str,
        id: &str,
    ) -> Result<Option<Entry>> {
        match self.directory_data(kind, source, id)? {
            Some(d) => Ok(Some(Entry::parse(kind, &d)?)),
            None => Ok(None),
        }
    }

    /// The entries of `source` whose id `keep` refuses (read one at a time).
    pub fn directory_entries_except(
        &self,
        kind: EntryKind,
        source: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        self.db.each(
            &format!(
                "SELECT {}, data FROM {} WHERE source = ?1",
                kind.id_column(),
                kind.table()
            ),
            p![source],
            |r| {
                if !keep(r.text(0)?) {
                    out.push(Entry::parse(kind, r.text(1)?)?);
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Every group of every source (the file's first).
    pub fn directory_groups(&self) -> Result<Vec<(String, Group)>> {
        self.db.all(
            "SELECT source, data FROM directory_groups ORDER BY source <> 'file', source, name",
            p![],
            |r| Ok((r.get::<String>(0)?, parse(r.text(1)?)?)),
        )
    }

    /// Entries per kind: persons, organisations, services, groups.
    pub fn directory_counts(&self) -> Result<[u64; 4]> {
        let mut out = [0; 4];
        for (i, t) in [
            "directory_persons",
            "directory_organisations",
            "directory_services",
            "directory_groups",
        ]
        .iter()
        .enumerate()
        {
            out[i] = self
                .db
                .one(&format!("SELECT count(*) FROM {t}"), p![], |r| r.get(0))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "directory_tests.rs"]
mod tests;
