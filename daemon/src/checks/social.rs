//! Social guards: who can talk to the agent and make it act.

use serde_json::Value;

use super::{Check, Domain, Evidence, Findings, Outcome, Severity};
use crate::facts::Facts;

pub(super) const CHECKS: &[Check] = &[Check {
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
    reads: &[
        "~/.openclaw/openclaw.json",
        "~/.clawdbot/clawdbot.json",
        "~/.moltbot/moltbot.json",
    ],
    run: channels_not_open,
}];

fn channels_not_open(f: &Facts) -> Outcome {
    let mut out = Findings::new();
    for doc in f.openclaw_configs() {
        let doc = match doc {
            Ok(d) => d,
            Err(p) => {
                out.problem(p);
                continue;
            }
        };
        let Some(channels) = doc.value.get("channels").and_then(Value::as_object) else {
            continue;
        };
        for (name, ch) in channels {
            if ch.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let line = crate::jsonc::line_of_key(&doc.text, name).unwrap_or(1);
            let mut open = Vec::new();
            for key in ["dmPolicy", "groupPolicy"] {
                if ch.get(key).and_then(Value::as_str) == Some("open") {
                    open.push(format!("{key} \"open\""));
                }
            }
            for key in ["allowFrom", "groupAllowFrom"] {
                let wildcard = ch
                    .get(key)
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("*")));
                if wildcard {
                    open.push(format!("{key} [\"*\"]"));
                }
            }
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
