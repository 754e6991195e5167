//! A PDF of a fax's pages (`pages`), one PDF page per TIFF page at the size the fax's
//! resolution gives it (a standard fax's 204 × 98 dpi makes square pixels twice as tall as
//! wide on paper, as they were sent). CCITT strips go in as they are, under CCITTFaxDecode;
//! decoded pixels are Flate-compressed.

use std::io::Write;

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};

use super::pages::{Colour, Image, Page};

/// The PDF of `pages`.
pub fn write(pages: &[Page]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let ids: Vec<Ref> = pages.iter().map(|_| alloc()).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().copied())
        .count(pages.len() as i32);
    for (page, &id) in pages.iter().zip(&ids) {
        let width = page.width as f32 / page.dpi.0 * 72.0;
        let height = page.height as f32 / page.dpi.1 * 72.0;
        let contents = alloc();
        let images: Vec<Ref> = page.bands.iter().map(|_| alloc()).collect();
        let mut content = Content::new();
        let mut top = height;
        for (i, band) in page.bands.iter().enumerate() {
            let h = band.rows as f32 / page.dpi.1 * 72.0;
            content
                .save_state()
                .transform([width, 0.0, 0.0, h, 0.0, top - h])
                .x_object(Name(format!("Im{i}").as_bytes()))
                .restore_state();
            top -= h;
        }
        pdf.stream(contents, &content.finish());
        let mut p = pdf.page(id);
        p.media_box(Rect::new(0.0, 0.0, width, height))
            .parent(tree)
            .contents(contents);
        {
            let mut resources = p.resources();
            let mut x = resources.x_objects();
            for (i, r) in images.iter().enumerate() {
                x.pair(Name(format!("Im{i}").as_bytes()), *r);
            }
        }
        p.finish();
        for (band, &r) in page.bands.iter().zip(&images) {
            match &band.image {
                Image::Ccitt {
                    k,
                    byte_align,
                    invert,
                    data,
                } => {
                    let mut img = pdf.image_xobject(r, data);
                    img.filter(Filter::CcittFaxDecode);
                    img.width(page.width as i32)
                        .height(band.rows as i32)
                        .bits_per_component(1);
                    img.color_space().device_gray();
                    if *invert {
                        img.decode([1.0, 0.0]);
                    }
                    img.decode_parms()
                        .k(*k)
                        .columns(page.width as i32)
                        .rows(band.rows as i32)
                        .encoded_byte_align(*byte_align)
                        .black_is_1(false);
                }
                Image::Pixels { colour, bits, data } => {
                    let packed = deflate(data);
                    let mut img = pdf.image_xobject(r, &packed);
                    img.filter(Filter::FlateDecode);
                    img.width(page.width as i32)
                        .height(band.rows as i32)
                        .bits_per_component(i32::from(*bits));
                    match colour {
                        Colour::Gray => img.color_space().device_gray(),
                        Colour::Rgb => img.color_space().device_rgb(),
                    };
                }
            }
        }
    }
    pdf.finish()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fax::pages::{self, Band};

    #[test]
    fn a_page_per_tiff_page_sized_by_the_resolution() {
        let t =
            crate::fax::sample::bilevel(3, 1728, 1143, |_, y, x| (x / 8 + y / 8).is_multiple_of(2));
        let pages = pages::read(&t).unwrap();
        let pdf = write(&pages);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-"));
        let pages_objects =
            text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
        assert_eq!(pages_objects, 3);
        // 1728 dots at 204 dpi: 609.9 pt wide; 1143 rows at 98 dpi: 839.8 pt tall.
        assert!(text.contains("/MediaBox [0 0 609.88"), "{}", &text[..900]);
        assert!(text.contains("839.75"));
        assert!(text.contains("/FlateDecode"));
    }

    #[test]
    fn ccitt_strips_keep_their_bytes_and_parameters() {
        let page = Page {
            width: 1728,
            height: 20,
            dpi: (204.0, 196.0),
            bands: vec![Band {
                rows: 20,
                image: Image::Ccitt {
                    k: -1,
                    byte_align: false,
                    invert: false,
                    data: b"G4-CODED-BYTES".to_vec(),
                },
            }],
        };
        let pdf = write(&[page]);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/CCITTFaxDecode"));
        assert!(text.contains("/K -1"));
        assert!(text.contains("/Columns 1728"));
        assert!(text.contains("G4-CODED-BYTES"));
    }
}
