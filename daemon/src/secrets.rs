//! Secret detection and redaction.
//!
//! [`scan`] finds credentials in text with gitleaks-style rules: cheap keyword
//! prefilters, a regex per credential format, an entropy floor for the generic rules,
//! and an allowlist for placeholders (`${VAR}`, `<your-key>`) and documentation examples.
//! A match leaves this module only as a [`Fingerprint`] — the rule's public prefix, the
//! last two characters and a truncated sha256 — so no type downstream can hold a raw
//! secret. [`redact`] applies the same rules to free text before it becomes evidence.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Serialize, Serializer};

/// A redacted, stable identifier of a secret: enough to find and rotate it, not to use it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    rule: &'static str,
    prefix: String,
    tail: String,
    hash: String,
}

impl Fingerprint {
    fn of(rule: &Rule, secret: &str) -> Self {
        let prefix: String = secret.chars().take(rule.public_prefix).collect();
        let n = secret.chars().count();
        let tail: String = if n >= 24 {
            secret.chars().skip(n - 2).collect()
        } else {
            String::new()
        };
        let hash = crate::digest::sha256_hex(secret.as_bytes())[..12].to_owned();
        Fingerprint {
            rule: rule.id,
            prefix,
            tail,
            hash,
        }
    }

    /// The id of the rule that matched, e.g. `anthropic-api-key`.
    pub fn rule(&self) -> &'static str {
        self.rule
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}…{} (sha256:{})", self.prefix, self.tail, self.hash)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line of the match.
    pub line: u32,
    pub fingerprint: Fingerprint,
}

struct Rule {
    id: &'static str,
    /// Lowercase substrings one of which must occur for the regex to run.
    keywords: &'static [&'static str],
    pattern: &'static str,
    /// Capture group holding the secret itself.
    group: usize,
    /// How many leading characters are a public, format-defining prefix.
    public_prefix: usize,
    /// Minimum Shannon entropy (bits per char) for rules that would otherwise be noisy.
    min_entropy: f64,
}

const RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        keywords: &["private key-----"],
        pattern: r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[A-Za-z0-9+/=\s\\:,.\-]*)",
        group: 1,
        public_prefix: 0,
        min_entropy: 0.0,
    },
    Rule {
        id: "anthropic-api-key",
        keywords: &["sk-ant-"],
        pattern: r"\b(sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_\-]{32,})",
        group: 1,
        public_prefix: 7,
        min_entropy: 0.0,
    },
    Rule {
        id: "openai-api-key",
        keywords: &["sk-"],
        pattern: r"\b(sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48}))",
        group: 1,
        public_prefix: 3,
        min_entropy: 0.0,
    },
    Rule {
        id: "aws-access-key-id",
        keywords: &["akia", "asia", "abia", "acca"],
        pattern: r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        group: 1,
        public_prefix: 4,
        min_entropy: 0.0,
    },
    Rule {
        id: "aws-secret-access-key",
        keywords: &["secret_access", "secretaccess", "secret-access"],
        pattern: r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        group: 1,
        public_prefix: 0,
        min_entropy: 3.0,
    },
    Rule {
        id: "github-token",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        pattern: r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255})\b",
        group: 1,
        public_prefix: 4,
        min_entropy: 0.0,
    },
    Rule {
        id: "github-fine-grained-token",
        keywords: &["github_pat_"],
        pattern: r"\b(github_pat_[A-Za-z0-9_]{60,255})\b",
        group: 1,
        public_prefix: 11,
        min_entropy: 0.0,
    },
    Rule {
        id: "gitlab-token",
        keywords: &["glpat-"],
        pattern: r"\b(glpat-[A-Za-z0-9_\-]{20,})",
        group: 1,
        public_prefix: 6,
        min_entropy: 0.0,
    },
    Rule {
        id: "slack-token",
        keywords: &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
        pattern: r"\b(xox[abprs]-[0-9A-Za-z\-]{10,})",
        group: 1,
        public_prefix: 5,
        min_entropy: 0.0,
    },
    Rule {
        id: "slack-webhook",
        keywords: &["hooks.slack.com"],
        pattern: r"(https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,})",
        group: 1,
        public_prefix: 33,
        min_entropy: 0.0,
    },
    Rule {
        id: "stripe-secret-key",
        keywords: &["sk_live_", "rk_live_"],
        pattern: r"\b((?:sk|rk)_live_[0-9A-Za-z]{20,})",
        group: 1,
        public_prefix: 8,
        min_entropy: 0.0,
    },
    Rule {
        id: "google-api-key",
        keywords: &["aiza"],
        pattern: r"\b(AIza[0-9A-Za-z_\-]{35})",
        group: 1,
        public_prefix: 4,
        min_entropy: 0.0,
    },
    Rule {
        id: "huggingface-token",
        keywords: &["hf_"],
        pattern: r"\b(hf_[A-Za-z0-9]{34,})\b",
        group: 1,
        public_prefix: 3,
        min_entropy: 3.0,
    },
    Rule {
        id: "npm-token",
        keywords: &["npm_"],
        pattern: r"\b(npm_[A-Za-z0-9]{36})\b",
        group: 1,
        public_prefix: 4,
        min_entropy: 3.0,
    },
    Rule {
        id: "jwt",
        keywords: &["eyj"],
        pattern: r"\b(eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})",
        group: 1,
        public_prefix: 3,
        min_entropy: 0.0,
    },
    Rule {
        id: "bearer-token",
        keywords: &["bearer"],
        pattern: r"(?i)\bbearer\s+([A-Za-z0-9_\-.=+/]{20,})",
        group: 1,
        public_prefix: 0,
        min_entropy: 3.5,
    },
    Rule {
        id: "generic-secret-assignment",
        keywords: &[
            "key",
            "secret",
            "token",
            "passw",
            "pwd",
            "credential",
            "auth",
        ],
        pattern: r#"(?i)\b[a-z0-9_.\-]*(?:api[_\-]?key|secret|token|passw(?:or)?d|pwd|credential|auth[_\-]?key|access[_\-]?key)[a-z0-9_.\-]*["']?\s*[:=]\s*["']?([^\s"'`,;]{12,})"#,
        group: 1,
        public_prefix: 0,
        min_entropy: 3.5,
    },
];

struct Compiled {
    rule: &'static Rule,
    regex: Regex,
}

static COMPILED: LazyLock<Vec<Compiled>> = LazyLock::new(|| {
    RULES
        .iter()
        .filter_map(|rule| {
            // The patterns are constants covered by tests; a bad one is skipped, never a panic.
            Regex::new(rule.pattern)
                .ok()
                .map(|regex| Compiled { rule, regex })
        })
        .collect()
});

/// Ids of every rule, for documentation.
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.id)
}

struct Match {
    start: usize,
    end: usize,
    rule: &'static Rule,
}

fn matches(text: &str) -> Vec<Match> {
    let lower = text.to_ascii_lowercase();
    let mut out: Vec<Match> = Vec::new();
    for c in COMPILED.iter() {
        if !c.rule.keywords.iter().any(|k| lower.contains(k)) {
            continue;
        }
        for caps in c.regex.captures_iter(text) {
            let Some(m) = caps.get(c.rule.group) else {
                continue;
            };
            let value = m.as_str().trim_end_matches(['\\', ',', '.']);
            // Key blocks are structural (base64 bodies legitimately hold runs like
            // "AAAAAAAA"), so the placeholder heuristics apply only to token rules.
            if value.is_empty() || (c.rule.id != "private-key" && is_placeholder(value)) {
                continue;
            }
            if c.rule.min_entropy > 0.0 && !looks_random(value, c.rule.min_entropy) {
                continue;
            }
            let (start, end) = (m.start(), m.start() + value.len());
            // Earlier rules are more specific; a later rule never re-reports their span.
            if out.iter().any(|o| start < o.end && o.start < end) {
                continue;
            }
            out.push(Match {
                start,
                end,
                rule: c.rule,
            });
        }
    }
    out.sort_by_key(|m| m.start);
    out
}

/// Every secret in `text`, as line numbers and fingerprints.
pub fn scan(text: &str) -> Vec<Finding> {
    matches(text)
        .into_iter()
        .map(|m| Finding {
            line: (text[..m.start].matches('\n').count() + 1) as u32,
            fingerprint: Fingerprint::of(m.rule, &text[m.start..m.end]),
        })
        .collect()
}

/// `text` with every secret replaced by its fingerprint.
pub fn redact(text: &str) -> String {
    let text = &redact_url_credentials(text);
    let found = matches(text);
    if found.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for m in found {
        out.push_str(&text[at..m.start]);
        out.push_str(&format!(
            "[REDACTED {}]",
            Fingerprint::of(m.rule, &text[m.start..m.end])
        ));
        at = m.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A URL's password (`scheme://user:PASSWORD@host`) and the values of query parameters
/// named like credentials (`?token=…`, `&api_key=…`, `&sig=…`). Whatever their shape,
/// these are secrets by position, so they are cut whether or not a rule matches them.
/// (The patterns are constants a test compiles; like the rules, a bad one is skipped.)
static URL_PASSWORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/:@]*):([^\s/@]+)@").ok());
static URL_SECRET_PARAM: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)([?&](?:access_token|refresh_token|id_token|token|api[_-]?key|apikey|key|secret|client_secret|password|passwd|pwd|sig|signature|auth|x-amz-signature|x-amz-credential)=)([^&#\s]+)",
    )
    .ok()
});

/// Cuts URL passwords and credential query values (see [`URL_PASSWORD`]).
fn redact_url_credentials(text: &str) -> String {
    let mut out = text.to_owned();
    if out.contains("://")
        && let Some(re) = &*URL_PASSWORD
    {
        out = re.replace_all(&out, "$1:[REDACTED password]@").into_owned();
    }
    if out.contains('=')
        && let Some(re) = &*URL_SECRET_PARAM
    {
        out = re.replace_all(&out, "$1[REDACTED]").into_owned();
    }
    out
}

/// Values that stand for a secret rather than being one.
pub(crate) fn is_placeholder(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    let markers = [
        "${",
        "$(",
        "{{",
        "<",
        "%(",
        "example",
        "xxxxxx",
        "your_",
        "your-",
        "placeholder",
        "changeme",
        "dummy",
        "redacted",
        "******",
        "process.env",
        "os.environ",
        "env:",
        "secretref",
        "...",
    ];
    // A variable reference, a file path or a plain URL names where a secret lives.
    let reference = v.starts_with('$')
        || v.starts_with('/')
        || v.starts_with("~/")
        || v.starts_with("./")
        || (v.starts_with("http") && !v.contains("hooks.slack.com"));
    if reference || markers.iter().any(|m| v.contains(m)) {
        return true;
    }
    // Filler such as "aaaaaaaaaaaa" or "0000-0000-0000" is not a credential.
    let mut distinct: Vec<u8> = v.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() <= 3
}

/// High enough entropy, and a mix of letters and digits, to be a generated credential
/// rather than a word, an identifier or a file name.
fn looks_random(value: &str, min_entropy: f64) -> bool {
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = value.bytes().any(|b| b.is_ascii_alphabetic());
    has_digit && has_alpha && shannon_entropy(value) >= min_entropy
}

fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Realistic-looking test values, assembled at run time so that no complete
    // credential-shaped string sits in the source for other scanners to trip on.
    fn anthropic() -> String {
        format!(
            "sk-ant-api03-{}AA",
            "Zq3xW9vB7nM2kL5pR8tY1uI4oE6aS0dF".repeat(3)
        )
    }

    #[test]
    fn url_passwords_and_credential_parameters_are_cut_whatever_their_shape() {
        assert!(URL_PASSWORD.is_some() && URL_SECRET_PARAM.is_some());
        let r = redact(
            "uses http://deploy:hunter2-Plain@mcp.example.org/sse and https://x.example/?a=1&token=opensesame&b=2",
        );
        assert!(!r.contains("hunter2") && !r.contains("opensesame"), "{r}");
        assert!(
            r.contains("http://deploy:[REDACTED password]@mcp.example.org/sse"),
            "{r}"
        );
        assert!(r.contains("&token=[REDACTED]&b=2"), "{r}");
        // Nothing to cut: unchanged.
        assert_eq!(
            redact("https://mcp.example.org/sse?page=2"),
            "https://mcp.example.org/sse?page=2"
        );
        assert_eq!(redact("user@host.example"), "user@host.example");
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(COMPILED.len(), RULES.len());
    }

    #[test]
    fn finds_each_format_with_its_line() {
        let aws = format!("AKIA{}", "Q7RZ2KXW3MVB5NTY");
        let gh = format!("ghp_{}", "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5");
        let text = format!(
            "first line\nANTHROPIC_API_KEY={}\nid = {aws}\ntoken: {gh}\n",
            anthropic()
        );
        let found = scan(&text);
        let rules: Vec<_> = found
            .iter()
            .map(|f| (f.fingerprint.rule(), f.line))
            .collect();
        assert_eq!(
            rules,
            vec![
                ("anthropic-api-key", 2),
                ("aws-access-key-id", 3),
                ("github-token", 4)
            ]
        );
    }

    #[test]
    fn fingerprints_never_contain_the_secret() {
        let key = anthropic();
        let f = &scan(&key)[0];
        let shown = f.fingerprint.to_string();
        assert!(shown.starts_with("sk-ant-…AA (sha256:"), "{shown}");
        assert!(!shown.contains(&key[7..20]));
        let red = redact(&format!("curl -H 'x-api-key: {key}' https://api"));
        assert!(!red.contains(&key[7..20]), "{red}");
        assert!(red.contains("[REDACTED sk-ant-…AA"), "{red}");
    }

    #[test]
    fn placeholders_and_examples_are_not_secrets() {
        for text in [
            "ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}",
            "\"apiKey\": \"<your-api-key-here>\"",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "password = \"changeme\"",
            "token: process.env.GITHUB_TOKEN_VALUE1",
            "secret_file = /etc/app/secret-2024.txt",
            "auth_mode = interactive_login",
            "api_key: xxxxxxxxxxxxxxxxxxxxxxxx",
        ] {
            assert!(
                scan(text).is_empty(),
                "false positive in {text:?}: {:?}",
                scan(text)
            );
        }
    }

    #[test]
    fn generic_assignments_need_entropy() {
        let hit = scan("DB_PASSWORD=\"r8Tq2Lx9Vm4Kp7Wz\"");
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].fingerprint.rule(), "generic-secret-assignment");
        assert!(scan("DB_PASSWORD=\"correcthorsebattery\"").is_empty());
    }

    #[test]
    fn private_key_blocks_are_redacted_whole() {
        let body = "MIIEowIBAAKCAQEA7x9Qm3Lr5Tv2Nw8Kp4Zs6Hb1Jc0Df3Ge5Ha7Ib9Jc2Kd4Le6Mf8Ng";
        let text =
            format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n");
        let red = redact(&text);
        assert!(!red.contains(body), "{red}");
        assert_eq!(scan(&text).len(), 1);
    }
}
