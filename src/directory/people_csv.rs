//! Persons from a CSV file (`[directory] people`), as other systems export them: a header line
//! naming the columns, then one person per line. The columns are the `[[person]]` keys of the
//! directory file (`id`, `display-name`, `first-name`, `last-name`, `mail`, `phone`, `fax`,
//! `language`, `organisations`, `vip`) and `attribute:NAME` for free attributes; a cell of a
//! list column may hold several values separated by `|`. The separator is a comma, a semicolon
//! (spreadsheets in many European locales) or a tab, whichever the header line uses. Unknown
//! columns and bad `vip` values are mistakes, named by line like everything else in the
//! directory; the persons are checked by the same code as the directory file's.

use std::collections::BTreeMap;

use toml::Spanned;

use super::file::{RawPerson, Texts};

/// What one column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Id,
    DisplayName,
    FirstName,
    LastName,
    Mail,
    Phone,
    Fax,
    Language,
    Organisations,
    Vip,
    Attribute(String),
}

impl Column {
    fn named(name: &str) -> Option<Column> {
        let name = name.trim();
        if let Some(a) = name.strip_prefix("attribute:") {
            return (!a.trim().is_empty()).then(|| Column::Attribute(a.trim().to_string()));
        }
        Some(match name.to_ascii_lowercase().as_str() {
            "id" => Column::Id,
            "display-name" => Column::DisplayName,
            "first-name" => Column::FirstName,
            "last-name" => Column::LastName,
            "mail" => Column::Mail,
            "phone" => Column::Phone,
            "fax" => Column::Fax,
            "language" => Column::Language,
            "organisations" => Column::Organisations,
            "vip" => Column::Vip,
            _ => return None,
        })
    }
}

/// The separator the header line uses most.
fn separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |c: char| header.matches(c).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&b| count(b as char))
        .filter(|&b| count(b as char) > 0)
        .unwrap_or(b',')
}

/// A mistake: the byte offset it is at, and what is wrong.
pub type Mistake = (usize, String);

/// The persons of a CSV text, each spanning its line; or every mistake found.
pub(super) fn read(text: &str) -> Result<Vec<Spanned<RawPerson>>, Vec<Mistake>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(text))
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut mistakes = Vec::new();
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![(0, format!("header line: {e}"))]),
    };
    let mut columns = Vec::with_capacity(header.len());
    for name in header.iter() {
        match Column::named(name) {
            Some(c) if columns.contains(&c) => mistakes.push((0, format!("column {name:?} twice"))),
            Some(c) => columns.push(c),
            None => mistakes.push((
                0,
                format!(
                    "unknown column {name:?}: id, display-name, first-name, last-name, mail, \
                     phone, fax, language, organisations, vip or attribute:NAME"
                ),
            )),
        }
    }
    if !mistakes.is_empty() {
        return Err(mistakes);
    }
    let mut persons = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let at = e.position().map(|p| p.byte() as usize).unwrap_or(0);
                mistakes.push((at, e.to_string()));
                continue;
            }
        };
        let at = record.position().map(|p| p.byte() as usize).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let spanned = |v: &str| Spanned::new(at..at, v.trim().to_string());
        let list = |v: &str| -> Texts {
            v.split('|')
                .filter(|x| !x.trim().is_empty())
                .map(spanned)
                .collect()
        };
        let text = |v: &str| v.trim().to_string();
        let mut p = RawPerson {
            id: None,
            display_name: None,
            first_name: String::new(),
            last_name: String::new(),
            mail: Vec::new(),
            phone: Vec::new(),
            fax: Vec::new(),
            language: None,
            organisations: Vec::new(),
            vip: false,
            attributes: BTreeMap::new(),
        };
        for (column, cell) in columns.iter().zip(record.iter()) {
            let empty = cell.trim().is_empty();
            match column {
                Column::Id => p.id = (!empty).then(|| text(cell)),
                Column::DisplayName => p.display_name = (!empty).then(|| text(cell)),
                Column::FirstName => p.first_name = text(cell),
                Column::LastName => p.last_name = text(cell),
                Column::Mail => p.mail = list(cell),
                Column::Phone => p.phone = list(cell),
                Column::Fax => p.fax = list(cell),
                Column::Language => p.language = (!empty).then(|| spanned(cell)),
                Column::Organisations => p.organisations = list(cell),
                Column::Vip => match cell.trim().to_ascii_lowercase().as_str() {
                    "" | "0" | "false" | "no" | "n" | "nein" => p.vip = false,
                    "1" | "true" | "yes" | "y" | "x" | "ja" | "j" => p.vip = true,
                    other => mistakes.push((at, format!("vip {other:?}: yes or no"))),
                },
                Column::Attribute(name) if !empty => {
                    p.attributes.insert(name.clone(), text(cell));
                }
                Column::Attribute(_) => {}
            }
        }
        persons.push(Spanned::new(at..at, p));
    }
    if mistakes.is_empty() {
        Ok(persons)
    } else {
        Err(mistakes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(text: &str, at: usize) -> usize {
        text[..at].matches('\n').count() + 1
    }

    #[test]
    fn a_spreadsheets_export_becomes_persons() {
        let text = "id;first-name;last-name;mail;phone;organisations;vip;attribute:customer-no\n\
                    jane;Jane;Doe;jane@acme.example|j.doe@acme.example;0541 1234-0;acme;ja;K-17\n\
                    ;Max;Muster;max@example.org;;;;\n\
                    ;;;;;;;\n";
        let persons = read(text).unwrap();
        assert_eq!(persons.len(), 2);
        let jane = persons[0].get_ref();
        assert_eq!(jane.id.as_deref(), Some("jane"));
        assert_eq!(jane.mail.len(), 2);
        assert_eq!(jane.mail[1].get_ref(), "j.doe@acme.example");
        assert_eq!(jane.phone[0].get_ref(), "0541 1234-0");
        assert!(jane.vip);
        assert_eq!(jane.attributes["customer-no"], "K-17");
        assert_eq!(line_of(text, persons[1].span().start), 3);
        let max = persons[1].get_ref();
        assert_eq!(max.id, None);
        assert!(max.organisations.is_empty() && !max.vip);
    }

    #[test]
    fn commas_tabs_and_quotes() {
        let text = "mail,display-name\n\"a@x.example\",\"Doe, Jane\"\n";
        let p = read(text).unwrap();
        assert_eq!(p[0].get_ref().display_name.as_deref(), Some("Doe, Jane"));
        let p = read("mail\tlast-name\na@x.example\tDoe\n").unwrap();
        assert_eq!(p[0].get_ref().last_name, "Doe");
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let e = read("mail,email\na@x.example,b\n").unwrap_err();
        assert!(e[0].1.contains("unknown column \"email\""), "{e:?}");
        let text = "mail,vip\na@x.example,yes\nb@x.example,perhaps\n";
        let e = read(text).unwrap_err();
        assert_eq!(line_of(text, e[0].0), 3);
        assert!(e[0].1.contains("vip \"perhaps\""), "{e:?}");
        let text = "mail,vip\na@x.example,yes,extra\n";
        let e = read(text).unwrap_err();
        assert_eq!(line_of(text, e[0].0), 2, "{e:?}");
    }
}
