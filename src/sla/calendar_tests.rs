use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;
use crate::sla::config::parse_range;

const H: u64 = 3600;

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * H)
}

fn ranges(rs: &[&str]) -> Vec<Range> {
    rs.iter().map(|r| parse_range(r).unwrap()).collect()
}

/// Monday to Friday 08:00-12:00 and 13:00-17:00 in Berlin (eight hours a day, a lunch break).
fn office(holidays: Holidays) -> Calendar {
    let day = ranges(&["08:00-12:00", "13:00-17:00"]);
    let week: Week = [
        day.clone(),
        day.clone(),
        day.clone(),
        day.clone(),
        day,
        vec![],
        vec![],
    ];
    Calendar::new("office", chrono_tz::Europe::Berlin, week, holidays).unwrap()
}

fn berlin(s: &str) -> DateTime<Utc> {
    local(chrono_tz::Europe::Berlin, s)
}

fn local(zone: Tz, s: &str) -> DateTime<Utc> {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    zone.from_local_datetime(&t)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn always_counts_real_time() {
    let c = Calendar::always();
    let a = berlin("2026-03-28 22:00");
    assert_eq!(
        c.business_between(a, a + chrono::Duration::hours(30)),
        hours(30)
    );
    assert_eq!(
        c.add_business(a, hours(30)),
        a + chrono::Duration::hours(30)
    );
    assert_eq!(
        c.business_between(a, a - chrono::Duration::hours(1)),
        Duration::ZERO
    );
    assert!(c.is_working(a));
}

#[test]
fn lunch_break_does_not_count() {
    let c = office(Holidays::default());
    // Tuesday 10:00 to 15:00: 2 h before lunch, 2 h after.
    assert_eq!(
        c.business_between(berlin("2026-06-02 10:00"), berlin("2026-06-02 15:00")),
        hours(4)
    );
    // Three hours from 11:00: one before lunch, two after it.
    assert_eq!(
        c.add_business(berlin("2026-06-02 11:00"), hours(3)),
        berlin("2026-06-02 15:00")
    );
    // A deadline that runs out at noon is noon, not 13:00.
    assert_eq!(
        c.add_business(berlin("2026-06-02 11:00"), hours(1)),
        berlin("2026-06-02 12:00")
    );
    // Asked during lunch, the clock starts at 13:00.
    assert_eq!(
        c.add_business(berlin("2026-06-02 12:30"), Duration::from_secs(60)),
        berlin("2026-06-02 13:01")
    );
    assert!(!c.is_working(berlin("2026-06-02 12:30")));
    assert!(c.is_working(berlin("2026-06-02 13:00")));
}

#[test]
fn weekends_are_skipped() {
    let c = office(Holidays::default());
    // Friday 16:00 + 2 h: one on Friday, one on Monday morning.
    assert_eq!(
        c.add_business(berlin("2026-06-05 16:00"), hours(2)),
        berlin("2026-06-08 09:00")
    );
    // Saturday to Monday 10:00: two hours, all of them Monday's.
    assert_eq!(
        c.business_between(berlin("2026-06-06 09:00"), berlin("2026-06-08 10:00")),
        hours(2)
    );
    // A whole week is five days of eight hours.
    assert_eq!(
        c.business_between(berlin("2026-06-01 00:00"), berlin("2026-06-08 00:00")),
        hours(40)
    );
    // Asked on Sunday, 8 h end on Monday at 17:00.
    assert_eq!(
        c.add_business(berlin("2026-06-07 11:00"), hours(8)),
        berlin("2026-06-08 17:00")
    );
}

#[test]
fn holidays_from_the_configuration_are_skipped() {
    // 2026-12-24 is a Thursday, 25 a Friday.
    let h = Holidays::from_dates(&["2026-12-24".into(), "2026-12-25".into()]).unwrap();
    let c = office(h);
    assert_eq!(
        c.add_business(berlin("2026-12-23 16:00"), hours(2)),
        berlin("2026-12-28 09:00")
    );
    assert_eq!(
        c.business_between(berlin("2026-12-21 00:00"), berlin("2026-12-28 00:00")),
        hours(24)
    );
    assert!(Holidays::from_dates(&["24.12.2026".into()]).is_err());
}

#[test]
fn holidays_from_an_icalendar_file() {
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
        BEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261225\r\n\
        DTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:2\r\nSUMMARY:Labour Day\r\nDTSTART;VALUE=DATE:20200501\r\n\
        RRULE:FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=1\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:3\r\nSUMMARY:Cancelled\r\nSTATUS:CANCELLED\r\n\
        DTSTART;VALUE=DATE:20260601\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:4\r\nSUMMARY:Long\r\n weekend\r\nDTSTART;VALUE=DATE:20260806\r\n\
        DURATION:P2D\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";
    let mut h = Holidays::default();
    h.add_ics(ics).unwrap();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert!(h.contains(d("2026-12-25")) && h.contains(d("2026-12-26")));
    assert!(!h.contains(d("2026-12-27")) && !h.contains(d("2026-12-24")));
    assert!(h.contains(d("2026-05-01")) && h.contains(d("2031-05-01")));
    assert!(!h.contains(d("2019-05-01")) && !h.contains(d("2026-05-02")));
    assert!(!h.contains(d("2026-06-01")));
    assert!(h.contains(d("2026-08-06")) && h.contains(d("2026-08-07")));
    assert!(!h.contains(d("2026-08-08")));
    // Friday 2026-05-01 is Labour Day: Thursday 16:00 + 2 h ends Monday 09:00.
    let c = office(h);
    assert_eq!(
        c.add_business(berlin("2026-04-30 16:00"), hours(2)),
        berlin("2026-05-04 09:00")
    );
}

#[test]
fn icalendar_rules_we_cannot_read_are_refused() {
    let ics = |rule: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Thanksgiving\r\n\
             DTSTART;VALUE=DATE:20261126\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    let e = Holidays::default()
        .add_ics(&ics("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"))
        .unwrap_err();
    assert!(e.contains("Thanksgiving") && e.contains("RRULE"), "{e}");
    assert!(Holidays::default().add_ics(&ics("FREQ=WEEKLY")).is_err());
    assert!(Holidays::default().add_ics("not a calendar").is_err());
    let e = Holidays::default()
        .add_ics("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        .unwrap_err();
    assert!(e.contains("DTSTART"), "{e}");
}

#[test]
fn yearly_rule_with_count_and_leap_day() {
    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nDTSTART;VALUE=DATE:20240229\r\n\
        RRULE:FREQ=YEARLY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let mut h = Holidays::default();
    h.add_ics(ics).unwrap();
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    assert!(h.contains(d(2024, 2, 29)));
    // 2025 and 2026 have no Feb 29 (their occurrences are skipped but counted).
    assert!(!h.contains(d(2025, 3, 1)) && !h.contains(d(2028, 2, 29)));
}

#[test]
fn dst_spring_forward_shortens_a_day_that_spans_it() {
    // A round-the-clock desk in Berlin: 2026-03-29 has 23 hours.
    let all = vec![parse_range("00:00-24:00").unwrap()];
    let week: Week = std::array::from_fn(|_| all.clone());
    let c = Calendar::new(
        "berlin",
        chrono_tz::Europe::Berlin,
        week,
        Holidays::default(),
    )
    .unwrap();
    assert_eq!(
        c.business_between(berlin("2026-03-29 00:00"), berlin("2026-03-30 00:00")),
        hours(23)
    );
    assert_eq!(
        c.business_between(berlin("2026-10-25 00:00"), berlin("2026-10-26 00:00")),
        hours(25)
    );
    // Saturday 12:00 + 24 h of business time is Sunday 13:00 local (the clock jumped).
    assert_eq!(
        c.add_business(berlin("2026-03-28 12:00"), hours(24)),
        berlin("2026-03-29 13:00")
    );
}

#[test]
fn dst_change_inside_working_hours() {
    // 01:00-05:00 on the night of the change: 3 real hours in spring, 5 in autumn.
    let night = vec![parse_range("01:00-05:00").unwrap()];
    let week: Week = std::array::from_fn(|_| night.clone());
    let c = Calendar::new(
        "night",
        chrono_tz::Europe::Berlin,
        week,
        Holidays::default(),
    )
    .unwrap();
    let day = |d: &str| berlin(&format!("{d} 00:00"));
    let next = |d: &str| berlin(&format!("{d} 23:00"));
    assert_eq!(
        c.business_between(day("2026-03-29"), next("2026-03-29")),
        hours(3)
    );
    assert_eq!(
        c.business_between(day("2026-10-25"), next("2026-10-25")),
        hours(5)
    );
    assert_eq!(
        c.business_between(day("2026-06-01"), next("2026-06-01")),
        hours(4)
    );
    // A range that starts in the skipped hour starts when the clocks jump (03:00 CEST).
    let skipped = vec![parse_range("02:30-04:00").unwrap()];
    let week: Week = std::array::from_fn(|_| skipped.clone());
    let c = Calendar::new("gap", chrono_tz::Europe::Berlin, week, Holidays::default()).unwrap();
    assert_eq!(
        c.business_between(day("2026-03-29"), next("2026-03-29")),
        hours(1)
    );
    assert_eq!(
        c.add_business(day("2026-03-29"), Duration::from_secs(60)),
        Utc.with_ymd_and_hms(2026, 3, 29, 1, 1, 0).unwrap()
    );
}

#[test]
fn office_hours_across_the_autumn_change_stay_eight_hours() {
    // The clocks change at night; a working day is eight hours either side of it.
    let c = office(Holidays::default());
    assert_eq!(
        c.business_between(berlin("2026-10-23 00:00"), berlin("2026-10-27 00:00")),
        hours(16)
    );
    assert_eq!(
        c.add_business(berlin("2026-10-23 16:00"), hours(2)),
        berlin("2026-10-26 09:00")
    );
}

#[test]
fn add_and_between_agree() {
    let c = office(Holidays::from_dates(&["2026-06-10".into()]).unwrap());
    let start = berlin("2026-06-04 09:17");
    for h in [0u64, 1, 3, 4, 8, 9, 17, 40, 41, 100] {
        for extra in [0u64, 59, 1800] {
            let d = Duration::from_secs(h * H + extra);
            let due = c.add_business(start, d);
            assert_eq!(c.business_between(start, due), d, "{h} h + {extra} s");
        }
    }
}

#[test]
fn bad_weeks_are_refused() {
    let empty: Week = Default::default();
    assert!(Calendar::new("x", chrono_tz::UTC, empty, Holidays::default()).is_err());
    let mut overlapping: Week = Default::default();
    overlapping[0] = ranges(&["08:00-12:00", "11:00-13:00"]);
    let e = Calendar::new("x", chrono_tz::UTC, overlapping, Holidays::default()).unwrap_err();
    assert!(e.contains("overlap"), "{e}");
    for bad in [
        "8-12",
        "08:00-07:00",
        "08:00-24:01",
        "08:60-09:00",
        "24:00-24:00",
        "",
    ] {
        assert!(parse_range(bad).is_none(), "{bad}");
    }
    assert_eq!(parse_range("00:00-24:00").map(|r| r.end), Some(1440));
}

#[test]
fn a_calendar_from_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("h.ics"),
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART;VALUE=DATE:20260608\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let cfg: crate::sla::config::CalendarConfig = toml::from_str(
        r#"
        name = "office"
        time-zone = "Europe/Berlin"
        monday = ["08:00-12:00", "13:00-17:00"]
        holidays = ["2026-06-15"]
        holidays-file = "h.ics"
        "#,
    )
    .unwrap();
    cfg.validate().unwrap();
    let c = Calendar::from_config(&cfg, dir.path()).unwrap();
    // Mondays only; the 8th and the 15th are holidays.
    assert_eq!(
        c.add_business(berlin("2026-06-05 10:00"), hours(1)),
        berlin("2026-06-22 09:00")
    );
    let bad: Result<crate::sla::config::CalendarConfig, _> =
        toml::from_str("name = \"x\"\ntime-zone = \"UTC\"\nmondays = []\n");
    assert!(bad.unwrap_err().to_string().contains("mondays"));
    let mut no_zone = cfg.clone();
    no_zone.time_zone = "Europe/Nowhere".into();
    assert!(no_zone.validate().unwrap_err().contains("Europe/Nowhere"));
    let mut no_file = cfg.clone();
    no_file.holidays_file = Some("missing.ics".into());
    let e = Calendar::from_config(&no_file, dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.ics"), "{e}");
}

/// Business time by walking the days between, the working ranges of neighbouring days merged
/// where they overlap: what the year tables must give.
fn walk_between(c: &Calendar, start: DateTime<Utc>, end: DateTime<Utc>) -> chrono::TimeDelta {
    let mut total = chrono::TimeDelta::zero();
    for (a, b) in walk_ranges(c, start, end) {
        let (a, b) = (a.max(start), b.min(end));
        if a < b {
            total += b - a;
        }
    }
    total
}

/// The merged working ranges of the local days from the one before `start` to `end`'s.
fn walk_ranges(
    c: &Calendar,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let h = c.hours.as_ref().unwrap();
    let mut all = Vec::new();
    let mut day = h.local_date(start).pred_opt().unwrap();
    while day <= h.local_date(end) {
        all.extend(h.intervals(day));
        day = day.succ_opt().unwrap();
    }
    all.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (a, b) in all {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// The instant `dur` runs out from `start`, walking the merged ranges.
fn walk_add(c: &Calendar, start: DateTime<Utc>, dur: chrono::TimeDelta) -> DateTime<Utc> {
    let mut left = dur;
    for (a, b) in walk_ranges(c, start, start + chrono::Duration::days(800)) {
        let a = a.max(start);
        if a >= b {
            continue;
        }
        if left <= b - a {
            return a + left;
        }
        left -= b - a;
    }
    panic!("no working time within 800 days");
}

/// New York, every day, with two ranges that touch at 01:30, which the autumn change makes overlap (the
/// first ends at the second 01:30, the next starts at the first), and a late range to 24:00.
fn new_york() -> Calendar {
    let day = ranges(&["00:00-01:30", "01:30-03:00", "09:00-17:00", "22:00-24:00"]);
    let week: Week = std::array::from_fn(|_| day.clone());
    Calendar::new(
        "ny",
        chrono_tz::America::New_York,
        week,
        Holidays::default(),
    )
    .unwrap()
}

/// Lord Howe Island changes its clocks by half an hour, at 02:00.
fn lord_howe() -> Calendar {
    let day = ranges(&["01:00-03:00", "08:30-12:00", "12:30-18:00"]);
    let week: Week = [
        day.clone(),
        day.clone(),
        day.clone(),
        day.clone(),
        day,
        vec![],
        vec![],
    ];
    Calendar::new(
        "lh",
        chrono_tz::Australia::Lord_Howe,
        week,
        Holidays::default(),
    )
    .unwrap()
}

/// The year tables give what walking the days gives, for spans within a day up to two years,
/// across clock changes, holidays and New Year, to the second.
#[test]
fn year_tables_agree_with_walking_the_days() {
    let holidays = Holidays::from_dates(&["2026-12-24".into(), "2027-01-01".into()]).unwrap();
    let calendars = [office(holidays), new_york(), lord_howe()];
    let base = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for c in &calendars {
        for i in 0..400 {
            let start = if i % 10 == 0 {
                // Around New Year, where a year's last ranges meet the next year's.
                Utc.with_ymd_and_hms(2026, 12, 30, 0, 0, 0).unwrap()
                    + chrono::Duration::seconds(next(3 * 86_400) as i64)
            } else {
                base + chrono::Duration::seconds(next(2 * 366 * 86_400) as i64)
            };
            let span = match i % 3 {
                0 => next(86_400),
                1 => next(40 * 86_400),
                _ => next(730 * 86_400),
            };
            let end = start + chrono::Duration::seconds(span as i64);
            let want = walk_between(c, start, end);
            assert_eq!(
                c.business_between(start, end),
                want.to_std().unwrap(),
                "{} from {start} to {end}",
                c.name()
            );
            if want > chrono::TimeDelta::zero() {
                let due = c.add_business(start, want.to_std().unwrap());
                assert_eq!(due, walk_add(c, start, want), "{} from {start}", c.name());
                assert!(due <= end);
            }
        }
    }
}

/// The autumn change makes two touching ranges overlap by an hour; that hour counts once.
#[test]
fn overlapping_ranges_of_the_autumn_change_count_once() {
    let c = new_york();
    // Sunday 2026-11-01, clocks back from 02:00 to 01:00: 00:00-03:00 local is four hours.
    let ny = |s| local(chrono_tz::America::New_York, s);
    assert_eq!(
        c.business_between(ny("2026-11-01 00:00"), ny("2026-11-01 04:00")),
        hours(4)
    );
    assert_eq!(
        c.add_business(ny("2026-11-01 00:00"), hours(4)),
        ny("2026-11-01 03:00")
    );
}
