//! Dovecot's global ACL file for the store: each agent gets the rights on their queues (two
//! lines per queue: the queue's own folder, unlisted, and every folder below it) and read and
//! flag rights on their queues' archive, admins everything. Written by `dovecot-config`, and again by the daemon when
//! the directory's groups change what an agent may see; written atomically (temporary file,
//! fsync, rename), and only when its text changes.
//!
//! Rights: `lrwsti` read and flag, `e` expunge, `k` create and `x` delete — RENAME needs `x` on
//! the ticket folder and `k` where it goes, so an agent can close a ticket (move it into the
//! queue's Closed folder, from where postdesk moves it into the archive) or move it into another
//! queue of theirs, and postdesk adopts the move.

use std::fs;
use std::io::Write;
use std::path::Path;

/// The file's name in the generated folder.
pub const FILE: &str = "global-acl";

/// Rights of an agent on their queues' tickets; of an admin on everything.
const AGENT_RIGHTS: &str = "lrwstiekx";
/// Of an agent on a queue's own folder, which holds no mail: everything but `l`. Dovecot shows a
/// listed folder's children flag only after checking with a second listing of everything below
/// it that the agent may see one of them (the ACL plugin), and a Maildir++ listing costs the
/// square of a queue's open tickets: `LIST *` listed every queue twice. Unlisted, the queue is
/// left out of `LIST *` (clients draw it as its tickets' parent), `LIST %` shows it `\Noselect`,
/// and it stays selectable.
const QUEUE_RIGHTS: &str = "rwstiekx";
const ADMIN_RIGHTS: &str = "lrwstipekxa";
/// In the archive: read and flag. Closed tickets change by postdesk (a reopen moves the folder
/// back), and Dovecot cannot rename across namespaces anyway.
const ARCHIVE_RIGHTS: &str = "lrwsti";

/// The file's text. `agents`: (login, queue names); `queues`: every configured queue, in the
/// order the lines are written.
pub fn text(queues: &[&str], agents: &[(&str, &[String])], admins: &[String]) -> String {
    let mut lines = Vec::new();
    for q in queues {
        for (login, _) in agents
            .iter()
            .filter(|(_, qs)| qs.iter().any(|x| x.eq_ignore_ascii_case(q)))
        {
            lines.push(format!("Tickets/{q} user={login} {QUEUE_RIGHTS}"));
            lines.push(format!("Tickets/{q}/* user={login} {AGENT_RIGHTS}"));
            for m in [format!("Archive/{q}"), format!("Archive/{q}/*")] {
                lines.push(format!("{m} user={login} {ARCHIVE_RIGHTS}"));
            }
        }
    }
    for admin in admins {
        lines.push(format!("Tickets/* user={admin} {ADMIN_RIGHTS}"));
        lines.push(format!("Archive/* user={admin} {ARCHIVE_RIGHTS}"));
    }
    lines.join("\n") + "\n"
}

/// Writes `text` as `dir/global-acl` unless it already says that; whether it wrote.
pub fn update(dir: &Path, text: &str) -> std::io::Result<bool> {
    let path = dir.join(FILE);
    if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(false);
    }
    write_atomic(&path, text.as_bytes())?;
    Ok(true)
}

/// Written 0640 whatever the umask (the passwd file beside it holds password hashes): a
/// temporary file, fsync, rename, fsync of the folder.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(crate::access::at(&tmp))?;
    f.set_permissions(fs::Permissions::from_mode(0o640))?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
