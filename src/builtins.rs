//! Kurtosis's builtins as data: the very table that binds arguments, so the editor's hover,
//! completion and signature help, and the playground, describe exactly what is checked.

use serde::Serialize;

use crate::eval::{BuiltinDef, DESCRIPTION_PARAM, INSTRUCTION_DEFS, Param, global_defs};

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

/// One builtin with its parameters in declaration (positional) order, ending with the
/// `description` Kurtosis adds to every builtin.
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
}

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
        params: def
            .params
            .iter()
            .chain((!def.variadic).then_some(&DESCRIPTION_PARAM))
            .map(param_info)
            .collect(),
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
        assert_eq!(add_service.params.last().unwrap().name, "description");
    }

    /// Fails for any builtin or parameter added without its documentation.
    #[test]
    fn every_builtin_and_parameter_is_documented() {
        let mut problems = Vec::new();
        for builtin in builtins() {
            let name = builtin.qualified_name();
            if builtin.returns.trim().is_empty() {
                problems.push(format!("{name}: no `returns`"));
            }
            check_markdown(&name, builtin.doc, &mut problems);
            for param in &builtin.params {
                let place = format!("{name}({})", param.name);
                if param.ty.trim().is_empty() {
                    problems.push(format!("{place}: no `ty`"));
                }
                check_markdown(&place, param.doc, &mut problems);
                if let Some(default) = param.default {
                    if let Err(error) = eval_literal(default) {
                        problems.push(format!(
                            "{place}: default `{default}` is not a Starlark literal: {error}"
                        ));
                    }
                    if param.required {
                        problems.push(format!("{place}: a required parameter has a default"));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    fn check_markdown(place: &str, doc: &str, problems: &mut Vec<String>) {
        if doc.trim().is_empty() {
            problems.push(format!("{place}: no `doc`"));
        }
        if doc.matches('`').count() % 2 != 0 {
            problems.push(format!("{place}: unbalanced backticks in {doc:?}"));
        }
    }

    /// Evaluates `text` where only `True`, `False` and `None` are defined, so anything but a
    /// literal (a call, a name) fails.
    fn eval_literal(text: &str) -> Result<(), String> {
        use starlark::environment::{GlobalsBuilder, Module};
        use starlark::eval::Evaluator;
        use starlark::syntax::{AstModule, Dialect};
        use starlark::values::none::NoneType;
        let globals = GlobalsBuilder::new()
            .with(|builder| {
                builder.set("True", true);
                builder.set("False", false);
                builder.set("None", NoneType);
            })
            .build();
        let ast = AstModule::parse("default.star", text.to_owned(), &Dialect::Standard)
            .map_err(|error| error.to_string())?;
        Module::with_temp_heap(|module| {
            let mut eval = Evaluator::new(&module);
            eval.eval_module(ast, &globals)
                .map(|_| ())
                .map_err(|error| error.to_string())
        })
    }

    #[test]
    fn default_str_unquotes_string_defaults() {
        // The plan shows a port's wait as the checks read it from the table.
        let port_spec = crate::eval::global_defs()
            .iter()
            .find(|def| def.name == "PortSpec")
            .unwrap();
        assert_eq!(port_spec.default_str("wait"), Some("2m"));
        assert_eq!(port_spec.default_str("number"), None);
    }
}
