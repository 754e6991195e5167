//! The drain loop with a scripted source: when batches are let go of, given back, and why a
//! drain ends.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::{drain, DrainError, Holder, Reader, Summary, Taken};
use crate::config::Config;
use crate::intake::{Engine, Message, Outcome};

fn engine(dir: &Path) -> Engine {
    let text = format!(
        "[general]\ndata-dir = {:?}\n[[queue]]\nname = \"Support\"\naddresses = [\"support@company.example\"]\n",
        dir.join("var")
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = Config::parse(&text, &repo.join("postdesk.toml")).unwrap();
    Engine::open(&cfg, &cfg.data_dir()).unwrap()
}

fn message(id: u32) -> Message {
    let raw = format!(
        "From: Customer <customer{id}@example.org>\r\nTo: support@company.example\r\n\
         Subject: The printer {id}\r\nMessage-ID: <{id}@example.org>\r\n\r\nIt does not print.\r\n"
    );
    Message {
        raw: raw.into_bytes(),
        source: "scripted".into(),
        name: id.to_string(),
        remember: false,
        taken: std::time::Instant::now(),
        quarantine: None,
        phone: false,
        spliced: None,
    }
}

/// Hands over the batches it was given, then fails if told to.
struct Batches {
    batches: std::vec::IntoIter<Vec<u32>>,
    then_fail: bool,
}

impl Reader for Batches {
    type Handle = u32;

    fn next(&mut self, _: &mut u64) -> Result<Option<Vec<Taken<u32>>>, DrainError> {
        match self.batches.next() {
            Some(ids) => Ok(Some(
                (ids.into_iter())
                    .map(|id| Taken {
                        message: message(id),
                        handle: id,
                    })
                    .collect(),
            )),
            None if self.then_fail => Err(DrainError::Peer("connection reset".into())),
            None => Ok(None),
        }
    }
}

fn batches(b: &[&[u32]], then_fail: bool) -> Batches {
    Batches {
        batches: b
            .iter()
            .map(|ids| ids.to_vec())
            .collect::<Vec<_>>()
            .into_iter(),
        then_fail,
    }
}

/// Writes down what the loop asks of it, in order.
#[derive(Default)]
struct Log {
    events: Vec<String>,
    given_back: Vec<u32>,
    /// The batch before which the lease is lost.
    lose_lease_at: Option<usize>,
    fail_letting_go: bool,
    filed: usize,
}

impl Holder for Log {
    type Handle = u32;

    fn still_held(&mut self, _: &mut Engine) -> Result<bool, DrainError> {
        if self.lose_lease_at == Some(self.filed) {
            return Ok(false);
        }
        self.events.push(format!("file {}", self.filed));
        self.filed += 1;
        Ok(true)
    }

    fn let_go(&mut self, _: &mut Engine, done: Vec<(u32, Outcome)>) -> Result<(), DrainError> {
        let ids: Vec<String> = done.iter().map(|(id, _)| id.to_string()).collect();
        self.events.push(format!("let go {}", ids.join(",")));
        match self.fail_letting_go {
            true => Err(DrainError::Peer("acknowledging failed".into())),
            false => Ok(()),
        }
    }

    fn give_back(&mut self, handles: Vec<u32>) {
        self.given_back.extend(handles);
        self.given_back.sort();
    }
}

fn run(reader: Batches, log: &mut Log) -> (Result<(), DrainError>, Summary) {
    let tmp = tempfile::tempdir().unwrap();
    let mut engine = engine(tmp.path());
    let stop = AtomicBool::new(false);
    let mut summary = Summary::default();
    let r = drain(
        &mut engine,
        reader,
        log,
        "scripted",
        None,
        &stop,
        &mut summary,
    );
    (r, summary)
}

#[test]
fn a_batch_is_let_go_of_after_the_next_commit_or_the_final_flush() {
    let mut log = Log::default();
    let (r, summary) = run(batches(&[&[1, 2], &[3, 4], &[5]], false), &mut log);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        log.events,
        [
            "file 0",
            "file 1",
            "let go 1,2",
            "file 2",
            "let go 3,4",
            "let go 5"
        ]
    );
    assert_eq!((summary.processed, summary.new_tickets), (5, 5));
    assert!(log.given_back.is_empty());
}

#[test]
fn a_failing_source_ends_the_drain_after_what_it_handed_over() {
    let mut log = Log::default();
    let (r, summary) = run(batches(&[&[1, 2]], true), &mut log);
    assert!(matches!(r, Err(DrainError::Peer(_))), "{r:?}");
    assert_eq!(log.events, ["file 0", "let go 1,2"]);
    assert_eq!(summary.processed, 2);
}

#[test]
fn a_lost_lease_gives_the_batch_back_and_ends_the_drain_quietly() {
    let mut log = Log {
        lose_lease_at: Some(1),
        ..Default::default()
    };
    let (r, summary) = run(batches(&[&[1], &[2], &[3]], false), &mut log);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(log.events, ["file 0", "let go 1"]);
    assert_eq!(summary.processed, 1);
    // Batch 2, and batch 3 where the reader had it ready.
    assert_eq!(log.given_back[0], 2);
    assert!(!log.given_back.contains(&1));
}

#[test]
fn when_letting_go_fails_what_is_held_is_given_back() {
    let mut log = Log {
        fail_letting_go: true,
        ..Default::default()
    };
    let (r, _) = run(batches(&[&[1], &[2], &[3]], false), &mut log);
    assert!(matches!(r, Err(DrainError::Peer(_))), "{r:?}");
    assert_eq!(log.events, ["file 0", "file 1", "let go 1"]);
    // Batch 2 was committed and is not let go of: it comes again as a duplicate.
    assert_eq!(log.given_back[0], 2);
    assert!(!log.given_back.contains(&1));
}
