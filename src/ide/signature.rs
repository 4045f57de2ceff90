//! Signature help: the builtin whose call the cursor is in, and the argument it is at.

use super::cursor::Cursor;
use super::lex::Kind;
use super::{Analysis, SignatureHelp, SignatureParam, markdown, param_of};

pub(super) fn signature_help(analysis: &Analysis, cursor: &Cursor) -> Option<SignatureHelp> {
    let calls = cursor.calls();
    // The innermost call that is a builtin: inside `f(x, ServiceConfig(|))` it is ServiceConfig.
    let (call, info) = calls
        .iter()
        .find_map(|call| Some((call, analysis.builtin(&call.callee)?)))?;
    let (label, spans) = markdown::signature(info);
    let params = info
        .params
        .iter()
        .zip(spans)
        .map(|(param, span)| SignatureParam {
            label: span,
            documentation: param.doc.to_owned(),
        })
        .collect();
    // A lone name with no `=` yet may be a keyword being typed (`con|`): the first parameter
    // not given that it begins; otherwise the argument binds by keyword or position.
    let typed = call
        .args
        .get(call.active)
        .and_then(|arg| typed_keyword(cursor, arg))
        .and_then(|prefix| {
            info.params.iter().position(|param| {
                param.name.starts_with(prefix.as_str()) && !call.keyword_given(param.name)
            })
        });
    let active = typed.or_else(|| {
        let param = param_of(info, call, call.active)?;
        info.params.iter().position(|p| p.name == param.name)
    });
    Some(SignatureHelp {
        label,
        params,
        active_param: active,
        documentation: info.doc.to_owned(),
    })
}

/// The name written so far in an argument that has no `=` yet, when it is a lone name.
fn typed_keyword(cursor: &Cursor, arg: &super::cursor::Arg) -> Option<String> {
    let code: Vec<_> = cursor.tokens[arg.value.clone()]
        .iter()
        .filter(|token| token.is_code())
        .collect();
    match code.as_slice() {
        [token] if token.kind == Kind::Name => Some(token.text(cursor.text).to_owned()),
        _ => None,
    }
}
