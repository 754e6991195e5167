//! The daemon's work besides mail, on threads or timers of its own, filed into tickets through
//! intake: placing the calls agents asked for (`dial`) and acting on service-level deadlines
//! (`sla`). The feature modules below (`crate::dial`, `crate::sla`) hold the logic without the
//! engine, so that the configuration can use them to check itself.

pub mod dial;
pub mod sla;
