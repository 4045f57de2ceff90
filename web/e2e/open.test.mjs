// End-to-end tests of opening real packages from disk: a folder through the file input, a .zip
// and .tar.gz dropped on the page, a folder of dependencies, and a large generated package.
// Every fixture is generated here, into a temporary folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { zipSync, strToU8 } from 'fflate';
import { serveDist, launch, openPage, settled, screenshot } from './harness.mjs';

let server;
let browser;
let scratch;

before(async () => {
  server = await serveDist();
  browser = await launch();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'starflake-open-'));
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

async function open(t) {
  const session = await openPage(browser, server.url);
  t.after(() => session.context.close());
  return session;
}

/** Writes {relative path: text or bytes} under a new folder of the scratch folder. */
async function writeTree(name, files) {
  const root = path.join(scratch, name);
  for (const [file, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await fs.writeFile(path.join(root, file), content);
  }
  return root;
}

// A package with a module three folders down whose path is over 100 bytes: in a ustar archive
// that path needs the header's prefix field.
const DEEP = `${'deeply-nested-folder-name/'.repeat(4)}services.star`;
const PACKAGE = {
  'kurtosis.yml': 'name: github.com/example/opened\n',
  'main.star': `services = import_module("./${DEEP}")\n\ndef run(plan):\n    services.launch(plan)\n`,
  [DEEP]: 'def launch(plan):\n    plan.add_service(name = "web", config = ServiceConfig(image = "nginx:1.25"))\n',
};
// What an opened package must leave out.
const NOISE = {
  'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00]),
  '.git/config': '[core]\n',
  '.git/HEAD': 'ref: refs/heads/main\n',
  'node_modules/left-pad/index.js': 'module.exports = 1;\n',
};

const within = (top, files) => Object.fromEntries(Object.entries(files).map(([p, c]) => [`${top}/${p}`, c]));

/** Waits for the diagnostics of a package opened from disk; returns what the page measured. */
async function openedPackage(page, name) {
  await page.waitForFunction((pkg) => window.playground.opened && window.playground.analysis?.plan.package === pkg,
    name, { timeout: 60000 });
  await settled(page);
  return page.evaluate(() => window.playground.opened);
}

/** Drops a file (an archive) on the page, as the browser would with a DataTransfer. */
async function drop(page, selector, name, bytes) {
  const dataTransfer = await page.evaluateHandle(({ fileName, base64 }) => {
    const transfer = new DataTransfer();
    const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([data], fileName));
    return transfer;
  }, { fileName: name, base64: Buffer.from(bytes).toString('base64') });
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}

const codes = (page) => page.evaluate(() => window.playground.analysis.diagnostics.map((d) => d.code));

test('a folder picked with "Open folder" is the package: its root is the folder of kurtosis.yml', async (t) => {
  // The picked folder holds the repository folder, as a downloaded and unpacked one does.
  const root = await writeTree('picked', within('opened-main', { ...PACKAGE, ...NOISE }));
  const { page, record } = await open(t);
  await page.setInputFiles('#open-folder', root);
  const opened = await openedPackage(page, 'github.com/example/opened');
  const state = await page.evaluate(() => window.playground.state);
  assert.deepEqual(Object.keys(state.files).sort(), Object.keys(PACKAGE).sort());
  assert.equal(state.active, 'main.star');
  assert.match(opened.note, /1 binary/);
  assert.match(opened.note, /2 \.git or node_modules folder/);
  assert.deepEqual(await codes(page), []);
  const plan = await page.evaluate(() => window.playground.analysis.plan.steps.map((s) => s.name));
  assert.deepEqual(plan, ['web']);
  assert.ok(await page.locator(`.tree-file[data-path="${DEEP}"]`).count());
  await screenshot(page, 'open-folder');
  assert.deepEqual(record.pageErrors, []);
});

test('a .zip dropped on the page opens, with its top folder stripped', async (t) => {
  const zip = zipSync(Object.fromEntries(Object.entries(within('repo-main', { ...PACKAGE, ...NOISE }))
    .map(([p, c]) => [p, typeof c === 'string' ? strToU8(c) : new Uint8Array(c)])));
  const { page, record } = await open(t);
  await drop(page, 'main', 'repo-main.zip', zip);
  const opened = await openedPackage(page, 'github.com/example/opened');
  assert.deepEqual(Object.keys(await page.evaluate(() => window.playground.state.files)).sort(), Object.keys(PACKAGE).sort());
  assert.match(opened.note, /1 binary/);
  assert.deepEqual(await codes(page), []);
  assert.deepEqual(record.pageErrors, []);
});

// tar writes a long path three ways: ustar's prefix field, GNU's long-name entry, a pax header.
for (const format of ['ustar', 'gnu', 'pax']) {
  test(`a .tar.gz (${format} headers) dropped on the page opens, long paths included`, async (t) => {
    const root = await writeTree(`tar-${format}`, within('repo-main', { ...PACKAGE, ...NOISE }));
    const archive = path.join(scratch, `repo-${format}.tar.gz`);
    execFileSync('tar', [`--format=${format}`, '-czf', archive, '-C', root, 'repo-main']);
    const { page, record } = await open(t);
    await drop(page, 'main', 'repo-main.tar.gz', await fs.readFile(archive));
    await openedPackage(page, 'github.com/example/opened');
    assert.deepEqual(Object.keys(await page.evaluate(() => window.playground.state.files)).sort(), Object.keys(PACKAGE).sort());
    assert.deepEqual(await codes(page), []);
    assert.deepEqual(record.pageErrors, []);
  });
}

const USES_DEPS = {
  'kurtosis.yml': 'name: github.com/example/uses-deps\nreplace:\n  github.com/dep/lib: github.com/dep/lib@v1.2.0\n',
  'main.star': 'lib = import_module("github.com/dep/lib/lib.star")\nother = import_module("github.com/dep/other/other.star")\n\n'
    + 'def run(plan):\n    lib.add_database(plan, "db")\n    other.add_web(plan)\n',
};
// The unpinned checkout of dep/lib lacks add_database: reading it instead of the pin would fail.
const DEPS = {
  'github.com/dep/lib@v1.2.0/kurtosis.yml': 'name: github.com/dep/lib\n',
  'github.com/dep/lib@v1.2.0/lib.star': 'def add_database(plan, name):\n    plan.add_service(name = name, config = ServiceConfig(image = "postgres:16"))\n',
  'github.com/dep/lib/kurtosis.yml': 'name: github.com/dep/lib\n',
  'github.com/dep/lib/lib.star': 'def add_db(plan, name):\n    pass\n',
  'github.com/dep/other/kurtosis.yml': 'name: github.com/dep/other\n',
  'github.com/dep/other/other.star': 'def add_web(plan):\n    plan.add_service(name = "web", config = ServiceConfig(image = "nginx:1.25"))\n',
};

/** Opens USES_DEPS, sees its imports unavailable, gives the dependencies, sees them resolved. */
async function resolvesWithDependencies(t, giveDependencies) {
  const { page, record } = await open(t);
  await page.setInputFiles('#open-folder', await writeTree(`uses-deps-${t.name.length}`, USES_DEPS));
  await openedPackage(page, 'github.com/example/uses-deps');
  // Without them the imports are unavailable: SF008, and their values are not checked.
  assert.ok((await codes(page)).includes('SF008'));
  await giveDependencies(page);
  await page.waitForFunction(() => !window.playground.analysis.diagnostics.some((d) => d.code === 'SF008'), null, { timeout: 20000 });
  await settled(page);
  assert.deepEqual(await codes(page), []);
  const steps = await page.evaluate(() => window.playground.analysis.plan.steps.map((s) => `${s.name} ${s.config.image}`));
  assert.deepEqual(steps, ['db postgres:16', 'web nginx:1.25']);
  assert.equal(await page.locator('#deps-summary').textContent(), '3 dependencies, 6 files');
  assert.equal(await page.locator('#deps-summary').getAttribute('title'), 'github.com/dep/lib\ngithub.com/dep/lib@v1.2.0\ngithub.com/dep/other');
  assert.deepEqual(record.pageErrors, []);
  return page;
}

test('a folder of dependencies resolves github.com imports, pinned ones at their ref', async (t) => {
  // Any folder above github.com/ (here the picked `packages/`) is stripped.
  const deps = await writeTree('deps', within('packages', DEPS));
  const page = await resolvesWithDependencies(t, (p) => p.setInputFiles('#open-deps', deps));
  await screenshot(page, 'open-deps');
});

test('a .zip of dependencies dropped on the dependencies row resolves them too', async (t) => {
  const zip = zipSync(Object.fromEntries(Object.entries(DEPS).map(([p, c]) => [p, strToU8(c)])));
  await resolvesWithDependencies(t, (page) => drop(page, '#deps', 'deps.zip', zip));
});

test('a large package (100 modules, 20,000 lines) opens and shows its diagnostics', async (t) => {
  const MODULES = 100;
  const FUNCTIONS = 40; // 5 lines each: 200 lines a module
  const files = { 'kurtosis.yml': 'name: github.com/example/large\n' };
  const imports = [];
  const calls = [];
  for (let m = 0; m < MODULES; m++) {
    const lines = [];
    for (let f = 0; f < FUNCTIONS; f++) {
      lines.push(`def helper_${f}(plan, count):`, `    total = count + ${f}`,
        `    names = ["m${m}-${f}-" + str(i) for i in range(3)]`, '    return total + len(names)', '');
    }
    lines.push('def launch(plan):', `    plan.add_service(name = "svc-${m}", config = ServiceConfig(image = "nginx:1.25"))`,
      `    return helper_${FUNCTIONS - 1}(plan, ${m})`);
    files[`src/module_${m}/launcher.star`] = `${lines.join('\n')}\n`;
    imports.push(`module_${m} = import_module("./src/module_${m}/launcher.star")`);
    calls.push(`    module_${m}.launch(plan)`);
  }
  // One genuine error, in the last module, so that the check must get there.
  files[`src/module_${MODULES - 1}/launcher.star`] += 'def broken(plan):\n    return undefined_name\n';
  files['main.star'] = `${imports.join('\n')}\n\ndef run(plan):\n${calls.join('\n')}\n`;
  const lines = Object.values(files).reduce((n, text) => n + text.split('\n').length - 1, 0);
  assert.ok(lines >= 20000, `${lines} lines`);
  const root = await writeTree('large', files);

  const { page, record } = await open(t);
  await page.setInputFiles('#open-folder', root);
  const opened = await openedPackage(page, 'github.com/example/large');
  const analysis = await page.evaluate(() => window.playground.analysis);
  // The broken module does not load (an unknown name is a compile error), so one service is missing.
  assert.equal(analysis.plan.steps.length, MODULES - 1);
  assert.ok(analysis.diagnostics.some((d) => d.file === `src/module_${MODULES - 1}/launcher.star` && d.severity === 'error'),
    JSON.stringify(analysis.diagnostics.map((d) => [d.code, d.file, d.message])));
  assert.ok(!analysis.diagnostics.some((d) => d.code === 'SF004'), 'the check finished within its budget');
  console.log(`large package: ${opened.what}; diagnostics shown ${opened.ms} ms after the folder was picked (the check itself: ${opened.checkMs} ms)`);

  // Typing stays cheap: a keystroke does not rebuild the file tree.
  const typed = await page.evaluate(async () => {
    const tree = document.querySelector('#tree');
    let rebuilt = 0;
    new MutationObserver((changes) => { rebuilt += changes.length; }).observe(tree, { childList: true });
    const view = window.playground.view;
    const started = performance.now();
    view.dispatch({ changes: { from: view.state.doc.length, insert: '\n# typed\n' } });
    const ms = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { rebuilt, ms };
  });
  assert.equal(typed.rebuilt, 0, 'the tree was rebuilt on a keystroke');
  console.log(`large package: a keystroke took ${typed.ms.toFixed(1)} ms on the main thread`);
  await settled(page);
  await screenshot(page, 'open-large');
  assert.deepEqual(record.pageErrors, []);
});
