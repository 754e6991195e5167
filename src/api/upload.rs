//! The streamed form of a call's end, as a PBX sends a file with curl: `multipart/form-data`
//! with a part `call` (the JSON of the JSON form, without `recording`) and, optionally, a part
//! `recording` whose Content-Type is audio/mpeg, audio/wav or audio/ogg. The recording's bytes
//! go from the socket to a spooled file (`store::spool`) as they arrive, counted: past
//! `[api] max-recording-bytes` the answer is 413 at once, and the partial file is removed (as
//! on any refusal or a connection that breaks off: the file goes with its handle).

use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::Multipart;
use axum::http::StatusCode;

use super::end::{self, Ended, Recorded};
use super::error::ApiError;
use super::Shared;
use crate::store::spool::SpoolFile;

/// Bytes gathered before they are written to the spooled file, on a blocking thread.
const WRITE: usize = 256 * 1024;

/// Whether a request's Content-Type is the streamed form.
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("multipart/form-data")
    })
}

/// The call and its recording, read from the form.
pub async fn receive(
    shared: &std::sync::Arc<Shared>,
    mut form: Multipart,
) -> Result<(Ended, Option<Recorded>), ApiError> {
    let mut call: Option<Ended> = None;
    let mut recording: Option<Recorded> = None;
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("call") if call.is_none() => {
                let json = small(field, shared.cfg.api.max_body_bytes).await?;
                let e: Ended = serde_json::from_slice(&json)
                    .map_err(|e| ApiError::bad(format!("call: {e}")))?;
                if e.recording.is_some() {
                    return Err(ApiError::bad(
                        "call: the recording is a part of its own in this form",
                    ));
                }
                call = Some(e);
            }
            Some("recording") if recording.is_none() => {
                recording = Some(spool(shared, field).await?);
            }
            Some(name @ ("call" | "recording")) => {
                return Err(ApiError::bad(format!("part {name} given twice")))
            }
            other => {
                return Err(ApiError::bad(format!(
                    "unknown part {:?}: the parts are call and recording",
                    other.unwrap_or("")
                )))
            }
        }
    }
    let call = call.ok_or_else(|| ApiError::bad("the part call (the call's JSON) is missing"))?;
    Ok((call, recording))
}

/// A part read into memory, at most `limit` bytes.
async fn small(mut field: Field<'_>, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if out.len() + chunk.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("call: larger than {limit} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The recording's part, written to a spooled file as it arrives.
async fn spool(shared: &Shared, mut field: Field<'_>) -> Result<Recorded, ApiError> {
    let Some(content_type) = field.content_type().and_then(end::audio_type) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "recording: Content-Type {:?}; it must be audio/mpeg, audio/wav or audio/ogg",
                field.content_type().unwrap_or("")
            ),
        ));
    };
    let limit = shared.cfg.api.max_recording_bytes as u64;
    let mut file = shared.spool()?.create().map_err(ApiError::internal)?;
    let mut pending: Vec<Bytes> = Vec::new();
    let mut pending_len = 0;
    let mut received: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        received += chunk.len() as u64;
        if received > limit {
            // `file` is dropped, and with it the bytes written so far.
            return Err(end::too_large(shared));
        }
        pending_len += chunk.len();
        pending.push(chunk);
        if pending_len >= WRITE {
            file = write(file, std::mem::take(&mut pending)).await?;
            pending_len = 0;
        }
    }
    let mut file = write(file, pending).await?;
    file.close();
    Ok(Recorded { content_type, file })
}

/// Writes pieces to the spooled file on a blocking thread (a disk busy with mail must not hold
/// up the runtime's few threads).
async fn write(file: SpoolFile, pieces: Vec<Bytes>) -> Result<SpoolFile, ApiError> {
    if pieces.is_empty() {
        return Ok(file);
    }
    let mut file = file;
    tokio::task::spawn_blocking(move || {
        for p in &pieces {
            file.write_all(p)?;
        }
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// A form that cannot be read: 413 past the body limit, else 400.
fn unreadable(e: MultipartError) -> ApiError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        }
        _ => ApiError::bad(format!("the form cannot be read: {}", e.body_text())),
    }
}
