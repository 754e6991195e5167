//! The directory's copy written: a source's entries replaced at once, or one entry at a time,
//! each with its keys.

use super::db::p;

use super::directory::{json, Entry};
use super::{Result, Tx};
use crate::people::Directory;

impl Tx<'_> {
    /// Replaces everything `source` said with `dir`, and records its fingerprint.
    pub fn replace_directory(
        &self,
        source: &str,
        dir: &Directory,
        fingerprint: &str,
        at: &str,
    ) -> Result<()> {
        self.remove_directory(source)?;
        // Rows and keys in the order of their primary keys: each insert goes to the B-tree's
        // last pages instead of a random one, so a large copy does not thrash the page cache.
        // An entry is cloned only while it is written.
        let mut keys: Vec<(String, &'static str, &str)> = Vec::new();
        fn sorted<T>(v: &[T], id: fn(&T) -> &str) -> Vec<&T> {
            let mut v: Vec<&T> = v.iter().collect();
            v.sort_by(|a, b| id(a).cmp(id(b)));
            v
        }
        for p in sorted(&dir.persons, |p| &p.id) {
            self.insert_row_keys(source, Entry::Person(p.clone()), &p.id, &mut keys)?;
        }
        for o in sorted(&dir.organisations, |o| &o.id) {
            self.insert_row_keys(source, Entry::Organisation(o.clone()), &o.id, &mut keys)?;
        }
        for s in sorted(&dir.services, |s| &s.name) {
            self.insert_row_keys(source, Entry::Service(s.clone()), &s.name, &mut keys)?;
        }
        for g in sorted(&dir.groups, |g| &g.name) {
            self.insert_row_keys(source, Entry::Group(g.clone()), &g.name, &mut keys)?;
        }
        keys.sort_unstable();
        for (k, kind, id) in keys {
            self.db().exec(
                "INSERT INTO directory_keys(key, kind, id, source) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                p![k, kind, id, source],
            )?;
        }
        self.set_directory_loaded(source, fingerprint, at)
    }

    /// Records that `source` was read completely at `at`.
    pub fn set_directory_loaded(&self, source: &str, fingerprint: &str, at: &str) -> Result<()> {
        self.db()
            .exec("INSERT INTO directory_sources(source, fingerprint, loaded) VALUES (?1, ?2, ?3)
                 ON CONFLICT(source) DO UPDATE SET fingerprint = excluded.fingerprint, loaded = excluded.loaded", p![source, fingerprint, at])?;
        Ok(())
    }

    /// Writes one entry and its keys (none may be there: see `put_entry`).
    fn insert_entry(&self, source: &str, e: &Entry) -> Result<()> {
        self.insert_row(source, e)?;
        for k in e.keys() {
            self.db().exec(
                "INSERT INTO directory_keys(key, kind, id, source) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                p![k, e.kind().key_kind(), e.id(), source],
            )?;
        }
        Ok(())
    }

    /// `insert_row`, with the entry's keys added to `keys` (with `id`, the entry's, which
    /// outlives it) for inserting later, in order.
    fn insert_row_keys<'d>(
        &self,
        source: &str,
        e: Entry,
        id: &'d str,
        keys: &mut Vec<(String, &'static str, &'d str)>,
    ) -> Result<()> {
        self.insert_row(source, &e)?;
        let kind = e.kind().key_kind();
        keys.extend(e.keys().into_iter().map(|k| (k, kind, id)));
        Ok(())
    }

    /// Writes one entry's row, without its keys.
    fn insert_row(&self, source: &str, e: &Entry) -> Result<()> {
        let c = self.db();
        let (id, data) = (e.id(), json(e));
        match e {
            Entry::Person(p) => c
                .exec("INSERT INTO directory_persons(id, source, organisation, data) VALUES (?1, ?2, ?3, ?4)", p![id, source, p.organisations.first(), data])?,
            _ => c
                .exec(&format!(
                    "INSERT INTO {}({}, source, data) VALUES (?1, ?2, ?3)",
                    e.kind().table(),
                    e.kind().id_column()
                ), p![id, source, data])?,
        };
        Ok(())
    }

    /// Replaces `old` (the entry as the index has it, if it has it) with `new`.
    pub fn put_entry(&self, source: &str, old: Option<&Entry>, new: &Entry) -> Result<()> {
        if let Some(old) = old {
            self.delete_entry(source, old)?;
        }
        self.insert_entry(source, new)
    }

    /// Removes one entry and its keys, found by primary key (no table scan).
    pub fn delete_entry(&self, source: &str, e: &Entry) -> Result<()> {
        let c = self.db();
        let id = e.id();
        for k in e.keys() {
            c.exec(
                "DELETE FROM directory_keys WHERE key = ?1 AND kind = ?2 AND id = ?3 AND source = ?4",
                p![k, e.kind().key_kind(), id, source],
            )?;
        }
        c.exec(
            &format!(
                "DELETE FROM {} WHERE {} = ?1 AND source = ?2",
                e.kind().table(),
                e.kind().id_column()
            ),
            p![id, source],
        )?;
        Ok(())
    }

    /// Removes everything `source` said.
    pub fn remove_directory(&self, source: &str) -> Result<()> {
        for table in [
            "directory_keys",
            "directory_persons",
            "directory_organisations",
            "directory_services",
            "directory_groups",
            "directory_sources",
        ] {
            self.db().exec(
                &format!("DELETE FROM {table} WHERE source = ?1"),
                p![source],
            )?;
        }
        Ok(())
    }
}
