// Shared by the end-to-end tests: a static server for web/dist on 127.0.0.1 (a free port), the
// system's Chromium driven by playwright-core (which never downloads a browser), and a page
// wrapper that records console errors, page errors and every request.
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DIST = path.resolve(here, '../dist');
export const ARTIFACTS = path.resolve(here, '../../tests/artifacts/web');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

export async function serveDist() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const file = path.join(DIST, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname));
    if (!file.startsWith(DIST)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

export async function launch() {
  await fs.mkdir(ARTIFACTS, { recursive: true });
  // playwright makes its own empty temporary profile for launch(); the flags keep Chromium
  // from phoning home (updates, sync, field trials) so the only traffic is to the test server.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new context + page that records what the tests assert on. `setup(context)` runs before
 * the page loads (to route requests, for example). */
export async function openPage(browser, url, { colorScheme = 'light', setup } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme });
  await setup?.(context);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin }).catch(() => {});
  const page = await context.newPage();
  const record = { console: [], pageErrors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') record.console.push(message.text());
  });
  page.on('pageerror', (error) => record.pageErrors.push(String(error)));
  context.on('request', (request) => record.requests.push(request.url()));
  await page.goto(url);
  await ready(page);
  return { context, page, record };
}

/** Waits until the checker has answered at least once. */
export async function ready(page) {
  await page.waitForFunction(() => Boolean(window.playground?.analysis), null, { timeout: 20000 });
}

/** Waits until the newest analysis is of the current files and args. */
export async function settled(page) {
  await page.waitForFunction(() => window.playground.idle, null, { timeout: 20000 });
}

/** Replaces the open file's text as if typed: focus, select all, insert. */
export async function replaceText(page, text) {
  await page.locator('.cm-content[data-path]').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

export async function openFile(page, filePath) {
  await page.locator(`.tree-file[data-path="${filePath}"] .tree-open`).click();
  await page.waitForFunction((p) => window.playground.state.active === p, filePath);
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}
