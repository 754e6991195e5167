//! A large directory file read in pieces: toml builds its whole token list and document before
//! serde sees the first entry (4.3 GB for a file of a million persons), so a file over
//! `PIECE` bytes is cut before top-level `[[person]]`, `[[organisation]]`, `[[service]]` and
//! `[[group]]` lines into pieces of about that size, each read on its own, and each entry's
//! positions moved back to where it is in the whole file (errors name the right line). Entries
//! of these arrays are independent tables, so the pieces say what the whole says; a cut that
//! fell inside a multi-line string leaves a piece that does not parse, and then the whole file
//! is read at once, which also names any real mistake exactly as before.

use std::ops::Range;

use toml::Spanned;

use super::{RawFile, RawGroup, RawOrganisation, RawPerson, RawService, Texts};

/// Files up to this size are read at once; larger ones in pieces of about this size.
pub(super) const PIECE: usize = 1 << 20;

/// The file read piece by piece; `None` when a piece does not parse on its own.
pub(super) fn parse(text: &str) -> Option<RawFile> {
    let mut all = RawFile {
        person: Vec::new(),
        organisation: Vec::new(),
        service: Vec::new(),
        group: Vec::new(),
    };
    for r in cuts(text) {
        let by = r.start;
        let raw: RawFile = toml::from_str(&text[r]).ok()?;
        all.person
            .extend(raw.person.into_iter().map(|p| entry(p, by, person)));
        all.organisation.extend(
            raw.organisation
                .into_iter()
                .map(|o| entry(o, by, organisation)),
        );
        all.service
            .extend(raw.service.into_iter().map(|s| entry(s, by, service)));
        all.group
            .extend(raw.group.into_iter().map(|g| entry(g, by, group)));
    }
    Some(all)
}

/// Where the pieces are: each ends where a top-level array entry starts, after `PIECE` bytes.
fn cuts(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut pos) = (0, 0);
    for line in text.split_inclusive('\n') {
        let l = line.trim();
        let header = matches!(
            l,
            "[[person]]" | "[[organisation]]" | "[[service]]" | "[[group]]"
        );
        if header && pos - start >= PIECE {
            out.push(start..pos);
            start = pos;
        }
        pos += line.len();
    }
    out.push(start..text.len());
    out
}

fn moved(r: Range<usize>, by: usize) -> Range<usize> {
    r.start + by..r.end + by
}

fn texts(t: Texts, by: usize) -> Texts {
    t.into_iter()
        .map(|s| {
            let span = moved(s.span(), by);
            Spanned::new(span, s.into_inner())
        })
        .collect()
}

fn entry<T>(s: Spanned<T>, by: usize, inner: fn(T, usize) -> T) -> Spanned<T> {
    let span = moved(s.span(), by);
    Spanned::new(span, inner(s.into_inner(), by))
}

fn person(p: RawPerson, by: usize) -> RawPerson {
    RawPerson {
        mail: texts(p.mail, by),
        phone: texts(p.phone, by),
        fax: texts(p.fax, by),
        language: p.language.map(|l| entry(l, by, |s, _| s)),
        organisations: texts(p.organisations, by),
        ..p
    }
}

fn organisation(o: RawOrganisation, by: usize) -> RawOrganisation {
    RawOrganisation {
        domains: texts(o.domains, by),
        phone: texts(o.phone, by),
        service: o
            .service
            .into_iter()
            .map(|i| entry(i, by, |i, _| i))
            .collect(),
        ..o
    }
}

fn service(s: RawService, by: usize) -> RawService {
    RawService {
        hotline: texts(s.hotline, by),
        ..s
    }
}

fn group(g: RawGroup, by: usize) -> RawGroup {
    RawGroup {
        queues: texts(g.queues, by),
        members: texts(g.members, by),
        ..g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_say_what_the_whole_says_with_the_same_lines() {
        let mut text = String::from("[[service]]\nname = \"S\"\n\n");
        for i in 0..40_000 {
            text.push_str(&format!(
                "[[person]]\nmail = [\"p{i}@x.example\"]\nphone = [\"0541 {i}\"]\n\n"
            ));
        }
        text.push_str("[[organisation]]\nid = \"o\"\nname = \"O\"\ndomains = [\"x.example\"]\n");
        assert!(cuts(&text).len() > 1);
        let pieces = parse(&text).unwrap();
        let whole: RawFile = toml::from_str(&text).unwrap();
        assert_eq!(pieces.person.len(), 40_000);
        for (a, b) in pieces.person.iter().zip(&whole.person) {
            assert_eq!(a.span(), b.span());
            assert_eq!(a.get_ref().mail[0].span(), b.get_ref().mail[0].span());
            assert_eq!(a.get_ref().mail[0].get_ref(), b.get_ref().mail[0].get_ref());
        }
        assert_eq!(
            pieces.organisation[0].get_ref().domains[0].span(),
            whole.organisation[0].get_ref().domains[0].span()
        );
        // A cut inside a multi-line string: the piece before does not parse on its own.
        let broken = format!(
            "[[person]]\nid = \"\"\"\n{}[[person]]\n\"\"\"\n",
            "x\n".repeat(PIECE)
        );
        assert!(parse(&broken).is_none());
        assert!(toml::from_str::<RawFile>(&broken).is_ok());
    }
}
