/**
 * The report in a real browser: headless Chromium (Debian's `chromium`,
 * driven by playwright-core) opens the HTML from a file:// URL with the
 * network blocked, every plot's SVG must have rendered marks, and a
 * full-page screenshot goes to .tap/screenshots/report.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';
import t from 'tap';

import { studyPlots, writeReport } from '../lib/report';
import { fixtureStudy } from './helpers/many-fixture';

const CHROMIUM = '/usr/bin/chromium';

t.test('headless Chromium renders every plot with marks', { skip: fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)` }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modeldiff-browser-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = fixtureStudy(12);
  const file = path.join(dir, 'report.html');
  await writeReport(s, { html: file, command: 'modeldiff study models/*.onnx --data probe.npy --report report.html' });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });
  await page.route(/^https?:/, (route) => route.abort());
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

  const counts = await page.$$eval('figure.plot', (figs) =>
    figs.map((f) => ({
      id: f.getAttribute('data-plot'),
      marks: f.querySelectorAll('svg g.role-mark path, svg g.role-mark rect, svg g.role-mark line, svg g.role-mark circle').length,
      width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
    })),
  );
  t.same(
    counts.map((c) => c.id),
    studyPlots(s).map((p) => p.id),
    'every plot is on the page',
  );
  for (const c of counts) {
    t.ok(c.marks > 0, `${c.id}: ${c.marks} marks`);
    t.ok(c.width > 100, `${c.id} is laid out (${c.width}px wide)`);
  }
  t.same(requests, [], 'the page requested nothing from the network');

  // Every map names its models: a text label and a hover <title> per point, in the rendered SVG.
  const names = s.models.map((m) => m.replace(/\.onnx$/, ''));
  for (const id of ['map-mds', 'map-tsne', 'map-umap']) {
    const seen = await page.$eval(`figure[data-plot="${id}"] svg`, (svg) => ({
      titles: [...svg.querySelectorAll('path > title')].map((e) => e.textContent),
      labels: [...svg.querySelectorAll('g.role-mark text')].map((e) => e.textContent),
    }));
    t.same([...seen.titles].sort(), [...names].sort(), `${id}: one hover title per model`);
    t.same([...seen.labels].sort(), [...names].sort(), `${id}: one text label per model`);
  }
  // Header on every column of the "All pairs" table; distances start at 0 on the scatter axes.
  const heads = await page.$$eval('table', (ts) => ts.map((tb) => [...tb.querySelectorAll('thead th')].map((h) => h.textContent?.trim() ?? '')));
  for (const h of heads) t.notOk(h.includes(''), `every column has a header: ${h.join(' | ')}`);
  const xTicks = await page.$$eval('figure[data-plot="scatter-raw"] g.role-axis-label text', (ts) => ts.map((e) => e.textContent));
  t.ok(xTicks.includes('0'), `scatter axes start at 0 (${xTicks.join(' ')})`);
  // No empty band under the heatmaps: each figure is as tall as its plot and caption.
  const slack = await page.$eval('figure[data-plot="heatmap-functional"]', (f) => {
    const svg = f.querySelector('svg')!.getBoundingClientRect();
    const cap = f.querySelector('figcaption')!.getBoundingClientRect();
    return f.getBoundingClientRect().bottom - Math.max(svg.bottom, cap.bottom);
  });
  t.ok(slack < 20, `heatmap figure ends under its caption (${slack.toFixed(1)}px)`);
  const shots = path.resolve('.tap/screenshots');
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, 'report.png'), fullPage: true });
  t.ok(fs.statSync(path.join(shots, 'report.png')).size > 10000, 'screenshot written');
});
