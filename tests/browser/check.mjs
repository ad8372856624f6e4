// Browser checks of the golden reports in testdata/golden/:
// - every ```mermaid block of every Markdown report parses and renders with the
//   real mermaid library, drawing as many nodes as the block declares;
// - every HTML report loads from disk with the network off, without errors or
//   requests, shows the first deadlock highlighted, and highlights a thread's
//   edges when its table row is clicked. Screenshots go to target/browser/.
//
// Run: npm ci && node check.mjs   (CHROMIUM overrides /usr/bin/chromium)

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const golden = join(root, 'testdata', 'golden');
const shots = join(root, 'target', 'browser');

function walk(dir, ext) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p, ext));
    else if (p.endsWith(ext)) out.push(p);
  }
  return out;
}

let passed = 0;
let failed = 0;
function check(what, ok, detail) {
  if (ok) {
    passed += 1;
  } else {
    failed += 1;
    console.log(`FAIL ${what}: ${detail}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});

// ---- mermaid ----
{
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  await page.setContent('<!DOCTYPE html><html><body></body></html>');
  await page.addScriptTag({ path: join(here, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js') });
  await page.evaluate(() => window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' }));
  let blocks = 0;
  for (const md of walk(golden, '.md')) {
    const text = readFileSync(md, 'utf8');
    const found = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
    for (const [i, code] of found.entries()) {
      blocks += 1;
      const declared = code.split('\n').filter((l) => /^\s+[tul]\d+[[(]/.test(l)).length;
      const res = await page.evaluate(async ([code, id]) => {
        try {
          await window.mermaid.parse(code);
          const { svg } = await window.mermaid.render(id, code);
          return { ok: true, nodes: (svg.match(/class="node[ "]/g) || []).length };
        } catch (e) {
          return { ok: false, err: String((e && e.message) || e) };
        }
      }, [code, `m${blocks}`]);
      const name = `mermaid ${relative(root, md)}#${i}`;
      check(name, res.ok, res.err);
      if (res.ok) check(`${name} nodes`, res.nodes === declared, `${res.nodes} drawn, ${declared} declared`);
    }
  }
  check('mermaid blocks found', blocks >= 10, `only ${blocks}`);
  await context.close();
}

// ---- HTML ----
mkdirSync(shots, { recursive: true });
for (const file of walk(golden, '.html')) {
  const name = relative(golden, file);
  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
  const requests = [];
  context.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(file).href);
  await page.screenshot({ path: join(shots, `${name.replaceAll('/', '__')}.png`), fullPage: false });
  check(`${name} loads without errors`, errors.length === 0, errors.join('; '));
  check(`${name} fetches nothing`, requests.length === 0, requests.join(', '));

  const deadlock = await page.$eval('h1', (h) => h.classList.contains('deadlock'));
  const first = await page.$eval('body', (b) => b.dataset.firstDeadlock || '');
  const hot = await page.$$eval('#graph .node.hot', (els) => els.map((e) => ({ key: e.dataset.key, sel: e.classList.contains('sel') })));
  if (deadlock) {
    const members = first.split(' ');
    check(`${name} deadlock drawn red`, hot.length >= members.length, `${hot.length} hot nodes`);
    const selected = hot.filter((n) => n.sel).map((n) => n.key).sort();
    check(`${name} first deadlock highlighted on open`, JSON.stringify(selected) === JSON.stringify([...members].sort()),
      `selected ${selected}, expected ${members}`);
    const lit = await page.$$eval('#graph .edge', (els) => els.map((e) => ({ from: e.dataset.from, to: e.dataset.to, lit: e.classList.contains('lit') })));
    const cycle = lit.filter((e) => members.includes(e.from) && members.includes(e.to));
    check(`${name} cycle edges highlighted on open`, cycle.length > 0 && cycle.every((e) => e.lit), JSON.stringify(cycle));
    check(`${name} only cycle edges highlighted on open`, lit.filter((e) => e.lit).length === cycle.length, JSON.stringify(lit));
  } else {
    check(`${name} no deadlock, nothing red`, hot.length === 0 && first === '', `${hot.length} hot nodes`);
  }

  // Click the table row of a thread that has an edge in the picture.
  const target = await page.$$eval('#graph .edge', (els) => (els[0] ? els[0].dataset.from : null));
  if (target) {
    await page.click(`#threads tr[data-key="${target}"] td`);
    const state = await page.evaluate((key) => {
      const node = document.querySelector(`#graph .node[data-key="${key}"]`);
      const edges = [...document.querySelectorAll(`#graph .edge[data-from="${key}"], #graph .edge[data-to="${key}"]`)];
      const others = [...document.querySelectorAll('#graph .edge.lit')].filter((e) => !edges.includes(e));
      const row = document.querySelector(`#threads tr[data-key="${key}"]`);
      return {
        node: !!node && node.classList.contains('sel'),
        edges: edges.length > 0 && edges.every((e) => e.classList.contains('lit')),
        others: others.length,
        row: row.classList.contains('sel'),
      };
    }, target);
    check(`${name} click highlights the thread`, state.node && state.row, JSON.stringify(state));
    check(`${name} click highlights its edges only`, state.edges && state.others === 0, JSON.stringify(state));
  }
  await context.close();
}

await browser.close();
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
