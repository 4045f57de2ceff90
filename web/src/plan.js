// The plan preview: services with their images (and where each image comes from), ports, the
// exact `nix build` command of every Nix image, the JSON document and the terminal rendering.
import { h, replaceChildren, shellCommand, copyText, toast, richText } from './dom.js';

const SOURCE_LABEL = {
  nix: 'Nix flake',
  registry: 'registry',
  registry_spec: 'registry (ImageSpec)',
  dockerfile: 'Dockerfile',
};

const SERVICE_STEPS = new Set(['add_service', 'set_service']);
const TASK_STEPS = new Set(['run_sh', 'run_python']);

function copyButton(text, what) {
  return h('button.copy', {
    type: 'button',
    title: `Copy ${what}`,
    onclick: async () => toast((await copyText(text())) ? `Copied ${what}` : 'Copy failed'),
  }, 'Copy');
}

function json(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One line that says what a step does. */
export function describeStep(step) {
  switch (step.instruction) {
    case 'add_service': case 'set_service':
      return `${step.name} ← ${step.config?.image ?? '?'}`;
    case 'exec': case 'request':
      return `${step.service_name}: ${step.recipe?.kind === 'exec' ? shellCommand(step.recipe.command ?? []) : `${step.recipe?.kind ?? ''} ${step.recipe?.endpoint ?? ''}`}`;
    case 'wait':
      return `${step.service_name ?? ''} until ${step.field} ${step.assertion} ${json(step.target_value)}`;
    case 'print':
      return step.msg;
    case 'verify':
      return `${json(step.value)} ${step.assertion} ${json(step.target_value)}`;
    case 'run_sh': case 'run_python':
      return `${step.image}: ${step.run.split('\n')[0]}`;
    case 'upload_files':
      return `${step.src} → ${step.name}`;
    case 'store_service_files':
      return `${step.service_name}:${step.src} → ${step.name}`;
    default:
      return step.name ?? step.service_name ?? '';
  }
}

export class PlanView {
  /** onJump({file, line, column}) opens a 1-based location; onDiagnostic(d) opens a diagnostic. */
  constructor(root, { onJump, onDiagnostic }) {
    this.root = root;
    this.onJump = onJump;
    this.onDiagnostic = onDiagnostic;
    this.diagnostics = [];
    this.tab = 'plan';
    this.analysis = null;
    this.tabs = root.querySelectorAll('[role=tab]');
    for (const tab of this.tabs) tab.addEventListener('click', () => this.select(tab.dataset.tab));
    this.panels = {
      plan: root.querySelector('#plan-panel'),
      json: root.querySelector('#json-panel'),
      terminal: root.querySelector('#terminal-panel'),
      rules: root.querySelector('#rules-panel'),
    };
    this.rules = [];
  }

  select(name) {
    this.tab = name;
    for (const tab of this.tabs) tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
    for (const [key, panel] of Object.entries(this.panels)) panel.hidden = key !== name;
  }

  /** Every rule the checker knows, with the ones that fired now marked. */
  setRules(rules) {
    this.rules = rules;
    this.renderRules();
  }

  renderRules() {
    const fired = new Map();
    for (const d of this.diagnostics) fired.set(d.code, (fired.get(d.code) ?? 0) + 1);
    replaceChildren(this.panels.rules,
      h('p.muted.small', `${this.rules.length} rules. The checks Kurtosis would make when it runs the package, and more.`),
      h('table.rules', h('tbody', this.rules.map((rule) => h('tr', { class: fired.has(rule.code) ? 'fired' : null },
        h('td', h('code', rule.code)),
        h('td', h(`span.sev.sev-${rule.severity}`, rule.severity)),
        h('td', h('div.rule-name', rule.name, fired.has(rule.code) ? h('span.badge.badge-error', `${fired.get(rule.code)}`) : null),
          h('div.muted.small', richText(rule.summary))))))));
  }

  location(at) {
    if (!at) return null;
    return h('button.loc', { type: 'button', title: 'Show in the editor', onclick: () => this.onJump(at) }, `${at.file}:${at.line}`);
  }

  update(analysis) {
    this.analysis = analysis;
    this.renderPlan(analysis);
    const report = { diagnostics: analysis.diagnostics, plan: analysis.plan };
    replaceChildren(this.panels.json,
      h('div.panel-tools', copyButton(() => JSON.stringify(report, null, 2), 'JSON')),
      h('pre.code-block', JSON.stringify(report, null, 2)));
    replaceChildren(this.panels.terminal,
      h('div.panel-tools', copyButton(() => `${analysis.rendered}\n${analysis.renderedPlan}`, 'output')),
      h('div.term-title', '$ starflake check'),
      h('pre.code-block.terminal', analysis.rendered),
      h('div.term-title', '$ starflake plan'),
      h('pre.code-block.terminal', analysis.renderedPlan));
  }

  /** The problems of a Nix image's flake, so a card says why its build would fail. */
  flakeProblems(image) {
    const flake = image.flake_dir ? `${image.flake_dir}/flake.nix` : 'flake.nix';
    return this.diagnostics
      .filter((d) => d.file === flake && (d.severity === 'error' || d.severity === 'warning'))
      .sort((a, b) => (a.severity === 'error' ? 0 : 1) - (b.severity === 'error' ? 0 : 1))
      .map((d) => h('button.image-problem', { type: 'button', class: `image-problem-${d.severity}`, title: `Go to ${flake}:${d.range.start.line + 1}`, onclick: () => this.onDiagnostic(d) },
        h(`span.sev.sev-${d.severity}`, d.severity), ' ', richText(d.message)));
  }

  imageSource(image) {
    if (!image) return h('div.muted', 'image not found in the plan');
    const rows = [
      h('div.kv', h('span.k', 'from'), h('span.v', h(`span.chip.chip-${image.source}`, SOURCE_LABEL[image.source] ?? image.source), ' ', this.location(image.defined_at))),
    ];
    if (image.source === 'nix') {
      rows.push(
        h('div.kv', h('span.k', 'flake'), h('code.v', image.installable)),
        image.flake?.description ? h('div.kv', h('span.k', 'about'), h('span.v', image.flake.description)) : null,
        h('div.kv', h('span.k', 'tries'), h('span.v.attrs', image.attribute_candidates.map((a) => h('code', a)))),
        image.flake ? this.flakeOutputs(image) : null,
        this.command(image),
        this.flakeProblems(image));
    } else if (image.source === 'dockerfile') {
      rows.push(h('div.kv', h('span.k', 'build'), h('code.v', `${image.dockerfile} in ${image.context_dir || '.'}${image.target_stage ? ` (stage ${image.target_stage})` : ''}`)));
    } else if (image.source === 'registry_spec' && image.registry) {
      rows.push(h('div.kv', h('span.k', 'registry'), h('code.v', image.registry)));
    }
    return rows;
  }

  /** The outputs the flake has, as far as a static reading knows; the one Nix builds marked. */
  flakeOutputs(image) {
    const SHOWN = 12;
    const { outputs, dynamic } = image.flake;
    const built = image.attribute_candidates.find((path) => outputs.includes(path));
    const items = outputs.slice(0, SHOWN).map((path) =>
      path === built ? h('code.built', { title: 'nix build builds this one' }, path) : h('code', path));
    if (outputs.length > SHOWN) items.push(h('span.muted', `and ${outputs.length - SHOWN} more`));
    if (dynamic) items.push(h('span.muted', outputs.length ? 'and more only Nix can evaluate' : 'only Nix can evaluate them'));
    if (items.length === 0) items.push(h('span.muted', 'none'));
    return h('div.kv', h('span.k', 'outputs'), h('span.v.attrs', items));
  }

  command(image) {
    const text = shellCommand(image.command);
    return h('div.command', h('pre.nix-command', text), copyButton(() => text, 'nix build command'));
  }

  ports(config) {
    const ports = Object.entries(config.ports ?? {});
    if (!ports.length) return null;
    return h('table.ports',
      h('thead', h('tr', h('th', 'port'), h('th', 'number'), h('th', 'protocol'), h('th', 'wait'))),
      h('tbody', ports.map(([id, p]) => h('tr',
        h('td', h('code', id)),
        h('td', String(p.number)),
        h('td', [p.transport_protocol, p.application_protocol].filter(Boolean).join(' / ')),
        h('td', p.wait ?? 'no wait')))));
  }

  details(config) {
    const rows = [];
    const env = Object.entries(config.env_vars ?? {});
    if (config.entrypoint?.length) rows.push(h('div.kv', h('span.k', 'entrypoint'), h('code.v', shellCommand(config.entrypoint))));
    if (config.cmd?.length) rows.push(h('div.kv', h('span.k', 'cmd'), h('code.v', shellCommand(config.cmd))));
    if (env.length) {
      rows.push(h('div.kv', h('span.k', 'env'), h('span.v.env', env.map(([k, v]) => h('code', `${k}=${v.length > 80 ? `${v.slice(0, 80)}…` : v}`)))));
    }
    const files = Object.keys(config.files ?? {});
    if (files.length) rows.push(h('div.kv', h('span.k', 'files'), h('span.v', files.join(', '))));
    return rows;
  }

  service(step, images) {
    const image = images.get(step.config?.image);
    return h('article.card.service', { dataset: { service: step.name } },
      h('header.card-head',
        h('span.service-name', step.name),
        step.instruction !== 'add_service' ? h('span.chip', step.instruction) : null,
        this.location(step.at)),
      h('div.kv', h('span.k', 'image'), h('code.v.image-name', step.config?.image ?? '?')),
      this.imageSource(image),
      this.ports(step.config ?? {}),
      this.details(step.config ?? {}));
  }

  task(step, images) {
    return h('article.card.service', { dataset: { task: step.name ?? step.instruction } },
      h('header.card-head', h('span.service-name', step.name ?? step.instruction), h('span.chip', step.instruction), this.location(step.at)),
      h('div.kv', h('span.k', 'image'), h('code.v.image-name', step.image)),
      this.imageSource(images.get(step.image)));
  }

  renderPlan({ plan, diagnostics }) {
    this.diagnostics = diagnostics;
    if (this.rules.length) this.renderRules();
    const images = new Map(plan.images.map((image) => [image.name, image]));
    const services = plan.steps.filter((s) => SERVICE_STEPS.has(s.instruction));
    const tasks = plan.steps.filter((s) => TASK_STEPS.has(s.instruction));
    const used = new Set([...services.map((s) => s.config?.image), ...tasks.map((s) => s.image)]);
    const otherImages = plan.images.filter((image) => !used.has(image.name));
    const nixImages = plan.images.filter((image) => image.source === 'nix');
    const errors = diagnostics.filter((d) => d.severity === 'error').length;

    replaceChildren(this.panels.plan,
      h('div.plan-summary',
        h('div', h('span.muted', 'package '), h('code', plan.package || '(no name)')),
        h('div.muted', `${services.length} service(s) · ${plan.images.length} image(s), ${nixImages.length} from Nix · built for ${plan.system}`)),
      errors ? h('div.notice.notice-error', `${errors} error(s): Kurtosis would stop before running this plan, and evaluation may have stopped early, so the plan can be incomplete.`) : null,
      services.length ? h('h3', 'Services') : h('p.empty', 'No services yet: call plan.add_service(...) in run().'),
      services.map((step) => this.service(step, images)),
      tasks.length ? [h('h3', 'Tasks'), tasks.map((step) => this.task(step, images))] : null,
      otherImages.length ? [h('h3', 'Other images'), otherImages.map((image) => h('article.card', h('div.kv', h('span.k', 'image'), h('code.v.image-name', image.name)), this.imageSource(image)))] : null,
      plan.steps.length ? [
        h('h3', 'Steps'),
        h('ol.steps', plan.steps.map((step) => h('li',
          h('code.step-kind', step.instruction), ' ',
          h('span.step-text', describeStep(step)), ' ',
          this.location(step.at)))),
      ] : null,
      plan.output !== undefined && plan.output !== null ? [h('h3', 'Returns'), h('pre.code-block', JSON.stringify(plan.output, null, 2))] : null);
  }
}
