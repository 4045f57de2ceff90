// The file tree: folders come from the paths, each row carries the counts of its diagnostics,
// and adding or renaming happens in an inline text field (no prompt()).
import { h, replaceChildren } from './dom.js';
import { languageFor } from './editor.js';

const ICONS = { starlark: '★', yaml: '⚙', nix: '❄', text: '·' };

/** Checks a path typed by the user; returns an error message or null. */
export function pathProblem(path, paths, except = null) {
  if (!path) return 'type a file name';
  if (path.startsWith('/') || path.endsWith('/')) return 'a path relative to the package root, ending in a file name';
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'no empty, "." or ".." parts';
  if (/[\\\0]/.test(path)) return 'no backslashes';
  const others = paths.filter((p) => p !== except);
  if (others.includes(path)) return 'a file with this path already exists';
  if (others.some((p) => p.startsWith(`${path}/`))) return 'a folder with this path already exists';
  if (others.some((p) => path.startsWith(`${p}/`))) return `"${path.split('/')[0]}" is a file, not a folder`;
  return null;
}

function buildTree(paths) {
  const root = { folders: new Map(), files: [] };
  for (const path of paths) {
    const parts = path.split('/');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      if (!node.folders.has(part)) node.folders.set(part, { folders: new Map(), files: [] });
      node = node.folders.get(part);
    }
    node.files.push(path);
  }
  return root;
}

function sum(counts, paths) {
  const total = { error: 0, warning: 0, info: 0 };
  for (const path of paths) for (const key of Object.keys(total)) total[key] += counts[path]?.[key] ?? 0;
  return total;
}

function badges(count) {
  return [
    count.error ? h('span.badge.badge-error', { title: `${count.error} error(s)` }, count.error) : null,
    count.warning ? h('span.badge.badge-warning', { title: `${count.warning} warning(s)` }, count.warning) : null,
    !count.error && !count.warning && count.info ? h('span.badge.badge-info', { title: `${count.info} note(s)` }, count.info) : null,
  ];
}

export class FileTree {
  /** handlers: onOpen(path), onAdd(path), onRename(from, to), onDelete(path) */
  constructor(element, handlers) {
    this.element = element;
    this.handlers = handlers;
    this.paths = [];
    this.active = null;
    this.counts = {};
    this.editing = null; // {mode: 'add' | 'rename', path, value, error}
  }

  update({ paths = this.paths, active = this.active, counts = this.counts }) {
    this.paths = [...paths].sort();
    this.active = active;
    this.counts = counts;
    // Typing calls this on every keystroke: rebuild the rows only when what they show changed.
    const shown = JSON.stringify([this.paths, active, counts]);
    if (shown === this.shown) return;
    // Re-rendering would reset a name being typed: the badges catch up when it is done.
    if (!this.editing) this.render();
  }

  startAdd(prefix = '') {
    this.editing = { mode: 'add', path: null, value: prefix, error: null };
    this.render();
  }

  startRename(path) {
    this.editing = { mode: 'rename', path, value: path, error: null };
    this.render();
  }

  commit(value) {
    const editing = this.editing;
    const path = value.trim();
    const problem = pathProblem(path, this.paths, editing.mode === 'rename' ? editing.path : null);
    if (problem) {
      this.editing = { ...editing, value, error: problem };
      this.render();
      return;
    }
    this.editing = null;
    if (editing.mode === 'add') this.handlers.onAdd(path);
    else if (path !== editing.path) this.handlers.onRename(editing.path, path);
    else this.render();
  }

  cancel() {
    this.editing = null;
    this.render();
  }

  input() {
    const editing = this.editing;
    const field = h('input.tree-input', {
      type: 'text',
      value: editing.value,
      spellcheck: 'false',
      'aria-label': editing.mode === 'add' ? 'New file path' : `Rename ${editing.path}`,
      placeholder: 'folder/name.star',
      oninput: () => { editing.value = field.value; },
      onkeydown: (event) => {
        if (event.key === 'Enter') this.commit(field.value);
        else if (event.key === 'Escape') this.cancel();
      },
      onblur: () => {
        // Leaving the field without Enter keeps the tree as it was.
        if (this.editing === editing) setTimeout(() => this.editing === editing && this.cancel(), 0);
      },
    });
    queueMicrotask(() => {
      field.focus();
      if (editing.mode === 'rename') {
        const slash = editing.value.lastIndexOf('/') + 1;
        const dot = editing.value.lastIndexOf('.');
        field.setSelectionRange(slash, dot > slash ? dot : editing.value.length);
      } else {
        field.setSelectionRange(field.value.length, field.value.length);
      }
    });
    return h('div.tree-edit', field, editing.error ? h('div.tree-error', editing.error) : null);
  }

  fileRow(path, depth) {
    if (this.editing?.mode === 'rename' && this.editing.path === path) return this.input();
    const name = path.slice(path.lastIndexOf('/') + 1);
    const kind = languageFor(path);
    return h('div.tree-row.tree-file', {
      class: path === this.active ? 'active' : null,
      style: `--depth:${depth}`,
      dataset: { path },
    },
    h('button.tree-open', {
      type: 'button',
      title: path,
      'aria-current': path === this.active ? 'page' : null,
      onclick: () => this.handlers.onOpen(path),
      ondblclick: () => this.startRename(path),
    },
    h(`span.tree-icon.icon-${kind}`, { 'aria-hidden': 'true' }, ICONS[kind]),
    h('span.tree-name', name),
    badges(this.counts[path] ?? {})),
    h('span.tree-actions',
      h('button.icon-button', { type: 'button', title: `Rename ${path}`, 'aria-label': `Rename ${path}`, onclick: () => this.startRename(path) }, '✎'),
      h('button.icon-button', {
        type: 'button',
        title: `Delete ${path}`,
        'aria-label': `Delete ${path}`,
        onclick: () => {
          if (confirm(`Delete ${path}?`)) this.handlers.onDelete(path);
        },
      }, '✕')));
  }

  folder(name, prefix, node, depth) {
    const paths = this.paths.filter((p) => p.startsWith(`${prefix}/`));
    return [
      h('div.tree-row.tree-folder', { style: `--depth:${depth}`, dataset: { folder: prefix } },
        h('span.tree-label',
          h('span.tree-icon', { 'aria-hidden': 'true' }, '▾'),
          h('span.tree-name', `${name}/`),
          badges(sum(this.counts, paths))),
        h('span.tree-actions',
          h('button.icon-button', { type: 'button', title: `New file in ${prefix}/`, 'aria-label': `New file in ${prefix}/`, onclick: () => this.startAdd(`${prefix}/`) }, '+'))),
      this.nodes(node, prefix, depth + 1),
    ];
  }

  nodes(node, prefix, depth) {
    const folders = [...node.folders.entries()].sort(([a], [b]) => a.localeCompare(b));
    return [
      ...folders.map(([name, child]) => this.folder(name, prefix ? `${prefix}/${name}` : name, child, depth)),
      ...node.files.map((path) => this.fileRow(path, depth)),
    ];
  }

  render() {
    this.shown = JSON.stringify([this.paths, this.active, this.counts]);
    replaceChildren(this.element,
      this.editing?.mode === 'add' ? this.input() : null,
      this.nodes(buildTree(this.paths), '', 0),
      this.paths.length ? null : h('p.empty', 'No files. Add main.star and kurtosis.yml.'));
  }
}
