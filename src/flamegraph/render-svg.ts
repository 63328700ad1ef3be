/**
 * Static SVG flame graph (icicle, root on top), for reports and places that show images
 * but run no script. Each frame's <title> is its tooltip. Diff colouring as in the HTML.
 */
import type { Profile } from './model.js';
import { buildDiffTree, buildTree, type TreeNode } from './tree.js';

export interface SvgOptions {
  widthPx?: number;
  title?: string;
  /** Base profile: when given, the SVG is a differential flame graph of base → profile. */
  base?: Profile;
}

const ROW_PX = 16;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

export function renderSvg(p: Profile, opts: SvgOptions = {}): string {
  const widthPx = opts.widthPx ?? 1200;
  const isDiff = opts.base !== undefined;
  const tree = isDiff ? buildDiffTree(opts.base!, p) : buildTree(p);
  const baseN = tree.baseTotal;
  const headN = tree.headTotal;
  const share = (n: TreeNode, side: 'base' | 'head'): number => (side === 'base' ? (baseN > 0 ? n.baseTotal / baseN : 0) : headN > 0 ? n.headTotal / headN : 0);
  const weight = (n: TreeNode): number => (isDiff ? (share(n, 'base') + share(n, 'head')) / 2 : share(n, 'head'));
  const delta = (n: TreeNode): number => share(n, 'head') - share(n, 'base');
  let maxDelta = 1e-9;
  const scan = (n: TreeNode, top: boolean): void => {
    if (!top) maxDelta = Math.max(maxDelta, Math.abs(delta(n)));
    n.children.forEach((c) => scan(c, false));
  };
  if (isDiff) scan(tree, true);
  const colour = (n: TreeNode): string => {
    if (!isDiff) {
      const h = hash(n.name);
      return `hsl(${10 + (h % 40)},${70 + (h % 20)}%,${55 + (h % 10)}%)`;
    }
    const d = delta(n);
    const t = Math.min(1, Math.abs(d) / maxDelta);
    const to = d > 0 ? [178, 24, 43] : [33, 102, 172];
    const mix = (a: number, b: number): number => Math.round(a + (b - a) * t);
    return `rgb(${mix(247, to[0]!)},${mix(247, to[1]!)},${mix(247, to[2]!)})`;
  };
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
  const parts: string[] = [];
  let maxDepth = 0;
  const top = 24;
  const lay = (n: TreeNode, x: number, depth: number): void => {
    const w = weight(n) * widthPx;
    if (w < 0.5) return;
    maxDepth = Math.max(maxDepth, depth);
    const tipText = isDiff
      ? `${n.name}\nbase total ${n.baseTotal} (${pct(share(n, 'base'))}), head total ${n.headTotal} (${pct(share(n, 'head'))}), delta ${(delta(n) * 100).toFixed(2)} pp`
      : `${n.name}\ntotal ${n.headTotal} (${pct(share(n, 'head'))}), self ${n.headSelf}`;
    const y = top + depth * ROW_PX;
    const label = w > 28 ? n.name.slice(0, Math.floor((w - 4) / 7)) : '';
    parts.push(
      `<g><title>${esc(tipText)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${ROW_PX - 1}" fill="${colour(n)}" stroke="#fff" stroke-width="0.5"/>` +
        (label ? `<text x="${(x + 3).toFixed(2)}" y="${y + 11}">${esc(label)}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const c of n.children) {
      lay(c, cx, depth + 1);
      cx += weight(c) * widthPx;
    }
  };
  lay(tree, 0, 0);
  const heightPx = top + (maxDepth + 1) * ROW_PX + 4;
  const title = opts.title ?? (isDiff ? 'hotspan differential flame graph' : 'hotspan flame graph');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="monospace" font-size="11">` +
    `<text x="4" y="16" font-size="14">${esc(title)}</text>${parts.join('')}</svg>\n`
  );
}
