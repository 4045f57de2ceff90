//! serde_json's pretty layout, applied to compact JSON text.
//!
//! The wasm module's `checkJson` gives the report as `starflake check --format json` prints it.
//! Serializing it with serde_json's `PrettyFormatter` instantiated the whole report's
//! serialization a second time next to the compact one `check` uses; laying out the compact
//! text instead keeps one.

/// `compact` (serde_json's compact output) as `serde_json::to_string_pretty` writes the same
/// value: two-space indents, `": "` after keys, `[]` and `{}` when empty.
pub(crate) fn pretty_json(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let new_line = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '[' | '{' => {
                out.push(c);
                if let Some(close @ (']' | '}')) = chars.peek().copied() {
                    chars.next();
                    out.push(close);
                } else {
                    depth += 1;
                    new_line(&mut out, depth);
                }
            }
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                new_line(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                new_line(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::pretty_json;

    #[test]
    fn lays_out_compact_json_as_serde_json_pretty_prints_it() {
        let value = json!({
            "diagnostics": [],
            "plan": { "steps": [{ "name": "a \"quoted\" [name], {x: 1}", "ports": {} }] },
            "escapes": "back\\slash\\\" \n tab\t \u{1} é 🦀",
            "numbers": [0, -1.5, 1e300, 12345678901234567890u64, 1.0],
            "flags": [true, false, null],
            "nested": [[[]], [{}], [[1, [2]]]],
            "": ":,",
        });
        let compact = serde_json::to_string(&value).unwrap();
        assert_eq!(
            pretty_json(&compact),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(pretty_json("[]"), "[]");
        assert_eq!(pretty_json("\"a,b:c\""), "\"a,b:c\"");
    }
}
