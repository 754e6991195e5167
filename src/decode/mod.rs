//! Header text as a reader sees it: RFC 2047 words joined across a split character, RFC 2231
//! parameter pieces joined before their charset applies, undeclared 8-bit bytes read in the
//! charset that fits the message, and raw ISO-2022-JP (see `charset`). `parse` decodes every subject, display name and
//! attachment name through here, so the index, `ticket`, `explain` and the templates all show
//! the same text; the stored bytes are never changed.

mod charset;
mod params;
mod words;

pub use charset::Fallback;

/// One message's header decoder; it remembers the fallback charset once chosen.
pub struct HeaderText<'a> {
    fallback: Fallback<'a>,
}

impl<'a> HeaderText<'a> {
    pub fn new(fallback: Fallback<'a>) -> HeaderText<'a> {
        HeaderText { fallback }
    }

    /// An unstructured value (Subject): unfolded, 8-bit bytes read, encoded words decoded.
    pub fn unstructured(&mut self, raw: &[u8]) -> String {
        words::decode(&unfold(raw), &mut self.fallback)
    }

    /// An address header rewritten for a parser that reads RFC 6532 UTF-8 and single encoded
    /// words, or `None` when it needs no rewriting (plain UTF-8 with at most one encoded word).
    pub fn address(&mut self, raw: &[u8]) -> Option<Vec<u8>> {
        if std::str::from_utf8(raw).is_ok()
            && !words::has_several(raw)
            && !charset::looks_iso_2022_jp(raw)
        {
            return None;
        }
        Some(words::merge(raw, &mut self.fallback))
    }

    /// A part's file name from its raw Content-Disposition and Content-Type values.
    pub fn file_name(
        &mut self,
        disposition: Option<&[u8]>,
        content_type: Option<&[u8]>,
    ) -> Option<String> {
        let unfolded = |raw: Option<&[u8]>| raw.map(unfold);
        params::file_name(
            unfolded(disposition).as_deref(),
            unfolded(content_type).as_deref(),
            &mut self.fallback,
        )
    }
}

/// Unfolding: a run of white space that holds a line break becomes one space (folding is the
/// mailer's layout, not the writer's text); white space within a line stays as written.
fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let run = raw[i..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        if run == 0 {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let space = &raw[i..i + run];
        if space.iter().any(|&b| b == b'\n' || b == b'\r') {
            out.push(b' ');
        } else {
            out.extend_from_slice(space);
        }
        i += run;
    }
    out
}
