//! spamd and clamd in the pipeline, against the real daemons: GTUBE goes to Junk unanswered,
//! EICAR (attached, and inside a zip) to the quarantine, clean mail to a ticket with the
//! scanners' headers; spamd away leaves mail at its source until it is back; a clamd that hangs
//! or answers garbage meets the configured policy; moving a ticket out of Junk teaches spamd.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;

use crate::harness::{drop_mail, incoming, mail, post, Desk};
use crate::services::{free_port, Clamd, SmtpSink, Spamd, EICAR, GTUBE};

fn desk(spamd: u16, clamd: u16, sink: u16, clamd_extra: &str) -> Desk {
    Desk::with(
        "",
        &format!(
            "[outgoing]\ntransport = \"smtp\"\n[outgoing.smtp]\nport = {sink}\n\
             [scan.spamd]\nenabled = true\naddress = \"127.0.0.1:{spamd}\"\ntimeout-seconds = 10\n\
             [scan.clamd]\nenabled = true\naddress = \"127.0.0.1:{clamd}\"\ntimeout-seconds = 1\n{clamd_extra}\n"
        ),
    )
}

fn with_attachment(from: &str, id: &str, name: &str, ctype: &str, data: &[u8]) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut b64 = String::new();
    for chunk in base64(data).as_bytes().chunks(76) {
        let _ = writeln!(b64, "{}\r", String::from_utf8_lossy(chunk));
    }
    format!(
        "From: {from}\r\nTo: support@company.example\r\nSubject: Invoice {id}\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain\r\n\r\nSee attachment.\r\n--b1\r\nContent-Type: {ctype}\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}--b1--\r\n"
    )
    .into_bytes()
}

pub(crate) fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn eicar_zip() -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("eicar.com", opts).unwrap();
    z.write_all(EICAR).unwrap();
    z.finish().unwrap();
    buf.into_inner()
}

fn ticket_with(desk: &Desk, subject: &str) -> Option<serde_json::Value> {
    desk.tickets()
        .into_iter()
        .find(|t| t["subject"].as_str() == Some(subject))
}

#[test]
fn spam_virus_and_clean_mail_and_learning() {
    let (spamd, clamd, sink) = (Spamd::start(), Clamd::start(), SmtpSink::start());
    let desk = desk(spamd.port, clamd.port, sink.port, "");
    let md = desk.maildir("in");
    post(
        &md,
        "spammer@example.net",
        "support@company.example",
        "Cheap pills",
        "s1@example.net",
        "",
        &format!("Buy now {GTUBE}"),
    );
    drop_mail(
        &md,
        &with_attachment(
            "v1@example.org",
            "v1@example.org",
            "eicar.com",
            "application/octet-stream",
            EICAR,
        ),
    );
    drop_mail(
        &md,
        &with_attachment(
            "v2@example.org",
            "v2@example.org",
            "eicar.zip",
            "application/zip",
            &eicar_zip(),
        ),
    );
    post(
        &md,
        "jane@example.org",
        "support@company.example",
        "Clean question",
        "c1@example.org",
        "",
        "Hello, a normal question.",
    );
    let out = desk.drain(&md);
    assert!(
        out.contains("new tickets 2") && out.contains("quarantined 2"),
        "{out}"
    );

    let spam = ticket_with(&desk, "Cheap pills").expect("spam ticket");
    assert_eq!(spam["queue"], "Junk");
    let n = spam["number"].as_str().unwrap().to_string();
    let show = desk.show(&n);
    let stored = fs::read_to_string(incoming(&show)[0]["path"].as_str().unwrap()).unwrap();
    assert!(
        stored.contains("X-Spam-Status: Yes, score=1000"),
        "{stored}"
    );
    assert!(
        show["history"]
            .to_string()
            .contains("autoresponse-suppressed"),
        "{show}"
    );
    let sent = sink.messages();
    assert!(
        !sent
            .iter()
            .any(|(_, env)| env.contains("spammer@example.net")),
        "spam answered"
    );

    let q: Vec<String> = fs::read_dir(desk.data.join("store/.Quarantine/new"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(
        q.iter()
            .filter(|t| t.contains("X-Postdesk-Reason: virus"))
            .count(),
        2,
        "{q:?}"
    );
    assert!(!sent
        .iter()
        .any(|(_, env)| env.contains("v1@example.org") || env.contains("v2@example.org")));

    let clean = ticket_with(&desk, "Clean question").expect("clean ticket");
    assert_eq!(clean["queue"], "Support");
    let cshow = desk.show(clean["number"].as_str().unwrap());
    let cstored = fs::read_to_string(incoming(&cshow)[0]["path"].as_str().unwrap()).unwrap();
    assert!(
        cstored.contains("X-Spam-Status: No") && cstored.contains("X-Virus-Status: Clean"),
        "{cstored}"
    );
    assert!(
        sent.iter().any(|(_, env)| env.contains("jane@example.org")),
        "clean mail answered"
    );
    desk.fsck_clean();

    // An agent takes the false positive out of Junk: spamd learns it as ham.
    let out = desk.ok(&["ticket", "move", &n, "Support"]);
    assert!(out.contains("reported to spamd as ham"), "{out}");
    assert!(desk.show(&n)["history"].to_string().contains("learned"));
    // `explain` shows the scanners' verdicts and the filter action with its line.
    let probe = desk.path().join("probe.eml");
    fs::write(
        &probe,
        mail(
            "x@example.net",
            "support@company.example",
            "More pills",
            "s2@example.net",
            "",
            GTUBE,
        ),
    )
    .unwrap();
    let ex = desk.ok(&["explain", probe.to_str().unwrap()]);
    assert!(
        ex.contains("X-Spam-Status: Yes")
            && ex.contains("10-spam-virus.sieve:")
            && ex.contains("fileinto \"Junk\""),
        "{ex}"
    );
}

#[test]
fn spamd_away_leaves_mail_at_its_source_until_it_is_back() {
    let (clamd, sink) = (Clamd::start(), SmtpSink::start());
    let port = free_port();
    let desk = desk(port, clamd.port, sink.port, "");
    let md = desk.maildir("in");
    post(
        &md,
        "a@example.org",
        "support@company.example",
        "One",
        "w1@example.org",
        "",
        "x",
    );
    post(
        &md,
        "b@example.org",
        "support@company.example",
        "Two",
        "w2@example.org",
        "",
        "x",
    );
    let out = desk.drain(&md);
    assert!(
        out.contains("processed 0") && out.contains("deferred 2"),
        "{out}"
    );
    assert!(desk.tickets().is_empty());
    let spamd = Spamd::start_at(Some(port));
    let out = desk.drain(&md);
    assert!(out.contains("new tickets 2"), "{out}");
    let out = desk.drain(&md);
    let summary = out.lines().next().unwrap_or("");
    assert!(
        summary.contains("processed 0") && !summary.contains("deferred"),
        "{out}"
    );
    drop(spamd);
}

/// A clamd that accepts and then never answers, or answers garbage.
fn fake_clamd(garbage: bool) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                if garbage {
                    let _ = s.read(&mut buf);
                    let _ = s.write_all(b"\x07\x00what is this\n");
                } else {
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_hanging_or_garbling_clamd_meets_the_policy() {
    let (spamd, sink) = (Spamd::start(), SmtpSink::start());
    for garbage in [false, true] {
        let fake = fake_clamd(garbage);
        // tempfail (the default): the message waits.
        let desk = desk(spamd.port, fake, sink.port, "");
        let md = desk.maildir("in");
        post(
            &md,
            "a@example.org",
            "support@company.example",
            "Hang",
            "h1@example.org",
            "",
            "x",
        );
        let out = desk.drain(&md);
        assert!(out.contains("deferred 1"), "garbage={garbage}: {out}");
        // pass: filed, marked unscanned.
        let desk = desk_pass(spamd.port, fake, sink.port);
        let md = desk.maildir("in");
        post(
            &md,
            "a@example.org",
            "support@company.example",
            "Pass",
            "h2@example.org",
            "",
            "x",
        );
        let out = desk.drain(&md);
        assert!(out.contains("new tickets 1"), "garbage={garbage}: {out}");
        let t = ticket_with(&desk, "Pass").unwrap();
        let show = desk.show(t["number"].as_str().unwrap());
        let stored = fs::read_to_string(incoming(&show)[0]["path"].as_str().unwrap()).unwrap();
        assert!(stored.contains("X-Virus-Status: Unscanned"), "{stored}");
    }
}

fn desk_pass(spamd: u16, clamd: u16, sink: u16) -> Desk {
    desk(spamd, clamd, sink, "on-failure = \"pass\"")
}
