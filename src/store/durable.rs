//! Durability primitives. Group commit: rather than one fsync per file and per directory, a
//! batch is written and then flushed with one `syncfs(2)`, which returns only once every dirty
//! page and metadata change of the file system is on stable storage.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

pub fn syncfs(any_path_on_fs: &Path) -> io::Result<()> {
    let f = File::open(any_path_on_fs)?;
    // SAFETY: syncfs takes a valid open descriptor, which `f` holds for the duration of the call.
    let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
