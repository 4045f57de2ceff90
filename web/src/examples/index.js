// Example packages to start from. Their files sit next to this module as plain files and are
// bundled as text.
const raw = import.meta.glob(['./*/**/*', '!./index.js'], { query: '?raw', import: 'default', eager: true });

const META = [
  {
    id: 'docs-darwin',
    title: 'Kurtosis docs example (macOS-only flake)',
    active: 'hello-go/flake.nix',
  },
  {
    id: 'hello-nix',
    title: 'Single Nix service (works)',
    active: 'main.star',
    args: '{\n  "greeting": "hi from the playground"\n}\n',
  },
  {
    id: 'shop',
    title: 'Three services in modules',
    active: 'main.star',
    args: 'db_name: shop\nworkers: 4\n',
  },
];

function filesOf(id) {
  const prefix = `./${id}/`;
  const files = {};
  for (const [path, text] of Object.entries(raw)) {
    if (path.startsWith(prefix)) files[path.slice(prefix.length)] = text;
  }
  return files;
}

export const examples = META.map((meta) => ({ ...meta, args: meta.args ?? '' }));

/** A fresh copy of an example as a playground state. */
export function exampleState(id) {
  const meta = examples.find((example) => example.id === id) ?? examples[0];
  return { files: filesOf(meta.id), active: meta.active, args: meta.args, example: meta.id };
}

export const DEFAULT_EXAMPLE = 'docs-darwin';
