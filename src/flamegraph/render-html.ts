/** Self-contained interactive HTML flame graphs (one file, no network). */
import { clientScript } from './html-client.js';
import type { Profile } from './model.js';
import { buildDiffTree, buildTree, pack } from './tree.js';

export interface HtmlOptions {
  title?: string;
  /**
   * Nodes whose share of either side is below this fraction are left out of the page to keep
   * it small and fast; default 1e-4 (they would be under a pixel wide anyway).
   */
  minShare?: number;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body { font: 13px system-ui, sans-serif; margin: 12px; color: #222; }
header { display: flex; gap: 12px; align-items: center; margin-bottom: 8px; flex-wrap: wrap; }
h1 { font-size: 16px; margin: 0; }
#chart { position: relative; width: 100%; overflow: hidden; }
.frame { position: absolute; height: 17px; box-sizing: border-box; border: 1px solid #fff; overflow: hidden;
  white-space: nowrap; font: 11px/15px ui-monospace, monospace; padding-left: 2px; cursor: pointer; }
.frame.match { background: #d01c8b !important; color: #fff; }
.frame.dim { opacity: 0.45; }
#tip { position: fixed; display: none; white-space: pre; background: #fffff0; border: 1px solid #888;
  padding: 4px 6px; font: 12px ui-monospace, monospace; pointer-events: none; z-index: 2; max-width: 300px; overflow-wrap: anywhere; }
.legend span { display: inline-block; padding: 0 6px; }
`;

function page(title: string, subtitle: string, payload: object, legend: string): string {
  // `<` escaped so no frame name can close the script element.
  const json = JSON.stringify(payload).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(title)}</h1><span>${escapeHtml(subtitle)}</span>
<input id="search" type="search" placeholder="Search (regex)" aria-label="Search frames">
<span id="matched"></span><button id="reset" type="button">Reset zoom</button>${legend}</header>
<div id="chart-host"></div><div id="tip"></div>
<script type="application/json" id="flame-data">${json}</script>
<script>${clientScript()}</script>
</body></html>
`;
}

/** Interactive flame graph of one profile. */
export function renderHtml(p: Profile, opts: HtmlOptions = {}): string {
  const tree = buildTree(p, { minShare: opts.minShare ?? 1e-4 });
  const headN = tree.headTotal;
  const packed = pack(tree);
  const title = opts.title ?? 'hotspan flame graph';
  return page(title, `${headN} samples`, { title, diff: false, baseN: 0, headN, ...packed }, '');
}

/**
 * Differential flame graph: width is the mean of each side's share; colour is the change of
 * the frame's total share, red grew and blue shrank (ColorBrewer RdBu, colour-blind safe).
 */
export function renderDiffHtml(base: Profile, head: Profile, opts: HtmlOptions = {}): string {
  const tree = buildDiffTree(base, head, { minShare: opts.minShare ?? 1e-4 });
  const packed = pack(tree);
  const title = opts.title ?? 'hotspan differential flame graph';
  const legend =
    '<span class="legend"><span style="background:rgb(178,24,43);color:#fff">grew</span>' +
    '<span style="background:rgb(247,247,247)">same</span>' +
    '<span style="background:rgb(33,102,172);color:#fff">shrank</span></span>';
  return page(
    title,
    `base ${tree.baseTotal} samples → head ${tree.headTotal} samples`,
    { title, diff: true, baseN: tree.baseTotal, headN: tree.headTotal, ...packed },
    legend,
  );
}
