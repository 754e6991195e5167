//! Maildir outbox transport, the default: each mail becomes one file in `<data-dir>/outbox/new/`,
//! so postdesk runs without an MTA and an admin (or a relay script, or Dovecot) can look at what
//! would have been sent.
//!
//! Delivery follows the Maildir protocol: write `tmp/<unique>`, rename it into `new/`; `sync`
//! (one syncfs for every mail since the last) makes them durable before the sender marks them
//! sent. The envelope is made visible by prepending `Return-Path: <sender>` (empty for
//! automatic mail) and one `X-Postdesk-Envelope-To:` per recipient, using the mail's own line
//! ending. Every disk error is `Transient`; a leftover in `tmp/` after a crash is harmless.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{Envelope, SendError, Transport};
use crate::store::names::UniqueNames;

#[derive(Debug)]
pub struct MaildirTransport {
    dir: PathBuf,
    names: UniqueNames,
}

impl MaildirTransport {
    /// Opens (creating if needed) the Maildir at `dir`.
    pub fn open(dir: &Path) -> io::Result<MaildirTransport> {
        let t = MaildirTransport {
            dir: dir.to_path_buf(),
            names: UniqueNames::default(),
        };
        t.create_dirs()?;
        Ok(t)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn create_dirs(&self) -> io::Result<()> {
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(self.dir.join(sub))?;
        }
        Ok(())
    }

    fn deliver(&self, head: &[u8], raw: &[u8]) -> io::Result<String> {
        let name = self.names.next((head.len() + raw.len()) as u64);
        let tmp = self.dir.join("tmp").join(&name);
        let new = self.dir.join("new").join(&name);
        let written = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(head)?;
            f.write_all(raw)?;
            fs::rename(&tmp, &new)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        // Durable at `sync`, once for all the mails handed over since the last one.
        Ok(name)
    }
}

impl Transport for MaildirTransport {
    fn send(&self, env: &Envelope, raw: &[u8]) -> Result<String, SendError> {
        env.check()?;
        let head = envelope_header(env, raw);
        let result = match self.deliver(&head, raw) {
            // The outbox was removed under us (an admin cleaning up): recreate it once.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.create_dirs().and_then(|()| self.deliver(&head, raw))
            }
            r => r,
        };
        result.map_err(|e| SendError::Transient(format!("outbox {}: {e}", self.dir.display())))
    }

    fn sync(&self) -> Result<(), SendError> {
        crate::store::durable::syncfs(&self.dir)
            .map_err(|e| SendError::Transient(format!("outbox {}: sync: {e}", self.dir.display())))
    }

    /// Writing a file is quick and its sync costs about the same for one or many: 256 mails to
    /// a sync (and at most as many written twice after a crash).
    fn handover(&self) -> usize {
        256
    }

    /// Four handovers a group: intake makes about 400 acknowledgements and notices a batch when
    /// each message brings both, and with groups of 256 the outbox fell behind by the
    /// difference, to send the rest after intake (a second and more of 10,000 messages).
    fn group(&self) -> usize {
        1024
    }

    fn describe(&self) -> String {
        format!("maildir {}", self.dir.display())
    }
}

/// `Return-Path:` and `X-Postdesk-Envelope-To:` lines, ending like the mail's first line.
fn envelope_header(env: &Envelope, raw: &[u8]) -> Vec<u8> {
    let eol: &[u8] = match raw.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && raw[i - 1] == b'\r' => b"\r\n",
        Some(_) => b"\n",
        None => b"\r\n",
    };
    let mut head = Vec::with_capacity(64 * (1 + env.to.len()));
    head.extend_from_slice(b"Return-Path: <");
    head.extend_from_slice(env.from.as_deref().unwrap_or("").as_bytes());
    head.extend_from_slice(b">");
    head.extend_from_slice(eol);
    for to in &env.to {
        head.extend_from_slice(b"X-Postdesk-Envelope-To: ");
        head.extend_from_slice(to.as_bytes());
        head.extend_from_slice(eol);
    }
    head
}
