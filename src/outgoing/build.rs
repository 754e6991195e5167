//! Turns a decision to send into the bytes of a mail: the template rendered against the ticket
//! and the customer's message (customer text is data, never template code), then composed with
//! our headers (see `compose`).

use chrono::{DateTime, Utc};

use super::{queue_sender, Outbound};
use crate::config::Config;
use crate::facts::Facts;
use crate::index::TicketRef;
use crate::outgoing::compose::{self, Address, Attachment, Auto, Outgoing};
use crate::template::{self, Context, Event, Kind};

mod notices;

/// A mail ready to be stored as an outgoing article and queued.
#[derive(Debug, Clone)]
pub struct OutMail {
    /// autoresponse, notification, answer, failure-notice.
    pub kind: &'static str,
    /// The template or event behind it (new-ticket, agent-notify, answer, ...).
    pub event: String,
    pub bytes: Vec<u8>,
    /// Envelope sender; `None` is the null sender of automatic mail.
    pub env_from: Option<String>,
    pub rcpts: Vec<String>,
}

/// The ticket as a template sees it.
pub struct TicketView<'a> {
    pub t: &'a TicketRef,
    /// The subject without tag and reply prefixes.
    pub subject: String,
    pub created: String,
    pub priority: String,
    pub owner: Option<String>,
}

impl<'a> TicketView<'a> {
    pub fn new(cfg: &Config, t: &'a TicketRef, subject: &str, created: &str) -> TicketView<'a> {
        TicketView {
            t,
            subject: plain_subject(cfg, subject, &t.number),
            created: created.to_string(),
            priority: "normal".into(),
            owner: None,
        }
    }
}

/// A subject without our tag and reply prefixes.
pub fn plain_subject(cfg: &Config, subject: &str, number: &str) -> String {
    let scheme = cfg.scheme();
    let tagged = scheme.tag_subject(subject, number, false);
    tagged
        .strip_prefix(&scheme.tag(number))
        .unwrap_or(&tagged)
        .trim()
        .to_string()
}

/// Everything about a message a template may show.
pub fn context(
    cfg: &Config,
    view: &TicketView,
    facts: &Facts,
    body: &str,
    event: Event,
) -> Context {
    let q = cfg.queue(&view.t.queue);
    let sender = q.map(queue_sender);
    let author = facts.author().cloned().unwrap_or_default();
    Context {
        ticket: template::Ticket {
            number: view.t.number.clone(),
            tag: cfg.scheme().tag(&view.t.number),
            subject: view.subject.clone(),
            queue: view.t.queue.clone(),
            state: view.t.state.as_str().to_string(),
            created: view.created.clone(),
            priority: view.priority.clone(),
            owner: view.owner.clone(),
        },
        customer: template::Customer {
            name: author.name.clone(),
            address: author.address.clone(),
            id: None,
            first_name: None,
            last_name: None,
            vip: false,
        },
        article: template::Article {
            subject: facts.subject.clone(),
            from: author.display(),
            date: facts.date.clone(),
            body: body.to_string(),
        },
        queue: template::Queue {
            name: view.t.queue.clone(),
            address: sender.as_ref().map(|s| s.email.clone()).unwrap_or_default(),
            display_name: sender.and_then(|s| s.name).unwrap_or_default(),
        },
        agent: None,
        previous: None,
        reason: None,
        event,
        organisation: None,
        service: None,
        request: None,
        deadline: None,
        pending: None,
        digest: None,
    }
}

/// The language for a message: its Content-Language/Accept-Language, else the queue's.
pub fn language(cfg: &Config, out: &Outbound, facts: &Facts, queue: &str) -> String {
    let prefs = facts.languages.join(", ");
    let default = cfg
        .queue(queue)
        .map(|q| q.language.clone())
        .unwrap_or_else(|| "en".into());
    template::choose_language(
        if prefs.is_empty() { None } else { Some(&prefs) },
        None,
        &out.templates.languages(),
        &default,
    )
}

/// Builds mails for one configuration.
#[derive(Clone, Copy)]
pub struct Mailer<'a> {
    pub cfg: &'a Config,
    pub out: &'a Outbound,
    /// When the mails are made: their Date header. The caller's clock, never read here.
    pub date: DateTime<Utc>,
}

/// What an agent's answer says and to whom, for `Mailer::relay`.
pub struct Answer<'a> {
    pub to: &'a [String],
    pub cc: &'a [String],
    pub in_reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub text: &'a str,
    pub attachments: Vec<Attachment>,
}

impl Mailer<'_> {
    /// The reply to a message a filter rejected: the script's text, from the queue the message
    /// was routed to, automatic (auto-replied, null sender).
    pub fn rejection(
        &self,
        queue: &str,
        facts: &Facts,
        to: &str,
        text: &str,
        rng: &mut impl rand::Rng,
    ) -> Result<OutMail, String> {
        let from = self.sender(queue)?;
        let mut references = facts.references.clone();
        references.extend(facts.message_id.iter().cloned());
        let o = Outgoing {
            from: from.clone(),
            to: vec![Address {
                name: None,
                email: to.to_string(),
            }],
            cc: Vec::new(),
            reply_to: Some(from),
            subject: format!("Rejected: {}", facts.subject),
            message_id: self.out.signer.message_id("0", &self.out.domain, rng),
            in_reply_to: facts.message_id.clone(),
            references,
            date: self.date,
            auto: Auto::Replied,
            loop_value: self.cfg.general.loop_value.clone(),
            language: None,
            extra: Vec::new(),
            body: format!("{}\n", text.trim_end()),
            attachments: Vec::new(),
        };
        Ok(OutMail {
            kind: "autoresponse",
            event: "reject".into(),
            bytes: compose::build(&o).map_err(|e| e.to_string())?,
            env_from: None,
            rcpts: vec![to.to_string()],
        })
    }

    /// A template that must exist, rendered for the context's queue.
    fn render(
        &self,
        name: &str,
        lang: &str,
        ctx: &Context,
    ) -> Result<crate::template::Rendered, String> {
        self.out
            .templates
            .render(name, lang, &ctx.ticket.queue, ctx)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no template {name} (language {lang})"))
    }

    /// The address and name `queue` sends from.
    pub(super) fn sender(&self, queue: &str) -> Result<Address, String> {
        let q = self
            .cfg
            .queue(queue)
            .ok_or_else(|| format!("queue {queue} is not configured"))?;
        let from = queue_sender(q);
        if from.email.is_empty() {
            return Err(format!("queue {queue} has no address to send from"));
        }
        Ok(from)
    }

    /// An autoresponse (`template`) to `to`, threaded onto the customer's message.
    pub fn autoresponse(
        &self,
        template: Kind,
        ctx: &Context,
        lang: &str,
        facts: &Facts,
        to: &str,
        rng: &mut impl rand::Rng,
    ) -> Result<OutMail, String> {
        self.automatic(template.name(), ctx, lang, facts, to, true, rng)
    }

    /// The answer to a customer's request by mail (`template`, `request-*`) to `to`, threaded
    /// onto the request; its subject is the template's as it is (no ticket is tagged).
    pub fn request_answer(
        &self,
        template: &str,
        ctx: &Context,
        lang: &str,
        facts: &Facts,
        to: &str,
        rng: &mut impl rand::Rng,
    ) -> Result<OutMail, String> {
        self.automatic(template, ctx, lang, facts, to, false, rng)
    }

    #[allow(clippy::too_many_arguments)]
    fn automatic(
        &self,
        template: &str,
        ctx: &Context,
        lang: &str,
        facts: &Facts,
        to: &str,
        tag: bool,
        rng: &mut impl rand::Rng,
    ) -> Result<OutMail, String> {
        let (cfg, out) = (self.cfg, self.out);
        let queue = &ctx.ticket.queue;
        let from = self.sender(queue)?;
        let rendered = self.render(template, lang, ctx)?;
        let subject = match (tag, rendered.subject) {
            (true, s) => tagged(cfg, s.as_deref(), &ctx.ticket.number, &facts.subject),
            (false, Some(s)) => s,
            (false, None) => format!("Re: {}", facts.subject),
        };
        let number = match ctx.ticket.number.as_str() {
            "" => "0",
            n => n,
        };
        let mut references = facts.references.clone();
        references.extend(facts.message_id.iter().cloned());
        let o = Outgoing {
            from: from.clone(),
            to: vec![Address {
                name: None,
                email: to.to_string(),
            }],
            cc: Vec::new(),
            reply_to: Some(from),
            subject,
            message_id: out.signer.message_id(number, &out.domain, rng),
            in_reply_to: facts.message_id.clone(),
            references,
            date: self.date,
            auto: Auto::Replied,
            loop_value: cfg.general.loop_value.clone(),
            language: Some(lang.to_string()),
            extra: Vec::new(),
            body: rendered.body,
            attachments: Vec::new(),
        };
        Ok(OutMail {
            kind: "autoresponse",
            event: template.to_string(),
            bytes: compose::build(&o).map_err(|e| e.to_string())?,
            env_from: None,
            rcpts: vec![to.to_string()],
        })
    }

    /// An agent's answer as the customer receives it: from the queue, to the customer and the other
    /// participants, salutation and signature around the agent's text, the agent's attachments.
    pub fn relay(
        &self,
        ctx: &Context,
        lang: &str,
        a: Answer,
        rng: &mut impl rand::Rng,
    ) -> Result<OutMail, String> {
        let (cfg, out) = (self.cfg, self.out);
        let Answer {
            to,
            cc,
            in_reply_to,
            subject,
            text,
            attachments,
        } = a;
        let queue = &ctx.ticket.queue;
        let from = self.sender(queue)?;
        let part = |name: &str| -> Result<String, String> {
            Ok(out
                .templates
                .render(name, lang, queue, ctx)
                .map_err(|e| e.to_string())?
                .map(|r| r.body)
                .unwrap_or_default())
        };
        let mut body = if super::greeting::opens_with_greeting(text) {
            String::new()
        } else {
            part("salutation")?
        };
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        body.push_str(text.trim_end());
        body.push('\n');
        let signature = part("signature")?;
        if !signature.is_empty() {
            body.push('\n');
            body.push_str(&signature);
        }
        let number = &ctx.ticket.number;
        let addr = |e: &String| Address {
            name: None,
            email: e.clone(),
        };
        let o = Outgoing {
            from: from.clone(),
            to: to.iter().map(addr).collect(),
            cc: cc.iter().map(addr).collect(),
            reply_to: Some(from.clone()),
            subject: cfg
                .scheme()
                .tag_subject(subject, number, subject_is_reply(subject)),
            message_id: out.signer.message_id(number, &out.domain, rng),
            in_reply_to: in_reply_to.map(str::to_string),
            references: in_reply_to.iter().map(|s| s.to_string()).collect(),
            date: self.date,
            auto: Auto::No,
            loop_value: cfg.general.loop_value.clone(),
            language: Some(lang.to_string()),
            extra: Vec::new(),
            body,
            attachments,
        };
        Ok(OutMail {
            kind: "answer",
            event: "answer".into(),
            bytes: compose::build(&o).map_err(|e| e.to_string())?,
            env_from: Some(from.email),
            rcpts: to.iter().chain(cc).cloned().collect(),
        })
    }
}

impl Mailer<'_> {
    /// A scheduled report from `queue`'s address to `to`, with the report attached; automatic
    /// mail (`Auto-Submitted: auto-generated`), sent with the null sender.
    pub fn report(
        &self,
        queue: &str,
        to: &[String],
        subject: &str,
        body: String,
        report: Attachment,
        message_id: String,
    ) -> Result<OutMail, String> {
        let o = Outgoing {
            from: self.sender(queue)?,
            to: to.iter().map(|e| Address::new(e)).collect(),
            cc: Vec::new(),
            reply_to: None,
            subject: subject.to_string(),
            message_id,
            in_reply_to: None,
            references: Vec::new(),
            date: self.date,
            auto: Auto::Generated,
            loop_value: self.cfg.general.loop_value.clone(),
            language: None,
            extra: Vec::new(),
            body,
            attachments: vec![report],
        };
        Ok(OutMail {
            kind: "report",
            event: "report".into(),
            bytes: compose::build(&o).map_err(|e| e.to_string())?,
            env_from: None,
            rcpts: to.to_vec(),
        })
    }
}

fn subject_is_reply(s: &str) -> bool {
    crate::number::strip_prefixes(s).len() != s.trim_start().len()
}

/// The template's subject (or, without one, the customer's) carrying the ticket's tag.
fn tagged(cfg: &Config, rendered: Option<&str>, number: &str, fallback: &str) -> String {
    let s = rendered
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(fallback);
    cfg.scheme().tag_subject(s, number, false)
}
