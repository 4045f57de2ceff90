//! The texts of the files a check read, kept so diagnostics can be positioned and rendered.

use std::collections::BTreeMap;

use crate::text::{LineIndex, PositionEncoding, Range, Span};

#[derive(Clone, Debug)]
pub struct SourceFile {
    pub text: String,
    pub index: LineIndex,
}

#[derive(Clone, Debug, Default)]
pub struct SourceFiles {
    files: BTreeMap<String, SourceFile>,
}

impl SourceFiles {
    pub fn insert(&mut self, path: &str, text: &str) {
        if !self.files.contains_key(path) {
            let file = SourceFile {
                index: LineIndex::new(text),
                text: text.to_owned(),
            };
            self.files.insert(path.to_owned(), file);
        }
    }

    pub fn get(&self, path: &str) -> Option<&SourceFile> {
        self.files.get(path)
    }

    /// The range of `span` in `path`; an unknown file gives the start of the file.
    pub fn range(&self, path: &str, span: Span, encoding: PositionEncoding) -> Range {
        match self.files.get(path) {
            Some(file) => file.index.range(&file.text, span, encoding),
            None => Range::default(),
        }
    }

    /// 1-based line and column for `path:line:column` output.
    pub fn line_column(&self, path: &str, offset: u32) -> (usize, usize) {
        match self.files.get(path) {
            Some(file) => file.index.line_column(&file.text, offset),
            None => (1, 1),
        }
    }
}
