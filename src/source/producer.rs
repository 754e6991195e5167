//! What a source gives the drain loop (`drain`): its messages in batches, each message with a
//! handle by which the source finds it again, in two halves. The `Reader` takes batches from
//! the source on the drain's reader thread; the `Holder`, on the committing thread, lets go of
//! a batch's messages once the batch is committed and durable, or gives them back when it is
//! not filed.

use super::DrainError;
use crate::intake::{Engine, Message, Outcome};

/// A message taken from a source, and how the source finds it again.
pub struct Taken<H> {
    pub message: Message,
    pub handle: H,
}

/// The half of a source that reads, on the drain's reader thread.
pub trait Reader: Send {
    /// What the source needs to let go of a message or give it back.
    type Handle: Send;

    /// The next batch, in the source's order; `None` when nothing is left, and an empty batch
    /// when only messages it skipped were found (the loop looks at its stop flag and asks
    /// again). A message it cannot take is counted in `failed` and left where it is.
    fn next(&mut self, failed: &mut u64) -> Result<Option<Vec<Taken<Self::Handle>>>, DrainError>;

    /// A message a scanner could not look at: true when the source has put it back for a later
    /// drain and the rest of its batch may go on without it; false (the default) when its
    /// order does not allow passing it, and the drain stops before its batch.
    fn defer(&mut self, _handle: &Self::Handle) -> bool {
        false
    }
}

/// The half of a source that holds what was taken, on the committing thread.
pub trait Holder {
    type Handle;

    /// Asked before each batch is filed: whether this node may still file the source's mail
    /// (it holds the source's lease). When not, the batch is given back and the drain ends.
    fn still_held(&mut self, _engine: &mut Engine) -> Result<bool, DrainError> {
        Ok(true)
    }

    /// Lets go of messages whose batch is committed and whose placement is durable (deletes
    /// them, marks them seen, advances a checkpoint), with what became of each. An error stops
    /// the drain; what is left is given back.
    fn let_go(
        &mut self,
        engine: &mut Engine,
        done: Vec<(Self::Handle, Outcome)>,
    ) -> Result<(), DrainError>;

    /// Messages taken and not filed (their batch failed, or was never committed), or filed
    /// and not durable: back where a later drain takes them again (as duplicates, if they
    /// were committed). By default they are simply not let go of.
    fn give_back(&mut self, _handles: Vec<Self::Handle>) {}
}
