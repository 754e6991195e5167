//! The report as CSV and JSON: the same numbers as the charts and tables, for spreadsheets and
//! scripts.

use super::figures::{QueueFigures, Report};
use super::stats::Stats;

pub fn json(r: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(r).expect("a report serialises");
    v.push(b'\n');
    v
}

/// One line per number: `section,queue,key,metric,value`. The queue is empty for the totals.
pub fn csv(r: &Report) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut put = |section: &str, queue: &str, key: &str, metric: &str, value: String| {
        w.write_record([section, queue, key, metric, value.as_str()])
    };
    (|| -> csv::Result<()> {
        put("section", "queue", "key", "metric", "value".into())?;
        put("period", "", "from", "date", r.period.from.to_string())?;
        put("period", "", "to", "date", r.period.to.to_string())?;
        put("period", "", "hours", "kind", r.hours.to_string())?;
        for q in r.per_queue.iter().chain(std::iter::once(&r.totals)) {
            queue(&mut put, q)?;
        }
        for t in &r.longest_open {
            let k = t.number.as_str();
            put("longest-open", &t.queue, k, "created", t.created.clone())?;
            put(
                "longest-open",
                &t.queue,
                k,
                "open_seconds",
                t.open_seconds.to_string(),
            )?;
            put("longest-open", &t.queue, k, "subject", t.subject.clone())?;
        }
        for c in &r.sla {
            let section = format!("sla-{}", c.by);
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            put(&section, &c.name, c.clock, "met", c.met.to_string())?;
            put(
                &section,
                &c.name,
                c.clock,
                "breached",
                c.breached.to_string(),
            )?;
            put(&section, &c.name, c.clock, "running", c.running.to_string())?;
            put(
                &section,
                &c.name,
                c.clock,
                "late_median_seconds",
                opt(c.late_median_seconds),
            )?;
            put(
                &section,
                &c.name,
                c.clock,
                "late_max_seconds",
                opt(c.late_max_seconds),
            )?;
        }
        for a in &r.agents {
            put("agent", "", &a.agent, "answers", a.answers.to_string())?;
            put("agent", "", &a.agent, "closed", a.closed.to_string())?;
        }
        Ok(())
    })()
    .map_err(|e| format!("writing CSV: {e}"))?;
    w.into_inner().map_err(|e| format!("writing CSV: {e}"))
}

fn queue<F>(put: &mut F, q: &QueueFigures) -> csv::Result<()>
where
    F: FnMut(&str, &str, &str, &str, String) -> csv::Result<()>,
{
    let name = q.queue.as_str();
    put("queue", name, "", "opened", q.opened.to_string())?;
    put("queue", name, "", "closed", q.closed.to_string())?;
    put("queue", name, "", "backlog", q.backlog.to_string())?;
    for d in &q.days {
        let day = d.date.to_string();
        put("day", name, &day, "opened", d.opened.to_string())?;
        put("day", name, &day, "closed", d.closed.to_string())?;
        put("day", name, &day, "backlog", d.backlog.to_string())?;
    }
    stats(put, name, "first-response", &q.first_response)?;
    stats(put, name, "solution", &q.solution)
}

fn stats<F>(put: &mut F, queue: &str, key: &str, s: &Stats) -> csv::Result<()>
where
    F: FnMut(&str, &str, &str, &str, String) -> csv::Result<()>,
{
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    put("times", queue, key, "count", s.count.to_string())?;
    put("times", queue, key, "median_seconds", opt(s.median_seconds))?;
    put("times", queue, key, "p90_seconds", opt(s.p90_seconds))?;
    for b in &s.distribution {
        put("times", queue, key, &b.label, b.count.to_string())?;
    }
    Ok(())
}
