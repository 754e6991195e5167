//! The service-level section of a report: the deadlines of every ticket opened in the period,
//! worked out as `ticket show` works them out (`sla::due`). The index is read in one ordered
//! scan (`Index::sla_rows_of`) on the caller's thread, which holds the connection, while a
//! second thread works out the deadlines of the tickets read so far: at a million tickets each
//! side takes seconds, and the two run side by side.

use std::collections::HashMap;
use std::sync::mpsc;

use chrono::{DateTime, Utc};

use super::Figures;
use crate::index::{Index, IndexError, SlaRows};
use crate::sla::Slas;

/// Tickets handed to the second thread at a time.
const BATCH: usize = 512;

/// Batches in flight: the reader runs at most this far ahead.
const IN_FLIGHT: usize = 8;

/// Adds the deadlines of the tickets `opened` (sorted, each once) to `f`, measured up to
/// `until`.
pub fn add(
    index: &Index,
    slas: &Slas,
    opened: &[String],
    until: DateTime<Utc>,
    mut f: Figures,
) -> Result<Figures, IndexError> {
    let (send, receive) = mpsc::sync_channel::<Vec<(SlaRows, Option<String>)>>(IN_FLIGHT);
    // Batches go back to be freed where they were allocated: a thread that frees what another
    // allocated takes the allocator's slow path, which cost more than the second thread gained.
    let (done, finished) = mpsc::channel::<Vec<(SlaRows, Option<String>)>>();
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            for batch in receive {
                for (rows, instance) in &batch {
                    let deadlines = crate::sla::due::shown(slas, rows, instance.as_deref(), until);
                    f.add_deadlines(&rows.queue, rows.organisation.as_deref(), &deadlines);
                }
                if let Err(mpsc::SendError(batch)) = done.send(batch) {
                    drop(batch);
                }
            }
            f
        });
        let mut instances = Instances::default();
        let mut batch = Vec::with_capacity(BATCH);
        let read = index.sla_rows_of(opened, |rows| {
            let instance = instances.of(index, &rows)?;
            batch.push((rows, instance));
            if batch.len() == BATCH {
                // A send fails only when the worker is gone, which its join reports.
                let _ = send.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                finished.try_iter().for_each(drop);
            }
            Ok(())
        });
        let _ = send.send(batch);
        drop(send);
        finished.iter().for_each(drop);
        let f = worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read.map(|()| f)
    })
}

/// The service level of each ticket's service instance. It follows from the ticket's
/// organisation and service alone, so the directory is asked, as `ticket show` asks it, once
/// for each pair.
#[derive(Default)]
struct Instances {
    /// By organisation, then service.
    known: HashMap<String, HashMap<String, Option<String>>>,
}

impl Instances {
    fn of(&mut self, index: &Index, rows: &SlaRows) -> Result<Option<String>, IndexError> {
        let (Some(o), Some(s)) = (&rows.organisation, &rows.service) else {
            return Ok(None);
        };
        if let Some(sla) = self.known.get(o).and_then(|by| by.get(s)) {
            return Ok(sla.clone());
        }
        let party = index.directory_ticket(&rows.number)?;
        let sla = crate::sla::ticket_instance_sla(&party, || index.directory_only_service())?;
        self.known
            .entry(o.clone())
            .or_default()
            .insert(s.clone(), sla.clone());
        Ok(sla)
    }
}
