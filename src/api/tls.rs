//! HTTPS for the API (`[api] tls-cert-file`, `tls-key-file`): rustls on ring with the site's
//! certificate. Connections are accepted as before; each TLS handshake runs in a task of its
//! own with a deadline, so a client that stalls in it holds up nobody else, and only finished
//! handshakes reach the router.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client may take over its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The server's TLS configuration from the certificate chain and key files.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls-cert-file {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("tls-cert-file {}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("tls-key-file {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls: the key does not fit the certificate: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepted connections after their handshake, for `axum::serve`.
pub struct TlsListener {
    done: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `socket` in a task of its own (on the current runtime).
    pub fn new(socket: TcpListener, config: rustls::ServerConfig) -> std::io::Result<TlsListener> {
        let local = socket.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, done) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = match socket.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!("api: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::info!(%peer, "api: tls handshake failed: {e}"),
                        Err(_) => tracing::info!(%peer, "api: tls handshake took too long"),
                    }
                });
            }
        });
        Ok(TlsListener { done, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.done.recv().await {
            Some(c) => c,
            // The accepting task ended only with the runtime.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
