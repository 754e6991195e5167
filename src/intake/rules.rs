//! The configuration prepared for deciding, and the two halves of a decision: `understand`
//! (parse, classify, route: pure, run in parallel over a batch) and `decide` (against the index,
//! in order, inside the batch's transaction).

use crate::classify::{self, Classification, OwnIdentity};
use crate::config::{ClosedPolicy, Config};
use crate::decide::{self, Decision, Plan, Policy};
use crate::facts::Facts;
use crate::number::Scheme;
use crate::parse;
use crate::route::{self, Route};

pub struct Rules {
    pub cfg: Config,
    pub scheme: Scheme,
    pub own: Vec<String>,
    pub agents: Vec<String>,
}

/// What a message is, before the index is asked anything.
pub struct Understood {
    pub facts: Facts,
    pub class: Classification,
    pub route: Route,
    /// Set when the message cannot become an article at all.
    pub quarantine: Option<String>,
}

/// Everything decided about one message before anything is written: what `explain` prints.
pub struct Analysis {
    pub facts: Facts,
    pub class: Classification,
    pub route: Route,
    pub plan: Option<Plan>,
    pub quarantine: Option<String>,
}

impl Rules {
    pub fn new(cfg: &Config) -> Rules {
        Rules {
            scheme: cfg.scheme(),
            own: cfg.own_addresses(),
            agents: cfg.agents.iter().map(|a| a.address.clone()).collect(),
            cfg: cfg.clone(),
        }
    }

    pub fn understand(&self, raw: &[u8]) -> Understood {
        let facts = parse::parse(raw);
        let own = OwnIdentity {
            addresses: &self.own,
            loop_value: &self.cfg.general.loop_value,
        };
        let class = classify::classify(&facts, &own);
        let route = route::route(&facts, &self.cfg);
        let quarantine = if raw.len() as u64 > self.cfg.intake.max_message_bytes {
            Some(format!(
                "message of {} bytes exceeds intake.max-message-bytes",
                raw.len()
            ))
        } else {
            facts
                .unparseable
                .as_ref()
                .map(|r| format!("not a mail message: {r}"))
        };
        Understood {
            facts,
            class,
            route,
            quarantine,
        }
    }

    pub fn decide<L: decide::Lookup>(
        &self,
        u: Understood,
        lookup: &L,
    ) -> Result<Analysis, L::Error> {
        let Understood {
            facts,
            class,
            route,
            quarantine,
        } = u;
        // A message quarantined before is a duplicate, like any other.
        if quarantine.is_some() {
            if let Some(dup) = lookup.duplicate(&facts.digest)? {
                let steps = vec!["the same message was seen before".to_string()];
                let plan = Plan {
                    decision: Decision::Duplicate(dup),
                    steps,
                };
                return Ok(Analysis {
                    facts,
                    class,
                    route,
                    plan: Some(plan),
                    quarantine: None,
                });
            }
            return Ok(Analysis {
                facts,
                class,
                route,
                plan: None,
                quarantine,
            });
        }
        let on_closed = |q: &str| {
            self.cfg
                .queue(q)
                .map(|q| q.on_closed)
                .unwrap_or(ClosedPolicy::Reopen)
        };
        let policy = Policy {
            scheme: &self.scheme,
            stranger: self.cfg.tickets.stranger_policy,
            on_closed: &on_closed,
            agents: &self.agents,
        };
        let plan = decide::decide(&facts, &class, &route, &policy, lookup)?;
        Ok(Analysis {
            facts,
            class,
            route,
            plan: Some(plan),
            quarantine,
        })
    }

    /// Both halves at once (for `explain`).
    pub fn analyse<L: decide::Lookup>(&self, raw: &[u8], lookup: &L) -> Result<Analysis, L::Error> {
        self.decide(self.understand(raw), lookup)
    }
}
