//! postdesk: an email-native help desk. See ARCHITECTURE.md for the map.

pub mod access;
pub mod classify;
pub mod classify_rules;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod decide;
pub mod facts;
pub mod filter;
pub mod imap;
pub mod index;
pub mod intake;
pub mod logging;
pub mod maillog;
pub mod number;
pub mod outgoing;
pub mod parse;
pub mod reindex;
pub mod route;
pub mod scan;
pub mod source;
pub mod status;
pub mod store;
pub mod template;
pub mod transport;
