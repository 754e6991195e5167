//! Which service instance a call is for, and which greeting is read out: a pure decision over
//! what the directory said about the caller and the dialled hotline, with the rule that chose.

use serde::Serialize;

use crate::directory::{Organisation, Service, ServiceInstance};

pub use crate::config::api::Several;

/// The rule that chose the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The one instance of the dialled service among the caller's organisations.
    Organisation,
    /// Several organisations have one: the first organisation's.
    FirstOfSeveral,
    /// Several organisations have one: the service's default instance.
    DefaultOfSeveral,
    /// The caller is unknown: the service's default instance.
    UnknownCaller,
    /// The caller belongs to no organisation: the service's default instance.
    NoOrganisation,
    /// None of the caller's organisations has the service: the service's default instance.
    NotTheirs,
    /// The service has no default instance either: none.
    NoInstance,
    /// The dialled number is no service's hotline: neither service nor instance.
    NoService,
}

/// Where the greeting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GreetingFrom {
    Instance,
    Service,
    Global,
    /// No greeting anywhere: an empty one.
    None,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub instance: Option<ServiceInstance>,
    /// The organisation whose instance it is (`None` for the service's default).
    pub organisation: Option<String>,
    pub rule: Rule,
    /// The greeting's source text (a template), and where it came from.
    pub greeting: String,
    pub greeting_from: GreetingFrom,
}

/// Whom the caller's number belongs to, as far as the choice cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Known,
    Unknown,
}

/// Chooses the instance of `service` for a caller in `organisations` (the person's, in the
/// directory's order; the switchboard's one organisation), then the greeting: the instance's,
/// else the service's, else `global`.
pub fn choose(
    service: Option<&Service>,
    caller: Caller,
    organisations: &[Organisation],
    several: Several,
    global: &str,
) -> Choice {
    let (instance, organisation, rule) = match service {
        None => (None, None, Rule::NoService),
        Some(s) => instance_of(s, caller, organisations, several),
    };
    let (greeting, greeting_from) = match (&instance, service) {
        (
            Some(ServiceInstance {
                greeting: Some(g), ..
            }),
            _,
        ) if !g.trim().is_empty() => (g.clone(), GreetingFrom::Instance),
        (_, Some(s)) if !s.greeting.trim().is_empty() => {
            (s.greeting.clone(), GreetingFrom::Service)
        }
        _ if !global.trim().is_empty() => (global.to_string(), GreetingFrom::Global),
        _ => (String::new(), GreetingFrom::None),
    };
    Choice {
        instance,
        organisation,
        rule,
        greeting,
        greeting_from,
    }
}

fn instance_of(
    s: &Service,
    caller: Caller,
    organisations: &[Organisation],
    several: Several,
) -> (Option<ServiceInstance>, Option<String>, Rule) {
    let theirs: Vec<(&Organisation, &ServiceInstance)> = organisations
        .iter()
        .flat_map(|o| {
            o.services
                .iter()
                .filter(|i| i.service == s.name)
                .map(move |i| (o, i))
        })
        .collect();
    let default = |rule| (s.default_instance.clone(), None, rule);
    match theirs.as_slice() {
        [(o, i)] => (Some((*i).clone()), Some(o.id.clone()), Rule::Organisation),
        [(o, i), ..] => match several {
            Several::Default if s.default_instance.is_some() => default(Rule::DefaultOfSeveral),
            _ => (Some((*i).clone()), Some(o.id.clone()), Rule::FirstOfSeveral),
        },
        [] => {
            let why = match (caller, organisations.is_empty()) {
                (Caller::Unknown, _) => Rule::UnknownCaller,
                (Caller::Known, true) => Rule::NoOrganisation,
                (Caller::Known, false) => Rule::NotTheirs,
            };
            match s.default_instance {
                Some(_) => default(why),
                None => (None, None, Rule::NoInstance),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(service: &str, sla: &str, greeting: Option<&str>) -> ServiceInstance {
        ServiceInstance {
            service: service.into(),
            sla: sla.into(),
            greeting: greeting.map(String::from),
        }
    }

    fn org(id: &str, instances: Vec<ServiceInstance>) -> Organisation {
        Organisation {
            id: id.into(),
            name: id.to_uppercase(),
            services: instances,
            ..Organisation::default()
        }
    }

    fn online(default: Option<ServiceInstance>, greeting: &str) -> Service {
        Service {
            name: "Online".into(),
            hotline: vec!["+49800123456".into()],
            default_instance: default,
            greeting: greeting.into(),
        }
    }

    const GLOBAL: &str = "Hello";

    #[test]
    fn the_one_instance_of_the_callers_organisation() {
        let s = online(Some(instance("Online", "basic", None)), "svc");
        let orgs = [org(
            "acme",
            vec![
                instance("Mail", "x", Some("mail")),
                instance("Online", "gold", Some("acme")),
            ],
        )];
        let c = choose(Some(&s), Caller::Known, &orgs, Several::First, GLOBAL);
        assert_eq!(c.rule, Rule::Organisation);
        assert_eq!(c.instance.unwrap().sla, "gold");
        assert_eq!(c.organisation.as_deref(), Some("acme"));
        assert_eq!(
            (c.greeting.as_str(), c.greeting_from),
            ("acme", GreetingFrom::Instance)
        );
    }

    #[test]
    fn several_organisations_first_or_the_services_default() {
        let s = online(Some(instance("Online", "basic", None)), "svc");
        let orgs = [
            org("a", vec![instance("Online", "silver", None)]),
            org("b", vec![instance("Online", "gold", None)]),
        ];
        let c = choose(Some(&s), Caller::Known, &orgs, Several::First, GLOBAL);
        assert_eq!(c.rule, Rule::FirstOfSeveral);
        assert_eq!(c.instance.unwrap().sla, "silver");
        assert_eq!(c.organisation.as_deref(), Some("a"));
        assert_eq!(c.greeting_from, GreetingFrom::Service);
        let c = choose(Some(&s), Caller::Known, &orgs, Several::Default, GLOBAL);
        assert_eq!(c.rule, Rule::DefaultOfSeveral);
        assert_eq!(c.instance.unwrap().sla, "basic");
        assert_eq!(c.organisation, None);
        // No default instance to fall back on: the first organisation's.
        let s = online(None, "svc");
        let c = choose(Some(&s), Caller::Known, &orgs, Several::Default, GLOBAL);
        assert_eq!(c.rule, Rule::FirstOfSeveral);
    }

    #[test]
    fn otherwise_the_services_default_instance_says_why() {
        let s = online(Some(instance("Online", "basic", Some("dflt"))), "svc");
        let other = [org("x", vec![instance("Mail", "gold", None)])];
        for (caller, orgs, rule) in [
            (Caller::Unknown, &[][..], Rule::UnknownCaller),
            (Caller::Known, &[][..], Rule::NoOrganisation),
            (Caller::Known, &other[..], Rule::NotTheirs),
        ] {
            let c = choose(Some(&s), caller, orgs, Several::First, GLOBAL);
            assert_eq!(c.rule, rule);
            assert_eq!(c.instance.as_ref().unwrap().sla, "basic");
            assert_eq!(
                (c.greeting.as_str(), c.greeting_from),
                ("dflt", GreetingFrom::Instance)
            );
        }
    }

    #[test]
    fn a_service_without_instances_greets_with_its_own_else_the_global_greeting() {
        let s = online(None, "svc");
        let c = choose(Some(&s), Caller::Unknown, &[], Several::First, GLOBAL);
        assert_eq!((c.rule, c.instance), (Rule::NoInstance, None));
        assert_eq!(
            (c.greeting.as_str(), c.greeting_from),
            ("svc", GreetingFrom::Service)
        );
        let s = online(Some(instance("Online", "basic", Some("  "))), " ");
        let c = choose(Some(&s), Caller::Unknown, &[], Several::First, GLOBAL);
        assert_eq!(
            (c.greeting.as_str(), c.greeting_from),
            ("Hello", GreetingFrom::Global)
        );
    }

    #[test]
    fn no_service_and_no_greeting_anywhere() {
        let orgs = [org("a", vec![instance("Online", "gold", Some("acme"))])];
        let c = choose(None, Caller::Known, &orgs, Several::First, GLOBAL);
        assert_eq!((c.rule, c.instance.clone()), (Rule::NoService, None));
        assert_eq!(c.greeting_from, GreetingFrom::Global);
        let c = choose(None, Caller::Known, &orgs, Several::First, "");
        assert_eq!(
            (c.greeting.as_str(), c.greeting_from),
            ("", GreetingFrom::None)
        );
    }
}
