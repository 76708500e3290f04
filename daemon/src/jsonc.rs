//! Parsing of the relaxed JSON dialects agent clients write: JSONC (VS Code, Cursor:
//! comments and trailing commas) and the JSON5 subset OpenClaw configs use (also
//! unquoted keys and single-quoted strings).
//!
//! The text is rewritten to strict JSON and handed to `serde_json`. The rewrite never
//! adds or removes a newline, so a parse error's line number is the line in the file.

use serde_json::Value;

/// Parses JSON, JSONC or simple JSON5. The error is `line L, column C: message`.
pub fn parse(text: &str) -> Result<Value, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let strict = to_strict_json(text);
    serde_json::from_str(&strict).map_err(|e| {
        format!(
            "line {}, column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e)
        )
    })
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

fn to_strict_json(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => i = copy_string(&chars, i, &mut out),
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
                i += 2;
            }
            ',' => {
                // Drop a comma that only precedes a closing bracket (trailing comma).
                let mut j = i + 1;
                loop {
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                    if chars.get(j) == Some(&'/') && chars.get(j + 1) == Some(&'/') {
                        while j < chars.len() && chars[j] != '\n' {
                            j += 1;
                        }
                    } else if chars.get(j) == Some(&'/') && chars.get(j + 1) == Some(&'*') {
                        j += 2;
                        while j < chars.len()
                            && !(chars[j] == '*' && chars.get(j + 1) == Some(&'/'))
                        {
                            j += 1;
                        }
                        j += 2;
                    } else {
                        break;
                    }
                }
                // Only a comma after a value is a trailing comma; one after `:`, `,` or an
                // opening bracket is an error serde_json should report where it stands.
                let after_value = !matches!(
                    out.trim_end().chars().last(),
                    Some(':' | ',' | '[' | '{') | None
                );
                if !(after_value && matches!(chars.get(j), Some('}' | ']'))) {
                    out.push(',');
                }
                i += 1;
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && (chars[j] == ' ' || chars[j] == '\t') {
                    j += 1;
                }
                if chars.get(j) == Some(&':') {
                    out.push('"');
                    out.push_str(&word);
                    out.push('"');
                } else {
                    out.push_str(&word);
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Copies a string literal starting at `i` (either quote style) as a JSON string and
/// returns the index after it.
fn copy_string(chars: &[char], mut i: usize, out: &mut String) -> usize {
    let quote = chars[i];
    out.push('"');
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            match chars.get(i + 1) {
                Some('\'') => out.push('\''),
                Some('\n') => out.push('\n'),
                Some(&n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
            i += 2;
            continue;
        }
        if c == quote {
            out.push('"');
            return i + 1;
        }
        if c == '"' {
            out.push_str("\\\"");
        } else {
            out.push(c);
        }
        i += 1;
    }
    i
}

/// 1-based line of the first occurrence of `"key"` as an object key, for evidence.
pub fn line_of_key(text: &str, key: &str) -> Option<u32> {
    for quoted in [format!("\"{key}\""), format!("'{key}'"), format!("{key}:")] {
        if let Some(pos) = text.find(&quoted) {
            return Some(text[..pos].matches('\n').count() as u32 + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_jsonc_and_json5_forms() {
        let text = "// top\n{\n  /* block\n comment */ mcpServers: {\n    'fs': { \"command\": \"npx\", args: ['-y', \"a//b\"], },\n  },\n}\n";
        assert_eq!(
            parse(text).unwrap(),
            json!({"mcpServers": {"fs": {"command": "npx", "args": ["-y", "a//b"]}}})
        );
    }

    #[test]
    fn keeps_literals_and_urls_intact() {
        let text =
            r#"{"url": "http://x/y", "on": true, "off": false, "n": null, "q": 'it\'s "q"'}"#;
        assert_eq!(
            parse(text).unwrap(),
            json!({"url": "http://x/y", "on": true, "off": false, "n": null, "q": "it's \"q\""})
        );
    }

    #[test]
    fn errors_name_the_real_line() {
        let e = parse("{\n  // fine\n  \"a\": 1,\n  \"b\": ,\n}\n").unwrap_err();
        assert!(e.starts_with("line 4,"), "{e}");
    }

    #[test]
    fn finds_key_lines() {
        assert_eq!(line_of_key("{\n \"a\": {\n  \"fs\": 1}}", "fs"), Some(3));
    }
}
