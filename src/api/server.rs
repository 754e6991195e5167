//! The router: every route behind the token check, bodies bounded, JSON errors for every
//! refusal (401 without a known token, 400 for bad JSON, 404 for unknown paths, 413 for a body
//! over `max-body-bytes`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use axum::{Json, Router};

use super::error::ApiError;
use super::{calls, end, tickets, upload, Shared};

type Answer = Result<Response, ApiError>;

/// Where requests come from: a TCP socket, or TLS connections after their handshake.
pub enum Socket {
    Plain(tokio::net::TcpListener),
    Tls(super::tls::TlsListener),
}

/// The client's address, for the log.
#[derive(Debug, Clone, Copy)]
pub struct Peer(SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for Peer {
    fn connect_info(s: IncomingStream<'_, tokio::net::TcpListener>) -> Peer {
        Peer(*s.remote_addr())
    }
}

impl Connected<IncomingStream<'_, super::tls::TlsListener>> for Peer {
    fn connect_info(s: IncomingStream<'_, super::tls::TlsListener>) -> Peer {
        Peer(*s.remote_addr())
    }
}

pub async fn serve(
    socket: Socket,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let app = router(shared).into_make_service_with_connect_info::<Peer>();
    let until = async move {
        while !*stopped.borrow() {
            if stopped.changed().await.is_err() {
                break;
            }
        }
    };
    let served = match socket {
        Socket::Plain(s) => axum::serve(s, app).with_graceful_shutdown(until).await,
        Socket::Tls(s) => axum::serve(s, app).with_graceful_shutdown(until).await,
    };
    if let Err(e) = served {
        tracing::error!("api: {e}");
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    let limit = shared.cfg.api.max_body_bytes;
    // A call's end may carry its recording, base64 (4 characters for 3 bytes), or streamed
    // (within that too, and counted on its own against max-recording-bytes).
    let with_recording = limit + shared.cfg.api.max_recording_bytes / 3 * 4 + 4;
    let ended = Router::new()
        .route("/v1/calls/{id}/end", post(ended))
        .layer(DefaultBodyLimit::max(with_recording));
    Router::new()
        .route("/v1/calls", post(incoming))
        .route("/v1/tickets/{digits}", get(keypad))
        .layer(DefaultBodyLimit::max(limit))
        .merge(ended)
        .fallback(|| async { ApiError::not_found("no such resource") })
        .layer(middleware::from_fn_with_state(shared.clone(), deadline))
        .layer(middleware::from_fn_with_state(shared.clone(), authorise))
        .with_state(shared)
}

/// Lets through requests with a client's token; the token itself is never logged.
async fn authorise(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    req: Request,
    next: Next,
) -> Response {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match shared.tokens.client(auth) {
        Some(client) => {
            tracing::debug!(client, method = %req.method(), path = %req.uri().path(), "api request");
            next.run(req).await
        }
        None => {
            tracing::warn!(%peer, "api: refused a request without a known token");
            let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "a known bearer token is required")
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            r
        }
    }
}

/// A request (its body read included) that takes longer than `timeout-seconds` is answered 408.
async fn deadline(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let limit = std::time::Duration::from_secs(shared.cfg.api.timeout_seconds);
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "request took too long").into_response()
        }
    }
}

/// The body as JSON of type `T`: over the limit 413, not JSON or not the shape 400.
fn json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        } else {
            ApiError::bad(r.body_text())
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("body: {e}")))
}

/// Runs an index read on a blocking thread.
async fn blocking<T: Send + 'static>(
    shared: Arc<Shared>,
    f: impl FnOnce(&Shared, &crate::index::Index) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || shared.with_index(|i| f(&shared, i)))
        .await
        .map_err(ApiError::internal)?
        .and_then(|r| r)
}

async fn incoming(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let call: calls::Incoming = json(body)?;
    let p = blocking(shared, move |s, i| calls::prefill(s, i, call)).await?;
    Ok(Json(p).into_response())
}

async fn keypad(State(shared): State<Arc<Shared>>, Path(digits): Path<String>) -> Answer {
    let t = blocking(shared, move |s, i| tickets::lookup(s, i, &digits)).await?;
    Ok(Json(t).into_response())
}

/// A call's end: JSON (the recording, if any, base64 in it) or the streamed form (`upload`).
async fn ended(State(shared): State<Arc<Shared>>, Path(id): Path<String>, req: Request) -> Answer {
    let content_type = req.headers().get(header::CONTENT_TYPE);
    let (e, recording) = if upload::is_form(content_type.and_then(|v| v.to_str().ok())) {
        let form = Multipart::from_request(req, &shared)
            .await
            .map_err(|r| ApiError::bad(r.body_text()))?;
        upload::receive(&shared, form).await?
    } else {
        (json(Bytes::from_request(req, &shared).await)?, None)
    };
    let prepared = blocking(shared.clone(), move |s, i| {
        end::prepare(s, i, &id, e, recording)
    })
    .await?;
    let filed = tokio::task::spawn_blocking(move || end::file(&shared, prepared))
        .await
        .map_err(ApiError::internal)??;
    Ok((StatusCode::CREATED, Json(filed)).into_response())
}
