//! Calls agents asked for by mail (`#call`): queued in the transaction that files the agent's
//! mail, taken by the daemon's dialler (marked before it dials, so a crash never dials twice),
//! removed once the attempt is in the ticket's history.

use super::db::p;

use super::{Index, Result, Tx};

/// A call to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCall {
    pub id: i64,
    pub ticket: String,
    /// The agent's address.
    pub agent: String,
    /// As the agent wrote it; empty: the ticket's customer's number.
    pub number: String,
    pub requested: String,
}

impl Tx<'_> {
    pub fn add_pending_call(
        &self,
        ticket: &str,
        agent: &str,
        number: &str,
        requested: &str,
    ) -> Result<()> {
        self.db().exec(
            "INSERT INTO pending_calls (ticket, agent, number, requested) VALUES (?1, ?2, ?3, ?4)",
            p![ticket, agent, number, requested],
        )?;
        Ok(())
    }
}

impl Index {
    /// The calls not yet taken (`taken` false) or those a stopped dialler had taken (`taken`
    /// true), oldest first; the former are marked taken in the same transaction.
    pub fn take_pending_calls(&mut self, taken: bool) -> Result<Vec<PendingCall>> {
        let tx = self.begin()?;
        let calls = {
            tx.db().all(
                "SELECT id, ticket, agent, number, requested FROM pending_calls
                 WHERE taken = ?1 ORDER BY id",
                p![taken],
                |r| {
                    Ok(PendingCall {
                        id: r.get(0)?,
                        ticket: r.get(1)?,
                        agent: r.get(2)?,
                        number: r.get(3)?,
                        requested: r.get(4)?,
                    })
                },
            )?
        };
        if !taken && !calls.is_empty() {
            tx.db().exec(
                "UPDATE pending_calls SET taken = 1 WHERE taken = 0 AND id <= ?1",
                p![calls.last().map_or(0, |c| c.id)],
            )?;
        }
        tx.commit()?;
        Ok(calls)
    }

    /// The call is in the ticket's history: it is done.
    pub fn done_pending_call(&mut self, id: i64) -> Result<()> {
        self.db
            .exec("DELETE FROM pending_calls WHERE id = ?1", p![id])?;
        Ok(())
    }
}
