//! The pages of a TIFF fax, ready to be put into a PDF: for CCITT G3/G4 bilevel pages the coded
//! strips themselves (PDF decodes them with its CCITTFaxDecode filter, so nothing is re-encoded
//! and nothing changes), for any other compression the decoded pixels. Pure: bytes in, pages or
//! the reason out; bounded by `MAX_PAGES` and the decoder's buffer limit.

use std::io::Cursor;

use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::Tag;
use tiff::ColorType;

/// More pages than any fax has; a TIFF with more is refused rather than rendered.
pub const MAX_PAGES: usize = 1000;
/// The largest decoded page (bytes) of a TIFF that is not CCITT-coded.
const MAX_DECODED: usize = 64 << 20;
/// What a page without resolution tags is taken to have (a fax's horizontal resolution).
const DEFAULT_DPI: f32 = 200.0;

const T4_OPTIONS: u16 = 292;

/// One page: its size in pixels, its resolution, and its image in horizontal bands.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub width: u32,
    pub height: u32,
    /// Dots per inch, horizontal and vertical (a standard fax: 204 × 98).
    pub dpi: (f32, f32),
    pub bands: Vec<Band>,
}

/// Rows of a page, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub rows: u32,
    pub image: Image,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// A strip as the fax coded it, its bits most significant first.
    Ccitt {
        /// PDF's K: -1 Group 4, 0 Group 3 one-dimensional, > 0 Group 3 two-dimensional.
        k: i32,
        /// Each coded row starts on a byte boundary (TIFF's Modified Huffman, T4Options bit 2).
        byte_align: bool,
        /// The TIFF says 0 is black (BlackIsZero): the decoded bits are inverted.
        invert: bool,
        data: Vec<u8>,
    },
    /// Decoded pixels, rows padded to whole bytes, 0 black.
    Pixels {
        colour: Colour,
        bits: u8,
        data: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Gray,
    Rgb,
}

/// The pages of `tiff`, or why it has none that can be shown.
pub fn read(tiff: &[u8]) -> Result<Vec<Page>, String> {
    let limits = {
        let mut l = Limits::default();
        l.decoding_buffer_size = MAX_DECODED;
        l
    };
    let mut d = Decoder::new(Cursor::new(tiff))
        .map_err(|e| format!("not a TIFF: {e}"))?
        .with_limits(limits);
    let mut pages = Vec::new();
    loop {
        let n = pages.len() + 1;
        pages.push(page(&mut d, tiff).map_err(|e| format!("page {n}: {e}"))?);
        if !d.more_images() {
            return Ok(pages);
        }
        if pages.len() == MAX_PAGES {
            return Err(format!("more than {MAX_PAGES} pages"));
        }
        d.next_image()
            .map_err(|e| format!("page {}: {e}", pages.len() + 1))?;
    }
}

fn page(d: &mut Decoder<Cursor<&[u8]>>, tiff: &[u8]) -> Result<Page, String> {
    let (width, height) = d.dimensions().map_err(|e| e.to_string())?;
    if width == 0 || height == 0 {
        return Err("an empty image".into());
    }
    let dpi = resolution(d);
    let tag = |d: &mut Decoder<Cursor<&[u8]>>, t: Tag, default: u64| {
        d.find_tag_unsigned::<u64>(t)
            .ok()
            .flatten()
            .unwrap_or(default)
    };
    let compression = tag(d, Tag::Compression, 1);
    let bits = tag(d, Tag::BitsPerSample, 1);
    let samples = tag(d, Tag::SamplesPerPixel, 1);
    let ccitt = matches!(compression, 2..=4)
        && bits == 1
        && samples == 1
        && matches!(d.get_chunk_type(), ChunkType::Strip);
    let bands = if ccitt {
        let photometric = tag(d, Tag::PhotometricInterpretation, 0);
        let fill_order = tag(d, Tag::FillOrder, 1);
        let t4 = tag(d, Tag::from_u16_exhaustive(T4_OPTIONS), 0);
        let (k, byte_align) = match compression {
            // Modified Huffman: one-dimensional rows, each starting on a byte, no EOLs.
            2 => (0, true),
            3 if t4 & 1 != 0 => (4, t4 & 4 != 0),
            3 => (0, t4 & 4 != 0),
            _ => (-1, false),
        };
        let strips = coded_strips(d, tiff, height)?;
        strips
            .into_iter()
            .map(|(rows, bytes)| {
                let mut data = bytes.to_vec();
                if fill_order == 2 {
                    data.iter_mut().for_each(|b| *b = b.reverse_bits());
                }
                Band {
                    rows,
                    image: Image::Ccitt {
                        k,
                        byte_align,
                        invert: photometric == 1,
                        data,
                    },
                }
            })
            .collect()
    } else {
        vec![decoded(d, height)?]
    };
    Ok(Page {
        width,
        height,
        dpi,
        bands,
    })
}

/// The coded strips of the current page, each with its row count, borrowed from the file.
fn coded_strips<'t>(
    d: &mut Decoder<Cursor<&[u8]>>,
    tiff: &'t [u8],
    height: u32,
) -> Result<Vec<(u32, &'t [u8])>, String> {
    let offsets = d
        .get_tag_u64_vec(Tag::StripOffsets)
        .map_err(|e| format!("strip offsets: {e}"))?;
    let counts = d
        .get_tag_u64_vec(Tag::StripByteCounts)
        .map_err(|e| format!("strip byte counts: {e}"))?;
    let per_strip = d
        .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
        .ok()
        .flatten()
        .unwrap_or(height)
        .clamp(1, height);
    let expected = height.div_ceil(per_strip) as usize;
    if offsets.len() != counts.len() || offsets.len() != expected {
        return Err(format!(
            "{} strip offsets and {} byte counts for {expected} strips",
            offsets.len(),
            counts.len()
        ));
    }
    let mut out = Vec::with_capacity(expected);
    for (i, (&off, &len)) in offsets.iter().zip(&counts).enumerate() {
        let start = usize::try_from(off).map_err(|_| "strip offset too large")?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= tiff.len() && len > 0)
            .ok_or_else(|| format!("strip {} lies outside the file", i + 1))?;
        let rows = per_strip.min(height - per_strip * i as u32);
        out.push((rows, &tiff[start..end]));
    }
    Ok(out)
}

/// The current page decoded into pixels (any compression the decoder knows).
fn decoded(d: &mut Decoder<Cursor<&[u8]>>, height: u32) -> Result<Band, String> {
    let colour = d.colortype().map_err(|e| e.to_string())?;
    let result = d.read_image().map_err(|e| e.to_string())?;
    let (colour, bits) = match colour {
        ColorType::Gray(b @ (1 | 2 | 4 | 8 | 16)) => (Colour::Gray, b),
        ColorType::RGB(b @ (8 | 16)) => (Colour::Rgb, b),
        other => return Err(format!("{other:?} images are not supported")),
    };
    let (bits, data) = match result {
        DecodingResult::U8(v) => (bits, v),
        // PDF takes 16 bits big-endian; 8 are enough to look at a fax.
        DecodingResult::U16(v) => (8, v.into_iter().map(|x| (x >> 8) as u8).collect()),
        _ => return Err("a sample format other than unsigned integers".into()),
    };
    Ok(Band {
        rows: height,
        image: Image::Pixels { colour, bits, data },
    })
}

/// Dots per inch from XResolution, YResolution and ResolutionUnit (centimetres converted);
/// a missing or nonsensical value is `DEFAULT_DPI`.
fn resolution(d: &mut Decoder<Cursor<&[u8]>>) -> (f32, f32) {
    let per_cm = d
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
        .ok()
        .flatten()
        == Some(3);
    let mut one = |t: Tag| {
        let v = match d.find_tag(t) {
            Ok(Some(tiff::decoder::ifd::Value::Rational(n, den))) if den != 0 => {
                n as f32 / den as f32
            }
            Ok(Some(v)) => v.into_u32().map(|x| x as f32).unwrap_or(0.0),
            _ => 0.0,
        };
        let v = if per_cm { v * 2.54 } else { v };
        if (10.0..=10_000.0).contains(&v) {
            v
        } else {
            DEFAULT_DPI
        }
    };
    (one(Tag::XResolution), one(Tag::YResolution))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fax::sample::bilevel;

    #[test]
    fn uncompressed_pages_are_decoded_with_their_resolution() {
        let t = bilevel(3, 40, 10, |p, y, x| {
            ((x + y) as usize).is_multiple_of(p + 2)
        });
        let pages = read(&t).unwrap();
        assert_eq!(pages.len(), 3);
        let p = &pages[0];
        assert_eq!((p.width, p.height), (40, 10));
        assert_eq!(p.dpi, (204.0, 98.0));
        let Image::Pixels { colour, bits, data } = &p.bands[0].image else {
            panic!("decoded pixels expected")
        };
        assert_eq!((*colour, *bits, data.len()), (Colour::Gray, 1, 50));
        // WhiteIsZero inverted by the decoder: ink (1 in the file) is 0, black, in the PDF.
        assert_eq!(data[0] & 0x80, 0, "pixel (0,0) has ink");
        assert_ne!(data[0] & 0x40, 0, "pixel (0,1) is white");
    }

    #[test]
    fn broken_tiffs_are_errors_never_panics() {
        assert!(read(b"").is_err());
        assert!(read(b"II*\0\x08\0\0\0").is_err());
        assert!(read(b"not a tiff at all").is_err());
        let good = bilevel(2, 16, 4, |_, _, _| true);
        for cut in [8, 20, 40, good.len() - 3] {
            let _ = read(&good[..cut]);
        }
        let mut bad = good.clone();
        for i in (8..bad.len()).step_by(7) {
            bad[i] ^= 0xff;
            let _ = read(&bad);
        }
    }
}
