//! The report's charts, drawn with plotters on any backend: SVG for HTML, PDF operations for
//! the printed report (`canvas`). Each chart fills the area it is given.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figures::{QueueFigures, Report};
use super::stats::Stats;

pub type Area<DB> = DrawingArea<DB, Shift>;

/// Opened and closed per day, as bar pairs.
pub const VOLUME: &str = "Tickets opened and closed per day";
/// Open tickets at the end of each day, a line per queue.
pub const BACKLOG: &str = "Backlog (open tickets at the end of each day)";
/// First-response and solution times by bucket.
pub const TIMES: &str = "First response and solution times";

const OPENED: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const CLOSED: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&BLACK)
}

fn fail<E: std::fmt::Display>(e: E) -> String {
    format!("drawing a chart: {e}")
}

/// Labels for the days on the x axis: at most about eight, as `MM-DD`.
fn day_label(r: &Report, x: f64) -> String {
    let i = x.floor();
    if i < 0.0 || x - i > 0.01 {
        return String::new();
    }
    r.totals
        .days
        .get(i as usize)
        .map(|d| d.date.format("%m-%d").to_string())
        .unwrap_or_default()
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart over `0..x` and `0..y` with its caption, axes and grid; `x_label` names the x values.
fn frame<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    caption: &str,
    (x, y): (f64, f64),
    x_labels: usize,
    x_label: &dyn Fn(&f64) -> String,
) -> Result<Chart<'a, DB>, String> {
    area.fill(&WHITE).map_err(fail)?;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(13))
        .margin(8)
        .x_label_area_size(22)
        .y_label_area_size(40)
        .build_cartesian_2d(0f64..x, 0f64..y.max(1.0) * 1.15)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(x_labels)
        .x_label_formatter(x_label)
        .y_labels(6)
        .y_label_formatter(&|y| format!("{}", y.round() as i64))
        .label_style(font(9))
        .draw()
        .map_err(fail)?;
    Ok(chart)
}

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    at: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .label_font(font(9))
        .background_style(WHITE)
        .border_style(BLACK)
        .position(at)
        .draw()
        .map_err(fail)
}

/// Bars 0.4 wide at `left` past each whole x, with their legend entry.
fn bars<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    values: impl Iterator<Item = u64>,
    left: f64,
    color: RGBColor,
    name: &str,
) -> Result<(), String> {
    chart
        .draw_series(values.enumerate().map(|(i, v)| {
            let x = i as f64 + left;
            Rectangle::new([(x, 0.0), (x + 0.4, v as f64)], color.filled())
        }))
        .map_err(fail)?
        .label(name)
        .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 10, y + 4)], color.filled()));
    Ok(())
}

pub fn volume<DB: DrawingBackend>(area: &Area<DB>, r: &Report) -> Result<(), String> {
    let days = &r.totals.days;
    let n = days.len().max(1);
    let top = days
        .iter()
        .map(|d| d.opened.max(d.closed))
        .max()
        .unwrap_or(0);
    let label = |x: &f64| day_label(r, x.round());
    let mut chart = frame(area, VOLUME, (n as f64, top as f64), n.clamp(2, 8), &label)?;
    bars(
        &mut chart,
        days.iter().map(|d| d.opened),
        0.1,
        OPENED,
        "opened",
    )?;
    bars(
        &mut chart,
        days.iter().map(|d| d.closed),
        0.5,
        CLOSED,
        "closed",
    )?;
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

pub fn backlog<DB: DrawingBackend>(area: &Area<DB>, r: &Report) -> Result<(), String> {
    let n = r.totals.days.len();
    let per_queue = if r.per_queue.len() > 1 {
        &r.per_queue[..r.per_queue.len().min(PALETTE.len())]
    } else {
        &[]
    };
    let lines: Vec<&QueueFigures> = std::iter::once(&r.totals).chain(per_queue).collect();
    let top = lines
        .iter()
        .flat_map(|q| q.days.iter().map(|d| d.backlog))
        .max()
        .unwrap_or(0);
    let label = |x: &f64| day_label(r, x.round());
    let x = (n.max(2) - 1) as f64;
    let mut chart = frame(area, BACKLOG, (x, top as f64), n.clamp(2, 8), &label)?;
    for (i, q) in lines.iter().enumerate() {
        let color = if i == 0 { BLACK } else { PALETTE[i - 1] };
        let name = if q.queue.is_empty() {
            "all queues".to_string()
        } else {
            q.queue.clone()
        };
        let points = q.days.iter().enumerate();
        chart
            .draw_series(LineSeries::new(
                points.map(|(x, d)| (x as f64, d.backlog as f64)),
                color.stroke_width(2),
            ))
            .map_err(fail)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], color.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

pub fn times<DB: DrawingBackend>(area: &Area<DB>, r: &Report) -> Result<(), String> {
    let series: [(&str, &Stats, RGBColor); 2] = [
        ("first response", &r.totals.first_response, OPENED),
        ("solution", &r.totals.solution, CLOSED),
    ];
    let labels: Vec<String> = r
        .totals
        .first_response
        .distribution
        .iter()
        .map(|b| b.label.clone())
        .collect();
    let n = labels.len();
    let top = series
        .iter()
        .flat_map(|(_, s, _)| s.distribution.iter().map(|b| b.count))
        .max()
        .unwrap_or(0);
    // Labels under the middle of each bucket.
    let label = |x: &f64| {
        let i = x.floor();
        if (x - i - 0.5).abs() < 0.01 {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let caption = format!("{TIMES} ({} hours)", r.hours);
    let mut chart = frame(area, &caption, (n as f64, top as f64), n * 2 + 1, &label)?;
    for (k, (name, stats, color)) in series.into_iter().enumerate() {
        let counts = stats.distribution.iter().map(|b| b.count);
        bars(&mut chart, counts, 0.1 + 0.4 * k as f64, color, name)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// Every chart in the order reports show them.
pub fn all<DB: DrawingBackend>(area: &Area<DB>, r: &Report, which: usize) -> Result<(), String> {
    match which {
        0 => volume(area, r),
        1 => backlog(area, r),
        _ => times(area, r),
    }
}

pub const COUNT: usize = 3;
