//! The integration-test binary: drives the real `postdesk` binary against real services.

mod services;
mod slapd;

mod harness;

mod access;
mod agent_mail;
mod agent_proof;
mod answers;
mod api;
mod archive;
mod authors;
mod config;
mod corpus;
mod crash;
mod customer_requests;
mod daemon;
mod decoded;
mod deliver;
mod directory;
mod disk_full;
mod dovecot;
mod filters;
mod find;
mod fixtures;
mod imap;
mod index_loss;
mod ldap;
mod ldap_groups;
mod limits;
mod lmtp;
mod logs;
mod matching;
mod migrate;
mod mutations;
mod notice_limits;
mod notices;
mod outgoing;
mod postfix;
mod recipients;
mod scanning;
mod status;
mod ticket_customer;
mod trace;
mod transport;
mod tree;
