//! Kurtosis's builtins as data: the very table that binds arguments, so the editor's hover,
//! completion and signature help, and the playground, describe exactly what is checked.

use serde::Serialize;

use crate::eval::{BuiltinDef, DESCRIPTION, INSTRUCTION_DEFS, Param, global_defs};

/// Whether a builtin is a predeclared global or a `plan.*` instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuiltinKind {
    Global,
    Instruction,
}

/// One parameter, in positional order.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ParamInfo {
    pub name: &'static str,
    pub required: bool,
    /// The Starlark types it accepts, as written in documentation.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// What Kurtosis really uses when it is left out, when that is a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<&'static str>,
    /// Markdown.
    pub doc: &'static str,
}

/// One builtin with its parameters in declaration (positional) order.
#[derive(Clone, Debug, Serialize)]
pub struct BuiltinInfo {
    pub name: &'static str,
    pub kind: BuiltinKind,
    pub params: Vec<ParamInfo>,
    /// Accepts any arguments (only `print`, which always fails in Kurtosis).
    pub variadic: bool,
    /// Its return type's name.
    pub returns: &'static str,
    /// Markdown.
    pub doc: &'static str,
}

impl BuiltinInfo {
    /// `plan.add_service` or `ServiceConfig`, as written in a package.
    pub fn qualified_name(&self) -> String {
        match self.kind {
            BuiltinKind::Global => self.name.to_owned(),
            BuiltinKind::Instruction => format!("plan.{}", self.name),
        }
    }

    pub fn param(&self, name: &str) -> Option<&ParamInfo> {
        self.params.iter().find(|param| param.name == name)
    }

    /// Every parameter a call may name: the builtin's own, then the `description` Kurtosis
    /// adds to all of them (positionally too, after the last).
    pub fn all_params(&self) -> impl Iterator<Item = &ParamInfo> {
        let description = (!self.variadic).then_some(&DESCRIPTION_PARAM);
        self.params.iter().chain(description)
    }
}

/// The optional argument Kurtosis adds to every builtin but `print`.
pub const DESCRIPTION_PARAM: ParamInfo = ParamInfo {
    name: DESCRIPTION,
    required: false,
    ty: "str",
    default: None,
    doc: "What Kurtosis prints for this step instead of its default description.",
};

/// Every global builtin, then every `plan.*` instruction, in the order Kurtosis lists them.
pub fn builtins() -> Vec<BuiltinInfo> {
    let globals = global_defs()
        .iter()
        .map(|def| info(def, BuiltinKind::Global));
    let instructions = INSTRUCTION_DEFS
        .iter()
        .map(|def| info(def, BuiltinKind::Instruction));
    globals.chain(instructions).collect()
}

fn info(def: &BuiltinDef, kind: BuiltinKind) -> BuiltinInfo {
    BuiltinInfo {
        name: def.name,
        kind,
        params: def.params.iter().map(param_info).collect(),
        variadic: def.variadic,
        returns: def.returns,
        doc: def.doc,
    }
}

fn param_info(param: &Param) -> ParamInfo {
    ParamInfo {
        name: param.name,
        required: param.required,
        ty: param.ty,
        default: param.default,
        doc: param.doc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_every_predeclared_global_and_instruction() {
        let table = builtins();
        let globals: Vec<_> = table
            .iter()
            .filter(|info| info.kind == BuiltinKind::Global)
            .map(|info| info.name)
            .collect();
        let instructions: Vec<_> = table
            .iter()
            .filter(|info| info.kind == BuiltinKind::Instruction)
            .map(|info| info.name)
            .collect();
        assert_eq!(globals, crate::GLOBAL_NAMES);
        assert_eq!(instructions, crate::INSTRUCTION_NAMES);
        let add_service = table
            .iter()
            .find(|info| info.qualified_name() == "plan.add_service")
            .unwrap();
        assert!(add_service.param("config").unwrap().required);
    }
}
