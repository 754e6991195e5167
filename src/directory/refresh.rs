//! Reads the LDAP directory and writes into the index only what changed.
//!
//! Incremental by content: each entry read is brought into the directory's model and compared
//! with the text the index holds for it (one primary-key read); only new and changed entries
//! are written, in transactions of at most `BATCH` entries, so intake's transactions never wait
//! long and a refresh of an unchanged directory writes nothing. Comparing content rather than
//! `modifyTimestamp` also catches what the timestamp does not show: a group whose member changed
//! their address, a number read differently after the site's area code changed. Entries the
//! server no longer has are removed only after every search completed: a refresh that fails
//! half way leaves the entries it did not reach as they were, the last good copy.
//!
//! Order: organisations first (persons name them), then persons (in pages, never all in
//! memory: only their ids are kept, to tell the removed ones), then groups, whose members are
//! looked up among the persons just written.

use std::collections::HashSet;
use std::time::Instant;

use super::ldap::{self, Connection, LdapError, Raw, Reader};
use super::state::{self, LdapState};
use crate::config::Config;
use crate::index::{Entry, EntryKind, Index};

/// Entries written per transaction.
const BATCH: usize = 500;
/// Notes (values left out) kept for the report; the rest are counted.
const NOTES: usize = 20;

/// What a refresh found and did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refreshed {
    pub persons: u64,
    pub organisations: u64,
    pub groups: u64,
    /// New or changed entries written.
    pub written: u64,
    /// Entries the server no longer has, removed.
    pub removed: u64,
    /// Values left out (a number that is none, ...), the first `NOTES` of them.
    pub notes: Vec<String>,
    pub notes_total: u64,
    pub seconds: f64,
}

/// Changed entries waiting for their transaction.
struct Writer<'a> {
    index: &'a mut Index,
    pending: Vec<(Option<Entry>, Entry)>,
    written: u64,
}

impl Writer<'_> {
    /// Queues `new` if the index does not hold it as it is.
    fn offer(&mut self, new: Entry) -> Result<(), String> {
        let kind = new.kind();
        let old = self
            .index
            .directory_data(kind, ldap::SOURCE, new.id())
            .map_err(|e| e.to_string())?;
        let data = new.data();
        if old.as_deref() == Some(data.as_str()) {
            return Ok(());
        }
        let old = match old {
            Some(_) => self
                .index
                .directory_entry(kind, ldap::SOURCE, new.id())
                .map_err(|e| e.to_string())?,
            None => None,
        };
        self.pending.push((old, new));
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let sql = |e: crate::index::IndexError| e.to_string();
        let tx = self.index.begin().map_err(sql)?;
        for (old, new) in &self.pending {
            tx.put_entry(ldap::SOURCE, old.as_ref(), new).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }
}

/// Reads the whole directory from the server and brings the index's copy up to date.
/// `progress` hears the number of entries read so far, every page or so.
pub fn refresh_ldap(
    cfg: &Config,
    index: &mut Index,
    progress: &mut dyn FnMut(u64),
) -> Result<Refreshed, LdapError> {
    let Some(l) = &cfg.directory.ldap else {
        return Err(LdapError("no [directory.ldap] is configured".into()));
    };
    let started = Instant::now();
    let password = l.read_password(|p| cfg.resolve(p)).map_err(LdapError)?;
    let ca = l.tls_ca_file.as_ref().map(|p| cfg.resolve(p));
    let mut conn = Connection::open(l, &password, ca.as_deref())?;
    drop(password);
    let numbering = cfg.directory.numbering();
    let attrs = l.attributes.all();
    let mut notes = Vec::new();
    let mut out = Refreshed::default();
    let mut w = Writer {
        index,
        pending: Vec::new(),
        written: 0,
    };
    let mut reader = Reader {
        attributes: &l.attributes,
        numbering: &numbering,
        organisations: Default::default(),
    };
    let db = |e: crate::index::IndexError| LdapError(e.to_string());

    // Organisations: few, kept to link persons to them.
    let mut orgs = Vec::new();
    if let Some(base) = &l.organisations_base {
        conn.search(base, &l.organisations_filter, &attrs, |raw| {
            orgs.push(reader.organisation(&raw, &mut notes));
            Ok(())
        })?;
    }
    reader.organisations = ldap::organisation_names(&orgs);
    let org_ids: HashSet<String> = orgs.iter().map(|o| o.id.clone()).collect();
    out.organisations = orgs.len() as u64;
    for o in orgs {
        w.offer(Entry::Organisation(o)).map_err(LdapError)?;
    }

    // Persons, a page at a time.
    let mut person_ids = HashSet::new();
    let mut read = out.organisations;
    let page = u64::from(l.page_size);
    conn.search(&l.people_base, &l.people_filter, &attrs, |raw: Raw| {
        let p = reader.person(&raw, &mut notes);
        person_ids.insert(p.id.clone());
        w.offer(Entry::Person(p))?;
        read += 1;
        if read % page == 0 {
            progress(read);
        }
        Ok(())
    })?;
    w.flush().map_err(LdapError)?;
    out.persons = person_ids.len() as u64;

    // Groups, their members looked up among the persons now in the index.
    let mut group_ids = HashSet::new();
    if let Some(base) = &l.groups_base {
        let mut groups = Vec::new();
        conn.search(base, &l.groups_filter, &attrs, |raw| {
            groups.push(raw);
            Ok(())
        })?;
        for raw in groups {
            let g = reader.group(&raw, |dn| {
                match w.index.directory_entry(EntryKind::Person, ldap::SOURCE, dn) {
                    Ok(Some(Entry::Person(p))) => p.mail,
                    _ => Vec::new(),
                }
            });
            group_ids.insert(g.name.clone());
            w.offer(Entry::Group(g)).map_err(LdapError)?;
        }
    }
    w.flush().map_err(LdapError)?;
    out.groups = group_ids.len() as u64;
    progress(out.persons + out.organisations + out.groups);

    // Everything was read: what the server no longer has goes.
    let mut gone = Vec::new();
    for (kind, ids) in [
        (EntryKind::Person, &person_ids),
        (EntryKind::Organisation, &org_ids),
        (EntryKind::Group, &group_ids),
    ] {
        gone.extend(
            w.index
                .directory_entries_except(kind, ldap::SOURCE, |id| ids.contains(id))
                .map_err(db)?,
        );
    }
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tx = w.index.begin().map_err(db)?;
    for e in &gone {
        tx.delete_entry(ldap::SOURCE, e).map_err(db)?;
    }
    tx.set_directory_loaded(ldap::SOURCE, &l.url, &at)
        .map_err(db)?;
    tx.commit().map_err(db)?;
    out.removed = gone.len() as u64;
    out.written = w.written;
    out.notes_total = notes.len() as u64;
    notes.truncate(NOTES);
    out.notes = notes;
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// `refresh_ldap`, and the outcome recorded for `postdesk status`.
pub fn refresh_and_record(
    cfg: &Config,
    index: &mut Index,
    progress: &mut dyn FnMut(u64),
) -> Result<Refreshed, LdapError> {
    let data = cfg.data_dir();
    let mut s = state::read(&data).unwrap_or_default();
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    s.last_attempt = Some(now());
    let r = refresh_ldap(cfg, index, progress);
    match &r {
        Ok(done) => {
            s = LdapState {
                last_attempt: s.last_attempt,
                last_success: Some(now()),
                last_error: None,
                persons: done.persons,
                organisations: done.organisations,
                groups: done.groups,
                written: done.written,
                removed: done.removed,
                seconds: done.seconds,
            }
        }
        Err(e) => s.last_error = Some(e.to_string()),
    }
    state::write(&data, &s);
    r
}

/// Removes LDAP's entries when `[directory.ldap]` is no longer configured; whether it did.
pub fn forget_ldap(cfg: &Config, index: &mut Index) -> Result<bool, String> {
    if cfg.directory.ldap.is_some() {
        return Ok(false);
    }
    let sql = |e: crate::index::IndexError| e.to_string();
    if index.directory_loaded(ldap::SOURCE).map_err(sql)?.is_none() {
        return Ok(false);
    }
    let tx = index.begin().map_err(sql)?;
    tx.remove_directory(ldap::SOURCE).map_err(sql)?;
    tx.commit().map_err(sql)?;
    Ok(true)
}
