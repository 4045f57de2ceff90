//! Hover: what the name under the cursor is, from the builtin table or the file's definitions.

use super::cursor::Cursor;
use super::lex::Kind;
use super::{Analysis, Hover, markdown};
use crate::plan::ImageSource;
use crate::text::LineIndex;

pub(super) fn hover(analysis: &Analysis, file: &str, cursor: &Cursor) -> Option<Hover> {
    let at = cursor.name_at()?;
    let token = cursor.tokens[at];
    let name = token.text(cursor.text);
    let next = cursor.next(at).map(|next| cursor.tokens[next].kind);
    let markdown = match cursor.receiver(at) {
        Some(receiver) => member(analysis, file, &receiver, name),
        None => (next == Some(Kind::Assign))
            .then(|| keyword(analysis, cursor, token.span))
            .flatten()
            .or_else(|| {
                let info = analysis.builtin(&[name.to_owned()])?;
                let mut text = markdown::builtin(info);
                if info.name == "NixBuildSpec" && next == Some(Kind::Open(b'(')) {
                    text.push('\n');
                    text.push_str(&nix_image(analysis, file, cursor, token.span.start));
                }
                Some(text)
            })
            .or_else(|| {
                let item = analysis
                    .outline(file)
                    .into_iter()
                    .find(|item| item.name == name)?;
                Some(markdown::item(&item, file))
            }),
    }?;
    Some(Hover {
        markdown,
        span: token.span,
    })
}

/// `plan.<instruction>` or `<module>.<member>`.
fn member(analysis: &Analysis, file: &str, receiver: &[String], name: &str) -> Option<String> {
    let qualified: Vec<String> = receiver.iter().cloned().chain([name.to_owned()]).collect();
    if let Some(info) = analysis.builtin(&qualified) {
        return Some(markdown::builtin(info));
    }
    let [module] = receiver else {
        return None;
    };
    let path = analysis.imported_module(file, module)?;
    let item = analysis
        .outline(&path)
        .into_iter()
        .find(|item| item.name == name)?;
    Some(markdown::item(&item, &path))
}

/// The keyword of a `name = value` argument of a builtin call.
fn keyword(analysis: &Analysis, cursor: &Cursor, span: crate::text::Span) -> Option<String> {
    cursor.calls().iter().find_map(|call| {
        let arg = call
            .args
            .iter()
            .find(|arg| arg.keyword_span == Some(span))?;
        let info = analysis.builtin(&call.callee)?;
        let param = info
            .params
            .iter()
            .find(|param| Some(param.name) == arg.keyword.as_deref())?;
        Some(markdown::param(info, param))
    })
}

/// The plan's view of the image the `NixBuildSpec` call at `start` gives, matched by where the
/// plan says the image was defined.
fn nix_image(analysis: &Analysis, file: &str, cursor: &Cursor, start: u32) -> String {
    let (line, column) = LineIndex::new(cursor.text).line_column(cursor.text, start);
    let image = analysis.result.plan.images.iter().find(|image| {
        matches!(image.source, ImageSource::Nix(_))
            && image.defined_at.file == file
            && image.defined_at.line as usize == line
            && image.defined_at.column as usize == column
    });
    match image {
        Some(image) => markdown::nix_image(image),
        None => "**In the plan**: no service of the last check uses this image (or the check found an error in it).\n".to_owned(),
    }
}
