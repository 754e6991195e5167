//! The report as one HTML page: the charts inline as SVG (plotters' SVG backend), the tables
//! below, styles for screen and for printing on A4. No script, nothing loaded from elsewhere.

use plotters::prelude::{IntoDrawingArea, SVGBackend};

use super::charts;
use super::figures::Report;
use super::tables::{self, Table};

/// Chart size in CSS pixels; the page scales them to its width.
const CHART: (u32, u32) = (760, 320);

pub fn render(r: &Report) -> Result<Vec<u8>, String> {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("Service report {}", r.period);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", esc(&title)));
    out.push_str(STYLE);
    out.push_str("</head>\n<body>\n");
    out.push_str(&format!(
        "<header>\n<h1>Service report</h1>\n<p class=\"period\">{}</p>\n<p>Queues: {}<br>\
         Durations in {} hours. Days are UTC days.<br>Made {}</p>\n</header>\n",
        esc(&r.period.to_string()),
        esc(&queue_list(r)),
        esc(r.hours),
        esc(&r.generated),
    ));
    for which in 0..charts::COUNT {
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, CHART).into_drawing_area();
            charts::all(&area, r, which)?;
            area.present()
                .map_err(|e| format!("drawing a chart: {e}"))?;
        }
        out.push_str("<figure class=\"chart\">\n");
        out.push_str(&responsive(&svg));
        out.push_str("\n</figure>\n");
    }
    for t in tables::all(r) {
        table(&mut out, &t);
    }
    out.push_str("</body>\n</html>\n");
    Ok(out.into_bytes())
}

pub fn queue_list(r: &Report) -> String {
    if r.queues.is_empty() {
        "none".into()
    } else {
        r.queues.join(", ")
    }
}

/// Plotters writes a fixed width and height; a viewBox lets the page scale the chart.
fn responsive(svg: &str) -> String {
    let (w, h) = CHART;
    svg.replacen(
        &format!("width=\"{w}\" height=\"{h}\""),
        &format!("width=\"100%\" viewBox=\"0 0 {w} {h}\" role=\"img\""),
        1,
    )
}

fn table(out: &mut String, t: &Table) {
    out.push_str(&format!("<section>\n<h2>{}</h2>\n", esc(&t.title)));
    if t.rows.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n</section>\n");
        return;
    }
    out.push_str("<table>\n<thead><tr>");
    for (h, &n) in t.head.iter().zip(&t.numeric) {
        out.push_str(&format!("<th{}>{}</th>", num(n), esc(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let n = t.numeric.get(i).copied().unwrap_or(false);
            out.push_str(&format!("<td{}>{}</td>", num(n), esc(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn num(numeric: bool) -> &'static str {
    if numeric {
        " class=\"n\""
    } else {
        ""
    }
}

/// Text as HTML data: customers' subjects never become markup.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 60em; color: #000; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; }
.period { font-size: 1.3em; margin-top: 0; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
figure.chart { margin: 1.5em 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th.n, td.n { text-align: right; }
.none { color: #555; }
@page { size: A4; margin: 15mm; }
@media print { body { margin: 0; max-width: none; } figure.chart, table { break-inside: avoid; } }
</style>
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_text_is_escaped() {
        assert_eq!(
            esc("<b>&\"x'</b>\r\n"),
            "&lt;b&gt;&amp;&quot;x&#39;&lt;/b&gt;  "
        );
    }
}
