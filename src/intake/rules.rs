//! The configuration prepared for deciding, and the two halves of a decision: `understand`
//! (parse, classify, route: pure, run in parallel over a batch) and `decide` (against the index,
//! in order, inside the batch's transaction).

use crate::classify::{self, Classification, OwnIdentity};
use std::sync::Arc;

use crate::config::{ClosedPolicy, Config};
use crate::decide::{self, Decision, OwnId, Plan, Policy};
use crate::facts::Facts;
use crate::filter::Filters;
use crate::number::Scheme;
use crate::outgoing::agent::{self, Detected};
use crate::outgoing::Outbound;
use crate::scan::Scanners;
use crate::store::spliced::Spliced;

use super::inspect::{self, Effect, Inspection, Scanned};
use crate::parse;
use crate::route::{self, Route};

/// Why a mail that would open a ticket but names no address is quarantined.
pub const NO_ADDRESS: &str = "no sender address: neither From, Reply-To, Sender nor the \
     envelope sender (Return-Path) names one, so a ticket would have no customer to answer";

#[derive(Clone)]
pub struct Rules {
    pub cfg: Config,
    /// The time, as intake reads it (`Engine::open_with_clock`).
    pub clock: Arc<dyn crate::clock::Clock>,
    pub scheme: Scheme,
    pub own: Vec<String>,
    pub agents: Vec<String>,
    /// Templates and key for outgoing mail; `None` where nothing is sent (reindex).
    pub out: Option<Arc<Outbound>>,
    /// The admin's Sieve scripts (none where nothing is filtered: reindex).
    pub filters: Arc<Filters>,
    /// spamd and clamd, when configured.
    pub scanners: Option<Arc<Scanners>>,
    /// The fax gateways (`[[fax]]`).
    pub fax: Arc<crate::fax::Gateways>,
    queue_names: Vec<String>,
}

/// What a message is, before the index is asked anything.
#[derive(Clone)]
pub struct Understood {
    pub facts: Facts,
    pub class: Classification,
    pub route: Route,
    /// Set when the message cannot become an article at all.
    pub quarantine: Option<String>,
    /// Whether it is an agent's answer or note.
    pub agent: Detected,
    /// An agent's mail: the commands at its top and the text below them.
    pub commands: Option<crate::outgoing::commands::Parsed>,
    /// What the filters (and scanners) decided.
    pub inspection: Inspection,
    /// When it was understood (Unix seconds): which retired keys still verify.
    pub now: i64,
    /// A fax gateway's mail: the sender's number and the PDFs of its TIFFs.
    pub fax: Option<Arc<crate::fax::Received>>,
    /// The fax's number belongs to the directory's customer of the ticket its subject names
    /// (intake asks the index before deciding): the sender is no stranger there.
    pub fax_from_customer: bool,
}

/// The matcher's answer, before it is made into actions: a plan, or why the message is
/// quarantined.
pub(super) struct Matched {
    pub facts: Facts,
    pub class: Classification,
    pub route: Route,
    pub plan: Option<Plan>,
    pub quarantine: Option<String>,
    pub inspection: Inspection,
}

impl Rules {
    pub fn new(cfg: &Config) -> Rules {
        Rules {
            clock: crate::clock::system(),
            scheme: cfg.scheme(),
            own: cfg.own_addresses(),
            agents: cfg.agents.iter().map(|a| a.address.clone()).collect(),
            cfg: cfg.clone(),
            out: None,
            filters: Arc::new(Filters::empty()),
            scanners: None,
            fax: Arc::new(crate::fax::Gateways::new(cfg)),
            queue_names: cfg.queues.iter().map(|q| q.name.clone()).collect(),
        }
    }

    /// These rules, reading the time from `clock`.
    pub fn with_clock(self, clock: Arc<dyn crate::clock::Clock>) -> Rules {
        Rules { clock, ..self }
    }

    /// Rules that also send: templates compiled, the key loaded (created when `create`).
    pub fn with_outgoing(cfg: &Config, create: bool) -> Result<Rules, String> {
        let mut r = Rules::new(cfg);
        r.out = Some(Arc::new(Outbound::load(cfg, create)?));
        let dir = cfg.filters_dir();
        if dir.is_dir() {
            let f = Filters::load(&dir).map_err(|errs| {
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            r.filters = Arc::new(f.with_queues(r.queue_names.clone()));
        }
        if cfg.scan.spamd.enabled || cfg.scan.clamd.enabled {
            r.scanners = Some(Arc::new(Scanners::new(&cfg.scan)?));
        }
        Ok(r)
    }

    /// Scans a message (network I/O: run it on worker threads). `Err` with the reason when it
    /// must stay at its source and be tried again later.
    pub fn scan(&self, raw: &[u8]) -> Result<Scanned, String> {
        match &self.scanners {
            None => Ok(Scanned::default()),
            Some(s) => Scanned::from_report(s, &s.scan(raw)),
        }
    }

    /// Scans a batch's messages in order, as many at once as `scan.concurrency` allows.
    pub fn scan_all(&self, batch: &[super::Message]) -> Vec<Result<Scanned, String>> {
        match &self.scanners {
            Some(_) => {
                crate::parallel::map_on(batch, self.cfg.scan.concurrency, |m| self.scan(&m.raw))
            }
            None => batch.iter().map(|_| Ok(Scanned::default())).collect(),
        }
    }

    pub fn understand(&self, raw: &[u8]) -> Understood {
        self.understand_with(raw, Scanned::default())
    }

    /// `understand` with the scanners' results (the filters see them).
    pub fn understand_with(&self, raw: &[u8], scanned: Scanned) -> Understood {
        let (facts, message) = parse::parse_keeping(raw, &self.cfg.intake.mime_limits());
        self.understand_parsed(raw, facts, message, scanned)
    }

    /// `understand_with` for a message whose last part lives in a file (`store::spliced`): parsed
    /// (and seen by the filters) without that part's bytes; its digest, its size and the part's
    /// size are those of the whole message, as reindex reads them from the stored file.
    pub fn understand_spliced(
        &self,
        raw: &[u8],
        spliced: &Spliced,
        scanned: Scanned,
    ) -> std::io::Result<Understood> {
        let mut facts = parse::parse_within(raw, &self.cfg.intake.mime_limits());
        let mut encoded = spliced.encoded()?;
        facts.digest = parse::spliced_digest(raw, spliced.at(raw), &mut encoded)?;
        facts.size = spliced.total_len(raw);
        if let Some(part) = facts.attachments.last_mut() {
            part.size = spliced.len;
        }
        Ok(self.understand_parsed(raw, facts, None, scanned))
    }

    /// A source's message understood with its scanners' results: a spliced part read from its
    /// file, and a quarantine the source already knows of (too large to fetch) kept.
    pub fn understand_message(
        &self,
        m: &super::Message,
        scanned: Scanned,
    ) -> std::io::Result<Understood> {
        let mut u = match &m.spliced {
            None => self.understand_with(&m.raw, scanned),
            Some(s) => self.understand_spliced(&m.raw, s, scanned)?,
        };
        if let Some(r) = &m.quarantine {
            u.quarantine = Some(r.clone());
        }
        Ok(u)
    }

    /// `message`: `raw` as `parse::parse_keeping` parsed it, for the filters.
    fn understand_parsed(
        &self,
        raw: &[u8],
        facts: Facts,
        message: Option<mail_parser::Message<'_>>,
        scanned: Scanned,
    ) -> Understood {
        let own = OwnIdentity {
            addresses: &self.own,
            loop_value: &self.cfg.general.loop_value,
        };
        let class = classify::classify(&facts, &own);
        let route = route::route(&facts, &self.cfg);
        let quarantine = if facts.size > self.cfg.intake.max_message_bytes {
            Some(format!(
                "message of {} bytes exceeds intake.max-message-bytes",
                facts.size
            ))
        } else if let Some(r) = &facts.unparseable {
            Some(format!("not a mail message: {r}"))
        } else {
            facts
                .over_limits
                .as_ref()
                .map(|r| format!("not parsed: {r}"))
        };
        let now = self.clock.now().timestamp();
        let agent = match &self.out {
            Some(out) => agent::detect(
                &facts,
                &out.signer,
                &self.cfg.agents,
                &self.cfg.agent_proof,
                now,
            ),
            None => Detected::None,
        };
        let commands = matches!(agent, Detected::Agent(_))
            .then(|| crate::outgoing::commands::parse(&crate::outgoing::text::body_text(raw)));
        let mut route = route;
        let mut quarantine = quarantine.or(scanned.quarantine);
        // A gateway's fax: its number read and its TIFFs rendered here, on the reader threads.
        let fax = match quarantine {
            None => self.fax.receive(&facts, raw).map(Arc::new),
            Some(_) => None,
        };
        if let Some(f) = &fax {
            if let Some(q) = &f.queue {
                route = Route {
                    queue: q.clone(),
                    address: None,
                    reason: format!("a fax from gateway {}: its queue {q}", f.gateway),
                };
            }
        }
        let mut inspection = Inspection::default();
        if quarantine.is_none() {
            let (ins, effect) = inspect::run(
                &self.filters,
                (raw, message),
                &facts,
                scanned.values,
                &self.queue_names,
            );
            match effect {
                Effect::Keep => {}
                Effect::Route(r) => route = r,
                Effect::Quarantine(reason) => quarantine = Some(reason),
            }
            inspection = ins;
        }
        inspection.headers = scanned.headers;
        if inspection.no_autoresponse.is_none() {
            inspection.no_autoresponse = scanned.no_autoresponse;
        }
        if inspection.no_autoresponse.is_none() && fax.is_some() {
            // Its From is the gateway, not the customer.
            inspection.no_autoresponse = Some("a fax: the mail is from the fax gateway".into());
        }
        Understood {
            facts,
            class,
            route,
            quarantine,
            agent,
            commands,
            inspection,
            now,
            fax,
            fax_from_customer: false,
        }
    }

    /// The matcher's decision for a message understood (see `plan` for its actions).
    pub(super) fn matched<L: decide::Lookup>(
        &self,
        u: Understood,
        lookup: &L,
    ) -> Result<Matched, L::Error> {
        let Understood {
            facts,
            class,
            route,
            quarantine,
            agent,
            commands: _,
            inspection,
            now,
            fax: _,
            fax_from_customer,
        } = u;
        // A message quarantined before is a duplicate, like any other.
        if quarantine.is_some() {
            if let Some(dup) = lookup.duplicate(&facts.digest, facts.message_id.as_deref())? {
                let steps = vec!["the same message was seen before".to_string()];
                let plan = Plan {
                    decision: Decision::Duplicate(dup),
                    steps,
                    actions: Vec::new(),
                };
                return Ok(Matched {
                    facts,
                    class,
                    route,
                    plan: Some(plan),
                    quarantine: None,
                    inspection,
                });
            }
            return Ok(Matched {
                facts,
                class,
                route,
                plan: None,
                quarantine,
                inspection,
            });
        }
        let on_closed = |q: &str| {
            self.cfg
                .queue(q)
                .map(|q| q.on_closed)
                .unwrap_or(ClosedPolicy::Reopen)
        };
        // An agent acts only on tickets of their own queues; elsewhere their mail is a
        // customer's (and, from an agent's address, no participant's).
        let mut agent = agent;
        if let Detected::Agent(mail) = &agent {
            if let Some(t) = lookup.ticket(&mail.number)? {
                let theirs = self.cfg.agents.iter().any(|a| {
                    a.address == mail.address
                        && a.queues.iter().any(|q| q.eq_ignore_ascii_case(&t.queue))
                });
                if !theirs {
                    agent = Detected::OtherQueue {
                        number: t.number,
                        agent: mail.name.clone(),
                        queue: t.queue,
                    };
                }
            }
        }
        if let Detected::Agent(mail) = &agent {
            let plan = self.agent_plan(&facts, mail, &agent, lookup)?;
            return Ok(match plan {
                Ok(plan) => Matched {
                    facts,
                    class,
                    route,
                    plan: Some(plan),
                    quarantine: None,
                    inspection,
                },
                Err(reason) => Matched {
                    facts,
                    class,
                    route,
                    plan: None,
                    quarantine: Some(reason),
                    inspection,
                },
            });
        }
        let own_id = |id: &str| match &self.out {
            Some(out) if !out.ephemeral => out.own_id(id, now),
            _ => OwnId::NotOurs,
        };
        let policy = Policy {
            scheme: &self.scheme,
            stranger: if fax_from_customer {
                crate::config::StrangerPolicy::Accept
            } else {
                self.cfg.tickets.stranger_policy
            },
            on_closed: &on_closed,
            agents: &self.agents,
            own_id: &own_id,
        };
        // A customer's request by mail is answered, not filed; seen before, it is a duplicate.
        if let Some(command) = self.request(&facts) {
            let mut steps: Vec<String> = agent.step().into_iter().collect();
            let decision = match lookup.duplicate(&facts.digest, facts.message_id.as_deref())? {
                Some(dup) => {
                    steps.push("the same message was seen before".into());
                    Decision::Duplicate(dup)
                }
                None => {
                    steps.push(format!(
                        "the first line asks for #{}: a customer's request to queue {}",
                        command.name(),
                        route.queue
                    ));
                    Decision::Request {
                        queue: route.queue.clone(),
                        command,
                    }
                }
            };
            return Ok(Matched {
                facts,
                class,
                route,
                plan: Some(Plan {
                    decision,
                    steps,
                    actions: Vec::new(),
                }),
                quarantine,
                inspection,
            });
        }
        let mut plan = decide::decide(&facts, &class, &route, &policy, lookup)?;
        if let Some(step) = agent.step() {
            plan.steps.insert(0, step);
        }
        if fax_from_customer {
            plan.steps.insert(
                0,
                "the fax's number belongs to the customer of the ticket its subject names".into(),
            );
        }
        // A ticket is a conversation with a customer: a mail that names no address anywhere
        // cannot be answered, acknowledged or told apart from a stranger's. It is held for an
        // admin, as mail without a usable sender is, rather than opening a ticket whose customer
        // is a name alone or nothing.
        if matches!(plan.decision, Decision::New { .. }) && facts.author().is_none() {
            return Ok(Matched {
                facts,
                class,
                route,
                plan: None,
                quarantine: Some(NO_ADDRESS.into()),
                inspection,
            });
        }
        Ok(Matched {
            facts,
            class,
            route,
            plan: Some(plan),
            quarantine,
            inspection,
        })
    }

    /// The customer's request on the message's first line, when requests are on (they need the
    /// directory: only its persons are answered).
    fn request(&self, facts: &Facts) -> Option<crate::requests::Command> {
        let c = &self.cfg.customer_requests;
        if !c.enabled || self.cfg.directory.file.is_none() {
            return None;
        }
        crate::requests::parse(&facts.body_preview)
    }

    /// An agent's mail: a duplicate, or the ticket its reply address names; an error (the reason
    /// to quarantine) when that ticket does not exist.
    fn agent_plan<L: decide::Lookup>(
        &self,
        facts: &crate::facts::Facts,
        mail: &agent::AgentMail,
        detected: &Detected,
        lookup: &L,
    ) -> Result<Result<Plan, String>, L::Error> {
        let mut steps: Vec<String> = detected.step().into_iter().collect();
        if let Some(dup) = lookup.duplicate(&facts.digest, facts.message_id.as_deref())? {
            steps.push("the same message was seen before".into());
            return Ok(Ok(Plan {
                decision: Decision::Duplicate(dup),
                steps,
                actions: Vec::new(),
            }));
        }
        let Some(ticket) = lookup.ticket(&mail.number)? else {
            return Ok(Err(format!(
                "agent mail for ticket {}, which does not exist",
                mail.number
            )));
        };
        steps.push(format!(
            "{} to ticket {} in queue {}",
            if mail.note { "note" } else { "answer" },
            ticket.number,
            ticket.queue
        ));
        Ok(Ok(Plan {
            decision: Decision::Agent {
                ticket,
                mail: mail.clone(),
            },
            steps,
            actions: Vec::new(),
        }))
    }
}
