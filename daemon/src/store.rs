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
use std::time::{Duration, Instant};

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
    state_dir: PathBuf,
    /// A loss found at open; the next append declares it in its epoch and clears it.
    loss: Option<Loss>,
    /// When `PRAGMA quick_check` last ran.
    checked_at: Instant,
}

/// How often a running daemon re-checks the database's integrity before an append.
const INTEGRITY_EVERY: Duration = Duration::from_secs(3600);

/// File name of the chain's high-water mark inside the state directory.
pub const HEAD_FILE: &str = "chain-head.json";

/// The newest link of the chain, recorded outside the database after each append.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    seq: u64,
    digest: String,
}

/// History the database no longer holds (or holds changed), found at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    /// What was found, naming the lost seq range; becomes the epoch's reason.
    pub reason: String,
    /// The last link still intact in the database (0 if none).
    pub previous_seq: u64,
    /// The digest the new epoch links to: the last link this state directory signed.
    pub prev: String,
    /// The seq the new epoch takes, past every seq ever issued, so none is reissued.
    pub next_seq: u64,
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
    /// Opens (creating if needed) the database in `state_dir`, applies migrations and
    /// checks the chain against its high-water mark. A database that fails
    /// `PRAGMA quick_check` (or is not a database) is kept aside and replaced by a fresh
    /// one; a stored chain that is behind the mark, empty, or not the one the mark
    /// records is never continued silently: the loss is logged and the next attestation
    /// opens an epoch whose reason names it.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let path = state_dir.join(DB_FILE);
        check_companions(&path)?;
        let head = read_head(state_dir);
        let (conn, damaged) = open_or_keep_aside(&path, None)?;
        let mut store = Store {
            conn,
            path,
            state_dir: state_dir.to_owned(),
            loss: None,
            checked_at: Instant::now(),
        };
        store.migrate()?;
        store.loss = store.find_loss(head, damaged)?;
        store.log_loss();
        Ok(store)
    }

    fn log_loss(&self) {
        if let Some(loss) = &self.loss {
            tracing::error!(
                database = %self.path.display(),
                "the attestation chain cannot be continued: {}; the next attestation \
                 (seq {}) opens a new epoch that says so",
                loss.reason,
                loss.next_seq
            );
        }
    }

    /// Answers damage found while running (an integrity check that fails, or SQLite
    /// reporting corruption): the damaged file is kept aside, a fresh database takes its
    /// place, and the loss is declared by the next attestation, exactly as at start.
    fn recover(&mut self, problem: String) -> Result<(), StoreError> {
        let head = read_head(&self.state_dir);
        // Close the damaged database before moving its files.
        let closed = Connection::open_in_memory().map_err(self.sql())?;
        drop(std::mem::replace(&mut self.conn, closed));
        let (conn, damaged) = open_or_keep_aside(&self.path, Some(problem))?;
        self.conn = conn;
        self.checked_at = Instant::now();
        self.migrate()?;
        self.loss = self.find_loss(head, damaged)?;
        self.log_loss();
        Ok(())
    }

    /// The periodic integrity check, at most once per `INTEGRITY_EVERY`: damage to pages
    /// that appends never read would otherwise go unnoticed until the next start.
    fn check_now(&mut self) -> Result<(), StoreError> {
        if self.checked_at.elapsed() < INTEGRITY_EVERY {
            return Ok(());
        }
        self.checked_at = Instant::now();
        match quick_check(&self.conn) {
            Ok(()) => Ok(()),
            Err(problem) => self.recover(problem),
        }
    }

    /// Opens an existing database to read it (`--export-chain`): nothing is created,
    /// migrated, moved or written; a damaged database is an error.
    pub fn open_read(state_dir: &Path) -> Result<Self, StoreError> {
        let path = state_dir.join(DB_FILE);
        check_companions(&path)?;
        if !path.exists() {
            return Err(StoreError::Other {
                path,
                detail: "no database here: nothing has been attested with this state directory"
                    .into(),
            });
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
        if let Err(problem) = quick_check(&conn) {
            return Err(StoreError::Other {
                path,
                detail: format!("the database failed its integrity check: {problem}"),
            });
        }
        Ok(Store {
            conn,
            path,
            state_dir: state_dir.to_owned(),
            loss: None,
            checked_at: Instant::now(),
        })
    }

    /// What was found at open that the next attestation's epoch will declare.
    pub fn loss(&self) -> Option<&Loss> {
        self.loss.as_ref()
    }

    /// Compares the stored chain with the high-water mark.
    fn find_loss(
        &self,
        head: Result<Option<Head>, String>,
        damaged: Option<String>,
    ) -> Result<Option<Loss>, StoreError> {
        let tail: Option<(u64, String)> = self
            .conn
            .query_row(
                "SELECT seq, digest FROM attestations ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(self.sql())?;
        let (tail_seq, tail_digest) = tail.clone().unwrap_or((0, GENESIS_PREV.to_owned()));
        let mark = head_path(&self.state_dir);
        let found = match head {
            Err(problem) => Some(Loss {
                reason: format!(
                    "the chain's high-water mark {} is unusable ({problem}), so the stored \
                     chain cannot be checked against it",
                    mark.display()
                ),
                previous_seq: tail_seq,
                prev: tail_digest.clone(),
                next_seq: tail_seq + 1,
            }),
            Ok(None) => {
                // First start with a mark (or an older state directory): record it now.
                if let Some((seq, digest)) = &tail {
                    self.write_head(*seq, digest);
                }
                None
            }
            Ok(Some(head)) if tail_seq < head.seq => Some(Loss {
                reason: if tail.is_none() {
                    format!(
                        "the database holds no attestation, but seq {} was signed and \
                         recorded in the high-water mark {}: seq 1 to {} lost",
                        head.seq,
                        mark.display(),
                        head.seq
                    )
                } else {
                    format!(
                        "the database ends at seq {tail_seq}, but seq {} was signed and \
                         recorded in the high-water mark {}: seq {} to {} lost",
                        head.seq,
                        mark.display(),
                        tail_seq + 1,
                        head.seq
                    )
                },
                previous_seq: tail_seq,
                prev: head.digest,
                next_seq: head.seq + 1,
            }),
            Ok(Some(head)) => {
                let stored: Option<String> = self
                    .conn
                    .query_row(
                        "SELECT digest FROM attestations WHERE seq = ?1",
                        [head.seq as i64],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(self.sql())?;
                match stored {
                    Some(d) if d == head.digest => None,
                    other => Some(Loss {
                        reason: format!(
                            "seq {} in the database ({}) is not the attestation recorded in \
                             the high-water mark {} ({}): the stored history up to seq {} \
                             was replaced",
                            head.seq,
                            other.as_deref().unwrap_or("missing"),
                            mark.display(),
                            head.digest,
                            head.seq
                        ),
                        previous_seq: 0,
                        prev: head.digest,
                        next_seq: tail_seq.max(head.seq) + 1,
                    }),
                }
            }
        };
        Ok(match (damaged, found) {
            (None, found) => found,
            (Some(note), Some(mut loss)) => {
                loss.reason = format!("{note}; {}", loss.reason);
                Some(loss)
            }
            (Some(note), None) => Some(Loss {
                reason: note,
                previous_seq: 0,
                prev: GENESIS_PREV.to_owned(),
                next_seq: 1,
            }),
        })
    }

    /// Records the chain's newest link outside the database, atomically and owner-only.
    /// A failure is logged, not fatal: the attestation is already committed, and the
    /// next start compares against the older mark.
    fn write_head(&self, seq: u64, digest: &str) {
        let head = Head {
            seq,
            digest: digest.to_owned(),
        };
        let text = serde_json::to_string(&head).unwrap_or_default() + "\n";
        let path = head_path(&self.state_dir);
        if let Err(e) = clawsec_proto::output::write_owned(&path, text.as_bytes(), 0o600) {
            tracing::error!(
                "{}: cannot record the chain's high-water mark (seq {seq}): {e}",
                path.display()
            );
        }
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

    /// Records an assessment (the posture document as JSON). Damage SQLite reports is
    /// answered as in `append`, and the row is written to the fresh database.
    pub fn record_assessment(
        &mut self,
        finished_at: &str,
        tier: &str,
        score: u32,
        posture_json: &str,
    ) -> Result<(), StoreError> {
        let insert = |conn: &Connection| {
            conn.execute(
                "INSERT INTO assessments (finished_at, trust_tier, overall_score, posture_json) VALUES (?1, ?2, ?3, ?4)",
                params![finished_at, tier, score, posture_json],
            )
            .map(|_| ())
        };
        match insert(&self.conn) {
            Err(e) if is_damage(&e) => {
                self.recover(e.to_string())?;
                insert(&self.conn).map_err(self.sql())
            }
            other => other.map_err(self.sql()),
        }
    }

    /// Appends one attestation to the chain. `build` receives the link (seq, prev, and an
    /// epoch record when the tail could not be continued) and returns the signed document;
    /// it runs inside the transaction, so the link cannot be taken by another writer.
    ///
    /// Damage SQLite reports on the way (or the periodic integrity check finds) is
    /// answered as at start — kept aside, a fresh database, the loss declared — and the
    /// append is tried once more there, so `build` may be called twice.
    pub fn append<F>(&mut self, keys: &[PublicKey], mut build: F) -> Result<Attestation, StoreError>
    where
        F: FnMut(&Link) -> Result<Attestation, String>,
    {
        self.check_now()?;
        match self.try_append(keys, &mut build) {
            Err(StoreError::Sqlite { source, .. }) if is_damage(&source) => {
                self.recover(source.to_string())?;
                self.try_append(keys, &mut build)
            }
            other => other,
        }
    }

    fn try_append(
        &mut self,
        keys: &[PublicKey],
        build: &mut dyn FnMut(&Link) -> Result<Attestation, String>,
    ) -> Result<Attestation, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let link = match &self.loss {
            Some(loss) => {
                let tail: Option<i64> = tx
                    .query_row("SELECT MAX(seq) FROM attestations", [], |r| r.get(0))
                    .map_err(sql)?;
                Link {
                    seq: loss.next_seq.max(tail.unwrap_or(0) as u64 + 1),
                    prev: loss.prev.clone(),
                    epoch_start: Some(EpochStart {
                        reason: loss.reason.clone(),
                        previous_seq: loss.previous_seq,
                    }),
                }
            }
            None => next_link(&tx, keys).map_err(sql)?,
        };
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
        self.loss = None;
        self.write_head(doc.seq, &digest);
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

fn head_path(state_dir: &Path) -> PathBuf {
    state_dir.join(HEAD_FILE)
}

/// The mark, `None` when there is none yet, or why it cannot be used.
fn read_head(state_dir: &Path) -> Result<Option<Head>, String> {
    let path = head_path(state_dir);
    clawsec_proto::output::check_owned(&path).map_err(|e| e.to_string())?;
    let text = match std::fs::read(&path) {
        Ok(t) if t.len() <= 4096 => t,
        Ok(t) => return Err(format!("{} bytes, not a mark", t.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let head: Head = serde_json::from_slice(&text).map_err(|e| format!("not a mark: {e}"))?;
    if head.seq == 0 || !head.digest.starts_with("sha256:") {
        return Err("not a mark: seq 0 or a digest that is not sha256".into());
    }
    Ok(Some(head))
}

/// Refuses a symlink or special file planted where the database or a companion goes.
fn check_companions(path: &Path) -> Result<(), StoreError> {
    for companion in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.to_owned().into_os_string();
        p.push(companion);
        clawsec_proto::output::check_owned(Path::new(&p)).map_err(|e| StoreError::Other {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    }
    Ok(())
}

/// Opens the database; one that is damaged (or `known_damage` says so) is kept aside and
/// replaced by a fresh one, and the returned note says what was found and where it went.
fn open_or_keep_aside(
    path: &Path,
    known_damage: Option<String>,
) -> Result<(Connection, Option<String>), StoreError> {
    let problem = match known_damage {
        Some(problem) => problem,
        None => match open_checked(path) {
            Ok(conn) => return Ok((conn, None)),
            Err(Opened::Damaged(problem)) => problem,
            Err(Opened::Failed(e)) => return Err(e),
        },
    };
    let aside = keep_aside(path)?;
    let note = format!(
        "the database failed its integrity check ({problem}) and was kept as {}",
        aside.display()
    );
    match open_checked(path) {
        Ok(conn) => Ok((conn, Some(note))),
        Err(Opened::Damaged(again)) => Err(StoreError::Other {
            path: path.to_owned(),
            detail: format!("a fresh database is damaged too: {again}"),
        }),
        Err(Opened::Failed(e)) => Err(e),
    }
}

/// Whether SQLite says the file is damaged (rather than busy, unreadable or full).
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

enum Opened {
    /// The file is not a database or fails its integrity check.
    Damaged(String),
    /// Anything else (permissions, I/O): refused, nothing moved.
    Failed(StoreError),
}

/// Opens the database read-write and runs `PRAGMA quick_check`.
fn open_checked(path: &Path) -> Result<Connection, Opened> {
    let failed = |source| {
        Opened::Failed(StoreError::Sqlite {
            path: path.to_owned(),
            source,
        })
    };
    let classify = |source: rusqlite::Error| {
        if is_damage(&source) {
            Opened::Damaged(source.to_string())
        } else {
            failed(source)
        }
    };
    // Never follow a link on open (`check_companions` refused one already).
    let flags = rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW;
    let conn = Connection::open_with_flags(path, flags).map_err(failed)?;
    // History is the daemon's own business: owner-only, like the keys beside it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(
        |e| {
            Opened::Failed(StoreError::Other {
                path: path.to_owned(),
                detail: e.to_string(),
            })
        },
    )?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(failed)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(classify)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(classify)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(classify)?;
    match quick_check(&conn) {
        Ok(()) => Ok(conn),
        Err(problem) => Err(Opened::Damaged(problem)),
    }
}

/// `PRAGMA quick_check`: `Ok` when SQLite answers the single row `ok`.
fn quick_check(conn: &Connection) -> Result<(), String> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(8)")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    match rows.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        [] => Err("quick_check returned nothing".into()),
        problems => Err(format!("quick_check: {}", problems.join("; "))),
    }
}

/// Moves a damaged database and its companions aside (`clawsec.db.damaged-<time>`), so
/// nothing of it is lost and a fresh one can take its place. Returns the new name.
fn keep_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let stamp =
        clawsec_proto::time::format_rfc3339(std::time::SystemTime::now()).replace([':', '-'], "");
    let mut aside = path.to_owned().into_os_string();
    aside.push(format!(".damaged-{stamp}"));
    let aside = PathBuf::from(aside);
    for companion in ["", "-wal", "-shm", "-journal"] {
        let mut from = path.to_owned().into_os_string();
        from.push(companion);
        let mut to = aside.clone().into_os_string();
        to.push(companion);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Other {
                    path: path.to_owned(),
                    detail: format!("cannot keep the damaged database aside: {e}"),
                });
            }
        }
    }
    Ok(aside)
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
