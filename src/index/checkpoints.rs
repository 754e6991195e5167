//! Where each IMAP source's folder was read up to (UIDVALIDITY and the last UID filed), so a
//! restart goes on from there.

use rusqlite::{params, OptionalExtension};

use super::{Index, Result};

impl Index {
    /// Where an IMAP source's folder was read up to: (UIDVALIDITY, last UID).
    pub fn imap_checkpoint(&self, source: &str, folder: &str) -> Result<Option<(u32, u32)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT uidvalidity, last_uid FROM imap_checkpoints WHERE source = ?1 AND folder = ?2",
            )?
            .query_row(params![source, folder], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as u32))
            })
            .optional()?)
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
        tx.conn()
            .prepare_cached(
                "INSERT INTO imap_checkpoints(source, folder, uidvalidity, last_uid) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(source, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                    last_uid = excluded.last_uid",
            )?
            .execute(params![source, folder, uidvalidity as i64, last_uid as i64])?;
        tx.commit()?;
        self.end_lazy()
    }
}
