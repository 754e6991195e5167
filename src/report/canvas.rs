//! A plotters drawing backend that writes PDF content-stream operations: charts stay vectors
//! (lines, rectangles, polygons, Helvetica text) on the report's pages. Plotters measures from
//! the top left in points; PDF from the bottom left.

use pdf_writer::{Content, Name, Str};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use super::helvetica;

/// The font resource name pages give Helvetica.
pub const FONT: Name<'static> = Name(b"F1");

pub struct Canvas<'a> {
    content: &'a mut Content,
    /// The area's top left corner on the page (PDF coordinates).
    left: f32,
    top: f32,
    size: (u32, u32),
}

impl<'a> Canvas<'a> {
    /// A canvas of `size` points whose top left corner is at (`left`, `top`) on the page.
    pub fn new(content: &'a mut Content, left: f32, top: f32, size: (u32, u32)) -> Canvas<'a> {
        Canvas {
            content,
            left,
            top,
            size,
        }
    }

    fn at(&self, (x, y): BackendCoord) -> (f32, f32) {
        (self.left + x as f32, self.top - y as f32)
    }

    fn stroke(&mut self, color: BackendColor, width: u32) {
        let (r, g, b) = rgb(color);
        self.content
            .set_stroke_rgb(r, g, b)
            .set_line_width(width.max(1) as f32 * 0.75);
    }

    /// Lines through `points`; `false` when there were none.
    fn trace(&mut self, points: impl IntoIterator<Item = BackendCoord>) -> bool {
        let mut first = true;
        for p in points {
            let (x, y) = self.at(p);
            if first {
                self.content.move_to(x, y);
                first = false;
            } else {
                self.content.line_to(x, y);
            }
        }
        !first
    }

    fn fill(&mut self, color: BackendColor) {
        let (r, g, b) = rgb(color);
        self.content.set_fill_rgb(r, g, b);
    }
}

/// A colour with its transparency laid over white paper.
fn rgb(c: BackendColor) -> (f32, f32, f32) {
    let a = c.alpha.clamp(0.0, 1.0) as f32;
    let mix = |v: u8| (v as f32 / 255.0) * a + (1.0 - a);
    (mix(c.rgb.0), mix(c.rgb.1), mix(c.rgb.2))
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = std::convert::Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if color.alpha == 0.0 {
            return Ok(());
        }
        self.fill(color);
        let (x, y) = self.at(point);
        self.content.rect(x, y - 1.0, 1.0, 1.0).fill_nonzero();
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.draw_path([from, to], style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let (x0, y0) = self.at(upper_left);
        let (x1, y1) = self.at(bottom_right);
        if fill {
            self.fill(style.color());
            self.content.rect(x0, y1, x1 - x0, y0 - y1).fill_nonzero();
        } else {
            self.stroke(style.color(), style.stroke_width());
            self.content.rect(x0, y1, x1 - x0, y0 - y1).stroke();
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        self.stroke(style.color(), style.stroke_width());
        if self.trace(path) {
            self.content.stroke();
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let (cx, cy) = self.at(center);
        let r = radius as f32;
        // Four Bézier quarters; 0.5523 puts their middles on the circle.
        let k = 0.5523 * r;
        let c = &mut *self.content;
        c.move_to(cx + r, cy);
        c.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
        c.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
        c.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
        c.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
        c.close_path();
        if fill {
            self.fill(style.color());
            self.content.fill_nonzero();
        } else {
            self.stroke(style.color(), style.stroke_width());
            self.content.stroke();
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        self.fill(style.color());
        if self.trace(vert) {
            self.content.close_path().fill_nonzero();
        }
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let size = style.size() as f32;
        let w = helvetica::width(text, size);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -w / 2.0,
            HPos::Right => -w,
        };
        // From the anchor to the baseline, downwards.
        let down = match anchor.v_pos {
            VPos::Top => helvetica::ASCENT * size,
            VPos::Center => (helvetica::ASCENT - helvetica::DESCENT) / 2.0 * size,
            VPos::Bottom => -helvetica::DESCENT * size,
        };
        let (x, y) = self.at(pos);
        self.fill(style.color());
        self.content
            .begin_text()
            .set_font(FONT, size)
            .next_line(x + dx, y - down)
            .show(Str(&helvetica::encode(text)))
            .end_text();
        Ok(())
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let size = style.size() as f32;
        Ok((
            helvetica::width(text, size).ceil() as u32,
            ((helvetica::ASCENT + helvetica::DESCENT) * size).ceil() as u32,
        ))
    }
}
