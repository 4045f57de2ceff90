//! The state of one evaluation, reachable from every builtin through `Evaluator::extra`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use starlark::any::ProvidesStaticType;
use starlark::codemap::FileSpan;
use starlark::environment::{FrozenModule, Globals};
use starlark::eval::Evaluator;

use super::callsites::CallSites;
use crate::diagnostic::Diagnostic;
use crate::files::SourceFiles;
use crate::package::Resolver;
use crate::plan::{Image, Location, Step};
use crate::source::SourceProvider;
use crate::text::Span;

/// A place in a file: its path and a byte span.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Place {
    pub file: String,
    pub span: Span,
}

impl Place {
    pub fn of(file_span: &FileSpan) -> Self {
        Place {
            file: file_span.filename().to_owned(),
            span: Span::new(file_span.span.begin().get(), file_span.span.end().get()),
        }
    }
}

/// What one service looks like at a point of the plan, for later instructions to check against.
#[derive(Clone, Debug)]
pub(crate) struct ServiceState {
    pub defined_at: Place,
    pub ports: Vec<String>,
}

#[derive(Default)]
pub(crate) struct State {
    pub diagnostics: Vec<Diagnostic>,
    pub files: SourceFiles,
    pub call_sites: HashMap<String, CallSites>,
    /// Locator of every loaded file, by source path.
    pub locators: HashMap<String, String>,
    /// Evaluated modules by source path; `None` while the module is being evaluated.
    pub modules: HashMap<String, Option<FrozenModule>>,
    /// The chain of modules being evaluated, for cycle reports.
    pub loading: Vec<String>,
    pub steps: Vec<Step>,
    pub images: Vec<Image>,
    /// Where each image name was given its source, to report conflicts.
    pub image_origins: HashMap<String, Place>,
    pub services: BTreeMap<String, ServiceState>,
    pub artifacts: BTreeMap<String, Place>,
    /// Counter for deterministic future-reference ids and artifact names.
    pub next_id: u64,
    /// Flakes already checked, by (flake file, output, image name).
    pub checked_flakes: std::collections::HashSet<(String, Option<String>, String)>,
}

#[derive(ProvidesStaticType)]
pub(crate) struct Session<'a> {
    pub source: &'a dyn SourceProvider,
    pub resolver: Resolver,
    pub globals: Globals,
    pub system: String,
    /// Asked now and then during evaluation; `true` stops it (a wall-clock deadline).
    pub interrupt: Option<&'a dyn Fn() -> bool>,
    pub state: RefCell<State>,
}

impl<'a> Session<'a> {
    pub fn of<'s>(eval: &'s Evaluator<'_, '_, 'a>) -> &'s Session<'a> {
        eval.extra
            .and_then(|extra| extra.downcast_ref::<Session<'a>>())
            .expect("the evaluator always carries the session")
    }

    pub fn report(&self, diagnostic: Diagnostic) {
        self.state.borrow_mut().diagnostics.push(diagnostic);
    }

    pub fn next_id(&self) -> u64 {
        let mut state = self.state.borrow_mut();
        state.next_id += 1;
        state.next_id
    }

    /// A Kurtosis-style future reference: resolved only when the plan runs.
    pub fn future_reference(&self, field: &str) -> String {
        format!(
            "{{{{kurtosis:{:032x}:{field}.runtime_value}}}}",
            self.next_id()
        )
    }

    pub fn location(&self, place: &Place) -> Location {
        let (line, column) = self
            .state
            .borrow()
            .files
            .line_column(&place.file, place.span.start);
        Location {
            file: place.file.clone(),
            line: line as u32,
            column: column as u32,
        }
    }

    pub fn locator_of(&self, path: &str) -> String {
        self.state
            .borrow()
            .locators
            .get(path)
            .cloned()
            .unwrap_or_else(|| self.resolver.locator_of(path))
    }
}
