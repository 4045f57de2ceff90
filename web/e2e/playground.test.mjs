// End-to-end tests of the built playground (web/dist) in the system's headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, openPage, ready, settled, replaceText, openFile, screenshot } from './harness.mjs';

let server;
let browser;
const allRequests = []; // every URL any page of any test asked for (test 6)

before(async () => {
  server = await serveDist();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(t, { query = '', colorScheme, setup } = {}) {
  const session = await openPage(browser, server.url + query, { colorScheme, setup });
  t.after(async () => {
    allRequests.push(...session.record.requests);
    await session.context.close();
  });
  return session;
}

async function loadExample(page, id, pkg) {
  await page.selectOption('#examples', id);
  await page.waitForFunction((name) => window.playground.analysis?.plan.package === name, pkg);
  await settled(page);
}

const diagnosticsOf = (page) => page.evaluate(() => window.playground.analysis.diagnostics);

/** Waits until the newest analysis has a diagnostic with this code. */
async function waitForCode(page, code, timeout = 15000) {
  await page.waitForFunction((c) => window.playground.analysis?.diagnostics.some((d) => d.code === c), code, { timeout });
}

/** The lint marks of a code in the editor: their text, their line's text and their offsets. */
function marksOf(page, code) {
  return page.evaluate((c) => {
    const view = window.playground.view;
    return [...document.querySelectorAll(`.cm-editor .sf-mark-${c}`)].map((el) => {
      const from = view.posAtDOM(el, 0);
      return {
        text: el.textContent,
        line: el.closest('.cm-line')?.textContent,
        from,
        to: from + el.textContent.length,
        severityClass: el.className,
      };
    });
  }, code);
}

test('1. the page loads with no console error and no page error', async (t) => {
  const { page, record } = await open(t);
  await settled(page);
  // The default example is the Kurtosis docs one: it has its error, and the UI says so. The
  // error is where Kurtosis would fail, at the instruction that uses the flake in main.star.
  assert.equal(await page.locator('.pill-error').getAttribute('data-count'), '1');
  assert.ok(await page.locator('.tree-file[data-path="main.star"] .badge-error').isVisible());
  assert.ok(await page.locator('.tree-file[data-path="hello-go/flake.nix"] .badge-warning').isVisible());
  assert.match(await page.locator('#problems').textContent(), /SF503/);
  assert.match(await page.locator('#version').textContent(), /^v\d+\.\d+\.\d+/);
  await screenshot(page, '1-loaded');
  // The rules tab lists every rule and marks the ones that fired.
  await page.locator('[role=tab][data-tab=rules]').click();
  assert.ok(await page.locator('#rules-panel tr').count() >= 40);
  assert.match(await page.locator('#rules-panel tr.fired').first().textContent(), /SF503|SF505/);
  await page.locator('[role=tab][data-tab=plan]').click();
  // The dark theme too (prefers-color-scheme).
  const dark = await open(t, { colorScheme: 'dark' });
  await settled(dark.page);
  await screenshot(dark.page, '1-loaded-dark');
  assert.deepEqual(record.console, []);
  assert.deepEqual(record.pageErrors, []);
  assert.deepEqual(dark.record.console, []);
  assert.deepEqual(dark.record.pageErrors, []);
});

test('2. an invalid NixBuildSpec gets a lint marker on exactly its characters, after an emoji', async (t) => {
  const { page, record } = await open(t);
  await loadExample(page, 'hello-nix', 'github.com/example/hello-nix');
  await openFile(page, 'main.star');
  await replaceText(page, [
    'def run(plan, args):',
    '    a = NixBuildSpec(description = "🚀 fast", image_name = "a:1", build_context_dir = "./app", flake_location_dir = ".", flake_output = "")',
    '    b = NixBuildSpec(description = "❄️ snow", image_name = "b:1", build_context_dir = "./app", flake_location_dir = ".", flake_outptu = "y")',
    '    plan.add_service(name = "a", config = ServiceConfig(image = a))',
    '    plan.add_service(name = "b", config = ServiceConfig(image = b))',
    '',
  ].join('\n'));
  await waitForCode(page, 'SF204');
  await waitForCode(page, 'SF202');
  await settled(page);

  const doc = await page.evaluate(() => window.playground.view.state.doc.toString());
  const lines = doc.split('\n');
  const lineStart = (n) => lines.slice(0, n).reduce((sum, l) => sum + l.length + 1, 0);

  const [empty] = await marksOf(page, 'SF204');
  assert.ok(empty, 'an SF204 mark is in the editor');
  assert.equal(empty.text, '""');
  assert.ok(empty.line.includes('🚀'), 'the mark is on the line with the emoji');
  const emptyFrom = lineStart(1) + lines[1].lastIndexOf('""');
  assert.deepEqual([empty.from, empty.to], [emptyFrom, emptyFrom + 2]);
  assert.match(empty.severityClass, /cm-lintRange-error/);

  const [unknown] = await marksOf(page, 'SF202');
  assert.ok(unknown, 'an SF202 mark is in the editor');
  assert.equal(unknown.text, 'flake_outptu = "y"');
  assert.ok(unknown.line.includes('❄️'));
  const unknownFrom = lineStart(2) + lines[2].indexOf('flake_outptu');
  assert.deepEqual([unknown.from, unknown.to], [unknownFrom, unknownFrom + 'flake_outptu = "y"'.length]);

  // The gutter has error markers on both lines; hovering shows the message and the help.
  assert.equal(await page.locator('.cm-gutter-lint .cm-lint-marker-error').count(), 2);
  await page.locator('.sf-mark-SF202').first().hover();
  const tip = page.locator('.cm-tooltip-lint');
  await tip.waitFor();
  assert.match(await tip.textContent(), /has no argument flake_outptu/);
  assert.match(await tip.textContent(), /did you mean flake_output\?/);

  // The problems list jumps to the place.
  await page.locator('.problem[data-code="SF204"]').click();
  const selection = await page.evaluate(() => window.playground.view.state.selection.main);
  assert.deepEqual([selection.from, selection.to], [emptyFrom, emptyFrom + 2]);
  await screenshot(page, '2-lint-marker');
  assert.deepEqual(record.pageErrors, []);
});

test('3. the plan preview shows the image and the exact nix build command', async (t) => {
  const { page } = await open(t);
  await loadExample(page, 'hello-nix', 'github.com/example/hello-nix');
  assert.equal(await page.locator('.pill-error').getAttribute('data-count'), '0');
  const card = page.locator('#plan-panel .service[data-service="hello-web"]');
  await card.waitFor();
  assert.equal((await card.locator('.image-name').first().textContent()).trim(), 'hello-nix:latest');
  assert.match(await card.textContent(), /Nix flake/);
  assert.match(await card.locator('.ports').textContent(), /http.*8080.*TCP/s);
  const command = (await card.locator('.nix-command').textContent()).trim();
  assert.match(command, /^nix --extra-experimental-features 'nix-command flakes' build .*--system x86_64-linux path:\.\/app#containerImage$/);
  // What the flake says of itself, and which of its outputs that command builds.
  assert.match(await card.textContent(), /hello-nix: a tiny httpd image, built without nixpkgs/);
  assert.equal(await card.locator('.attrs code.built').textContent(), 'packages.x86_64-linux.containerImage');

  // The JSON tab holds the same plan; the terminal tab what the CLI prints.
  await page.locator('[role=tab][data-tab=json]').click();
  const report = JSON.parse(await page.locator('#json-panel pre').textContent());
  assert.equal(report.plan.images[0].installable, 'path:./app#containerImage');
  await page.locator('[role=tab][data-tab=terminal]').click();
  assert.match(await page.locator('#terminal-panel').textContent(), /nix build of path:\.\/app#containerImage/);
  await page.locator('[role=tab][data-tab=plan]').click();

  // The multi-module example: three services, two Nix builds of one flake, one registry image.
  await loadExample(page, 'shop', 'github.com/example/shop');
  assert.equal(await page.locator('#plan-panel .service').count(), 3);
  const commands = await page.locator('#plan-panel .nix-command').allTextContents();
  assert.deepEqual(commands.map((c) => c.trim().split(' ').at(-1)), ['path:./nix#api', 'path:./nix#worker']);
  assert.match(await page.locator('#plan-panel .service[data-service="shop-db"]').textContent(), /postgres:16-alpine.*registry/s);
  await screenshot(page, '3-plan-preview');
});

test('4. the URL holds the workspace: a fresh page restores it', async (t) => {
  const { page } = await open(t);
  await loadExample(page, 'hello-nix', 'github.com/example/hello-nix');

  // Add a module through the tree, write it, use it from main.star, set args.
  await page.locator('#new-file').click();
  await page.locator('.tree-input').fill('lib/greeting.star');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.playground.state.active === 'lib/greeting.star');
  await replaceText(page, 'def text(name):\n    return "hello, " + name + " 🌍"\n');
  await openFile(page, 'main.star');
  const main = await page.evaluate(() => window.playground.state.files['main.star']);
  await replaceText(page, main.replace('def run(plan, args):', 'words = import_module("./lib/greeting.star")\n\ndef run(plan, args):')
    .replace('args.get("greeting", "hello from a Nix image")', 'words.text(args.get("who", "world"))'));
  await page.locator('#args-editor .cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText('who: Zoë\n');
  await page.waitForFunction(() => window.playground.analysis?.plan.steps[0]?.config?.env_vars?.GREETING === 'hello, Zoë 🌍');
  // Rename the module; main.star then needs the new path.
  await page.locator('.tree-file[data-path="lib/greeting.star"]').hover();
  await page.getByRole('button', { name: 'Rename lib/greeting.star' }).click();
  await page.locator('.tree-input').fill('lib/hello.star');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.playground.analysis.diagnostics.some((d) => /greeting\.star/.test(d.message)));
  await openFile(page, 'main.star');
  const main2 = await page.evaluate(() => window.playground.state.files['main.star']);
  await replaceText(page, main2.replace('./lib/greeting.star', './lib/hello.star'));
  await page.waitForFunction(() => window.playground.analysis?.diagnostics.length === 0 && window.playground.analysis.plan.steps.length > 0);
  await page.getByRole('button', { name: 'Share' }).click();
  await page.locator('.toast', { hasText: 'Link copied' }).waitFor();
  const saved = await page.evaluate(() => window.playground.state);
  const url = page.url();
  assert.ok(new URL(url).hash.startsWith('#v1.'));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url, 'Share copied the URL');
  assert.ok(url.length < 4000, `the link stays short (${url.length} characters)`);
  await screenshot(page, '4-before-share');

  // A new context: nothing in localStorage, only the URL.
  const fresh = await open(t, { query: new URL(url).hash });
  assert.equal(await fresh.page.evaluate(() => localStorage.length === 0 || !!localStorage.getItem('starflake-playground/v1')), true);
  await settled(fresh.page);
  const restored = await fresh.page.evaluate(() => window.playground.state);
  assert.deepEqual(restored, saved);
  assert.ok(await fresh.page.locator('.tree-file[data-path="lib/hello.star"]').isVisible());
  assert.equal(await fresh.page.evaluate(() => window.playground.analysis.plan.steps[0].config.env_vars.GREETING), 'hello, Zoë 🌍');
  assert.equal((await fresh.page.locator('#args-editor .cm-content').textContent()).trim(), 'who: Zoë');

  // And a reload of a bare URL comes back from localStorage.
  await fresh.page.goto(server.url);
  await ready(fresh.page);
  assert.deepEqual(await fresh.page.evaluate(() => window.playground.state), saved);
  await screenshot(fresh.page, '4-restored');
});

// Nested loops: a single huge range is refused up front (SF004 with another message), while this
// only runs out of time.
const RUNAWAY = 'def run(plan, args):\n    for i in range(100000):\n        for j in range(100000):\n            x = j\n';

test('5. a runaway loop is stopped and the page stays responsive', async (t) => {
  const { page } = await open(t);
  await loadExample(page, 'hello-nix', 'github.com/example/hello-nix');
  await openFile(page, 'main.star');

  // The module's own deadline: SF004.
  await replaceText(page, RUNAWAY);
  // While the worker loops, the main thread still takes keystrokes at once.
  await page.keyboard.press('Control+End');
  await page.waitForFunction(() => document.body.classList.contains('checking'));
  const before = Date.now();
  await page.keyboard.type('# still typing');
  assert.ok(Date.now() - before < 800, `typing is not blocked by the check (${Date.now() - before} ms)`);
  assert.match(await page.evaluate(() => window.playground.view.state.doc.toString()), /# still typing$/);
  await waitForCode(page, 'SF004', 10000);
  assert.match(await page.locator('#problems').textContent(), /did not finish/);
  await screenshot(page, '5-runaway-sf004');

  // Still alive: a new edit gets new diagnostics.
  await replaceText(page, 'def run(plan, args):\n    plan.add_service(name = "web", config = ServiceConfig(image = undefined_thing))\n');
  await waitForCode(page, 'SF002');

  // The hard stop: with a watchdog shorter than the module's deadline, the worker is killed
  // and replaced, and the next check still works.
  const hard = await open(t, { query: '?hardStopMs=300' });
  await loadExample(hard.page, 'hello-nix', 'github.com/example/hello-nix');
  await openFile(hard.page, 'main.star');
  await replaceText(hard.page, RUNAWAY);
  await hard.page.waitForFunction(() => /stopped after/.test(document.querySelector('#status').textContent), null, { timeout: 10000 });
  await waitForCode(hard.page, 'SF004');
  assert.match(await hard.page.locator('#problems').textContent(), /was stopped/);
  await screenshot(hard.page, '5-hard-stop');
  await replaceText(hard.page, 'def run(plan, args):\n    plan.add_service(name = "web", config = ServiceConfig(image = nope))\n');
  await waitForCode(hard.page, 'SF002');
  assert.match(await hard.page.locator('#status').textContent(), /checked in/);
  assert.deepEqual(hard.record.pageErrors, []);
});

test('6. no request leaves 127.0.0.1', async (t) => {
  const { page, record } = await open(t);
  // Use every part of the page once more: examples, tabs, files, hover, share.
  for (const [id, pkg] of [['shop', 'github.com/example/shop'], ['hello-nix', 'github.com/example/hello-nix'], ['docs-darwin', 'github.com/example/nix-docs-example']]) {
    await loadExample(page, id, pkg);
  }
  for (const tab of ['json', 'terminal', 'plan']) await page.locator(`[role=tab][data-tab=${tab}]`).click();
  await openFile(page, 'main.star');
  await page.keyboard.insertText('# edit\n');
  await page.getByRole('button', { name: 'Share' }).click();
  await settled(page);
  await screenshot(page, '6-network');
  allRequests.push(...record.requests);
  assert.ok(allRequests.length > 10, `requests were recorded (${allRequests.length})`);
  const outside = allRequests.filter((url) => {
    const { protocol, hostname } = new URL(url);
    return !(protocol === 'data:' || protocol === 'blob:' || hostname === '127.0.0.1');
  });
  assert.deepEqual(outside, []);
});

test('7. markup in a diagnostic message stays text', async (t) => {
  const { page, record } = await open(t);
  let dialogs = 0;
  page.on('dialog', async (dialog) => {
    dialogs += 1;
    await dialog.dismiss();
  });
  await loadExample(page, 'hello-nix', 'github.com/example/hello-nix');
  await openFile(page, 'main.star');
  await replaceText(page, 'def run(plan, args):\n    plan.add_service(name = "<img src=x onerror=alert(1)>", config = ServiceConfig(image = "nginx:1.27"))\n');
  await waitForCode(page, 'SF301');
  await settled(page);

  const problem = page.locator('.problem[data-code="SF301"] .problem-message');
  assert.match(await problem.textContent(), /^<img src=x onerror=alert\(1\)> is not a valid service name/);
  assert.equal(await problem.locator('code').first().textContent(), '<img src=x onerror=alert(1)>');
  assert.match(await page.locator('#plan-panel .service-name').first().textContent(), /^<img src=x onerror=alert\(1\)>$/);
  await page.locator('[role=tab][data-tab=terminal]').click();
  assert.match(await page.locator('#terminal-panel').textContent(), /<img src=x/);
  await page.locator('[role=tab][data-tab=plan]').click();
  await page.locator('.sf-mark-SF301').first().hover();
  const tip = page.locator('.cm-tooltip-lint');
  await tip.waitFor();
  assert.match(await tip.textContent(), /<img src=x onerror=alert\(1\)>/);
  await screenshot(page, '7-html-as-text');

  assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
  assert.equal(dialogs, 0, 'no script ran');
  assert.deepEqual(record.pageErrors, []);
});

// Prepended by test 8 to the checker worker's script as the test server sends it, never part of
// the playground: keeps every WebAssembly instance the worker makes, and lets the test overwrite
// the newest one's memory with zeros, as a wild write would.
const MEMORY_ZEROER = `{
  const instances = [];
  const { instantiate, instantiateStreaming, Instance } = WebAssembly;
  WebAssembly.instantiate = async (...args) => {
    const made = await instantiate(...args);
    instances.push(made.instance ?? made);
    return made;
  };
  WebAssembly.instantiateStreaming = async (...args) => {
    const made = await instantiateStreaming(...args);
    instances.push(made.instance);
    return made;
  };
  WebAssembly.Instance = class extends Instance {
    constructor(...args) {
      super(...args);
      instances.push(this);
    }
  };
  self.zeroWasmMemory = () => new Uint8Array(instances.at(-1).exports.memory.buffer).fill(0);
}
`;

test('8. a trap of the module is reported as SF900, and the next edit is checked', async (t) => {
  const { page, record } = await open(t, {
    setup: (context) =>
      context.route(/\/worker[^/]*\.js$/, async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, body: MEMORY_ZEROER + (await response.text()) });
      }),
  });
  await loadExample(page, 'hello-nix', 'github.com/example/hello-nix');
  await openFile(page, 'main.star');
  const checker = page.workers().find((worker) => /worker[^/]*\.js$/.test(worker.url()));
  assert.ok(checker, `the checker worker (${page.workers().map((worker) => worker.url())})`);

  await checker.evaluate(() => self.zeroWasmMemory());
  await replaceText(page, 'def run(plan, args):\n    plan.add_service(name = "web", config = ServiceConfig(image = nope))\n');
  await waitForCode(page, 'SF900');
  assert.match(await page.locator('#problems').textContent(), /checker failed \(RuntimeError: .+\) and was restarted/);
  await screenshot(page, '8-trap-sf900');

  // The same worker, on a fresh instance of the module: the next edit gets its diagnostics.
  await page.keyboard.insertText('# again\n');
  await waitForCode(page, 'SF002');
  const codes = (await diagnosticsOf(page)).map((diagnostic) => diagnostic.code);
  assert.ok(!codes.includes('SF900'), `no SF900 once restarted: ${codes}`);
  assert.ok(page.workers().includes(checker), 'the worker was not replaced');
  assert.deepEqual(record.pageErrors, []);
});
