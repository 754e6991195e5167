//! A ticket's customer (`decide::customer`) where intake writes and shows it: in the trace block of
//! the article that opens the ticket, in the templates; and an existing ticket's, as the
//! directory has it now. The ticket's row and that trace block are part of the batch that files
//! the message: a crash before the commit leaves the message at its source and nothing of its
//! attribution, one after it leaves both, and `reindex` reads it back from the trace block.

pub use crate::decide::customer::Customer;
use crate::index::{self, Tx};
use crate::store::trace;
use crate::template;

impl Customer {
    /// For an existing ticket: its person and organisation as the directory has them now.
    pub fn of_ticket(tx: &Tx, number: &str) -> index::Result<Customer> {
        Ok(Customer::of_party(tx.directory_ticket(number)?))
    }

    /// The same ids in the trace block of the article that opens the ticket.
    pub fn trace(&self, tr: &mut trace::Trace) {
        let ids = self.ids();
        for (name, value) in [
            (trace::CUSTOMER, ids.person),
            (trace::ORGANISATION, ids.organisation),
            (trace::SERVICE, ids.service),
        ] {
            if let Some(v) = value {
                tr.add(name, v);
            }
        }
    }

    /// What templates see of it. The person's names only when the mail goes to one of the
    /// person's addresses: a colleague who wrote a follow-up is not greeted by another's name.
    pub fn fill(&self, ctx: &mut template::Context) {
        if let Some(p) = &self.person {
            let to = ctx.customer.address.trim().to_ascii_lowercase();
            if p.mail.contains(&to) {
                let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
                let c = &mut ctx.customer;
                c.name = some(&p.display_name).or(c.name.take());
                c.id = Some(p.id.clone());
                c.first_name = some(&p.first_name);
                c.last_name = some(&p.last_name);
                c.vip = p.vip;
            }
        }
        ctx.organisation = self.organisation.as_ref().map(|o| template::Organisation {
            id: o.id.clone(),
            name: o.name.clone(),
        });
        ctx.service = self.service.as_ref().map(|s| template::Service {
            name: s.service.clone(),
            sla: s.sla.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::{Organisation, Person};

    #[test]
    fn templates_greet_the_person_only_at_their_own_address() {
        let c = Customer {
            person: Some(Person {
                id: "p1".into(),
                display_name: "Maria Müller".into(),
                first_name: "Maria".into(),
                last_name: "Müller".into(),
                mail: vec!["maria@acme.example".into()],
                ..Person::default()
            }),
            organisation: Some(Organisation {
                id: "acme".into(),
                name: "ACME GmbH".into(),
                ..Organisation::default()
            }),
            service: None,
        };
        let mut ctx = template::Context::sample_sparse();
        ctx.customer.address = "Maria@ACME.example".into();
        c.fill(&mut ctx);
        assert_eq!(ctx.customer.name.as_deref(), Some("Maria Müller"));
        assert_eq!(ctx.customer.last_name.as_deref(), Some("Müller"));
        assert_eq!(ctx.organisation.as_ref().unwrap().name, "ACME GmbH");
        assert!(ctx.service.is_none());
        let mut ctx = template::Context::sample_sparse();
        ctx.customer.address = "colleague@acme.example".into();
        ctx.customer.name = Some("Col League".into());
        c.fill(&mut ctx);
        assert_eq!(ctx.customer.name.as_deref(), Some("Col League"));
        assert_eq!(ctx.customer.last_name, None);
        assert_eq!(ctx.organisation.unwrap().id, "acme");
    }
}
