//! The digest that tells a message seen before: the raw Message-ID, Date, From and Subject
//! values (unfolded, trimmed) and the body with CRLF read as LF and trailing line ends dropped,
//! each followed by a NUL. The body is taken piece by piece, so a message whose part lives in a
//! file (`store::spliced`) is hashed without being in memory as a whole.

use std::io::{self, Read};

use mail_parser::{HeaderName, MessagePart};
use sha2::{Digest as _, Sha256};

pub(super) struct Digest {
    hash: Sha256,
    /// Line-end bytes not hashed yet: dropped if nothing else follows them.
    run: Vec<u8>,
}

impl Digest {
    /// Starts with the header values of `root`, a part of `mail`.
    pub fn headers(mail: &[u8], root: &MessagePart<'_>) -> Digest {
        let mut hash = Sha256::new();
        for name in [
            HeaderName::MessageId,
            HeaderName::Date,
            HeaderName::From,
            HeaderName::Subject,
        ] {
            if let Some(h) = root.headers().iter().find(|h| h.name == name) {
                let bytes = mail
                    .get(h.offset_start as usize..h.offset_end as usize)
                    .unwrap_or_default();
                let unfolded: Vec<u8> = bytes
                    .iter()
                    .copied()
                    .filter(|&b| b != b'\r' && b != b'\n')
                    .collect();
                hash.update(unfolded.trim_ascii());
            }
            hash.update([0]);
        }
        Digest {
            hash,
            run: Vec::new(),
        }
    }

    /// The next bytes of the body.
    pub fn body(&mut self, mut bytes: &[u8]) {
        while let Some(i) = memchr::memchr2(b'\r', b'\n', bytes) {
            if i > 0 {
                self.flush_run();
                self.hash.update(&bytes[..i]);
            }
            let end = bytes[i..]
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .map_or(bytes.len(), |n| i + n);
            for &b in &bytes[i..end] {
                // CRLF is LF, also when the pieces split it.
                if b == b'\n' && self.run.last() == Some(&b'\r') {
                    self.run.pop();
                }
                self.run.push(b);
            }
            bytes = &bytes[end..];
        }
        if !bytes.is_empty() {
            self.flush_run();
            self.hash.update(bytes);
        }
    }

    /// The rest of the body from a reader.
    pub fn body_from(&mut self, r: &mut dyn Read) -> io::Result<()> {
        let mut buf = vec![0; 64 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => self.body(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn flush_run(&mut self) {
        if !self.run.is_empty() {
            self.hash.update(&self.run);
            self.run.clear();
        }
    }

    pub fn finish(mut self) -> String {
        self.hash.update([0]);
        super::hex(&self.hash.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body's part of the digest as the definition says, in one piece.
    fn plain(body: &[u8]) -> Vec<u8> {
        let end = body
            .iter()
            .rposition(|&b| b != b'\r' && b != b'\n')
            .map_or(0, |i| i + 1);
        let text = &body[..end];
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i] == b'\r' && text.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            out.push(text[i]);
            i += 1;
        }
        out
    }

    fn streamed(body: &[u8], piece: usize) -> String {
        let mut d = Digest {
            hash: Sha256::new(),
            run: Vec::new(),
        };
        for p in body.chunks(piece.max(1)) {
            d.body(p);
        }
        d.finish()
    }

    #[test]
    fn the_body_in_any_pieces_hashes_as_in_one() {
        let bodies: [&[u8]; 7] = [
            b"",
            b"\r\n\r\n",
            b"one\r\ntwo\r\n\r\n",
            b"one\ntwo\n",
            b"a\r\r\nb\rc\n\r\n\rd\r\n\r\n\n",
            b"\r\nlead\r\n",
            b"no end",
        ];
        for body in bodies {
            let mut want = Sha256::new();
            want.update(plain(body));
            want.update([0]);
            let want = super::super::hex(&want.finalize());
            for piece in 1..=body.len().max(1) {
                assert_eq!(streamed(body, piece), want, "{body:?} in pieces of {piece}");
            }
        }
    }
}
