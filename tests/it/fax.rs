//! Faxes from a fax gateway (`[[fax]]`): the ticket opens for the directory's person with the
//! sender's fax number in the gateway's queue, the gateway's mail is filed byte for byte, and a
//! second article carries a PDF of each TIFF, read back here with poppler (pdfinfo, pdftoppm):
//! a G4 TIFF made by libtiff's tiffcp, as gateways send them, gives a PDF whose pages show the
//! same pixels. A TIFF that cannot be rendered leaves a line in the history; kill -9 while faxes
//! are filed loses and repeats nothing.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use postdesk::fax::sample::bilevel;

use crate::directory::DIRECTORY;
use crate::harness::{drop_mail, Desk};

const GATEWAY: &str = "[[fax]]\nname = \"hylafax\"\nsender = \"faxmaster@gw.company.example\"\n\
    number-subject = \"from ([+0-9 ()/-]+)\"\nqueue = \"Phone\"\n";

const WIDTH: u32 = 1728;
const ROWS: u32 = 1100;

fn desk(extra: &str) -> Desk {
    let desk = Desk::with(
        "",
        &format!(
            "{extra}\n[directory]\nfile = \"directory.toml\"\ncountry-code = \"49\"\narea-code = \"541\"\n{GATEWAY}"
        ),
    );
    fs::write(desk.path().join("directory.toml"), DIRECTORY).unwrap();
    desk
}

/// What page `p` shows: blocks of a size that differs from page to page.
fn ink(p: usize, y: u32, x: u32) -> bool {
    (x / 96 + y / (32 + 16 * p as u32)).is_multiple_of(2)
}

/// A three-page fax as a gateway sends it: CCITT Group 4, 204 × 98 dpi (tiffcp re-codes the
/// uncompressed pages and keeps their resolution), a page in one strip as HylaFAX writes them,
/// or in strips of 37 rows (tiffcp's choice).
fn g4_fax(dir: &Path, whole_pages: bool) -> Vec<u8> {
    let raw = dir.join("raw.tif");
    let g4 = dir.join("g4.tif");
    fs::write(&raw, bilevel(3, WIDTH, ROWS, ink)).unwrap();
    let rows = if whole_pages { ROWS } else { 37 };
    let out = Command::new("tiffcp")
        .args(["-c", "g4", "-r", &rows.to_string()])
        .arg(&raw)
        .arg(&g4)
        .output()
        .expect("tiffcp (libtiff-tools) is installed by scripts/install-test-deps.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = Command::new("tiffinfo").arg(&g4).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("CCITT Group 4"), "{info}");
    fs::read(&g4).unwrap()
}

fn fax_mail(id: &str, subject: &str, tiff: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(tiff);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: HylaFAX <faxmaster@gw.company.example>\r\nTo: fax@company.example\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Sun, 06 Dec 2026 09:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fax-b\"\r\n\r\n\
         --fax-b\r\nContent-Type: text/plain\r\n\r\nReceived a facsimile.\r\n--fax-b\r\n\
         Content-Type: image/tiff; name=\"fax0001.tif\"\r\n\
         Content-Disposition: attachment; filename=\"fax0001.tif\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--fax-b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// The attachment of a stored article (trace block and all) with this file name.
fn attachment(path: &str, name: &str) -> Vec<u8> {
    use mail_parser::MimeHeaders;
    let bytes = fs::read(path).unwrap();
    let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let part = m
        .attachments()
        .find(|a| a.attachment_name() == Some(name))
        .unwrap_or_else(|| panic!("no attachment {name} in {path}"));
    part.contents().to_vec()
}

#[test]
fn a_g4_fax_is_filed_for_its_sender_byte_for_byte_with_a_pdf_of_every_page() {
    let desk = desk("");
    let tiff = g4_fax(desk.path(), true);
    let md = desk.maildir("in");
    drop_mail(
        &md,
        &fax_mail(
            "fax1@gw.company.example",
            "Fax received from 0541 1234 99",
            &tiff,
        ),
    );
    desk.drain(&md);

    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let t = &tickets[0];
    assert_eq!(t["queue"], "Phone");
    assert_eq!(t["organisation"], "acme");
    assert!(t["person"].is_string(), "{t}");
    let number = t["number"].as_str().unwrap();
    let show = desk.show(number);
    let articles = show["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 2, "{show:#}");
    assert_eq!(articles[0]["event"], "created");
    assert_eq!(articles[1]["event"], "fax-rendition");
    assert_eq!(
        articles[1]["attachments"][0]["content_type"],
        "application/pdf"
    );

    // The gateway's mail as it came, the TIFF byte for byte.
    let original = attachment(articles[0]["path"].as_str().unwrap(), "fax0001.tif");
    assert!(
        original == tiff,
        "the stored TIFF differs from the one sent"
    );

    // The PDF: three pages at the fax's resolution (1728 dots at 204 dpi, 1100 rows at 98).
    let pdf = attachment(articles[1]["path"].as_str().unwrap(), "fax0001.pdf");
    let file = desk.path().join("fax.pdf");
    fs::write(&file, &pdf).unwrap();
    let info = Command::new("pdfinfo")
        .arg(&file)
        .output()
        .expect("pdfinfo (poppler-utils) is installed by scripts/install-test-deps.sh");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 3")),
        "{info}"
    );
    assert!(info.contains("609.882 x 808.163 pts"), "{info}");
    assert!(
        pdf.len() < tiff.len() + 4096,
        "the G4 strips are carried as they are"
    );
    same_pixels(&file);

    let history = show["history"].to_string();
    assert!(
        history.contains("a fax from +49541123499") && history.contains("gateway hylafax"),
        "{history}"
    );
    assert!(
        desk.outbox_to("faxmaster@gw.company.example").is_empty(),
        "the gateway got an autoresponse"
    );
    desk.fsck_clean();
}

/// Every page of the PDF shows what `ink` drew on it (but for a few pixels on edges).
fn same_pixels(pdf: &Path) {
    for page in 1..=3 {
        let wrong = differing_pixels(pdf, page);
        assert!(
            wrong < (WIDTH * ROWS / 1000) as usize,
            "page {page}: {wrong} pixels differ from the fax"
        );
    }
}

/// Pixels of PDF page `page`, rendered by pdftoppm at the fax's own pixel grid, that differ
/// from what `ink` drew on it.
fn differing_pixels(pdf: &Path, page: usize) -> usize {
    let out = pdf.with_extension(format!("p{page}"));
    let status = Command::new("pdftoppm")
        .args([
            "-gray",
            "-singlefile",
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
        ])
        .args([
            "-scale-to-x",
            &WIDTH.to_string(),
            "-scale-to-y",
            &ROWS.to_string(),
        ])
        .arg(pdf)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let pgm = fs::read(out.with_extension(format!("p{page}.pgm"))).unwrap();
    // P5, width, height, maxval, each after one whitespace.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields += 1;
    }
    let pixels = &pgm[at + 1..];
    assert_eq!(pixels.len(), (WIDTH * ROWS) as usize);
    let mut wrong = 0;
    for y in 0..ROWS {
        for x in 0..WIDTH {
            // Scaling may move an edge by a pixel: a pixel is wrong when no pixel next to
            // it on the fax has its colour.
            let black = pixels[(y * WIDTH + x) as usize] < 128;
            let near = (y.saturating_sub(1)..=(y + 1).min(ROWS - 1)).any(|ny| {
                (x.saturating_sub(1)..=(x + 1).min(WIDTH - 1))
                    .any(|nx| ink(page - 1, ny, nx) == black)
            });
            if !near {
                wrong += 1;
            }
        }
    }
    wrong
}

#[test]
fn a_broken_tiff_is_filed_as_it_came_and_the_history_says_why_it_has_no_pdf() {
    let desk = desk("");
    let md = desk.maildir("in");
    let broken = b"II*\0\x08\0\0\0\x01\0\x00\x01\x04\0\x01\0\0\0".to_vec();
    drop_mail(
        &md,
        &fax_mail(
            "fax2@gw.company.example",
            "Fax received from 0999 123",
            &broken,
        ),
    );
    desk.drain(&md);
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1);
    assert!(
        tickets[0]["person"].is_null(),
        "an unknown number names nobody"
    );
    let show = desk.show(tickets[0]["number"].as_str().unwrap());
    let articles = show["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 1, "no PDF article: {show:#}");
    let stored = attachment(articles[0]["path"].as_str().unwrap(), "fax0001.tif");
    assert_eq!(stored, broken);
    let history = show["history"].to_string();
    assert!(
        history.contains("fax-not-rendered") && history.contains("fax0001.tif: no PDF ("),
        "{history}"
    );
    desk.fsck_clean();
}

/// kill -9 at random points while faxes are filed: afterwards each fax is one ticket with its
/// fax and one PDF article, nothing is left staged, and the tree and the index agree.
#[test]
fn kill_9_while_filing_faxes_loses_and_repeats_nothing() {
    const N: usize = 16;
    let desk = desk(
        "[intake]\nbatch-size = 2\n[[source]]\nname = \"inbox\"\nmaildir = \"inbox\"\nafter = \"seen\"\n",
    );
    let tiff = g4_fax(desk.path(), false);
    let md = desk.maildir("inbox");
    for i in 0..N {
        drop_mail(
            &md,
            &fax_mail(
                &format!("kill{i}@gw.company.example"),
                &format!("Fax {i} received from 0541 1234 99"),
                &tiff,
            ),
        );
    }
    let mut d = 0u64;
    let kills = desk.run_with_kills(&md, 5, || {
        d = (d * 7 + 31) % 97;
        Duration::from_millis(15 + d)
    });
    assert!(
        kills >= 2,
        "the test must actually kill runs (killed {kills})"
    );
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), N);
    for t in &tickets {
        let show = desk.show(t["number"].as_str().unwrap());
        let events: Vec<&str> = show["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["event"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["created", "fax-rendition"], "{}", t["subject"]);
    }
    assert_eq!(desk.staged_files(), 0);
    desk.fsck_clean();
    // Pages of many strips: one image per strip, stacked.
    let show = desk.show(tickets[0]["number"].as_str().unwrap());
    let path = show["articles"][1]["path"].as_str().unwrap().to_string();
    let file = desk.path().join("strips.pdf");
    fs::write(&file, attachment(&path, "fax0001.pdf")).unwrap();
    same_pixels(&file);
}

/// A fax whose subject names a ticket joins it when its number is the ticket's customer's;
/// anyone else's meets the stranger policy (here the default: a new ticket that refers to it).
#[test]
fn a_fax_naming_a_ticket_joins_it_only_from_the_tickets_customer() {
    let desk = desk("");
    let md = desk.maildir("in");
    let tiff = bilevel(1, 64, 16, |_, y, _| y < 8);
    drop_mail(
        &md,
        &fax_mail(
            "j1@gw.company.example",
            "Fax received from 0541 1234 99",
            &tiff,
        ),
    );
    desk.drain(&md);
    let n = desk.tickets()[0]["number"].as_str().unwrap().to_string();
    let again = fax_mail(
        "j2@gw.company.example",
        &format!("Fax received from 0541 1234 99 Ticket#{n}"),
        &tiff,
    );
    let file = desk.path().join("again.eml");
    fs::write(&file, &again).unwrap();
    let said = desk.ok(&["explain", file.to_str().unwrap()]);
    assert!(
        said.contains("the fax's number belongs to the customer of the ticket its subject names")
            && said.contains(&format!("follow-up to ticket {n}")),
        "{said}"
    );
    drop_mail(&md, &again);
    drop_mail(
        &md,
        &fax_mail(
            "j3@gw.company.example",
            &format!("Fax received from 0541 555 Ticket#{n}"),
            &tiff,
        ),
    );
    desk.drain(&md);
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 2, "{tickets:?}");
    let show = desk.show(&n);
    let articles = show["articles"].as_array().unwrap();
    let events: Vec<&str> = articles
        .iter()
        .map(|a| a["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["created", "fax-rendition", "follow-up", "fax-rendition"]
    );
    assert_eq!(articles[2]["stranger"], false);
    let other = tickets.iter().find(|t| t["number"] != n.as_str()).unwrap();
    assert_eq!(other["refers"], n.as_str(), "{other}");
    desk.fsck_clean();
}
