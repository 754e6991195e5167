//! `postdesk ticket list|show|find|close|reopen|move|sla`.

use serde::Serialize;

use crate::cli::{Failure, TicketCommand, EX_DATAERR, EX_USAGE};
use crate::commands::{deadlines, Context};
use crate::facts::Attachment;
use crate::index::{Attribution, Event, Index, Query, State, Ticket, TicketFilter};
use crate::intake::{Engine, TicketChange};
use crate::store::Folder;

pub fn ticket(ctx: &Context, cmd: TicketCommand) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let index_at = cfg.index_location();
    match cmd {
        TicketCommand::List {
            queue,
            state,
            customer,
            organisation,
            due,
            breached,
            json,
        } => {
            let due = match due.as_deref() {
                None => None,
                Some(d) => Some(crate::sla::config::parse_duration(d).ok_or_else(|| {
                    Failure::new(EX_USAGE, format!("--due {d:?}: a time such as 4h or 30m"))
                })?),
            };
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(State::parse(s).ok_or_else(|| {
                    Failure::new(EX_USAGE, format!("unknown state {s:?}: open or closed"))
                })?),
            };
            let index = Index::open_readonly_at(&index_at)?;
            let customer = customer.as_deref().map(str::trim);
            // An address also finds the tickets of the directory's person with that address.
            let person = match customer {
                Some(a) if a.contains('@') => index.directory_sender(a)?.person.map(|p| p.id),
                _ => None,
            };
            let mut list = index.tickets_where(&TicketFilter {
                queue: queue.as_deref(),
                state: if due.is_some() || breached {
                    Some(State::Open)
                } else {
                    state
                },
                person: person.as_deref().or(customer),
                address: customer.filter(|c| c.contains('@')),
                organisation: organisation.as_deref(),
            })?;
            let mut notes = std::collections::HashMap::new();
            if due.is_some() || breached {
                let slas = slas(&cfg)?;
                let now = chrono::Utc::now();
                let mut kept = Vec::new();
                for t in list {
                    let (_, views) = deadlines::of_ticket(&index, &slas, &t.number, now)?;
                    if deadlines::matches(&views, due, breached) {
                        let shown: Vec<String> = views
                            .iter()
                            .filter(|v| v.state != "met")
                            .map(|v| v.line())
                            .collect();
                        notes.insert(t.number.clone(), shown);
                        kept.push(t);
                    }
                }
                list = kept;
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).expect("serialisable")
                );
            } else {
                println!(
                    "{:<16}  {:<10} {:<6} {:>3}  {:<30}  {:<16}  SUBJECT",
                    "NUMBER", "QUEUE", "STATE", "ART", "CUSTOMER", "ORGANISATION"
                );
                for t in &list {
                    println!(
                        "{:<16}  {:<10} {:<6} {:>3}  {:<30}  {:<16}  {}",
                        t.number,
                        t.queue,
                        t.state.as_str(),
                        t.articles,
                        clip(&t.customer, 30),
                        clip(t.attribution.organisation.as_deref().unwrap_or("-"), 16),
                        t.subject
                    );
                    for n in notes.get(&t.number).into_iter().flatten() {
                        println!("{:<18}{n}", "");
                    }
                }
            }
            Ok(0)
        }
        TicketCommand::Show { number, json } => {
            let index = Index::open_readonly_at(&index_at)?;
            let Some(t) = index.ticket(&number)? else {
                return Err(Failure::new(EX_DATAERR, format!("no ticket {number}")));
            };
            let tree = crate::store::Tree::at(&cfg.data_dir());
            let folder = Folder::ticket(&t.queue, &t.number, t.state == State::Closed);
            let articles: Vec<ArticleView> = index
                .articles(&number)?
                .into_iter()
                .map(|a| {
                    let path = tree
                        .locate(&folder, &a.file)
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    ArticleView {
                        seq: a.seq,
                        message_id: a.message_id,
                        from: a.from,
                        author_header: a.author_header,
                        to: a.to,
                        cc: a.cc,
                        subject: a.subject,
                        date: a.date,
                        received: a.received,
                        direction: a.direction,
                        classification: a.classification,
                        event: a.event,
                        stranger: a.stranger,
                        bounce_of: a.bounce_of,
                        size: a.size,
                        attachments: a.attachments,
                        path,
                    }
                })
                .collect();
            let history = index.history(&number)?;
            let (sla, deadlines) =
                deadlines::of_ticket(&index, &slas(&cfg)?, &number, chrono::Utc::now())?;
            let view = TicketView {
                sla,
                deadlines,
                number: t.number.clone(),
                queue: t.queue.clone(),
                state: t.state.as_str(),
                subject: t.subject.clone(),
                customer: t.customer.clone(),
                created: t.created.clone(),
                updated: t.updated.clone(),
                refers: t.refers.clone(),
                priority: t.priority.clone(),
                owner: t.owner.clone(),
                pending: t.pending.clone(),
                customer_id: t.customer_id.clone(),
                attribution: t.attribution.clone(),
                ticket: t,
                folder: folder_name(&tree, &folder),
                articles,
                history,
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&view).expect("serialisable")
                );
            } else {
                print_ticket(&view);
            }
            Ok(0)
        }
        TicketCommand::Find { terms, limit, json } => {
            let q = Query::parse(&terms.join(" "));
            if q.is_empty() {
                return Err(Failure::new(EX_USAGE, "nothing to find"));
            }
            let index = Index::open_readonly_at(&index_at)?;
            let tree = crate::store::Tree::at(&cfg.data_dir());
            let found: Vec<Found> = index
                .find(&q, None, limit)?
                .into_iter()
                .map(|t| Found::of(&tree, t))
                .collect();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&found).expect("serialisable")
                );
            } else {
                for f in &found {
                    println!(
                        "{:<16}  {:<6} {:<10} {}  {}",
                        f.number, f.state, f.queue, f.folder, f.subject
                    );
                }
                if found.is_empty() {
                    eprintln!("no ticket matches");
                }
            }
            Ok(if found.is_empty() { 1 } else { 0 })
        }
        TicketCommand::Close { number } => change(&cfg, &number, TicketChange::Close),
        TicketCommand::Reopen { number } => change(&cfg, &number, TicketChange::Reopen),
        TicketCommand::Move { number, queue } => {
            let Some(q) = cfg.queue(&queue) else {
                return Err(Failure::new(
                    EX_USAGE,
                    format!("no queue {queue:?} in the configuration"),
                ));
            };
            let q = q.name.clone();
            change(&cfg, &number, TicketChange::Move(q))
        }
        TicketCommand::Sla { number, name } => {
            if name != "default" && !cfg.slas.iter().any(|s| s.name == name) {
                return Err(Failure::new(
                    EX_USAGE,
                    format!("no [[sla]] {name:?} in the configuration"),
                ));
            }
            let name = if name == "default" {
                String::new()
            } else {
                name
            };
            change(&cfg, &number, TicketChange::Sla(name))
        }
    }
}

/// The configuration's service levels (reading the calendars' holidays files).
fn slas(cfg: &crate::config::Config) -> Result<crate::sla::Slas, Failure> {
    cfg.service_levels()
        .map_err(|e| Failure::new(crate::cli::EX_CONFIG, e))
}

fn change(cfg: &crate::config::Config, number: &str, what: TicketChange) -> Result<i32, Failure> {
    let mut engine = Engine::open(cfg, &cfg.data_dir())?;
    match engine.change_ticket(number, what, "cli")? {
        Some(msg) => {
            println!("{msg}");
            Ok(0)
        }
        None => Err(Failure::new(EX_DATAERR, format!("no ticket {number}"))),
    }
}

/// A ticket `ticket find` found, with the folder an agent opens (`Archive/...` for an archived
/// one, which mail clients do not list).
#[derive(Serialize)]
struct Found {
    number: String,
    state: &'static str,
    queue: String,
    folder: String,
    subject: String,
    customer: String,
    updated: String,
}

impl Found {
    fn of(tree: &crate::store::Tree, t: Ticket) -> Found {
        let folder = Folder::ticket(&t.queue, &t.number, t.state == State::Closed);
        Found {
            folder: folder_name(tree, &folder),
            number: t.number,
            state: t.state.as_str(),
            queue: t.queue,
            subject: t.subject,
            customer: t.customer,
            updated: t.updated,
        }
    }
}

/// The name an agent's mail client opens the folder by (where it would be, if it is missing).
fn folder_name(tree: &crate::store::Tree, folder: &Folder) -> String {
    tree.imap_name(folder)
        .unwrap_or_else(|| format!("Tickets/{}", folder.imap_name()))
}

/// `ticket show --json`: the fields of `ticket list --json`, with `articles` the array itself.
#[derive(Serialize)]
struct TicketView {
    #[serde(skip)]
    ticket: Ticket,
    number: String,
    queue: String,
    state: &'static str,
    subject: String,
    customer: String,
    created: String,
    updated: String,
    refers: Option<String>,
    priority: String,
    owner: Option<String>,
    pending: Option<String>,
    customer_id: Option<String>,
    /// `person`, `organisation`, `service`: whom the ticket belongs to in the directory.
    #[serde(flatten)]
    attribution: Attribution,
    /// The service level that holds (the agent's choice, the service instance's or the
    /// queue's), and its deadlines.
    sla: Option<String>,
    deadlines: Vec<deadlines::DeadlineView>,
    folder: String,
    articles: Vec<ArticleView>,
    history: Vec<Event>,
}

#[derive(Serialize)]
struct ArticleView {
    /// The article's place in the ticket, assigned when it was filed.
    seq: u64,
    message_id: Option<String>,
    from: String,
    /// Which header `from` came from (From, Reply-To, Sender, Return-Path).
    author_header: Option<String>,
    to: String,
    cc: String,
    subject: String,
    date: Option<String>,
    received: String,
    direction: String,
    classification: String,
    event: String,
    stranger: bool,
    bounce_of: Option<String>,
    size: u64,
    attachments: Vec<Attachment>,
    path: String,
}

fn print_ticket(v: &TicketView) {
    let t = &v.ticket;
    println!(
        "Ticket {}  [{}]  queue {}  folder {}",
        t.number,
        t.state.as_str(),
        t.queue,
        v.folder
    );
    println!("Subject:  {}", t.subject);
    println!("Customer: {}", t.customer);
    let a = &t.attribution;
    if a.person.is_some() || a.organisation.is_some() || a.service.is_some() {
        println!(
            "Directory: person {}   organisation {}   service {}",
            a.person.as_deref().unwrap_or("-"),
            a.organisation.as_deref().unwrap_or("-"),
            a.service.as_deref().unwrap_or("-")
        );
    }
    println!("Created:  {}   Updated: {}", t.created, t.updated);
    if let Some(r) = &t.refers {
        println!("Refers:   {r}");
    }
    println!(
        "Priority: {}   Owner: {}{}",
        t.priority,
        t.owner.as_deref().unwrap_or("-"),
        t.pending
            .as_deref()
            .map(|p| format!("   Pending until: {p}"))
            .unwrap_or_default()
    );
    if let Some(s) = &v.sla {
        println!("SLA:      {s}");
        for d in &v.deadlines {
            println!("   {}", d.line());
        }
    }
    println!();
    for a in &v.articles {
        println!(
            "#{} {} {} [{}] {}",
            a.seq, a.received, a.direction, a.classification, a.event
        );
        match a.author_header.as_deref() {
            None => println!("   From: (no address)"),
            Some("From") => println!("   From: {}", a.from),
            Some(h) => println!("   From: {}  (no address in From; taken from {h})", a.from),
        }
        println!("   Subject: {}", a.subject);
        for att in &a.attachments {
            // Escaped as `explain` does: a file name's control and bidi characters never
            // reach the operator's terminal.
            println!(
                "   Attachment: {:?} ({}, {} bytes)",
                att.filename, att.content_type, att.size
            );
        }
        println!("   File: {}", a.path);
    }
    println!();
    for e in &v.history {
        println!("{}  {:<18} {}", e.at, e.event, e.detail);
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}
