//! One blocking connection to a scanner daemon, over TCP (`host:port`) or a Unix socket (a path
//! starting with `/`), with one deadline for the whole exchange.
//!
//! - Connecting uses socket2's `connect_timeout` for both kinds, so a full Unix-socket backlog or
//!   an unroutable host cannot hang a worker thread.
//! - Every read and write sets the socket timeout to what is left of the deadline, so a server
//!   that trickles a byte every few seconds still ends at `timeout`, not `timeout` per call.
//! - A write that fails with EPIPE or ECONNRESET (the daemon closed early, e.g. clamd's
//!   `INSTREAM size limit exceeded`) is remembered and every later write is swallowed, so the
//!   caller, or clamav-client's `scan_buffer`, goes on to read the reply the daemon left behind.
//!   If the read then ends in a reset with nothing received, that counts as end of stream.
//! - Reads stop with an error after `read_limit` bytes: a garbage server cannot fill memory.
//! - A host name is resolved with the system resolver before the deadline starts to count;
//!   configure an IP address or a socket path where a slow resolver matters.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use super::ScanError;

/// Where a daemon listens: `"127.0.0.1:783"`, `"localhost:3310"` or `"/run/spamd.sock"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(String),
    Unix(PathBuf),
}

impl Endpoint {
    /// A value starting with `/` is a Unix socket; anything else must be `host:port`.
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        if s.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(s)));
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(format!(
                "{s:?} is neither host:port nor an absolute socket path"
            ));
        };
        let host_ok =
            !host.is_empty() && !host.chars().any(|c| c.is_whitespace() || c.is_control());
        if !host_ok || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!(
                "{s:?} is neither host:port nor an absolute socket path"
            ));
        }
        Ok(Endpoint::Tcp(s.to_owned()))
    }

    /// Connects within what is left of `deadline`. Errors are `Unavailable`.
    pub(crate) fn connect(&self, deadline: Instant, read_limit: usize) -> Result<Conn, ScanError> {
        let fail =
            |e: io::Error| ScanError::Unavailable(format!("connect to {self}: {}", describe(&e)));
        let stream = match self {
            Endpoint::Unix(path) => {
                let sock = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(fail)?;
                let addr = SockAddr::unix(path).map_err(fail)?;
                sock.connect_timeout(&addr, left(deadline).map_err(fail)?)
                    .map_err(fail)?;
                Stream::Unix(UnixStream::from(std::os::fd::OwnedFd::from(sock)))
            }
            Endpoint::Tcp(hostport) => {
                let addrs: Vec<_> = hostport.to_socket_addrs().map_err(fail)?.collect();
                let mut last = io::Error::new(ErrorKind::NotFound, "no address");
                let mut found = None;
                for a in addrs {
                    let attempt = left(deadline).and_then(|t| TcpStream::connect_timeout(&a, t));
                    match attempt {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let s = found.ok_or_else(|| fail(last))?;
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
        };
        Ok(Conn {
            stream,
            deadline,
            read_left: read_limit,
            write_broken: None,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(a) => f.write_str(a),
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A connected stream with a deadline; see the module comment.
pub(crate) struct Conn {
    stream: Stream,
    deadline: Instant,
    read_left: usize,
    /// The first EPIPE/ECONNRESET a write met; later writes are dropped.
    write_broken: Option<io::Error>,
}

impl Conn {
    /// Whether the daemon closed its side while we were still sending.
    pub(crate) fn write_broken(&self) -> Option<&io::Error> {
        self.write_broken.as_ref()
    }

    /// Reads until the daemon closes the connection (or the limit or deadline is hit).
    pub(crate) fn read_reply(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_to_end(&mut out)?;
        Ok(out)
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read_left == 0 {
            return Err(io::Error::new(ErrorKind::InvalidData, "reply too long"));
        }
        let t = left(self.deadline)?;
        let n = buf.len().min(self.read_left);
        let r = match &mut self.stream {
            Stream::Tcp(s) => s
                .set_read_timeout(Some(t))
                .and_then(|()| s.read(&mut buf[..n])),
            Stream::Unix(s) => s
                .set_read_timeout(Some(t))
                .and_then(|()| s.read(&mut buf[..n])),
        };
        match r {
            Ok(n) => {
                self.read_left -= n;
                Ok(n)
            }
            // The daemon closed while we were sending, and took the reply with it (or sent none).
            Err(e) if self.write_broken.is_some() && is_broken(&e) => Ok(0),
            Err(e) => Err(timeout_kind(e)),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.write_broken.is_some() {
            return Ok(buf.len());
        }
        let t = left(self.deadline)?;
        let r = match &mut self.stream {
            Stream::Tcp(s) => s.set_write_timeout(Some(t)).and_then(|()| s.write(buf)),
            Stream::Unix(s) => s.set_write_timeout(Some(t)).and_then(|()| s.write(buf)),
        };
        match r {
            Err(e) if is_broken(&e) => {
                self.write_broken = Some(e);
                Ok(buf.len())
            }
            Err(e) => Err(timeout_kind(e)),
            ok => ok,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn is_broken(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
}

/// A socket timeout shows as EAGAIN (WouldBlock) on Linux: call it what it is.
fn timeout_kind(e: io::Error) -> io::Error {
    if e.kind() == ErrorKind::WouldBlock {
        io::Error::new(ErrorKind::TimedOut, "timed out")
    } else {
        e
    }
}

/// What is left of the deadline; an error once it has passed (a zero socket timeout would mean
/// "wait forever").
fn left(deadline: Instant) -> io::Result<Duration> {
    let t = deadline.saturating_duration_since(Instant::now());
    if t < Duration::from_millis(1) {
        Err(io::Error::new(ErrorKind::TimedOut, "timed out"))
    } else {
        Ok(t)
    }
}

/// An I/O error for a message: "timed out", "connection refused", ... without the "(os error N)".
pub(crate) fn describe(e: &io::Error) -> String {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => "timed out".into(),
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::BrokenPipe => "connection closed while sending".into(),
        ErrorKind::NotFound => "no such socket or host".into(),
        _ => e.to_string(),
    }
}

/// A daemon's text for an error message: no control characters, at most 200 characters.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        assert_eq!(
            Endpoint::parse("127.0.0.1:783"),
            Ok(Endpoint::Tcp("127.0.0.1:783".into()))
        );
        assert_eq!(
            Endpoint::parse("[::1]:3310"),
            Ok(Endpoint::Tcp("[::1]:3310".into()))
        );
        assert_eq!(
            Endpoint::parse("/run/spamd.sock"),
            Ok(Endpoint::Unix("/run/spamd.sock".into()))
        );
        for bad in [
            "",
            "localhost",
            ":783",
            "host:0",
            "host:99999",
            "run/x.sock",
            "a b:1",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn refused_is_unavailable_and_quick() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ep = Endpoint::parse(&format!("127.0.0.1:{port}")).unwrap();
        let t0 = Instant::now();
        let r = ep.connect(Instant::now() + Duration::from_secs(5), 10);
        assert!(matches!(r, Err(ScanError::Unavailable(ref m)) if m.contains("refused")));
        assert!(t0.elapsed() < Duration::from_secs(1));
        let missing = Endpoint::Unix("/nonexistent/scan.sock".into());
        let r = missing.connect(Instant::now() + Duration::from_secs(5), 10);
        assert!(matches!(r, Err(ScanError::Unavailable(_))));
    }
}
