//! How deeply a value nests, measured without recursion.
//!
//! starlark-rust freezes and prints values recursively, one stack frame per level, so a list
//! nested a million levels deep (built in a loop, `x = [x]`, within the memory budget)
//! overflows the stack: an abort natively, a trap in WebAssembly. A module's values are
//! measured before it is frozen ([`too_deep`]), so that such a value is a diagnostic instead.

use std::collections::HashMap;

use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::structs::StructRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{Value, ValueIdentity};

/// `true` when some path from `value` into the lists, tuples, dicts and structs it holds is
/// longer than `limit` containers.
///
/// A depth-first walk with an explicit stack; the height of every container walked is kept,
/// so that one reached again through another path (values are shared, not copied) is judged
/// by the depth it is reached at plus its height, and walked once. A container that holds
/// itself counts as a leaf where it recurs, as `repr` prints it as `[...]`.
pub(crate) fn too_deep(value: Value, limit: usize) -> bool {
    enum Step<'v> {
        Enter(Value<'v>, usize),
        Leave(Value<'v>),
    }
    // `None` while the container is being walked.
    let mut heights: HashMap<ValueIdentity, Option<usize>> = HashMap::new();
    let mut steps = vec![Step::Enter(value, 1)];
    let mut children = Vec::new();
    while let Some(step) = steps.pop() {
        match step {
            Step::Enter(value, depth) => {
                match heights.get(&value.identity()) {
                    Some(Some(height)) if depth - 1 + height > limit => return true,
                    Some(_) => continue,
                    None => {}
                }
                children.clear();
                if !contents(value, &mut children) {
                    continue;
                }
                if depth > limit {
                    return true;
                }
                heights.insert(value.identity(), None);
                steps.push(Step::Leave(value));
                steps.extend(
                    children
                        .drain(..)
                        .map(|child| Step::Enter(child, depth + 1)),
                );
            }
            Step::Leave(value) => {
                children.clear();
                contents(value, &mut children);
                let height = 1 + children
                    .iter()
                    .filter_map(|child| heights.get(&child.identity()).copied().flatten())
                    .max()
                    .unwrap_or(0);
                heights.insert(value.identity(), Some(height));
            }
        }
    }
    false
}

/// Pushes the values `value` holds onto `into`, if it is a container; `false` if it is not.
fn contents<'v>(value: Value<'v>, into: &mut Vec<Value<'v>>) -> bool {
    let holds = |child: &Value| child.unpack_str().is_none() && child.unpack_i32().is_none();
    if let Some(list) = ListRef::from_value(value) {
        into.extend(list.content().iter().filter(|child| holds(child)));
    } else if let Some(tuple) = TupleRef::from_value(value) {
        into.extend(tuple.content().iter().filter(|child| holds(child)));
    } else if let Some(dict) = DictRef::from_value(value) {
        for (key, item) in dict.iter() {
            into.extend([key, item].into_iter().filter(holds));
        }
    } else if let Some(fields) = StructRef::from_value(value) {
        into.extend(fields.iter().map(|(_, item)| item).filter(holds));
    } else {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use starlark::environment::{Globals, LibraryExtension, Module};
    use starlark::eval::Evaluator;
    use starlark::syntax::{AstModule, Dialect};

    use super::too_deep;

    /// Whether the value of the last expression of `program` nests deeper than `limit`.
    fn deeper(program: &str, limit: usize) -> bool {
        Module::with_temp_heap(|module| {
            let ast = AstModule::parse("t.star", program.to_owned(), &Dialect::Extended).unwrap();
            let mut eval = Evaluator::new(&module);
            let globals = Globals::extended_by(&[LibraryExtension::StructType]);
            let value = eval.eval_module(ast, &globals).unwrap();
            too_deep(value, limit)
        })
    }

    #[test]
    fn counts_the_containers_on_the_longest_path() {
        assert!(!deeper("[[1], 2]", 2));
        assert!(deeper("[[[1]], 2]", 2));
        assert!(!deeper("({'a': [1]},)", 3));
        assert!(deeper("({'a': [[]]},)", 3));
        assert!(deeper("[struct(a = struct(b = [1]))]", 3));
        assert!(!deeper("'a string' ", 0) && !deeper("7", 0));
    }

    #[test]
    fn a_shared_container_reached_deeper_later_still_counts() {
        // `shared` is 3 deep; reached first from the top (depth 2), then from under `wrap`
        // (depth 5): the longest path is 7.
        let program = "shared = [[[1]]]\nwrap = [[[shared]]]\n[shared, wrap]";
        assert!(!deeper(program, 7));
        assert!(deeper(program, 6));
    }

    #[test]
    fn a_million_levels_are_measured_without_recursion() {
        let program = "def deep():\n    x = []\n    for i in range(1000000):\n        x = [x]\n    return x\ndeep()";
        assert!(deeper(program, 1000));
    }

    #[test]
    fn a_list_holding_itself_is_not_endless() {
        assert!(!deeper("x = [1]\nx.append(x)\nx", 3));
    }
}
