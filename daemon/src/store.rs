//! The store: one SQLite database in the state directory (`clawsec.db`) holding the
//! assessment history and the attestation chain (later also baselines, the telemetry
//! outbox and the audit log).
//!
//! WAL mode with `synchronous=FULL`, so a committed attestation survives power loss;
//! every attestation is appended inside one immediate transaction that also reads the
//! chain's tail, so two writers cannot both take the same `seq`, and a process killed at
//! any moment leaves either the old chain or the old chain plus one valid link.
//! Migrations are numbered and recorded in `PRAGMA user_version`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clawsec_proto::attestation::document::{self, GENESIS_PREV};
use clawsec_proto::attestation::verify::{Policy, verify_json};
use clawsec_proto::attestation::{Attestation, EpochStart, PublicKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// File name of the database inside the state directory.
pub const DB_FILE: &str = "clawsec.db";

const MIGRATIONS: &[&str] = &[
    // 1: assessment history and the attestation chain.
    "CREATE TABLE assessments (
        id INTEGER PRIMARY KEY,
        finished_at TEXT NOT NULL,
        trust_tier TEXT NOT NULL,
        overall_score INTEGER NOT NULL,
        posture_json TEXT NOT NULL
    );
    CREATE TABLE attestations (
        seq INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        prev TEXT NOT NULL,
        key_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        document TEXT NOT NULL
    );",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{path}: the database was written by a newer ClawSec (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("{path}: {detail}")]
    Other { path: PathBuf, detail: String },
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Where the next attestation goes in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub seq: u64,
    pub prev: String,
    /// Set when the stored tail could not be continued.
    pub epoch_start: Option<EpochStart>,
}

impl Store {
    /// Opens (creating if needed) the database in `state_dir` and applies migrations.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let path = state_dir.join(DB_FILE);
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        // A symlink or special file planted where the database or its companions go
        // would redirect ClawSec's writes: refuse it, and never follow a link on open.
        for companion in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.clone().into_os_string();
            p.push(companion);
            clawsec_proto::output::check_owned(Path::new(&p)).map_err(|e| StoreError::Other {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        }
        let flags = rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(&path, flags).map_err(sql)?;
        // History is the daemon's own business: owner-only, like the keys beside it.
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| StoreError::Other {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.sql())?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(m).map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|source| StoreError::Sqlite {
                    path: path.clone(),
                    source,
                })?;
        }
        tx.commit()
            .map_err(|source| StoreError::Sqlite { path, source })
    }

    /// Records an assessment (the posture document as JSON).
    pub fn record_assessment(
        &self,
        finished_at: &str,
        tier: &str,
        score: u32,
        posture_json: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO assessments (finished_at, trust_tier, overall_score, posture_json) VALUES (?1, ?2, ?3, ?4)",
                params![finished_at, tier, score, posture_json],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    /// Appends one attestation to the chain. `build` receives the link (seq, prev, and an
    /// epoch record when the tail could not be continued) and returns the signed document;
    /// it runs inside the transaction, so the link cannot be taken by another writer.
    pub fn append<F>(&mut self, keys: &[PublicKey], build: F) -> Result<Attestation, StoreError>
    where
        F: FnOnce(&Link) -> Result<Attestation, String>,
    {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let link = next_link(&tx, keys).map_err(sql)?;
        let doc = build(&link).map_err(|detail| StoreError::Other {
            path: path.clone(),
            detail,
        })?;
        let digest = doc.digest().map_err(|e| StoreError::Other {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let json = serde_json::to_string(&doc).unwrap_or_default();
        tx.execute(
            "INSERT INTO attestations (seq, digest, prev, key_id, created_at, document) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![doc.seq as i64, digest, doc.prev, doc.key_id, doc.timestamp, json],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(doc)
    }

    /// Every attestation, in seq order, as stored (JSON text).
    pub fn chain(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT document FROM attestations ORDER BY seq")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    /// The latest attestation, if any.
    pub fn latest(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT document FROM attestations ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())
    }
}

/// Decides where the next attestation goes. The stored tail must be intact — its digest
/// recomputes and its signature verifies with a known key — to be continued; otherwise
/// the next document opens a new epoch that says why.
fn next_link(conn: &Connection, keys: &[PublicKey]) -> rusqlite::Result<Link> {
    let tail: Option<(i64, String, String)> = conn
        .query_row(
            "SELECT seq, digest, document FROM attestations ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((seq, digest, doc)) = tail else {
        return Ok(Link {
            seq: 1,
            prev: GENESIS_PREV.to_owned(),
            epoch_start: None,
        });
    };
    let seq = seq as u64;
    match tail_problem(&digest, &doc, keys) {
        None => Ok(Link {
            seq: seq + 1,
            prev: digest,
            epoch_start: None,
        }),
        Some(reason) => {
            // Continue from the newest link that is still intact, if any.
            let mut stmt = conn.prepare("SELECT seq, digest, document FROM attestations WHERE seq < ?1 ORDER BY seq DESC LIMIT 64")?;
            let earlier = stmt.query_map([seq as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut good = None;
            for row in earlier {
                let (s, d, text) = row?;
                if tail_problem(&d, &text, keys).is_none() {
                    good = Some((s as u64, d));
                    break;
                }
            }
            let (previous_seq, prev) = good.unwrap_or((0, GENESIS_PREV.to_owned()));
            Ok(Link {
                seq: seq + 1,
                prev,
                epoch_start: Some(EpochStart {
                    reason: format!("stored attestation seq {seq} {reason}"),
                    previous_seq,
                }),
            })
        }
    }
}

/// Why a stored document cannot be continued, or `None` when it is intact.
fn tail_problem(digest: &str, doc: &str, keys: &[PublicKey]) -> Option<String> {
    let value = match clawsec_proto::attestation::canonical::parse_strict(doc) {
        Ok(v) => v,
        Err(e) => return Some(format!("is not valid JSON ({e})")),
    };
    match document::digest(&value) {
        Ok(d) if d == digest => {}
        _ => return Some("does not match its recorded digest".into()),
    }
    if keys.is_empty() {
        return None;
    }
    match verify_json(&value, keys, &Policy::at(std::time::SystemTime::UNIX_EPOCH)) {
        Ok(v)
            if v.lines
                .iter()
                .filter(|l| l.text.contains("signature"))
                .all(|l| l.ok) =>
        {
            None
        }
        Ok(_) => Some("does not verify with any known key".into()),
        Err(e) => Some(format!("is not an attestation ({e})")),
    }
}
