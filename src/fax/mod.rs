//! Faxes: fax gateways deliver each received fax as a mail (the fax a TIFF or PDF attachment,
//! the sender's number in a header or the subject). `config` (`[[fax]]`), `gateway` (which
//! gateway, the number, a PDF for each TIFF), `pages` (a TIFF's pages: CCITT strips as coded,
//! else decoded pixels), `pdf` (those pages as a PDF), `rendition` (the article carrying the
//! PDFs beside the fax). No I/O: intake files what these return.

pub mod gateway;
pub mod pages;
pub mod pdf;
pub mod rendition;
pub mod sample;

pub use crate::config::fax::{self as config, FaxGateway};
pub use gateway::{Gateways, Received, Rendition};
