//! The LMTP listener's I/O: a TCP or UNIX socket, one task per connection on a tokio runtime of
//! its own thread, timeouts on every read, bounded command lines, a connection limit. What to
//! answer is decided by `session`; what is filed, by the committer.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{oneshot, watch};

use crate::config::{Lmtp as Settings, LmtpListen};
use crate::intake::TEMPORARY;

use super::commit::{Job, Order};
use super::reply::Reply;
use super::session::{per_recipient, Action, Received, Session};

/// Command lines longer than this are refused (RFC 5321 asks for 512; extensions add more).
pub const MAX_COMMAND_LINE: usize = 4096;
/// Refused commands in one connection before it is closed.
const MAX_ERRORS: usize = 10;

pub enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Listener {
    /// Binds (a UNIX socket replaces a stale socket file, never another kind of file, and gets
    /// `mode`). Must run inside the runtime.
    pub async fn bind(at: &LmtpListen, mode: u32) -> io::Result<Listener> {
        match at {
            LmtpListen::Tcp(addr) => Ok(Listener::Tcp(tokio::net::TcpListener::bind(addr).await?)),
            LmtpListen::Unix(path) => {
                use std::os::unix::fs::{FileTypeExt, PermissionsExt};
                if let Ok(m) = std::fs::symlink_metadata(path) {
                    if !m.file_type().is_socket() {
                        return Err(io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            format!("{} exists and is not a socket", path.display()),
                        ));
                    }
                    std::fs::remove_file(path)?;
                }
                let l = tokio::net::UnixListener::bind(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
                Ok(Listener::Unix(l, path.clone()))
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Accepts connections until `stop` turns true; then waits a little for the connections in
/// hand (a message being committed gets its replies).
pub async fn serve(
    listener: Listener,
    settings: Settings,
    limit: u64,
    orders: mpsc::Sender<Order>,
    mut stop: watch::Receiver<bool>,
) {
    let host = crate::store::names::hostname();
    let open = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted: io::Result<Conn> = tokio::select! {
            _ = stop.changed() => break,
            r = accept(&listener) => r,
        };
        while tasks.try_join_next().is_some() {}
        let conn = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: pause rather than spin.
                tracing::warn!("lmtp: accept: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let over = open.fetch_add(1, Ordering::SeqCst) >= settings.max_connections;
        let guard = Count(open.clone());
        let ctx = Shared {
            host: host.clone(),
            limit,
            timeout: Duration::from_secs(settings.timeout_seconds),
            orders: orders.clone(),
            stop: stop.clone(),
        };
        tasks.spawn(async move {
            let _guard = guard;
            let result = match conn {
                Conn::Tcp(s) => connection(s, ctx, over).await,
                Conn::Unix(s) => connection(s, ctx, over).await,
            };
            if let Err(e) = result {
                tracing::debug!("lmtp: connection ended: {e}");
            }
        });
    }
    drop(listener);
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => { tasks.abort_all(); break }
            next = tasks.join_next() => if next.is_none() { break },
        }
    }
}

enum Conn {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(l: &Listener) -> io::Result<Conn> {
    match l {
        Listener::Tcp(l) => l.accept().await.map(|(s, _)| Conn::Tcp(s)),
        Listener::Unix(l, _) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
    }
}

/// Counts a connection while it lives.
struct Count(Arc<AtomicUsize>);

impl Drop for Count {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a connection needs from the listener.
struct Shared {
    host: String,
    limit: u64,
    timeout: Duration,
    orders: mpsc::Sender<Order>,
    stop: watch::Receiver<bool>,
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    mut ctx: Shared,
    over_limit: bool,
) -> io::Result<()> {
    let (r, mut w) = tokio::io::split(stream);
    let mut r = BufReader::new(r);
    if over_limit {
        let bye = Reply::new(421, "4.3.2", "too many connections, try again later");
        return w.write_all(bye.line().as_bytes()).await;
    }
    let mut session = Session::new(&ctx.host, ctx.limit);
    w.write_all(session.greeting().as_bytes()).await?;
    let mut errors = 0;
    loop {
        let line = tokio::select! {
            _ = ctx.stop.changed() => {
                let bye = Reply::new(421, "4.3.2", "shutting down, try again later");
                return w.write_all(bye.line().as_bytes()).await;
            }
            l = tokio::time::timeout(ctx.timeout, read_line(&mut r, MAX_COMMAND_LINE)) => l,
        };
        let action = match line {
            Err(_) => {
                let bye = Reply::new(421, "4.4.2", "timeout, closing");
                return w.write_all(bye.line().as_bytes()).await;
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Line::Eof)) => return Ok(()),
            Ok(Ok(Line::TooLong)) => {
                Action::Reply(Reply::new(500, "5.5.2", "line too long").line())
            }
            Ok(Ok(Line::Text(l))) => session.command(&l),
        };
        match action {
            Action::Reply(text) => {
                if text.starts_with('5') {
                    errors += 1;
                }
                w.write_all(text.as_bytes()).await?;
                if errors >= MAX_ERRORS {
                    let bye = Reply::new(421, "4.7.0", "too many errors, closing");
                    return w.write_all(bye.line().as_bytes()).await;
                }
            }
            Action::Close(reply) => return w.write_all(reply.line().as_bytes()).await,
            Action::Data(go) => {
                w.write_all(go.line().as_bytes()).await?;
                let taken = Instant::now();
                let mut data = session.decoder();
                while !data.done() {
                    let chunk = match tokio::time::timeout(ctx.timeout, r.fill_buf()).await {
                        Err(_) => {
                            // Nothing of this message was taken: the client still has it.
                            let bye = Reply::new(421, "4.4.2", "timeout in the message, closing");
                            return w.write_all(bye.line().as_bytes()).await;
                        }
                        Ok(c) => c?,
                    };
                    if chunk.is_empty() {
                        return Ok(());
                    }
                    let used = data.feed(chunk);
                    r.consume(used);
                }
                let replies = match session.received(data) {
                    Received::Refused(replies) => replies,
                    Received::Commit(envelope) => {
                        let recipients = envelope.recipients.clone();
                        let (tx, rx) = oneshot::channel();
                        let job = Job {
                            envelope,
                            taken,
                            reply: tx,
                        };
                        let outcome = match ctx.orders.send(Order::Mail(job)) {
                            Ok(()) => rx.await.unwrap_or(Err(())),
                            Err(_) => Err(()),
                        };
                        per_recipient(&recipients, |rcpt| match &outcome {
                            Ok(o) => Reply::new(250, "2.0.0", format!("<{rcpt}> {}", o.summary())),
                            Err(()) => Reply::new(451, "4.3.0", format!("<{rcpt}> {TEMPORARY}")),
                        })
                    }
                };
                w.write_all(replies.as_bytes()).await?;
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(Vec<u8>),
    /// Longer than allowed; read to its end and dropped.
    TooLong,
    Eof,
}

/// One line without its LF (and CR), at most `max` bytes kept.
pub async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(Line::Eof);
        }
        let (piece, used, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        if !too_long {
            if line.len() + piece.len() > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(piece);
            }
        }
        r.consume(used);
        if end {
            break;
        }
    }
    if too_long {
        return Ok(Line::TooLong);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Line::Text(line))
}

/// For messages about a socket path.
pub fn describe(at: &LmtpListen) -> String {
    match at {
        LmtpListen::Tcp(a) => a.to_string(),
        LmtpListen::Unix(p) => format!("unix:{}", p.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_and_split_at_lf() {
        let input: &[u8] = b"LHLO x\r\nNOOP\nAAAAAAAAAAAAAAAAAAAAAAAA\r\nQUIT\r\nrest";
        let mut r = BufReader::with_capacity(3, input);
        assert_eq!(
            read_line(&mut r, 10).await.unwrap(),
            Line::Text(b"LHLO x".to_vec())
        );
        assert_eq!(
            read_line(&mut r, 10).await.unwrap(),
            Line::Text(b"NOOP".to_vec())
        );
        assert_eq!(read_line(&mut r, 10).await.unwrap(), Line::TooLong);
        assert_eq!(
            read_line(&mut r, 10).await.unwrap(),
            Line::Text(b"QUIT".to_vec())
        );
        assert_eq!(read_line(&mut r, 10).await.unwrap(), Line::Eof);
    }
}
