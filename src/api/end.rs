//! `POST /v1/calls/{id}/end`: a call ended; postdesk files a phone article (`phone::article`)
//! into the ticket the caller typed or the agent chose, else into a new ticket in the queue of
//! the dialled hotline's service (`[api] service-queues`, else `general.default-queue`).
//!
//! The article goes through intake (`Engine::process`), and the answer 201 is sent only after
//! its batch committed: a process killed before leaves nothing or a committed article that
//! recovery places; the PBX, without its
//! answer, sends the call's end again, which gives the same bytes (the Message-ID and Date come
//! from the call) and is filed as a duplicate, answered with the same ticket.
//!
//! A recording (streamed by `upload`, or base64 in the JSON form) is first a spooled file
//! (`store::spool`), and the article carries it spliced in (`store::spliced`): never in memory
//! as a whole. Where the recording is if the process dies:
//! 1. while it arrives, and until the article's staged file is written: only in its spooled
//!    file (and at the PBX, which has no answer and sends it again); the spool's area is a dead
//!    process's then, and the next recovery removes the file;
//! 2. after the article's staged file is written, before the commit: there too, uncommitted,
//!    and recovery removes both;
//! 3. after the commit: in the committed article's staged file, synced before the commit, which
//!    the placement thread renames into the ticket's folder and recovery places if the process
//!    dies first; the spooled file is removed before the answer (or, if the process dies in
//!    between, by the next recovery); the PBX's retry is a duplicate.
//!
//! The answer waits until the article is in its ticket's folder; that rename is made durable by
//! the next call's batch (its syncfs covers it), not by a flush of its own: a second syncfs and
//! commit for every call, while mail is filed beside it, cost intake more than the call itself.

use base64::Engine as _;
use chrono::DateTime;
use serde::{Deserialize, Serialize};

use axum::http::StatusCode;

use super::error::ApiError;
use super::Shared;
use crate::index::Index;
use crate::intake::{Engine, Message, Outcome};
use crate::phone::article::{self, Call, Direction};
use crate::store::spliced::Spliced;
use crate::store::spool::SpoolFile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ended {
    #[serde(default)]
    pub direction: Direction,
    /// The customer's number (the caller of an incoming call, the one called by an outgoing).
    #[serde(default)]
    pub caller: String,
    /// The hotline dialled (incoming calls).
    #[serde(default)]
    pub dialled: String,
    /// RFC 3339, e.g. `2026-12-06T10:00:00+01:00`.
    pub start: String,
    #[serde(default)]
    pub duration_seconds: u64,
    /// The ticket number the caller typed or the agent chose.
    #[serde(default)]
    pub ticket: Option<String>,
    #[serde(default)]
    pub extension: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub recording: Option<Recording>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// `audio/mpeg`, `audio/wav` or `audio/ogg`.
    pub content_type: String,
    /// The bytes, base64.
    pub data: String,
}

#[derive(Debug, Serialize)]
pub struct Filed {
    pub ticket: Option<String>,
    pub queue: Option<String>,
    /// This call's article was filed before (a repeated report).
    pub duplicate: bool,
    /// Filed into the quarantine instead (a filter or scanner said so), and why.
    pub quarantined: Option<String>,
}

/// A call's recording as it arrived: its spooled file (removed when this is dropped) and its
/// content type.
pub struct Recorded {
    pub content_type: &'static str,
    pub file: SpoolFile,
}

/// The recording types a phone article takes (parameters and letter case aside).
pub fn audio_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    ["audio/mpeg", "audio/wav", "audio/ogg"]
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(essence))
}

/// The answer to a recording over `[api] max-recording-bytes`.
pub fn too_large(shared: &Shared) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "recording larger than {} bytes",
            shared.cfg.api.max_recording_bytes
        ),
    )
}

/// Everything the article needs, read from the request and the index.
pub struct Prepared {
    raw: Vec<u8>,
    spliced: Option<Spliced>,
    /// Kept until the article is filed: its file is the spliced part.
    recording: Option<Recorded>,
}

/// Builds the article (reads only the index, and writes a JSON form's recording to its
/// spooled file). `streamed`: the recording the multipart form brought.
pub fn prepare(
    shared: &Shared,
    index: &Index,
    id: &str,
    e: Ended,
    streamed: Option<Recorded>,
) -> Result<Prepared, ApiError> {
    let cfg = &shared.cfg;
    if id.trim().is_empty() || id.len() > 200 {
        return Err(ApiError::bad("call id: 1 to 200 characters"));
    }
    let start = DateTime::parse_from_rfc3339(e.start.trim())
        .map_err(|err| ApiError::bad(format!("start: not an RFC 3339 time: {err}")))?;
    let recording = match (&e.recording, streamed) {
        (None, streamed) => streamed,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "recording: either in the call's JSON or as a part of its own, not both",
            ))
        }
        (Some(r), None) => Some(decoded(shared, r)?),
    };
    let numbering = cfg.directory.numbering();
    let number = numbering.normalise(&e.caller).ok();
    let dialled = numbering.normalise(&e.dialled).ok();
    let person = match &number {
        Some(n) => {
            let mut l = index.directory_lines(n)?;
            (l.persons.len() == 1).then(|| l.persons.remove(0))
        }
        None => None,
    };
    let service = match &dialled {
        Some(d) => index.directory_lines(d)?.services.into_iter().next(),
        None => None,
    };
    let (queue, ticket) = match &e.ticket {
        Some(digits) => {
            let found = super::tickets::lookup(shared, index, digits)?;
            (found.queue, Some(found.number))
        }
        None => {
            let by_service = service
                .as_ref()
                .and_then(|s| cfg.api.service_queues.get(&s.name));
            (
                by_service
                    .cloned()
                    .unwrap_or_else(|| cfg.general.default_queue.clone()),
                None,
            )
        }
    };
    let q = cfg
        .queue(&queue)
        .or_else(|| cfg.queues.first())
        .ok_or_else(|| ApiError::internal("no queue configured"))?;
    let Some(address) = q.addresses.first() else {
        return Err(ApiError::internal(format!(
            "queue {} has no address for phone articles",
            q.name
        )));
    };
    let call = Call {
        id,
        direction: e.direction,
        number: number.as_deref(),
        person: person.as_ref(),
        dialled: dialled.as_deref(),
        service: service.as_ref().map(|s| s.name.as_str()),
        start,
        duration_seconds: e.duration_seconds,
        extension: &e.extension,
        note: &e.note,
        recording: recording.as_ref().map(|r| r.content_type),
    };
    let written = article::build(
        &call,
        address,
        &q.language,
        &cfg.scheme(),
        ticket.as_deref(),
        &cfg.general.loop_value,
    )
    .map_err(|err| ApiError::bad(format!("the article cannot be written: {err}")))?;
    let spliced = match (&recording, written.recording_tail) {
        (Some(r), Some(tail)) => Some(Spliced {
            path: r.file.path().to_path_buf(),
            len: r.file.len(),
            tail,
        }),
        _ => None,
    };
    Ok(Prepared {
        raw: written.raw,
        spliced,
        recording,
    })
}

/// The JSON form's recording, decoded into a spooled file.
fn decoded(shared: &Shared, r: &Recording) -> Result<Recorded, ApiError> {
    let Some(content_type) = audio_type(&r.content_type) else {
        return Err(ApiError::bad(
            "recording: content_type must be audio/mpeg, audio/wav or audio/ogg",
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r.data.as_bytes())
        .map_err(|err| ApiError::bad(format!("recording: not base64: {err}")))?;
    if bytes.len() > shared.cfg.api.max_recording_bytes {
        return Err(too_large(shared));
    }
    let mut file = shared.spool()?.create().map_err(ApiError::internal)?;
    file.write_all(&bytes).map_err(ApiError::internal)?;
    file.close();
    Ok(Recorded { content_type, file })
}

/// Files the article and makes it durable; only then is the answer given (and the recording's
/// spooled file removed).
pub fn file(shared: &Shared, p: Prepared) -> Result<Filed, ApiError> {
    let Prepared {
        raw,
        spliced,
        recording,
    } = p;
    let mut slot = shared.engine.lock().unwrap_or_else(|e| e.into_inner());
    if slot.is_none() {
        let mut e =
            Engine::open(&shared.cfg, &shared.cfg.data_dir()).map_err(ApiError::internal)?;
        if let Some(w) = &shared.waker {
            e.set_waker(w.clone());
        }
        *slot = Some(e);
    }
    let Some(engine) = slot.as_mut() else {
        unreachable!("opened above")
    };
    let msg = Message {
        raw,
        source: "api".into(),
        name: format!(
            "{}.{}",
            chrono::Utc::now().timestamp_micros(),
            std::process::id()
        ),
        remember: false,
        taken: std::time::Instant::now(),
        quarantine: None,
        phone: true,
        spliced,
    };
    let done = engine
        .process(std::slice::from_ref(&msg))
        .and_then(|o| engine.settle().map(|()| o));
    drop(recording);
    let outcome = match done {
        Ok(mut o) if o.len() == 1 => o.remove(0),
        Ok(_) => return Err(ApiError::internal("no outcome for the phone article")),
        Err(err) => {
            // A failed engine may hold a half-done batch: the next request opens a new one.
            *slot = None;
            return Err(ApiError::internal(format!(
                "phone article not filed: {err}"
            )));
        }
    };
    Ok(match outcome {
        Outcome::Created { ticket, queue }
        | Outcome::FollowUp { ticket, queue, .. }
        | Outcome::Answered { ticket, queue, .. } => Filed {
            ticket: Some(ticket),
            queue: Some(queue),
            duplicate: false,
            quarantined: None,
        },
        Outcome::Duplicate { ticket } => Filed {
            ticket,
            queue: None,
            duplicate: true,
            quarantined: None,
        },
        Outcome::Quarantined { reason } => Filed {
            ticket: None,
            queue: None,
            duplicate: false,
            quarantined: Some(reason),
        },
        Outcome::Request { queue, .. } => Filed {
            ticket: None,
            queue: Some(queue),
            duplicate: false,
            quarantined: None,
        },
    })
}
