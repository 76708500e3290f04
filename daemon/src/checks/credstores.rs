//! SEC-002: credential stores in the formats real tools write, judged by what they hold
//! and who can actually read them. A file is an exposure only when it holds a
//! credential *and* an account other than its owner can read it: a token-less
//! `~/.docker/config.json` that defers to a credential helper, or a `0644` file in a
//! `0700` home, exposes nothing.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Evidence, Findings, Outcome};
use crate::facts::Facts;
use crate::probe::{Kind, Meta};

/// How to tell that a store holds a credential rather than only settings.
#[derive(Debug, Clone, Copy)]
enum Holds {
    /// `key = value` / `key: value` lines (INI, TOML, YAML, npmrc) with a real value for
    /// a key ending in one of these names.
    Keys(&'static [&'static str]),
    /// A JSON document with a non-empty string under one of these keys, at any depth.
    Json(&'static [&'static str]),
    /// `machine … password …`.
    Netrc,
    /// `https://user:secret@host` lines.
    UrlCredentials,
    /// `host:port:db:user:password` lines.
    Pgpass,
    /// A PEM or OpenSSH private key.
    PrivateKey,
    /// Anything at all: binary token caches and stores whose every entry is a secret.
    NonEmpty,
    /// A real-shaped secret as the secret scanner finds them (project `.env` files).
    Scanned,
}

/// Credential stores relative to a home: `(path, what it is, how to tell)`.
const STORES: &[(&str, &str, Holds)] = &[
    (
        ".aws/credentials",
        "AWS credentials",
        Holds::Keys(&["aws_secret_access_key", "aws_session_token"]),
    ),
    (
        ".aws/config",
        "AWS config",
        Holds::Keys(&["aws_secret_access_key", "aws_session_token"]),
    ),
    (".netrc", "netrc", Holds::Netrc),
    (
        ".git-credentials",
        "git credential store",
        Holds::UrlCredentials,
    ),
    (
        ".docker/config.json",
        "container registry auth",
        Holds::Json(&["auth", "identitytoken", "registrytoken"]),
    ),
    (
        ".config/containers/auth.json",
        "container registry auth",
        Holds::Json(&["auth", "identitytoken"]),
    ),
    (
        ".config/gh/hosts.yml",
        "GitHub CLI",
        Holds::Keys(&["oauth_token"]),
    ),
    (".config/hub", "hub", Holds::Keys(&["oauth_token"])),
    (
        ".config/glab-cli/config.yml",
        "GitLab CLI",
        Holds::Keys(&["token"]),
    ),
    (
        ".kube/config",
        "kubeconfig",
        Holds::Keys(&[
            "token",
            "client-key-data",
            "password",
            "id-token",
            "refresh-token",
        ]),
    ),
    (".pgpass", "PostgreSQL passwords", Holds::Pgpass),
    (
        ".npmrc",
        "npm registry token",
        Holds::Keys(&["_authToken", "_auth", "_password"]),
    ),
    (
        ".pypirc",
        "PyPI upload credentials",
        Holds::Keys(&["password"]),
    ),
    (
        ".cargo/credentials.toml",
        "crates.io token",
        Holds::Keys(&["token"]),
    ),
    (
        ".cargo/credentials",
        "crates.io token",
        Holds::Keys(&["token"]),
    ),
    (
        ".config/gcloud/application_default_credentials.json",
        "Google Cloud credentials",
        Holds::Json(&["private_key", "refresh_token"]),
    ),
    (
        ".config/gcloud/credentials.db",
        "Google Cloud credentials",
        Holds::NonEmpty,
    ),
    (
        ".config/gcloud/access_tokens.db",
        "Google Cloud access tokens",
        Holds::NonEmpty,
    ),
    (
        ".azure/msal_token_cache.json",
        "Azure CLI tokens",
        Holds::Json(&["secret"]),
    ),
    (
        ".azure/accessTokens.json",
        "Azure CLI tokens",
        Holds::Json(&["accessToken", "refreshToken"]),
    ),
    (
        ".terraform.d/credentials.tfrc.json",
        "Terraform Cloud token",
        Holds::Json(&["token"]),
    ),
    (
        ".claude/.credentials.json",
        "Claude Code login",
        Holds::Json(&["accessToken", "refreshToken"]),
    ),
    (
        ".codex/auth.json",
        "Codex login",
        Holds::Json(&[
            "OPENAI_API_KEY",
            "access_token",
            "refresh_token",
            "id_token",
        ]),
    ),
    (
        ".gemini/oauth_creds.json",
        "Gemini CLI login",
        Holds::Json(&["access_token", "refresh_token"]),
    ),
    // The gateway config holds channel bot tokens, the gateway's own token or password
    // and provider keys inline unless they are `${VAR}` references.
    (
        ".openclaw/openclaw.json",
        "OpenClaw gateway config",
        Holds::Json(OPENCLAW_SECRETS),
    ),
    (
        ".clawdbot/clawdbot.json",
        "OpenClaw gateway config (legacy name)",
        Holds::Json(OPENCLAW_SECRETS),
    ),
    (
        ".moltbot/moltbot.json",
        "OpenClaw gateway config (legacy name)",
        Holds::Json(OPENCLAW_SECRETS),
    ),
];

/// Keys of `openclaw.json` whose values are secrets.
const OPENCLAW_SECRETS: &[&str] = &[
    "botToken",
    "appToken",
    "token",
    "password",
    "apiKey",
    "accessToken",
    "webhookSecret",
    "signingSecret",
];

/// The paths SEC-002 reads, for `Check::reads`.
pub(super) const STORE_READS: &[&str] = &[
    "~/.aws/credentials",
    "~/.aws/config",
    "~/.netrc",
    "~/.git-credentials",
    "~/.docker/config.json",
    "~/.config/containers/auth.json",
    "~/.config/gh/hosts.yml",
    "~/.config/hub",
    "~/.config/glab-cli/config.yml",
    "~/.kube/config",
    "~/.pgpass",
    "~/.npmrc",
    "~/.pypirc",
    "~/.cargo/credentials.toml",
    "~/.cargo/credentials",
    "~/.config/gcloud/application_default_credentials.json",
    "~/.config/gcloud/credentials.db",
    "~/.config/gcloud/access_tokens.db",
    "~/.azure/msal_token_cache.json",
    "~/.azure/accessTokens.json",
    "~/.terraform.d/credentials.tfrc.json",
    "~/.claude/.credentials.json",
    "~/.codex/auth.json",
    "~/.gemini/oauth_creds.json",
    "~/.openclaw/openclaw.json",
    "~/.clawdbot/clawdbot.json",
    "~/.moltbot/moltbot.json",
    "~/.ssh/id_*",
    "~/.openclaw/credentials/*",
    "~/.openclaw/agents/*/agent/auth-profiles.json",
    "<workspace>/.env",
    "<workspace>/.env.local",
    "<workspace>/.env.production",
    "/etc/group",
    "/etc/passwd",
];

/// Project environment files that hold real values (not `.env.example` and kin).
const DOTENV: &[&str] = &[".env", ".env.local", ".env.production"];

pub(super) fn credential_stores_private(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    let mut candidates: Vec<(PathBuf, &str, Holds)> = Vec::new();
    for home in f.homes() {
        for (rel, what, holds) in STORES {
            candidates.push((home.path.join(rel), what, *holds));
        }
        let ssh = home.path.join(".ssh");
        for name in listed(f, &ssh, &mut out) {
            if name.starts_with("id_") && !name.ends_with(".pub") {
                candidates.push((ssh.join(name), "SSH private key", Holds::PrivateKey));
            }
        }
        let creds = home.path.join(".openclaw/credentials");
        for name in listed(f, &creds, &mut out) {
            candidates.push((
                creds.join(name),
                "OpenClaw channel credentials",
                Holds::NonEmpty,
            ));
        }
        let agents = home.path.join(".openclaw/agents");
        for name in listed(f, &agents, &mut out) {
            candidates.push((
                agents.join(name).join("agent/auth-profiles.json"),
                "OpenClaw auth profiles",
                Holds::Json(&["key", "token", "access", "refresh", "apiKey"]),
            ));
        }
    }
    for ws in f.code_workspaces() {
        for name in DOTENV {
            candidates.push((ws.join(name), "project environment file", Holds::Scanned));
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    candidates.dedup_by(|a, b| a.0 == b.0);
    for (path, what, holds) in candidates {
        judge(f, &path, what, holds, &mut out);
    }
    out.finish("no credential stores were found")
}

/// Names of the regular files directly in `dir` (none when it does not exist).
fn listed(f: &Facts, dir: &Path, out: &mut Findings) -> Vec<String> {
    match f.fs.list_dir(dir) {
        Ok(l) => l
            .iter()
            .filter(|e| e.kind == Kind::File || e.kind == Kind::Dir)
            .map(|e| e.name_lossy())
            .collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            out.probe_error(&e);
            Vec::new()
        }
    }
}

fn judge(f: &Facts, path: &Path, what: &str, holds: Holds, out: &mut Findings) {
    // A symlinked store is judged by its target (resolved inside the host root). The
    // target's directories are not the link's, so for it every directory on the way
    // counts as open: a link cannot make a readable file look private.
    let (meta, linked) = match f.fs.symlink_metadata(path) {
        Ok(m) if m.kind == Kind::File => (m, false),
        Ok(m) if m.kind == Kind::Symlink => match f.fs.metadata(path) {
            Ok(t) if t.kind == Kind::File => (t, true),
            Ok(_) => return,
            Err(e) if e.is_not_found() => return,
            Err(e) => return out.probe_error(&e),
        },
        Ok(_) => return,
        Err(e) if e.is_not_found() => return,
        Err(e) => return out.probe_error(&e),
    };
    let what = if linked {
        format!("{what} (a symlink, judged by its target)")
    } else {
        what.to_owned()
    };
    let what = what.as_str();
    let readers = match readers(f, path, &meta, linked) {
        Ok(r) => r,
        Err(e) => return out.probe_error(&e),
    };
    let Some(readers) = readers else {
        return out.ok(Evidence::at(
            path,
            format!("{what}: mode {:04o}, owner only", meta.mode),
        ));
    };
    // Only a file others can read is opened: what it holds decides whether that matters.
    let bytes = match f.fs.read(path) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return,
        Err(e) => return out.probe_error(&e),
    };
    match credential_in(&bytes, holds) {
        Err(message) => out.parse_error(path, format!("{what}: {message}")),
        Ok(Some(key)) => out.finding(Evidence::at(
            path,
            format!(
                "{what} ({key}) readable by {readers}: mode {:04o}",
                meta.mode
            ),
        )),
        Ok(None) => out.ok(Evidence::at(
            path,
            format!("{what}: mode {:04o}, holds no credential", meta.mode),
        )),
    }
}

/// Who besides the owner can read the file: `others` when the file and every directory
/// above it let them, `group <name>` when the file's group has another member (or is not
/// in `/etc/group`: unknown members count), `None` when nobody else can.
fn readers(
    f: &Facts,
    path: &Path,
    meta: &Meta,
    linked: bool,
) -> Result<Option<String>, crate::probe::ProbeError> {
    let mut others = meta.mode & 0o004 != 0;
    let mut group = meta.mode & 0o040 != 0;
    if !others && !group {
        return Ok(None);
    }
    // Every directory on the way must let the same class through (search permission).
    // The root itself is left out: on a host it is 0755, and a host tree's root is
    // whatever directory it was unpacked in.
    let mut dir = path.parent().filter(|_| !linked);
    while let Some(d) = dir.filter(|d| *d != Path::new("/")) {
        let m = f.fs.metadata(d)?;
        others &= m.mode & 0o001 != 0;
        group &= m.mode & 0o001 != 0 || (m.mode & 0o010 != 0 && m.gid == meta.gid);
        dir = d.parent();
    }
    if others {
        return Ok(Some("others".into()));
    }
    if group {
        let accounts = f.accounts();
        let owner = accounts.user_name(meta.uid);
        match accounts.group_name(meta.gid) {
            Some(name) => {
                let members = accounts.members_of(name);
                if members.iter().any(|m| Some(m.as_str()) != owner) {
                    return Ok(Some(format!("group {name}")));
                }
            }
            None => return Ok(Some(format!("group {} (not in /etc/group)", meta.gid))),
        }
    }
    Ok(None)
}

/// The name of the credential a store holds (a key name, never its value). A JSON store
/// that does not parse cannot be judged: an error, not "holds nothing".
fn credential_in(bytes: &[u8], holds: Holds) -> Result<Option<String>, String> {
    let text = String::from_utf8_lossy(bytes);
    let real = |v: &str| {
        let v = v.trim().trim_matches(['"', '\'']);
        !v.is_empty() && !crate::secrets::is_placeholder(v)
    };
    // Passwords are chosen by people: short or repetitive is still a password; only a
    // variable reference stands for one.
    let password = |v: &str| {
        let v = v.trim();
        !v.is_empty() && !v.starts_with('$') && !v.contains("${")
    };
    Ok(match holds {
        Holds::Keys(keys) => text.lines().find_map(|line| {
            let line = line.trim();
            if line.starts_with(['#', ';']) {
                return None;
            }
            // `key = value` (INI, TOML, npmrc, whose keys hold `:`) or `key: value` (YAML).
            ['=', ':'].iter().find_map(|sep| {
                let (k, v) = line.split_once(*sep)?;
                let k = k.trim().trim_matches(['"', '\'']);
                let key = keys.iter().find(|want| k.ends_with(*want))?;
                real(v).then(|| (*key).to_owned())
            })
        }),
        Holds::Json(keys) => json_key(&crate::jsonc::parse(&text)?, keys, 0),
        Holds::Netrc => {
            let words: Vec<&str> = text.split_whitespace().collect();
            words
                .windows(2)
                .any(|w| w[0] == "password" && password(w[1]))
                .then(|| "password".into())
        }
        Holds::UrlCredentials => text
            .lines()
            .any(|l| {
                l.split_once("://")
                    .and_then(|(_, rest)| rest.split_once('@'))
                    .and_then(|(userinfo, _)| userinfo.split_once(':'))
                    .is_some_and(|(_, pass)| password(pass))
            })
            .then(|| "user:password URL".into()),
        Holds::Pgpass => text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.splitn(5, ':').nth(4).is_some_and(password))
            .then(|| "password".into()),
        Holds::PrivateKey => text
            .contains("PRIVATE KEY-----")
            .then(|| "private key".into()),
        Holds::NonEmpty => {
            let t = text.trim();
            (!t.is_empty() && t != "{}" && t != "[]").then(|| "stored credentials".into())
        }
        Holds::Scanned => crate::secrets::scan(&text)
            .first()
            .map(|hit| format!("a secret on line {}", hit.line)),
    })
}

fn json_key(v: &Value, keys: &[&str], depth: u8) -> Option<String> {
    if depth > 32 {
        // Deeper than any real store: count it as holding one rather than look away.
        return Some("nested beyond 32 levels".into());
    }
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| match v {
            // `${VAR}` is a reference the tool resolves at run time, not a secret.
            Value::String(s)
                if keys.contains(&k.as_str())
                    && !s.is_empty()
                    && !s.contains("${")
                    && !crate::secrets::is_placeholder(s) =>
            {
                Some(k.clone())
            }
            _ => json_key(v, keys, depth + 1),
        }),
        Value::Array(a) => a.iter().find_map(|v| json_key(v, keys, depth + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_hold_credentials_only_with_real_values() {
        let has = |text: &str, h| credential_in(text.as_bytes(), h).unwrap();
        let aws = Holds::Keys(&["aws_secret_access_key"]);
        assert_eq!(has("[default]\nregion = eu-west-1\n", aws), None);
        assert_eq!(
            has("[default]\naws_secret_access_key = ${AWS_SECRET}\n", aws),
            None
        );
        assert!(
            has(
                "[default]\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCY\n",
                aws
            )
            .is_some()
        );
        let docker = Holds::Json(&["auth"]);
        assert_eq!(
            has(
                r#"{"credsStore": "desktop", "auths": {"ghcr.io": {}}}"#,
                docker
            ),
            None
        );
        assert!(
            has(
                r#"{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}}"#,
                docker
            )
            .is_some()
        );
        let npm = Holds::Keys(&["_authToken"]);
        assert_eq!(
            has("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", npm),
            None
        );
        assert!(has("//registry.npmjs.org/:_authToken=npm_a1b2c3d4e5f6\n", npm).is_some());
        assert_eq!(has("machine h login u\n", Holds::Netrc), None);
        assert!(has("machine h login u password s3cr3tpw\n", Holds::Netrc).is_some());
        assert_eq!(has("https://u@github.com\n", Holds::UrlCredentials), None);
        assert!(has("https://u:ghp_x1@github.com\n", Holds::UrlCredentials).is_some());
        assert!(has("db:5432:*:u:pw\n", Holds::Pgpass).is_some());
        assert_eq!(has("{}\n", Holds::NonEmpty), None);
        assert!(credential_in(b"{\"auths\": ", docker).is_err());
    }

    #[test]
    fn every_store_is_declared_in_the_reads() {
        for (rel, _, _) in STORES {
            let read = format!("~/{rel}");
            assert!(
                STORE_READS.contains(&read.as_str()),
                "{read} is read but not declared"
            );
        }
        for name in DOTENV {
            let read = format!("<workspace>/{name}");
            assert!(
                STORE_READS.contains(&read.as_str()),
                "{read} is read but not declared"
            );
        }
    }
}
