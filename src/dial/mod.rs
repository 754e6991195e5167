//! Click-to-dial: an agent's call placed through the site's PBXs. `config` (`[[pbx]]`),
//! `template` (a PBX's JSON body with the values put in as data), `attempt` (the PBXs in
//! priority order until one places the call: pure, the request sent through a function it is
//! given), `http` (that request over HTTP or HTTPS, with a deadline), `extension` (an agent's
//! extension from the directory). The daemon's dialler, which places the calls agents asked for
//! by mail off intake's path, is `rounds::dial`.

pub mod attempt;
pub mod config;
pub mod extension;
pub mod http;
pub mod template;

pub use attempt::{place, Attempt, Tried, Verdict};
pub use config::PbxConfig;

/// One PBX asked to place the call `values` describe: its body filled in, its token read.
/// `resolve`: a path of the configuration (the token file) made absolute.
pub fn send(
    resolve: &dyn Fn(&std::path::Path) -> std::path::PathBuf,
    pbx: &PbxConfig,
    values: &template::Values,
) -> Result<u16, String> {
    let body = template::render(&pbx.body, values)?;
    let token = match &pbx.token_file {
        None => None,
        Some(f) => Some(read_token(&resolve(f))?),
    };
    http::send(pbx, &body, token.as_deref())
}

/// The token a PBX is sent: the first line of its file, which must not be empty.
fn read_token(path: &std::path::Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("token file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(format!("token file {}: empty", path.display()));
    }
    Ok(token)
}

/// For `check`: every PBX's token file can be read and holds a token.
pub fn check_tokens(
    resolve: &dyn Fn(&std::path::Path) -> std::path::PathBuf,
    pbxs: &[PbxConfig],
) -> Vec<String> {
    pbxs.iter()
        .filter_map(|p| {
            let f = p.token_file.as_ref()?;
            read_token(&resolve(f))
                .err()
                .map(|e| format!("[[pbx]] \"{}\": {e}", p.name))
        })
        .collect()
}
