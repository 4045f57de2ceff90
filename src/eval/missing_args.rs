//! The package arguments when none were given (an editor, the playground, `starflake check`
//! without `--args`): what `run` reads from them is unknown rather than an error, so the rest
//! of the package is still checked, and one warning names what the package reads.

use std::fmt::{self, Display};
use std::sync::{Arc, Mutex};

use allocative::Allocative;
use starlark::any::ProvidesStaticType;
use starlark::environment::{Methods, MethodsBuilder};
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::none::NoneType;
use starlark::values::{Heap, NoSerialize, StarlarkValue, Value, ValueLike, starlark_value};

use super::values::{Unknown, note_stand_in_shape};

/// The `args` dict of `run(plan, args)` when no arguments were given. It behaves as the empty
/// dict Kurtosis passes, except that a key it lacks is unknown instead of an error.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct ArgsNotGiven {
    /// Keys read whose values are unknown, in the order first read; shared with the caller,
    /// which reads them once the evaluation (and its heap) is gone.
    #[allocative(skip)]
    unknown_keys: Arc<Mutex<Vec<String>>>,
}

starlark_simple_value!(ArgsNotGiven);

impl ArgsNotGiven {
    pub fn new(unknown_keys: Arc<Mutex<Vec<String>>>) -> Self {
        ArgsNotGiven { unknown_keys }
    }

    fn read_unknown<'v>(&self, key: Value<'v>, heap: Heap<'v>) -> Value<'v> {
        let key = key
            .unpack_str()
            .map_or_else(|| key.to_repr(), str::to_owned);
        if let Ok(mut keys) = self.unknown_keys.lock()
            && !keys.contains(&key)
        {
            keys.push(key);
        }
        heap.alloc(Unknown)
    }
}

impl Display for ArgsNotGiven {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{}}")
    }
}

#[starlark_value(type = "dict")]
impl<'v> StarlarkValue<'v> for ArgsNotGiven {
    fn get_methods() -> Option<&'static Methods> {
        static METHODS: starlark::environment::MethodsStatic =
            starlark::environment::MethodsStatic::new("ArgsNotGiven", args_methods);
        Some(METHODS.methods())
    }

    fn at(&self, index: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(self.read_unknown(index, heap))
    }

    /// As in Kurtosis, no key is there; a branch taken on it may lead to failures that
    /// arguments would avoid.
    fn is_in(&self, _other: Value<'v>) -> starlark::Result<bool> {
        note_stand_in_shape();
        Ok(false)
    }

    fn iterate_collect(&self, _heap: Heap<'v>) -> starlark::Result<Vec<Value<'v>>> {
        Ok(Vec::new())
    }

    fn length(&self) -> starlark::Result<i32> {
        Ok(0)
    }

    fn to_bool(&self) -> bool {
        false
    }

    fn bit_or(&self, _other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Unknown))
    }
}

/// Whether a default passed to `args.get` only stands for "the caller fills this in": `None`
/// or an empty collection, which the package can only index into with an error.
fn is_placeholder_default(default: Value) -> bool {
    default.is_none()
        || DictRef::from_value(default).is_some_and(|dict| dict.is_empty())
        || ListRef::from_value(default).is_some_and(|list| list.is_empty())
}

#[starlark_module]
fn args_methods(builder: &mut MethodsBuilder) {
    /// A key's default is what Kurtosis uses without arguments, so it is checked as such;
    /// a placeholder default (`None`, `{}`, `[]`) is unknown instead.
    fn get<'v>(
        this: Value<'v>,
        #[starlark(require = pos)] key: Value<'v>,
        #[starlark(require = pos, default = NoneType)] default: Value<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        Ok(lookup(this, key, default, heap))
    }

    fn pop<'v>(
        this: Value<'v>,
        #[starlark(require = pos)] key: Value<'v>,
        #[starlark(require = pos, default = NoneType)] default: Value<'v>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        Ok(lookup(this, key, default, heap))
    }

    fn keys<'v>(this: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        let _ = this;
        Ok(heap.alloc(AllocList::EMPTY))
    }

    fn values<'v>(this: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        let _ = this;
        Ok(heap.alloc(AllocList::EMPTY))
    }

    fn items<'v>(this: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        let _ = this;
        Ok(heap.alloc(AllocList::EMPTY))
    }
}

fn lookup<'v>(this: Value<'v>, key: Value<'v>, default: Value<'v>, heap: Heap<'v>) -> Value<'v> {
    match this.downcast_ref::<ArgsNotGiven>() {
        Some(args) if is_placeholder_default(default) => args.read_unknown(key, heap),
        _ => default,
    }
}
