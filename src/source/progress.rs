//! Progress on stderr for long imports, when a person is watching (stderr is a terminal).

pub(super) struct Progress<'a> {
    source: &'a str,
    total: usize,
    done: usize,
    show: bool,
}

impl<'a> Progress<'a> {
    /// For `total` messages waiting at `source`, when the source can count them.
    pub(super) fn new(source: &'a str, total: Option<usize>) -> Progress<'a> {
        use std::io::IsTerminal;
        let total = total.unwrap_or(0);
        Progress {
            source,
            total,
            done: 0,
            show: total >= 1000 && std::io::stderr().is_terminal(),
        }
    }

    pub(super) fn advance(&mut self, n: usize) {
        self.done += n;
        if self.show {
            eprint!("\r{}: {}/{} messages", self.source, self.done, self.total);
            if self.done >= self.total {
                eprintln!();
            }
        }
    }
}
