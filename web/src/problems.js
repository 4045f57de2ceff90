// The problems list: every diagnostic of every file, errors first, each one a button that
// opens its file at its range.
import { h, replaceChildren, richText } from './dom.js';

const ORDER = { error: 0, warning: 1, info: 2, hint: 3 };

export function countBySeverity(diagnostics) {
  const count = { error: 0, warning: 0, info: 0 };
  for (const d of diagnostics) count[d.severity === 'hint' ? 'info' : d.severity] += 1;
  return count;
}

export function countByFile(diagnostics) {
  const counts = {};
  for (const d of diagnostics) {
    const count = (counts[d.file] ??= { error: 0, warning: 0, info: 0 });
    count[d.severity === 'hint' ? 'info' : d.severity] += 1;
  }
  return counts;
}

export function sortDiagnostics(diagnostics) {
  return [...diagnostics].sort((a, b) => (ORDER[a.severity] - ORDER[b.severity])
    || a.file.localeCompare(b.file)
    || a.range.start.line - b.range.start.line
    || a.range.start.character - b.range.start.character);
}

export class ProblemList {
  /** onJump(diagnostic); known(path) says whether the file is in the package. */
  constructor(list, { onJump, known }) {
    this.list = list;
    this.onJump = onJump;
    this.known = known;
  }

  update(diagnostics) {
    if (!diagnostics.length) {
      replaceChildren(this.list, h('li.problems-empty', '✓ No problems: Kurtosis would accept this package.'));
      return;
    }
    replaceChildren(this.list, sortDiagnostics(diagnostics).map((d) => {
      const where = `${d.file}:${d.range.start.line + 1}:${d.range.start.character + 1}`;
      return h('li',
        h('button.problem', {
          type: 'button',
          class: `sev-row-${d.severity}`,
          dataset: { code: d.code, file: d.file },
          title: this.known(d.file) ? `Go to ${where}` : `${d.file} is not in the package`,
          onclick: () => this.onJump(d),
        },
        h(`span.sev.sev-${d.severity}`, d.severity),
        h('span.problem-body',
          h('span.problem-message', richText(d.message)),
          d.help ? h('span.problem-help', 'help: ', richText(d.help)) : null,
          h('span.problem-where', `${d.code} ${d.name} · ${where}`))));
    }));
  }
}
