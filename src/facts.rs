//! What the pipeline knows about one message, as plain owned data.
//!
//! `parse` turns raw bytes into `Facts`; every decision after that (classify, route, match) reads
//! only `Facts` and the index, so decisions are testable without mail-parser, disk or network.

use serde::{Deserialize, Serialize};

/// One address with its decoded display name. `address` is lowercased and trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    pub fn new(address: &str) -> Mailbox {
        Mailbox {
            name: None,
            address: address.trim().to_ascii_lowercase(),
        }
    }

    /// `Name <address>` or the bare address, for display and the index.
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) if !n.is_empty() => format!("{} <{}>", n, self.address),
            _ => self.address.clone(),
        }
    }
}

/// An attachment as recorded in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Message-ID without angle brackets; `None` when the header is missing or empty.
    pub message_id: Option<String>,
    /// Decoded subject, CR/LF and other control characters replaced by spaces.
    pub subject: String,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub sender: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Delivered-To, X-Original-To and Envelope-To values, lowercased, in header order.
    pub envelope_to: Vec<String>,
    /// Return-Path: `Some("")` for the null sender `<>`, `None` when absent.
    pub return_path: Option<String>,
    /// The Return-Path's address as a mailbox, when it names one (the author of last resort).
    pub envelope_from: Option<Mailbox>,
    /// The Date header as RFC 3339, when it parses.
    pub date: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Headers that classification looks at, names lowercased, values unfolded and trimmed:
    /// auto-submitted, precedence, list-id, list-unsubscribe, list-post, x-loop, x-autoreply,
    /// x-autorespond, x-auto-response-suppress, x-mailer, x-failed-recipients, x-ms-exchange-*
    /// inbox rules, and the like. Repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    /// Received and Authentication-Results headers, names lowercased, values unfolded, top to
    /// bottom (the first few dozen): where an agent's proof is looked for.
    pub trace_headers: Vec<(String, String)>,
    /// Top-level MIME type, lowercased, e.g. `text/plain`, `multipart/report`.
    pub content_type: String,
    /// The `report-type` parameter of a multipart/report, lowercased.
    pub report_type: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Message-ID of the original message a bounce returns, found in its message/rfc822,
    /// text/rfc822-headers or message/delivery-status parts (angle brackets removed).
    pub returned_message_id: Option<String>,
    /// Content-Language and Accept-Language tags, lowercased, in order of preference.
    pub languages: Vec<String>,
    /// The start of the first text body (decoded, at most a few KiB), for auto-reply heuristics
    /// and previews.
    pub body_preview: String,
    /// Hex SHA-256 over what makes two deliveries "the same message": Message-ID, Date, From,
    /// Subject and the body, not the trace headers an MTA adds per delivery.
    pub digest: String,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// Set when the bytes do not look like a mail at all; the message is quarantined with this.
    pub unparseable: Option<String>,
    /// Set when the MIME structure is nested deeper or has more parts than the limits allow: only
    /// the top-level headers were read; the message is quarantined with this.
    pub over_limits: Option<String>,
    /// Problems found that do not stop storing the message (e.g. a missing Message-ID).
    pub defects: Vec<String>,
}

impl Facts {
    /// The address an answer goes to: Reply-To, else From.
    pub fn answer_address(&self) -> Option<String> {
        (self.reply_to.as_ref().or(self.author()))
            .map(|m| m.address.clone())
            .filter(|a| a.contains('@'))
    }

    /// The first value of a header from `headers` (name lowercased).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every address the message names as a recipient: envelope headers first, then To, then Cc.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.envelope_to
            .iter()
            .map(String::as_str)
            .chain(self.to.iter().map(|m| m.address.as_str()))
            .chain(self.cc.iter().map(|m| m.address.as_str()))
    }

    /// Who wrote the message: From, else Reply-To, else Sender, else the envelope sender.
    pub fn author(&self) -> Option<&Mailbox> {
        self.author_and_header().map(|(m, _)| m)
    }

    /// The header `author` was taken from: `From`, `Reply-To`, `Sender` or `Return-Path`.
    pub fn author_header(&self) -> Option<&'static str> {
        self.author_and_header().map(|(_, h)| h)
    }

    fn author_and_header(&self) -> Option<(&Mailbox, &'static str)> {
        [
            (&self.from, "From"),
            (&self.reply_to, "Reply-To"),
            (&self.sender, "Sender"),
            (&self.envelope_from, "Return-Path"),
        ]
        .into_iter()
        .find_map(|(m, header)| Some((m.as_ref()?, header)))
    }
}
