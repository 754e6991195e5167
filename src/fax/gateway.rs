//! A fax gateway's mail recognised: which gateway sent it, the sender's fax number (E.164)
//! from the header or subject the gateway's `[[fax]]` names, and a PDF rendition of each TIFF
//! it carries. Pure CPU work on the message's bytes (intake runs it on its reader threads);
//! a TIFF that cannot be rendered gives its reason, never a panic.

use mail_parser::{MessageParser, MimeHeaders};
use regex::Regex;

use super::config::FaxGateway;
use super::{pages, pdf};
use crate::config::Config;
use crate::directory::Numbering;
use crate::facts::Facts;

/// The configured gateways, their subject patterns compiled.
pub struct Gateways {
    list: Vec<(FaxGateway, Option<Regex>)>,
    numbering: Numbering,
}

/// What a gateway's mail says about the fax it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub gateway: String,
    /// The queue the gateway's faxes open tickets in, when it names one.
    pub queue: Option<String>,
    /// The sender's number, E.164, or why there is none.
    pub number: Result<String, String>,
    /// One per TIFF attachment, in the mail's order.
    pub renditions: Vec<Rendition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    /// The TIFF's file name in the mail (`fax.tif` when it has none).
    pub tiff: String,
    /// The PDF and its page count, or why the TIFF has no PDF.
    pub pdf: Result<(Vec<u8>, usize), String>,
}

impl Gateways {
    pub fn new(cfg: &Config) -> Gateways {
        let list = cfg
            .fax
            .iter()
            .map(|g| {
                // Checked when the configuration was loaded.
                let re = g.number_subject.as_deref().and_then(|r| Regex::new(r).ok());
                (g.clone(), re)
            })
            .collect();
        Gateways {
            list,
            numbering: cfg.directory.numbering(),
        }
    }

    /// The gateway that sent this mail: its From or envelope sender is the gateway's address.
    pub fn of(&self, facts: &Facts) -> Option<&FaxGateway> {
        let addresses = [&facts.from, &facts.envelope_from];
        self.list.iter().map(|(g, _)| g).find(|g| {
            addresses
                .iter()
                .filter_map(|m| m.as_ref())
                .any(|m| m.address.eq_ignore_ascii_case(g.sender.trim()))
        })
    }

    /// The fax in a gateway's mail; `None` for any other mail.
    pub fn receive(&self, facts: &Facts, raw: &[u8]) -> Option<Received> {
        let gw = self.of(facts)?;
        let re = self
            .list
            .iter()
            .find(|(g, _)| std::ptr::eq(g, gw))
            .and_then(|(_, re)| re.as_ref());
        let message = MessageParser::default().parse(raw);
        let written = match (&gw.number_header, re) {
            (Some(h), _) => message
                .as_ref()
                .and_then(|m| m.header_raw(h.as_str()))
                .map(|v| v.trim().to_string())
                .ok_or_else(|| format!("no {h} header")),
            (None, Some(re)) => re
                .captures(&facts.subject)
                .and_then(|c| c.get(1).or_else(|| c.get(0)))
                .map(|m| m.as_str().trim().to_string())
                .ok_or_else(|| "the subject names no number".to_string()),
            (None, None) => Err("no place for the number configured".into()),
        };
        let number = written.and_then(|w| {
            self.numbering
                .normalise(&w)
                .map_err(|e| format!("{w:?}: {e}"))
        });
        let renditions = message
            .as_ref()
            .map(|m| {
                m.attachments()
                    .filter_map(|part| {
                        let name = part.attachment_name().unwrap_or("").to_string();
                        let ct = part
                            .content_type()
                            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                            .unwrap_or_default();
                        is_tiff(&ct, &name, part.contents()).then(|| Rendition {
                            tiff: if name.is_empty() {
                                "fax.tif".into()
                            } else {
                                name
                            },
                            pdf: render(part.contents()),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Received {
            gateway: gw.name.clone(),
            queue: gw.queue.clone(),
            number,
            renditions,
        })
    }
}

/// A TIFF by its type, its name or its first bytes.
fn is_tiff(content_type: &str, name: &str, data: &[u8]) -> bool {
    let ct = content_type.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    ct == "image/tiff"
        || ct == "image/tif"
        || name.ends_with(".tif")
        || name.ends_with(".tiff")
        || data.starts_with(b"II*\0")
        || data.starts_with(b"MM\0*")
}

/// The PDF of a TIFF and its page count. The TIFF decoder is someone else's code run on a
/// stranger's bytes: a panic in it is caught and becomes the reason.
pub fn render(tiff: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let done = std::panic::catch_unwind(|| pages::read(tiff).map(|p| (pdf::write(&p), p.len())));
    match done {
        Ok(r) => r,
        Err(_) => Err("the TIFF decoder failed on it".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(gateway: &str) -> Config {
        let text = format!(
            "[[queue]]\nname = \"Fax\"\naddresses = [\"fax@desk.example\"]\n\
             [directory]\ncountry-code = \"49\"\narea-code = \"541\"\n{gateway}"
        );
        Config::parse(&text, std::path::Path::new("/tmp/p.toml")).unwrap()
    }

    fn mail(from: &str, subject: &str, extra: &str, tiff: &[u8]) -> Vec<u8> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(tiff);
        format!(
            "From: {from}\r\nTo: fax@desk.example\r\nSubject: {subject}\r\n{extra}\
             Message-ID: <f1@gw.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nA fax.\r\n--b\r\n\
             Content-Type: image/tiff; name=\"fax0001.tif\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn the_number_comes_from_the_subject_and_each_tiff_gets_a_pdf() {
        let g = Gateways::new(&cfg(
            "[[fax]]\nname = \"hylafax\"\nsender = \"FaxMaster@gw.example\"\n\
             number-subject = \"from ([+0-9 ()/-]+)\"\n",
        ));
        let tiff = crate::fax::sample::bilevel(2, 64, 16, |_, y, _| y.is_multiple_of(2));
        let raw = mail(
            "faxmaster@gw.example",
            "Fax received from 0541 1234-99",
            "",
            &tiff,
        );
        let facts = crate::parse::parse(&raw);
        let r = g.receive(&facts, &raw).expect("a gateway's mail");
        assert_eq!(r.gateway, "hylafax");
        assert_eq!(r.number.as_deref(), Ok("+49541123499"));
        assert_eq!(r.renditions.len(), 1);
        assert_eq!(r.renditions[0].tiff, "fax0001.tif");
        let (pdf, pages) = r.renditions[0].pdf.as_ref().unwrap();
        assert_eq!(*pages, 2);
        assert!(pdf.starts_with(b"%PDF-"));
        let other = mail("someone@else.example", "from 0541 1", "", &tiff);
        assert!(g.receive(&crate::parse::parse(&other), &other).is_none());
    }

    #[test]
    fn the_number_from_a_header_and_a_broken_tiff_with_its_reason() {
        let g = Gateways::new(&cfg(
            "[[fax]]\nname = \"t38\"\nsender = \"t38@gw.example\"\nnumber-header = \"X-Fax-Sender\"\n",
        ));
        let raw = mail(
            "t38@gw.example",
            "Fax",
            "X-Fax-Sender: +49 (0)541 1234 99\r\n",
            b"II*\0garbage",
        );
        let r = g.receive(&crate::parse::parse(&raw), &raw).unwrap();
        assert_eq!(r.number.as_deref(), Ok("+49541123499"));
        assert!(r.renditions[0].pdf.is_err());
        let raw = mail("t38@gw.example", "Fax", "", b"II*\0");
        let r = g.receive(&crate::parse::parse(&raw), &raw).unwrap();
        assert_eq!(r.number, Err("no X-Fax-Sender header".into()));
    }
}
