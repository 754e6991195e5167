//! The transports on their own: the local Maildir outbox, sendmail (a script standing in for
//! it), SMTP against aiosmtpd, a closed port and a server that never answers, STARTTLS with a
//! self-signed CA. The end-to-end behaviour through the binary is in `outgoing`.

mod common;
mod maildir;
mod sendmail;
mod smtp;
mod starttls;
