//! Blocks written before `X-Postdesk-Block` existed: the leading run of `X-Postdesk-*` lines.
//! Such a block has no recorded end, so a message that began with `X-Postdesk-*` lines of its
//! own reads as part of it; the first occurrence of a name wins, so those lines cannot override
//! a field postdesk wrote. Only trees written by older versions are read this way.

const PREFIX: &[u8] = b"x-postdesk-";

/// The fields and the offset just after the run.
pub(super) fn fields(bytes: &[u8]) -> (Vec<(String, String)>, usize) {
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i + 1)
            .unwrap_or(bytes.len());
        let line = &bytes[pos..end];
        if line.len() < PREFIX.len() || !line[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
            break;
        }
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            break;
        };
        fields.push((name.trim().to_string(), value.trim().to_string()));
        pos = end;
    }
    (fields, pos)
}
