//! A clamd client: `zINSTREAM` over TCP or a Unix socket, through the `clamav-client` crate's
//! blocking API with our own stream.
//!
//! Why our own stream: clamav-client's `Tcp`/`Socket` connect without a timeout and set no read
//! or write timeouts, and its `scan` gives up at the first failed write, so an EPIPE mid-send
//! (clamd closes after `INSTREAM size limit exceeded`) would lose clamd's reply. The crate lets a
//! caller bring any `TransportProtocol`, so we hand it a `Conn` (see `conn.rs`): connected with a
//! timeout, one deadline for the whole scan, a cap on the reply, and writes after an EPIPE
//! swallowed so the crate goes on to read the reply. The crate still does the protocol (command,
//! 4-byte big-endian chunk lengths, the zero-length end) and we parse the reply ourselves (its
//! `clean()` only looks for "OK" anywhere in the text).
//!
//! Replies (each ends in NUL): `stream: OK`; `stream: <signature> FOUND`; `INSTREAM size limit
//! exceeded. ERROR` when the stream passes clamd's StreamMaxLength. That last one is
//! `Scan::Skipped` (like our own `max-size`: retrying cannot help, and `on-oversize` decides);
//! keep `max-size` at or below StreamMaxLength so the message is not sent in vain. Any other
//! `... ERROR` is `Rejected` (clamd answered, but not with a verdict); an empty or unparseable
//! reply is `Unavailable`.
//!
//! Note (SERVICES.md): a file inside the message over clamd's MaxFileSize/MaxScanSize is reported
//! `stream: OK`, silently unscanned, unless clamd runs with `AlertExceedsMax yes`.

use std::cell::Cell;
use std::io;
use std::time::{Duration, Instant};

use clamav_client::TransportProtocol;

use super::config::ClamdConfig;
use super::conn::{clean, describe, Conn, Endpoint};
use super::{Scan, ScanError};

/// clamd's replies are one short line.
const MAX_REPLY: usize = 4096;
/// INSTREAM chunk size (clamav-client's default is 4 KiB).
const CHUNK: usize = 64 * 1024;

/// clamd's answer for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirusVerdict {
    pub infected: bool,
    /// The signature clamd found, e.g. `Test.EICAR.HDB.UNOFFICIAL`.
    pub signature: Option<String>,
}

/// A client for one clamd; cheap to share between threads (it holds no connection).
#[derive(Debug, Clone)]
pub struct ClamdClient {
    endpoint: Endpoint,
    timeout: Duration,
    max_size: u64,
}

/// Hands clamav-client the connection we opened (once).
struct Opened(Cell<Option<Conn>>);

impl TransportProtocol for Opened {
    type Stream = Conn;

    fn connect(&self) -> io::Result<Conn> {
        self.0
            .take()
            .ok_or_else(|| io::Error::other("connection already used"))
    }
}

impl ClamdClient {
    /// Builds the client from its configuration (validated here); does not connect.
    pub fn new(cfg: &ClamdConfig) -> Result<ClamdClient, String> {
        cfg.validate()?;
        Ok(ClamdClient {
            endpoint: Endpoint::parse(&cfg.address)?,
            timeout: Duration::from_secs(cfg.timeout_seconds),
            max_size: cfg.max_size,
        })
    }

    /// Overrides the configured timeout (whole seconds are coarse for tests).
    pub fn with_timeout(mut self, timeout: Duration) -> ClamdClient {
        self.timeout = timeout;
        self
    }

    /// "clamd /run/clamav/clamd.ctl" for logs.
    pub fn describe(&self) -> String {
        format!("clamd {}", self.endpoint)
    }

    /// Streams `raw` to clamd. A message over `max-size` is not sent.
    pub fn instream(&self, raw: &[u8]) -> Result<Scan<VirusVerdict>, ScanError> {
        if raw.len() as u64 > self.max_size {
            return Ok(Scan::Skipped {
                reason: format!("{} bytes, over clamd max-size {}", raw.len(), self.max_size),
            });
        }
        let conn = self.open()?;
        let reply = clamav_client::scan_buffer(raw, Opened(Cell::new(Some(conn))), Some(CHUNK))
            .map_err(|e| self.io_error(e))?;
        parse_reply(&reply, &self.endpoint)
    }

    /// `zPING`: `Ok` when clamd answers `PONG`.
    pub fn ping(&self) -> Result<(), ScanError> {
        let conn = self.open()?;
        let reply =
            clamav_client::ping(Opened(Cell::new(Some(conn)))).map_err(|e| self.io_error(e))?;
        if reply == clamav_client::PONG {
            Ok(())
        } else {
            Err(ScanError::Unavailable(format!(
                "clamd {} answered PING with {:?}",
                self.endpoint,
                clean(&String::from_utf8_lossy(&reply))
            )))
        }
    }

    fn open(&self) -> Result<Conn, ScanError> {
        self.endpoint
            .connect(Instant::now() + self.timeout, MAX_REPLY)
    }

    fn io_error(&self, e: io::Error) -> ScanError {
        ScanError::Unavailable(format!("clamd {}: {}", self.endpoint, describe(&e)))
    }
}

/// One INSTREAM reply, NUL-terminated (`z` commands).
fn parse_reply(reply: &[u8], endpoint: &Endpoint) -> Result<Scan<VirusVerdict>, ScanError> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n', '\r', ' ']);
    if text.is_empty() {
        return Err(ScanError::Unavailable(format!(
            "clamd {endpoint} closed the connection without a reply"
        )));
    }
    if text.starts_with("INSTREAM size limit exceeded") {
        return Ok(Scan::Skipped {
            reason: "over clamd's StreamMaxLength".into(),
        });
    }
    if text.ends_with(" ERROR") {
        return Err(ScanError::Rejected(format!("clamd: {}", clean(text))));
    }
    let garbage = || {
        ScanError::Unavailable(format!(
            "clamd {endpoint}: unexpected reply {:?}",
            clean(&text[..text.floor_char_boundary(80)])
        ))
    };
    let Some(result) = text.strip_prefix("stream: ") else {
        return Err(garbage());
    };
    if result == "OK" {
        return Ok(Scan::Done(VirusVerdict {
            infected: false,
            signature: None,
        }));
    }
    let Some(name) = result.strip_suffix(" FOUND") else {
        return Err(garbage());
    };
    let name_ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'(' && b != b')');
    if !name_ok {
        return Err(garbage());
    }
    Ok(Scan::Done(VirusVerdict {
        infected: true,
        signature: Some(name.to_owned()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Scan<VirusVerdict>, ScanError> {
        parse_reply(s.as_bytes(), &Endpoint::Tcp("127.0.0.1:3310".into()))
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            parse("stream: OK\0").unwrap(),
            Scan::Done(VirusVerdict {
                infected: false,
                signature: None
            })
        );
        assert_eq!(
            parse("stream: Test.EICAR.HDB.UNOFFICIAL FOUND\0").unwrap(),
            Scan::Done(VirusVerdict {
                infected: true,
                signature: Some("Test.EICAR.HDB.UNOFFICIAL".into())
            })
        );
    }

    #[test]
    fn size_limit_is_skipped() {
        let r = parse("INSTREAM size limit exceeded. ERROR\0").unwrap();
        assert!(matches!(r, Scan::Skipped { ref reason } if reason.contains("StreamMaxLength")));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse("stream: Can't allocate memory ERROR\0"),
            Err(ScanError::Rejected(_))
        ));
        for g in [
            "",
            "\0",
            "PONG\0",
            "stream: maybe\0",
            "stream:  FOUND\0",
            "stream: a(b) FOUND\0",
            "HTTP/1.1 200 OK\r\n",
        ] {
            assert!(matches!(parse(g), Err(ScanError::Unavailable(_))), "{g:?}");
        }
    }
}
