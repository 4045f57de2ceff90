// The args editor: a small YAML editor (JSON is YAML too) whose text is passed as the
// Workspace's `args` option; diagnostics about args (file "args") are shown in it.
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, placeholder, drawSelection } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { syntaxHighlighting } from '@codemirror/language';
import { setDiagnostics } from '@codemirror/lint';
import { yaml } from '@codemirror/lang-yaml';
import { toEditorDiagnostics, offsetOf, highlight } from './editor.js';

export const ARGS_FILE = 'args';

export class ArgsEditor {
  constructor(parent, { onChange }) {
    this.view = new EditorView({
      parent,
      state: EditorState.create({
        extensions: [
          history(), drawSelection(), yaml(), syntaxHighlighting(highlight),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          placeholder('{"name": "value"}'),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'Args (JSON or YAML)' }),
          EditorView.theme({
            '&': { height: '100%', fontSize: '12.5px', backgroundColor: 'var(--editor-bg)', color: 'var(--fg)' },
            '.cm-scroller': { fontFamily: 'var(--mono)' },
            '.cm-content': { caretColor: 'var(--fg)' },
          }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged && !this.silent) onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
  }

  /** Replaces the text without reporting it as an edit. */
  set(text) {
    this.silent = true;
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
    this.silent = false;
  }

  get text() {
    return this.view.state.doc.toString();
  }

  reveal(range) {
    const doc = this.view.state.doc;
    this.view.dispatch({ selection: { anchor: offsetOf(doc, range.start), head: offsetOf(doc, range.end) }, scrollIntoView: true });
    this.view.focus();
  }

  showDiagnostics(diagnostics) {
    const state = this.view.state;
    this.view.dispatch(setDiagnostics(state, toEditorDiagnostics(state.doc, diagnostics, ARGS_FILE)));
  }
}
