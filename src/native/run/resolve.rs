//! Pure helpers of `starflake run`: future references, durations, assertions, the small jq
//! subset of `extract`, Go-template rendering of `{{.Field}}`, and a stable hash.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use regex_lite::Regex;
use serde_json::Value;

/// `{{kurtosis:<32 hex>:<field>.runtime_value}}`, as the plan carries it.
fn reference_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"\{\{kurtosis:([0-9a-f]{32}):([^{}]+?)\.runtime_value\}\}")
            .unwrap_or_else(|_| unreachable!("a valid pattern"))
    })
}

/// One future reference: `field` of the result of step `step` (1-based; 2^63 and above
/// mean "no step of the plan produces it").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub step: u64,
    pub field: String,
    pub text: String,
}

/// Ids from 2^63 up are results no step produces.
pub const NO_STEP: u64 = 1 << 63;

/// Every future reference in `text`, in order.
pub fn references(text: &str) -> Vec<Reference> {
    reference_pattern()
        .captures_iter(text)
        .filter_map(|captures| {
            let step = u64::from_str_radix(captures.get(1)?.as_str(), 16).ok()?;
            Some(Reference {
                step,
                field: captures.get(2)?.as_str().to_owned(),
                text: captures.get(0)?.as_str().to_owned(),
            })
        })
        .collect()
}

/// Every future reference anywhere in a JSON value (strings, keys excluded).
pub fn references_in_value(value: &Value, found: &mut Vec<Reference>) {
    match value {
        Value::String(text) => found.extend(references(text)),
        Value::Array(items) => {
            for item in items {
                references_in_value(item, found);
            }
        }
        Value::Object(map) => {
            for item in map.values() {
                references_in_value(item, found);
            }
        }
        _ => {}
    }
}

/// The values steps produced, by 1-based step number and field.
#[derive(Default, Debug)]
pub struct Results {
    steps: BTreeMap<u64, BTreeMap<String, Value>>,
}

impl Results {
    pub fn set(&mut self, step: u64, values: BTreeMap<String, Value>) {
        self.steps.insert(step, values);
    }

    fn get(&self, reference: &Reference) -> Result<&Value, String> {
        if reference.step >= NO_STEP {
            return Err(format!(
                "`{}` refers to `{}` of a value no step of this run produces",
                reference.text, reference.field
            ));
        }
        let values = self.steps.get(&reference.step).ok_or_else(|| {
            format!(
                "`{}` refers to `{}` of step {}, which has not run",
                reference.text, reference.field, reference.step
            )
        })?;
        values.get(&reference.field).ok_or_else(|| {
            let known: Vec<&str> = values.keys().map(String::as_str).collect();
            format!(
                "`{}` refers to `{}` of step {}, which produced only {}",
                reference.text,
                reference.field,
                reference.step,
                if known.is_empty() {
                    "nothing".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })
    }

    /// `text` with every future reference replaced by its value as text.
    pub fn resolve_text(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut last = 0;
        for captures in reference_pattern().captures_iter(text) {
            let Some(whole) = captures.get(0) else {
                continue;
            };
            let Some(reference) = references(whole.as_str()).into_iter().next() else {
                continue;
            };
            out.push_str(&text[last..whole.start()]);
            out.push_str(&as_text(self.get(&reference)?));
            last = whole.end();
        }
        out.push_str(&text[last..]);
        Ok(out)
    }

    /// A JSON value with its references resolved; a string that is exactly one reference
    /// becomes the referenced value with its type (an int stays an int).
    pub fn resolve_value(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) => {
                let found = references(text);
                if found.len() == 1 && found[0].text == *text {
                    self.get(&found[0])?.clone()
                } else {
                    Value::String(self.resolve_text(text)?)
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.resolve_value(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| Ok((key.clone(), self.resolve_value(item)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// A value as text: strings bare, everything else as compact JSON.
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A Go duration (`"15s"`, `"1m30s"`, `"500ms"`, `"2h"`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration like \"15s\", \"2m\" or \"1m30s\"");
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if number_len == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// Whether `value <assertion> target` holds, as Kurtosis's `verify`/`wait` compare.
pub fn assert(value: &Value, assertion: &str, target: &Value) -> Result<bool, String> {
    match assertion {
        "IN" | "NOT_IN" => {
            let Value::Array(items) = target else {
                return Err(format!(
                    "`{assertion}` needs a list as target_value, got {target}"
                ));
            };
            let found = items.iter().any(|item| equal(value, item));
            Ok(if assertion == "IN" { found } else { !found })
        }
        "==" => Ok(equal(value, target)),
        "!=" => Ok(!equal(value, target)),
        "<" | "<=" | ">" | ">=" => {
            let ordering = match (value, target) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            }
            .ok_or_else(|| format!("cannot compare {value} {assertion} {target}"))?;
            Ok(match assertion {
                "<" => ordering.is_lt(),
                "<=" => ordering.is_le(),
                ">" => ordering.is_gt(),
                _ => ordering.is_ge(),
            })
        }
        other => Err(format!("unknown assertion `{other}`")),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The jq subset `extract` supports here: `.`, `.a.b`, `.["a"]`, `.a[0]`.
pub fn jq(query: &str, input: &Value) -> Result<Value, String> {
    let unsupported = || {
        format!(
            "jq query `{query}` is not supported here: only paths like `.`, `.a.b`, `.a[0]` and `.[\"a\"]` are"
        )
    };
    let query = query.trim();
    let mut rest = query.strip_prefix('.').ok_or_else(unsupported)?;
    let mut current = input.clone();
    let mut first = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(unsupported)?;
            let inside = after[..end].trim();
            current = if let Ok(index) = inside.parse::<usize>() {
                current.get(index).cloned().unwrap_or(Value::Null)
            } else if inside.len() >= 2 && inside.starts_with('"') && inside.ends_with('"') {
                current
                    .get(&inside[1..inside.len() - 1])
                    .cloned()
                    .unwrap_or(Value::Null)
            } else {
                return Err(unsupported());
            };
            rest = &after[end + 1..];
        } else {
            let after = if first {
                rest
            } else {
                rest.strip_prefix('.').ok_or_else(unsupported)?
            };
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(unsupported());
            }
            current = current.get(key).cloned().unwrap_or(Value::Null);
            rest = &after[end..];
        }
        first = false;
    }
    Ok(current)
}

/// One `{{ ... }}` action of a Go template.
enum Piece<'a> {
    Text(&'a str),
    Field(Vec<&'a str>),
}

fn parse_template(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a `{{` without `}}`".to_owned())?;
        let mut text = &rest[..start];
        let mut action = &after[..end];
        let mut next = &after[end + 2..];
        if let Some(trimmed) = action.strip_prefix('-') {
            action = trimmed;
            text = text.trim_end();
        }
        if let Some(trimmed) = action.strip_suffix('-') {
            action = trimmed;
            next = next.trim_start();
        }
        pieces.push(Piece::Text(text));
        let action = action.trim();
        let path = if action == "." {
            Vec::new()
        } else {
            let fields: Vec<&str> = action
                .strip_prefix('.')
                .map(|path| path.split('.').collect())
                .unwrap_or_default();
            if fields.is_empty()
                || fields.iter().any(|field| {
                    field.is_empty() || !field.chars().all(|c| c.is_alphanumeric() || c == '_')
                })
            {
                return Err(format!(
                    "the action `{{{{{action}}}}}` is not supported: starflake renders only `{{{{.Field}}}}`, `{{{{.A.B}}}}` and `{{{{.}}}}` (no pipelines, functions, if/range/with)"
                ));
            }
            fields
        };
        pieces.push(Piece::Field(path));
        rest = next;
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Checks that starflake can render `template`.
pub fn check_template(template: &str) -> Result<(), String> {
    parse_template(template).map(|_| ())
}

/// Renders `{{.Field}}` actions of a Go template with `data`, as Go's text/template would.
pub fn render_template(template: &str, data: &Value) -> Result<String, String> {
    let mut out = String::new();
    for piece in parse_template(template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Field(path) => {
                let mut current = Some(data);
                for field in path {
                    current = current.and_then(|value| value.get(field));
                }
                out.push_str(&go_text(current.unwrap_or(&Value::Null)));
            }
        }
    }
    Ok(out)
}

/// A value as Go's `fmt` prints it in a template.
fn go_text(value: &Value) -> String {
    match value {
        Value::Null => "<no value>".to_owned(),
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_text).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => format!(
            "map[{}]",
            map.iter()
                .map(|(key, item)| format!("{key}:{}", go_text(item)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// FNV-1a, 64 bits, as 16 hex digits: stable across builds and machines.
#[derive(Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// A field: its length first, so that ("ab", "c") and ("a", "bc") differ.
    pub fn field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }

    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_resolve() {
        let mut results = Results::default();
        results.set(
            3,
            BTreeMap::from([
                ("ip_address".to_owned(), json!("10.0.0.3")),
                ("code".to_owned(), json!(200)),
            ]),
        );
        let ip = "{{kurtosis:00000000000000000000000000000003:ip_address.runtime_value}}";
        let code = "{{kurtosis:00000000000000000000000000000003:code.runtime_value}}";
        assert_eq!(
            results.resolve_text(&format!("http://{ip}:80")).unwrap(),
            "http://10.0.0.3:80"
        );
        assert_eq!(results.resolve_value(&json!(code)).unwrap(), json!(200));
        assert_eq!(
            results.resolve_value(&json!(format!("{code}!"))).unwrap(),
            json!("200!")
        );
        let missing = "{{kurtosis:00000000000000000000000000000004:code.runtime_value}}";
        assert!(
            results
                .resolve_text(missing)
                .unwrap_err()
                .contains("step 4")
        );
        assert_eq!(references(ip)[0].step, 3);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10").is_err());
    }

    #[test]
    fn assertions() {
        assert!(assert(&json!(200), "==", &json!(200.0)).unwrap());
        assert!(assert(&json!(204), "IN", &json!([200, 204])).unwrap());
        assert!(assert(&json!(500), "NOT_IN", &json!([200, 204])).unwrap());
        assert!(assert(&json!(3), "<", &json!(4)).unwrap());
        assert!(assert(&json!("b"), ">=", &json!("a")).unwrap());
        assert!(assert(&json!("b"), ">=", &json!(1)).is_err());
    }

    #[test]
    fn jq_paths() {
        let input = json!({"a": {"b": [1, {"c": "x"}]}, "k-y": 2});
        assert_eq!(jq(".", &input).unwrap(), input);
        assert_eq!(jq(".a.b[1].c", &input).unwrap(), json!("x"));
        assert_eq!(jq(".[\"k-y\"]", &input).unwrap(), json!(2));
        assert_eq!(jq(".missing", &input).unwrap(), Value::Null);
        assert!(jq(".a | length", &input).is_err());
    }

    #[test]
    fn templates() {
        let data = json!({"Title": "hi", "N": 3, "Inner": {"X": true}});
        assert_eq!(
            render_template("<h1>{{.Title}}</h1> {{ .N }} {{.Inner.X}} {{.Nope}}", &data).unwrap(),
            "<h1>hi</h1> 3 true <no value>"
        );
        assert_eq!(render_template("a  {{- .N -}}  b", &data).unwrap(), "a3b");
        assert!(check_template("{{range .Items}}x{{end}}").is_err());
        assert!(check_template("{{.Title | upper}}").is_err());
    }

    #[test]
    fn fnv_is_stable() {
        let mut hash = Fnv::default();
        hash.field(b"abc");
        assert_eq!(hash.hex().len(), 16);
        let mut other = Fnv::default();
        other.field(b"ab");
        other.field(b"c");
        assert_ne!(hash.hex(), other.hex());
    }
}
