//! One message already read, as `deliver` reads it from an MTA's pipe: a source of one. It is
//! let go when the process exits 0, which `deliver` does only after the drain committed it and
//! made it durable; until then the MTA keeps its copy. A scanner that cannot look at it stops
//! the drain, so that `deliver` tells the MTA to try again later.

use std::sync::atomic::AtomicBool;

use super::{DrainError, Holder, Reader, Source, Summary, Taken};
use crate::intake::{Engine, Message, Outcome};

pub struct Single {
    name: String,
    message: Option<Message>,
    /// Not filed yet.
    waiting: bool,
    /// What filing the message came to, once it is filed.
    pub outcome: Option<Outcome>,
}

impl Single {
    pub fn new(message: Message) -> Single {
        Single {
            name: message.source.clone(),
            message: Some(message),
            waiting: true,
            outcome: None,
        }
    }
}

/// Hands over the message, once.
struct Once(Option<Message>);

impl Reader for Once {
    type Handle = ();

    fn next(&mut self, _failed: &mut u64) -> Result<Option<Vec<Taken<()>>>, DrainError> {
        Ok(self.0.take().map(|message| {
            vec![Taken {
                message,
                handle: (),
            }]
        }))
    }
}

impl Holder for Single {
    type Handle = ();

    fn let_go(&mut self, _: &mut Engine, done: Vec<((), Outcome)>) -> Result<(), DrainError> {
        self.waiting = false;
        self.outcome = done.into_iter().next().map(|(_, o)| o);
        Ok(())
    }
}

impl Source for Single {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "stdin"
    }

    fn drain(
        &mut self,
        engine: &mut Engine,
        stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError> {
        let once = Once(self.message.take());
        let name = self.name.clone();
        super::drain(engine, once, self, &name, Some(1), stop, summary)
    }

    fn backlog(&self) -> Option<u64> {
        Some(u64::from(self.waiting))
    }
}
