//! Who is who: the people who write to the help desk, the organisations they belong to, the
//! services those organisations use, and the groups that give agents their queues. Plain data,
//! checked when read (`file`); numbers are already E.164 and addresses and domains lower-case.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A customer (or any person the directory knows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Person {
    /// Stable key: given in the file, else the first mail address (an LDAP entry's DN).
    pub id: String,
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
    pub mail: Vec<String>,
    pub phone: Vec<String>,
    pub fax: Vec<String>,
    /// A language code as templates use it (`de`, `en`); empty: the queue's.
    pub language: String,
    /// Organisation ids, the first the one a new ticket is filed for.
    pub organisations: Vec<String>,
    pub vip: bool,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    /// Mail domains: a sender the directory does not know by address is this organisation's
    /// when their domain is one of these.
    pub domains: Vec<String>,
    /// Switchboards: numbers of the organisation, not of a person.
    pub phone: Vec<String>,
    pub services: Vec<ServiceInstance>,
    /// Its people may ask by mail for all of its tickets, not only their own.
    #[serde(default)]
    pub customers_see_organisation: bool,
}

/// A service the help desk supports, as customers dial it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Service {
    pub name: String,
    /// The hotline numbers customers dial for it.
    pub hotline: Vec<String>,
    /// For callers whose organisation has no instance of the service.
    pub default_instance: Option<ServiceInstance>,
    /// Said or written to callers; placeholders as in templates.
    pub greeting: String,
}

/// A service for one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ServiceInstance {
    /// The service's name.
    pub service: String,
    pub sla: String,
    /// Overrides the service's greeting.
    pub greeting: Option<String>,
}

/// A group of agents (an LDAP group's DN, or a name in the file) and the queues it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Group {
    pub name: String,
    pub queues: Vec<String>,
    /// Agents' mail addresses.
    pub members: Vec<String>,
}

/// A whole directory, as one source gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Directory {
    pub persons: Vec<Person>,
    pub organisations: Vec<Organisation>,
    pub services: Vec<Service>,
    pub groups: Vec<Group>,
}

impl Directory {
    /// The queues an agent reaches through groups (sorted, each once).
    pub fn group_queues(&self, agent: &str) -> Vec<String> {
        let mut q: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(agent)))
            .flat_map(|g| g.queues.iter().cloned())
            .collect();
        q.sort();
        q.dedup();
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agents_group_queues_are_the_union_of_their_groups() {
        let g = |name: &str, queues: &[&str], members: &[&str]| Group {
            name: name.into(),
            queues: queues.iter().map(|s| s.to_string()).collect(),
            members: members.iter().map(|s| s.to_string()).collect(),
        };
        let d = Directory {
            groups: vec![
                g(
                    "support",
                    &["Support", "Billing"],
                    &["a@x.example", "b@x.example"],
                ),
                g("sales", &["Sales", "Support"], &["a@x.example"]),
            ],
            ..Directory::default()
        };
        assert_eq!(
            d.group_queues("A@x.example"),
            ["Billing", "Sales", "Support"]
        );
        assert_eq!(d.group_queues("b@x.example"), ["Billing", "Support"]);
        assert!(d.group_queues("c@x.example").is_empty());
    }
}
