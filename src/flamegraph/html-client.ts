/**
 * The script embedded in every HTML flame graph, so the page is one self-contained file (no
 * network, no build step). It is the web UI's own renderer (ui/flame.js: one flame graph for
 * both) plus a few lines that hand it the JSON in #flame-data — { diff, names, root: [nameIdx,
 * baseTotal, baseSelf, headTotal, headSelf, children] } — and the header's controls.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ui/ next to package.json, found from this module (src/… under tsx, dist/src/… when built). */
export function uiDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'ui', 'index.html')) && existsSync(join(dir, 'package.json'))) return join(dir, 'ui');
    dir = dirname(dir);
  }
  return undefined;
}

const BOOTSTRAP = `
(function () {
  var data = JSON.parse(document.getElementById('flame-data').textContent);
  window.HotspanFlame.render(document.getElementById('chart-host'), data, {
    diff: data.diff,
    labels: { base: 'base', head: 'head', change: 'delta' },
    controls: { search: document.getElementById('search'), matched: document.getElementById('matched'), reset: document.getElementById('reset'), chartId: 'chart' },
  });
})();
`;

let script: string | undefined;

/** The renderer plus its bootstrap; read once. Throws if the package's ui/ is missing. */
export function clientScript(): string {
  if (script === undefined) {
    const dir = uiDir();
    if (!dir) throw new Error('ui/flame.js not found next to package.json; reinstall hotspan (the package ships ui/)');
    // `</script` inside the file would end the element early; the renderer never contains it.
    script = readFileSync(join(dir, 'flame.js'), 'utf8').replace(/<\/script/gi, '<\\/script') + BOOTSTRAP;
  }
  return script;
}
