//! Unit tests for the pure parts of `scan`: headers and the on-failure / on-oversize policy.

use super::*;

fn spam(score: f32, is_spam: bool, rules: &[&str]) -> Outcome<SpamVerdict> {
    Outcome::Done(SpamVerdict {
        is_spam,
        score,
        threshold: 5.0,
        rules: rules.iter().map(|r| r.to_string()).collect(),
    })
}

fn clean() -> Outcome<VirusVerdict> {
    Outcome::Done(VirusVerdict {
        infected: false,
        signature: None,
    })
}

fn unavailable() -> ScanError {
    ScanError::Unavailable("connect to 127.0.0.1:783: connection refused".into())
}

fn cfg(spamd: (OnFailure, OnOversize), clamd: (OnFailure, OnOversize)) -> ScanConfig {
    let mut c = ScanConfig::default();
    (c.spamd.on_failure, c.spamd.on_oversize) = spamd;
    (c.clamd.on_failure, c.clamd.on_oversize) = clamd;
    c
}

const DEFAULTS: (OnFailure, OnOversize) = (OnFailure::Tempfail, OnOversize::Skip);
const LENIENT: (OnFailure, OnOversize) = (OnFailure::Pass, OnOversize::Skip);
const STRICT: (OnFailure, OnOversize) = (OnFailure::Tempfail, OnOversize::Quarantine);

#[test]
fn spam_and_infected_headers() {
    let report = ScanReport {
        spam: spam(1000.0, true, &["GTUBE", "NO_RECEIVED", "NO_RELAYS"]),
        virus: Outcome::Done(VirusVerdict {
            infected: true,
            signature: Some("Test.EICAR.HDB.UNOFFICIAL".into()),
        }),
    };
    let h = headers(&report);
    assert_eq!(
        h,
        [
            (
                "X-Spam-Status".to_string(),
                "Yes, score=1000.0 required=5.0 tests=GTUBE,NO_RECEIVED,NO_RELAYS".to_string()
            ),
            ("X-Spam-Score".into(), "1000.0".into()),
            (
                "X-Virus-Status".into(),
                "Infected (Test.EICAR.HDB.UNOFFICIAL)".into()
            ),
        ]
    );
}

#[test]
fn ham_and_clean_headers() {
    let report = ScanReport {
        spam: spam(-0.04, false, &[]),
        virus: clean(),
    };
    let h = headers(&report);
    assert_eq!(h[0].1, "No, score=0.0 required=5.0 tests=none");
    assert_eq!(h[1].1, "0.0");
    assert_eq!(h[2], ("X-Virus-Status".into(), "Clean".into()));
    let h = headers(&ScanReport {
        spam: spam(-1.25, false, &["ALL_TRUSTED"]),
        virus: Outcome::Off,
    });
    assert_eq!(h[0].1, "No, score=-1.2 required=5.0 tests=ALL_TRUSTED");
    assert_eq!(h.len(), 2, "no X-Virus-Status when clamd is off");
}

#[test]
fn unscanned_headers() {
    let report = ScanReport {
        spam: Outcome::Skipped("600000 bytes, over spamd max-size 524288".into()),
        virus: Outcome::Failed(ScanError::Unavailable(
            "clamd (x): timed out\r\nX-Evil: 1".into(),
        )),
    };
    let h = headers(&report);
    assert_eq!(
        h,
        [
            (
                "X-Spam-Status".to_string(),
                "Unscanned (600000 bytes, over spamd max-size 524288)".to_string()
            ),
            (
                "X-Virus-Status".into(),
                "Unscanned (clamd [x]: timed out??X-Evil: 1)".into()
            ),
        ]
    );
    let off = ScanReport {
        spam: Outcome::Off,
        virus: Outcome::Off,
    };
    assert!(headers(&off).is_empty());
}

#[test]
fn long_rule_lists_stay_under_the_line_limit() {
    let rules: Vec<String> = (0..200).map(|i| format!("SOME_LONGISH_RULE_{i}")).collect();
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    let h = headers(&ScanReport {
        spam: spam(12.3, true, &refs),
        virus: Outcome::Off,
    });
    let v = &h[0].1;
    assert!(v.len() <= MAX_VALUE, "{}", v.len());
    assert!(v.ends_with(",..."), "{v}");
    assert!(v.starts_with("Yes, score=12.3 required=5.0 tests=SOME_LONGISH_RULE_0,"));
}

#[test]
fn policy_all_done_or_off_proceeds() {
    let c = cfg(DEFAULTS, DEFAULTS);
    let done = ScanReport {
        spam: spam(1000.0, true, &["GTUBE"]),
        virus: clean(),
    };
    assert_eq!(policy(&done, &c), Policy::Proceed);
    let off = ScanReport {
        spam: Outcome::Off,
        virus: Outcome::Off,
    };
    assert_eq!(policy(&off, &c), Policy::Proceed);
}

#[test]
fn policy_failure_tempfails_by_default() {
    let report = ScanReport {
        spam: spam(0.0, false, &[]),
        virus: Outcome::Failed(unavailable()),
    };
    let p = policy(&report, &cfg(DEFAULTS, DEFAULTS));
    assert!(
        matches!(p, Policy::Retry(ref r) if r.starts_with("clamd: connect")),
        "{p:?}"
    );
    // A rejection follows on-failure too: the message is unscanned either way.
    let rejected = ScanReport {
        spam: Outcome::Failed(ScanError::Rejected("spamd: 76 Bad header line".into())),
        virus: clean(),
    };
    assert!(matches!(
        policy(&rejected, &cfg(DEFAULTS, DEFAULTS)),
        Policy::Retry(_)
    ));
}

#[test]
fn policy_pass_goes_on_unscanned() {
    let report = ScanReport {
        spam: Outcome::Failed(unavailable()),
        virus: Outcome::Failed(unavailable()),
    };
    assert_eq!(policy(&report, &cfg(LENIENT, LENIENT)), Policy::Proceed);
    // Only the scanner that failed counts: clamd's "pass" does not cover spamd's "tempfail".
    assert!(
        matches!(policy(&report, &cfg(DEFAULTS, LENIENT)), Policy::Retry(ref r) if r.starts_with("spamd"))
    );
}

#[test]
fn policy_oversize() {
    let report = ScanReport {
        spam: Outcome::Skipped("600000 bytes, over spamd max-size 524288".into()),
        virus: clean(),
    };
    assert_eq!(policy(&report, &cfg(DEFAULTS, DEFAULTS)), Policy::Proceed);
    let p = policy(&report, &cfg(STRICT, DEFAULTS));
    assert!(
        matches!(p, Policy::Quarantine(ref r) if r.starts_with("spamd: 600000")),
        "{p:?}"
    );
    // clamd's quarantine does not apply to spamd's skip.
    assert_eq!(policy(&report, &cfg(DEFAULTS, STRICT)), Policy::Proceed);
}

#[test]
fn policy_retry_wins_over_quarantine() {
    let report = ScanReport {
        spam: Outcome::Skipped("too big".into()),
        virus: Outcome::Failed(unavailable()),
    };
    assert!(matches!(
        policy(&report, &cfg(STRICT, STRICT)),
        Policy::Retry(_)
    ));
    assert!(matches!(
        policy(&report, &cfg(STRICT, LENIENT)),
        Policy::Quarantine(_)
    ));
}

#[test]
fn scanners_from_config() {
    let none = Scanners::new(&ScanConfig::default()).unwrap();
    assert!(!none.any());
    assert_eq!(none.describe(), "no scanners");
    let report = none.scan(b"Subject: x\r\n\r\nhi\r\n");
    assert_eq!(report.spam, Outcome::Off);
    assert_eq!(report.virus, Outcome::Off);
    assert!(matches!(none.tell(b"x", true), Err(ScanError::Rejected(_))));
    let mut c = ScanConfig::default();
    c.spamd.enabled = true;
    c.clamd.enabled = true;
    c.clamd.address = "/run/clamav/clamd.ctl".into();
    let both = Scanners::new(&c).unwrap();
    assert_eq!(
        both.describe(),
        "spamd 127.0.0.1:783, clamd /run/clamav/clamd.ctl"
    );
    c.clamd.address = "clamd".into();
    assert!(Scanners::new(&c).unwrap_err().starts_with("clamd.address"));
}
