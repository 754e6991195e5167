//! Medians, percentiles and the distribution of durations, as reports give them.

use serde::Serialize;

/// The buckets of a duration's distribution: their upper bounds in hours (inclusive); the
/// last bucket takes the rest.
pub const BUCKET_HOURS: [i64; 6] = [1, 4, 8, 24, 72, 168];

/// Durations in seconds summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub count: u64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub distribution: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// `up to 1 h`, …, `over 7 d`.
    pub label: String,
    /// The bucket's inclusive upper bound; `None` for the last.
    pub up_to_seconds: Option<i64>,
    pub count: u64,
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of sorted values: the smallest value that at
/// least p % of the values do not exceed.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() as u64 * p as u64).div_ceil(100).max(1);
    Some(sorted[rank as usize - 1])
}

pub fn summarise(mut values: Vec<i64>) -> Stats {
    values.sort_unstable();
    let mut counts = [0u64; BUCKET_HOURS.len() + 1];
    for v in &values {
        let i = BUCKET_HOURS
            .iter()
            .position(|h| *v <= h * 3600)
            .unwrap_or(BUCKET_HOURS.len());
        counts[i] += 1;
    }
    let distribution = counts
        .iter()
        .enumerate()
        .map(|(i, &count)| Bucket {
            label: bucket_label(i),
            up_to_seconds: BUCKET_HOURS.get(i).map(|h| h * 3600),
            count,
        })
        .collect();
    Stats {
        count: values.len() as u64,
        median_seconds: percentile(&values, 50),
        p90_seconds: percentile(&values, 90),
        distribution,
    }
}

fn bucket_label(i: usize) -> String {
    let show = |h: i64| {
        if h >= 24 && h % 24 == 0 {
            format!("{} d", h / 24)
        } else {
            format!("{h} h")
        }
    };
    match BUCKET_HOURS.get(i) {
        Some(h) => format!("up to {}", show(*h)),
        None => format!("over {}", show(BUCKET_HOURS[BUCKET_HOURS.len() - 1])),
    }
}

/// A duration for people: `3 h 20 min`, `2 d 4 h`, `45 s`.
pub fn human(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2], 50), Some(1));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn buckets_take_their_upper_bound() {
        let s = summarise(vec![3600, 3601, 8 * 3600, 200 * 3600, 0]);
        let counts: Vec<u64> = s.distribution.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![2, 1, 1, 0, 0, 0, 1]);
        assert_eq!(s.distribution[0].label, "up to 1 h");
        assert_eq!(s.distribution[4].label, "up to 3 d");
        assert_eq!(s.distribution[6].label, "over 7 d");
        assert_eq!(s.median_seconds, Some(3601));
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human(45), "45 s");
        assert_eq!(human(12_000), "3 h 20 min");
        assert_eq!(human(2 * 86_400 + 4 * 3600 + 5), "2 d 4 h");
    }
}
