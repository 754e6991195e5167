//! Nodes and leases: what several postdesk processes on several machines sharing one index
//! agree on. Each node records a heartbeat; one whose heartbeat is older than the lease is
//! dead, and another node recovers what it left (its staging area, its claimed mail). A lease
//! names a job only one node may do at a time (sending the outbox, reading an IMAP folder):
//! its holder renews it, and when the holder stops renewing it, another node takes it over.
//!
//! Both statements are single upserts, so they hold on SQLite (one writer) and on PostgreSQL
//! (the row is locked by the update) alike.

use super::db::p;
use super::{Index, Result};

/// A node as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    /// Unix seconds of its last heartbeat.
    pub heartbeat: i64,
    /// Its process id on its machine, and when that process started (Unix seconds).
    pub pid: i64,
    pub started: i64,
}

/// Unix seconds now, by the system clock: heartbeats and leases are compared across machines,
/// so they are never read from a test's clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Index {
    /// Records that `node` (process `pid`, started at `started`) is alive at `now`.
    pub fn heartbeat(&mut self, node: &str, pid: u32, started: i64, now: i64) -> Result<()> {
        let tx = self.begin_lazy()?;
        tx.db().exec(
            "INSERT INTO nodes(name, pid, started, heartbeat) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET pid = excluded.pid, started = excluded.started,
                heartbeat = excluded.heartbeat",
            p![node, pid, started, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every node that ever beat, by name.
    pub fn nodes(&self) -> Result<Vec<Node>> {
        self.db.all(
            "SELECT name, heartbeat, pid, started FROM nodes ORDER BY name",
            p![],
            |r| {
                Ok(Node {
                    name: r.get(0)?,
                    heartbeat: r.get(1)?,
                    pid: r.get(2)?,
                    started: r.get(3)?,
                })
            },
        )
    }

    /// Whether `node` beat within `lease` seconds before `now`. A node that never beat is not
    /// alive (a name from an old staging area, a node removed from the site).
    pub fn node_alive(&self, node: &str, now: i64, lease: i64) -> Result<bool> {
        self.db.exists(
            "SELECT 1 FROM nodes WHERE name = ?1 AND heartbeat >= ?2",
            p![node, now - lease],
        )
    }

    /// Takes lease `name` for `node`, or renews it, until `now + seconds`: when nobody holds
    /// it, `node` holds it, or its holder let it run out. Returns whether `node` holds it now.
    pub fn take_lease(&mut self, name: &str, node: &str, now: i64, seconds: i64) -> Result<bool> {
        let tx = self.begin()?;
        let holder: Option<String> = tx.db().opt(
            "INSERT INTO leases(name, node, expires) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET node = excluded.node, expires = excluded.expires
                WHERE leases.node = excluded.node OR leases.expires < ?4
             RETURNING node",
            p![name, node, now + seconds, now],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(holder.as_deref() == Some(node))
    }

    /// Gives lease `name` up, if `node` holds it (a clean stop: the next node need not wait).
    pub fn release_lease(&mut self, name: &str, node: &str) -> Result<()> {
        let tx = self.begin()?;
        tx.db().exec(
            "DELETE FROM leases WHERE name = ?1 AND node = ?2",
            p![name, node],
        )?;
        tx.commit()
    }

    /// Who holds lease `name` and until when, if anybody.
    pub fn lease(&self, name: &str) -> Result<Option<(String, i64)>> {
        self.db.opt(
            "SELECT node, expires FROM leases WHERE name = ?1",
            p![name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_held_by_one_node_until_it_runs_out() {
        let mut index = Index::open_memory().unwrap();
        assert!(index.take_lease("outbox", "a", 100, 30).unwrap());
        assert!(!index.take_lease("outbox", "b", 110, 30).unwrap());
        // The holder renews it.
        assert!(index.take_lease("outbox", "a", 125, 30).unwrap());
        assert!(!index.take_lease("outbox", "b", 150, 30).unwrap());
        assert_eq!(index.lease("outbox").unwrap(), Some(("a".into(), 155)));
        // Not renewed: the other node takes it over.
        assert!(index.take_lease("outbox", "b", 156, 30).unwrap());
        assert!(!index.take_lease("outbox", "a", 157, 30).unwrap());
        // Released: free at once.
        index.release_lease("outbox", "b").unwrap();
        assert!(index.take_lease("outbox", "a", 158, 30).unwrap());
        // Other leases are apart.
        assert!(index.take_lease("imap:x", "b", 158, 30).unwrap());
    }

    #[test]
    fn a_node_is_alive_while_it_beats() {
        let mut index = Index::open_memory().unwrap();
        assert!(!index.node_alive("a", 100, 30).unwrap());
        index.heartbeat("a", 42, 90, 100).unwrap();
        assert!(index.node_alive("a", 120, 30).unwrap());
        assert!(!index.node_alive("a", 131, 30).unwrap());
        index.heartbeat("a", 43, 140, 140).unwrap();
        let nodes = index.nodes().unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!((nodes[0].pid, nodes[0].heartbeat), (43, 140));
    }
}
