//! More unit tests: the scanners' values, the envelope, lines around comments and multi-line
//! strings, no scripts, unparseable input.

use super::tests::{load_ok, run, run_with};
use super::*;

#[test]
fn scanner_values_reach_spamtest_and_virustest() {
    let script = "require [\"fileinto\", \"spamtest\", \"spamtestplus\", \"virustest\", \"relational\", \"comparator-i;ascii-numeric\"];\n\
if virustest :value \"eq\" :comparator \"i;ascii-numeric\" \"5\" { fileinto \"Quarantine\"; }\n\
if spamtest :percent :value \"eq\" :comparator \"i;ascii-numeric\" \"57\" { fileinto \"Pct57\"; }\n\
if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"10\" { fileinto \"Ten\"; }\n\
if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"5\" { fileinto \"Five\"; }\n";
    let q = |scan| run_with(&[("10-a.sieve", script)], scan).queue.map(|q| q.0);
    assert_eq!(
        q(ScanValues {
            virustest: Some(5),
            ..Default::default()
        })
        .as_deref(),
        Some("Quarantine")
    );
    assert_eq!(
        q(ScanValues {
            spam_percent: Some(57),
            ..Default::default()
        })
        .as_deref(),
        Some("Pct57")
    );
    assert_eq!(
        q(ScanValues {
            spamtest: Some(10),
            ..Default::default()
        })
        .as_deref(),
        Some("Ten")
    );
    assert_eq!(
        q(ScanValues {
            spam_percent: Some(50),
            ..Default::default()
        })
        .as_deref(),
        Some("Five")
    );
    assert_eq!(
        q(ScanValues {
            spamtest: Some(1),
            virustest: Some(1),
            ..Default::default()
        }),
        None
    );
    for p in 1..=99u8 {
        let x = run::fraction(p);
        assert_eq!((x * 100.0).ceil() as i64, i64::from(p), "percent {p}");
    }
}

#[test]
fn envelope_test_sees_the_envelope() {
    let v = run(&[("10-a.sieve", "require [\"fileinto\", \"envelope\"];\nif envelope :domain :is \"from\" \"customer.example\" {\n  fileinto \"Customers\";\n}\n")]);
    assert_eq!(v.queue.map(|q| q.0).as_deref(), Some("Customers"));
}

#[test]
fn lines_survive_multiline_strings_and_comments() {
    let v = run(&[(
        "10-a.sieve",
        "require [\"editheader\"];\n/* fileinto \"x\";\n keep; */\naddheader \"X-Note\" text:\nkeep;\n..\n.\n;\n# discard;\naddheader \"X-Postdesk-Owner\" \"\\\"bob\\\"\";\n",
    )]);
    assert_eq!(
        v.attributes.first().map(|a| (a.1.as_str(), a.2.line)),
        Some(("\"bob\"", Some(10))),
        "{v:?}"
    );
    assert_eq!(v.header_edits.len(), 1);
    assert!(matches!(&v.header_edits[0], HeaderEdit::Add { cause, .. } if cause.line == Some(4)));
}

#[test]
fn empty_filters_keep() {
    let v = Filters::empty().run(b"", &Envelope::default(), &ScanValues::default());
    assert_eq!(v, Verdict::default());
    assert!(Filters::empty().scripts().is_empty());
}

#[test]
fn unparseable_bytes_do_not_panic() {
    let v = run(&[(
        "10-a.sieve",
        "require \"editheader\";\naddheader \"X-A\" \"1\";\ndeleteheader \"From\";\n",
    )]);
    assert!(v.errors.is_empty());
    let (_dir, filters) = load_ok(&[(
        "10-a.sieve",
        "require \"editheader\";\naddheader \"X-A\" \"1\";\n",
    )]);
    let v = filters.run(b"", &Envelope::default(), &ScanValues::default());
    assert_eq!(v.header_edits.len(), 1, "{v:?}");
}
