//! The report for printing: A4 pages with a title page naming the period, the charts as vector
//! drawings (plotters on `canvas`), the tables, and page numbers. Text is set in the PDF's own
//! Helvetica, so no font file is embedded.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use plotters::prelude::IntoDrawingArea;

use super::canvas::{Canvas, FONT};
use super::charts;
use super::figures::Report;
use super::helvetica::{clip, encode, width};
use super::html::queue_list;
use super::tables::{self, Table};

const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 50.0;
const BOTTOM: f32 = 60.0;
const BODY: f32 = 9.0;
const LINE: f32 = 13.0;

struct Pages {
    done: Vec<Content>,
    page: Content,
    /// Where the next line's top is.
    y: f32,
}

impl Pages {
    fn new() -> Pages {
        Pages {
            done: Vec::new(),
            page: Content::new(),
            y: PAGE.1 - MARGIN,
        }
    }

    fn new_page(&mut self) {
        let page = std::mem::replace(&mut self.page, Content::new());
        self.done.push(page);
        self.y = PAGE.1 - MARGIN;
    }

    /// Room for `h` more points on this page, else a new one.
    fn room(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, baseline: f32, size: f32, s: &str) {
        self.page
            .set_fill_rgb(0.0, 0.0, 0.0)
            .begin_text()
            .set_font(FONT, size)
            .next_line(x, baseline)
            .show(Str(&encode(s)))
            .end_text();
    }

    fn line(&mut self, size: f32, s: &str) {
        let h = size * 1.4;
        self.room(h);
        let baseline = self.y - size;
        self.text(MARGIN, baseline, size, s);
        self.y -= h;
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    fn chart(&mut self, r: &Report, which: usize, height: f32) -> Result<(), String> {
        self.room(height);
        let size = ((PAGE.0 - 2.0 * MARGIN) as u32, height as u32);
        let (left, top) = (MARGIN, self.y);
        {
            let canvas = Canvas::new(&mut self.page, left, top, size);
            let area = canvas.into_drawing_area();
            charts::all(&area, r, which)?;
        }
        self.y -= height + 12.0;
        Ok(())
    }

    fn table(&mut self, t: &Table) {
        self.room(LINE * 4.0);
        self.gap(6.0);
        self.line(12.0, &t.title);
        if t.rows.is_empty() {
            self.line(BODY, "None.");
            return;
        }
        let widths = column_widths(t);
        self.row(
            t,
            &t.head.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            &widths,
            true,
        );
        for row in &t.rows {
            if self.y - LINE < BOTTOM {
                self.new_page();
                self.line(BODY, &format!("{} (continued)", t.title));
                self.row(
                    t,
                    &t.head.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
                    &widths,
                    true,
                );
            }
            self.row(t, row, &widths, false);
        }
    }

    fn row(&mut self, t: &Table, cells: &[String], widths: &[f32], head: bool) {
        let baseline = self.y - BODY;
        let mut x = MARGIN;
        for (i, cell) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(60.0);
            let s = clip(cell, BODY, w - 6.0);
            let numeric = t.numeric.get(i).copied().unwrap_or(false);
            let at = if numeric {
                x + w - 6.0 - width(&s, BODY)
            } else {
                x
            };
            self.text(at, baseline, BODY, &s);
            x += w;
        }
        self.y -= LINE;
        if head {
            self.page
                .set_stroke_rgb(0.0, 0.0, 0.0)
                .set_line_width(0.5)
                .move_to(MARGIN, self.y + 2.0)
                .line_to(PAGE.0 - MARGIN, self.y + 2.0)
                .stroke();
        }
    }

    fn finish(mut self) -> Vec<Content> {
        self.done.push(self.page);
        self.done
    }
}

/// Column widths in proportion to their longest cell, filling the text width.
fn column_widths(t: &Table) -> Vec<f32> {
    let want: Vec<f32> = (0..t.head.len())
        .map(|i| {
            std::iter::once(t.head[i])
                .chain(t.rows.iter().filter_map(|r| r.get(i).map(String::as_str)))
                .map(|s| width(s, BODY) + 8.0)
                .fold(30.0, f32::max)
        })
        .collect();
    let total: f32 = want.iter().sum();
    let avail = PAGE.0 - 2.0 * MARGIN;
    if total <= avail {
        return want;
    }
    // Shrink the wide columns (subjects) first: each keeps at least its share.
    let share = avail / want.len() as f32;
    let narrow: f32 = want.iter().filter(|w| **w <= share).sum();
    let wide: f32 = want.iter().filter(|w| **w > share).sum();
    let scale = (avail - narrow) / wide;
    want.iter()
        .map(|w| if *w <= share { *w } else { w * scale })
        .collect()
}

pub fn render(r: &Report) -> Result<Vec<u8>, String> {
    let mut p = Pages::new();
    // The title page.
    p.gap(180.0);
    p.line(28.0, "Service report");
    p.gap(8.0);
    p.line(16.0, &r.period.to_string());
    p.gap(20.0);
    p.line(11.0, &format!("Queues: {}", queue_list(r)));
    p.line(
        11.0,
        &format!("Durations in {} hours. Days are UTC days.", r.hours),
    );
    p.line(11.0, &format!("Made {}", r.generated));
    p.gap(20.0);
    let t = &r.totals;
    p.line(
        11.0,
        &format!(
            "Opened: {}   Closed: {}   Open at the end: {}",
            t.opened, t.closed, t.backlog
        ),
    );
    p.new_page();
    // The charts, then the tables.
    p.chart(r, 0, 330.0)?;
    p.chart(r, 1, 330.0)?;
    p.new_page();
    p.chart(r, 2, 300.0)?;
    for t in tables::all(r) {
        p.table(&t);
    }
    let pages = p.finish();
    Ok(assemble(r, pages))
}

/// The document: catalog, page tree, the font, each page with its footer.
fn assemble(r: &Report, pages: Vec<Content>) -> Vec<u8> {
    let n = pages.len();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let info = Ref::new(4);
    let page_ref = |i: usize| Ref::new(5 + 2 * i as i32);
    let content_ref = |i: usize| Ref::new(6 + 2 * i as i32);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids((0..n).map(page_ref)).count(n as i32);
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(&format!("Service report {}", r.period)))
        .producer(TextStr("postdesk"));
    for (i, mut c) in pages.into_iter().enumerate() {
        let footer = format!("Service report {}  ·  page {} of {}", r.period, i + 1, n);
        let w = width(&footer, 8.0);
        c.set_fill_rgb(0.3, 0.3, 0.3)
            .begin_text()
            .set_font(FONT, 8.0)
            .next_line((PAGE.0 - w) / 2.0, 30.0)
            .show(Str(&encode(&footer)))
            .end_text();
        let mut page = pdf.page(page_ref(i));
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .contents(content_ref(i));
        page.resources().fonts().pair(FONT, font);
        page.finish();
        pdf.stream(content_ref(i), &c.finish());
    }
    pdf.finish()
}
