//! Finding a ticket wherever its folder is: `postdesk ticket find` by number, address or subject
//! words, and an agent's `#find`, which answers the agent with the folder to open (an archived
//! ticket's `Archive/...` name, which mail clients do not list), only for the agent's queues.

use crate::agent_mail::{agent_mail, reply_address};
use crate::harness::{drop_mail, post, Desk};
use crate::outgoing::{body, desk, to};
use crate::services::SmtpSink;
use crate::tree::chrono_month;

fn numbers(found: &serde_json::Value) -> Vec<String> {
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn closed_tickets_are_found_by_number_address_and_words_and_by_an_agents_find() {
    let sink = SmtpSink::start();
    let desk: Desk = desk(sink.port, "");
    let md = desk.maildir("in");
    for (from, to, subject, id) in [
        (
            "Jane <jane@example.org>",
            "support@company.example",
            "Printer jams",
            "f1",
        ),
        (
            "kim@example.org",
            "support@company.example",
            "Scanner broken",
            "f2",
        ),
        (
            "jane@example.org",
            "fax@company.example",
            "Printer fax",
            "f3",
        ),
    ] {
        post(
            &md,
            from,
            to,
            subject,
            &format!("{id}@example.org"),
            "",
            "x",
        );
    }
    desk.drain(&md);
    let num = |subject: &str| desk.number_of(subject);
    let (printer, scanner, fax) = (
        num("Printer jams"),
        num("Scanner broken"),
        num("Printer fax"),
    );
    desk.ok(&["ticket", "close", &printer]);
    let archived = format!("Archive/Support/{}/{printer}", chrono_month());

    let found = desk.json(&["ticket", "find", &printer, "--json"]);
    assert_eq!(numbers(&found), std::slice::from_ref(&printer));
    assert_eq!(found[0]["state"], "closed");
    assert_eq!(found[0]["queue"], "Support");
    assert_eq!(found[0]["folder"], archived.as_str());
    let found = desk.json(&["ticket", "find", "scanner", "--json"]);
    assert_eq!(
        found[0]["folder"],
        format!("Tickets/Support/{scanner}").as_str()
    );
    let mut by_address = numbers(&desk.json(&["ticket", "find", "JANE@example.org", "--json"]));
    by_address.sort();
    let mut want = vec![printer.clone(), fax.clone()];
    want.sort();
    assert_eq!(by_address, want);
    assert_eq!(
        numbers(&desk.json(&["ticket", "find", "printer", "jams", "--json"])),
        std::slice::from_ref(&printer)
    );
    let line = desk.ok(&["ticket", "find", &format!("[Ticket#{printer}]")]);
    assert!(
        line.contains(&archived) && line.contains("closed"),
        "{line}"
    );
    let none = desk.run(&["ticket", "find", "nothing-like-this"]);
    assert_eq!(none.status.code(), Some(1));

    // Alice (Support and Billing) asks from the scanner ticket: told where the printer ticket
    // is; the Phone queue's ticket is not hers and is not named; nothing goes to the customer.
    let reply_to = reply_address(&desk, &scanner);
    drop_mail(
        &md,
        agent_mail(
            &reply_to,
            &scanner,
            "f4",
            "#find printer\r\n\r\nWhere was it?\r\n",
        )
        .as_bytes(),
    );
    desk.drain(&md);
    let got = to(&sink, "alice@company.example");
    let text = body(&got.last().expect("a notice to the agent").0);
    assert!(text.contains(&archived), "{text}");
    assert!(text.contains(&printer) && !text.contains(&fax), "{text}");
    assert_eq!(
        to(&sink, "kim@example.org").len(),
        1,
        "only the acknowledgement"
    );
    let events: Vec<String> = desk.show(&scanner)["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["direction"] == "agent")
        .map(|a| a["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["note"]);
    assert_eq!(
        desk.show(&printer)["state"],
        "closed",
        "finding changes nothing"
    );
    desk.fsck_clean();
}
