//! Who postdesk acts as, and the modes of what it creates: the same for the daemon, `deliver`
//! and every command, whatever the caller's umask or user.
//!
//! - **As root on someone else's data directory** (an admin running `deliver` or `ticket close`
//!   by hand) the process becomes the directory's owner, with that user's groups, before it
//!   touches anything: files created as root would lock the daemon out of its own tree.
//! - **Modes**: the umask is set, not inherited: files 0640 and folders 0750 (owner writes,
//!   its group reads), nothing for others. With `[dovecot] store-group` the store and staging
//!   area belong to that group with the set-group-ID bit (new folders and files inherit the
//!   group) and the umask leaves the group write access, so Dovecot's processes in that group
//!   can read, flag and move mail: files 0660, folders 2770. The index, its WAL and the mail log
//!   are never readable by others.

use std::ffi::CString;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("running as root on {path}, owned by uid {uid}: cannot become that user: {source}")]
    Switch {
        path: PathBuf,
        uid: u32,
        source: io::Error,
    },
    #[error("[dovecot] store-group {0:?}: no such group")]
    NoGroup(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Settles user, umask and the store's group (`[dovecot] store-group`) for this process; call
/// before touching the data directory.
pub fn settle(data_dir: &Path, store_group: Option<&str>) -> Result<(), AccessError> {
    become_owner(data_dir)?;
    let group = match store_group {
        Some(name) => Some(group_id(name).ok_or_else(|| AccessError::NoGroup(name.to_string()))?),
        None => None,
    };
    // SAFETY: umask has no preconditions and cannot fail.
    unsafe { libc::umask(if group.is_some() { 0o007 } else { 0o027 }) };
    Ok(())
}

/// Gives `dirs` (the store and the staging area, whose files are renamed into the store) to
/// the configured Dovecot group; for the processes that write the store, before they open it.
pub fn share_store(dirs: &[PathBuf], store_group: Option<&str>) -> Result<(), AccessError> {
    let Some(name) = store_group else {
        return Ok(());
    };
    let gid = group_id(name).ok_or_else(|| AccessError::NoGroup(name.to_string()))?;
    for dir in dirs {
        share(dir, gid).map_err(|source| AccessError::Io {
            path: dir.clone(),
            source,
        })?;
    }
    Ok(())
}

/// As root, becomes the owner of `data` (when it exists and is not root's).
fn become_owner(data: &Path) -> Result<(), AccessError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(data) else {
        return Ok(());
    };
    if meta.uid() == 0 {
        return Ok(());
    }
    let fail = |source| AccessError::Switch {
        path: data.to_path_buf(),
        uid: meta.uid(),
        source,
    };
    let (name, gid) = user(meta.uid()).unwrap_or((None, meta.gid()));
    // SAFETY: plain system calls on owned, NUL-terminated arguments; each result is checked.
    unsafe {
        let groups = match &name {
            Some(n) => libc::initgroups(n.as_ptr(), gid),
            None => libc::setgroups(1, &gid),
        };
        if groups != 0 || libc::setgid(gid) != 0 || libc::setuid(meta.uid()) != 0 {
            return Err(fail(io::Error::last_os_error()));
        }
    }
    tracing::info!(
        uid = meta.uid(),
        gid,
        "running as the owner of {}",
        data.display()
    );
    Ok(())
}

/// The login name and primary group of a uid, from the user database.
fn user(uid: u32) -> Option<(Option<CString>, u32)> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    // SAFETY: buffers are ours and sized as passed; the result is read only when set.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) }.to_owned();
    Some((Some(name), pw.pw_gid))
}

fn group_id(name: &str) -> Option<u32> {
    if let Ok(gid) = name.parse() {
        return Some(gid);
    }
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    // SAFETY: as in `user`.
    let rc = unsafe {
        libc::getgrnam_r(
            cname.as_ptr(),
            &mut gr,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        )
    };
    (rc == 0 && !out.is_null()).then_some(gr.gr_gid)
}

/// Gives a folder (created if missing) to `gid` with the set-group-ID bit, so what is created
/// in it inherits the group.
fn share(dir: &Path, gid: u32) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.gid() != gid {
        std::os::unix::fs::chown(dir, None, Some(gid))?;
    }
    if meta.permissions().mode() & 0o7777 != 0o2770 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o2770))?;
    }
    Ok(())
}

/// Error context: which path a failed file operation was about.
pub fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Takes every right of others from an existing file (the index, its WAL, the mail log): a
/// file created before postdesk set its umask may be world-readable.
pub fn private(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o007 != 0 => {
            let mode = m.permissions().mode() & 0o7770;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(at(path))
        }
        _ => Ok(()),
    }
}
