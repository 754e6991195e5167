//! The planning step: a message understood and matched (`Rules::matched`) made into its
//! `Plan`, the decision with the actions that carry it out (`decide::actions` for customers'
//! mail, `agent_plan` for agents'), asking the index only through `Lookup`. What intake
//! carries out (`carry`) and `explain` prints.

use super::inspect::{Inspection, Scanned};
use super::rules::{Rules, Understood};
use crate::classify::Classification;
use crate::decide::{self, Decision, Plan};
use crate::facts::Facts;
use crate::index::{IndexError, Records};
use crate::route::Route;

/// Everything decided about one message before anything is written: what `explain` prints
/// and intake carries out (`plan.actions`).
pub struct Analysis {
    pub facts: Facts,
    pub class: Classification,
    pub route: Route,
    pub plan: Plan,
    pub inspection: Inspection,
}

impl Rules {
    /// The plan for a message understood: the matcher's decision and the actions that carry
    /// it out, the rate limits counted back from `now`.
    pub fn decide<L>(
        &self,
        u: Understood,
        lookup: &L,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Analysis, L::Error>
    where
        L: decide::Lookup + Records,
        L::Error: From<IndexError>,
    {
        // A fax's sender's number, when it could be read: whose the ticket is.
        let fax: Option<Option<String>> = (u.fax.as_ref()).map(|f| f.number.clone().ok());
        let mut u = u;
        let commands = u.commands.take().unwrap_or_default();
        let m = self.matched(u, lookup)?;
        let mut plan = match m.plan {
            Some(plan) => plan,
            None => Plan {
                decision: Decision::Quarantine {
                    reason: m.quarantine.clone().unwrap_or_default(),
                },
                steps: Vec::new(),
                actions: Vec::new(),
            },
        };
        let answering = decide::respond::Answering {
            cfg: &self.cfg,
            own: &self.own,
            agents: &self.agents,
            sends: self.out.is_some(),
            now: now.timestamp(),
        };
        let filed = decide::respond::Filed {
            facts: &m.facts,
            class: &m.class,
            suppressed: m.inspection.no_autoresponse.as_deref(),
        };
        // A customer's request: what its sender may be told, as the index has it now.
        let request = match &plan.decision {
            Decision::Request { command, .. } => Some(crate::requests::answer(
                lookup,
                &self.cfg.customer_requests,
                &m.facts,
                command,
            )?),
            _ => None,
        };
        let asked = decide::actions::Asked {
            queue: &m.route.queue,
            attributes: &m.inspection.attributes,
            reject: m.inspection.reject.as_deref(),
            fax: fax.as_ref().map(Option::as_deref),
            request: request.as_ref(),
        };
        plan.actions = match &plan.decision {
            Decision::Agent { ticket, mail } => super::agent_plan::actions(
                self,
                &m.facts,
                &commands,
                ticket,
                mail,
                m.class.kind.is_automatic(),
                &crate::clock::stamp(now),
                lookup,
            )?,
            d => decide::actions::actions(&answering, &filed, &asked, d, lookup)?,
        };
        Ok(Analysis {
            facts: m.facts,
            class: m.class,
            route: m.route,
            plan,
            inspection: m.inspection,
        })
    }

    /// Both halves at once, with the scanners' results.
    pub fn analyse<L>(
        &self,
        raw: &[u8],
        scanned: Scanned,
        lookup: &L,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Analysis, L::Error>
    where
        L: decide::Lookup + Records,
        L::Error: From<IndexError>,
    {
        self.decide(self.understand_with(raw, scanned), lookup, now)
    }
}
