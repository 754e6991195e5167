//! `postdesk dovecot-config`: the files Dovecot needs to serve the ticket store to agents, made
//! from postdesk's own queues and agents, so the two cannot drift apart:
//!
//! - `postdesk.conf`: the public namespace `Tickets/` over the store of open tickets (Maildir++,
//!   separator `/`, listed) and `Archive/` over the archive of closed tickets (`LAYOUT=fs`,
//!   `list = no`: a mail client does not list it, but SELECT of `Archive/Queue/YYYY-MM/NUMBER`
//!   opens it), both without Dovecot's mailbox list index (building it opens every folder);
//!   Dovecot's index and control files outside the store, where postdesk moves them
//!   along with a folder it renames; the ACL plugin with a global ACL file; what Debian's stock
//!   configuration needs changed (the inbox namespace's separator, `first_valid_uid`, the
//!   auth process's group); and, when agents have `password-hash`, a passwd-file passdb/userdb.
//!   Include it from dovecot.conf (`!include …/postdesk.conf`).
//! - `global-acl` (`store::acl`): each agent gets the rights on their queues — the ones listed
//!   in `[[agent]]` and their groups' in the directory (`directory::rights`) — and read and flag
//!   rights on their queues' archive, admins everything. The daemon writes it again when the
//!   directory's groups change.
//! - `passwd` (only with password hashes).
//!
//! Files are written atomically (temporary file, fsync, rename).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::cli::{Failure, EX_CONFIG};
use crate::commands::Context;
use crate::config::Config;
use crate::store::acl::write_atomic;
use crate::store::dovecot as companions;

pub fn dovecot_config(ctx: &Context, out: Option<PathBuf>) -> Result<i32, Failure> {
    let cfg = ctx.load()?;
    let data = cfg.data_dir();
    let dir = out.unwrap_or_else(|| data.join(&cfg.dovecot.dir));
    let dir = std::path::absolute(&dir).map_err(Failure::from)?;
    let store = std::path::absolute(crate::store::open_tree(&data)).map_err(Failure::from)?;
    let archive =
        std::path::absolute(data.join(crate::store::ARCHIVE_DIR)).map_err(Failure::from)?;
    for (what, p) in [
        ("store", &store),
        ("archive", &archive),
        ("output folder", &dir),
    ] {
        let s = p.to_string_lossy();
        if s.contains([':', ' ', '\t', '\n', '%']) {
            return Err(Failure::new(
                EX_CONFIG,
                format!("{what} path {s:?}: Dovecot locations cannot hold ':', '%' or blanks"),
            ));
        }
    }
    fs::create_dir_all(&store)?;
    fs::create_dir_all(&archive)?;
    fs::create_dir_all(&dir)?;
    let meta = fs::metadata(&data)?;
    let uid = cfg.dovecot.mail_uid.unwrap_or(meta.uid());
    let gid = cfg.dovecot.mail_gid.unwrap_or(meta.gid());
    for sub in [
        companions::OPEN_INDEX,
        companions::OPEN_CONTROL,
        companions::ARCHIVE_INDEX,
        companions::ARCHIVE_CONTROL,
        companions::HOMES,
    ] {
        let p = dir.join(sub);
        fs::create_dir_all(&p)?;
        // Dovecot's mail processes write there; as root, hand them over.
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid))?;
        }
    }
    let with_passwd = cfg.agents.iter().any(|a| a.password_hash.is_some());
    // Agents' queues include their groups' in the directory's copy, if there is one yet.
    let index_at = cfg.index_location();
    let exists = match &index_at {
        crate::index::Location::Sqlite(file) => file.exists(),
        crate::index::Location::Postgres(_) => true,
    };
    let rights = if exists {
        let index = crate::index::Index::open_readonly_at(&index_at)?;
        crate::directory::rights::current(&cfg, &index).map_err(|e| Failure::new(EX_CONFIG, e))?
    } else {
        crate::directory::rights::agents(&cfg.agents, &[])
    };
    write_atomic(
        &dir.join(crate::store::acl::FILE),
        crate::directory::rights::acl_text(&cfg, &rights).as_bytes(),
    )?;
    if with_passwd {
        write_atomic(&dir.join("passwd"), passwd(&cfg).as_bytes())?;
    }
    let site = Site {
        store: &store,
        archive: &archive,
        dir: &dir,
        uid,
        gid,
        group: group_name(meta.gid()).filter(|_| meta.gid() != 0),
        passwd: with_passwd,
    };
    write_atomic(&dir.join("postdesk.conf"), conf(&cfg, &site).as_bytes())?;
    println!(
        "wrote {}/postdesk.conf, global-acl{} for {} agents on {} queues; add to dovecot.conf:\n  !include {}/postdesk.conf",
        dir.display(),
        if with_passwd { ", passwd" } else { "" },
        rights.len(),
        cfg.queues.len(),
        dir.display()
    );
    for note in notes(&cfg, &site) {
        println!("note: {note}");
    }
    Ok(0)
}

/// What the generated file cannot settle itself; printed for the admin.
fn notes(cfg: &Config, site: &Site) -> Vec<String> {
    let mut out = Vec::new();
    if site.uid == 0 {
        out.push(
            "Dovecot refuses mail access as uid 0: set [dovecot] mail-uid and mail-gid (the \
             user owning the data directory), or chown the data directory to that user"
                .into(),
        );
    }
    for admin in &cfg.dovecot.admins {
        let has = cfg
            .agents
            .iter()
            .any(|a| a.login() == *admin && a.password_hash.is_some());
        if !has {
            out.push(format!(
                "admin {admin:?} has no password-hash in any [[agent]]; Dovecot needs a passdb \
                 entry for that login (an [[agent]] with login = {admin:?} and password-hash)"
            ));
        }
    }
    if site.passwd && site.group.is_none() {
        out.push(format!(
            "Dovecot's auth process (user dovecot) must be able to read {}/passwd",
            site.dir.display()
        ));
    }
    if site.passwd {
        out.push(
            "Debian's auth-system.conf.ext puts PAM first: each login of an agent then waits for \
             PAM to fail (about 2 s); comment out `!include auth-system.conf.ext` in \
             conf.d/10-auth.conf if the agents are the only IMAP users"
                .into(),
        );
    }
    out
}

/// The name of a group, for `extra_groups`.
fn group_name(gid: u32) -> Option<String> {
    let text = fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        (f.next()?.parse::<u32>().ok()? == gid).then(|| name.to_string())
    })
}

/// What `conf` needs to know about the machine.
struct Site<'a> {
    store: &'a Path,
    archive: &'a Path,
    dir: &'a Path,
    uid: u32,
    gid: u32,
    /// The data directory's group, for the auth process to read the passwd file.
    group: Option<String>,
    passwd: bool,
}

fn conf(cfg: &Config, site: &Site) -> String {
    let (s, a, d) = (
        site.store.display(),
        site.archive.display(),
        site.dir.display(),
    );
    let mut c = format!(
        "# Generated by `postdesk dovecot-config` from {}. Do not edit: run it again after\n\
         # changing queues or agents. Include it from dovecot.conf: !include {d}/postdesk.conf\n\
         mail_plugins = $mail_plugins acl\n\
         protocol imap {{\n  mail_plugins = $mail_plugins imap_acl\n}}\n\
         # Every listed namespace must use one separator (Debian's inbox has none set).\n\
         namespace inbox {{\n  separator = /\n}}\n\
         # LISTINDEX= (empty): no mailbox list index for the ticket namespaces. Dovecot adds\n\
         # each folder it has not seen to that index by opening it for its GUID (a\n\
         # dovecot-uidlist written and synced per folder), and postdesk makes folders behind\n\
         # its back: the first LIST after a store is built or migrated opened every open\n\
         # ticket, the first SELECT in Archive/ every ticket ever closed; and a session did not\n\
         # list a ticket filed after it began. Without it LIST reads the store's one directory\n\
         # and SELECT opens the one folder named.\n\
         namespace postdesk {{\n  type = public\n  separator = /\n  prefix = Tickets/\n  \
         location = maildir:{s}:INDEX={d}/{}:CONTROL={d}/{}:INDEXPVT=~/{}:LISTINDEX=\n  \
         subscriptions = no\n  list = yes\n}}\n\
         # Closed tickets, per queue and month of closing. Not listed (a mail client listing\n\
         # everything would walk every ticket ever closed); SELECT by name opens one.\n\
         namespace postdesk_archive {{\n  type = public\n  separator = /\n  prefix = Archive/\n  \
         location = maildir:{a}:LAYOUT=fs:INDEX={d}/{}:CONTROL={d}/{}:INDEXPVT=~/{}:LISTINDEX=\n  \
         subscriptions = no\n  list = no\n}}\n\
         plugin {{\n  acl = vfile:{d}/global-acl\n  acl_globals_only = yes\n}}\n",
        cfg.file.display(),
        companions::OPEN_INDEX,
        companions::OPEN_CONTROL,
        companions::OPEN_PRIVATE,
        companions::ARCHIVE_INDEX,
        companions::ARCHIVE_CONTROL,
        companions::ARCHIVE_PRIVATE,
    );
    // Debian's default refuses system users (uid < 500) mail access.
    if site.uid < 500 {
        c += &format!(
            "# The store's owner is a system user; Debian's default first_valid_uid is 500.\n\
             first_valid_uid = {}\n",
            site.uid
        );
    }
    if site.passwd {
        c += &format!(
            "passdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/passwd\n  \
             default_fields = uid={} gid={} home={d}/{}/%u mail=maildir:~/Maildir\n}}\n",
            site.uid,
            site.gid,
            companions::HOMES
        );
        if let Some(g) = &site.group {
            c += &format!(
                "# The auth process reads the passwd file in the data directory.\n\
                 service auth {{\n  extra_groups = {g}\n}}\n"
            );
        }
    }
    c
}

fn passwd(cfg: &Config) -> String {
    cfg.agents
        .iter()
        .filter_map(|a| {
            a.password_hash
                .as_ref()
                .map(|h| format!("{}:{h}::::::\n", a.login()))
        })
        .collect()
}
