//! `POST /v1/calls`: a call rings; the agent's screen is prefilled with whom the directory
//! knows by the caller's number, the service instance the dialled hotline is for (and the rule
//! that chose it), the greeting to read out, and the caller's open tickets.

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::Shared;
use crate::directory::{Organisation, Person, ServiceInstance};
use crate::index::Index;
use crate::phone::{choose, Caller, GreetingFrom, Rule};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incoming {
    /// The caller's number as the PBX has it; empty or unreadable: a withheld number.
    #[serde(default)]
    pub caller: String,
    /// The hotline the customer dialled, before internal routing.
    pub dialled: String,
    #[serde(default)]
    pub call_id: String,
    /// The answering agent's extension.
    #[serde(default)]
    pub extension: String,
}

/// Whom the caller's number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    Person,
    /// A switchboard: the organisation only.
    Organisation,
    /// Several persons share the number: ask.
    Several,
    Unknown,
}

#[derive(Debug, Serialize)]
pub struct OpenTicket {
    pub number: String,
    pub subject: String,
    pub state: &'static str,
    pub queue: String,
}

#[derive(Debug, Serialize)]
pub struct Prefill {
    pub call_id: String,
    pub extension: String,
    /// E.164, `null` for a withheld or unreadable number.
    pub caller: Option<String>,
    pub dialled: String,
    #[serde(rename = "match")]
    pub matched: Match,
    pub person: Option<Person>,
    pub candidates: Vec<Person>,
    pub organisations: Vec<Organisation>,
    /// The dialled hotline's service.
    pub service: Option<String>,
    pub instance: Option<ServiceInstance>,
    /// The organisation whose instance it is.
    pub instance_organisation: Option<String>,
    pub rule: Rule,
    pub greeting: String,
    pub greeting_from: GreetingFrom,
    pub tickets: Vec<OpenTicket>,
}

/// Open tickets listed at most.
const TICKETS: usize = 20;

pub fn prefill(shared: &Shared, index: &Index, call: Incoming) -> Result<Prefill, ApiError> {
    let numbering = shared.cfg.directory.numbering();
    let dialled = numbering
        .normalise(&call.dialled)
        .map_err(|e| ApiError::bad(format!("dialled: {e}")))?;
    let caller = numbering.normalise(&call.caller).ok();
    let lines = match &caller {
        Some(n) => index.directory_lines(n)?,
        None => Default::default(),
    };
    let (matched, person, candidates) = match lines.persons.len() {
        1 => (Match::Person, lines.persons.into_iter().next(), Vec::new()),
        0 if !lines.organisations.is_empty() => (Match::Organisation, None, Vec::new()),
        0 => (Match::Unknown, None, Vec::new()),
        _ => (Match::Several, None, lines.persons),
    };
    let mut organisations: Vec<Organisation> = Vec::new();
    let ids: Vec<&String> = person
        .iter()
        .chain(&candidates)
        .flat_map(|p| &p.organisations)
        .collect();
    for id in ids {
        if organisations.iter().all(|o| &o.id != id) {
            if let Some(o) = index.directory_organisation(id)? {
                organisations.push(o);
            }
        }
    }
    if matched == Match::Organisation {
        organisations = lines.organisations;
    }
    let service = index.directory_lines(&dialled)?.services.into_iter().next();
    let known = if matched == Match::Unknown {
        Caller::Unknown
    } else {
        Caller::Known
    };
    let api = &shared.cfg.api;
    let choice = choose(
        service.as_ref(),
        known,
        &organisations,
        api.several_instances,
        &api.greeting,
    );
    let organisation = choice
        .organisation
        .as_ref()
        .and_then(|id| organisations.iter().find(|o| &o.id == id))
        .or(organisations.first());
    let values = serde_json::json!({
        "person": person,
        "organisation": organisation,
        "service": service.as_ref().map(|s| serde_json::json!({"name": s.name})),
        "instance": choice.instance,
        "caller": caller,
    });
    let greeting = crate::template::render_text(&choice.greeting, &values).unwrap_or_else(|e| {
        tracing::warn!("api: the greeting for {dialled} does not render: {e}");
        String::new()
    });
    let tickets = match (&person, matched) {
        (Some(p), _) => index.open_tickets_of(Some(&p.id), None, TICKETS)?,
        (None, Match::Organisation) => match organisations.first() {
            Some(o) => index.open_tickets_of(None, Some(&o.id), TICKETS)?,
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(Prefill {
        call_id: call.call_id,
        extension: call.extension,
        caller,
        dialled,
        matched,
        person,
        candidates,
        service: service.map(|s| s.name),
        instance: choice.instance,
        instance_organisation: choice.organisation,
        rule: choice.rule,
        greeting,
        greeting_from: choice.greeting_from,
        organisations,
        tickets: tickets
            .into_iter()
            .map(|t| OpenTicket {
                number: t.number,
                subject: t.subject,
                state: t.state.as_str(),
                queue: t.queue,
            })
            .collect(),
    })
}
