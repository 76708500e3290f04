//! `clawsecctl inventory`: what the agents on this host are made of.

use std::fmt::Write;
use std::process::ExitCode;

use clawsec_proto::pb;
use serde_json::Value;

use crate::Ctx;
use crate::client::{ClientError, connect};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `table` (default), `json` (the clawsec.inventory/v1 document, as --json) or
    /// `cyclonedx` (a CycloneDX 1.6 JSON BOM for supply-chain tools).
    #[arg(long, value_parser = ["table", "json", "cyclonedx"], default_value = "table")]
    format: String,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, ClientError> {
    let format = if ctx.json && args.format == "table" {
        "json"
    } else {
        args.format.as_str()
    };
    // The daemon reads the host for this: allow it longer than a cached read.
    let mut c = connect(
        &ctx.socket,
        ctx.timeout.max(std::time::Duration::from_secs(60)),
    )
    .await?;
    let r = c
        .get_inventory(pb::GetInventoryRequest {
            format: if format == "cyclonedx" {
                "cyclonedx".into()
            } else {
                "json".into()
            },
        })
        .await
        .map_err(|s| ClientError::from_status(&ctx.socket, s))?
        .into_inner();
    if format != "table" {
        println!("{}", r.document);
        return Ok(ExitCode::SUCCESS);
    }
    let doc: Value = serde_json::from_str(&r.document)
        .map_err(|e| ClientError::Io(format!("the daemon's inventory is not JSON: {e}")))?;
    print!("{}", table(&doc));
    Ok(ExitCode::SUCCESS)
}

/// The inventory as sections of aligned lines.
fn table(doc: &Value) -> String {
    let mut s = String::new();
    let list = |k: &str| doc[k].as_array().cloned().unwrap_or_default();
    let str_of = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_owned();
    let section = |s: &mut String, title: &str, rows: Vec<String>| {
        let _ = writeln!(s, "{title} ({})", rows.len());
        for r in rows {
            let _ = writeln!(s, "  {r}");
        }
        let _ = writeln!(s);
    };
    section(
        &mut s,
        "AGENTS",
        list("agents")
            .iter()
            .map(|a| {
                format!(
                    "{:<12} {:<10} {:<12} {}",
                    str_of(a, "client"),
                    str_of(a, "user"),
                    a["version"].as_str().unwrap_or("-"),
                    str_of(a, "dir")
                )
            })
            .collect(),
    );
    section(
        &mut s,
        "SOFTWARE",
        list("software")
            .iter()
            .map(|p| {
                format!(
                    "{:<5} {:<32} {:<12} {}",
                    str_of(p, "ecosystem"),
                    str_of(p, "name"),
                    str_of(p, "version"),
                    str_of(p, "path")
                )
            })
            .collect(),
    );
    section(
        &mut s,
        "MCP SERVERS",
        list("mcp_servers")
            .iter()
            .map(|m| {
                let what = match m["url"].as_str() {
                    Some(u) => u.to_owned(),
                    None => {
                        let args: Vec<&str> = m["args"]
                            .as_array()
                            .map(|a| a.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        format!("{} {}", str_of(m, "command"), args.join(" "))
                    }
                };
                let pkg = match (m["package"].as_str(), m["version"].as_str()) {
                    (Some(p), Some(v)) => format!("{p}@{v}"),
                    (Some(p), None) => format!("{p} (unpinned)"),
                    _ => "-".into(),
                };
                format!(
                    "{:<16} {:<12} {:<6} {:<36} {}  ({})",
                    str_of(m, "name"),
                    str_of(m, "client"),
                    str_of(m, "transport"),
                    pkg,
                    what.trim(),
                    str_of(m, "config")
                )
            })
            .collect(),
    );
    section(
        &mut s,
        "SKILLS",
        list("skills")
            .iter()
            .map(|k| {
                let hash = k["sha256"].as_str().map_or("(unreadable)".to_owned(), |h| {
                    format!("sha256:{}", &h[..12.min(h.len())])
                });
                format!(
                    "{:<24} {:>4} files  {}  {}",
                    str_of(k, "name"),
                    k["files"].as_u64().unwrap_or(0),
                    hash,
                    str_of(k, "path")
                )
            })
            .collect(),
    );
    section(
        &mut s,
        "HOOKS",
        list("hooks")
            .iter()
            .map(|h| {
                format!(
                    "{:<12} {:<14} {}  ({})",
                    str_of(h, "client"),
                    str_of(h, "event"),
                    str_of(h, "command"),
                    str_of(h, "config")
                )
            })
            .collect(),
    );
    section(
        &mut s,
        "MODEL AND TELEMETRY ENDPOINTS",
        list("model_endpoints")
            .iter()
            .map(|e| {
                format!(
                    "{:<36} {}  ({})",
                    str_of(e, "setting"),
                    str_of(e, "url"),
                    str_of(e, "config")
                )
            })
            .collect(),
    );
    let gaps = list("gaps");
    if !gaps.is_empty() {
        section(
            &mut s,
            "NOT FULLY READ (the lists above may be incomplete)",
            gaps.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        );
    }
    s
}
