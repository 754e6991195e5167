//! Compares two indexes (the live one and one rebuilt from the tree) table by table.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::index::{Index, IndexError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub what: String,
    pub key: String,
    pub index: String,
    pub tree: String,
}

pub fn compare(live: &Index, tree: &Index) -> Result<Vec<Difference>, IndexError> {
    let mut out = Vec::new();
    let tickets = |i: &Index| -> Result<BTreeMap<String, String>, IndexError> {
        Ok(i.tickets(None, None)?
            .into_iter()
            .map(|t| (t.number.clone(), format!("{t:?}")))
            .collect())
    };
    diff_maps("ticket", &tickets(live)?, &tickets(tree)?, &mut out);
    let articles = |i: &Index| -> Result<BTreeMap<String, String>, IndexError> {
        Ok(i.all_articles()?
            .into_iter()
            .map(|a| (a.file.clone(), format!("{a:?}")))
            .collect())
    };
    diff_maps("article", &articles(live)?, &articles(tree)?, &mut out);
    let quarantine = |i: &Index| -> Result<BTreeMap<String, String>, IndexError> {
        Ok(i.quarantined()?
            .into_iter()
            .map(|q| (q.file.clone(), format!("{q:?}")))
            .collect())
    };
    diff_maps(
        "quarantine",
        &quarantine(live)?,
        &quarantine(tree)?,
        &mut out,
    );
    let parts = |i: &Index| -> Result<BTreeMap<String, String>, IndexError> {
        Ok(i.participants()?
            .into_iter()
            .map(|(t, a)| (format!("{t} {a}"), String::new()))
            .collect())
    };
    diff_maps("participant", &parts(live)?, &parts(tree)?, &mut out);
    let accepted = |i: &Index| -> Result<BTreeMap<String, String>, IndexError> {
        Ok(i.all_accepted()?
            .into_iter()
            .map(|(t, a)| (format!("{t} {}", a.address), format!("{a:?}")))
            .collect())
    };
    diff_maps("accepted", &accepted(live)?, &accepted(tree)?, &mut out);
    let history = |i: &Index| -> Result<BTreeMap<String, String>, IndexError> {
        let mut m = BTreeMap::new();
        for e in i.all_history()? {
            *m.entry(format!("{} {} {} {}", e.ticket, e.at, e.event, e.detail))
                .or_insert(0u32) += 1;
        }
        Ok(m.into_iter().map(|(k, n)| (k, n.to_string())).collect())
    };
    diff_maps("history", &history(live)?, &history(tree)?, &mut out);
    // The index may be ahead of the tree (a number drawn for a ticket that was then merged
    // away), never behind: behind means a number could be handed out twice.
    let tree_counters: BTreeMap<String, u64> = tree.counters()?.into_iter().collect();
    let live_counters: BTreeMap<String, u64> = live.counters()?.into_iter().collect();
    for (k, v) in &tree_counters {
        let l = live_counters.get(k).copied().unwrap_or(0);
        if l < *v {
            out.push(Difference {
                what: "counter".into(),
                key: k.clone(),
                index: l.to_string(),
                tree: v.to_string(),
            });
        }
    }
    for p in live.pending()? {
        out.push(Difference {
            what: "pending".into(),
            key: p.file.clone(),
            index: format!("staged at {}", p.staged),
            tree: "not placed yet".into(),
        });
    }
    Ok(out)
}

fn diff_maps(
    what: &str,
    live: &BTreeMap<String, String>,
    tree: &BTreeMap<String, String>,
    out: &mut Vec<Difference>,
) {
    for (k, v) in live {
        match tree.get(k) {
            None => out.push(Difference {
                what: what.into(),
                key: k.clone(),
                index: v.clone(),
                tree: "(missing)".into(),
            }),
            Some(t) if t != v => out.push(Difference {
                what: what.into(),
                key: k.clone(),
                index: v.clone(),
                tree: t.clone(),
            }),
            _ => {}
        }
    }
    for (k, v) in tree {
        if !live.contains_key(k) {
            out.push(Difference {
                what: what.into(),
                key: k.clone(),
                index: "(missing)".into(),
                tree: v.clone(),
            });
        }
    }
}
