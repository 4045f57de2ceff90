//! Kurtosis's builtins as data: the very table that binds arguments, so the editor's hover,
//! completion and signature help, and the playground, describe exactly what is checked. The
//! predeclared modules (`json`, `time`, `kurtosis`) are described from their native definitions.

use serde::Serialize;
use starlark::docs::{DocFunction, DocItem, DocMember, DocParam, DocString};
use starlark::typing::Ty;

use crate::eval::{
    BuiltinDef, DESCRIPTION_PARAM, INSTRUCTION_DEFS, MODULE_DOCS, Param, global_defs,
};

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

/// The default of a builtin's string parameter, unquoted, as the checks use it:
/// `default_str("ServiceConfig", "private_ip_address_placeholder")`.
pub fn default_str(builtin: &str, param: &str) -> Option<&'static str> {
    global_defs()
        .iter()
        .chain(INSTRUCTION_DEFS)
        .find(|def| def.name == builtin)?
        .default_str(param)
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

/// A predeclared module besides the table: `json`, `time`, `kurtosis`.
#[derive(Clone, Debug, Serialize)]
pub struct ModuleInfo {
    pub name: &'static str,
    /// Markdown.
    pub doc: &'static str,
    /// Empty when its members cannot be known (`kurtosis`).
    pub members: Vec<MemberInfo>,
}

/// A function (`json.encode`, `struct`) or a value (`time.second`) outside the table.
#[derive(Clone, Debug, Serialize)]
pub struct MemberInfo {
    pub name: String,
    /// A function's parameters; `None` for a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<MemberParam>>,
    /// A function's return type, or a value's type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Markdown; empty for a value that its module's doc describes.
    pub doc: String,
}

/// How an argument binds to a native function's parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    Positional,
    Either,
    Keyword,
    /// `*args`.
    Args,
    /// `**kwargs`.
    Kwargs,
}

#[derive(Clone, Debug, Serialize)]
pub struct MemberParam {
    pub name: String,
    pub binding: Binding,
    pub required: bool,
    #[serde(rename = "type")]
    pub ty: String,
    /// A Starlark literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    pub doc: String,
}

/// The predeclared modules, described by starlark-rust from their native definitions: the
/// parameters come from the code, the documentation from its doc comments.
pub fn modules() -> Vec<ModuleInfo> {
    let documentation = crate::eval::globals().documentation();
    MODULE_DOCS
        .iter()
        .map(|&(name, doc)| {
            let members = match documentation.members.get(name) {
                Some(DocItem::Module(module)) => module
                    .members
                    .iter()
                    .map(|(name, item)| member_info(name, item))
                    .collect(),
                _ => Vec::new(),
            };
            ModuleInfo { name, doc, members }
        })
        .collect()
}

/// Global functions beyond the table that Kurtosis's Starlark has and plain Starlark lacks
/// (`struct`), or that starflake evaluates differently (`fail`).
pub fn functions() -> Vec<MemberInfo> {
    let documentation = crate::eval::globals().documentation();
    ["struct", "fail"]
        .into_iter()
        .filter_map(|name| Some(member_info(name, documentation.members.get(name)?)))
        .collect()
}

fn member_info(name: &str, item: &DocItem) -> MemberInfo {
    let (params, ty, doc) = match item {
        DocItem::Member(DocMember::Function(function)) => (
            Some(member_params(function)),
            type_name(&function.ret.typ),
            markdown(function.docs.as_ref()),
        ),
        DocItem::Member(DocMember::Property(property)) => (
            None,
            type_name(&property.typ),
            markdown(property.docs.as_ref()),
        ),
        DocItem::Type(ty) => (None, type_name(&ty.ty), markdown(ty.docs.as_ref())),
        DocItem::Module(module) => (None, "module".to_owned(), markdown(module.docs.as_ref())),
    };
    MemberInfo {
        name: name.to_owned(),
        params,
        ty,
        doc,
    }
}

fn member_params(function: &DocFunction) -> Vec<MemberParam> {
    let params = &function.params;
    let regular = |binding: Binding| {
        move |param: &DocParam| MemberParam {
            name: param.name.clone(),
            binding,
            required: param.default_value.is_none(),
            ty: type_name(&param.typ),
            // starlark-rust writes `...` for an optional parameter without a default value.
            default: param.default_value.clone().filter(|value| value != "..."),
            doc: markdown(param.docs.as_ref()),
        }
    };
    let star = |binding: Binding| {
        move |param: &DocParam| MemberParam {
            required: false,
            ..regular(binding)(param)
        }
    };
    params
        .pos_only
        .iter()
        .map(regular(Binding::Positional))
        .chain(params.pos_or_named.iter().map(regular(Binding::Either)))
        .chain(params.args.iter().map(star(Binding::Args)))
        .chain(params.named_only.iter().map(regular(Binding::Keyword)))
        .chain(params.kwargs.iter().map(star(Binding::Kwargs)))
        .collect()
}

/// A type as the table writes it: `any` for what starlark-rust calls `typing.Any`.
fn type_name(ty: &Ty) -> String {
    match ty.to_string().as_str() {
        "typing.Any" => "any".to_owned(),
        other => other.to_owned(),
    }
}

fn markdown(docs: Option<&DocString>) -> String {
    match docs {
        Some(DocString {
            summary,
            details: Some(details),
            ..
        }) => format!("{summary}\n\n{details}"),
        Some(docs) => docs.summary.clone(),
        None => String::new(),
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
    fn every_module_function_is_documented_from_its_definition() {
        let modules = modules();
        let names: Vec<_> = modules.iter().map(|module| module.name).collect();
        assert_eq!(names, ["json", "time", "kurtosis"]);
        let mut problems = Vec::new();
        let functions = functions();
        let members = modules
            .iter()
            .flat_map(|module| {
                module
                    .members
                    .iter()
                    .map(move |member| (format!("{}.{}", module.name, member.name), member))
            })
            .chain(functions.iter().map(|member| (member.name.clone(), member)));
        for (name, member) in members {
            if member.ty.is_empty() {
                problems.push(format!("{name}: no type"));
            }
            let Some(params) = &member.params else {
                continue;
            };
            check_markdown(&name, &member.doc, &mut problems);
            for param in params {
                check_markdown(
                    &format!("{name}({})", param.name),
                    &param.doc,
                    &mut problems,
                );
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let json = &modules[0];
        let indent = json
            .members
            .iter()
            .find(|member| member.name == "indent")
            .unwrap();
        let params = indent.params.as_ref().unwrap();
        let bindings: Vec<_> = params
            .iter()
            .map(|param| (param.name.as_str(), param.binding, param.required))
            .collect();
        assert_eq!(
            bindings,
            [
                ("x", Binding::Positional, true),
                ("prefix", Binding::Keyword, false),
                ("indent", Binding::Keyword, false),
            ]
        );
        assert_eq!(params[2].default.as_deref(), Some("\"\\t\""));
        assert!(functions.iter().any(|function| function.name == "struct"));
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
        assert_eq!(default_str("run_sh", "image"), Some("badouralix/curl-jq"));
        assert_eq!(
            default_str("ServiceConfig", "private_ip_address_placeholder"),
            Some("KURTOSIS_IP_ADDR_PLACEHOLDER")
        );
        assert_eq!(default_str("ExecRecipe", "extract"), None, "not a string");
    }
}
