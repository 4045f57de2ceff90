// The generated package of benches/large_package (about 20,000 lines over 100 modules), for the wasm
// benchmarks (scripts/bench-wasm.mjs, scripts/bench-lsp-wasm.mjs). A port of the Rust generator,
// whose size constants it reads; bench-wasm.mjs checks that both produce a package of the same
// size and that the CLI's report on it equals the wasm one.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const benchSource = readFileSync(join(root, 'benches/large_package/mod.rs'), 'utf8');
function constant(name) {
  const found = benchSource.match(new RegExp(`const ${name}: usize = (\\d+);`));
  if (!found) {
    console.error(`error: no \`const ${name}\` in benches/large_package/mod.rs; update scripts/bench-package.mjs`);
    process.exit(2);
  }
  return Number(found[1]);
}
export const MODULES = constant('MODULES');
export const SERVICES_PER_MODULE = constant('SERVICES_PER_MODULE');

function module(index) {
  let text = `shared = import_module("/src/shared.star")\n\nPREFIX = "m${index}"\nDEFAULTS = {\n    "cpu": 500,\n    "memory": 256,\n    "labels": {"team": "t${index}", "tier": "backend"},\n}\n\n`;
  text +=
    'def env_for(name, extra):\n    env = {"SERVICE": name, "PREFIX": PREFIX}\n    for key, value in extra.items():\n        env[key.upper()] = str(value)\n    return env\n\n';
  text += 'def launch(plan, args):\n    services = []\n';
  for (let service = 0; service < SERVICES_PER_MODULE; service++) {
    const port = 8000 + service;
    const metrics = 9000 + service;
    const flake = service % 4;
    text += `    # service ${service} of module ${index}
    ports_${service} = {
        "http": PortSpec(number = ${port}, application_protocol = "http", wait = "30s"),
        "metrics": PortSpec(number = ${metrics}, transport_protocol = "TCP"),
    }
    env_${service} = env_for("svc-${index}-${service}", {"replicas": ${service}, "debug": False, "peers": ",".join([str(p) for p in range(3)])})
    image_${service} = NixBuildSpec(
        image_name = "bench/m${index}-s${service}:v1",
        build_context_dir = "/nix",
        flake_location_dir = "app${flake}",
        flake_output = "image",
    ) if ${service} % 3 == 0 else "registry.local/bench/m${index}-s${service}:v1"
    config_${service} = ServiceConfig(
        image = image_${service},
        ports = ports_${service},
        env_vars = env_${service},
        cmd = ["serve", "--port", "${port}"],
        max_cpu = DEFAULTS["cpu"],
        max_memory = DEFAULTS["memory"],
        labels = DEFAULTS["labels"],
    )
    services.append(plan.add_service(name = shared.name(PREFIX, ${service}), config = config_${service}))
`;
  }
  text += '    return services\n';
  return text;
}

/** The package with the first `modules` modules, as path → text. */
export function benchPackage(modules = MODULES) {
  const files = {
    'kurtosis.yml': 'name: github.com/bench/large-package\n',
    'src/shared.star': 'def name(prefix, index):\n    return "%s-svc-%d" % (prefix, index)\n',
  };
  let main = '';
  for (let index = 0; index < modules; index++) {
    main += `m${index} = import_module("/src/m${index}.star")\n`;
    files[`src/m${index}.star`] = module(index);
  }
  main += '\ndef run(plan, args):\n';
  for (let index = 0; index < modules; index++) main += `    m${index}.launch(plan, args)\n`;
  files['main.star'] = main;
  for (let flake = 0; flake < 4; flake++) {
    files[`nix/app${flake}/flake.nix`] =
      '{\n  outputs = { self }: {\n    packages.x86_64-linux.image = derivation { system = "x86_64-linux"; name = "image.tar"; builder = "/bin/sh"; };\n  };\n}\n';
  }
  return files;
}

/** Lines and files of the Starlark sources, counted as the Rust bench counts them. */
export function starlarkLines(files) {
  const sources = Object.keys(files).filter((path) => path.endsWith('.star'));
  const lines = sources.reduce((sum, path) => sum + files[path].split('\n').length - 1, 0);
  return { lines, sources: sources.length };
}
