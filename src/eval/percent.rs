//! `"%(name)s" % {"name": value}`, which starlark-go supports and starlark-rust does not.
//!
//! In a module whose text has `%`, every `%` operator is rewritten (by
//! [`super::rewrite_calls`]) to a call of [`PERCENT`] (same spans), which handles a keyed
//! format as starlark-go's `interpolate` does, formats a stand-in for an unknown value
//! (`"%d" % args["n"]` without arguments) to an unknown string, and hands everything else to
//! the ordinary operator.

use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::dict::DictRef;
use starlark::values::tuple::AllocTuple;
use starlark::values::{Heap, Value};

use super::values::{Unknown, contains_unknown};

/// The global the `%` operator is rewritten to call.
pub(crate) const PERCENT: &str = "_starflake_percent";

#[starlark_module]
pub(crate) fn register(builder: &mut GlobalsBuilder) {
    fn _starflake_percent<'v>(
        #[starlark(require = pos)] lhs: Value<'v>,
        #[starlark(require = pos)] rhs: Value<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        if let Some(format) = lhs.unpack_str() {
            super::budget::make_room(heap, super::budget::percent_result_bytes(format, rhs))?;
        }
        match (lhs.unpack_str(), DictRef::from_value(rhs)) {
            (Some(_), _) if contains_unknown(rhs) => Ok(heap.alloc(Unknown)),
            (Some(format), Some(dict)) if format.contains("%(") => {
                let (positional, values) = keyed_to_positional(format, |key| {
                    dict.get_str(key)
                        .ok_or_else(|| format!("key not found: {key}"))
                })
                .map_err(|message| starlark::Error::new_value(anyhow::anyhow!(message)))?;
                let values: Vec<Value<'v>> = values
                    .into_iter()
                    .map(|value| value.unwrap_or(rhs))
                    .collect();
                heap.alloc_str(&positional)
                    .to_value()
                    .percent(heap.alloc(AllocTuple(values)), heap)
            }
            _ => lhs.percent(rhs, heap),
        }
    }
}

/// `%(key)s` becomes `%s` with the key's value; a plain conversion takes the mapping itself
/// (`None` here), as in starlark-go.
fn keyed_to_positional<'v>(
    format: &str,
    mut lookup: impl FnMut(&str) -> Result<Value<'v>, String>,
) -> Result<(String, Vec<Option<Value<'v>>>), String> {
    let mut out = String::with_capacity(format.len());
    let mut values = Vec::new();
    let mut rest = format;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            out.push_str("%%");
            rest = after;
            continue;
        }
        out.push('%');
        if let Some(after) = rest.strip_prefix('(') {
            let close = after
                .find(')')
                .ok_or_else(|| "incomplete format key".to_owned())?;
            values.push(Some(lookup(&after[..close])?));
            rest = &after[close + 1..];
        } else {
            values.push(None);
        }
    }
    out.push_str(rest);
    Ok((out, values))
}
