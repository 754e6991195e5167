//! Reading the templates folder: which files there are, and their text as UTF-8.

use std::path::{Path, PathBuf};

use super::TemplateError;

/// Folders below the templates folder: `<lang>/queues/<Queue>/responses`.
const MAX_FOLDER_DEPTH: usize = 4;

pub(super) fn read_utf8(path: &Path) -> Result<String, TemplateError> {
    let bytes = std::fs::read(path)
        .map_err(|e| TemplateError::new(path, None, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        TemplateError::new(path, Some(line), "not UTF-8 text: save the file as UTF-8")
    })
}

/// Collects `*.txt` files below `dir` with their path components relative to the root.
pub(super) fn walk(
    dir: &Path,
    components: &mut Vec<String>,
    files: &mut Vec<(PathBuf, Vec<String>)>,
    errors: &mut Vec<TemplateError>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            return errors.push(TemplateError::new(
                dir,
                None,
                format!("cannot read folder: {e}"),
            ))
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                errors.push(TemplateError::new(
                    dir,
                    None,
                    format!("cannot read folder: {e}"),
                ));
                continue;
            }
        };
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            errors.push(TemplateError::new(&path, None, "file name is not UTF-8"));
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // Follows symbolic links: an admin may link a file or folder into place.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                if components.len() >= MAX_FOLDER_DEPTH {
                    errors.push(TemplateError::new(
                        &path,
                        None,
                        "folder too deep for the layout (see templates/README.md)",
                    ));
                    continue;
                }
                components.push(name);
                walk(&path, components, files, errors);
                components.pop();
            }
            Ok(_) if name.ends_with(".txt") => {
                let mut c = components.clone();
                c.push(name);
                files.push((path, c));
            }
            Ok(_) => {}
            Err(e) => errors.push(TemplateError::new(&path, None, format!("cannot read: {e}"))),
        }
    }
}
