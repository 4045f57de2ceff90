//! Go to definition: locators to their files, flakes to `flake.nix` and its outputs, names to
//! their `def` or assignment.

use super::cursor::Cursor;
use super::lex::string_value;
use super::{Analysis, Expect, Paths, Target, expected, param_of};
use crate::source::EntryKind;
use crate::text::Span;

pub(super) fn definition(analysis: &Analysis, file: &str, cursor: &Cursor) -> Vec<Target> {
    let found = match cursor.string_at() {
        Some(string) => in_string(analysis, file, cursor, string),
        None => name(analysis, file, cursor),
    };
    found.into_iter().collect()
}

fn in_string(analysis: &Analysis, file: &str, cursor: &Cursor, string: usize) -> Option<Target> {
    let calls = cursor.calls();
    let call = calls.first()?;
    let info = analysis.builtin(&call.callee)?;
    let expect = expected(info, param_of(info, call, call.active)?.name)?;
    let value = string_value(cursor.text, &cursor.tokens[string])?;
    match expect {
        Expect::Locator(Paths::FlakeFolder) => {
            let (_, flake_file) = analysis.flake_of(file, cursor, call)?;
            start_of_file(analysis, flake_file)
        }
        Expect::Locator(Paths::Module | Paths::File | Paths::FileOrFolder) => {
            start_of_file(analysis, analysis.resolve(file, &value)?)
        }
        Expect::FlakeOutput => {
            let (dir, flake_file) = analysis.flake_of(file, cursor, call)?;
            let mut flake = analysis.read_flake(&dir, &flake_file)?;
            let span = flake.output_span(Some(&value), &analysis.result.plan.system)?;
            Some(Target {
                file: flake_file,
                span,
            })
        }
        Expect::Locator(Paths::Folder) | Expect::ServiceName | Expect::PortId => None,
    }
}

fn start_of_file(analysis: &Analysis, path: String) -> Option<Target> {
    (analysis.entry_kind(&path) == Some(EntryKind::File)).then_some(Target {
        file: path,
        span: Span::default(),
    })
}

/// `module.name` to its definition in the module; a name of this file to its definition.
fn name(analysis: &Analysis, file: &str, cursor: &Cursor) -> Option<Target> {
    let at = cursor.name_at()?;
    let name = cursor.tokens[at].text(cursor.text);
    let path = match cursor.receiver(at) {
        Some(receiver) => match receiver.as_slice() {
            [module] => analysis.imported_module(file, module)?,
            _ => return None,
        },
        None => file.to_owned(),
    };
    let item = analysis
        .outline(&path)
        .into_iter()
        .find(|item| item.name == name)?;
    Some(Target {
        file: path,
        span: item.name_span,
    })
}
