//! The state of one evaluation, reachable from every builtin through `Evaluator::extra`.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use starlark::any::ProvidesStaticType;
use starlark::codemap::{FileSpan, FileSpanRef};
use starlark::environment::{FrozenModule, Globals};
use starlark::eval::{BeforeStmtFuncDyn, Evaluator};

use super::cache::{Effect, Evaluated};
use super::callsites::CallSites;
use crate::diagnostic::{Diagnostic, Fix};
use crate::files::SourceFiles;
use crate::flake::FlakeFile;
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

    /// The line and column (1-based, as the plan shows them) of the start of the place.
    pub fn location(&self, files: &SourceFiles) -> Location {
        let (line, column) = files.line_column(&self.file, self.span.start);
        Location {
            file: self.file.clone(),
            line: line as u32,
            column: column as u32,
        }
    }
}

/// What one service looks like at a point of the plan, for later instructions to check against.
#[derive(Clone, Debug)]
pub(crate) struct ServiceState {
    pub defined_at: Place,
    pub ports: Vec<String>,
    /// The port specs by id, for `get_service` to return.
    pub port_specs: BTreeMap<String, crate::plan::PortSpec>,
    /// `false` when the service's config could not be read here (a stand-in), so its ports
    /// are unknown and must not be checked.
    pub ports_known: bool,
    /// The future reference to the service's IP address, from the step that added it.
    pub ip_address: Option<String>,
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
    /// The kept evaluation of each module loaded so far that has one.
    pub kept: HashMap<String, Rc<Evaluated>>,
    pub steps: Vec<Step>,
    /// What `steps` keep, as [`super::budget::charge_step`] counts it.
    pub steps_bytes: u64,
    pub images: Vec<Image>,
    /// Each image name's index in `images` and where it was given its source, to report
    /// conflicts.
    pub image_origins: HashMap<String, (usize, Place)>,
    pub services: BTreeMap<String, ServiceState>,
    pub artifacts: BTreeMap<String, Place>,
    /// Services removed by `plan.remove_service`, with where, for "removed here" labels.
    pub removed_services: BTreeMap<String, Place>,
    /// Something that cannot be seen here may have added services or files artifacts (a
    /// function of an unavailable package called with `plan`, a name computed from a stand-in):
    /// "does not exist" checks are then skipped rather than risk false errors.
    pub opaque: bool,
    /// Counter for deterministic future-reference ids and artifact names.
    pub next_id: u64,
    /// Dependencies reported as unavailable, by repository locator.
    pub unavailable_packages: std::collections::HashSet<String>,
    /// Flakes read so far, by flake file.
    pub flakes: HashMap<String, FlakeFile>,
    /// Uses of flakes already checked, by (flake file, output, image name).
    pub checked_flakes: std::collections::HashSet<(String, Option<String>, String)>,
}

#[derive(ProvidesStaticType)]
pub(crate) struct Session<'a> {
    pub source: &'a dyn SourceProvider,
    pub cache: &'a super::CheckCache,
    pub resolver: Resolver,
    pub globals: Globals,
    pub system: String,
    /// Asked now and then during evaluation; `true` stops it (a wall-clock deadline).
    pub interrupt: Option<&'a dyn Fn() -> bool>,
    pub state: RefCell<State>,
    /// The statement being evaluated, for errors that starlark reports without a place.
    pub statement: Rc<CurrentStatement>,
    /// Bytes the heaps of the modules evaluated so far hold, against the memory budget.
    pub settled_bytes: Cell<usize>,
    /// Whether the top level of the module being evaluated did more than import modules: set
    /// by every builtin it calls (through [`Session::of`]), so that it is not kept.
    pub effects: Cell<bool>,
    /// What the top level of each module being evaluated did, innermost last.
    pub recorded: RefCell<Vec<Vec<Effect>>>,
    /// Whether a kept evaluation is being replayed.
    pub replaying: Cell<bool>,
    /// The files read so far.
    pub texts: RefCell<HashMap<String, String>>,
    /// The kept evaluation of each module whose text, and those of the modules it imported,
    /// are unchanged, as found so far (`None`: changed or not kept).
    pub verified: RefCell<HashMap<String, Option<Rc<Evaluated>>>>,
}

/// The statement evaluation is at. A runaway evaluation is stopped by starlark without a
/// location; this puts its diagnostic on the loop that ran away instead of the file's start.
#[derive(Default)]
pub(crate) struct CurrentStatement(RefCell<Option<FileSpan>>);

impl CurrentStatement {
    pub fn place(&self) -> Option<Place> {
        self.0.borrow().as_ref().map(Place::of)
    }

    pub fn span(&self) -> Option<FileSpan> {
        self.0.borrow().clone()
    }

    pub fn set(&self, span: Option<FileSpan>) {
        *self.0.borrow_mut() = span;
    }
}

/// Follows [`CurrentStatement`] from starlark's before-statement hook, and stops the evaluation
/// there once its values take more than the memory budget.
pub(crate) struct StatementTracker(pub Rc<CurrentStatement>);

impl<'e> BeforeStmtFuncDyn<'e> for StatementTracker {
    fn call<'v>(
        &mut self,
        span: FileSpanRef,
        _continued: bool,
        eval: &mut Evaluator<'v, '_, 'e>,
    ) -> starlark::Result<()> {
        let mut current = (self.0).0.borrow_mut();
        match current.as_mut() {
            // Same file (compared by identity): no need to clone the code map again.
            Some(at) if at.file == *span.file => at.span = span.span,
            _ => *current = Some(span.to_file_span()),
        }
        drop(current);
        if super::budget::over_budget(eval, Session::unmarked(eval).settled_bytes.get()) {
            return Err(super::budget::exceeded(None));
        }
        Ok(())
    }
}

impl<'a> Session<'a> {
    /// The session, for a builtin: the module whose top level is being evaluated is then not
    /// kept ([`super::cache::Evaluated`]), as the builtin may read files or change the plan.
    pub fn of<'s>(eval: &'s Evaluator<'_, '_, 'a>) -> &'s Session<'a> {
        let session = Self::unmarked(eval);
        session.effects.set(true);
        session
    }

    /// The session, for what does not change the check.
    pub fn unmarked<'s>(eval: &'s Evaluator<'_, '_, 'a>) -> &'s Session<'a> {
        eval.extra
            .and_then(|extra| extra.downcast_ref::<Session<'a>>())
            .expect("the evaluator always carries the session")
    }

    pub fn report(&self, diagnostic: Diagnostic) {
        let mut state = self.state.borrow_mut();
        // Once evaluation has run out of time, every module still loading stops too: say it once.
        let runaway = crate::diagnostic::Rule::RunawayEvaluation;
        if diagnostic.rule == runaway && state.diagnostics.iter().any(|d| d.rule == runaway) {
            return;
        }
        if let Some(effects) = self.recorded.borrow_mut().last_mut() {
            effects.push(Effect::Report(diagnostic.clone()));
        }
        state.diagnostics.push(diagnostic);
    }

    pub fn next_id(&self) -> u64 {
        let mut state = self.state.borrow_mut();
        state.next_id += 1;
        state.next_id
    }

    /// A Kurtosis-style future reference, resolved only when the plan runs, for a result no
    /// step of the plan produces (see [`Session::future_reference_of`]).
    pub fn future_reference(&self, field: &str) -> String {
        self.future_reference_of(self.future_reference_id(), field)
    }

    /// An id for the future references of a result that no recorded step produces: from
    /// 2^63 up, which no step number reaches.
    pub fn future_reference_id(&self) -> u64 {
        (1 << 63) | self.next_id()
    }

    /// The id of the future references of the step recorded last: its 1-based number in
    /// the plan.
    pub fn last_step_reference_id(&self) -> u64 {
        self.state.borrow().steps.len() as u64
    }

    /// The future reference to `field` of the result with id `id`. Ids below 2^63 are step
    /// numbers: `{{kurtosis:<id as 32 hex digits>:<field>.runtime_value}}` is `field` of the
    /// result of step `id` (1-based) of the plan, e.g. `ip_address` of the service an
    /// `add_service` step starts, or `code` of an `exec` step.
    pub fn future_reference_of(&self, id: u64, field: &str) -> String {
        format!("{{{{kurtosis:{id:032x}:{field}.runtime_value}}}}")
    }

    pub fn location(&self, place: &Place) -> Location {
        place.location(&self.state.borrow().files)
    }

    /// The entry of the dict or list literal written at `place` whose key is the string `key`
    /// (or, for a list or when `key` is `None`, the entry at `index`): `(key place, value place)`.
    /// Falls back to `place` itself when `place` is not a literal (a variable, a call).
    pub fn entry_place(&self, place: &Place, key: Option<&str>, index: usize) -> (Place, Place) {
        let state = self.state.borrow();
        let found = state
            .call_sites
            .get(&place.file)
            .and_then(|sites| sites.literal(place.span))
            .and_then(|entries| {
                match key {
                    Some(key) => {
                        let text = &state.files.get(&place.file)?.text;
                        entries.iter().find(|(key_span, _)| {
                            key_span
                                .and_then(|span| text.get(span.range()))
                                .is_some_and(|written| {
                                    written.len() >= 2
                                        && &written[1..written.len() - 1] == key
                                        && written.starts_with(['"', '\''])
                                })
                        })
                    }
                    None => entries.get(index),
                }
                .copied()
            });
        match found {
            Some((key_span, value_span)) => (
                Place {
                    file: place.file.clone(),
                    span: key_span.unwrap_or(value_span),
                },
                Place {
                    file: place.file.clone(),
                    span: value_span,
                },
            ),
            None => (place.clone(), place.clone()),
        }
    }

    /// The fix writing `value` over the string literal at `place` (see [`Fix::replace_literal`]).
    pub fn literal_fix(&self, place: &Place, value: &str) -> Option<Fix> {
        let state = self.state.borrow();
        Fix::replace_literal(&state.files.get(&place.file)?.text, place.span, value)
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
