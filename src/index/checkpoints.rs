//! Where each IMAP source's folder was read up to (UIDVALIDITY and the last UID filed), so a
//! restart goes on from there.

use super::db::p;

use super::{Index, Result};

impl Index {
    /// Where an IMAP source's folder was read up to: (UIDVALIDITY, last UID).
    pub fn imap_checkpoint(&self, source: &str, folder: &str) -> Result<Option<(u32, u32)>> {
        self.db.opt(
            "SELECT uidvalidity, last_uid FROM imap_checkpoints WHERE source = ?1 AND folder = ?2",
            p![source, folder],
            |r| Ok((r.get::<i64>(0)? as u32, r.get::<i64>(1)? as u32)),
        )
    }

    /// Records where a folder was read up to (after the messages up to there were committed).
    pub fn set_imap_checkpoint(
        &mut self,
        source: &str,
        folder: &str,
        uidvalidity: u32,
        last_uid: u32,
    ) -> Result<()> {
        let tx = self.begin_lazy()?;
        tx.db()
            .exec("INSERT INTO imap_checkpoints(source, folder, uidvalidity, last_uid) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(source, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                    last_uid = excluded.last_uid", p![source, folder, uidvalidity as i64, last_uid as i64])?;
        tx.commit()?;
        Ok(())
    }
}
