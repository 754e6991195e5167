//! Agents' queues from groups: an agent reaches the queues listed for them in `[[agent]]` and
//! those of every group they are a member of. Groups come from the directory file (which gives a
//! group its queues, and may list members) and from LDAP (which gives members): a file group
//! names an LDAP group by its DN; its members are the file's when it lists any, else LDAP's. A
//! member who is no `[[agent]]` is an agent of the group's queues by their mail address (their
//! Dovecot login). Someone removed from a group, or from the directory (a member DN that is no
//! person's is no member), loses the group's queues. These are the agents everywhere: Dovecot's
//! ACL, the agents' notices and which mail counts as an agent's (`with_group_agents`, applied
//! by `intake::Engine`). The decisions are pure; the caller reads the groups.

use std::collections::BTreeMap;

use super::ldap::dn_key;
use crate::config::Agent;
use crate::people::Group;

/// One login's queues (configured queue names, sorted, each once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    pub login: String,
    pub address: String,
    pub queues: Vec<String>,
}

/// The groups of all sources merged by name: `(source, group)` with the file's first.
pub fn merge_groups(groups: &[(String, Group)]) -> Vec<Group> {
    let mut by_name: BTreeMap<String, Group> = BTreeMap::new();
    for (source, g) in groups {
        let key = dn_key(&g.name);
        let from_file = source == crate::index::DIRECTORY_FILE;
        match by_name.get_mut(&key) {
            None => {
                by_name.insert(key, g.clone());
            }
            // The file's entry came first: it keeps its queues, and its members if it has any.
            Some(m) if !from_file => {
                if m.members.is_empty() {
                    m.members = g.members.clone();
                }
            }
            Some(_) => {}
        }
    }
    by_name.into_values().collect()
}

/// Every agent's queues: the configured agents' (listed ∪ their groups'), then the members of
/// groups with queues who are no configured agent.
pub fn agents(configured: &[Agent], groups: &[Group]) -> Vec<Rights> {
    let of = |address: &str| -> Vec<String> {
        groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(address)))
            .flat_map(|g| g.queues.iter().cloned())
            .collect()
    };
    let tidy = |mut q: Vec<String>| {
        q.sort();
        q.dedup();
        q
    };
    let mut out: Vec<Rights> = configured
        .iter()
        .map(|a| Rights {
            login: a.login().to_string(),
            address: a.address.clone(),
            queues: tidy(a.queues.iter().cloned().chain(of(&a.address)).collect()),
        })
        .collect();
    let mut others: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in groups.iter().filter(|g| !g.queues.is_empty()) {
        for m in &g.members {
            let m = m.to_ascii_lowercase();
            if !configured
                .iter()
                .any(|a| a.address.eq_ignore_ascii_case(&m))
            {
                others
                    .entry(m)
                    .or_default()
                    .extend(g.queues.iter().cloned());
            }
        }
    }
    out.extend(others.into_iter().map(|(address, queues)| Rights {
        login: address.clone(),
        address,
        queues: tidy(queues),
    }));
    out
}

/// Everyone's queues as the configuration and the index's copy of the directory say.
pub fn current(
    cfg: &crate::config::Config,
    index: &crate::index::Index,
) -> Result<Vec<Rights>, String> {
    let groups = index.directory_groups().map_err(|e| e.to_string())?;
    Ok(agents(&cfg.agents, &merge_groups(&groups)))
}

/// The agents intake, notices and the matcher know: every `[[agent]]` with their groups'
/// queues added, and the members of groups with queues who are no `[[agent]]` (by their mail
/// address, named by it).
pub fn effective_agents(configured: &[Agent], rights: &[Rights]) -> Vec<Agent> {
    rights
        .iter()
        .map(
            |r| match configured.iter().find(|a| a.address == r.address) {
                Some(a) => Agent {
                    queues: r.queues.clone(),
                    ..a.clone()
                },
                None => Agent {
                    name: r.address.clone(),
                    address: r.address.clone(),
                    queues: r.queues.clone(),
                    login: None,
                    password_hash: None,
                },
            },
        )
        .collect()
}

/// `cfg` with its agents as the directory's groups make them (`effective_agents`).
pub fn with_group_agents(
    cfg: &crate::config::Config,
    index: &crate::index::Index,
) -> Result<crate::config::Config, String> {
    let rights = current(cfg, index)?;
    let mut out = cfg.clone();
    out.agents = effective_agents(&cfg.agents, &rights);
    Ok(out)
}

/// The text of Dovecot's global ACL file for these rights.
pub fn acl_text(cfg: &crate::config::Config, rights: &[Rights]) -> String {
    let queues: Vec<&str> = cfg.queues.iter().map(|q| q.name.as_str()).collect();
    let agents: Vec<(&str, &[String])> = rights
        .iter()
        .map(|r| (r.login.as_str(), r.queues.as_slice()))
        .collect();
    crate::store::acl::text(&queues, &agents, &cfg.dovecot.admins)
}

/// Rewrites the global ACL file in the data directory's Dovecot folder, when `dovecot-config`
/// wrote one there, if the directory changed what it says; whether it did.
pub fn update_acl(
    cfg: &crate::config::Config,
    index: &crate::index::Index,
) -> Result<bool, String> {
    let dir = cfg.data_dir().join(&cfg.dovecot.dir);
    if !dir.join(crate::store::acl::FILE).exists() {
        return Ok(false);
    }
    let text = acl_text(cfg, &current(cfg, index)?);
    crate::store::acl::update(&dir, &text)
        .map_err(|e| format!("{}: {e}", dir.join(crate::store::acl::FILE).display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, queues: &[&str], members: &[&str]) -> Group {
        Group {
            name: name.into(),
            queues: queues.iter().map(|s| s.to_string()).collect(),
            members: members.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn agent(address: &str, login: Option<&str>, queues: &[&str]) -> Agent {
        Agent {
            name: address.into(),
            address: address.into(),
            queues: queues.iter().map(|s| s.to_string()).collect(),
            login: login.map(str::to_string),
            password_hash: None,
        }
    }

    #[test]
    fn an_agents_queues_are_their_own_and_their_groups() {
        let groups = merge_groups(&[
            (
                "file".into(),
                group("CN=Support, ou=groups,dc=x", &["Support"], &[]),
            ),
            (
                "file".into(),
                group("local", &["Sales"], &["bob@x.example"]),
            ),
            (
                "ldap".into(),
                group(
                    "cn=support,ou=groups,dc=x",
                    &[],
                    &["bob@x.example", "dora@x.example"],
                ),
            ),
            // An LDAP group no file group names opens nothing.
            (
                "ldap".into(),
                group("cn=other,dc=x", &[], &["bob@x.example"]),
            ),
        ]);
        let r = agents(
            &[
                agent("bob@x.example", Some("bob"), &["Billing"]),
                agent("carol@x.example", None, &[]),
            ],
            &groups,
        );
        assert_eq!(r[0].login, "bob");
        assert_eq!(r[0].queues, ["Billing", "Sales", "Support"]);
        assert_eq!(r[1].login, "carol@x.example");
        assert!(r[1].queues.is_empty());
        // A member who is no configured agent: an agent by their address.
        assert_eq!(r[2].login, "dora@x.example");
        assert_eq!(r[2].queues, ["Support"]);
        assert_eq!(r.len(), 3);
        let agents = effective_agents(&[agent("bob@x.example", Some("bob"), &["Billing"])], &r);
        assert_eq!(agents[0].login(), "bob");
        assert_eq!(agents[0].queues, ["Billing", "Sales", "Support"]);
        assert_eq!(agents[2].address, "dora@x.example");
        assert_eq!(agents[2].queues, ["Support"]);
    }

    #[test]
    fn a_file_group_with_members_overrides_ldaps_members() {
        let groups = merge_groups(&[
            (
                "file".into(),
                group("cn=s,dc=x", &["Support"], &["a@x.example"]),
            ),
            ("ldap".into(), group("cn=s,dc=x", &[], &["b@x.example"])),
        ]);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members, ["a@x.example"]);
    }
}
