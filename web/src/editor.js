// The code editor: one CodeMirror view, one EditorState per file (so each file keeps its own
// undo history and scroll), the language picked from the file name, and diagnostics pushed in
// from the checker's results rather than pulled by a linter.
import { EditorState, Compartment } from '@codemirror/state';
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, highlightSpecialChars, dropCursor, rectangularSelection,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import {
  indentOnInput, bracketMatching, syntaxHighlighting, HighlightStyle, indentUnit, foldGutter, foldKeymap,
} from '@codemirror/language';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search';
import { lintGutter, lintKeymap, setDiagnostics } from '@codemirror/lint';
import { python, pythonLanguage } from '@codemirror/lang-python';
import { yaml } from '@codemirror/lang-yaml';
import { nix } from '@replit/codemirror-lang-nix';
import { tags as t } from '@lezer/highlight';
import { h, richText } from './dom.js';

// Colors come from CSS variables, so one style serves the light and the dark theme.
export const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.definitionKeyword, t.moduleKeyword, t.operatorKeyword], color: 'var(--tok-keyword)' },
  { tag: [t.string, t.special(t.string)], color: 'var(--tok-string)' },
  { tag: [t.number, t.bool, t.null, t.atom], color: 'var(--tok-number)' },
  { tag: t.comment, color: 'var(--tok-comment)', fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: 'var(--tok-function)' },
  { tag: [t.definition(t.variableName), t.definition(t.propertyName)], color: 'var(--tok-definition)' },
  { tag: [t.propertyName, t.attributeName], color: 'var(--tok-property)' },
  { tag: [t.typeName, t.className], color: 'var(--tok-type)' },
  { tag: [t.operator, t.punctuation, t.bracket], color: 'var(--tok-punct)' },
  { tag: [t.url, t.link], color: 'var(--tok-string)', textDecoration: 'underline' },
  { tag: t.invalid, color: 'var(--error)' },
]);

const theme = EditorView.theme({
  '&': { height: '100%', fontSize: '13.5px', backgroundColor: 'var(--editor-bg)', color: 'var(--fg)' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55' },
  '.cm-content': { caretColor: 'var(--fg)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--fg)' },
  '.cm-gutters': { backgroundColor: 'var(--editor-bg)', color: 'var(--muted)', border: 'none' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)', color: 'var(--fg)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection': {
    backgroundColor: 'var(--selection) !important',
  },
  '.cm-tooltip': { backgroundColor: 'var(--panel)', color: 'var(--fg)', border: '1px solid var(--border)', borderRadius: '6px' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': { backgroundColor: 'var(--accent)', color: 'white' },
  '.cm-panels': { backgroundColor: 'var(--panel)', color: 'var(--fg)' },
  '.cm-searchMatch': { backgroundColor: 'var(--search-match)' },
  '.cm-flash': { animation: 'sf-flash 1.2s ease-out' },
});

const STARLARK_KEYWORDS = ['def', 'return', 'if', 'elif', 'else', 'for', 'in', 'not', 'and', 'or', 'pass', 'break', 'continue', 'lambda', 'True', 'False', 'None'];

/** A completion item for a builtin: its signature as detail, its documentation as info. */
function completion(builtin, type) {
  const params = builtin.params.map((param) => `${param.name}${param.required ? '' : '?'}: ${param.type}`);
  return { label: builtin.name, type, detail: `(${params.join(', ')}) -> ${builtin.returns}`, info: builtin.doc };
}

/** Completion of Kurtosis's predeclared names and plan.* instructions (from the wasm module). */
function starlarkCompletions(builtins) {
  return (context) => {
    const word = context.matchBefore(/[\w.]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    const dot = word.text.lastIndexOf('.');
    if (dot >= 0) {
      if (word.text.slice(0, dot) !== 'plan') return null;
      return {
        from: word.from + dot + 1,
        options: builtins.instructions.map((builtin) => completion(builtin, 'method')),
        validFor: /^\w*$/,
      };
    }
    return {
      from: word.from,
      options: [
        ...builtins.globals.map((builtin) => completion(builtin, /^[A-Z]/.test(builtin.name) ? 'class' : 'function')),
        ...STARLARK_KEYWORDS.map((label) => ({ label, type: 'keyword' })),
      ],
      validFor: /^\w*$/,
    };
  };
}

export function languageFor(path) {
  if (/\.(star|bzl|py)$/.test(path)) return 'starlark';
  if (/\.(ya?ml|json)$/.test(path)) return 'yaml';
  if (/\.nix$/.test(path)) return 'nix';
  return 'text';
}

/** Offset of a 0-based {line, character} (UTF-16), clamped into the document. */
export function offsetOf(doc, { line, character }) {
  if (line >= doc.lines) return doc.length;
  const l = doc.line(line + 1);
  return Math.min(l.from + Math.max(0, character), l.to);
}

/** The tooltip body: code, message, help and labels, all as text nodes. */
function renderDiagnostic(d, labelOf) {
  return () => h('div.sf-tip',
    h('div.sf-tip-head',
      h(`span.sev.sev-${d.severity}`, labelOf ? 'note' : d.severity),
      h('code.sf-code', d.code),
      h('span.sf-name', d.name)),
    h('div.sf-tip-message', richText(d.message)),
    labelOf ? h('div.sf-tip-related', `${labelOf.code}: `, richText(labelOf.message)) : null,
    !labelOf && d.help ? h('div.sf-tip-help', h('b', 'help: '), richText(d.help)) : null,
    !labelOf && d.labels?.length ? h('ul.sf-tip-labels', d.labels.map((l) => h('li', `${l.file}:${l.range.start.line + 1}: ${l.message}`))) : null);
}

/** Checker diagnostics (for one file) → CodeMirror diagnostics. */
export function toEditorDiagnostics(doc, diagnostics, path) {
  const out = [];
  const push = (d, range, severity, labelOf) => {
    let from = offsetOf(doc, range.start);
    let to = offsetOf(doc, range.end);
    if (to < from) [from, to] = [to, from];
    out.push({
      from, to, severity,
      message: labelOf ? `${d.message} (${labelOf.code})` : `${d.code}: ${d.message}${d.help ? `\nhelp: ${d.help}` : ''}`,
      markClass: `sf-mark sf-mark-${labelOf ? 'label' : d.code}`,
      renderMessage: renderDiagnostic(d, labelOf),
    });
  };
  for (const d of diagnostics) {
    if (d.file === path) push(d, d.range, d.severity === 'hint' ? 'hint' : d.severity, null);
    for (const label of d.labels ?? []) {
      if (label.file === path) {
        push({ ...d, message: label.message, severity: 'info' }, label.range, 'info', d);
      }
    }
  }
  return out;
}

export class Editor {
  /** onChange(path, text) is called after every edit of the open file. */
  constructor(parent, { onChange }) {
    this.onChange = onChange;
    this.states = new Map();
    this.path = null;
    this.builtins = { globals: [], instructions: [] };
    this.language = new Compartment();
    this.view = new EditorView({ parent, state: EditorState.create({ doc: '' }) });
  }

  extensions(path) {
    const kind = languageFor(path);
    const lang = {
      starlark: [python(), pythonLanguage.data.of({ autocomplete: starlarkCompletions(this.builtins) })],
      yaml: yaml(),
      nix: nix(),
      text: [],
    }[kind];
    return [
      lineNumbers(), highlightActiveLineGutter(), foldGutter(), lintGutter(), highlightSpecialChars(),
      history(), drawSelection(), dropCursor(), rectangularSelection(), indentOnInput(), bracketMatching(),
      closeBrackets(), autocompletion(), highlightActiveLine(), highlightSelectionMatches(),
      syntaxHighlighting(highlight), theme,
      indentUnit.of(kind === 'starlark' ? '    ' : '  '),
      EditorState.tabSize.of(kind === 'starlark' ? 4 : 2),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap,
        ...completionKeymap, ...lintKeymap, indentWithTab]),
      this.language.of(lang),
      EditorView.updateListener.of((update) => {
        if (update.docChanged && this.path === path) this.onChange(path, update.state.doc.toString());
      }),
      EditorView.contentAttributes.of({ 'aria-label': `Editor: ${path}`, 'data-path': path }),
    ];
  }

  /** Shows `path` with `text` (its own saved state when the text still matches). */
  open(path, text) {
    if (this.path) this.states.set(this.path, this.view.state);
    let state = this.states.get(path);
    if (!state || state.doc.toString() !== text) {
      state = EditorState.create({ doc: text, extensions: this.extensions(path) });
    }
    this.path = path;
    this.view.setState(state);
  }

  /** Forgets a file's state (deleted or renamed). */
  forget(path) {
    this.states.delete(path);
    if (this.path === path) this.path = null;
  }

  /** Shows diagnostics in the open file (already filtered to results of its current text). */
  showDiagnostics(diagnostics) {
    const state = this.view.state;
    this.view.dispatch(setDiagnostics(state, toEditorDiagnostics(state.doc, diagnostics, this.path)));
  }

  /** Selects a range, scrolls it to the middle and focuses the editor. */
  reveal(range) {
    const doc = this.view.state.doc;
    const from = offsetOf(doc, range.start);
    const to = offsetOf(doc, range.end);
    this.view.dispatch({
      selection: { anchor: from, head: to },
      effects: EditorView.scrollIntoView(from, { y: 'center' }),
    });
    this.view.focus();
  }

  get text() {
    return this.view.state.doc.toString();
  }
}
