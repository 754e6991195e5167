//! Free space of the file system the data directory is on, for `postdesk status`: a batch that
//! does not fit waits at its source, so running out is worth a warning before it happens.

use std::path::Path;

use serde::Serialize;

/// Below this many free bytes (or this share of the file system) status warns.
pub const LOW_BYTES: u64 = 256 << 20;
/// Below this share of free bytes or free inodes, in percent, status warns.
pub const LOW_PERCENT: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Space {
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub free_inodes: u64,
    pub total_inodes: u64,
}

/// What `statvfs` says about the file system `path` is on (space an unprivileged writer may use).
pub fn of(path: &Path) -> std::io::Result<Space> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let unit = st.f_frsize as u64;
    Ok(Space {
        free_bytes: st.f_bavail as u64 * unit,
        total_bytes: st.f_blocks as u64 * unit,
        free_inodes: st.f_favail as u64,
        total_inodes: st.f_files as u64,
    })
}

/// The warning to show for `s`, if space or inodes run low. A file system without an inode
/// limit (it reports none) is judged by its bytes alone.
pub fn warning(s: &Space) -> Option<String> {
    let low = |free: u64, total: u64| total > 0 && free * 100 < total * LOW_PERCENT;
    let mut why = Vec::new();
    if s.free_bytes < LOW_BYTES || low(s.free_bytes, s.total_bytes) {
        why.push(format!(
            "{} free of {}",
            mb(s.free_bytes),
            mb(s.total_bytes)
        ));
    }
    if low(s.free_inodes, s.total_inodes) {
        why.push(format!(
            "{} of {} inodes free",
            s.free_inodes, s.total_inodes
        ));
    }
    (!why.is_empty()).then(|| {
        format!(
            "the data directory's file system is nearly full ({}): mail that does not fit waits \
             at its source",
            why.join(", ")
        )
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(free_bytes: u64, total_bytes: u64, free_inodes: u64, total_inodes: u64) -> Space {
        Space {
            free_bytes,
            total_bytes,
            free_inodes,
            total_inodes,
        }
    }

    #[test]
    fn warns_when_bytes_or_inodes_run_low() {
        let g = 1 << 30;
        assert_eq!(warning(&space(50 * g, 100 * g, 500, 1000)), None);
        assert_eq!(
            warning(&space(50 * g, 100 * g, 0, 0)),
            None,
            "no inode limit"
        );
        let w = warning(&space(4 * g, 100 * g, 500, 1000)).unwrap();
        assert!(w.contains("free of"), "{w}");
        let w = warning(&space(100 << 20, 100 * g, 500, 1000)).unwrap();
        assert!(w.contains("104.9 MB free"), "{w}");
        let w = warning(&space(50 * g, 100 * g, 49, 1000)).unwrap();
        assert!(
            w.contains("49 of 1000 inodes free") && !w.contains("MB free"),
            "{w}"
        );
    }
}
