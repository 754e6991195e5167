//! One message already read, as `deliver` reads it from an MTA's pipe: a source of one. It is
//! let go when the process exits 0, which `deliver` does only after the drain committed it and
//! made it durable; until then the MTA keeps its copy.

use std::sync::atomic::AtomicBool;

use super::{DrainError, Source, Summary};
use crate::intake::{Engine, Message, Outcome};

pub struct Single {
    name: String,
    message: Option<Message>,
    /// What filing the message came to, once it is filed.
    pub outcome: Option<Outcome>,
}

impl Single {
    pub fn new(message: Message) -> Single {
        Single {
            name: message.source.clone(),
            message: Some(message),
            outcome: None,
        }
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
        _stop: &AtomicBool,
        summary: &mut Summary,
    ) -> Result<(), DrainError> {
        let Some(m) = &self.message else {
            return Ok(());
        };
        let outcomes = engine.process(std::slice::from_ref(m))?;
        engine.flush()?;
        for o in &outcomes {
            summary.add(o);
        }
        self.outcome = outcomes.into_iter().next();
        self.message = None;
        Ok(())
    }

    fn backlog(&self) -> Option<u64> {
        Some(u64::from(self.message.is_some()))
    }
}
