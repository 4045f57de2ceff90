//! Document symbols: top-level functions and values, and the services the plan adds from the
//! file, each inside the function whose body adds it.

use super::cursor::Cursor;
use super::lex::Kind;
use super::outline::ItemKind;
use super::{Analysis, Symbol, SymbolKind};
use crate::plan::Instruction;
use crate::text::{LineIndex, Position, PositionEncoding, Span};

pub(super) fn document_symbols(analysis: &Analysis, file: &str, text: &str) -> Vec<Symbol> {
    let mut symbols: Vec<Symbol> = super::outline::outline(file, text)
        .into_iter()
        .map(|item| Symbol {
            kind: match item.kind {
                ItemKind::Function { .. } => SymbolKind::Function,
                ItemKind::Value { .. } => SymbolKind::Value,
            },
            detail: Some(item.signature()),
            name: item.name,
            span: item.span,
            selection_span: item.name_span,
            children: Vec::new(),
        })
        .collect();
    for service in services(analysis, file, text) {
        match symbols.iter_mut().find(|symbol| {
            symbol.span.start <= service.span.start && service.span.end <= symbol.span.end
        }) {
            Some(parent) => parent.children.push(service),
            None => symbols.push(service),
        }
    }
    symbols
}

/// The `add_service` steps of the plan written in `file`, placed by the call's line and column.
fn services(analysis: &Analysis, file: &str, text: &str) -> Vec<Symbol> {
    let index = LineIndex::new(text);
    let cursor = Cursor::new(text, 0);
    let mut found: Vec<Symbol> = Vec::new();
    for step in &analysis.result.plan.steps {
        let Instruction::AddService { name, config, .. } = &step.instruction else {
            continue;
        };
        if step.at.file != file {
            continue;
        }
        let start = index.offset(
            text,
            Position {
                line: step.at.line.saturating_sub(1),
                character: step.at.column.saturating_sub(1),
            },
            PositionEncoding::Utf32,
        );
        let Some(span) = call_span(&cursor, start) else {
            continue;
        };
        if found
            .iter()
            .any(|symbol| symbol.name == *name && symbol.span == span)
        {
            continue;
        }
        found.push(Symbol {
            name: name.clone(),
            kind: SymbolKind::Service,
            detail: Some(format!("image {}", config.image)),
            span,
            selection_span: span,
            children: Vec::new(),
        });
    }
    found
}

/// The span of the `add_service` call whose callee starts at `start`.
fn call_span(cursor: &Cursor, start: u32) -> Option<Span> {
    let first = cursor
        .tokens
        .partition_point(|token| token.span.start < start);
    let paren = (first..cursor.tokens.len())
        .take_while(|&at| {
            matches!(
                cursor.tokens[at].kind,
                Kind::Name | Kind::Dot | Kind::Open(b'(')
            )
        })
        .find(|&at| cursor.tokens[at].kind == Kind::Open(b'('))?;
    // The check may be older than the text: only an `add_service` call is this step.
    cursor
        .call_at(paren)
        .filter(|call| call.callee.last().is_some_and(|name| name == "add_service"))
        .map(|call| call.span)
}
