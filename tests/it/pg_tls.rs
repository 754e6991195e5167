//! The index on PostgreSQL over TLS. With `sslmode=require` in the url postdesk files mail
//! through a server that refuses the role any plain connection, trusting the site's CA from
//! `tls-ca-file`; a server whose certificate no trusted CA signed is refused, and so is a url
//! without `sslmode=require` at such a server.

use std::fs;

use crate::harness::{drop_mail, mail, Desk};

/// A desk whose index is on `server`, reached by `url`, with `extra` in its `[index]` table.
pub fn desk_on(server: &crate::postgres::Server, url: &str, extra: &str) -> Desk {
    let mut desk = Desk::new();
    let mut text = fs::read_to_string(&desk.config).unwrap();
    if let Some(own) = &desk.pg_url {
        text = text.replace(&crate::postgres::server().index_table(own), "");
    }
    text.push_str(&server.index_table(url));
    text.push_str(extra);
    fs::write(&desk.config, text).unwrap();
    desk.pg_url = None;
    desk
}

#[test]
fn the_index_on_postgresql_over_tls_checks_the_servers_certificate() {
    let server = crate::postgres::start();
    let ca = server.require_tls();
    let plain = server.database();
    let tls = format!("{plain}?sslmode=require");
    let ca_line = format!("tls-ca-file = \"{}\"\n", ca.display());

    let desk = desk_on(&server, &tls, &ca_line);
    let inbox = desk.maildir("inbox");
    drop_mail(
        &inbox,
        &mail(
            "ann@example.org",
            "support@company.example",
            "Over TLS",
            "<tls1@example.org>",
            "",
            "Hello.",
        ),
    );
    let summary = desk.drain(&inbox);
    assert!(summary.contains("new tickets 1"), "{summary}");
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1, "read back over TLS too: {tickets:?}");

    // The system's CAs alone do not know the server's.
    let unknown = desk_on(&server, &tls, "");
    let out = unknown.run(&["ticket", "list", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a certificate of an unknown CA was taken"
    );
    assert!(
        err.contains("certificate") || err.contains("Certificate"),
        "{err}"
    );

    // Plain text, which this server refuses the role: the server's reason is said.
    let cleartext = desk_on(&server, &plain, "");
    let out = cleartext.run(&["ticket", "list", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a plain connection got through");
    assert!(
        err.contains("pg_hba.conf") || err.contains("no encryption"),
        "{err}"
    );
}
