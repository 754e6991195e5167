//! One request to a PBX: HTTP/1.1 (hyper's client connection, no pool: a call is placed now and
//! then) over TCP, or TLS with the system's CAs for `https://`; connecting, sending and the
//! answer's status within the PBX's `timeout-seconds`, on a runtime of its own.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::config::PbxConfig;

/// The status the PBX answered `body` with, or why there is none.
pub fn send(pbx: &PbxConfig, body: &str, token: Option<&str>) -> Result<u16, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    let deadline = Duration::from_secs(pbx.timeout_seconds);
    rt.block_on(async {
        match tokio::time::timeout(deadline, request(pbx, body, token)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", pbx.timeout_seconds)),
        }
    })
}

async fn request(pbx: &PbxConfig, body: &str, token: Option<&str>) -> Result<u16, String> {
    let uri: hyper::Uri = pbx.url.parse().map_err(|e| format!("url: {e}"))?;
    let tls = uri.scheme_str() == Some("https");
    let host = uri.host().ok_or("url without a host")?.to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tcp = TcpStream::connect((bare.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
    let mut req = hyper::Request::builder()
        .method(pbx.method.as_str())
        .uri(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "postdesk");
    if pbx.method != "GET" {
        req = req.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    if let Some(t) = token {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = req
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| format!("request: {e}"))?;
    if tls {
        let config = crate::transport::tls_client_config(&format!("pbx {}", pbx.name), None)?;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let name =
            rustls::pki_types::ServerName::try_from(bare).map_err(|e| format!("tls name: {e}"))?;
        let stream = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        exchange(stream, req).await
    } else {
        exchange(tcp, req).await
    }
}

async fn exchange<S>(stream: S, req: hyper::Request<Full<Bytes>>) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("http: {e}"))?;
    let driver = tokio::spawn(conn);
    let answer = sender.send_request(req).await;
    driver.abort();
    answer
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("http: {e}"))
}
