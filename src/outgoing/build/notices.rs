//! The notices that go to agents: about a ticket's event, from the template, one mail to all or
//! a copy to each; and the plain notice of a failed delivery or an answer not sent.

use super::{tagged, Mailer, OutMail};
use crate::facts::{Facts, Mailbox};
use crate::outgoing::compose::{self, Address, Auto, Outgoing};
use crate::outgoing::config::NoticeStyle;
use crate::template::{Context, Kind};

impl Mailer<'_> {
    /// The agents' notices about one event. `Pointer`: one mail to all of `agents`, whose
    /// Reply-To is the ticket's shared reply address (the one in the stored copies the queue's
    /// agents read). `Copy`: one mail to each agent, whose Reply-To is that agent's own reply
    /// address, which works only with that agent's From. Replying to either answers the customer.
    #[allow(clippy::too_many_arguments)]
    pub fn notify(
        &self,
        ctx: &Context,
        lang: &str,
        agents: &[Mailbox],
        facts: &Facts,
        lines: &[String],
        style: NoticeStyle,
        rng: &mut impl rand::Rng,
    ) -> Result<Vec<OutMail>, String> {
        let (cfg, out) = (self.cfg, self.out);
        if agents.is_empty() {
            return Ok(Vec::new());
        }
        let queue = &ctx.ticket.queue;
        let from = self.sender(queue)?;
        let mut rendered = self.render(Kind::AgentNotify.name(), lang, ctx)?;
        append_lines(&mut rendered.body, lines);
        let number = &ctx.ticket.number;
        let subject = tagged(cfg, rendered.subject.as_deref(), number, &facts.subject);
        // Each group of recipients, and whose own reply address it gets (none: the shared one).
        let groups: Vec<(&[Mailbox], Option<&str>)> = match style {
            // Digests are recorded, not mailed per event (`outgoing::digest`).
            NoticeStyle::Pointer | NoticeStyle::Digest => vec![(agents, None)],
            NoticeStyle::Copy => agents
                .iter()
                .map(|a| (std::slice::from_ref(a), Some(a.address.as_str())))
                .collect(),
        };
        let mut mails = Vec::with_capacity(groups.len());
        for (to, own) in groups {
            let address = |note: bool| match own {
                Some(agent) => out
                    .signer
                    .agent_reply_address(&from.email, number, agent, note),
                None => out.signer.reply_address(&from.email, number, note),
            };
            let o = Outgoing {
                from: from.clone(),
                to: to
                    .iter()
                    .map(|a| Address {
                        name: a.name.clone(),
                        email: a.address.clone(),
                    })
                    .collect(),
                cc: Vec::new(),
                reply_to: Some(Address {
                    name: from.name.clone(),
                    email: address(false),
                }),
                subject: subject.clone(),
                message_id: out.signer.message_id(number, &out.domain, rng),
                in_reply_to: facts.message_id.clone(),
                references: facts.message_id.iter().cloned().collect(),
                date: self.date,
                auto: Auto::Generated,
                loop_value: cfg.general.loop_value.clone(),
                language: Some(lang.to_string()),
                extra: vec![("X-Postdesk-Note-Address".into(), address(true))],
                body: rendered.body.clone(),
                attachments: Vec::new(),
            };
            mails.push(OutMail {
                kind: "notification",
                event: Kind::AgentNotify.name().into(),
                bytes: compose::build(&o).map_err(|e| e.to_string())?,
                env_from: None,
                rcpts: to.iter().map(|a| a.address.clone()).collect(),
            });
        }
        Ok(mails)
    }

    /// A plain notice to agents (a failed delivery, an answer that was not sent), not from a template.
    pub fn notice(
        &self,
        queue: &str,
        number: &str,
        to: &[String],
        subject: &str,
        body: String,
        rng: &mut impl rand::Rng,
    ) -> Result<OutMail, String> {
        let (cfg, out) = (self.cfg, self.out);
        let from = self.sender(queue)?;
        if to.is_empty() {
            return Err(format!("queue {queue}: no agent to send a notice to"));
        }
        let o = Outgoing {
            from: from.clone(),
            to: to
                .iter()
                .map(|e| Address {
                    name: None,
                    email: e.clone(),
                })
                .collect(),
            cc: Vec::new(),
            reply_to: None,
            subject: cfg.scheme().tag_subject(subject, number, false),
            message_id: out.signer.message_id(number, &out.domain, rng),
            in_reply_to: None,
            references: Vec::new(),
            date: self.date,
            auto: Auto::Generated,
            loop_value: cfg.general.loop_value.clone(),
            language: None,
            extra: Vec::new(),
            body,
            attachments: Vec::new(),
        };
        Ok(OutMail {
            kind: "failure-notice",
            event: "notice".into(),
            bytes: compose::build(&o).map_err(|e| e.to_string())?,
            env_from: None,
            rcpts: to.to_vec(),
        })
    }
}

/// postdesk's own lines below the admin's template: never customer text as template code.
fn append_lines(body: &mut String, lines: &[String]) {
    for w in lines {
        if !body.ends_with('\n') {
            body.push('\n');
        }
        body.push_str(&format!("\n[postdesk] {w}\n"));
    }
}
