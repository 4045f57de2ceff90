//! Starlark values for Kurtosis's predeclared types, the `plan` object and stand-ins.
//!
//! Kurtosis objects hold plain Rust data (the plan's types), so they freeze and cross module
//! boundaries like any simple value; attributes are read back through serde.

use std::fmt::{self, Display};

use allocative::Allocative;
use serde::Serialize;
use starlark::any::ProvidesStaticType;
use starlark::eval::{Arguments, Evaluator};
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::structs::StructRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, NoSerialize, StarlarkValue, Value, ValueLike, starlark_value};

use super::args::BuiltinDef;
use super::session::Place;

/// Where a Kurtosis object was constructed, with the span of each argument given, so later
/// checks (at `add_service`) can point back at `flake_location_dir=...`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origin {
    pub call: Place,
    pub args: Vec<(&'static str, crate::text::Span)>,
}

impl Origin {
    /// The place of argument `name`, or of the whole call.
    pub fn arg(&self, name: &str) -> Place {
        let span = self
            .args
            .iter()
            .find(|(arg, _)| *arg == name)
            .map_or(self.call.span, |(_, span)| *span);
        Place {
            file: self.call.file.clone(),
            span,
        }
    }
}

/// Reads field `attribute` of `data` as a Starlark value.
pub(crate) fn json_attr<'v>(
    data: &impl Serialize,
    attribute: &str,
    heap: Heap<'v>,
) -> Option<Value<'v>> {
    match serde_json::to_value(data).ok()? {
        serde_json::Value::Object(mut fields) => {
            fields.remove(attribute).map(|value| heap.alloc(value))
        }
        _ => None,
    }
}

pub(crate) fn json_attr_names(data: &impl Serialize) -> Vec<String> {
    match serde_json::to_value(data) {
        Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn write_constructor(
    f: &mut fmt::Formatter<'_>,
    type_name: &str,
    data: &impl Serialize,
) -> fmt::Result {
    write!(f, "{type_name}(")?;
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(data) {
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{name}={value}")?;
        }
    }
    write!(f, ")")
}

/// Declares the Starlark value of one Kurtosis type over a serializable Rust type.
macro_rules! kurtosis_type {
    ($(#[$doc:meta])* $value:ident, $type_name:literal, $data:ty) => {
        $(#[$doc])*
        #[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
        pub(crate) struct $value {
            #[allocative(skip)]
            pub data: $data,
            #[allocative(skip)]
            pub origin: Origin,
        }

        starlark_simple_value!($value);

        impl Display for $value {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                $crate::eval::values::write_constructor(f, $type_name, &self.data)
            }
        }

        #[starlark_value(type = $type_name)]
        impl<'v> StarlarkValue<'v> for $value {
            fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
                $crate::eval::values::json_attr(&self.data, attribute, heap)
            }

            fn dir_attr(&self) -> Vec<String> {
                $crate::eval::values::json_attr_names(&self.data)
            }
        }
    };
}
pub(crate) use kurtosis_type;

/// The stand-in for anything that cannot be known here (a module of a package that is not
/// available locally): every operation on it succeeds and yields another stand-in, so one
/// missing dependency never cascades into false errors.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct Unknown;

starlark_simple_value!(Unknown);

/// How a stand-in shows in text (`str(x)`, `"{}".format(x)`).
const UNKNOWN_TEXT: &str = "<unknown>";

/// Whether text was made from a stand-in, so that it is unknown too.
fn is_unknown_text(text: &str) -> bool {
    text.contains(UNKNOWN_TEXT)
}

impl Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(UNKNOWN_TEXT)
    }
}

/// How starlark's error messages name the type of a stand-in that was an operand.
pub(crate) const UNKNOWN_TYPE_IN_MESSAGE: &str = "`unknown";

#[starlark_value(type = "unknown")]
impl<'v> StarlarkValue<'v> for Unknown {
    fn get_attr(&self, _attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Unknown))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }

    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        // A function we cannot see that gets the plan may add services and files artifacts.
        let gets_plan = args
            .positions(eval.heap())
            .map(|mut values| values.any(is_plan))
            .unwrap_or(false)
            || args
                .names_map()
                .map(|named| named.values().any(|value| is_plan(*value)))
                .unwrap_or(false);
        if gets_plan {
            super::session::Session::of(eval).state.borrow_mut().opaque = true;
        }
        Ok(eval.heap().alloc(Unknown))
    }

    fn at(&self, _index: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        note_stand_in_shape();
        Ok(heap.alloc(Unknown))
    }

    fn iterate_collect(&self, _heap: Heap<'v>) -> starlark::Result<Vec<Value<'v>>> {
        note_stand_in_shape();
        Ok(Vec::new())
    }

    fn set_at(&self, _index: Value<'v>, _new_value: Value<'v>) -> starlark::Result<()> {
        Ok(())
    }

    fn length(&self) -> starlark::Result<i32> {
        note_stand_in_shape();
        Ok(0)
    }

    fn is_in(&self, _other: Value<'v>) -> starlark::Result<bool> {
        note_stand_in_shape();
        Ok(false)
    }

    fn add(&self, _rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Unknown)))
    }

    fn radd(&self, _lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Unknown)))
    }

    fn sub(&self, _other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Unknown))
    }

    fn mul(&self, _rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Unknown)))
    }

    fn rmul(&self, _lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Unknown)))
    }

    fn percent(&self, _other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Unknown))
    }

    fn div(&self, _other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Unknown))
    }

    fn floor_div(&self, _other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Unknown))
    }

    fn to_bool(&self) -> bool {
        note_stand_in_shape();
        true
    }

    fn equals(&self, _other: Value<'v>) -> starlark::Result<bool> {
        note_stand_in_shape();
        Ok(false)
    }

    fn compare(&self, _other: Value<'v>) -> starlark::Result<std::cmp::Ordering> {
        note_stand_in_shape();
        Ok(std::cmp::Ordering::Equal)
    }

    fn write_hash(
        &self,
        hasher: &mut starlark::collections::StarlarkHasher,
    ) -> starlark::Result<()> {
        // Any stand-in may be a dict key or a set member.
        std::hash::Hash::hash("<unknown>", hasher);
        Ok(())
    }
}

thread_local! {
    /// Whether a stand-in decided the shape of data or the control flow of this evaluation
    /// (its length, items, truth or order was asked for): later failures may be artefacts.
    static STAND_IN_SHAPED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub(crate) fn note_stand_in_shape() {
    STAND_IN_SHAPED.with(|shaped| shaped.set(true));
}

/// Whether a stand-in has shaped data or control flow since [`reset_stand_in_shape`].
pub(crate) fn stand_in_shaped() -> bool {
    STAND_IN_SHAPED.with(std::cell::Cell::get)
}

/// Starts a new evaluation with no stand-in having shaped it.
pub(crate) fn reset_stand_in_shape() {
    STAND_IN_SHAPED.with(|shaped| shaped.set(false));
}

/// Whether a value is a stand-in, or text made from one.
pub(crate) fn is_unknown(value: Value) -> bool {
    value.downcast_ref::<Unknown>().is_some() || value.unpack_str().is_some_and(is_unknown_text)
}

/// Whether a value is or holds a stand-in.
pub(crate) fn contains_unknown(value: Value) -> bool {
    if is_unknown(value) {
        return true;
    }
    if let Some(list) = ListRef::from_value(value) {
        return list.content().iter().any(|item| contains_unknown(*item));
    }
    if let Some(tuple) = TupleRef::from_value(value) {
        return tuple.content().iter().any(|item| contains_unknown(*item));
    }
    if let Some(dict) = DictRef::from_value(value) {
        return dict
            .iter()
            .any(|(key, item)| contains_unknown(key) || contains_unknown(item));
    }
    if let Some(fields) = StructRef::from_value(value) {
        return fields.iter().any(|(_, item)| contains_unknown(item));
    }
    false
}

pub(crate) fn is_plan(value: Value) -> bool {
    value.downcast_ref::<PlanObject>().is_some()
}

/// A Kurtosis builtin function or type constructor (`ServiceConfig`, `import_module`, ...).
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct Builtin {
    #[allocative(skip)]
    pub def: &'static BuiltinDef,
}

starlark_simple_value!(Builtin);

impl Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<built-in function {}>", self.def.name)
    }
}

#[starlark_value(type = "builtin_function_or_method")]
impl<'v> StarlarkValue<'v> for Builtin {
    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        super::args::invoke(self.def, args, eval)
    }
}

/// The `plan` object passed to `run`; its attributes are the instructions.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct PlanObject;

starlark_simple_value!(PlanObject);

impl Display for PlanObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<plan>")
    }
}

#[starlark_value(type = "plan")]
impl<'v> StarlarkValue<'v> for PlanObject {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        super::builtins::instruction(attribute).map(|def| heap.alloc(Builtin { def }))
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        super::builtins::instruction(attribute).is_some()
    }

    fn dir_attr(&self) -> Vec<String> {
        super::builtins::INSTRUCTIONS
            .iter()
            .map(|def| def.name.to_owned())
            .collect()
    }
}
