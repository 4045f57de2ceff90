//! What one check leaves for the next: each file's parse, valid for one text, and each module's
//! evaluated top level, valid while nothing it depends on changed. Re-checking after an edit
//! then parses only the files that changed and evaluates only the modules that changed or
//! import one that did (and the entry function, every time).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use starlark::codemap::FileSpan;
use starlark::environment::FrozenModule;
use starlark::syntax::AstModule;

use super::callsites::CallSites;
use super::dialect;
use super::session::Place;
use crate::diagnostic::Diagnostic;
use crate::package::Resolver;

/// What a check derives from one file's text alone.
#[derive(Clone)]
pub(crate) struct Parsed {
    /// Ready to evaluate (the `%` and `*` operators already rewritten); shared, as a module
    /// whose evaluation is reused never needs it.
    pub ast: Rc<AstModule>,
    pub call_sites: CallSites,
    /// What the Kurtosis dialect forbids in the file.
    pub dialect: Vec<Diagnostic>,
}

impl Parsed {
    pub fn new(path: &str, text: &str) -> starlark::Result<Parsed> {
        let mut ast = super::parse(path, text)?;
        let call_sites = CallSites::of(&ast);
        let dialect = dialect::check(path, &ast);
        super::rewrite_calls(&mut ast, text);
        Ok(Parsed {
            ast: Rc::new(ast),
            call_sites,
            dialect,
        })
    }
}

/// A module's evaluated top level and what evaluating it did to the check, replayed instead of
/// evaluating it again. Kept only for a module whose top level called no builtin but
/// `import_module` (successfully, of modules kept too): anything else may read files or
/// change the plan.
pub(crate) struct Evaluated {
    /// Tells this evaluation from earlier ones of the same module, for its importers to
    /// record which they used.
    pub serial: u64,
    pub locator: String,
    pub module: FrozenModule,
    /// What the top level did to the check, in order.
    pub effects: Vec<Effect>,
    /// What its heap counts against the memory budget.
    pub bytes: usize,
    /// At least what the evaluation, with the imports it made, counted against the budget.
    pub bytes_with_imports: usize,
    /// How many levels of imports the evaluation went down, at most.
    pub import_depth: usize,
    /// The statement evaluation ended at, which errors without a place of their own use.
    pub last_statement: Option<FileSpan>,
}

/// What a module's top level did to the check.
pub(crate) enum Effect {
    Report(Diagnostic),
    /// A module imported (by `import_module` or `load`), with the serial of the evaluation used.
    Import {
        path: String,
        locator: String,
        requested_at: Option<Place>,
        serial: u64,
    },
}

impl Evaluated {
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.effects.iter().filter_map(|effect| match effect {
            Effect::Import {
                path,
                locator,
                serial,
                ..
            } => Some((path.as_str(), locator.as_str(), *serial)),
            Effect::Report(_) => None,
        })
    }
}

/// One file as the last check that read it left it.
pub(crate) struct Entry {
    pub text: String,
    pub parsed: Parsed,
    pub evaluated: Option<Rc<Evaluated>>,
}

/// Parses and module evaluations kept from one check to the next. A check uses one through
/// [`crate::check::check_with`]; the language server keeps one for its whole session. It holds
/// only the files the last check read, so it does not grow with edits.
pub struct CheckCache {
    /// `false` for a check that has no next one ([`CheckCache::for_one_check`]): keeping its
    /// parses would cost a copy of each syntax tree, which evaluation consumes, and its drop.
    keeps: bool,
    files: RefCell<HashMap<String, Entry>>,
    /// Files read by the check in progress.
    used: RefCell<HashSet<String>>,
    /// How the last check resolved locators: evaluations hold the modules they imported.
    resolver: RefCell<Option<Resolver>>,
    last_serial: Cell<u64>,
}

impl Default for CheckCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CheckCache {
    pub fn new() -> Self {
        Self {
            keeps: true,
            files: RefCell::default(),
            used: RefCell::default(),
            resolver: RefCell::default(),
            last_serial: Cell::default(),
        }
    }

    /// A cache that keeps nothing, for a check with no next one.
    pub(crate) fn for_one_check() -> Self {
        Self {
            keeps: false,
            ..Self::new()
        }
    }

    /// Whether what this check does is kept for the next one.
    pub(crate) fn keeps(&self) -> bool {
        self.keeps
    }

    /// Starts a check that resolves locators with `resolver`, forgetting the evaluations made
    /// with another.
    pub(crate) fn begin(&self, resolver: &Resolver) {
        let mut last = self.resolver.borrow_mut();
        if last.as_ref() != Some(resolver) {
            for entry in self.files.borrow_mut().values_mut() {
                entry.evaluated = None;
            }
            *last = Some(resolver.clone());
        }
    }

    /// The parse of `text` as file `path`, and the module's last evaluation, from the cache
    /// when the text is unchanged.
    pub(crate) fn entry(
        &self,
        path: &str,
        text: &str,
    ) -> starlark::Result<(Parsed, Option<Rc<Evaluated>>)> {
        self.used.borrow_mut().insert(path.to_owned());
        if let Some(entry) = self.files.borrow().get(path)
            && entry.text == text
        {
            return Ok((entry.parsed.clone(), entry.evaluated.clone()));
        }
        let parsed = Parsed::new(path, text)?;
        if !self.keeps {
            return Ok((parsed, None));
        }
        self.files.borrow_mut().insert(
            path.to_owned(),
            Entry {
                text: text.to_owned(),
                parsed: parsed.clone(),
                evaluated: None,
            },
        );
        Ok((parsed, None))
    }

    /// The evaluation of `path` kept for its text `text`, without counting the file as read.
    pub(crate) fn evaluated_for(&self, path: &str, text: &str) -> Option<Rc<Evaluated>> {
        let files = self.files.borrow();
        let entry = files.get(path)?;
        if entry.text != text {
            return None;
        }
        entry.evaluated.clone()
    }

    pub(crate) fn next_serial(&self) -> u64 {
        self.last_serial.set(self.last_serial.get() + 1);
        self.last_serial.get()
    }

    /// Keeps `evaluated` as the evaluation of `path` (`None`: forgets the last one).
    pub(crate) fn set_evaluated(&self, path: &str, evaluated: Option<Rc<Evaluated>>) {
        if let Some(entry) = self.files.borrow_mut().get_mut(path) {
            entry.evaluated = evaluated;
        }
    }

    /// Forgets the files the check that just ended did not read.
    pub(crate) fn keep_only_used(&self) {
        let used = std::mem::take(&mut *self.used.borrow_mut());
        self.files
            .borrow_mut()
            .retain(|path, _| used.contains(path));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::CheckCache;
    use crate::check::{CheckOptions, check_with};
    use crate::source::MemorySource;

    /// The serial of each file's kept evaluation.
    fn serials(cache: &CheckCache) -> BTreeMap<String, Option<u64>> {
        cache
            .files
            .borrow()
            .iter()
            .map(|(path, entry)| {
                (
                    path.clone(),
                    entry.evaluated.as_ref().map(|kept| kept.serial),
                )
            })
            .collect()
    }

    fn package(leaf: &str) -> MemorySource {
        MemorySource::new()
            .with("kurtosis.yml", "name: github.com/test/pkg\n")
            .with(
                "main.star",
                "a = import_module(\"/a.star\")\nb = import_module(\"/b.star\")\nr = import_module(\"/r.star\")\n\ndef run(plan):\n    plan.print(a.X + b.Y + r.Z)\n",
            )
            .with("a.star", leaf)
            .with("b.star", "a = import_module(\"/a.star\")\nY = \"b\"\n")
            .with("r.star", "Z = read_file(\"/z.txt\")\n")
            .with("z.txt", "z")
    }

    #[test]
    fn an_edit_evaluates_again_only_the_module_and_its_importers() {
        // `default()`, as the language server makes its caches.
        let cache = CheckCache::default();
        let options = CheckOptions::default();
        check_with(&package("X = \"a\"\n"), &options, &cache);
        let first = serials(&cache);
        for path in ["a.star", "b.star"] {
            assert!(first[path].is_some(), "{path} is kept");
        }
        assert_eq!(first["r.star"], None, "a module reading a file is not kept");
        assert_eq!(first["main.star"], None, "nor one importing it");

        check_with(&package("X = \"a\"\n"), &options, &cache);
        assert_eq!(
            serials(&cache),
            first,
            "nothing changed, nothing evaluated again"
        );

        check_with(&package("X = \"A\"\n"), &options, &cache);
        let edited = serials(&cache);
        for path in ["a.star", "b.star"] {
            assert!(edited[path].is_some(), "{path} is kept");
            assert_ne!(edited[path], first[path], "{path} is evaluated again");
        }

        let source = package("X = \"A\"\n").with("b.star", "Y = \"b\"\n");
        check_with(&source, &options, &cache);
        let unrelated = serials(&cache);
        assert_eq!(unrelated["a.star"], edited["a.star"], "a.star is reused");
    }
}
