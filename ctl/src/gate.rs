//! `clawsecctl gate`: the pre-action check agents and their hooks run.
//!
//! Exit 0 allows, exit 2 denies — 2 because that is what agent hooks treat as a block
//! (Claude Code's PreToolUse blocks only on exit 2; exit 1 there is a non-blocking error
//! and the tool call would go ahead). It fails closed: when the daemon cannot be reached
//! or answers too late, the answer is deny, unless the caller asked for `--fail-open`.
//!
//! `--hook claude-code` reads the PreToolUse event (JSON with `tool_name`, `tool_input`)
//! on stdin, maps the tool to an action, and on deny prints the hook's JSON decision. On
//! allow it prints nothing, so Claude Code's own permission prompts still apply.

use std::io::Read;
use std::process::ExitCode;

use clawsec_proto::pb;
use serde_json::{Value, json};

use crate::Ctx;
use crate::client::connect;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Hook {
    /// Claude Code PreToolUse hook protocol.
    ClaudeCode,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sensitive action, e.g. exec, network.egress, secrets.read, deploy, payment.
    #[arg(long, required_unless_present = "hook", conflicts_with = "hook")]
    action: Option<String>,
    /// Read the agent's hook event on stdin and answer in its protocol.
    #[arg(long, value_enum)]
    hook: Option<Hook>,
    /// Require at least this tier on top of the daemon's policy for the action.
    #[arg(long, value_parser = ["HIGH", "MEDIUM", "LOW", "UNTRUSTED"], ignore_case = true)]
    min_tier: Option<String>,
    /// Map a hook tool to an action, overriding the defaults (repeatable), e.g.
    /// `--map Task=exec`.
    #[arg(long = "map", value_name = "TOOL=ACTION")]
    maps: Vec<String>,
    /// Allow (exit 0, with a warning) when the daemon cannot answer. Off by default:
    /// a gate that opens when its guard is down is no gate.
    #[arg(long)]
    fail_open: bool,
}

const ALLOW: u8 = 0;
pub(crate) const DENY: u8 = 2;

/// The action a Claude Code tool call needs.
pub fn action_for_tool(tool: &str, maps: &[String]) -> String {
    if let Some(a) = maps.iter().find_map(|m| {
        m.split_once('=')
            .filter(|(t, _)| *t == tool)
            .map(|(_, a)| a)
    }) {
        return a.to_owned();
    }
    if let Some(rest) = tool.strip_prefix("mcp__") {
        let server = rest.split("__").next().unwrap_or(rest);
        return format!("mcp.{server}");
    }
    match tool {
        "Bash" | "BashOutput" | "KillShell" | "Task" => "exec".into(),
        "WebFetch" | "WebSearch" => "network.egress".into(),
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => "fs.write".into(),
        "Read" | "Glob" | "Grep" | "LS" | "NotebookRead" => "fs.read".into(),
        other => format!("tool.{}", other.to_ascii_lowercase()),
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> ExitCode {
    let action = match (&args.action, args.hook) {
        (Some(a), _) => a.clone(),
        (None, Some(Hook::ClaudeCode)) => {
            let mut input = String::new();
            let event = std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut input)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    serde_json::from_str::<Value>(&input).map_err(|e| format!("not JSON: {e}"))
                });
            match event
                .as_ref()
                .ok()
                .and_then(|v| v.get("tool_name"))
                .and_then(Value::as_str)
            {
                Some(tool) => action_for_tool(tool, &args.maps),
                None => {
                    let why = match event {
                        Err(e) => format!("unreadable PreToolUse event on stdin ({e})"),
                        Ok(_) => "PreToolUse event has no tool_name".into(),
                    };
                    return deny(&args, &format!("clawsec: {why}"));
                }
            }
        }
        (None, None) => return deny(&args, "clawsec: no action given"),
    };
    let min_tier = match args
        .min_tier
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("HIGH") => pb::TrustTier::High,
        Some("MEDIUM") => pb::TrustTier::Medium,
        Some("LOW") => pb::TrustTier::Low,
        Some("UNTRUSTED") => pb::TrustTier::Untrusted,
        _ => pb::TrustTier::Unspecified,
    } as i32;
    let answer = async {
        let mut c = connect(&ctx.socket, ctx.timeout)
            .await
            .map_err(|e| e.to_string())?;
        c.authorize(pb::AuthorizeRequest {
            action: action.clone(),
            min_tier,
        })
        .await
        .map(|r| r.into_inner())
        .map_err(|s| {
            format!(
                "clawsecd at {} answered {:?}: {}",
                ctx.socket.display(),
                s.code(),
                s.message()
            )
        })
    };
    match tokio::time::timeout(ctx.timeout, answer).await {
        Ok(Ok(r)) if r.allow => {
            if args.hook.is_none() && !ctx.json {
                eprintln!("clawsec: allow {action}: {}", r.reasons.join("; "));
            }
            if ctx.json && args.hook.is_none() {
                println!(
                    "{}",
                    json!({"allow": true, "action": action, "reasons": r.reasons, "attestation_digest": r.attestation_digest})
                );
            }
            ExitCode::from(ALLOW)
        }
        Ok(Ok(r)) => {
            if ctx.json && args.hook.is_none() {
                println!(
                    "{}",
                    json!({"allow": false, "action": action, "reasons": r.reasons, "attestation_digest": r.attestation_digest})
                );
            }
            deny(
                &args,
                &format!(
                    "clawsec denied {action}: {} (attestation {})",
                    r.reasons.join("; "),
                    r.attestation_digest
                ),
            )
        }
        Ok(Err(e)) => unreachable_daemon(&args, &action, &e),
        Err(_) => unreachable_daemon(
            &args,
            &action,
            &format!(
                "clawsecd at {} did not answer within {:?}",
                ctx.socket.display(),
                ctx.timeout
            ),
        ),
    }
}

fn unreachable_daemon(args: &Args, action: &str, why: &str) -> ExitCode {
    if args.fail_open {
        eprintln!("clawsec: allowing {action} WITHOUT a posture check (--fail-open): {why}");
        return ExitCode::from(ALLOW);
    }
    deny(
        args,
        &format!("clawsec denied {action}: the posture could not be checked: {why}"),
    )
}

/// Denies: the reason on stderr, and for hooks the hook's own JSON decision on stdout.
fn deny(args: &Args, reason: &str) -> ExitCode {
    if matches!(args.hook, Some(Hook::ClaudeCode)) {
        println!(
            "{}",
            json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }
            })
        );
    }
    eprintln!("{reason}");
    ExitCode::from(DENY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_map_to_actions() {
        for (tool, action) in [
            ("Bash", "exec"),
            ("WebFetch", "network.egress"),
            ("Edit", "fs.write"),
            ("mcp__github__create_issue", "mcp.github"),
            ("Read", "fs.read"),
            ("TodoWrite", "tool.todowrite"),
        ] {
            assert_eq!(action_for_tool(tool, &[]), action, "{tool}");
        }
        assert_eq!(action_for_tool("Task", &["Task=deploy".into()]), "deploy");
    }
}
