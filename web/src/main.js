// Wires the playground together: state → editor, file tree, args; edits → debounced checks in
// the worker; results → markers, problems, badges, plan; state → URL hash and localStorage.
import './style.css';
import { h, replaceChildren, copyText, toast } from './dom.js';
import { Editor } from './editor.js';
import { ArgsEditor, ARGS_FILE } from './args.js';
import { FileTree } from './files.js';
import { PlanView } from './plan.js';
import { ProblemList, countBySeverity, countByFile } from './problems.js';
import { Checker, HARD_STOP_MS } from './checker.js';
import { decodeHash, isStateHash, loadStored, save, encodeHash } from './state.js';
import { examples, exampleState, DEFAULT_EXAMPLE } from './examples/index.js';
import { entriesFromInput, entriesFromDrop, openPackage, openDependencies, describeSkipped } from './open.js';

const CHECK_DEBOUNCE_MS = 100;
const SAVE_DEBOUNCE_MS = 400;
const $ = (selector) => document.querySelector(selector);

// --- state ------------------------------------------------------------------------------------
let files = {};
let active = '';
let args = '';
let deps = {}; // dependency files, github.com/<org>/<repo>[@<ref>]/..., not shown in the tree
let last = null; // {analysis, input} of the newest finished check
let busyTimer = 0;

const editor = new Editor($('#editor'), { onChange: (path, text) => { files[path] = text; changed(); } });
const argsEditor = new ArgsEditor($('#args-editor'), { onChange: (text) => { args = text; changed(); } });
const tree = new FileTree($('#tree'), {
  onOpen: (path) => openFile(path),
  onAdd: (path) => {
    files[path] = starterText(path);
    openFile(path);
    changed();
  },
  onRename: (from, to) => {
    files[to] = files[from];
    delete files[from];
    editor.forget(from);
    if (active === from) active = to;
    openFile(active);
    changed();
  },
  onDelete: (path) => {
    delete files[path];
    editor.forget(path);
    if (active === path) active = Object.keys(files).sort()[0] ?? '';
    openFile(active);
    changed();
  },
});
const planView = new PlanView($('#plan'), {
  onDiagnostic: (d) => jump(d.file, d.range),
  onJump: (at) => jump(at.file, { start: { line: at.line - 1, character: at.column - 1 }, end: { line: at.line - 1, character: at.column - 1 } }) });
const problems = new ProblemList($('#problems'), { onJump: (d) => jump(d.file, d.range), known: (file) => Object.hasOwn(files, file) || file === ARGS_FILE });

function starterText(path) {
  if (path.endsWith('.star')) return '# import it from main.star with import_module("./' + path + '")\n\ndef launch(plan):\n    pass\n';
  if (path.endsWith('flake.nix')) return '{\n  description = "";\n\n  outputs = { self }: {\n    packages.x86_64-linux.default = throw "build the image here";\n  };\n}\n';
  return '';
}

// --- checking ---------------------------------------------------------------------------------
const checker = new Checker({
  onReady: ({ version, builtins, rules }) => {
    $('#version').textContent = `v${version}`;
    if (!planView.rules.length) planView.setRules(rules);
    Object.assign(editor.builtins, builtins);
  },
  onBusy: (busy) => {
    document.body.classList.toggle('checking', busy);
    clearTimeout(busyTimer);
    // Most checks take milliseconds: only say so when one takes a moment.
    if (busy) busyTimer = setTimeout(() => setStatus('checking…'), 150);
  },
  onResult: ({ analysis, ms, input }) => {
    clearTimeout(busyTimer);
    setStatus(`checked in ${Math.max(1, Math.round(ms))} ms`);
    show(analysis, input);
    if (opening?.input === input) reportOpened(ms);
  },
  onStopped: ({ input, reason, message }) => {
    clearTimeout(busyTimer);
    if (reason === 'fatal') {
      setStatus('checker failed to load', 'bad');
      replaceChildren($('#problems'), h('li.problems-empty.bad', `The checker could not start: ${message}`));
      return;
    }
    setStatus(reason === 'timeout' ? `stopped after ${HARD_STOP_MS / 1000} s` : 'checker crashed, restarted', 'bad');
    if (input) show(stoppedAnalysis(reason, message), input);
  },
});

/** What to show when the worker had to be killed: one diagnostic, no plan. */
function stoppedAnalysis(reason, message) {
  const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  const diagnostic = reason === 'timeout'
    ? {
      code: 'SF004', name: 'runaway-evaluation', severity: 'error', file: 'main.star', range,
      message: `the check did not finish within ${HARD_STOP_MS / 1000} s and was stopped (an endless loop, or one huge operation?)`,
      help: 'look for a loop that never ends or a value that grows without bound; the playground restarted its checker',
    }
    : {
      code: 'SF900', name: 'internal-error', severity: 'error', file: 'main.star', range,
      message: `the checker crashed: ${message || 'unknown error'} (this is a starflake bug)`,
      help: 'the playground restarted its checker; a link made with Share reproduces the crash',
    };
  const rendered = `error[${diagnostic.code}]: ${diagnostic.message}\n\n1 error\n`;
  return { diagnostics: [diagnostic], plan: { package: '', system: 'x86_64-linux', steps: [], images: [] }, rendered, renderedPlan: '' };
}

let checkTimer = 0;
let saveTimer = 0;
function changed() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(() => checker.check({ files: { ...files }, args, deps }), CHECK_DEBOUNCE_MS);
  clearTimeout(saveTimer);
  saveTimer = setTimeout(persist, SAVE_DEBOUNCE_MS);
  renderChrome();
}

function persist() {
  clearTimeout(saveTimer);
  return save({ files, active, args, deps });
}

// --- showing results --------------------------------------------------------------------------
function show(analysis, input) {
  last = { analysis, input };
  const { diagnostics } = analysis;
  const count = countBySeverity(diagnostics);
  document.title = `${count.error ? `(${count.error}) ` : ''}starflake playground`;
  replaceChildren($('#counts'),
    pill('error', count.error, 'errors'), pill('warning', count.warning, 'warnings'), pill('info', count.info, 'notes'));
  $('#problem-count').textContent = diagnostics.length ? `${diagnostics.length} in ${new Set(diagnostics.map((d) => d.file)).size} file(s)` : '';
  problems.update(diagnostics);
  planView.update(analysis);
  showMarkers();
  renderChrome();
}

function pill(severity, n, label) {
  return h(`span.pill.pill-${severity}`, { class: n ? null : 'zero', title: `${n} ${label}`, dataset: { count: n } },
    h('span.pill-dot', { 'aria-hidden': 'true' }), `${n} ${n === 1 ? label.replace(/s$/, '') : label}`);
}

/** Markers go into an editor only when its text is the text that was checked. */
function showMarkers() {
  if (!last) return;
  const { analysis, input } = last;
  if (active && input.files[active] === files[active]) editor.showDiagnostics(analysis.diagnostics);
  if (input.args === args) argsEditor.showDiagnostics(analysis.diagnostics);
}

function renderChrome() {
  const counts = last ? countByFile(last.analysis.diagnostics) : {};
  tree.update({ paths: Object.keys(files), active, counts });
  $('#active-path').textContent = active || 'no file open';
  const a = counts[ARGS_FILE] ?? {};
  replaceChildren($('#args-badges'),
    a.error ? h('span.badge.badge-error', { title: `${a.error} error(s) in the args` }, a.error) : null,
    a.warning ? h('span.badge.badge-warning', { title: `${a.warning} warning(s) in the args` }, a.warning) : null);
  const c = counts[active] ?? {};
  $('#active-counts').textContent = [c.error && `${c.error} error(s)`, c.warning && `${c.warning} warning(s)`].filter(Boolean).join(' · ');
}

function setStatus(text, kind = '') {
  const status = $('#status');
  status.textContent = text;
  status.title = text;
  status.dataset.kind = kind;
}

// --- navigation -------------------------------------------------------------------------------
function openFile(path) {
  active = path;
  if (path) editor.open(path, files[path]);
  else editor.open('', '');
  showMarkers();
  renderChrome();
  clearTimeout(saveTimer);
  saveTimer = setTimeout(persist, SAVE_DEBOUNCE_MS);
}

function jump(file, range) {
  if (file === ARGS_FILE) {
    argsEditor.reveal(range);
    return;
  }
  if (!Object.hasOwn(files, file)) {
    toast(`${file} is not in the package`);
    return;
  }
  if (file !== active) openFile(file);
  editor.reveal(range);
}

function load(state) {
  files = { ...state.files };
  active = Object.hasOwn(files, state.active) ? state.active : Object.keys(files).sort()[0] ?? '';
  args = state.args ?? '';
  deps = state.deps ?? {};
  last = null;
  for (const path of [...editor.states.keys()]) editor.forget(path);
  argsEditor.set(args);
  openFile(active);
  showDeps();
  const input = { files: { ...files }, args, deps };
  checker.check(input);
  return input;
}

// --- opening from disk ------------------------------------------------------------------------
let opening = null; // {input, started, what, note}: the time from drop to diagnostics shown

function showDeps() {
  const repos = new Set(Object.keys(deps).map((path) => path.split('/').slice(0, 3).join('/')));
  const count = Object.keys(deps).length;
  $('#deps-summary').textContent = repos.size
    ? `${repos.size} ${repos.size === 1 ? 'dependency' : 'dependencies'}, ${count} ${count === 1 ? 'file' : 'files'}`
    : 'No dependencies';
  $('#deps-summary').title = [...repos].sort().join('\n');
  $('#clear-deps').hidden = !repos.size;
}

/** Opens a package read from disk (started: when the user dropped or picked it). */
async function openPackageFrom(entries, started) {
  const opened = await openPackage(await entries);
  const paths = Object.keys(opened.files);
  if (!paths.length) {
    const skipped = describeSkipped(opened);
    toast(`Nothing to open: no text files${skipped ? ` (${skipped})` : ''}`);
    return;
  }
  const main = paths.includes('main.star') ? 'main.star' : paths.sort()[0];
  await persist();
  const input = load({ files: opened.files, active: main, args: '', deps });
  history.pushState(null, '', location.pathname + location.search);
  persist();
  const note = [opened.hasManifest ? '' : 'no kurtosis.yml found', describeSkipped(opened)].filter(Boolean).join('; ');
  opening = { input, started, what: `${paths.length} files, ${lineCount(opened.files)} lines`, note };
}

async function openDependenciesFrom(entries) {
  const opened = await openDependencies(await entries);
  const count = Object.keys(opened.files).length;
  if (!count) {
    toast('No dependencies there: lay them out as github.com/ORG/REPO/ (or REPO@REF/ for a pinned one)');
    return;
  }
  deps = opened.files;
  showDeps();
  changed();
  const skipped = describeSkipped(opened);
  toast(`Dependencies: ${count} files${skipped ? `; ${skipped}` : ''}`);
}

const lineCount = (texts) => Object.values(texts).reduce((n, text) => n + text.split('\n').length, 0);

function reportOpened(checkMs) {
  const ms = Math.round(performance.now() - opening.started);
  window.playground.opened = { ms, checkMs: Math.round(checkMs), what: opening.what, note: opening.note };
  setStatus(`opened ${opening.what}; diagnostics in ${ms} ms`);
  toast(`Opened ${opening.what}${opening.note ? `; ${opening.note}` : ''}`);
  opening = null;
}

function failedToOpen(error) {
  toast(`Could not open it: ${error?.message ?? error}`);
}

for (const [selector, open] of [['#open-folder', openPackageFrom], ['#open-archive', openPackageFrom], ['#open-deps', openDependenciesFrom]]) {
  const input = $(selector);
  input.addEventListener('change', () => {
    const started = performance.now();
    const picked = input.files;
    open(entriesFromInput(picked), started).catch(failedToOpen).finally(() => { input.value = ''; });
  });
}
$('#clear-deps').addEventListener('click', () => {
  deps = {};
  showDeps();
  changed();
});

// Drag and drop: on the dependencies row it opens dependencies, anywhere else a package.
let dragDepth = 0;
const carriesFiles = (event) => event.dataTransfer?.types.includes('Files');
document.addEventListener('dragenter', (event) => {
  if (!carriesFiles(event)) return;
  dragDepth++;
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  if (dragDepth && --dragDepth === 0) document.body.classList.remove('dragging');
});
document.addEventListener('dragover', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  $('#deps').classList.toggle('drop-target', Boolean(event.target.closest?.('#deps')));
});
document.addEventListener('drop', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  $('#deps').classList.remove('drop-target');
  const started = performance.now();
  const entries = entriesFromDrop(event.dataTransfer);
  const open = event.target.closest?.('#deps') ? openDependenciesFrom : openPackageFrom;
  open(entries, started).catch(failedToOpen);
});

// --- header -----------------------------------------------------------------------------------
const picker = $('#examples');
picker.append(h('option', { value: '', disabled: true, selected: true }, 'Load an example…'),
  ...examples.map((example) => h('option', { value: example.id }, example.title)));
picker.addEventListener('change', async () => {
  const id = picker.value;
  picker.value = '';
  if (!id) return;
  // A new history entry: Back returns to the workspace the example replaced.
  await persist();
  const state = exampleState(id);
  history.pushState(null, '', await encodeHash(state));
  load(state);
  persist();
  toast(`Loaded “${examples.find((e) => e.id === id).title}”`);
});

$('#share').addEventListener('click', async () => {
  const url = await persist();
  if (!url) toast('This package is too large to fit in a link: share it as a folder or archive');
  else toast((await copyText(url)) ? 'Link copied: it holds every file and the args' : 'Copy the link from the address bar');
});
$('#new-file').addEventListener('click', () => tree.startAdd());

window.addEventListener('popstate', async () => {
  if (!isStateHash(location.hash)) return;
  const state = await decodeHash(location.hash);
  if (state) load(state);
});
// Flush a pending save so a reload right after typing keeps the last keystrokes.
window.addEventListener('pagehide', () => { if (saveTimer) persist(); });

// A handle for the end-to-end tests and for poking around in devtools.
window.playground = {
  get view() { return editor.view; },
  get state() { return { files: { ...files }, active, args, deps: { ...deps } }; },
  get analysis() { return last?.analysis ?? null; },
  /** True when the newest result is of exactly the current files and args. */
  get idle() {
    return Boolean(last) && last.input.args === args && last.input.deps === deps
      && JSON.stringify(last.input.files) === JSON.stringify(files);
  },
  /** Of the newest package opened from disk: {ms (drop to diagnostics), checkMs, what, note}. */
  opened: null,
};

// --- start ------------------------------------------------------------------------------------
const initial = (await decodeHash(location.hash)) ?? loadStored() ?? exampleState(DEFAULT_EXAMPLE);
load(initial);
persist();
