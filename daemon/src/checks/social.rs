//! Social guards: who can talk to the agent and make it act.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::{Facts, JsonDoc};
use crate::jsonc::line_of_key;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "SOC-001",
        domain: Domain::Social,
        severity: Severity::High,
        title: "Agent inbound channels are not open to anyone",
        rationale: "A channel with `dmPolicy`/`groupPolicy` \"open\" or `allowFrom: [\"*\"]` lets \
            any stranger who finds the bot send it instructions — prompt injection with no \
            effort, and command execution when exec tools are enabled.",
        remediation: "Use `dmPolicy: \"pairing\"` or `\"allowlist\"` with an explicit `allowFrom` list, \
            and `groupPolicy: \"allowlist\"`.",
        references: &["CWE-284", "https://docs.openclaw.ai/gateway/security"],
        reads: &["@openclaw-configs"],
        run: channels_not_open,
    },
    Check {
        id: "SOC-002",
        domain: Domain::Social,
        severity: Severity::Critical,
        title: "No channel open to anyone reaches an agent that can run commands",
        rationale: "An open channel plus unrestricted exec (`tools.exec.security: \"full\"`, \
            elevated tools, or exec approvals defaulting to \"full\") means any stranger who \
            messages the bot can run shell commands on this host: remote code execution by chat.",
        remediation: "Close the channel (pairing or allowlist) or restrict exec to an allowlist \
            with approvals (`tools.exec.security: \"allowlist\"`, `ask: \"on-miss\"`) and disable \
            elevated tools.",
        references: &[
            "CWE-78",
            "CWE-284",
            "https://docs.openclaw.ai/tools/exec-approvals",
        ],
        reads: &[
            "~/.openclaw/openclaw.json",
            "~/.openclaw/exec-approvals.json",
            "@openclaw-configs",
        ],
        run: open_channels_without_exec,
    },
    Check {
        id: "SOC-003",
        domain: Domain::Social,
        severity: Severity::High,
        title: "Gateway and webhook tokens are long and not reused",
        rationale: "The gateway token and the hook/webhook tokens are all that stand between \
            the network and the agent. A short one can be guessed; one value reused for the \
            gateway and a webhook (or across channels) means a leak of the weaker place opens \
            every other.",
        remediation: "Generate each token separately with `openssl rand -hex 32` (or keep them in \
            the environment as `${VAR}`), and never reuse the gateway token for hooks.",
        references: &[
            "CWE-521",
            "CWE-798",
            "https://docs.openclaw.ai/automation/webhook",
        ],
        reads: &["@openclaw-configs"],
        run: tokens_strong_and_unique,
    },
    Check {
        id: "SOC-004",
        domain: Domain::Social,
        severity: Severity::Medium,
        title: "Channel, webhook and remote gateway endpoints use TLS",
        rationale: "A webhook or remote gateway URL over plain `http://` or `ws://` to another host \
            sends messages, tokens and tool results in clear text, readable and alterable by \
            anyone on the path.",
        remediation: "Use `https://`/`wss://` endpoints, or reach the other host over SSH or \
            Tailscale and point the URL at loopback.",
        references: &["CWE-319"],
        reads: &["@openclaw-configs"],
        run: endpoints_use_tls,
    },
    Check {
        id: "SOC-005",
        domain: Domain::Social,
        severity: Severity::High,
        title: "Agent gateway authentication is on",
        rationale: "With `gateway.auth.mode: \"none\"` (or an empty password, or the Control UI's \
            insecure auth allowed) any process or web page that reaches the gateway port can \
            drive the agent, read its sessions and change its config.",
        remediation: "Set `gateway.auth.mode: \"token\"` with a long random token (`openssl rand \
            -hex 32`, or `OPENCLAW_GATEWAY_TOKEN`), and leave `controlUi.allowInsecureAuth` off.",
        references: &["CWE-306", "https://docs.openclaw.ai/gateway/security"],
        reads: &["@openclaw-configs"],
        run: gateway_auth_on,
    },
    Check {
        id: "SOC-006",
        domain: Domain::Social,
        severity: Severity::Medium,
        title: "Several senders do not share one agent session",
        rationale: "With `session.dmScope: \"main\"` (the default) every direct message lands in \
            one shared session: when more than one person can DM the agent, each can read what \
            the others said and steer the context the others' requests run in.",
        remediation: "Set `session.dmScope: \"per-channel-peer\"` (or `\"per-peer\"`) when more than \
            one person can message the agent.",
        references: &["CWE-200", "https://docs.openclaw.ai/concepts/session"],
        reads: &["@openclaw-configs"],
        run: sessions_not_shared,
    },
    Check {
        id: "SOC-007",
        domain: Domain::Social,
        severity: Severity::Low,
        title: "The agent's identity says it is an AI",
        rationale: "People who message an agent on WhatsApp or Telegram should know they are \
            talking to software. An IDENTITY.md or SOUL.md that declares the agent an AI \
            assistant is the basis for that disclosure (and what the EU AI Act art. 50 asks).",
        remediation: "State in the workspace's IDENTITY.md or SOUL.md that the agent is an AI \
            assistant and should say so when asked or when first contacting someone.",
        references: &[
            "EU AI Act Art. 50",
            "https://docs.openclaw.ai/concepts/agent-workspace",
        ],
        reads: &[
            "@openclaw-configs",
            "~/.openclaw/workspace/IDENTITY.md",
            "~/.openclaw/workspace/SOUL.md",
            "<workspace>/IDENTITY.md",
            "<workspace>/SOUL.md",
        ],
        run: identity_discloses_ai,
    },
];

/// Each usable OpenClaw config; problems are recorded on `out`.
fn configs<'a>(f: &'a Facts, out: &mut Findings) -> Vec<&'a JsonDoc> {
    let mut docs = Vec::new();
    for doc in f.openclaw_configs() {
        match doc {
            Ok(d) => docs.push(d),
            Err(p) => out.problem(p),
        }
    }
    docs
}

/// Keys of `channels` that configure every channel rather than being one.
const NOT_CHANNELS: &[&str] = &["defaults", "modelByChannel"];

/// Enabled channels of a config, by name.
fn channels(doc: &JsonDoc) -> Vec<(&String, &Value)> {
    doc.value
        .get("channels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(name, ch)| ch.is_object() && !NOT_CHANNELS.contains(&name.as_str()))
        .filter(|(_, ch)| ch.get("enabled").and_then(Value::as_bool) != Some(false))
        .collect()
}

fn has_wildcard(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("*")))
}

/// Why one policy scope (a channel's root or one of its accounts) is open to anyone.
/// Legacy `dm.policy`/`dm.allowFrom` are still honoured by OpenClaw, so they count too.
fn scope_openness(v: &Value, prefix: &str, default_group_open: bool) -> Vec<String> {
    let mut open = Vec::new();
    let policy = |k: &str| v.pointer(k).and_then(Value::as_str);
    if policy("/dmPolicy") == Some("open") {
        open.push(format!("{prefix}dmPolicy \"open\""));
    } else if policy("/dm/policy") == Some("open") {
        open.push(format!("{prefix}dm.policy \"open\""));
    }
    match policy("/groupPolicy") {
        Some("open") => open.push(format!("{prefix}groupPolicy \"open\"")),
        None if default_group_open => {
            open.push("groupPolicy \"open\" (from channels.defaults)".to_owned())
        }
        _ => {}
    }
    for (pointer, key) in [
        ("/allowFrom", "allowFrom"),
        ("/groupAllowFrom", "groupAllowFrom"),
        ("/dm/allowFrom", "dm.allowFrom"),
    ] {
        if has_wildcard(v.pointer(pointer)) {
            open.push(format!("{prefix}{key} [\"*\"]"));
        }
    }
    open
}

/// Why a channel is open to anyone, if it is: its root policies (or the channel
/// defaults it inherits), and those of each enabled account.
fn openness(doc: &JsonDoc, ch: &Value) -> Vec<String> {
    let default_group_open = doc
        .value
        .pointer("/channels/defaults/groupPolicy")
        .and_then(Value::as_str)
        == Some("open");
    let mut open = scope_openness(ch, "", default_group_open);
    let accounts = ch.get("accounts").and_then(Value::as_object);
    for (id, account) in accounts.into_iter().flatten() {
        if account.get("enabled").and_then(Value::as_bool) != Some(false) {
            // An account without its own policy inherits the root's, reported above.
            open.extend(scope_openness(account, &format!("accounts.{id}."), false));
        }
    }
    open
}

/// Every explicit sender a channel allows (root, legacy `dm`, and each account).
fn allowed_senders(ch: &Value) -> Vec<&str> {
    let scopes = std::iter::once(ch).chain(
        ch.get("accounts")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values()),
    );
    scopes
        .flat_map(|v| [v.pointer("/allowFrom"), v.pointer("/dm/allowFrom")])
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| *s != "*")
        .collect()
}

fn channels_not_open(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for doc in configs(f, &mut out) {
        for (name, ch) in channels(doc) {
            let line = line_of_key(&doc.text, name).unwrap_or(1);
            let open = openness(doc, ch);
            if open.is_empty() {
                out.ok(Evidence::at(&doc.path, format!("channel {name}: restricted")).line(line));
            } else {
                out.finding(
                    Evidence::at(&doc.path, format!("channel {name}: {}", open.join(", ")))
                        .line(line),
                );
            }
        }
    }
    out.finish("no OpenClaw channels are configured")
}

/// How a config (and the exec approvals beside it) lets the agent run any command.
fn unrestricted_exec(f: &Facts, doc: &JsonDoc, out: &mut Findings) -> Option<String> {
    for (label, tools) in crate::facts::agents::openclaw_tool_scopes(doc) {
        if tools.pointer("/exec/security").and_then(Value::as_str) == Some("full") {
            return Some(format!("{label}.exec.security \"full\""));
        }
        if tools.pointer("/elevated/enabled").and_then(Value::as_bool) == Some(true) {
            return Some(format!("{label}.elevated.enabled"));
        }
    }
    let approvals = doc.path.with_file_name("exec-approvals.json");
    match f.json_file(&approvals)? {
        Ok(a) => {
            let full = a
                .value
                .pointer("/defaults/security")
                .and_then(Value::as_str)
                == Some("full")
                || a.value
                    .get("agents")
                    .and_then(Value::as_object)
                    .is_some_and(|m| {
                        m.values()
                            .any(|v| v.get("security").and_then(Value::as_str) == Some("full"))
                    });
            full.then(|| format!("{} grants security \"full\"", approvals.display()))
        }
        Err(p) => {
            out.problem(&p);
            None
        }
    }
}

fn open_channels_without_exec(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for doc in configs(f, &mut out) {
        let open: Vec<(&String, Vec<String>)> = channels(doc)
            .into_iter()
            .map(|(n, ch)| (n, openness(doc, ch)))
            .filter(|(_, o)| !o.is_empty())
            .collect();
        let exec = unrestricted_exec(f, doc, &mut out);
        match (open.first(), exec) {
            (Some((name, why)), Some(exec)) => {
                let line = line_of_key(&doc.text, name).unwrap_or(1);
                out.finding(
                    Evidence::at(
                        &doc.path,
                        format!(
                            "channel {name} ({}) reaches an agent with {exec}",
                            why.join(", ")
                        ),
                    )
                    .line(line),
                );
            }
            (Some((name, _)), None) => out.ok(Evidence::at(
                &doc.path,
                format!("channel {name} is open but exec is restricted"),
            )),
            (None, _) => out.ok(Evidence::at(&doc.path, "no channel is open to anyone")),
        }
    }
    out.finish("no OpenClaw config was found")
}

/// Keys whose values are shared secrets chosen by the operator (not issued by a provider).
const CHOSEN_SECRETS: &[&str] = &["token", "webhookSecret", "secret", "signingSecret"];
/// Keys whose values are secrets issued by a provider; only their reuse is judged.
const ISSUED_SECRETS: &[&str] = &["botToken", "appToken", "accessToken", "password"];

/// (dotted key, value) of every secret-like string in the gateway, hooks and channels.
fn secret_values(doc: &JsonDoc) -> Vec<(String, String)> {
    fn walk(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let path = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}.{k}")
                    };
                    match v.as_str() {
                        Some(s)
                            if CHOSEN_SECRETS.contains(&k.as_str())
                                || ISSUED_SECRETS.contains(&k.as_str()) =>
                        {
                            // `${VAR}` references are resolved from the environment at run time.
                            if !s.is_empty() && !s.contains("${") {
                                out.push((path, s.to_owned()));
                            }
                        }
                        _ => walk(v, &path, out),
                    }
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, &format!("{key}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for section in ["gateway", "hooks", "channels"] {
        if let Some(v) = doc.value.get(section) {
            walk(v, section, &mut out);
        }
    }
    out
}

/// The line of a dotted key such as `hooks.token`: each segment is looked for after the
/// previous one, so the `token` of `hooks` is not confused with the gateway's.
fn line_of_path(text: &str, dotted: &str) -> u32 {
    let mut pos = 0;
    for seg in dotted.split('.').map(|s| s.split('[').next().unwrap_or(s)) {
        let found = [format!("\"{seg}\""), format!("'{seg}'"), format!("{seg}:")]
            .iter()
            .filter_map(|pat| text[pos..].find(pat.as_str()))
            .min();
        if let Some(i) = found {
            pos += i;
        }
    }
    text[..pos].matches('\n').count() as u32 + 1
}

fn last_key(dotted: &str) -> &str {
    dotted.rsplit('.').next().unwrap_or(dotted)
}

fn tokens_strong_and_unique(f: &Facts) -> Outcome {
    const MIN_TOKEN: usize = 24;
    const MIN_PASSWORD: usize = 16;
    let mut out = Findings::new();
    let mut seen: BTreeMap<String, Vec<(String, std::path::PathBuf)>> = BTreeMap::new();
    for doc in configs(f, &mut out) {
        for (key, value) in secret_values(doc) {
            let leaf = last_key(&key);
            let line = line_of_path(&doc.text, &key);
            let min = match leaf {
                "password" if key.starts_with("gateway.") => Some(MIN_PASSWORD),
                l if CHOSEN_SECRETS.contains(&l) => Some(MIN_TOKEN),
                _ => None,
            };
            let len = value.chars().count();
            match min {
                Some(min) if len < min => out.finding(
                    Evidence::at(
                        &doc.path,
                        format!("{key} is {len} characters long (want at least {min})"),
                    )
                    .line(line),
                ),
                _ => out.ok(Evidence::at(&doc.path, format!("{key}: {len} characters"))),
            }
            seen.entry(crate::digest::sha256_hex(value.as_bytes()))
                .or_default()
                .push((key, doc.path.clone()));
        }
    }
    for uses in seen.values().filter(|u| u.len() > 1) {
        let (first, path) = &uses[0];
        let others: Vec<String> = uses[1..]
            .iter()
            .map(|(k, p)| {
                if p == path {
                    k.clone()
                } else {
                    format!("{k} in {}", p.display())
                }
            })
            .collect();
        out.finding(Evidence::at(
            path,
            format!("{first} has the same value as {}", others.join(", ")),
        ));
    }
    out.finish("no gateway, hook or channel tokens are configured in OpenClaw")
}

/// True for hosts that never leave the machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.ends_with(".localhost") || host == "::1" || host.starts_with("127.")
}

/// The host of a plaintext `http://` or `ws://` URL to another machine.
fn plaintext_remote(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| &h[1..])?
    } else {
        authority.split(':').next()?
    };
    (!is_loopback(host) && !host.is_empty()).then_some(host)
}

fn endpoints_use_tls(f: &Facts) -> Outcome {
    fn walk(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| walk(v, &format!("{key}.{k}"), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(v, &format!("{key}[{i}]"), out)),
            Value::String(s) if s.contains("://") => out.push((key.to_owned(), s.clone())),
            _ => {}
        }
    }
    let mut out = Findings::new();
    for doc in configs(f, &mut out) {
        let mut urls = Vec::new();
        // Where messages and tokens travel: channels, webhooks, and a remote gateway the
        // CLI connects to (not `gateway.controlUi.allowedOrigins`, which only lists origins).
        for (pointer, key) in [
            ("/channels", "channels"),
            ("/hooks", "hooks"),
            ("/gateway/remote", "gateway.remote"),
        ] {
            if let Some(v) = doc.value.pointer(pointer) {
                walk(v, key, &mut urls);
            }
        }
        for (key, url) in urls {
            match plaintext_remote(&url) {
                Some(host) => {
                    let line = doc
                        .text
                        .find(url.as_str())
                        .map_or(1, |p| doc.text[..p].matches('\n').count() as u32 + 1);
                    out.finding(
                        Evidence::at(&doc.path, format!("{key} is plaintext to {host}: {url}"))
                            .line(line),
                    );
                }
                None => out.ok(Evidence::at(
                    &doc.path,
                    format!("{key}: encrypted or loopback"),
                )),
            }
        }
    }
    out.finish("no channel, hook or remote gateway endpoints are configured")
}

fn gateway_auth_on(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for doc in configs(f, &mut out) {
        let Some(gw) = doc.value.get("gateway") else {
            continue;
        };
        let auth = gw.get("auth");
        let mode = auth.and_then(|a| a.get("mode")).and_then(Value::as_str);
        let line = |k: &str| line_of_key(&doc.text, k).unwrap_or(1);
        let mut bad = Vec::new();
        if mode == Some("none") {
            bad.push(("mode", "gateway.auth.mode is \"none\"".to_owned()));
        }
        if mode == Some("password")
            && auth.and_then(|a| a.get("password")).and_then(Value::as_str) == Some("")
        {
            bad.push(("password", "gateway.auth.password is empty".to_owned()));
        }
        if gw
            .pointer("/controlUi/allowInsecureAuth")
            .and_then(Value::as_bool)
            == Some(true)
        {
            bad.push((
                "allowInsecureAuth",
                "gateway.controlUi.allowInsecureAuth is true".to_owned(),
            ));
        }
        if bad.is_empty() {
            let mode = mode.map_or_else(
                || "not set (OpenClaw refuses a non-loopback bind without auth)".to_owned(),
                |m| format!("{m:?}"),
            );
            out.ok(Evidence::at(&doc.path, format!("gateway auth mode {mode}")));
        }
        for (key, what) in bad {
            out.finding(Evidence::at(&doc.path, what).line(line(key)));
        }
    }
    out.finish("no OpenClaw gateway is configured")
}

fn sessions_not_shared(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for doc in configs(f, &mut out) {
        let chans = channels(doc);
        if chans.is_empty() {
            continue;
        }
        let scope = doc
            .value
            .pointer("/session/dmScope")
            .and_then(Value::as_str)
            .unwrap_or("main");
        let open: Vec<&String> = chans
            .iter()
            .filter(|(_, c)| !openness(doc, c).is_empty())
            .map(|(n, _)| *n)
            .collect();
        let mut senders: Vec<String> = chans
            .iter()
            .flat_map(|(n, c)| {
                allowed_senders(c)
                    .into_iter()
                    .map(move |s| format!("{n}:{s}"))
            })
            .collect();
        senders.sort();
        senders.dedup();
        let many = if !open.is_empty() {
            Some(format!("channel {} is open to anyone", open[0]))
        } else if senders.len() > 1 {
            Some(format!("{} senders are allowed", senders.len()))
        } else {
            None
        };
        match (scope, many) {
            ("main", Some(many)) => {
                let line = line_of_key(&doc.text, "dmScope")
                    .or_else(|| line_of_key(&doc.text, "channels"))
                    .unwrap_or(1);
                out.finding(
                    Evidence::at(
                        &doc.path,
                        format!(
                            "session.dmScope is \"main\" and {many}: all DMs share one session"
                        ),
                    )
                    .line(line),
                );
            }
            (scope, _) => out.ok(Evidence::at(
                &doc.path,
                format!("session.dmScope \"{scope}\""),
            )),
        }
    }
    out.finish("no OpenClaw channels are configured")
}

static AI_DECLARATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:AI|A\.I\.|artificial intelligence|assistant|language model|LLM|chat ?bot|bot|agent|not a human)\b").ok()
});

fn identity_discloses_ai(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for ws in f.openclaw_workspaces() {
        let mut declared = None;
        let mut read_any = false;
        let mut unreadable = false;
        for name in ["IDENTITY.md", "SOUL.md"] {
            let path = ws.join(name);
            match f.fs.read_text(&path) {
                Ok(text) => {
                    read_any = true;
                    if let Some(i) = text
                        .lines()
                        .position(|l| AI_DECLARATION.as_ref().is_some_and(|re| re.is_match(l)))
                    {
                        declared = Some((path, i as u32 + 1));
                        break;
                    }
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    unreadable = true;
                    out.probe_error(&e);
                }
            }
        }
        match declared {
            Some((path, line)) => {
                out.ok(Evidence::at(&path, "declares the agent an AI").line(line))
            }
            // What could not be read may hold the declaration: an error, not a finding.
            None if unreadable => {}
            None => out.finding(Evidence::at(
                Path::new(&ws),
                if read_any {
                    "IDENTITY.md / SOUL.md never say the agent is an AI"
                } else {
                    "no IDENTITY.md or SOUL.md declares the agent an AI"
                },
            )),
        }
    }
    out.finish("no OpenClaw workspace was found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_urls_to_other_hosts() {
        assert_eq!(plaintext_remote("http://10.0.0.5:9000/x"), Some("10.0.0.5"));
        assert_eq!(
            plaintext_remote("ws://user@gw.example:1/"),
            Some("gw.example")
        );
        assert_eq!(plaintext_remote("http://[::1]:8080/"), None);
        assert_eq!(plaintext_remote("http://127.0.0.1/"), None);
        assert_eq!(plaintext_remote("https://gw.example/"), None);
    }

    #[test]
    fn dotted_keys_find_their_own_line() {
        let text =
            "{\n  gateway: { auth: { token: \"a\" } },\n  hooks: {\n    token: \"b\",\n  },\n}\n";
        assert_eq!(line_of_path(text, "gateway.auth.token"), 2);
        assert_eq!(line_of_path(text, "hooks.token"), 4);
    }
}
