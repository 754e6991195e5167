//! The directory file admins edit: TOML, strict like the configuration. Every mistake (an
//! unknown key, a number that is none, an address given twice, an organisation or queue that
//! does not exist) is named with the file and the line it is on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::people::Directory;
use crate::people::Numbering;

mod check;
mod pieces;

/// One mistake in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryError {
    pub path: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    person: Vec<Spanned<RawPerson>>,
    #[serde(default)]
    organisation: Vec<Spanned<RawOrganisation>>,
    #[serde(default)]
    service: Vec<Spanned<RawService>>,
    #[serde(default)]
    group: Vec<Spanned<RawGroup>>,
}

pub(super) type Texts = Vec<Spanned<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPerson {
    pub(super) id: Option<String>,
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) first_name: String,
    #[serde(default)]
    pub(super) last_name: String,
    #[serde(default)]
    pub(super) mail: Texts,
    #[serde(default)]
    pub(super) phone: Texts,
    #[serde(default)]
    pub(super) fax: Texts,
    #[serde(default)]
    pub(super) language: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) organisations: Texts,
    #[serde(default)]
    pub(super) vip: bool,
    #[serde(default)]
    pub(super) attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawOrganisation {
    id: String,
    name: String,
    #[serde(default)]
    domains: Texts,
    #[serde(default)]
    phone: Texts,
    #[serde(default)]
    service: Vec<Spanned<RawInstance>>,
    #[serde(default)]
    customers_see_organisation: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawInstance {
    service: String,
    #[serde(default)]
    sla: String,
    greeting: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawService {
    name: String,
    #[serde(default)]
    hotline: Texts,
    default_instance: Option<RawDefaultInstance>,
    #[serde(default)]
    greeting: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDefaultInstance {
    #[serde(default)]
    sla: String,
    greeting: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGroup {
    name: String,
    #[serde(default)]
    queues: Texts,
    #[serde(default)]
    members: Texts,
}

/// Reads and checks the file and the CSV files of persons beside it (`people`). `queues` are
/// the configured queue names groups may name.
pub fn load(
    path: &Path,
    people: &[PathBuf],
    numbering: &Numbering,
    queues: &[String],
) -> Result<Directory, Vec<DirectoryError>> {
    let read = |path: &Path, what: &str| {
        std::fs::read_to_string(path).map_err(|e| {
            vec![DirectoryError {
                path: path.to_path_buf(),
                line: 0,
                message: format!("cannot read the {what}: {e}"),
            }]
        })
    };
    let text = read(path, "directory file")?;
    let mut csvs = Vec::with_capacity(people.len());
    for p in people {
        csvs.push((p.clone(), read(p, "people file")?));
    }
    parse_all(&text, path, &csvs, numbering, queues)
}

/// Checks the text of a directory file.
pub fn parse(
    text: &str,
    path: &Path,
    numbering: &Numbering,
    queues: &[String],
) -> Result<Directory, Vec<DirectoryError>> {
    parse_all(text, path, &[], numbering, queues)
}

/// The directory file's text and the CSV files of persons (path, text), checked together: an
/// address or id given twice is a mistake across files too.
fn parse_all(
    text: &str,
    path: &Path,
    people: &[(PathBuf, String)],
    numbering: &Numbering,
    queues: &[String],
) -> Result<Directory, Vec<DirectoryError>> {
    let mut c = Checker {
        text,
        path,
        numbering,
        errors: Vec::new(),
    };
    let pieces = match text.len() > pieces::PIECE {
        true => pieces::parse(text),
        false => None,
    };
    let raw: RawFile = match pieces.map_or_else(|| toml::from_str(text), Ok) {
        Ok(r) => r,
        Err(e) => {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            c.error(at, e.message().trim_end().replace('\n', " | "));
            return Err(c.errors);
        }
    };
    let services = c.services(raw.service);
    let service_names: HashSet<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let organisations = c.organisations(raw.organisation, &service_names);
    let org_ids: HashSet<&str> = organisations.iter().map(|o| o.id.as_str()).collect();
    let (mut ids, mut seen) = (HashSet::new(), HashMap::new());
    let mut persons = c.persons(raw.person, &org_ids, &mut ids, &mut seen);
    for (csv_path, csv_text) in people {
        let mut cc = Checker {
            text: csv_text,
            path: csv_path,
            numbering,
            errors: Vec::new(),
        };
        match super::people_csv::read(csv_text) {
            Ok(raw) => persons.extend(cc.persons(raw, &org_ids, &mut ids, &mut seen)),
            Err(errors) => {
                for (at, message) in errors {
                    cc.error(at, message);
                }
            }
        }
        c.errors.append(&mut cc.errors);
    }
    let groups = c.groups(raw.group, queues);
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    Ok(Directory {
        persons,
        organisations,
        services,
        groups,
    })
}

struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
    numbering: &'a Numbering,
    errors: Vec<DirectoryError>,
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
