/**
 * Ground truth for the flame graph tests, independent of hotspan's sampler: run a fixture
 * under `perf record -e cpu-clock -F 499 -g`, read `perf script`, fold it ourselves.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const FIXTURE_BIN = join(ROOT, 'test/fixtures/bin');
export const SAMPLE_HZ = 499;

export interface PerfSample {
  timeSec: number;
  pid: number;
  tid: number;
  comm: string;
  /** Leaf first. */
  frames: { sym: string; dso: string; ip: bigint }[];
}

export function buildFixtures(): void {
  execFileSync('make', ['-s', '-C', join(ROOT, 'test/fixtures'), 'bin/deploy_v1', 'bin/deploy_v2'], { stdio: 'inherit' });
}

/** Parses `perf script -F comm,pid,tid,time,ip,sym,dso` output. */
export function parsePerfScript(text: string): PerfSample[] {
  const out: PerfSample[] = [];
  let cur: PerfSample | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur) out.push(cur);
      cur = undefined;
      continue;
    }
    if (!line.startsWith('\t') && !line.startsWith(' ')) {
      const m = /^(.*?)\s+(\d+)\/(\d+)\s+([\d.]+):/.exec(line);
      if (m) cur = { comm: m[1]!, pid: Number(m[2]), tid: Number(m[3]), timeSec: Number(m[4]), frames: [] };
      continue;
    }
    const f = /^\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)$/.exec(line);
    if (cur && f) {
      const sym = f[2]!.replace(/\+0x[0-9a-f]+$/, '');
      cur.frames.push({ ip: BigInt(`0x${f[1]}`), sym: sym === '[unknown]' ? `${f[3]}+0x${f[1]}` : sym, dso: f[3]! });
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Folded text, root first, without the comm (v1 and v2 differ in name but are one service). */
export function fold(samples: PerfSample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const key = s.frames
      .map((f) => f.sym)
      .reverse()
      .join(';');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k} ${v}`).join('\n') + '\n';
}

/** Runs `bin/<name> <seconds>` under perf; returns its samples. */
/**
 * Runs bin/<name> for `seconds` under perf and returns its samples. With `truthPath`, the
 * fixture writes the CPU it measured per function there (test/fixtures/c/fixture_truth.h).
 */
export function recordFixture(name: string, seconds: number, truthPath?: string): PerfSample[] {
  const dir = mkdtempSync(join(tmpdir(), 'hotspan-flame-'));
  try {
    const data = join(dir, 'perf.data');
    execFileSync('perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(SAMPLE_HZ), '-g', '-o', data, '--', join(FIXTURE_BIN, name), String(seconds)], {
      stdio: ['ignore', 'ignore', 'inherit'],
      ...(truthPath && { env: { ...process.env, HOTSPAN_FIXTURE_TRUTH: truthPath } }),
    });
    const text = execFileSync('perf', ['script', '-i', data, '-F', 'comm,pid,tid,time,ip,sym,dso'], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parsePerfScript(text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GNU build id of an ELF file, read by readelf (not by hotspan). */
export function buildIdOf(path: string): string {
  const text = execFileSync('readelf', ['-n', path], { encoding: 'utf8' });
  const m = /Build ID:\s*([0-9a-f]+)/.exec(text);
  if (!m) throw new Error(`no build id in ${path}`);
  return m[1]!;
}
