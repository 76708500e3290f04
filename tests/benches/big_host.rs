//! The large generated agent host shared by the assessment benchmarks.

use std::fmt::Write;
use std::path::Path;

use clawsec_tests::{HostSpec, ProcSpec};

pub fn big_host(root: &Path) -> (usize, usize) {
    let mut spec = HostSpec::default();
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/bash\n");
    let mut files = 0;
    for u in 0..40 {
        let user = format!("user{u}");
        let home = format!("home/{user}");
        let _ = writeln!(
            passwd,
            "{user}:x:{}:{}::/{home}:/bin/bash",
            1000 + u,
            1000 + u
        );
        let servers: Vec<String> = (0..10)
            .map(|s| {
                if s % 3 == 0 {
                    format!(r#""srv{s}": {{ "url": "https://mcp{s}.example.com/mcp", "headers": {{ "Authorization": "Bearer ${{TOKEN_{s}}}" }} }}"#)
                } else {
                    format!(r#""srv{s}": {{ "command": "npx", "args": ["-y", "@scope/server-{s}@1.{s}.0"], "env": {{ "API_KEY_{s}": "${{KEY_{s}}}" }} }}"#)
                }
            })
            .collect();
        let mcp = format!("{{ \"mcpServers\": {{ {} }} }}", servers.join(",\n"));
        for rel in [
            ".claude.json",
            ".cursor/mcp.json",
            ".gemini/settings.json",
            ".kiro/settings/mcp.json",
        ] {
            spec.files.insert(format!("{home}/{rel}"), mcp.clone());
        }
        spec.files.insert(format!("{home}/.codex/config.toml"), "[mcp_servers.fs]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem@2025.1.1\"]\n".into());
        spec.files.insert(
            format!("{home}/.openclaw/openclaw.json"),
            "{ channels: { whatsapp: { dmPolicy: \"pairing\" } } }".into(),
        );
        for name in ["SOUL.md", "AGENTS.md", "IDENTITY.md"] {
            spec.files.insert(
                format!("{home}/.openclaw/workspace/{name}"),
                "# Instructions\nBe careful.\n".repeat(20),
            );
        }
        for k in 0..15 {
            clawsec_tests::add_skill(&mut spec, &format!("{home}/.claude/skills/skill-{k}"), k);
            files += 2;
        }
        files += 8;
    }
    spec.files.insert("etc/passwd".into(), passwd);
    spec.files.insert(
        "etc/ssh/sshd_config".into(),
        "PermitRootLogin no\nPasswordAuthentication no\n".into(),
    );
    spec.files.insert(
        "etc/systemd/journald.conf".into(),
        "[Journal]\nStorage=persistent\n".into(),
    );
    for (k, v) in [
        ("kernel.kptr_restrict", "1"),
        ("kernel.dmesg_restrict", "1"),
        ("kernel.yama.ptrace_scope", "1"),
        ("kernel.randomize_va_space", "2"),
        ("fs.protected_symlinks", "1"),
        ("fs.protected_hardlinks", "1"),
    ] {
        spec.sysctls.insert(k.into(), v.into());
    }
    for pid in 1..=800u32 {
        let agent = pid % 7 == 0;
        spec.processes.push(ProcSpec {
            pid,
            name: None,
            uid: 1000 + pid % 40,
            ppid: 1,
            cmdline: if agent {
                vec![
                    "node".into(),
                    "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js".into(),
                ]
            } else {
                vec![
                    "/usr/bin/python3".into(),
                    "-m".into(),
                    format!("worker{pid}"),
                ]
            },
            environ: vec![],
            exe: None,
            no_new_privs: true,
            seccomp: 2,
            cap_eff: None,
        });
    }
    spec.materialize(root);
    (files + spec.files.len(), spec.processes.len())
}
