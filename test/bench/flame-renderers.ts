/**
 * The web UI's flame graph (ui/flame.js) against the well-kept library that would replace it,
 * d3-flame-graph (5.0.0, with the d3 modules it needs), side by side in one Chromium page: same
 * call tree, same width, time to draw (including layout), and each one's bundle size.
 * The tree is a 10-minute profile of 100k distinct stacks (every sample its own leaf), pruned as
 * /api/v1/profile prunes it (min_share 1e-4) and unpruned (~1M nodes, min_share 1e-6).
 * d3-flame-graph is installed into node_modules/.cache (not a project dependency) and bundled
 * with esbuild (tsx's). Prints figures and method; asserts nothing.
 * Run: node --import tsx test/bench/flame-renderers.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildTree, pack } from '../../src/flamegraph/tree.js';
import { NameTable, type Profile } from '../../src/flamegraph/model.js';

const PEER = 'd3-flame-graph@5.0.0';
const root = new URL('../../', import.meta.url).pathname;
const cache = join(root, 'node_modules/.cache/bench-flame-peer');

function peerBundle(): string {
  const out = join(cache, 'bundle.js');
  if (existsSync(out)) return readFileSync(out, 'utf8');
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, 'package.json'), '{"private":true}');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', cache, PEER, 'd3-selection@3'], { stdio: 'inherit' });
  writeFileSync(
    join(cache, 'entry.js'),
    `import { select } from 'd3-selection';
import flamegraph from 'd3-flame-graph';
window.renderPeer = function (host, data, width) {
  select(host).datum(data).call(flamegraph().width(width).cellHeight(18).transitionDuration(0).minFrameSize(1).sort(true));
};`,
  );
  const esbuild = join(createRequire(join(root, 'package.json')).resolve('esbuild/package.json'), '../bin/esbuild');
  execFileSync(esbuild, [join(cache, 'entry.js'), '--bundle', '--minify', '--format=iife', `--outfile=${out}`], { cwd: cache, stdio: 'inherit' });
  return readFileSync(out, 'utf8');
}

function profile(): Profile {
  let x = 1;
  const r = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const t = new NameTable();
  const stacks = Array.from({ length: 100_000 }, (_, i) => {
    const names = ['main'];
    const depth = 6 + Math.floor(r() * 14);
    for (let d = 1; d < depth; d++) names.push(`fn_${Math.floor(r() * (d < 4 ? 8 : 400))}`);
    names.push(`leaf_${i}`);
    return { frames: names.map((n) => t.id(n)), samples: 1, cpuNs: 1, labels: {} };
  });
  return { names: t.names, stacks };
}

// Plain JS in the page (no bundler helpers): draw each three times, keep the last (warm) time.
const MEASURE = `window.measure = function (packed) {
  var toPeer = function (n) { return { name: packed.names[n[0]], value: n[3], children: n[5].map(toPeer) }; };
  var out = {};
  for (var k = 0; k < 3; k++) {
    var a = document.getElementById('ours'); a.textContent = '';
    var t0 = performance.now(); window.HotspanFlame.render(a, packed, {}); document.body.offsetHeight;
    out.ours = performance.now() - t0; out.oursDrawn = a.querySelectorAll('.frame').length;
    var b = document.getElementById('peer'); b.textContent = '';
    var data = toPeer(packed.root);
    t0 = performance.now(); window.renderPeer(b, data, 1400); document.body.offsetHeight;
    out.peer = performance.now() - t0; out.peerDrawn = b.querySelectorAll('g').length;
  }
  return out;
};`;

const ours = readFileSync(join(root, 'ui/flame.js'), 'utf8');
const peer = peerBundle();
const gz = (s: string) => (gzipSync(s).length / 1024).toFixed(1);
console.log(
  `bundle: ui/flame.js ${(ours.length / 1024).toFixed(1)} KB (${gz(ours)} KB gzipped); ${PEER} + d3 modules, minified ${(peer.length / 1024).toFixed(1)} KB (${gz(peer)} KB gzipped)`,
);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.setContent('<html><body><div id="ours" style="width:1400px"></div><div id="peer" style="width:1400px"></div></body></html>');
  await page.addScriptTag({ content: ours });
  await page.addScriptTag({ content: peer });
  await page.addScriptTag({ content: MEASURE });
  const p = profile();
  for (const minShare of [1e-4, 1e-6]) {
    const packed = pack(buildTree(p, { minShare }));
    const count = (n: (typeof packed)['root']): number => 1 + n[5].reduce((s, c) => s + count(c), 0);
    const r = (await page.evaluate(`window.measure(${JSON.stringify(packed)})`)) as Record<string, number>;
    console.log(
      `tree of ${count(packed.root)} nodes (min_share ${minShare}): ui/flame.js ${r.ours!.toFixed(0)} ms (${r.oursDrawn} frames drawn); ` +
        `${PEER} ${r.peer!.toFixed(0)} ms (${r.peerDrawn} svg groups); ratio ${(r.peer! / r.ours!).toFixed(1)}×`,
    );
  }
} finally {
  await browser.close();
}
