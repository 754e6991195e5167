//! A message whose largest part lives in a file: its bytes are the message's in memory up to a
//! point, then the file's contents in base64 (lines of 76 characters, each ended by CRLF, as
//! mail-builder writes a binary attachment), then the rest of the message. Written to a staged
//! file and hashed by reading the file in small pieces, so that a call's recording never has to
//! be in memory as a whole.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use base64::Engine as _;

/// Bytes of the file read for one line of base64 (76 characters).
const LINE_IN: usize = 57;
/// Lines encoded at a time: about 64 KiB read, 85 KiB written.
const LINES: usize = 1150;

/// Where a file's base64 goes into a message, and the file.
#[derive(Debug, Clone)]
pub struct Spliced {
    /// The file whose contents go in (a call's recording, as it arrived).
    pub path: PathBuf,
    /// Its length in bytes.
    pub len: u64,
    /// How many of the in-memory message's bytes come after the base64 (the part's end and
    /// the closing boundary): counted from the end, so an edit of the message's header (a
    /// renamed Reply-To) leaves it right.
    pub tail: usize,
}

impl Spliced {
    /// The length of the base64 with its line ends.
    pub fn encoded_len(&self) -> u64 {
        let lines = self.len / LINE_IN as u64;
        let rest = self.len % LINE_IN as u64;
        lines * 78
            + if rest > 0 {
                rest.div_ceil(3) * 4 + 2
            } else {
                0
            }
    }

    /// The length of `raw` with the file's base64 in it.
    pub fn total_len(&self, raw: &[u8]) -> u64 {
        raw.len() as u64 + self.encoded_len()
    }

    /// Where in `raw` the base64 goes.
    pub fn at(&self, raw: &[u8]) -> usize {
        raw.len().saturating_sub(self.tail)
    }

    /// The base64 of the file, read as it is encoded. A file whose length is no longer `len`
    /// is an error: the size the index and the file name carry would be wrong.
    pub fn encoded(&self) -> io::Result<Encoded> {
        let file = File::open(&self.path).map_err(crate::access::at(&self.path))?;
        let found = file.metadata()?.len();
        if found != self.len {
            return Err(io::Error::other(format!(
                "{}: {found} bytes, {} expected",
                self.path.display(),
                self.len
            )));
        }
        Ok(Encoded {
            file,
            left: self.len,
            input: vec![0; LINE_IN * LINES],
            output: Vec::with_capacity(78 * LINES),
            at: 0,
        })
    }

    /// Writes `raw` with the file's base64 in it to `out`.
    pub fn write_to(&self, raw: &[u8], out: &mut impl Write) -> io::Result<()> {
        let at = self.at(raw);
        out.write_all(&raw[..at])?;
        io::copy(&mut self.encoded()?, out)?;
        out.write_all(&raw[at..])
    }
}

/// The base64 of a file, line by line, as a reader.
pub struct Encoded {
    file: File,
    left: u64,
    input: Vec<u8>,
    output: Vec<u8>,
    /// How much of `output` was read already.
    at: usize,
}

impl Encoded {
    /// Encodes the next lines into `output`; false at the end of the file.
    fn refill(&mut self) -> io::Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        let want = (self.input.len() as u64).min(self.left) as usize;
        self.file
            .read_exact(&mut self.input[..want])
            .map_err(|e| io::Error::new(e.kind(), format!("the spliced file shrank: {e}")))?;
        self.left -= want as u64;
        self.output.clear();
        self.at = 0;
        for line in self.input[..want].chunks(LINE_IN) {
            let start = self.output.len();
            self.output.resize(start + line.len().div_ceil(3) * 4, 0);
            base64::engine::general_purpose::STANDARD
                .encode_slice(line, &mut self.output[start..])
                .map_err(io::Error::other)?;
            self.output.extend_from_slice(b"\r\n");
        }
        Ok(true)
    }
}

impl Read for Encoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.output.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.output.len() - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
