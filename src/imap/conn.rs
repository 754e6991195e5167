//! One logged-in IMAP connection: TCP, TLS (implicit, or STARTTLS before anything else is said),
//! the greeting, LOGIN and the capabilities. Each step has the configured timeout; rustls runs on
//! ring with the system CA store plus an optional extra CA file.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{Response, Status};
use async_imap::types::Capability;
use async_imap::{Client, Session};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::config::{ImapConfig, Secret, Tls};
use super::ImapError;

/// The byte stream under the IMAP session.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A logged-in session and what we learned about the server and the selected folder.
#[derive(Debug)]
pub struct Conn {
    pub session: Session<Stream>,
    /// Upper-case capability names (`IDLE`, `MOVE`, `UIDPLUS`, ...).
    pub caps: Vec<String>,
    /// The selected folder and its UIDVALIDITY.
    pub selected: Option<(String, u32)>,
    /// The processed folder is known to exist (checked once per connection).
    pub processed_ready: bool,
}

impl Conn {
    pub fn has(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }
}

/// What `connect` needs; built once in `ImapSource::new`, so a bad CA file shows at start-up.
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub user: String,
    pub password: Secret,
    pub timeout: Duration,
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
}

/// rustls with ring, trusting the system store and `ca_file`.
pub fn tls_config(
    cfg: &ImapConfig,
    ca_file: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, String> {
    crate::transport::tls_client_config(&format!("imap.{}", cfg.name), ca_file)
}

/// Runs `f` with the endpoint's timeout; a timeout is `Transient`.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    f: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r,
        Err(_) => Err(ImapError::Transient(format!(
            "{what}: no answer within {} s",
            limit.as_secs_f64()
        ))),
    }
}

fn io_err(what: &str) -> impl Fn(io::Error) -> ImapError + '_ {
    move |e| ImapError::Transient(format!("{what}: {e}"))
}

/// Connects, logs in and asks for the capabilities.
pub async fn connect(ep: &Endpoint) -> Result<Conn, ImapError> {
    let t = ep.timeout;
    let addr = format!(
        "{}:{}",
        ep.host.trim_start_matches('[').trim_end_matches(']'),
        ep.port
    );
    let tcp = within(t, "connect", async {
        TcpStream::connect(&addr).await.map_err(io_err("connect"))
    })
    .await?;
    let _ = tcp.set_nodelay(true);
    let client = match ep.tls {
        Tls::None => greet(Client::new(Stream::Plain(tcp)), t).await?,
        Tls::Implicit => {
            greet(
                Client::new(Stream::Tls(Box::new(handshake(ep, tcp).await?))),
                t,
            )
            .await?
        }
        Tls::Starttls => {
            let mut plain = greet(Client::new(tcp), t).await?;
            within(t, "STARTTLS", async {
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| match ImapError::from_imap(e) {
                        ImapError::Protocol(m) => {
                            ImapError::Protocol(format!("the server refused STARTTLS: {m}"))
                        }
                        other => other,
                    })
            })
            .await?;
            // Nothing may follow the tagged OK before the handshake, so no bytes are buffered.
            Client::new(Stream::Tls(Box::new(
                handshake(ep, plain.into_inner()).await?,
            )))
        }
    };
    let session = within(t, "LOGIN", async {
        client
            .login(&ep.user, ep.password.expose())
            .await
            .map_err(|(e, _)| match ImapError::from_imap(e) {
                ImapError::Protocol(m) => ImapError::Auth(format!(
                    "login as {:?} refused: {m}: check user and password",
                    ep.user
                )),
                other => other,
            })
    })
    .await?;
    let mut session = session;
    let caps = within(t, "CAPABILITY", async {
        session.capabilities().await.map_err(ImapError::from_imap)
    })
    .await?;
    let caps = caps.iter().map(capability_name).collect();
    Ok(Conn {
        session,
        caps,
        selected: None,
        processed_ready: false,
    })
}

async fn handshake(
    ep: &Endpoint,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let config = ep
        .tls_config
        .clone()
        .ok_or_else(|| ImapError::Protocol("tls: no client configuration".into()))?;
    let host = ep
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let name = ServerName::try_from(host)
        .map_err(|e| ImapError::Protocol(format!("tls: server name {:?}: {e}", ep.host)))?;
    within(ep.timeout, "TLS handshake", async {
        TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(io_err("TLS handshake"))
    })
    .await
}

/// Reads the server's greeting: `* OK` (or `* PREAUTH`) proceeds, `* BYE` is transient.
async fn greet<T>(mut client: Client<T>, t: Duration) -> Result<Client<T>, ImapError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let greeting = within(t, "greeting", async {
        client.read_response().await.map_err(io_err("greeting"))
    })
    .await?;
    let Some(greeting) = greeting else {
        return Err(ImapError::Transient("greeting: connection closed".into()));
    };
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(client),
        Response::Data {
            status: Status::Bye,
            outcome,
            ..
        } => Err(ImapError::Transient(format!(
            "greeting: BYE {}",
            outcome.information.as_deref().unwrap_or("")
        ))),
        other => Err(ImapError::Protocol(format!(
            "greeting: unexpected {other:?}"
        ))),
    }
}

fn capability_name(c: &Capability) -> String {
    match c {
        Capability::Imap4rev1 => "IMAP4REV1".into(),
        Capability::Auth(m) => format!("AUTH={m}"),
        Capability::Atom(a) => a.to_ascii_uppercase(),
    }
}
