//! The index on PostgreSQL: connecting, and the schema with its versioned migrations.
//!
//! The tables are SQLite's (`schema`), with PostgreSQL's types: integers are `BIGINT`, row ids
//! identity columns, bytes `BYTEA`, and text compares byte by byte (`COLLATE "C"`, SQLite's
//! `BINARY`), so ticket numbers sort as `str` does on either engine. SQLite's triggers become
//! trigger functions. Which migrations a database has run is in `postdesk_schema`; a node
//! migrates under an advisory lock, so two nodes starting together do it once.

use std::path::PathBuf;
use std::time::Duration;

use super::db::{Db, Pg};
use super::{schema, IndexError, Result};

/// Where the PostgreSQL index is and how to log in (`[index]` with `backend = "postgres"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// `postgresql://user@host:port/database` (no password: that is in `password_file`).
    pub url: String,
    pub password_file: Option<PathBuf>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// CA certificates besides the system's for the server's certificate (with
    /// `sslmode=require` in the url).
    pub tls_ca_file: Option<PathBuf>,
}

/// Held while a node migrates the schema (and by nothing else).
const MIGRATION_LOCK: i64 = 7_306_652_238;

/// Connects and brings the schema to this version (`migrate`), or checks it is there and not
/// older (read-only use: `None` when nothing has made the schema yet, an empty index).
pub fn open(cfg: &PgConfig, migrate: bool) -> Result<Option<Db>> {
    let mut config: tokio_postgres::Config = cfg
        .url
        .parse()
        .map_err(|e| IndexError::Config(format!("index url: {e}")))?;
    if config.get_password().is_some() {
        return Err(IndexError::Config(
            "index url: put the password in password-file, not in the url".into(),
        ));
    }
    if let Some(file) = &cfg.password_file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            IndexError::Config(format!("index password-file {}: {e}", file.display()))
        })?;
        let password = text.lines().next().unwrap_or("").to_string();
        if password.is_empty() {
            return Err(IndexError::Config(format!(
                "index password-file {} is empty",
                file.display()
            )));
        }
        config.password(password);
    }
    config.connect_timeout(cfg.connect_timeout);
    config.application_name("postdesk");
    // TLS when the url asks for it, the server's certificate checked against the system's CAs
    // and `tls-ca-file`'s; anything else is plain text (refused beyond loopback by the
    // configuration's check unless the site allows it).
    let tls = match config.get_ssl_mode() {
        tokio_postgres::config::SslMode::Require => Some(
            crate::transport::tls_client_config("index", cfg.tls_ca_file.as_deref())
                .map_err(IndexError::Config)?,
        ),
        _ => {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            None
        }
    };
    let db = Db::Pg(Box::new(Pg::connect(config, tls)?));
    if migrate {
        migrate_schema(&db)?;
    } else {
        let found = version(&db)?;
        if found == 0 {
            return Ok(None);
        }
        if found != schema::VERSION {
            return Err(if found < schema::VERSION {
                IndexError::Outdated { found }
            } else {
                newer(found)
            });
        }
    }
    Ok(Some(db))
}

fn newer(found: i64) -> IndexError {
    IndexError::Corrupt(format!(
        "index schema version {found} is newer than this postdesk understands ({})",
        schema::VERSION
    ))
}

/// The schema version the database has (0: none yet).
pub fn version(db: &Db) -> Result<i64> {
    let exists: bool = db.one(
        "SELECT to_regclass('postdesk_schema') IS NOT NULL",
        super::db::p![],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    Ok(db
        .opt(
            "SELECT max(version) FROM postdesk_schema",
            super::db::p![],
            |r| r.get::<Option<i64>>(0),
        )?
        .flatten()
        .unwrap_or(0))
}

/// Creates the schema, or upgrades it, in one transaction under the migration lock.
fn migrate_schema(db: &Db) -> Result<()> {
    db.batch(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
    ))?;
    let done = (|| {
        let v = version(db)?;
        if v > schema::VERSION {
            return Err(newer(v));
        }
        if v == 0 {
            db.batch(
                "CREATE TABLE postdesk_schema (
                     version BIGINT PRIMARY KEY,
                     at      TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )?;
            db.batch(&tables())?;
            db.batch(TRIGGERS)?;
            db.exec(
                "INSERT INTO postdesk_schema(version) VALUES (?1)",
                super::db::p![schema::VERSION],
            )?;
        }
        // Later versions add their steps here, each `if v < N`, as SQLite's `migrate` does.
        Ok(())
    })();
    match done {
        Ok(()) => db.batch("COMMIT"),
        Err(e) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// SQLite's tables in PostgreSQL's types, without SQLite's triggers.
pub fn tables() -> String {
    let sqlite = format!(
        "{}{}{}",
        schema::ARTICLES,
        schema::SCHEMA,
        schema::DIRECTORY
    );
    let mut out = String::with_capacity(sqlite.len() + 2048);
    let mut in_trigger = false;
    for line in sqlite.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("CREATE TRIGGER") {
            in_trigger = true;
        }
        if in_trigger {
            if trimmed.starts_with("END;") {
                in_trigger = false;
            }
            continue;
        }
        // PostgreSQL checks a reference when it is made: the articles' one follows the tables.
        out.push_str(&pg_line(&line.replace(" REFERENCES tickets(number)", "")));
        out.push('\n');
    }
    out.push_str(
        "ALTER TABLE articles ADD CONSTRAINT articles_ticket_fkey
             FOREIGN KEY (ticket) REFERENCES tickets(number);\n",
    );
    out
}

fn pg_line(line: &str) -> String {
    if line.trim_start().starts_with("--") {
        return line.to_string();
    }
    // A row id (`id INTEGER PRIMARY KEY`, SQLite's rowid) becomes an identity column.
    let trimmed = line.trim_start();
    let line = match trimmed.strip_prefix("id ") {
        Some(rest) if rest.trim_start().starts_with("INTEGER PRIMARY KEY") => line.replacen(
            "INTEGER PRIMARY KEY",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            1,
        ),
        _ => line.to_string(),
    };
    let line = line
        .replace(") WITHOUT ROWID;", ");")
        .replace("BLOB", "BYTEA");
    let line = replace_word(&line, "INTEGER", "BIGINT");
    replace_word(&line, "TEXT", "TEXT COLLATE \"C\"")
}

/// Replaces `word` where it stands as a word (a type), not inside a name.
fn replace_word(line: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        if is_word(before) || is_word(after) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// SQLite's triggers (see `schema`) as PostgreSQL trigger functions: what makes a ticket due
/// for the service levels' round.
const TRIGGERS: &str = "
CREATE FUNCTION postdesk_due_now() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET due_at = 0 WHERE number = NEW.number;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_due_opened AFTER INSERT ON tickets
    FOR EACH ROW WHEN (NEW.state = 'open') EXECUTE FUNCTION postdesk_due_now();
CREATE TRIGGER tickets_due_changed
    AFTER UPDATE OF updated, state, queue, pending, sla, service ON tickets
    FOR EACH ROW WHEN (NEW.state = 'open') EXECUTE FUNCTION postdesk_due_now();
CREATE FUNCTION postdesk_unsettled(t TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM history e WHERE e.ticket = t
        AND (e.key LIKE 'sla:%:warning' OR e.key LIKE 'sla:%:breach')
        AND NOT EXISTS (SELECT 1 FROM history m WHERE m.ticket = e.ticket
            AND m.key = substr(e.key, 1, length(e.key)
                - CASE WHEN e.key LIKE '%:warning' THEN 7 ELSE 6 END) || 'met'))
$$;
CREATE FUNCTION postdesk_due_closed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET due_at = CASE WHEN postdesk_unsettled(NEW.number) THEN 0 END
    WHERE number = NEW.number;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_due_closed AFTER UPDATE OF state ON tickets
    FOR EACH ROW WHEN (NEW.state <> 'open') EXECUTE FUNCTION postdesk_due_closed();
CREATE FUNCTION postdesk_due_met() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET due_at = CASE WHEN postdesk_unsettled(NEW.ticket) THEN 0 END
    WHERE number = NEW.ticket AND state <> 'open' AND due_at IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_due_met AFTER INSERT ON history
    FOR EACH ROW WHEN (NEW.key LIKE 'sla:%:met') EXECUTE FUNCTION postdesk_due_met();
CREATE FUNCTION postdesk_due_organisation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET due_at = 0 WHERE organisation = NEW.id AND state = 'open';
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_due_organisation_added AFTER INSERT ON directory_organisations
    FOR EACH ROW EXECUTE FUNCTION postdesk_due_organisation();
CREATE TRIGGER tickets_due_organisation_changed AFTER UPDATE ON directory_organisations
    FOR EACH ROW EXECUTE FUNCTION postdesk_due_organisation();
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_speak_postgresql() {
        let t = tables();
        for sqlite_only in ["WITHOUT ROWID", "TRIGGER", "BLOB", " INTEGER"] {
            assert!(!t.contains(sqlite_only), "{sqlite_only} in:\n{t}");
        }
        assert!(t.contains("id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"));
        assert!(t.contains("number   TEXT COLLATE \"C\" PRIMARY KEY"));
        assert!(t.contains("bytes BYTEA NOT NULL"));
        // Names that contain a type's word are left alone.
        assert_eq!(replace_word("context TEXT", "TEXT", "X"), "context X");
        assert_eq!(
            replace_word("TEXTS INTEGER_", "TEXT", "X"),
            "TEXTS INTEGER_"
        );
    }
}
