//! The command line: subcommands and global options (clap), and how failures map to exit codes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "postdesk",
    version,
    about = "An email-native help desk: mail in, tickets as mail folders, mail out."
)]
pub struct Cli {
    /// Configuration file (default: /etc/postdesk/postdesk.toml, else ./postdesk.toml).
    #[arg(long, global = true, value_name = "FILE", env = "POSTDESK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the store, the index and the local outbox live (overrides general.data-dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch the sources and file their mail (the daemon).
    Run(RunArgs),
    /// File one message read from standard input (for an MTA pipe): exit 0 stored, 75 try again
    /// later (a configuration error included: the MTA keeps the message).
    Deliver(DeliverArgs),
    /// Validate the configuration and everything it names; exit 78 on an error.
    Check,
    /// Look at and change tickets.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Show every decision postdesk would take for a message file, with its reason; changes nothing.
    Explain {
        /// Print one JSON object a message (one line each): the plan as the mail log records it.
        #[arg(long)]
        json: bool,
        /// Message files (raw RFC 5322), each explained against the index as it is then; with
        /// none, file names are read from standard input, one a line, each answered before the
        /// next line is read.
        files: Vec<PathBuf>,
    },
    /// Look at the outgoing queue, or send what is queued now.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The daemon, its sources (state, last success, last error, backlog), the outbox, counts.
    Status {
        /// Print one JSON object (config, data_dir, daemon, sources, outbox, ticket counts).
        #[arg(long)]
        json: bool,
    },
    /// Write Dovecot's namespace, ACLs and agents' passwd file for the ticket store.
    DovecotConfig {
        /// Where to write (default: data-dir/dovecot, or `[dovecot] dir`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The key behind reply addresses and Message-IDs.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Who is who: copy the directory into the index, look entries up.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Rebuild the index from the folder tree alone.
    Reindex,
    /// Move closed tickets of a store from before the archive (`.Queue.Closed.N` in the listed
    /// tree) into the archive, then compact the listed tree's directory; safe to interrupt and
    /// run again, with the daemon and Dovecot running.
    MigrateLayout {
        /// Leave the listed tree's directory as it is (ext4 never shrinks a directory by itself).
        #[arg(long)]
        no_compact: bool,
    },
    /// Move the listed tree's entries into a new directory of their size, with the daemon and
    /// Dovecot running: after many tickets left the tree at once, its old directory makes every
    /// LIST read blocks of entries long gone.
    CompactTree,
    /// A service report over a period from the index: opened and closed tickets per day and
    /// queue, backlog, first-response and solution times, the longest open tickets, agents.
    Report(ReportArgs),
    /// Place a call through the configured PBXs ([[pbx]], in priority order): exit 0 placed,
    /// 69 when no PBX placed it; with --ticket the attempt goes into the ticket's history.
    Call {
        /// The number to call, as people write it.
        number: String,
        /// The agent (name or address) whose extension calls.
        #[arg(long)]
        agent: Option<String>,
        /// The ticket the call is about.
        #[arg(long)]
        ticket: Option<String>,
    },
    /// Compare the tree and the index; exit 1 when they differ.
    Fsck {
        /// Print the differences as a JSON array of {what, key, index, tree} (empty: they agree).
        #[arg(long)]
        json: bool,
    },
    /// Write man pages and shell completions into DIR (used to build the Debian package).
    #[command(hide = true)]
    GenerateDocs {
        #[arg(value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Copy the directory file into the index now (the daemon does it when the file changes)
    /// and read the LDAP directory now, writing what changed (the daemon does it every
    /// refresh-seconds); exit 65 naming every mistake in the file, 75 when the LDAP server
    /// cannot be read: the last good copy stays in force either way.
    Sync,
    /// Print, as JSON, the entry a mail address, a mail domain or a phone number (any written
    /// form) belongs to; exit 1 when none does.
    Lookup {
        /// `someone@example.com`, `example.com` or `0541 1234-0`.
        #[arg(required_unless_present = "stdin")]
        term: Option<String>,
        /// Look up each line of standard input instead: one JSON object per line with the
        /// `term`, what was `found` (null for nothing) and the lookup's `micros`.
        #[arg(long, conflicts_with = "term")]
        stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Write a new key; the replaced one is still accepted for outgoing.secret-grace-days.
    Rotate,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day (YYYY-MM-DD, UTC); default: six days before --to.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day, included (YYYY-MM-DD, UTC); default: yesterday.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Only these queues (repeatable); default: all.
    #[arg(long, value_name = "QUEUE")]
    pub queue: Vec<String>,
    /// pdf, html, csv or json; default: from --out's extension, else json.
    #[arg(long)]
    pub format: Option<String>,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Drain the sources once and exit with a one-line summary.
    #[arg(long)]
    pub once: bool,
    /// Process this Maildir instead of the configured sources (repeatable). Its messages are
    /// kept where they are unless --after says otherwise.
    #[arg(long, value_name = "DIR")]
    pub maildir: Vec<PathBuf>,
    /// What to do with a --maildir message once it is filed: keep, seen or delete.
    #[arg(long, value_name = "ACTION", default_value = "keep")]
    pub after: String,
}

#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Name recorded as the message's source.
    #[arg(long, default_value = "stdin")]
    pub source: String,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// List tickets.
    List {
        #[arg(long)]
        queue: Option<String>,
        /// open or closed.
        #[arg(long)]
        state: Option<String>,
        /// Only tickets of this customer: a mail address (the ticket's first sender, or the
        /// directory's person with that address) or a directory person's id.
        #[arg(long, value_name = "ADDRESS-OR-ID")]
        customer: Option<String>,
        /// Only tickets of this directory organisation (its id).
        #[arg(long, value_name = "ID")]
        organisation: Option<String>,
        /// Only open tickets with a service-level deadline not yet breached that has at most
        /// this much business time left (e.g. 4h, 30m).
        #[arg(long, value_name = "TIME")]
        due: Option<String>,
        /// Only open tickets with a service-level deadline that has passed and is not met.
        #[arg(long)]
        breached: bool,
        /// Print a JSON array of tickets (see the README for the fields).
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket with its articles and history.
    Show {
        number: String,
        /// Print the ticket, its articles and history as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Find tickets, open or archived, by number, customer address (a word with `@`) or words of
    /// the subject (every term must match); prints each one's state, queue and the folder name
    /// to open in a mail client.
    Find {
        #[arg(required = true, value_name = "TERM")]
        terms: Vec<String>,
        /// At most this many tickets, most recently changed first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print a JSON array of {number, state, queue, folder, subject, customer, updated}.
        #[arg(long)]
        json: bool,
    },
    /// Close a ticket (its folder moves into the archive).
    Close { number: String },
    /// Reopen a closed ticket.
    Reopen { number: String },
    /// Move a ticket to another queue.
    Move { number: String, queue: String },
    /// Set a ticket's service level (an [[sla]]'s name; `default`: its service's or queue's).
    Sla { number: String, name: String },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outgoing mail: queued, sent and failed.
    List {
        /// Only mail still queued.
        #[arg(long)]
        queued: bool,
        /// Print a JSON array of outgoing mails.
        #[arg(long)]
        json: bool,
    },
    /// Send every queued mail now, ignoring retry times (like `postqueue -f`).
    Flush,
}

/// A failure with the exit code it maps to (sysexits where one fits).
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

pub const EX_USAGE: i32 = 64;
pub const EX_DATAERR: i32 = 65;
pub const EX_NOINPUT: i32 = 66;
pub const EX_UNAVAILABLE: i32 = 69;
pub const EX_SOFTWARE: i32 = 70;
pub const EX_CANTCREAT: i32 = 73;
pub const EX_IOERR: i32 = 74;
pub const EX_TEMPFAIL: i32 = 75;
pub const EX_CONFIG: i32 = 78;

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Failure {
        Failure::new(EX_CONFIG, e.to_string())
    }
}

impl From<crate::intake::IntakeError> for Failure {
    fn from(e: crate::intake::IntakeError) -> Failure {
        let code = match &e {
            crate::intake::IntakeError::Config(_) => EX_CONFIG,
            e if e.is_transient() => EX_TEMPFAIL,
            _ => EX_SOFTWARE,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<crate::index::IndexError> for Failure {
    fn from(e: crate::index::IndexError) -> Failure {
        Failure::new(
            if e.is_transient() {
                EX_TEMPFAIL
            } else {
                EX_SOFTWARE
            },
            e.to_string(),
        )
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::new(EX_TEMPFAIL, e.to_string())
    }
}
