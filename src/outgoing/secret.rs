//! The key behind our Message-IDs and agents' reply addresses: 32 random bytes, hex, in a file
//! only postdesk reads (mode 0600). Created atomically on first start; two nodes of one site
//! share the file.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Reads the key; when the file is missing and `create` is set, makes one.
pub fn load(path: &Path, create: bool) -> io::Result<Option<Vec<u8>>> {
    match fs::read_to_string(path) {
        Ok(text) => parse(text.trim()).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: not a key (at least 32 hex digits expected)",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
            let key: [u8; 32] = rand::random();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(format!("{hex}\n").as_bytes())?;
            f.sync_all()?;
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
            if let Some(dir) = path.parent() {
                fs::File::open(dir)?.sync_all()?;
            }
            load(path, false)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse(hex: &str) -> Option<Vec<u8>> {
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

    #[test]
    fn created_once_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        assert_eq!(load(&p, false).unwrap(), None);
        let a = load(&p, true).unwrap().unwrap();
        assert_eq!(a.len(), 32);
        assert_eq!(load(&p, true).unwrap().unwrap(), a);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(&p, "short\n").unwrap();
        assert!(load(&p, false).is_err());
    }
}
