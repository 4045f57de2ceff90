//! The memory budget of one evaluation ([`crate::limits::MEMORY_BUDGET`]).
//!
//! starlark-rust makes `[0] * 1000000000` or `'a' * 2000000000` in one step that nothing can
//! interrupt. In every module that multiplies, `*` is rewritten (same spans) to a call of
//! [`TIMES`], which computes the size of the result first and refuses one that would pass the
//! budget (and a product of ints past [`MAX_INT_BYTES`]); `range` refuses more elements than
//! [`MAX_RANGE`], which `list()` or `max()` would go through without a pause. The string
//! methods that can make a value many times larger than their inputs ([`GUARDED_METHODS`]:
//! `s.replace("a", "aaaa")`, `sep.join(...)`, `"{}{}".format(...)`, `s.split()`, ...) are
//! rewritten the same way to calls of [`METHOD`], which computes the size of the result first
//! (see `vendor/starlark_syntax`); one taken as a value (`f = s.replace`, `getattr(s, "join")`)
//! becomes a [`SizedMethod`], which does the same when it is called. Values that grow step by step are stopped by the heap check
//! before each statement ([`over_budget`]) and every 1000 steps (starlark's own heap limit,
//! set to the same budget).

use std::collections::HashSet;
use std::fmt::{self, Display};
use std::sync::OnceLock;

use allocative::Allocative;
use num_bigint::BigInt;
use starlark::collections::SmallMap;
use starlark::environment::{Globals, GlobalsBuilder};
use starlark::eval::{Arguments, Evaluator};
use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::structs::StructRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{
    Coerce, Freeze, FrozenValue, Heap, NoSerialize, ProvidesStaticType, StarlarkValue, StringValue,
    Trace, UnpackValue, Value, ValueError, ValueIdentity, ValueLifetimeless, ValueLike,
    starlark_value,
};
use starlark::{starlark_complex_value, starlark_module};

use std::num::NonZeroI32;

use starlark::values::range::Range;

use crate::limits::{MAX_INT_BYTES, MAX_RANGE, MEMORY_BUDGET, too_many_digits};
use crate::plan::Step;

/// The global the `*` operator is rewritten to call.
pub(crate) const TIMES: &str = "_starflake_times";

/// The global the calls of [`GUARDED_METHODS`] are rewritten to call: `x.name(args)` becomes
/// `_starflake_method(x, "name", args)`.
pub(crate) const METHOD: &str = "_starflake_method";

/// The global a method of [`GUARDED_METHODS`] taken as a value is rewritten to call: `x.name`
/// (not called) becomes `_starflake_attr(x, "name")`.
pub(crate) const ATTR: &str = "_starflake_attr";

/// The string methods whose result can be many times larger than their receiver and
/// arguments; [`METHOD`] computes the size of their result before they run.
pub(crate) const GUARDED_METHODS: [&str; 8] = [
    "replace",
    "join",
    "format",
    "split",
    "rsplit",
    "splitlines",
    "elems",
    "codepoints",
];

/// The methods of [`GUARDED_METHODS`] whose calls a module of this text may make.
pub(crate) fn methods_to_guard(text: &str) -> &'static [&'static str] {
    if GUARDED_METHODS.iter().any(|name| text.contains(name)) {
        &GUARDED_METHODS
    } else {
        &[]
    }
}

/// The message of every memory-limit error, so that [`super::error_diagnostic`] knows it.
pub(crate) const MESSAGE_START: &str = "out of memory budget";

#[starlark_module]
pub(crate) fn register(builder: &mut GlobalsBuilder) {
    fn _starflake_times<'v>(
        #[starlark(require = pos)] lhs: Value<'v>,
        #[starlark(require = pos)] rhs: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        if let Some(bytes) = int_product_bytes(lhs, rhs)
            && bytes > MAX_INT_BYTES as u64
        {
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "{MESSAGE_START}: this number would take {} KiB, and a number may take at most {} KiB",
                bytes.div_ceil(1 << 10),
                MAX_INT_BYTES >> 10
            )));
        }
        if let Some(bytes) = repetition_bytes(lhs, rhs).or_else(|| repetition_bytes(rhs, lhs)) {
            make_room(eval.heap(), bytes)?;
            // starlark repeats an empty value as many times as asked, in one step nothing
            // interrupts (`'' * 2147483647` took 8 s in wasm); the result is empty anyway.
            if bytes == 0 && lhs.length().is_ok_and(|length| length == 0) {
                return lhs.mul(eval.heap().alloc(0), eval.heap());
            }
            if bytes == 0 && rhs.length().is_ok_and(|length| length == 0) {
                return eval.heap().alloc(0).mul(rhs, eval.heap());
            }
        }
        lhs.mul(rhs, eval.heap())
    }

    /// A call of one of [`GUARDED_METHODS`] (receiver, method name, then the call's own
    /// arguments): refused when its result on a string would pass the budget, made otherwise.
    fn _starflake_method<'v>(
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let mut positional = args.positions(heap)?;
        let (Some(receiver), Some(name)) = (positional.next(), positional.next()) else {
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "{METHOD} takes a receiver and a method name"
            )));
        };
        let name = name.unpack_str().unwrap_or_default();
        let method = receiver
            .get_attr(name, heap)?
            .ok_or_else(|| no_attr(receiver, name))?;
        let rest: Vec<Value<'v>> = positional.collect();
        call_sized(receiver, name, method, rest, args, eval)
    }

    /// One of [`GUARDED_METHODS`] taken as a value (`f = x.name`).
    fn _starflake_attr<'v>(
        #[starlark(require = pos)] receiver: Value<'v>,
        #[starlark(require = pos)] name: StringValue<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        let method = receiver
            .get_attr(name.as_str(), heap)?
            .ok_or_else(|| no_attr(receiver, name.as_str()))?;
        Ok(sized(receiver, name, method, heap))
    }

    /// [getattr](https://github.com/bazelbuild/starlark/blob/master/spec.md#getattr): the
    /// attribute `attr` of `a`, or `default` when `a` has none (an error without `default`).
    fn getattr<'v>(
        #[starlark(require = pos)] a: Value<'v>,
        #[starlark(require = pos)] attr: StringValue<'v>,
        #[starlark(require = pos)] default: Option<Value<'v>>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        match a.get_attr(attr.as_str(), heap)? {
            Some(value) => Ok(sized(a, attr, value, heap)),
            None => default.ok_or_else(|| {
                ValueError::OperationNotSupported {
                    op: format!(".{}", attr.as_str()),
                    typ: a.get_type().to_owned(),
                }
                .into()
            }),
        }
    }

    /// starlark's `int`, refusing a string of more digits than a number may hold before it
    /// parses it: parsing takes time quadratic in the digits (a million took 1.1 s, four
    /// million 16 s, in one step nothing interrupts). Not `speculative_exec_safe` as
    /// starlark's own is, so that the compiler does not parse a constant while compiling.
    fn int<'v>(
        #[starlark(require = pos)] a: Option<Value<'v>>,
        base: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        if let Some(problem) = a.and_then(|a| a.unpack_str()).and_then(too_many_digits) {
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "{MESSAGE_START}: {problem}"
            )));
        }
        let positional: Vec<Value<'v>> = a.into_iter().collect();
        let named: Vec<(&str, Value<'v>)> = base.map(|base| ("base", base)).into_iter().collect();
        eval.eval_function(standard_int().to_value(), &positional, &named)
    }

    /// starlark's `range`, refusing one longer than [`MAX_RANGE`]. Not marked
    /// `speculative_exec_safe` as starlark's own is: the compiler would then fold
    /// `list(range(16000000))` into a constant while compiling, outside the memory budget and
    /// any deadline (seconds and gigabytes).
    fn range(
        #[starlark(require = pos)] a1: i32,
        #[starlark(require = pos)] a2: Option<i32>,
        #[starlark(require = pos, default = 1)] step: i32,
    ) -> starlark::Result<Range> {
        let (start, stop) = match a2 {
            Some(stop) => (a1, stop),
            None => (0, a1),
        };
        let step = NonZeroI32::new(step).ok_or_else(|| {
            starlark::Error::new_other(anyhow::anyhow!(
                "Third argument of range (step) cannot be zero"
            ))
        })?;
        // Both distance and step taken positive (as u64, so `i32::MIN` fits).
        let (distance, stride) = match step.get() {
            step if step > 0 => (i64::from(stop) - i64::from(start), i64::from(step)),
            step => (i64::from(start) - i64::from(stop), -i64::from(step)),
        };
        let length = (distance.max(0) as u64).div_ceil(stride as u64);
        if length > MAX_RANGE {
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "{RANGE_START} has {length} elements, and a check goes through at most {MAX_RANGE}: a loop over it would not finish in time, a list of it would not fit in memory"
            )));
        }
        Ok(Range::new(start, stop, step))
    }
}

/// As starlark says it of an attribute or method a value does not have.
fn no_attr(receiver: Value, name: &str) -> starlark::Error {
    ValueError::NoAttr(receiver.get_type().to_owned(), name.to_owned()).into()
}

/// Calls `method`, the method `name` of `receiver`, with `positional` and the named arguments
/// of `args`: refused first when its result on a string would pass the budget.
fn call_sized<'v>(
    receiver: Value<'v>,
    name: &str,
    method: Value<'v>,
    positional: Vec<Value<'v>>,
    args: &Arguments<'v, '_>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let named = args.names_map()?;
    if let Some(text) = receiver.unpack_str()
        && let Some(bytes) = method_result_bytes(text, name, &positional, &named)
    {
        make_room(eval.heap(), bytes)?;
    }
    let named: Vec<(&str, Value<'v>)> = named
        .iter()
        .map(|(key, value)| (key.as_str(), *value))
        .collect();
    eval.eval_function(method, &positional, &named)
}

/// `method`, the attribute `name` of `receiver`, as a value: a [`SizedMethod`] when it is
/// one of [`GUARDED_METHODS`] of a string, itself otherwise.
fn sized<'v>(
    receiver: Value<'v>,
    name: StringValue<'v>,
    method: Value<'v>,
    heap: Heap<'v>,
) -> Value<'v> {
    if receiver.unpack_str().is_some() && GUARDED_METHODS.contains(&name.as_str()) {
        heap.alloc(SizedMethod {
            receiver,
            name: name.to_value(),
            method,
        })
    } else {
        method
    }
}

/// A string method of [`GUARDED_METHODS`] taken as a value (`f = s.replace`,
/// `getattr(s, "join")`): called, it is sized first as the call `s.replace(...)` is.
#[derive(Clone, Debug, Trace, Coerce, Freeze, NoSerialize, ProvidesStaticType, Allocative)]
#[repr(C)]
pub(crate) struct SizedMethodGen<V: ValueLifetimeless> {
    receiver: V,
    name: V,
    /// The bound method starlark makes of `receiver.name`.
    method: V,
}

starlark_complex_value!(pub(crate) SizedMethod);

impl<V: ValueLifetimeless> Display for SizedMethodGen<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Display::fmt(&self.method, f)
    }
}

#[starlark_value(type = "function")]
impl<'v, V: ValueLike<'v>> StarlarkValue<'v> for SizedMethodGen<V>
where
    Self: ProvidesStaticType<'v>,
{
    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let positional = args.positions(eval.heap())?.collect();
        let name = self.name.to_value().unpack_str().unwrap_or_default();
        call_sized(
            self.receiver.to_value(),
            name,
            self.method.to_value(),
            positional,
            args,
            eval,
        )
    }
}

/// The start of the error message of a `range` past [`MAX_RANGE`].
pub(crate) const RANGE_START: &str = "this range";

/// What the error says when values grew past the budget step by step.
pub(crate) const GROWTH: &str = "the values made so far take more";

/// The error that stops an evaluation past the budget; `bytes`, when known, is what the
/// refused value would have taken.
pub(crate) fn exceeded(bytes: Option<u64>) -> starlark::Error {
    let what = match bytes {
        // A size past what could be counted, or counted only until it passed the budget.
        Some(u64::MAX) => "this value would take more".to_owned(),
        Some(bytes) => format!("this value would take {}", mebibytes(bytes)),
        None => GROWTH.to_owned(),
    };
    starlark::Error::new_other(anyhow::anyhow!(
        "{MESSAGE_START}: {what}, and an evaluation may use {}",
        mebibytes(MEMORY_BUDGET as u64)
    ))
}

fn mebibytes(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1 << 20))
}

/// starlark's own `int`, which [`register`]'s `int` calls once the text is small enough.
fn standard_int() -> FrozenValue {
    static STANDARD: OnceLock<Option<FrozenValue>> = OnceLock::new();
    static GLOBALS: OnceLock<Globals> = OnceLock::new();
    let globals = GLOBALS.get_or_init(Globals::standard);
    STANDARD
        .get_or_init(|| {
            globals
                .iter()
                .find_map(|(name, value)| (name == "int").then_some(value))
        })
        .unwrap_or_else(FrozenValue::new_none)
}

/// The bytes a plan step keeps: its JSON (what the report holds of it) and the struct around
/// it. The plan lives outside starlark's heap, through the evaluation and after it, so its
/// steps have a budget of their own: 200 services given one shared 10 MB dict of environment
/// variables are one dict on the heap but 2 GB of steps. Refuses a step past `room`, counting
/// it only until it passes.
pub(crate) fn charge_step(step: &Step, room: u64) -> starlark::Result<u64> {
    /// Counts what is written, and fails once past `room` (serde_json stops there).
    struct Counter {
        written: u64,
        room: u64,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.written = self.written.saturating_add(bytes.len() as u64);
            if self.written > self.room {
                return Err(std::io::ErrorKind::OutOfMemory.into());
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter {
        written: std::mem::size_of::<Step>() as u64,
        room,
    };
    if counter.written > room || serde_json::to_writer(&mut counter, step).is_err() {
        return Err(starlark::Error::new_other(anyhow::anyhow!(
            "{MESSAGE_START}: the plan's steps would take more than {}, and a check keeps at most that much of them",
            mebibytes(MEMORY_BUDGET as u64)
        )));
    }
    Ok(counter.written)
}

/// Refuses a step that would make a value of `bytes` where the heap has no room for it.
pub(crate) fn make_room(heap: Heap, bytes: u64) -> starlark::Result<()> {
    if (heap.allocated_bytes() as u64).saturating_add(bytes) > MEMORY_BUDGET as u64 {
        return Err(exceeded(Some(bytes)));
    }
    Ok(())
}

/// At least the size of `format % values`: the format and what its conversions print of the
/// values (a tuple's elements once each, a dict's values once per conversion).
pub(crate) fn percent_result_bytes(format: &str, values: Value) -> u64 {
    let limit = MEMORY_BUDGET as u64;
    let printed = if let Some(tuple) = TupleRef::from_value(values) {
        tuple.content().iter().fold(0, |sum: u64, value| {
            sum.saturating_add(rendered_bytes(*value, limit))
        })
    } else if let Some(dict) = DictRef::from_value(values) {
        let widest = dict
            .values()
            .map(|value| rendered_bytes(value, limit))
            .max()
            .unwrap_or(0);
        (format.matches('%').count() as u64).saturating_mul(widest)
    } else {
        rendered_bytes(values, limit)
    };
    (format.len() as u64).saturating_add(printed)
}

/// `true` when the values of this evaluation (its heap, and those of the modules it
/// imported, `settled`) take more than the budget.
pub(crate) fn over_budget(eval: &Evaluator<'_, '_, '_>, settled: usize) -> bool {
    eval.heap().allocated_bytes().saturating_add(settled) > MEMORY_BUDGET
}

/// The size of the product of two ints, when one is big (two small ints make at most a
/// 64-bit one: the common case, answered first).
fn int_product_bytes(lhs: Value, rhs: Value) -> Option<u64> {
    if lhs.unpack_i32().is_some() && rhs.unpack_i32().is_some() {
        return None;
    }
    Some(int_bytes(lhs)?.saturating_add(int_bytes(rhs)?))
}

/// The bytes one list or tuple element takes on a 64-bit host. Counted the same in
/// WebAssembly (4-byte values), so the browser refuses exactly what the command line does.
const VALUE_BYTES: u64 = 8;

/// The size of `sequence` repeated `times` times, if it is a string, list or tuple; `u64::MAX`
/// stands for more than memory holds. The elements of a list or tuple are charged as if each
/// repetition copied them, strings by their length and lists and tuples by their own
/// elements: `["a" * 1000000] * 1000` is small on the heap (one string shared a thousand
/// times), yet one `join` or `str` of it makes a gigabyte in a step nothing can interrupt.
fn repetition_bytes(sequence: Value, times: Value) -> Option<u64> {
    let item_bytes = if let Some(text) = sequence.unpack_str() {
        text.len() as u64
    } else if let Some(list) = ListRef::from_value(sequence) {
        elements_bytes(list.content())
    } else {
        elements_bytes(TupleRef::from_value(sequence)?.content())
    };
    let times = match times.unpack_i32() {
        Some(times) => u64::try_from(times).unwrap_or(0),
        // A count past i32 is a big int: only a negative one makes an empty result.
        None => match BigInt::unpack_value(times).ok()?? {
            negative if negative.sign() == num_bigint::Sign::Minus => 0,
            _ => u64::MAX,
        },
    };
    Some(item_bytes.saturating_mul(times))
}

/// The bytes of a list's or tuple's elements, each with what it holds one level down.
fn elements_bytes(elements: &[Value]) -> u64 {
    elements.iter().fold(0, |sum: u64, element| {
        let held = if let Some(text) = element.unpack_str() {
            text.len()
        } else if let Some(list) = ListRef::from_value(*element) {
            list.len() * VALUE_BYTES as usize
        } else if let Some(tuple) = TupleRef::from_value(*element) {
            tuple.len() * VALUE_BYTES as usize
        } else {
            0
        };
        sum.saturating_add(VALUE_BYTES).saturating_add(held as u64)
    })
}

/// The bytes an int takes, if it is one.
fn int_bytes(value: Value) -> Option<u64> {
    match value.unpack_i32() {
        Some(_) => Some(size_of::<i32>() as u64),
        None => BigInt::unpack_value(value)
            .ok()?
            .map(|big| big.bits().div_ceil(8)),
    }
}

/// What a list element that is a new string takes beyond its text: the list's slot and the
/// string's header, rounded up.
const PIECE_BYTES: u64 = 32;

/// The size of what the string method `name` makes of `text` with these arguments, when it can
/// be larger than them; `None` for a call that makes nothing larger (or fails).
fn method_result_bytes<'v>(
    text: &str,
    name: &str,
    positional: &[Value<'v>],
    named: &SmallMap<StringValue<'v>, Value<'v>>,
) -> Option<u64> {
    let argument = |index: usize, key: &str| {
        positional.get(index).copied().or_else(|| {
            named
                .iter()
                .find(|(name, _)| name.as_str() == key)
                .map(|(_, value)| *value)
        })
    };
    let limit = |index: usize, key: &str| {
        argument(index, key)
            .and_then(|count| count.unpack_i32())
            .and_then(|count| u64::try_from(count).ok())
            .map_or(u64::MAX, |count| count.saturating_add(1))
    };
    let length = text.len() as u64;
    match name {
        "replace" => {
            let old = argument(0, "old")?.unpack_str()?;
            let new = argument(1, "new")?.unpack_str()?;
            if new.len() <= old.len() {
                return None;
            }
            let found = if old.is_empty() {
                text.chars().count() as u64 + 1
            } else {
                text.matches(old).count() as u64
            };
            let replaced = found.min(limit(2, "count").saturating_sub(1));
            Some(length.saturating_add(replaced.saturating_mul((new.len() - old.len()) as u64)))
        }
        "join" => {
            let joined = argument(0, "to_join")?;
            let elements = match ListRef::from_value(joined) {
                Some(list) => list.content(),
                None => TupleRef::from_value(joined)?.content(),
            };
            let texts = elements.iter().fold(0u64, |sum, element| {
                sum.saturating_add(element.unpack_str().map_or(0, |text| text.len() as u64))
            });
            let separators = (elements.len() as u64).saturating_sub(1);
            Some(texts.saturating_add(separators.saturating_mul(length)))
        }
        "format" => {
            let fields = text.matches('{').count() as u64;
            let widest = positional
                .iter()
                .chain(named.values())
                .map(|value| rendered_bytes(*value, MEMORY_BUDGET as u64))
                .max()?;
            Some(length.saturating_add(fields.saturating_mul(widest)))
        }
        "split" | "rsplit" => {
            let pieces = match argument(0, "sep").and_then(|sep| sep.unpack_str()) {
                Some(sep) if !sep.is_empty() => text.matches(sep).count() as u64 + 1,
                _ => text.split_whitespace().count() as u64,
            };
            Some(pieces_bytes(pieces.min(limit(1, "maxsplit")), length))
        }
        "splitlines" => Some(pieces_bytes(text.lines().count() as u64, length)),
        // What a list of the characters would take.
        "elems" | "codepoints" => Some(pieces_bytes(text.chars().count() as u64, length)),
        _ => None,
    }
}

fn pieces_bytes(pieces: u64, text_bytes: u64) -> u64 {
    pieces
        .saturating_mul(PIECE_BYTES)
        .saturating_add(text_bytes)
}

/// At least the length of `str(value)`, or `u64::MAX` once that passes `limit`: what
/// formatting the value makes. A value shared many times is counted each time, as printing it repeats it; a list
/// that holds itself is printed once, as `[...]`.
pub(crate) fn rendered_bytes(value: Value, limit: u64) -> u64 {
    /// What a container prints around each of its elements (`, `, `: `).
    const SEPARATOR_BYTES: u64 = 2;
    /// A container being printed and the elements it has not printed yet.
    struct Open<'v> {
        identity: ValueIdentity<'v>,
        rest: Vec<Value<'v>>,
    }
    fn children(value: Value) -> Option<Vec<Value>> {
        if let Some(list) = ListRef::from_value(value) {
            Some(list.content().to_vec())
        } else if let Some(tuple) = TupleRef::from_value(value) {
            Some(tuple.content().to_vec())
        } else if let Some(dict) = DictRef::from_value(value) {
            Some(dict.iter().flat_map(|(key, value)| [key, value]).collect())
        } else {
            StructRef::from_value(value).map(|fields| {
                fields
                    .iter()
                    .flat_map(|(name, value)| [name.to_value(), value])
                    .collect()
            })
        }
    }
    let mut bytes = 0u64;
    let mut open: Vec<Open> = Vec::new();
    // The identities in `open`, so that a value a million levels deep is looked up at once.
    let mut open_identities = HashSet::new();
    let mut next = Some(value);
    while bytes <= limit {
        let Some(value) = next.take().or_else(|| {
            while let Some(top) = open.last_mut() {
                if let Some(value) = top.rest.pop() {
                    return Some(value);
                }
                open_identities.remove(&top.identity);
                open.pop();
            }
            None
        }) else {
            break;
        };
        bytes = bytes.saturating_add(SEPARATOR_BYTES);
        let identity = value.identity();
        if open_identities.contains(&identity) {
            continue;
        }
        if let Some(text) = value.unpack_str() {
            bytes = bytes.saturating_add(text.len() as u64);
        } else if let Some(mut rest) = children(value) {
            rest.reverse();
            open_identities.insert(identity);
            open.push(Open { identity, rest });
        } else {
            bytes = bytes.saturating_add(int_bytes(value).map_or(8, |size| size * 3));
        }
    }
    if bytes > limit { u64::MAX } else { bytes }
}
