//! The memory budget of one evaluation ([`crate::limits::MEMORY_BUDGET`]).
//!
//! starlark-rust makes `[0] * 1000000000` or `'a' * 2000000000` in one step that nothing can
//! interrupt. In every module that multiplies, `*` is rewritten (same spans) to a call of
//! [`TIMES`], which computes the size of the result first and refuses one that would pass the
//! budget (and a product of ints past [`MAX_INT_BYTES`]); `range` refuses more elements than
//! [`MAX_RANGE`], which `list()` or `max()` would go through without a pause. Values that grow
//! step by step are stopped by the heap check before each statement
//! ([`over_budget`]) and every 1000 steps (starlark's own heap limit, set to the same budget).

use num_bigint::BigInt;
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{UnpackValue, Value};

use std::num::NonZeroI32;

use starlark::values::range::Range;

use crate::limits::{MAX_INT_BYTES, MAX_RANGE, MEMORY_BUDGET};

/// The global the `*` operator is rewritten to call.
pub(crate) const TIMES: &str = "_starflake_times";

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
            let used = eval.heap().allocated_bytes() as u64;
            if used.saturating_add(bytes) > MEMORY_BUDGET as u64 {
                return Err(exceeded(Some(bytes)));
            }
        }
        lhs.mul(rhs, eval.heap())
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

/// The start of the error message of a `range` past [`MAX_RANGE`].
pub(crate) const RANGE_START: &str = "this range";

/// What the error says when values grew past the budget step by step.
pub(crate) const GROWTH: &str = "the values made so far take more";

/// The error that stops an evaluation past the budget; `bytes`, when known, is what the
/// refused value would have taken.
pub(crate) fn exceeded(bytes: Option<u64>) -> starlark::Error {
    let what = match bytes {
        Some(bytes) => format!("this value would take {}", mebibytes(bytes)),
        None => GROWTH.to_owned(),
    };
    starlark::Error::new_other(anyhow::anyhow!(
        "{MESSAGE_START}: {what}, and an evaluation may use {}",
        mebibytes(MEMORY_BUDGET as u64)
    ))
}

fn mebibytes(bytes: u64) -> String {
    match bytes {
        u64::MAX => "more memory than there is".to_owned(),
        bytes => format!("{} MiB", bytes.div_ceil(1 << 20)),
    }
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
