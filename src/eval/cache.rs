//! Parses kept from one check to the next, so that re-checking after an edit parses only the
//! files that changed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use starlark::syntax::AstModule;

use super::callsites::CallSites;
use super::dialect;
use crate::diagnostic::Diagnostic;

/// What a check derives from one file's text alone.
#[derive(Clone)]
pub(crate) struct Parsed {
    /// Ready to evaluate (the `%` and `*` operators already rewritten).
    pub ast: AstModule,
    pub call_sites: CallSites,
    /// What the Kurtosis dialect forbids in the file.
    pub dialect: Vec<Diagnostic>,
}

impl Parsed {
    pub fn new(path: &str, text: &str) -> starlark::Result<Parsed> {
        let mut ast = super::parse(path, text)?;
        let call_sites = CallSites::of(&ast);
        let dialect = dialect::check(path, &ast);
        super::rewrite_operators(&mut ast, text);
        Ok(Parsed {
            ast,
            call_sites,
            dialect,
        })
    }
}

/// Parses by file, each valid for one text. A check uses one through [`crate::check::check_with`];
/// the language server keeps one for its whole session. It holds only the files the last check
/// read, so it does not grow with edits.
#[derive(Default)]
pub struct ParseCache {
    files: RefCell<HashMap<String, (String, Parsed)>>,
    /// Files read by the check in progress.
    used: RefCell<HashSet<String>>,
}

impl ParseCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The parse of `text` as file `path`, from the cache when the text is unchanged.
    pub(crate) fn parse(&self, path: &str, text: &str) -> starlark::Result<Parsed> {
        self.used.borrow_mut().insert(path.to_owned());
        if let Some((cached_text, parsed)) = self.files.borrow().get(path) {
            if cached_text == text {
                return Ok(parsed.clone());
            }
        }
        let parsed = Parsed::new(path, text)?;
        self.files
            .borrow_mut()
            .insert(path.to_owned(), (text.to_owned(), parsed.clone()));
        Ok(parsed)
    }

    /// Forgets the files the check that just ended did not read.
    pub(crate) fn keep_only_used(&self) {
        let used = std::mem::take(&mut *self.used.borrow_mut());
        self.files
            .borrow_mut()
            .retain(|path, _| used.contains(path));
    }
}
