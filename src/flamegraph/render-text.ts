/** Plain-text tables for terminals: top-N frames of a profile, and of a diff. */
import type { FrameDiff, ProfileDiff } from './diff.js';
import { totals, type Profile } from './model.js';
import { topFunctions } from './top.js';

export interface TopTableOptions {
  /** Rows to print; default 20. */
  top?: number;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function pp(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}pp`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Right-align numbers, left-align the name (last column).
  const fmt = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padStart(widths[i]!))).join('  ');
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

/** Top-N frames of one profile by self samples, like `pprof -top`. */
export function renderTopTable(p: Profile, opts: TopTableOptions = {}): string {
  const n = totals(p).samples;
  const rows = topFunctions(p, opts.top ?? 20)
    .slice(0, opts.top ?? 20)
    .map((f) => [String(f.selfSamples), pct(n ? f.selfSamples / n : 0), String(f.totalSamples), pct(n ? f.totalSamples / n : 0), f.name]);
  return `${n} samples\n${table(['self', 'self%', 'total', 'total%', 'function'], rows)}\n`;
}

function diffRow(f: FrameDiff): string[] {
  const rate = f.rate ? `${f.rate.deltaTotalCpuPerSec >= 0 ? '+' : ''}${f.rate.deltaTotalCpuPerSec.toFixed(4)}` : '';
  return [pct(f.base.selfShare), pct(f.head.selfShare), pp(f.deltaSelfShare), pp(f.deltaTotalShare), f.zTotal.toFixed(1), rate, f.change, f.name];
}

/** Top regressions and improvements of a diff, then the thresholds used. */
export function renderDiffTable(d: ProfileDiff, opts: TopTableOptions = {}): string {
  const top = opts.top ?? 20;
  const header = ['base self', 'head self', 'Δself', 'Δtotal', 'z(total)', 'Δcpu-s/s', 'change', 'function'];
  const sides =
    `base ${d.base.samples} samples` +
    (d.base.cpuPerSec !== undefined ? ` (${d.base.cpuPerSec.toFixed(3)} CPU-s/s)` : '') +
    `, head ${d.head.samples} samples` +
    (d.head.cpuPerSec !== undefined ? ` (${d.head.cpuPerSec.toFixed(3)} CPU-s/s)` : '');
  const out = [sides, ''];
  out.push(`Regressions (${d.regressions.length}):`);
  out.push(d.regressions.length ? table(header, d.regressions.slice(0, top).map(diffRow)) : '  none significant');
  out.push('', `Improvements (${d.improvements.length}):`);
  out.push(d.improvements.length ? table(header, d.improvements.slice(0, top).map(diffRow)) : '  none significant');
  out.push(
    '',
    `Flagged when |z| ≥ ${d.thresholds.z.toFixed(2)} (two-sided α=${d.thresholds.alpha}) and |Δshare| ≥ ${(d.thresholds.minShareDelta * 100).toFixed(2)} pp.`,
  );
  return `${out.join('\n')}\n`;
}
