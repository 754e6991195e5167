//! Fax pages written byte by byte, without a TIFF library: what the fax code's tests (unit and
//! integration) render, so that they need no sample files and say exactly what is on a page.

/// A little-endian TIFF, uncompressed, one bit per pixel, WhiteIsZero, one strip per page,
/// 204 × 98 dpi: `pages` of `w` × `h` pixels, each row given by `ink(page, row, col)`.
pub fn bilevel(pages: usize, w: u32, h: u32, ink: impl Fn(usize, u32, u32) -> bool) -> Vec<u8> {
    let row_bytes = w.div_ceil(8) as usize;
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut prev_next: usize = 4;
    for p in 0..pages {
        let mut pixels = vec![0u8; row_bytes * h as usize];
        for y in 0..h {
            for x in 0..w {
                if ink(p, y, x) {
                    pixels[y as usize * row_bytes + x as usize / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        let data_at = out.len();
        out.extend(&pixels);
        let res_at = out.len();
        out.extend(204u32.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(98u32.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd_at = out.len();
        out[prev_next..prev_next + 4].copy_from_slice(&(ifd_at as u32).to_le_bytes());
        // (tag, type, count, value): 3 SHORT, 4 LONG, 5 RATIONAL.
        let entries: [(u16, u16, u32, u32); 11] = [
            (256, 4, 1, w),
            (257, 4, 1, h),
            (258, 3, 1, 1),
            (259, 3, 1, 1),
            (262, 3, 1, 0),
            (273, 4, 1, data_at as u32),
            (277, 3, 1, 1),
            (278, 4, 1, h),
            (279, 4, 1, pixels.len() as u32),
            (282, 5, 1, res_at as u32),
            (283, 5, 1, res_at as u32 + 8),
        ];
        out.extend((entries.len() as u16).to_le_bytes());
        for (tag, ty, count, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(ty.to_le_bytes());
            out.extend(count.to_le_bytes());
            out.extend(value.to_le_bytes());
        }
        prev_next = out.len();
        out.extend(0u32.to_le_bytes());
    }
    out
}
