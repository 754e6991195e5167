//! The key behind our Message-IDs and agents' reply addresses: 32 random bytes, hex, in a file
//! only postdesk reads (mode 0600). Created atomically on first start; two nodes of one site
//! share the file.
//!
//! `postdesk secret rotate` writes a new key and keeps the one it replaces on a `retired` line
//! with the time it was retired, so addresses already in agents' mailboxes keep working for the
//! grace period (`outgoing.secret-grace-days`). The file, after a rotation:
//!
//! ```text
//! 3f9a…(64 hex digits, the current key)
//! retired 2026-03-01T10:00:00Z 71c2…(the key it replaced)
//! ```
//!
//! Which keys still verify is decided without I/O ([`Keys::accepted`]), the time passed in.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};

/// The site's keys: the one that signs, and retired ones that may still verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub current: Vec<u8>,
    pub retired: Vec<Retired>,
}

/// A key a rotation replaced, and when (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retired {
    pub key: Vec<u8>,
    pub at: i64,
}

impl Keys {
    /// Each retired key with the end of its grace (Unix seconds).
    pub fn graces(&self, grace_seconds: i64) -> impl Iterator<Item = (&[u8], i64)> {
        self.retired
            .iter()
            .map(move |r| (r.key.as_slice(), r.at.saturating_add(grace_seconds)))
    }

    /// The retired keys whose grace has not ended at `now`, with the end of their grace.
    pub fn accepted(&self, now: i64, grace_seconds: i64) -> Vec<(&[u8], i64)> {
        self.graces(grace_seconds)
            .filter(|(_, until)| now < *until)
            .collect()
    }

    /// After a rotation at `now` to `new`: the current key retired now, retired keys whose grace
    /// has ended dropped.
    pub fn rotated(&self, new: Vec<u8>, now: i64, grace_seconds: i64) -> Keys {
        let mut retired = vec![Retired {
            key: self.current.clone(),
            at: now,
        }];
        retired.extend(
            self.retired
                .iter()
                .filter(|r| now < r.at.saturating_add(grace_seconds))
                .cloned(),
        );
        Keys {
            current: new,
            retired,
        }
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = format!("{}\n", hex(&self.current));
        for r in &self.retired {
            let at = DateTime::<Utc>::from_timestamp(r.at, 0)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Secs, true);
            out.push_str(&format!("retired {at} {}\n", hex(&r.key)));
        }
        out
    }

    /// Reads the file's text; the reason when it is not a key file.
    pub fn parse(text: &str) -> Result<Keys, String> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().ok_or("empty")?;
        let current = parse_hex(first).ok_or("not a key (at least 32 hex digits expected)")?;
        let mut retired = Vec::new();
        for line in lines {
            let mut words = line.split_whitespace();
            let (Some("retired"), Some(at), Some(key), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(format!("{line:?}: expected 'retired <time> <key>'"));
            };
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|e| format!("{at:?}: not an RFC 3339 time: {e}"))?
                .timestamp();
            let key = parse_hex(key).ok_or("a retired key is not 32 or more hex digits")?;
            retired.push(Retired { key, at });
        }
        Ok(Keys { current, retired })
    }
}

/// Reads the keys; when the file is missing and `create` is set, makes one.
pub fn load(path: &Path, create: bool) -> io::Result<Option<Keys>> {
    match fs::read_to_string(path) {
        Ok(text) => Keys::parse(&text)
            .map(Some)
            .map_err(|e| invalid(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
            let key: [u8; 32] = rand::random();
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            let tmp = write_tmp(path, &format!("{}\n", hex(&key)))?;
            // Another process may have created it meanwhile: the first one wins.
            match fs::hard_link(&tmp, path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
            }
            fs::remove_file(&tmp)?;
            sync_dir(path)?;
            load(path, false)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces the current key with a new random one at `now`, retiring the old one (see
/// [`Keys::rotated`]). The new file is written beside the old and renamed over it, so a crash
/// leaves either file whole; a lock file keeps two rotations from losing one's key.
pub fn rotate(path: &Path, now: i64, grace_seconds: i64) -> io::Result<Keys> {
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path.with_extension("lock"))?;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let keys = load(path, false)?
        .ok_or_else(|| invalid(format!("{}: no key to rotate yet", path.display())))?;
    let new: [u8; 32] = rand::random();
    let next = keys.rotated(new.to_vec(), now, grace_seconds);
    let tmp = write_tmp(path, &next.render())?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path)?;
    Ok(next)
}

/// A new file beside `path` (mode 0600) holding `text`, synced.
fn write_tmp(path: &Path, text: &str) -> io::Result<std::path::PathBuf> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(tmp)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() < 32 || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn created_once_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        assert_eq!(load(&p, false).unwrap(), None);
        let a = load(&p, true).unwrap().unwrap();
        assert_eq!(a.current.len(), 32);
        assert!(a.retired.is_empty());
        assert_eq!(load(&p, true).unwrap().unwrap(), a);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(&p, "short\n").unwrap();
        assert!(load(&p, false).is_err());
    }

    #[test]
    fn rotation_keeps_the_old_key_for_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        assert!(rotate(&p, 0, 30 * DAY).is_err(), "nothing to rotate yet");
        let first = load(&p, true).unwrap().unwrap();
        let t0 = 1_780_000_000;
        let after = rotate(&p, t0, 30 * DAY).unwrap();
        assert_ne!(after.current, first.current);
        assert_eq!(
            after.retired,
            [Retired {
                key: first.current.clone(),
                at: t0
            }]
        );
        assert_eq!(load(&p, false).unwrap().unwrap(), after, "written as read");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Accepted within the grace period, not after it.
        let grace = 30 * DAY;
        assert_eq!(after.accepted(t0 + grace - 1, grace).len(), 1);
        assert!(after.accepted(t0 + grace, grace).is_empty());
        // A second rotation retires the second key and keeps the first while it is in grace;
        // a third after the first's grace drops it.
        let again = rotate(&p, t0 + DAY, grace).unwrap();
        assert_eq!(again.retired.len(), 2);
        let third = rotate(&p, t0 + grace + 1, grace).unwrap();
        let kept: Vec<&Vec<u8>> = third.retired.iter().map(|r| &r.key).collect();
        assert_eq!(kept, [&again.current, &after.current]);
        assert!(!kept.contains(&&first.current));
    }

    #[test]
    fn a_key_file_from_before_rotation_is_read_and_bad_lines_are_refused() {
        let key = "ab".repeat(32);
        let k = Keys::parse(&format!("{key}\n")).unwrap();
        assert!(k.retired.is_empty());
        let k = Keys::parse(&format!(
            "{key}\nretired 2026-03-01T10:00:00Z {}\n",
            "cd".repeat(32)
        ))
        .unwrap();
        assert_eq!(k.retired[0].at, 1_772_359_200);
        assert_eq!(Keys::parse(&k.render()).unwrap(), k);
        for bad in [
            String::new(),
            format!("{key}\nretired yesterday {key}\n"),
            format!("{key}\nretired 2026-03-01T10:00:00Z short\n"),
            format!("{key}\n{key}\n"),
        ] {
            assert!(Keys::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
