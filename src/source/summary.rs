//! What a drain came to, counted as messages are let go of at their source.

use crate::intake::Outcome;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub processed: u64,
    pub new_tickets: u64,
    pub follow_ups: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub failed: u64,
    /// Agents' answers and notes.
    pub answers: u64,
    /// Left at the source to try again later (a scanner was unavailable).
    pub deferred: u64,
    /// Customers' requests by mail (`#tickets`, ...).
    pub requests: u64,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.processed += 1;
        match o {
            Outcome::Created { .. } => self.new_tickets += 1,
            Outcome::FollowUp { .. } => self.follow_ups += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
            Outcome::Answered { .. } => self.answers += 1,
            Outcome::Request { .. } => self.requests += 1,
        }
    }

    pub fn line(&self) -> String {
        let mut answers = if self.answers > 0 {
            format!(", agent mails {}", self.answers)
        } else {
            String::new()
        };
        if self.requests > 0 {
            answers.push_str(&format!(", customer requests {}", self.requests));
        }
        if self.deferred > 0 {
            answers.push_str(&format!(", deferred {}", self.deferred));
        }
        format!(
            "processed {}, new tickets {}, follow-ups {}, duplicates {}, quarantined {}, failed {}{answers}",
            self.processed,
            self.new_tickets,
            self.follow_ups,
            self.duplicates,
            self.quarantined,
            self.failed
        )
    }
}
