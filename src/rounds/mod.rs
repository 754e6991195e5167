//! The daemon's work besides mail, on threads or timers of its own, filed into tickets through
//! intake: placing the calls agents asked for (`dial`), acting on service-level deadlines
//! (`sla`) and sending agents their digests of notices (`digest`). The feature modules below
//! (`crate::dial`, `crate::sla`, `outgoing::digest`) hold the logic without the engine, so that
//! the configuration can use them to check itself.

pub mod dial;
pub mod digest;
pub mod sla;
