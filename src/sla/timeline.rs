//! A calendar's working time as tables, one per local year: its working ranges as instants, in
//! order, with the working time before each. Business time between two instants is then two
//! binary searches a year, and the instant a duration runs out one more, instead of a walk over
//! every day in between (a report measures two durations and several deadlines for each of a
//! million tickets). Built once per calendar and year, when first asked, and shared by clones
//! of the calendar.
//!
//! Pure apart from the cache's lock: a table is built from the ranges the calendar gives it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, TimeDelta, Utc};

/// How many years' tables a calendar keeps; past that it starts again (a report spans a few).
const MAX_CACHED_YEARS: usize = 64;

/// The working ranges of one local year.
#[derive(Debug, Default)]
pub struct Year {
    /// Ordered and apart: ranges that overlap or touch (as two ranges of a day do when the
    /// clocks go back between them) are one, so no time counts twice.
    ranges: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// `through[i]`: the working time of the ranges up to and including `ranges[i]`.
    through: Vec<TimeDelta>,
}

impl Year {
    /// The table of these ranges, in any order (empty ones are left out).
    pub fn new(mut ranges: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Year {
        ranges.retain(|(a, b)| a < b);
        ranges.sort_unstable();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut total = TimeDelta::zero();
        let through = merged
            .iter()
            .map(|(a, b)| {
                total += *b - *a;
                total
            })
            .collect();
        Year {
            ranges: merged,
            through,
        }
    }

    /// The year's working time.
    pub fn total(&self) -> TimeDelta {
        self.through.last().copied().unwrap_or_default()
    }

    /// The working time of the ranges before `ranges[i]`.
    fn before(&self, i: usize) -> TimeDelta {
        i.checked_sub(1)
            .map_or(TimeDelta::zero(), |p| self.through[p])
    }

    /// The year's working time before `t`.
    pub fn until(&self, t: DateTime<Utc>) -> TimeDelta {
        // The first range that ends after `t`; those before it are wholly before `t`.
        let i = self.ranges.partition_point(|(_, b)| *b <= t);
        match self.ranges.get(i) {
            None => self.total(),
            Some((a, _)) => self.before(i) + (t - *a).max(TimeDelta::zero()),
        }
    }

    /// The instant by which `target` of the year's working time has passed, for `target` in
    /// `(0, total]`: the end of a range when it runs out exactly there. `None` past the total.
    pub fn instant(&self, target: TimeDelta) -> Option<DateTime<Utc>> {
        let i = self.through.partition_point(|t| *t < target);
        let (a, _) = self.ranges.get(i)?;
        Some(*a + (target - self.before(i)))
    }
}

/// The tables a calendar has built, by local year.
#[derive(Debug, Clone, Default)]
pub struct Years {
    built: Arc<RwLock<HashMap<i32, Arc<Year>>>>,
}

impl Years {
    /// The table of `year`, built by `make` the first time it is asked for.
    pub fn get(&self, year: i32, make: impl FnOnce() -> Year) -> Arc<Year> {
        if let Some(y) = self.read().get(&year) {
            return y.clone();
        }
        let y = Arc::new(make());
        let mut built = self.built.write().unwrap_or_else(|e| e.into_inner());
        if built.len() >= MAX_CACHED_YEARS {
            built.clear();
        }
        built.entry(year).or_insert(y).clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i32, Arc<Year>>> {
        self.built.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
    }

    fn mins(n: i64) -> TimeDelta {
        TimeDelta::minutes(n)
    }

    /// Two ranges with a gap, one overlapping the first, one empty.
    fn year() -> Year {
        Year::new(vec![
            (at(13, 0), at(17, 0)),
            (at(8, 0), at(12, 0)),
            (at(10, 0), at(12, 0)),
            (at(18, 0), at(18, 0)),
        ])
    }

    #[test]
    fn working_time_before_an_instant() {
        let y = year();
        assert_eq!(y.total(), mins(8 * 60));
        assert_eq!(y.until(at(7, 0)), mins(0));
        assert_eq!(y.until(at(8, 30)), mins(30));
        assert_eq!(y.until(at(12, 0)), mins(240));
        assert_eq!(y.until(at(12, 30)), mins(240));
        assert_eq!(y.until(at(13, 15)), mins(255));
        assert_eq!(y.until(at(23, 0)), mins(480));
    }

    #[test]
    fn the_instant_a_duration_runs_out() {
        let y = year();
        assert_eq!(y.instant(mins(1)), Some(at(8, 1)));
        // Exactly at a range's end: that end, not the next range's start.
        assert_eq!(y.instant(mins(240)), Some(at(12, 0)));
        assert_eq!(y.instant(mins(241)), Some(at(13, 1)));
        assert_eq!(y.instant(mins(480)), Some(at(17, 0)));
        assert_eq!(y.instant(mins(481)), None);
        assert_eq!(Year::default().instant(mins(1)), None);
    }

    #[test]
    fn a_year_is_built_once_and_shared_by_clones() {
        let years = Years::default();
        let clone = years.clone();
        let mut built = 0;
        for y in [&years, &clone, &years] {
            y.get(2026, || {
                built += 1;
                year()
            });
        }
        assert_eq!(built, 1);
        assert_eq!(clone.get(2026, Year::default).total(), mins(480));
    }
}
