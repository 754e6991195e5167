//! The message after DATA: dot-unstuffing, the end marker (a line with a lone dot), CRLF read
//! as LF (as a pipe delivers, and as Maildir files are kept), and the size limit. Pure: it is fed
//! whatever the socket gave, in pieces of any size, and says how much of each piece it used, so
//! that what follows the end marker stays for the next command.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    Start,
    /// Inside a line.
    Mid,
    /// A CR inside a line (CRLF becomes LF; a lone CR stays).
    MidCr,
    /// A dot at the start of a line.
    Dot,
    /// A dot and a CR at the start of a line.
    DotCr,
    Done,
}

#[derive(Debug)]
pub struct Decoder {
    state: State,
    limit: u64,
    over: bool,
    /// The message as decoded (empty once it went over the limit).
    pub message: Vec<u8>,
    /// Decoded bytes counted, also past the limit.
    pub size: u64,
}

impl Decoder {
    pub fn new(limit: u64) -> Decoder {
        Decoder {
            state: State::Start,
            limit,
            over: false,
            message: Vec::new(),
            size: 0,
        }
    }

    /// True once the size went past the limit: the rest is read to its end and dropped.
    pub fn over_limit(&self) -> bool {
        self.over
    }

    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input` up to the end marker; returns how many bytes it used.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        for (i, &b) in input.iter().enumerate() {
            self.state = match (self.state, b) {
                (State::Done, _) => return i,
                (State::Start, b'.') => State::Dot,
                (State::Dot, b'\r') => State::DotCr,
                (State::Dot | State::DotCr, b'\n') => {
                    self.state = State::Done;
                    return i + 1;
                }
                // ".\r" then something else: the stuffed dot goes, the CR stays.
                (State::DotCr, b) => {
                    self.push(b'\r');
                    self.byte(b)
                }
                // A stuffed dot: dropped, the rest of the line kept.
                (State::Dot, b) => self.byte(b),
                (State::MidCr, b'\n') => {
                    self.push(b'\n');
                    State::Start
                }
                (State::MidCr, b) => {
                    self.push(b'\r');
                    self.byte(b)
                }
                (State::Start | State::Mid, b) => self.byte(b),
            };
        }
        input.len()
    }

    /// An ordinary byte inside a line (or starting one).
    fn byte(&mut self, b: u8) -> State {
        match b {
            b'\r' => State::MidCr,
            b'\n' => {
                self.push(b'\n');
                State::Start
            }
            b => {
                self.push(b);
                State::Mid
            }
        }
    }

    fn push(&mut self, b: u8) {
        self.size += 1;
        if self.over {
            return;
        }
        if self.size > self.limit {
            self.over = true;
            self.message = Vec::new();
            return;
        }
        self.message.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; returns the message and the unused rest.
    fn decode(input: &[u8], step: usize, limit: u64) -> (Decoder, Vec<u8>) {
        let mut d = Decoder::new(limit);
        let mut pos = 0;
        while pos < input.len() && !d.done() {
            let end = (pos + step).min(input.len());
            pos += d.feed(&input[pos..end]);
        }
        (d, input[pos..].to_vec())
    }

    #[test]
    fn unstuffs_dots_and_stops_at_the_marker_in_any_piece_size() {
        let wire = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nmid.dot\r\n...\r\n.\r\nRSET\r\n";
        for step in [1, 2, 3, 5, 7, 64] {
            let (d, rest) = decode(wire, step, 1 << 20);
            assert!(d.done(), "step {step}");
            assert_eq!(
                String::from_utf8_lossy(&d.message),
                "Subject: x\n\n.leading dot\n",
                "step {step}"
            );
            assert_eq!(rest, b"mid.dot\r\n...\r\n.\r\nRSET\r\n", "step {step}");
        }
    }

    #[test]
    fn lone_crs_stay_and_bare_lf_ends_lines() {
        for step in [1, 4, 100] {
            let (d, rest) = decode(b"a\rb\r\n.x\r\r\n.\rz\n.\n", step, 100);
            assert!(d.done());
            assert_eq!(d.message, b"a\rb\nx\r\n\rz\n", "step {step}");
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn an_empty_message_and_a_missing_marker() {
        let (d, _) = decode(b".\r\n", 1, 10);
        assert!(d.done() && d.message.is_empty());
        let (d, _) = decode(b"no end\r\n", 3, 100);
        assert!(!d.done());
    }

    #[test]
    fn over_the_limit_the_rest_is_read_but_not_kept() {
        let (d, rest) = decode(b"0123456789\r\nabc\r\n.\r\nQUIT\r\n", 4, 8);
        assert!(d.done() && d.over_limit());
        assert!(d.message.is_empty());
        assert_eq!(d.size, 15);
        assert_eq!(rest, b"QUIT\r\n");
        let (d, _) = decode(b"12345678\r\n.\r\n", 4, 9);
        assert!(!d.over_limit());
        assert_eq!(d.message, b"12345678\n");
    }
}
