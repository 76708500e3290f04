//! Key files: `attestation.key` (PKCS#8 PEM, mode 0600), `attestation.pub` (SPKI PEM),
//! `attestation.jwk` (public JWK with `kid`), and after rotations `attestation.jwks`
//! (every public key ever used, so history still verifies) with the retired keys under
//! `retired/`.
//!
//! A private key that group or others can read is refused, as are keys on other curves
//! and files that are not keys; every error names the file.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::json;

use super::keys::{P256_OID, PublicKey, parse_public_keys};
use crate::output::{self, OutputError};

pub const PRIVATE_FILE: &str = "attestation.key";
pub const PUBLIC_FILE: &str = "attestation.pub";
pub const JWK_FILE: &str = "attestation.jwk";
pub const JWKS_FILE: &str = "attestation.jwks";
pub const RETIRED_DIR: &str = "retired";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: private key is readable by group or others (mode {mode:04o}); run `chmod 600 {path}`"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error(
        "{path}: {what} is writable by group or others (mode {mode:04o}), so someone else could replace what ClawSec signs with or records; run `chmod go-w {path}`"
    )]
    Writable {
        path: PathBuf,
        what: &'static str,
        mode: u32,
    },
    #[error(
        "{path}: {what} belongs to uid {owner}, not to this process's user (uid {uid}) or root; run `chown {uid} {path}`"
    )]
    NotOwned {
        path: PathBuf,
        what: &'static str,
        owner: u32,
        uid: u32,
    },
    #[error("{path}: not a P-256 key ({detail})")]
    WrongCurve { path: PathBuf, detail: String },
    #[error("{path}: not a PKCS#8 PEM private key: {detail}")]
    Malformed { path: PathBuf, detail: String },
    #[error("{path}: already exists; pass --force to replace it")]
    Exists { path: PathBuf },
    #[error("{path}: {detail}")]
    PublicKey { path: PathBuf, detail: String },
    #[error(transparent)]
    Write(#[from] OutputError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A fresh key from the operating system's CSPRNG.
pub fn generate() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

/// Loads a private key, refusing one that group or others can read, a symlink, a key on
/// another curve, or anything that is not a PKCS#8 PEM key.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let meta = fs::symlink_metadata(path).map_err(io(path))?;
    if meta.file_type().is_symlink() {
        return Err(KeyFileError::Malformed {
            path: path.into(),
            detail: "is a symlink; refusing to follow it".into(),
        });
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.into(),
            mode,
        });
    }
    let pem = fs::read_to_string(path).map_err(io(path))?;
    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| match pkcs8_curve(&pem) {
        Some(oid) if oid != P256_OID => KeyFileError::WrongCurve {
            path: path.into(),
            detail: format!("curve OID {oid}"),
        },
        _ => KeyFileError::Malformed {
            path: path.into(),
            detail: e.to_string(),
        },
    })
}

/// The named curve of a PKCS#8 EC private key, for a clear message.
fn pkcs8_curve(pem: &str) -> Option<String> {
    use p256::pkcs8::der::Decode;
    let (_, der) = p256::pkcs8::der::pem::decode_vec(pem.trim().as_bytes()).ok()?;
    let info = p256::pkcs8::PrivateKeyInfo::from_der(&der).ok()?;
    info.algorithm.parameters_oid().ok().map(|o| o.to_string())
}

/// Loads every public key in a key directory: the current one and all retired ones.
pub fn load_public_keys(dir: &Path) -> Result<Vec<PublicKey>, KeyFileError> {
    let mut keys = Vec::new();
    for name in [JWKS_FILE, JWK_FILE] {
        let path = dir.join(name);
        match fs::read_to_string(&path) {
            Ok(text) => {
                for k in parse_public_keys(&text).map_err(|e| KeyFileError::PublicKey {
                    path: path.clone(),
                    detail: e.to_string(),
                })? {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
    }
    Ok(keys)
}

/// Writes a new key set into `dir`: private key 0600, public PEM and JWK 0644, and the
/// JWKS of every key (the new one first). Refuses to replace a key unless `force`, and
/// refuses the whole set before writing anything when any of its files is a symlink or
/// not a regular file.
pub fn write_new(dir: &Path, key: &SigningKey, force: bool) -> Result<PublicKey, KeyFileError> {
    if dir.as_os_str() == "-" {
        return Err(OutputError::OwnedStdout { path: dir.into() }.into());
    }
    create_private_dir(dir)?;
    for name in [PRIVATE_FILE, PUBLIC_FILE, JWK_FILE, JWKS_FILE] {
        output::check_owned(&dir.join(name))?;
    }
    let private = dir.join(PRIVATE_FILE);
    if !force && private.exists() {
        return Err(KeyFileError::Exists { path: private });
    }
    let public = PublicKey::new(*key.verifying_key());
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyFileError::Malformed {
            path: private.clone(),
            detail: e.to_string(),
        })?;
    write_public(dir, &public)?;
    // The private key goes last: a crash before it leaves no new private key (a first
    // start then makes a whole new set), and public files that do not match an older
    // private key are rewritten from it at the next start.
    output::write_owned(&private, pem.as_bytes(), 0o600)?;
    Ok(public)
}

/// Writes the public files of `public` into `dir`: SPKI PEM, JWK, and the JWKS of every
/// key (this one first, then the retired ones).
pub fn write_public(dir: &Path, public: &PublicKey) -> Result<(), KeyFileError> {
    output::write_owned(&dir.join(PUBLIC_FILE), public.to_pem().as_bytes(), 0o644)?;
    let jwk = serde_json::to_string_pretty(&public.to_jwk()).unwrap_or_default() + "\n";
    output::write_owned(&dir.join(JWK_FILE), jwk.as_bytes(), 0o644)?;
    let mut all = vec![public.clone()];
    for k in load_retired(dir)? {
        if !all.contains(&k) {
            all.push(k);
        }
    }
    let jwks = json!({ "keys": all.iter().map(PublicKey::to_jwk).collect::<Vec<_>>() });
    output::write_owned(
        &dir.join(JWKS_FILE),
        (serde_json::to_string_pretty(&jwks).unwrap_or_default() + "\n").as_bytes(),
        0o644,
    )?;
    Ok(())
}

/// Makes the public files in `dir` match `public` (the key loaded from the private
/// file): a set left partial by a crash (no `.pub`, no `.jwk`, or ones from a key that
/// was being rotated in) is rewritten from the private key. Returns whether anything
/// had to be repaired.
pub fn repair_public(dir: &Path, public: &PublicKey) -> Result<bool, KeyFileError> {
    let holds = |name: &str, only: bool| {
        fs::read_to_string(dir.join(name))
            .ok()
            .and_then(|text| parse_public_keys(&text).ok())
            .is_some_and(|keys| {
                if only {
                    keys == [public.clone()]
                } else {
                    keys.first() == Some(public)
                }
            })
    };
    let pem_matches = fs::read_to_string(dir.join(PUBLIC_FILE))
        .is_ok_and(|text| text.trim() == public.to_pem().trim());
    if pem_matches && holds(JWK_FILE, true) && holds(JWKS_FILE, false) {
        return Ok(false);
    }
    write_public(dir, public)?;
    Ok(true)
}

/// Replaces the key in `dir` with a fresh one, keeping the old public key under
/// `retired/<kid>.jwk` and in `attestation.jwks`. Returns (old, new).
pub fn rotate(dir: &Path) -> Result<(PublicKey, PublicKey), KeyFileError> {
    let old_key = load_signing_key(&dir.join(PRIVATE_FILE))?;
    let old = PublicKey::new(*old_key.verifying_key());
    let retired = dir.join(RETIRED_DIR);
    create_private_dir(&retired)?;
    let jwk = serde_json::to_string_pretty(&old.to_jwk()).unwrap_or_default() + "\n";
    output::write_owned(
        &retired.join(format!("{}.jwk", old.kid())),
        jwk.as_bytes(),
        0o644,
    )?;
    let new = write_new(dir, &generate(), true)?;
    Ok((old, new))
}

fn load_retired(dir: &Path) -> Result<Vec<PublicKey>, KeyFileError> {
    let retired = dir.join(RETIRED_DIR);
    let entries = match fs::read_dir(&retired) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&retired)(e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jwk"))
        .collect();
    paths.sort();
    let mut keys = Vec::new();
    for p in paths {
        let text = fs::read_to_string(&p).map_err(io(&p))?;
        keys.extend(
            parse_public_keys(&text).map_err(|e| KeyFileError::PublicKey {
                path: p.clone(),
                detail: e.to_string(),
            })?,
        );
    }
    Ok(keys)
}

/// Checks what a state directory holds the way the private key is checked: the state
/// directory, its key directory, the retired-key directory and the public key files
/// must not be writable by group or others, and must belong to this process's user or
/// root (a root process accepts any owner: it is the administrator's choice). Missing
/// entries are skipped (a first start creates them). The private key is checked when
/// it is loaded (`load_signing_key`: not readable by group or others).
pub fn check_state_dir(state_dir: &Path, keys_dir: &Path) -> Result<(), KeyFileError> {
    let uid = nix::unistd::geteuid().as_raw();
    let entries = [
        (state_dir.to_path_buf(), "the state directory"),
        (keys_dir.to_path_buf(), "the key directory"),
        (keys_dir.join(RETIRED_DIR), "the retired-key directory"),
        (keys_dir.join(PUBLIC_FILE), "the public key"),
        (keys_dir.join(JWK_FILE), "the public key"),
        (keys_dir.join(JWKS_FILE), "the public key set"),
    ];
    for (path, what) in entries {
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&path)(e)),
        };
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(KeyFileError::Writable { path, what, mode });
        }
        let owner = meta.uid();
        if uid != 0 && owner != uid && owner != 0 {
            return Err(KeyFileError::NotOwned {
                path,
                what,
                owner,
                uid,
            });
        }
    }
    Ok(())
}

/// Creates a directory (and parents) with mode 0700 for new levels.
pub fn create_private_dir(dir: &Path) -> Result<(), KeyFileError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generate_load_and_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate();
        let public = write_new(dir.path(), &key, false).unwrap();
        let private = dir.path().join(PRIVATE_FILE);
        assert_eq!(fs::metadata(&private).unwrap().mode() & 0o777, 0o600);
        assert_eq!(load_signing_key(&private).unwrap(), key);
        assert_eq!(load_public_keys(dir.path()).unwrap(), vec![public.clone()]);
        assert!(matches!(
            write_new(dir.path(), &generate(), false),
            Err(KeyFileError::Exists { .. })
        ));

        fs::set_permissions(&private, fs::Permissions::from_mode(0o640)).unwrap();
        let e = load_signing_key(&private).unwrap_err().to_string();
        assert!(e.contains("readable by group or others (mode 0640)"), "{e}");

        let bad = dir.path().join("bad.key");
        output::write_owned(
            &bad,
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            0o600,
        )
        .unwrap();
        assert!(matches!(
            load_signing_key(&bad),
            Err(KeyFileError::Malformed { .. })
        ));
    }

    #[test]
    fn a_partial_key_set_is_repaired_from_the_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate();
        let public = write_new(dir.path(), &key, false).unwrap();
        assert!(
            !repair_public(dir.path(), &public).unwrap(),
            "a whole set is left alone"
        );
        fs::remove_file(dir.path().join(PUBLIC_FILE)).unwrap();
        fs::remove_file(dir.path().join(JWK_FILE)).unwrap();
        assert!(repair_public(dir.path(), &public).unwrap());
        assert_eq!(load_public_keys(dir.path()).unwrap(), vec![public.clone()]);
        let pem = fs::read_to_string(dir.path().join(PUBLIC_FILE)).unwrap();
        assert_eq!(pem.trim(), public.to_pem().trim());

        // Public files of another key (a rotation cut short) are replaced too.
        let other = PublicKey::new(*generate().verifying_key());
        write_public(dir.path(), &other).unwrap();
        assert!(repair_public(dir.path(), &public).unwrap());
        assert_eq!(load_public_keys(dir.path()).unwrap()[0], public);
    }

    #[test]
    fn rotation_keeps_old_public_keys() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_new(dir.path(), &generate(), false).unwrap();
        let (old, new) = rotate(dir.path()).unwrap();
        assert_eq!(old, first);
        assert_ne!(old, new);
        let (_, newer) = rotate(dir.path()).unwrap();
        let keys = load_public_keys(dir.path()).unwrap();
        assert_eq!(keys[0], newer);
        assert!(keys.contains(&first) && keys.contains(&new));
        assert_eq!(keys.len(), 3);
    }
}
