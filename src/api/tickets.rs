//! `GET /v1/tickets/{digits}`: the digits a caller typed on the keypad. A wrong check digit is
//! refused (400, so the IVR asks again); an unknown ticket is 404; else where to put the call
//! through: the ticket's queue, state, owner and the owner's extension from the directory.

use serde::Serialize;

use super::error::ApiError;
use super::Shared;
use crate::index::Index;
use crate::number::{check_digit, Generator};

#[derive(Debug, Serialize)]
pub struct Found {
    pub number: String,
    pub queue: String,
    pub state: &'static str,
    pub owner: Option<String>,
    /// The owner's `extension` attribute in the directory, else their first phone number.
    pub extension: Option<String>,
}

pub fn lookup(shared: &Shared, index: &Index, digits: &str) -> Result<Found, ApiError> {
    let scheme = shared.cfg.scheme();
    let digits = digits.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad("not a ticket number: digits only"));
    }
    if !scheme.is_valid(digits) {
        let last = u32::from(digits.as_bytes()[digits.len() - 1] - b'0');
        if scheme.generator == Generator::DateChecksum
            && digits.len() > 1
            && check_digit(&digits[..digits.len() - 1]) != last
        {
            return Err(ApiError::bad("check digit: the number was mistyped"));
        }
        return Err(ApiError::bad("not a ticket number of this help desk"));
    }
    let Some(t) = index.ticket(digits)? else {
        return Err(ApiError::not_found("no such ticket"));
    };
    // The owner as an agent's name (what `#owner` records) or address.
    let address = t.owner.as_ref().map(|o| {
        shared
            .cfg
            .agents
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(o) || a.address.eq_ignore_ascii_case(o))
            .map_or(o.as_str(), |a| a.address.as_str())
    });
    let extension = match address {
        Some(o) => crate::dial::extension::of(index, o)?,
        None => None,
    };
    Ok(Found {
        number: t.number,
        queue: t.queue,
        state: t.state.as_str(),
        owner: t.owner,
        extension,
    })
}
