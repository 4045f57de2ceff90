//! The predeclared modules besides the builtins: `json` (go-starlark's: `encode`, `decode`,
//! `indent`), `time` (go-starlark's time module, with `time.now()` disabled as in Kurtosis) and
//! `kurtosis` (the enclave's environment variables, unknown here).

// `time.time(year=..., ..., location=...)` has go-starlark's eight parameters.
#![allow(clippy::too_many_arguments)]

use std::cmp::Ordering;
use std::fmt::{self, Display, Write as _};
use std::str::FromStr;

use allocative::Allocative;
use starlark::any::ProvidesStaticType;
use starlark::collections::StarlarkHasher;
use starlark::environment::{GlobalsBuilder, Methods, MethodsBuilder};
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::AllocDict;
use starlark::values::list::AllocList;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{
    Heap, NoSerialize, StarlarkValue, Value, ValueError, ValueLike, starlark_value,
};

use super::super::session::{Place, Session};
use super::super::values::{Unknown, contains_unknown, is_unknown};
use super::types::{format_go_duration, parse_go_duration};
use crate::diagnostic::{Diagnostic, Rule};
use crate::limits::json_number_problem;

/// What each predeclared module is, for the editor; their functions document themselves below
/// (`crate::builtins::modules`), with parameters read from these very definitions.
pub(crate) const MODULE_DOCS: &[(&str, &str)] = &[
    (
        "json",
        "go-starlark's JSON module: `encode`, `decode` and `indent`, with Go's formatting (sorted keys, tab indentation).",
    ),
    (
        "time",
        "go-starlark's time module. `time.now()` is disabled in Kurtosis, so that a plan does not depend on when it is interpreted; `time.nanosecond` to `time.hour` are durations to multiply.",
    ),
    (
        "kurtosis",
        "The enclave's environment variables, as attributes (`kurtosis.MY_VAR`). Kurtosis fills it when the package runs, so every attribute is unknown while checking.",
    ),
];

/// Registers `json`, `time` and `kurtosis` (replacing starlark-rust's smaller `json`).
pub(crate) fn register(builder: &mut GlobalsBuilder) {
    builder.namespace("json", json_members);
    builder.namespace("time", time_members);
    builder.set("kurtosis", KurtosisModule);
    fail_member(builder);
}

/// Whether this evaluation has met values it cannot know (unavailable packages, opaque calls).
fn has_stand_ins(session: &Session) -> bool {
    let state = session.state.borrow();
    state.opaque
        || state
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.rule == Rule::RemoteUnavailable)
}

#[starlark_module]
fn fail_member(builder: &mut GlobalsBuilder) {
    /// Stops evaluation with an error, as the standard `fail` does; but when the failure may come
    /// from stand-ins for values of unavailable packages, it is reported as a warning and
    /// evaluation continues, so a missing dependency never causes a false error.
    ///
    /// # Arguments
    /// * `args`: the values to show, joined by spaces: strings as they are, other values as `repr`.
    fn fail<'v>(
        #[starlark(args)] args: UnpackTuple<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        // Formatted as the standard `fail` does: " <arg> <arg>...", shown as "fail: ...".
        let mut message = String::new();
        for value in &args.items {
            message.push(' ');
            match value.unpack_str() {
                Some(text) => message.push_str(text),
                None => message.push_str(&value.to_repr()),
            }
        }
        // Before the searches below, as a whole value can be megabytes of text; to half of
        // what a diagnostic shows, so that its own limit does not cut it a second time.
        crate::diagnostic::shorten(&mut message, crate::diagnostic::MAX_TEXT_CHARS / 2);
        let session = Session::of(eval);
        let from_stand_in = args.items.iter().any(|value| contains_unknown(*value))
            || super::super::values::stand_in_shaped()
            || (message.contains("unknown") && has_stand_ins(session));
        if from_stand_in {
            let place = call_place(eval);
            session.report(
                Diagnostic::new(
                    Rule::EvaluationError,
                    place.file,
                    place.span,
                    format!("`fail()` is reached:{message}"),
                )
                .with_severity(crate::diagnostic::Severity::Warning)
                .with_help("this may only be because values from an unavailable package are unknown here; make the package available (`--packages`) to check it"),
            );
            return Ok(Value::new_none());
        }
        Err(starlark::Error::new_kind(starlark::ErrorKind::Fail(
            anyhow::Error::msg(message),
        )))
    }
}

/// The place of the native call being run.
fn call_place(eval: &Evaluator) -> Place {
    eval.call_stack_top_location()
        .map(|location| Place::of(&location))
        .unwrap_or_default()
}

fn report(eval: &Evaluator, rule: Rule, message: impl Into<String>, help: Option<&str>) {
    let session = Session::of(eval);
    let place = call_place(eval);
    let mut diagnostic = Diagnostic::new(rule, place.file, place.span, message);
    if let Some(help) = help {
        diagnostic = diagnostic.with_help(help);
    }
    session.report(diagnostic);
}

const INDENT_HELP: &str = "encode the value first: `json.indent(json.encode(value))`";

/// The JSON text argument of `json.decode`/`json.indent`; `None` for a stand-in, or after
/// reporting a value that is not a string.
fn json_text<'v>(
    eval: &Evaluator,
    x: Value<'v>,
    function: &str,
    help: Option<&str>,
) -> Option<&'v str> {
    if is_unknown(x) {
        return None;
    }
    let text = x.unpack_str();
    if text.is_none() {
        report(
            eval,
            Rule::WrongType,
            format!(
                "{function} needs a string, got a value of type `{}`",
                x.get_type()
            ),
            help,
        );
    }
    text
}

// ---------------------------------------------------------------------------------------------
// json

/// Writes JSON as go-starlark's `json.encode` does: compact, object keys sorted.
fn write_json(json: &serde_json::Value, out: &mut String) {
    match json {
        serde_json::Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(fields) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_json(&fields[key], out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Go's `json.Indent`: re-indents valid JSON text, keeping its order and numbers as written.
pub(crate) fn indent_json(text: &str, prefix: &str, indent: &str) -> Result<String, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|error| error.to_string())?;
    let mut out = String::new();
    let mut depth = 0usize;
    let mut chars = text.trim_start().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(prefix);
        for _ in 0..depth {
            out.push_str(indent);
        }
    };
    let mut need_indent = false;
    while let Some(c) = chars.next() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        if need_indent && c != ']' && c != '}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    out.push(c);
                    match c {
                        '\\' => {
                            if let Some(next) = chars.next() {
                                out.push(next);
                            }
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                need_indent = true;
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if need_indent {
                    // An empty `{}` or `[]` stays on one line.
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Builds Starlark values from JSON text, keeping object keys in their written order.
struct JsonSeed<'v> {
    heap: Heap<'v>,
}

const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de, 'v> serde::de::DeserializeSeed<'de> for JsonSeed<'v> {
    type Value = Value<'v>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Value<'v>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, 'v> serde::de::Visitor<'de> for JsonSeed<'v> {
    type Value = Value<'v>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "JSON")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value<'v>, E> {
        Ok(Value::new_bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value<'v>, E> {
        Ok(self.heap.alloc(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value<'v>, E> {
        Ok(self.heap.alloc(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value<'v>, E> {
        Ok(self.heap.alloc(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value<'v>, E> {
        Ok(self.heap.alloc(value))
    }

    fn visit_unit<E>(self) -> Result<Value<'v>, E> {
        Ok(Value::new_none())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'v>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(JsonSeed { heap: self.heap })? {
            items.push(item);
        }
        Ok(self.heap.alloc(AllocList(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value<'v>, A::Error> {
        let mut entries: Vec<(Value<'v>, Value<'v>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == NUMBER_TOKEN {
                // serde_json's arbitrary-precision numbers arrive as a map with one entry.
                let text: String = map.next_value()?;
                return json_number(&text, self.heap).map_err(serde::de::Error::custom);
            }
            let value = map.next_value_seed(JsonSeed { heap: self.heap })?;
            let key = self.heap.alloc(key.as_str());
            match entries
                .iter_mut()
                .find(|(existing, _)| existing.equals(key).unwrap_or(false))
            {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
        }
        Ok(self.heap.alloc(AllocDict(entries)))
    }
}

/// A JSON number as Starlark holds it: an int (of at most [`MAX_INT_BYTES`]) or a finite float.
/// starlark's own conversion panics on `1e999`, which fits neither.
fn json_number<'v>(text: &str, heap: Heap<'v>) -> Result<Value<'v>, String> {
    if let Some(problem) = json_number_problem(text) {
        return Err(problem);
    }
    Ok(match text.parse::<i32>() {
        Ok(int) => heap.alloc(int),
        Err(_) => match num_bigint::BigInt::from_str(text) {
            Ok(int) => heap.alloc(int),
            Err(_) => heap.alloc(text.parse::<f64>().unwrap_or_default()),
        },
    })
}

pub(crate) fn decode_json<'v>(text: &str, heap: Heap<'v>) -> Result<Value<'v>, String> {
    use serde::de::DeserializeSeed;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = JsonSeed { heap }
        .deserialize(&mut deserializer)
        .map_err(|error| error.to_string())?;
    deserializer.end().map_err(|error| error.to_string())?;
    Ok(value)
}

#[starlark_module]
fn json_members(builder: &mut GlobalsBuilder) {
    /// Encodes a value as JSON (dict keys sorted, as go-starlark does).
    ///
    /// # Arguments
    /// * `x`: `None`, a bool, number, string, list, tuple, dict with string keys, struct or Kurtosis object.
    fn encode<'v>(
        #[starlark(require = pos)] x: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        if contains_unknown(x) {
            return Ok(eval.heap().alloc(Unknown));
        }
        match super::super::to_json(x) {
            Some(json) => {
                let mut out = String::new();
                write_json(&json, &mut out);
                Ok(eval.heap().alloc(out))
            }
            None => {
                report(
                    eval,
                    Rule::EvaluationError,
                    format!(
                        "json.encode cannot encode a value of type `{}`",
                        x.get_type()
                    ),
                    Some(
                        "only None, bools, numbers, strings, lists, tuples, dicts with string keys, structs and Kurtosis objects can be encoded, nested at most 100 levels and 1,000,000 values in all",
                    ),
                );
                Ok(eval.heap().alloc(Unknown))
            }
        }
    }

    /// Decodes JSON text; with `default`, returns it instead of failing.
    ///
    /// # Arguments
    /// * `x`: the JSON text, a `str`. A future reference cannot be decoded: its value is known only when the plan runs.
    /// * `default`: returned when `x` is not valid JSON.
    fn decode<'v>(
        #[starlark(require = pos)] x: Value<'v>,
        default: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let Some(text) = json_text(eval, x, "json.decode", None) else {
            return Ok(eval.heap().alloc(Unknown));
        };
        match decode_json(text, eval.heap()) {
            Ok(value) => Ok(value),
            Err(_) if default.is_some() => Ok(default.unwrap_or_else(Value::new_none)),
            Err(error) => {
                let help = text.contains("{{kurtosis:").then_some(
                    "this string holds a future reference, which is resolved only when the plan runs; it cannot be decoded while the Starlark runs",
                );
                report(
                    eval,
                    Rule::EvaluationError,
                    format!("json.decode: the text is not valid JSON: {error}"),
                    help,
                );
                Ok(eval.heap().alloc(Unknown))
            }
        }
    }

    /// Re-indents JSON text, as Go's `json.Indent` does.
    ///
    /// # Arguments
    /// * `x`: the JSON text, a `str` (encode a value first with `json.encode`).
    /// * `prefix`: the text that starts every line after the first.
    /// * `indent`: the text repeated once per level of nesting.
    fn indent<'v>(
        #[starlark(require = pos)] x: Value<'v>,
        #[starlark(require = named, default = "")] prefix: &str,
        #[starlark(require = named, default = "\t")] indent: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let Some(text) = json_text(eval, x, "json.indent", Some(INDENT_HELP)) else {
            return Ok(eval.heap().alloc(Unknown));
        };
        match indent_json(text, prefix, indent) {
            Ok(indented) => Ok(eval.heap().alloc(indented)),
            Err(error) => {
                report(
                    eval,
                    Rule::EvaluationError,
                    format!("json.indent: the text is not valid JSON: {error}"),
                    None,
                );
                Ok(eval.heap().alloc(Unknown))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kurtosis

/// The `kurtosis` module: Kurtosis fills it with the enclave's environment variables, which
/// cannot be known here, so every member is a stand-in.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct KurtosisModule;

starlark_simple_value!(KurtosisModule);

impl Display for KurtosisModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<module kurtosis>")
    }
}

#[starlark_value(type = "module")]
impl<'v> StarlarkValue<'v> for KurtosisModule {
    fn get_attr(&self, _attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Unknown))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------------
// time

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// `time.duration`: a span of nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct Duration(pub i64);

starlark_simple_value!(Duration);

impl Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_go_duration(self.0))
    }
}

fn duration_of(value: Value) -> Option<i64> {
    value.downcast_ref::<Duration>().map(|duration| duration.0)
}

fn int_of(value: Value) -> Option<i64> {
    value.unpack_i32().map(i64::from)
}

fn overflow() -> starlark::Error {
    starlark::Error::new_value(anyhow::anyhow!("time.duration overflow"))
}

#[starlark_value(type = "time.duration")]
impl<'v> StarlarkValue<'v> for Duration {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        let nanos = self.0;
        Some(match attribute {
            "hours" => heap.alloc(nanos as f64 / 3.6e12),
            "minutes" => heap.alloc(nanos as f64 / 6e10),
            "seconds" => heap.alloc(nanos as f64 / 1e9),
            "milliseconds" => heap.alloc(nanos / 1_000_000),
            "microseconds" => heap.alloc(nanos / 1_000),
            "nanoseconds" => heap.alloc(nanos),
            _ => return None,
        })
    }

    fn dir_attr(&self) -> Vec<String> {
        [
            "hours",
            "minutes",
            "seconds",
            "milliseconds",
            "microseconds",
            "nanoseconds",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn to_bool(&self) -> bool {
        self.0 != 0
    }

    fn equals(&self, other: Value<'v>) -> starlark::Result<bool> {
        Ok(duration_of(other) == Some(self.0))
    }

    fn compare(&self, other: Value<'v>) -> starlark::Result<Ordering> {
        match duration_of(other) {
            Some(other) => Ok(self.0.cmp(&other)),
            None => ValueError::unsupported_with(self, "compare", other),
        }
    }

    fn write_hash(&self, hasher: &mut StarlarkHasher) -> starlark::Result<()> {
        std::hash::Hash::hash(&self.0, hasher);
        Ok(())
    }

    fn minus(&self, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Duration(self.0.checked_neg().ok_or_else(overflow)?)))
    }

    fn plus(&self, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(*self))
    }

    fn add(&self, rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        if let Some(other) = duration_of(rhs) {
            return Some(
                self.0
                    .checked_add(other)
                    .map(|sum| heap.alloc(Duration(sum)))
                    .ok_or_else(overflow),
            );
        }
        rhs.downcast_ref::<Time>()
            .map(|time| Ok(heap.alloc(time.shifted(i128::from(self.0)))))
    }

    fn sub(&self, other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        match duration_of(other) {
            Some(other) => {
                Ok(heap.alloc(Duration(self.0.checked_sub(other).ok_or_else(overflow)?)))
            }
            None => ValueError::unsupported_with(self, "-", other),
        }
    }

    fn mul(&self, rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        let factor = int_of(rhs)?;
        Some(
            self.0
                .checked_mul(factor)
                .map(|product| heap.alloc(Duration(product)))
                .ok_or_else(overflow),
        )
    }

    fn rmul(&self, lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        self.mul(lhs, heap)
    }

    fn div(&self, other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        if let Some(other) = duration_of(other) {
            if other == 0 {
                return Err(starlark::Error::new_value(anyhow::anyhow!(
                    "division by zero"
                )));
            }
            return Ok(heap.alloc(self.0 as f64 / other as f64));
        }
        match int_of(other) {
            Some(0) => Err(starlark::Error::new_value(anyhow::anyhow!(
                "division by zero"
            ))),
            Some(divisor) => Ok(heap.alloc(Duration(self.0 / divisor))),
            None => ValueError::unsupported_with(self, "/", other),
        }
    }

    fn floor_div(&self, other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        if let Some(other) = duration_of(other) {
            if other == 0 {
                return Err(starlark::Error::new_value(anyhow::anyhow!(
                    "division by zero"
                )));
            }
            return Ok(heap.alloc(self.0.div_euclid(other)));
        }
        match int_of(other) {
            Some(0) => Err(starlark::Error::new_value(anyhow::anyhow!(
                "division by zero"
            ))),
            Some(divisor) => Ok(heap.alloc(Duration(self.0.div_euclid(divisor)))),
            None => ValueError::unsupported_with(self, "//", other),
        }
    }
}

/// `time.time`: an instant in UTC (the only location known here).
#[derive(Debug, Clone, PartialEq, Eq, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct Time {
    /// Seconds since the Unix epoch (an `i128` would break the Starlark heap's alignment).
    pub secs: i64,
    /// Nanoseconds within the second, 0 to 999,999,999.
    pub nsec: i64,
}

starlark_simple_value!(Time);

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01: (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The parts of an instant, in UTC.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanosecond: i64,
    weekday: usize,
    year_day: i64,
}

impl Time {
    /// Like Go's `time.Date`: out-of-range parts carry over.
    fn from_parts(
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
        nanosecond: i64,
    ) -> Time {
        let month0 = month - 1;
        let year = year + month0.div_euclid(12);
        let month = month0.rem_euclid(12) + 1;
        let days = days_from_civil(year, month, 1) + day - 1;
        let seconds = i128::from(days) * 86_400
            + i128::from(hour) * 3600
            + i128::from(minute) * 60
            + i128::from(second);
        Time::from_total(seconds * NANOS_PER_SECOND + i128::from(nanosecond))
    }

    /// The instant `total` nanoseconds after the epoch (saturating far outside Go's range).
    fn from_total(total: i128) -> Time {
        let secs = total
            .div_euclid(NANOS_PER_SECOND)
            .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        Time {
            secs,
            nsec: total.rem_euclid(NANOS_PER_SECOND) as i64,
        }
    }

    fn total(&self) -> i128 {
        i128::from(self.secs) * NANOS_PER_SECOND + i128::from(self.nsec)
    }

    fn shifted(&self, nanos: i128) -> Time {
        Time::from_total(self.total() + nanos)
    }

    fn civil(&self) -> Civil {
        let seconds = self.total().div_euclid(NANOS_PER_SECOND);
        let nanosecond = self.nsec;
        let days = seconds.div_euclid(86_400) as i64;
        let in_day = seconds.rem_euclid(86_400) as i64;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day % 3600 / 60,
            second: in_day % 60,
            nanosecond,
            weekday: (days + 4).rem_euclid(7) as usize,
            year_day: days - days_from_civil(year, 1, 1) + 1,
        }
    }

    fn unix(&self) -> i64 {
        self.secs
    }
}

impl Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Go's `Time.String`: "2006-01-02 15:04:05.999999999 -0700 MST".
        write!(
            f,
            "{}",
            format_time(self, "2006-01-02 15:04:05.999999999 -0700 MST")
        )
    }
}

fn time_of<'v>(value: Value<'v>) -> Option<&'v Time> {
    value.downcast_ref::<Time>()
}

starlark::methods_static!(TIME_METHODS = time_methods);

#[starlark_value(type = "time.time")]
impl<'v> StarlarkValue<'v> for Time {
    fn get_methods() -> Option<&'static Methods>
    where
        Self: Sized,
    {
        Some(TIME_METHODS.methods())
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        let civil = self.civil();
        Some(match attribute {
            "year" => heap.alloc(civil.year),
            "month" => heap.alloc(civil.month),
            "day" => heap.alloc(civil.day),
            "hour" => heap.alloc(civil.hour),
            "minute" => heap.alloc(civil.minute),
            "second" => heap.alloc(civil.second),
            "nanosecond" => heap.alloc(civil.nanosecond),
            "unix" => heap.alloc(self.unix()),
            "unix_nano" => heap.alloc(i64::try_from(self.total()).unwrap_or(i64::MAX)),
            _ => return None,
        })
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        [
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
            "nanosecond",
            "unix",
            "unix_nano",
            "format",
            "in_location",
        ]
        .contains(&attribute)
    }

    fn equals(&self, other: Value<'v>) -> starlark::Result<bool> {
        Ok(time_of(other).is_some_and(|other| other == self))
    }

    fn compare(&self, other: Value<'v>) -> starlark::Result<Ordering> {
        match time_of(other) {
            Some(other) => Ok(self.total().cmp(&other.total())),
            None => ValueError::unsupported_with(self, "compare", other),
        }
    }

    fn write_hash(&self, hasher: &mut StarlarkHasher) -> starlark::Result<()> {
        std::hash::Hash::hash(&(self.secs, self.nsec), hasher);
        Ok(())
    }

    fn to_bool(&self) -> bool {
        // Go's zero time (0001-01-01 UTC) is false.
        *self != Time::from_parts(1, 1, 1, 0, 0, 0, 0)
    }

    fn add(&self, rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        duration_of(rhs).map(|nanos| Ok(heap.alloc(self.shifted(i128::from(nanos)))))
    }

    fn sub(&self, other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        if let Some(nanos) = duration_of(other) {
            return Ok(heap.alloc(self.shifted(-i128::from(nanos))));
        }
        match time_of(other) {
            Some(other) => {
                let difference = (self.total() - other.total())
                    .clamp(i128::from(i64::MIN), i128::from(i64::MAX));
                Ok(heap.alloc(Duration(difference as i64)))
            }
            None => ValueError::unsupported_with(self, "-", other),
        }
    }
}

#[starlark_module]
fn time_methods(builder: &mut MethodsBuilder) {
    /// Formats the time with a Go layout such as `"2006-01-02T15:04:05Z07:00"`.
    fn format(this: &Time, #[starlark(require = pos)] layout: &str) -> starlark::Result<String> {
        Ok(format_time(this, layout))
    }

    /// The same instant in another location (only UTC is known here).
    fn in_location<'v>(
        this: &Time,
        #[starlark(require = pos)] location: &str,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        if is_utc(location) {
            Ok(heap.alloc(this.clone()))
        } else {
            Ok(heap.alloc(Unknown))
        }
    }
}

fn is_utc(location: &str) -> bool {
    matches!(
        location,
        "" | "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Local"
    )
}

/// Whether `location` looks like an IANA time zone name; the zone database is not here, so
/// this accepts the form `Area/Place` for the IANA areas.
fn looks_like_timezone(location: &str) -> bool {
    const AREAS: &[&str] = &[
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Brazil",
        "Canada",
        "Chile",
        "Etc",
        "Europe",
        "Indian",
        "Mexico",
        "Pacific",
        "US",
    ];
    if is_utc(location) || matches!(location, "EST" | "MST" | "HST" | "CET" | "EET" | "WET") {
        return true;
    }
    let mut parts = location.split('/');
    let area = parts.next().unwrap_or("");
    AREAS.contains(&area)
        && location.split('/').count() >= 2
        && location
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
}

/// One element of a Go time layout.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Chunk {
    Literal(String),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// Offset with: Z for UTC, colons, seconds, hours only.
    Offset {
        z: bool,
        colons: bool,
        seconds: bool,
        hours_only: bool,
    },
    /// Fractional seconds: digits, and whether trailing zeros are trimmed (`.999`).
    Fraction {
        digits: usize,
        trim: bool,
        separator: char,
    },
}

/// Splits a Go layout into chunks, following `time.nextStdChunk`.
fn layout_chunks(layout: &str) -> Vec<Chunk> {
    let bytes = layout.as_bytes();
    let mut chunks = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    let starts = |i: usize, text: &str| layout[i..].starts_with(text);
    let lower_after = |j: usize| bytes.get(j).is_some_and(|b| b.is_ascii_lowercase());
    while i < bytes.len() {
        let (chunk, len): (Option<Chunk>, usize) = match bytes[i] {
            b'J' if starts(i, "January") => (Some(Chunk::LongMonth), 7),
            b'J' if starts(i, "Jan") && !lower_after(i + 3) => (Some(Chunk::Month), 3),
            b'M' if starts(i, "Monday") => (Some(Chunk::LongWeekDay), 6),
            b'M' if starts(i, "Mon") && !lower_after(i + 3) => (Some(Chunk::WeekDay), 3),
            b'M' if starts(i, "MST") => (Some(Chunk::TZ), 3),
            b'0' if starts(i, "002") => (Some(Chunk::ZeroYearDay), 3),
            b'0' if bytes.get(i + 1).is_some_and(|b| (b'1'..=b'6').contains(b)) => (
                Some(match bytes[i + 1] {
                    b'1' => Chunk::ZeroMonth,
                    b'2' => Chunk::ZeroDay,
                    b'3' => Chunk::ZeroHour12,
                    b'4' => Chunk::ZeroMinute,
                    b'5' => Chunk::ZeroSecond,
                    _ => Chunk::Year,
                }),
                2,
            ),
            b'1' if starts(i, "15") => (Some(Chunk::Hour), 2),
            b'1' => (Some(Chunk::NumMonth), 1),
            b'2' if starts(i, "2006") => (Some(Chunk::LongYear), 4),
            b'2' => (Some(Chunk::Day), 1),
            b'_' if starts(i, "__2") => (Some(Chunk::UnderYearDay), 3),
            b'_' if starts(i, "_2") && !starts(i, "_2006") => (Some(Chunk::UnderDay), 2),
            b'3' => (Some(Chunk::Hour12), 1),
            b'4' => (Some(Chunk::Minute), 1),
            b'5' => (Some(Chunk::Second), 1),
            b'P' if starts(i, "PM") => (Some(Chunk::PM), 2),
            b'p' if starts(i, "pm") => (Some(Chunk::Pm), 2),
            b'-' | b'Z' => {
                let z = bytes[i] == b'Z';
                let rest = &layout[i + 1..];
                let forms = [
                    ("070000", false, true, false),
                    ("07:00:00", true, true, false),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, false, true),
                ];
                match forms.iter().find(|(form, ..)| rest.starts_with(form)) {
                    Some((form, colons, seconds, hours_only)) => (
                        Some(Chunk::Offset {
                            z,
                            colons: *colons,
                            seconds: *seconds,
                            hours_only: *hours_only,
                        }),
                        form.len() + 1,
                    ),
                    None => (None, 1),
                }
            }
            separator @ (b'.' | b',')
                if bytes.get(i + 1).is_some_and(|b| *b == b'0' || *b == b'9') =>
            {
                let digit = bytes[i + 1];
                let mut j = i + 1;
                while bytes.get(j) == Some(&digit) {
                    j += 1;
                }
                if bytes.get(j).is_some_and(u8::is_ascii_digit) {
                    (None, 1)
                } else {
                    (
                        Some(Chunk::Fraction {
                            digits: j - i - 1,
                            trim: digit == b'9',
                            separator: separator as char,
                        }),
                        j - i,
                    )
                }
            }
            _ => (None, 0),
        };
        match chunk {
            Some(chunk) => {
                if !literal.is_empty() {
                    chunks.push(Chunk::Literal(std::mem::take(&mut literal)));
                }
                chunks.push(chunk);
                i += len;
            }
            None => {
                let c = layout[i..].chars().next().unwrap_or(' ');
                literal.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !literal.is_empty() {
        chunks.push(Chunk::Literal(literal));
    }
    chunks
}

/// Go's `Time.Format` for a UTC time.
fn format_time(time: &Time, layout: &str) -> String {
    let civil = time.civil();
    let mut out = String::new();
    for chunk in layout_chunks(layout) {
        let _ = match chunk {
            Chunk::Literal(text) => write!(out, "{text}"),
            Chunk::LongMonth => write!(out, "{}", MONTHS[(civil.month - 1) as usize]),
            Chunk::Month => write!(out, "{}", &MONTHS[(civil.month - 1) as usize][..3]),
            Chunk::NumMonth => write!(out, "{}", civil.month),
            Chunk::ZeroMonth => write!(out, "{:02}", civil.month),
            Chunk::LongWeekDay => write!(out, "{}", WEEKDAYS[civil.weekday]),
            Chunk::WeekDay => write!(out, "{}", &WEEKDAYS[civil.weekday][..3]),
            Chunk::Day => write!(out, "{}", civil.day),
            Chunk::UnderDay => write!(out, "{:>2}", civil.day),
            Chunk::ZeroDay => write!(out, "{:02}", civil.day),
            Chunk::UnderYearDay => write!(out, "{:>3}", civil.year_day),
            Chunk::ZeroYearDay => write!(out, "{:03}", civil.year_day),
            Chunk::Hour => write!(out, "{:02}", civil.hour),
            Chunk::Hour12 => write!(out, "{}", (civil.hour + 11) % 12 + 1),
            Chunk::ZeroHour12 => write!(out, "{:02}", (civil.hour + 11) % 12 + 1),
            Chunk::Minute => write!(out, "{}", civil.minute),
            Chunk::ZeroMinute => write!(out, "{:02}", civil.minute),
            Chunk::Second => write!(out, "{}", civil.second),
            Chunk::ZeroSecond => write!(out, "{:02}", civil.second),
            Chunk::LongYear => write!(out, "{:04}", civil.year),
            Chunk::Year => write!(out, "{:02}", civil.year.rem_euclid(100)),
            Chunk::PM => write!(out, "{}", if civil.hour >= 12 { "PM" } else { "AM" }),
            Chunk::Pm => write!(out, "{}", if civil.hour >= 12 { "pm" } else { "am" }),
            Chunk::TZ => write!(out, "UTC"),
            Chunk::Offset {
                z,
                colons,
                seconds,
                hours_only,
            } => {
                if z {
                    write!(out, "Z")
                } else if hours_only {
                    write!(out, "+00")
                } else {
                    let separator = if colons { ":" } else { "" };
                    let tail = if seconds {
                        format!("{separator}00")
                    } else {
                        String::new()
                    };
                    write!(out, "+00{separator}00{tail}")
                }
            }
            Chunk::Fraction {
                digits,
                trim,
                separator,
            } => {
                let all = format!("{:09}", civil.nanosecond);
                let mut shown = all[..digits.min(9)].to_owned();
                if trim {
                    shown = shown.trim_end_matches('0').to_owned();
                }
                if shown.is_empty() {
                    Ok(())
                } else {
                    write!(out, "{separator}{shown}")
                }
            }
        };
    }
    out
}

/// Go's `time.Parse` for the layouts `layout_chunks` understands; the instant, in UTC.
fn parse_time(value: &str, layout: &str) -> Result<Time, String> {
    let chunks = layout_chunks(layout);
    let mut rest = value;
    let (mut year, mut month, mut day) = (1i64, 1i64, 1i64);
    let (mut hour, mut minute, mut second, mut nanos) = (0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut offset_seconds = 0i64;
    let bad = |what: &str, rest: &str| format!("cannot parse \"{rest}\" as {what}");
    fn number(rest: &str, min: usize, max: usize) -> Option<(i64, &str)> {
        let len = rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if len < min {
            return None;
        }
        Some((rest[..len].parse().ok()?, &rest[len..]))
    }
    fn name<'a>(rest: &'a str, names: &[&str], short: bool) -> Option<(i64, &'a str)> {
        names.iter().enumerate().find_map(|(index, full)| {
            let wanted = if short { &full[..3] } else { full };
            (rest.len() >= wanted.len() && rest[..wanted.len()].eq_ignore_ascii_case(wanted))
                .then(|| (index as i64, &rest[wanted.len()..]))
        })
    }
    for (index, chunk) in chunks.iter().enumerate() {
        let parsed: Option<&str> = match chunk {
            Chunk::Literal(text) => rest.strip_prefix(text.as_str()),
            Chunk::LongMonth | Chunk::Month => {
                name(rest, &MONTHS, *chunk == Chunk::Month).map(|(index, after)| {
                    month = index + 1;
                    after
                })
            }
            Chunk::LongWeekDay | Chunk::WeekDay => {
                name(rest, &WEEKDAYS, *chunk == Chunk::WeekDay).map(|(_, after)| after)
            }
            Chunk::NumMonth | Chunk::ZeroMonth => number(rest, 1, 2).map(|(value, after)| {
                month = value;
                after
            }),
            Chunk::Day | Chunk::ZeroDay | Chunk::UnderDay => {
                number(rest.trim_start_matches(' '), 1, 2).map(|(value, after)| {
                    day = value;
                    after
                })
            }
            Chunk::UnderYearDay | Chunk::ZeroYearDay => number(rest.trim_start_matches(' '), 1, 3)
                .map(|(value, after)| {
                    month = 1;
                    day = value;
                    after
                }),
            Chunk::Hour => number(rest, 1, 2).map(|(value, after)| {
                hour = value;
                after
            }),
            Chunk::Hour12 | Chunk::ZeroHour12 => number(rest, 1, 2).map(|(value, after)| {
                hour = value % 12;
                after
            }),
            Chunk::Minute | Chunk::ZeroMinute => number(rest, 1, 2).map(|(value, after)| {
                minute = value;
                after
            }),
            Chunk::Second | Chunk::ZeroSecond => number(rest, 1, 2).map(|(value, after)| {
                second = value;
                // Go accepts fractional seconds after the seconds even if the layout has none.
                let next_is_fraction =
                    matches!(chunks.get(index + 1), Some(Chunk::Fraction { .. }));
                match after.strip_prefix(['.', ',']) {
                    Some(fraction) if !next_is_fraction => {
                        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
                        if digits > 0 {
                            let text = format!("{:0<9}", &fraction[..digits.min(9)]);
                            nanos = text.parse().unwrap_or(0);
                            &fraction[digits..]
                        } else {
                            after
                        }
                    }
                    _ => after,
                }
            }),
            Chunk::LongYear => number(rest, 4, 4).map(|(value, after)| {
                year = value;
                after
            }),
            Chunk::Year => number(rest, 2, 2).map(|(value, after)| {
                year = if value >= 69 {
                    1900 + value
                } else {
                    2000 + value
                };
                after
            }),
            Chunk::PM | Chunk::Pm => {
                let upper = rest.get(..2).map(str::to_ascii_uppercase);
                match upper.as_deref() {
                    Some("AM") => {
                        pm = Some(false);
                        Some(&rest[2..])
                    }
                    Some("PM") => {
                        pm = Some(true);
                        Some(&rest[2..])
                    }
                    _ => None,
                }
            }
            Chunk::TZ => {
                let len = rest.bytes().take_while(|b| b.is_ascii_uppercase()).count();
                (3..=5).contains(&len).then(|| &rest[len..])
            }
            Chunk::Offset {
                z,
                colons,
                seconds,
                hours_only,
            } => {
                if *z && rest.starts_with('Z') {
                    offset_seconds = 0;
                    Some(&rest[1..])
                } else {
                    let sign = match rest.as_bytes().first() {
                        Some(b'+') => 1,
                        Some(b'-') => -1,
                        _ => 0,
                    };
                    if sign == 0 {
                        None
                    } else {
                        let mut after = &rest[1..];
                        let mut parts = Vec::new();
                        let count = if *hours_only {
                            1
                        } else if *seconds {
                            3
                        } else {
                            2
                        };
                        let mut ok = true;
                        for part in 0..count {
                            if part > 0 && *colons {
                                match after.strip_prefix(':') {
                                    Some(next) => after = next,
                                    None => ok = false,
                                }
                            }
                            match number(after, 2, 2) {
                                Some((value, next)) if ok => {
                                    parts.push(value);
                                    after = next;
                                }
                                _ => ok = false,
                            }
                        }
                        ok.then(|| {
                            let hours = parts.first().copied().unwrap_or(0);
                            let minutes = parts.get(1).copied().unwrap_or(0);
                            let secs = parts.get(2).copied().unwrap_or(0);
                            offset_seconds = sign * (hours * 3600 + minutes * 60 + secs);
                            after
                        })
                    }
                }
            }
            Chunk::Fraction {
                digits,
                trim,
                separator,
            } => match rest.strip_prefix(*separator) {
                Some(fraction) => {
                    let available = fraction.bytes().take_while(u8::is_ascii_digit).count();
                    let wanted = if *trim { available } else { *digits };
                    if available < wanted || (!*trim && available != *digits) {
                        None
                    } else {
                        let text = format!("{:0<9}", &fraction[..wanted.min(9)]);
                        nanos = text.parse().unwrap_or(0);
                        Some(&fraction[wanted..])
                    }
                }
                None if *trim => Some(rest),
                None => None,
            },
        };
        match parsed {
            Some(after) => rest = after,
            None => {
                let what = match chunk {
                    Chunk::Literal(text) => format!("\"{text}\""),
                    other => format!("{other:?}").to_lowercase(),
                };
                return Err(bad(&what, rest));
            }
        }
    }
    if !rest.is_empty() {
        return Err(format!("extra text: \"{rest}\""));
    }
    match pm {
        Some(true) if hour < 12 => hour += 12,
        _ => {}
    }
    if !(1..=12).contains(&month) {
        return Err("month out of range".to_owned());
    }
    let days_in_month = days_from_civil(year + i64::from(month == 12), month % 12 + 1, 1)
        - days_from_civil(year, month, 1);
    if day < 1 || day > days_in_month {
        return Err("day out of range".to_owned());
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("time out of range".to_owned());
    }
    let time = Time::from_parts(year, month, day, hour, minute, second, nanos);
    Ok(time.shifted(-i128::from(offset_seconds) * NANOS_PER_SECOND))
}

const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

#[starlark_module]
fn time_members(builder: &mut GlobalsBuilder) {
    const nanosecond: Duration = Duration(1);
    const microsecond: Duration = Duration(1_000);
    const millisecond: Duration = Duration(1_000_000);
    const second: Duration = Duration(1_000_000_000);
    const minute: Duration = Duration(60_000_000_000);
    const hour: Duration = Duration(3_600_000_000_000);

    /// Parses a Go duration string (`"1h30m"`).
    ///
    /// # Arguments
    /// * `d`: a `str` of numbers with units (`ns`, `us`, `ms`, `s`, `m`, `h`), such as `"1h30m"`; a duration is returned as it is.
    fn parse_duration<'v>(
        #[starlark(require = pos)] d: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        if is_unknown(d) || d.downcast_ref::<Duration>().is_some() {
            return Ok(d);
        }
        let Some(text) = d.unpack_str() else {
            report(
                eval,
                Rule::WrongType,
                format!(
                    "time.parse_duration needs a string, got a value of type `{}`",
                    d.get_type()
                ),
                None,
            );
            return Ok(eval.heap().alloc(Unknown));
        };
        match parse_go_duration(text) {
            Ok(nanos) => Ok(eval.heap().alloc(Duration(nanos))),
            Err(problem) => {
                report(
                    eval,
                    Rule::InvalidValue,
                    format!("time.parse_duration: \"{text}\" is not a duration: {problem}"),
                    Some(
                        "write a number with a unit, such as \"30s\", \"2m\" or \"1h30m\" (units: ns, us, ms, s, m, h)",
                    ),
                );
                Ok(eval.heap().alloc(Unknown))
            }
        }
    }

    /// The time `sec` seconds and `nsec` nanoseconds after the Unix epoch.
    ///
    /// # Arguments
    /// * `sec`: whole seconds since 1970-01-01 UTC, an `int`.
    /// * `nsec`: nanoseconds to add.
    fn from_timestamp<'v>(
        #[starlark(require = pos)] sec: Value<'v>,
        #[starlark(require = pos, default = 0)] nsec: i64,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        if is_unknown(sec) {
            return Ok(heap.alloc(Unknown));
        }
        let Some(seconds) = sec.unpack_i32() else {
            return Err(starlark::Error::new_value(anyhow::anyhow!(
                "from_timestamp: got {}, want int",
                sec.get_type()
            )));
        };
        Ok(heap.alloc(Time::from_total(
            i128::from(seconds) * NANOS_PER_SECOND + i128::from(nsec),
        )))
    }

    /// Parses a time with a Go layout (RFC 3339 by default).
    ///
    /// # Arguments
    /// * `x`: the text to parse, a `str`.
    /// * `format`: the layout, written as Go's reference time `2006-01-02T15:04:05Z07:00` would be.
    /// * `location`: the time zone of a text without an offset, such as `"Europe/Paris"`.
    fn parse_time<'v>(
        #[starlark(require = pos)] x: Value<'v>,
        #[starlark(default = RFC3339)] format: &str,
        #[starlark(default = "UTC")] location: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        if is_unknown(x) {
            return Ok(eval.heap().alloc(Unknown));
        }
        let Some(text) = x.unpack_str() else {
            report(
                eval,
                Rule::WrongType,
                format!(
                    "time.parse_time needs a string, got a value of type `{}`",
                    x.get_type()
                ),
                None,
            );
            return Ok(eval.heap().alloc(Unknown));
        };
        if !is_utc(location) {
            // Only UTC is known here; the result depends on the zone database.
            return Ok(eval.heap().alloc(Unknown));
        }
        match parse_time(text, format) {
            Ok(time) => Ok(eval.heap().alloc(time)),
            Err(problem) => {
                report(
                    eval,
                    Rule::InvalidValue,
                    format!(
                        "time.parse_time: \"{text}\" does not match the layout \"{format}\": {problem}"
                    ),
                    Some("layouts use Go's reference time, e.g. \"2006-01-02T15:04:05Z07:00\""),
                );
                Ok(eval.heap().alloc(Unknown))
            }
        }
    }

    /// The time of the given parts, normalized as Go's `time.Date` does.
    ///
    /// # Arguments
    /// * `year`: the year.
    /// * `month`: the month, 1 to 12; 13 is January of the next year.
    /// * `day`: the day of the month; out-of-range days roll over.
    /// * `hour`: the hour, 0 to 23.
    /// * `minute`: the minute, 0 to 59.
    /// * `second`: the second, 0 to 59.
    /// * `nanosecond`: the nanosecond within the second.
    /// * `location`: the time zone, such as `"UTC"` or `"Europe/Paris"`.
    fn time<'v>(
        #[starlark(default = 0)] year: i64,
        #[starlark(default = 0)] month: i64,
        #[starlark(default = 0)] day: i64,
        #[starlark(default = 0)] hour: i64,
        #[starlark(default = 0)] minute: i64,
        #[starlark(default = 0)] second: i64,
        #[starlark(default = 0)] nanosecond: i64,
        #[starlark(default = "UTC")] location: &str,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        if !is_utc(location) {
            return Ok(heap.alloc(Unknown));
        }
        Ok(heap.alloc(Time::from_parts(
            year, month, day, hour, minute, second, nanosecond,
        )))
    }

    /// Whether `loc` names a time zone.
    ///
    /// # Arguments
    /// * `loc`: a zone name such as `"Europe/Paris"`.
    fn is_valid_timezone(#[starlark(require = pos)] loc: &str) -> starlark::Result<bool> {
        Ok(looks_like_timezone(loc))
    }

    /// Disabled in Kurtosis: plans must be deterministic.
    fn now<'v>(eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
        report(
            eval,
            Rule::DialectViolation,
            "`time.now()` is not supported by Kurtosis, so that a plan does not depend on when it is interpreted",
            Some(
                "use `plan.run_python` (or `plan.run_sh` with `date`) to get the time when the plan runs",
            ),
        );
        Ok(eval.heap().alloc(Unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indent_follows_go() {
        assert_eq!(
            indent_json(r#"{"a":[1,2],"b":{},"c":[]}"#, "", "  ").unwrap(),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}"
        );
        assert_eq!(
            indent_json(r#" {"k" : "v, {x}"} "#, ">", "\t").unwrap(),
            "{\n>\t\"k\": \"v, {x}\"\n>}"
        );
        assert!(indent_json("{", "", "\t").is_err());
    }

    #[test]
    fn encode_sorts_keys() {
        let json = serde_json::json!({"b": 1, "a": [true, null, "x"]});
        let mut out = String::new();
        write_json(&json, &mut out);
        assert_eq!(out, r#"{"a":[true,null,"x"],"b":1}"#);
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn time_formats_like_go() {
        let time = Time::from_parts(2009, 11, 10, 23, 4, 5, 120_000_000);
        assert_eq!(time.to_string(), "2009-11-10 23:04:05.12 +0000 UTC");
        assert_eq!(format_time(&time, RFC3339), "2009-11-10T23:04:05Z");
        assert_eq!(
            format_time(&time, "Mon Jan _2 3:04PM 2006 .000"),
            "Tue Nov 10 11:04PM 2009 .120"
        );
        // Go's time.Date normalizes out-of-range parts.
        assert_eq!(
            Time::from_parts(2020, 13, 32, 0, 0, 0, 0),
            Time::from_parts(2021, 2, 1, 0, 0, 0, 0)
        );
    }

    #[test]
    fn time_parses_like_go() {
        let time = parse_time("2009-11-10T23:04:05+01:00", RFC3339).unwrap();
        assert_eq!(format_time(&time, RFC3339), "2009-11-10T22:04:05Z");
        let time = parse_time("2009-11-10T23:04:05.5Z", RFC3339).unwrap();
        assert_eq!(time.civil().nanosecond, 500_000_000);
        let time = parse_time("10 Nov 09 11:04 PM", "02 Jan 06 03:04 PM").unwrap();
        assert_eq!(format_time(&time, RFC3339), "2009-11-10T23:04:00Z");
        assert!(parse_time("2009-13-10T23:04:05Z", RFC3339).is_err());
        assert!(parse_time("yesterday", RFC3339).is_err());
    }

    #[test]
    fn timezones() {
        assert!(looks_like_timezone("UTC"));
        assert!(looks_like_timezone("America/New_York"));
        assert!(!looks_like_timezone("Mars/Olympus"));
        assert!(!looks_like_timezone("not a zone"));
    }
}
