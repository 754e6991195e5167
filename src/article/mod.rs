//! What a ticket's articles and history are made of, below intake: the article row built from a
//! message's facts (`row`), an outgoing article's trace block and rows (`outgoing`), the event
//! log's lines (`history`), what an agent's command changes (`change`), and what a line with a
//! value sets (`attributes`). Intake, the
//! outbox's sender, `reindex` and the service levels' round all build with these, so none of
//! them needs another.

pub mod attributes;
pub mod change;
pub mod history;
pub mod outgoing;
pub mod row;

pub use change::Change;
pub use history::HistoryLine;
pub use outgoing::{out_head, queued, record_out};
pub use row::build_article;
