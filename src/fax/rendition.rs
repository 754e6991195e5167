//! The rendition article: a mail postdesk writes beside a TIFF fax, carrying a PDF of each of
//! its TIFFs, because most mail clients show no multi-page TIFF. It is an article of its own,
//! after the fax's, so that the fax's stored message stays the gateway's mail byte for byte.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::gateway::Received;
use crate::number::Scheme;
use crate::outgoing::compose::{self, Address, Attachment, Auto, Outgoing};

/// Where rendition articles' Message-IDs live (RFC 2606: never delivered).
const DOMAIN: &str = "fax.invalid";

/// What the rendition article needs besides the fax.
pub struct Context<'a> {
    /// The original's digest: the rendition's Message-ID is derived from it.
    pub digest: &'a str,
    pub message_id: Option<&'a str>,
    pub subject: &'a str,
    /// The queue's address, as From and To.
    pub queue: &'a str,
    pub language: &'a str,
    pub scheme: &'a Scheme,
    pub ticket: &'a str,
    pub loop_value: &'a str,
    pub date: DateTime<Utc>,
}

/// The mail, or `None` when no TIFF of the fax could be rendered.
pub fn build(fax: &Received, c: &Context) -> Result<Option<Vec<u8>>, compose::ComposeError> {
    let de = c.language.starts_with("de");
    let done: Vec<_> = fax
        .renditions
        .iter()
        .filter_map(|r| r.pdf.as_ref().ok().map(|(pdf, pages)| (r, pdf, *pages)))
        .collect();
    if done.is_empty() {
        return Ok(None);
    }
    let subject = if de {
        format!("Fax als PDF: {}", c.subject)
    } else {
        format!("Fax as PDF: {}", c.subject)
    };
    let subject = c.scheme.tag_subject(&subject, c.ticket, false);
    let mut body = String::new();
    let mut attachments = Vec::new();
    for (r, pdf, pages) in done {
        let pdf_name = pdf_name(&r.tiff);
        body.push_str(&if de {
            format!("{} als PDF ({pages} Seiten): {pdf_name}\n", r.tiff)
        } else {
            format!("{} as PDF ({pages} pages): {pdf_name}\n", r.tiff)
        });
        attachments.push(Attachment {
            filename: pdf_name,
            content_type: "application/pdf".into(),
            data: pdf.clone(),
        });
    }
    body.push_str(if de {
        "\nDas Fax selbst steht unverändert in der Nachricht davor.\n"
    } else {
        "\nThe fax itself is in the message before this one, unchanged.\n"
    });
    let id = message_id(c.digest);
    let parent: Vec<String> = c.message_id.iter().map(|m| m.to_string()).collect();
    let raw = compose::build(&Outgoing {
        from: Address::named("postdesk", c.queue),
        to: vec![Address::new(c.queue)],
        cc: Vec::new(),
        reply_to: None,
        subject,
        message_id: id,
        in_reply_to: parent.first().cloned(),
        references: parent,
        date: c.date,
        auto: Auto::Generated,
        // Not a mail of ours on its way out: nothing may take it for a loop.
        loop_value: format!("{}-fax", c.loop_value),
        language: Some(if de { "de" } else { "en" }.into()),
        extra: Vec::new(),
        body,
        attachments,
    })?;
    Ok(Some(raw))
}

/// The rendition's Message-ID: one per fax.
pub fn message_id(digest: &str) -> String {
    let d = Sha256::digest(format!("fax-rendition:{digest}").as_bytes());
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("pdf-{hex}@{DOMAIN}")
}

/// `fax0001.tif` → `fax0001.pdf`.
fn pdf_name(tiff: &str) -> String {
    let lower = tiff.to_ascii_lowercase();
    let stem = [".tiff", ".tif"]
        .iter()
        .find(|e| lower.ends_with(*e))
        .map_or(tiff, |e| &tiff[..tiff.len() - e.len()]);
    format!("{stem}.pdf")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fax::gateway::Rendition;

    #[test]
    fn names_and_an_article_only_when_a_pdf_exists() {
        assert_eq!(pdf_name("fax0001.TIF"), "fax0001.pdf");
        assert_eq!(pdf_name("scan.tiff"), "scan.pdf");
        assert_eq!(pdf_name("x"), "x.pdf");
        let scheme = crate::number::Scheme::default();
        let c = Context {
            digest: "d1",
            message_id: Some("f1@gw.example"),
            subject: "Fax from +49541123499",
            queue: "fax@desk.example",
            language: "en",
            scheme: &scheme,
            ticket: "2026120610000018",
            loop_value: "postdesk",
            date: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        let mut fax = Received {
            gateway: "g".into(),
            queue: None,
            number: Ok("+49541123499".into()),
            renditions: vec![Rendition {
                tiff: "fax.tif".into(),
                pdf: Err("broken".into()),
            }],
        };
        assert_eq!(build(&fax, &c).unwrap(), None);
        fax.renditions[0].pdf = Ok((b"%PDF-1.7 x".to_vec(), 3));
        let raw = String::from_utf8(build(&fax, &c).unwrap().unwrap()).unwrap();
        assert!(raw.contains("[Ticket#2026120610000018] Fax as PDF: Fax from +49541123499"));
        assert!(raw.contains("In-Reply-To: <f1@gw.example>"));
        assert!(raw.contains("fax.pdf"));
        assert!(raw.contains("3 pages"));
    }
}
