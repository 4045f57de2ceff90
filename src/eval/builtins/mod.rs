//! Kurtosis's predeclared names: type constructors, helpers and `plan.*` instructions.

mod helpers;
mod images;
mod instructions;
mod types;

use starlark::environment::GlobalsBuilder;
use starlark::values::Value;

use super::args::BuiltinDef;
use super::values::Builtin;

/// Global builtins, in the order Kurtosis lists them.
static GLOBALS: &[&BuiltinDef] = &[
    &helpers::IMPORT_MODULE,
    &helpers::READ_FILE,
    &helpers::PRINT,
    &types::PORT_SPEC,
    &types::SERVICE_CONFIG,
    &types::NIX_BUILD_SPEC,
    &types::IMAGE_BUILD_SPEC,
    &types::IMAGE_SPEC,
];

/// The `plan.*` instructions.
pub(crate) static INSTRUCTIONS: &[&BuiltinDef] =
    &[&instructions::ADD_SERVICE, &instructions::PRINT];

pub const GLOBAL_NAMES: &[&str] = &[
    "import_module",
    "read_file",
    "print",
    "PortSpec",
    "ServiceConfig",
    "NixBuildSpec",
    "ImageBuildSpec",
    "ImageSpec",
];

pub const INSTRUCTION_NAMES: &[&str] = &["add_service", "print"];

pub(crate) fn instruction(name: &str) -> Option<&'static BuiltinDef> {
    INSTRUCTIONS.iter().copied().find(|def| def.name == name)
}

pub(crate) fn register(builder: &mut GlobalsBuilder) {
    for &def in GLOBALS {
        builder.set(def.name, Builtin { def });
    }
}

/// The fields of a Kurtosis object as JSON, for values that end up in the plan.
pub(crate) fn object_json(value: Value) -> Option<serde_json::Value> {
    types::object_json(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists_match_the_tables() {
        let globals: Vec<&str> = GLOBALS.iter().map(|def| def.name).collect();
        let instructions: Vec<&str> = INSTRUCTIONS.iter().map(|def| def.name).collect();
        assert_eq!(globals, GLOBAL_NAMES);
        assert_eq!(instructions, INSTRUCTION_NAMES);
    }
}
