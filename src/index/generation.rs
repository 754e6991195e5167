//! Which store the index belongs to and how far it has followed it: the store's identity and a
//! generation counted up by every commit that opens tickets. The store keeps a marker with the
//! same two numbers (`store::generation`), written after each such commit; an index whose
//! generation is behind the marker, or that belongs to another store, missed tickets of the
//! tree and must be rebuilt before it hands out numbers again.

use super::db::{p, Db};

use super::{Index, Result, Tx};

const STORE_ID: &str = "store-id";
const GENERATION: &str = "generation";

impl Index {
    /// The store identity and generation the index recorded, if any.
    pub fn generation(&self) -> Result<Option<(u64, u64)>> {
        generation(&self.db)
    }

    /// Whether the index holds any ticket or quarantined message.
    pub fn has_contents(&self) -> Result<bool> {
        has_contents(&self.db)
    }

    /// Records the store identity and generation (a new store, or after a rebuild).
    pub fn set_generation(&mut self, store: u64, generation: u64) -> Result<()> {
        let tx = self.begin()?;
        tx.set_generation(store, generation)?;
        tx.commit()
    }
}

fn generation(conn: &Db) -> Result<Option<(u64, u64)>> {
    let get = |key: &str| -> Result<Option<i64>> {
        conn.opt("SELECT value FROM counters WHERE key = ?1", p![key], |r| {
            r.get(0)
        })
    };
    Ok(match (get(STORE_ID)?, get(GENERATION)?) {
        (Some(id), g) => Some((id as u64, g.unwrap_or(0) as u64)),
        (None, _) => None,
    })
}

fn has_contents(conn: &Db) -> Result<bool> {
    conn.one(
        "SELECT EXISTS(SELECT 1 FROM tickets) OR EXISTS(SELECT 1 FROM quarantine)",
        p![],
        |r| r.get(0),
    )
}

impl Tx<'_> {
    /// As `Index::generation`, inside the transaction (under the write lock).
    pub fn generation(&self) -> Result<Option<(u64, u64)>> {
        generation(self.db())
    }

    /// As `Index::has_contents`, inside the transaction.
    pub fn has_contents(&self) -> Result<bool> {
        has_contents(self.db())
    }

    /// Records the store identity and generation; they count once the transaction commits.
    pub fn set_generation(&self, store: u64, generation: u64) -> Result<()> {
        for (k, v) in [(STORE_ID, store), (GENERATION, generation)] {
            self.db().exec(
                "INSERT INTO counters(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                p![k, v as i64],
            )?;
        }
        Ok(())
    }

    /// Counts one more generation (the transaction opens tickets); returns the store identity
    /// and the new generation, for the marker written after the commit.
    pub fn bump_generation(&self) -> Result<Option<(u64, u64)>> {
        let g = self.next_counter(GENERATION)?;
        let id: Option<i64> = self.db().opt(
            "SELECT value FROM counters WHERE key = ?1",
            p![STORE_ID],
            |r| r.get(0),
        )?;
        Ok(id.map(|id| (id as u64, g)))
    }
}
