/**
 * The deploy reports this agent produced, newest first, bounded in count: each keeps its merged
 * base and head profiles (label-free aggregates) so the UI can draw the diff. With a directory
 * each report is also kept there as JSON (beside the text report) and the newest are read back at
 * start, so a restarted agent — a rollout of hotspan itself — still shows the deploys it saw.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployDiffReport } from '../flamegraph/index.js';

export interface DeployEntry {
  /** Stable across restarts: the report's file name without extension. */
  id: string;
  report: DeployDiffReport;
}

const SUFFIX = '.deploy.json';
/** A report file bigger than this is not ours to trust (they are a few MiB at most). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export class DeployLog {
  private readonly entries: DeployEntry[] = [];
  /** Files that could not be read back at start, by reason (the agent logs them). */
  readonly skipped: string[] = [];

  constructor(
    private readonly max = 50,
    private readonly dir?: string,
  ) {
    if (dir) this.load(dir);
  }

  /** Adds a report; with a directory, writes it there first (a failed write throws, the report stays listed). */
  add(report: DeployDiffReport): DeployEntry {
    const e = { id: `${safeFileName(report.service)}-${report.deployedAtUnixNs / 1_000_000n}`, report };
    this.entries.unshift(e);
    const dropped = this.entries.splice(this.max);
    if (this.dir) {
      mkdirSync(this.dir, { recursive: true });
      const file = join(this.dir, e.id + SUFFIX);
      writeFileSync(file + '.tmp', encode(report));
      renameSync(file + '.tmp', file);
      for (const d of dropped) rmQuiet(join(this.dir, d.id + SUFFIX));
    }
    return e;
  }

  list(): readonly DeployEntry[] {
    return this.entries;
  }

  get(id: string): DeployEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  private load(dir: string): void {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(SUFFIX));
    } catch {
      return; // no reports yet
    }
    const loaded: DeployEntry[] = [];
    for (const name of names) {
      const file = join(dir, name);
      try {
        if (statSync(file).size > MAX_FILE_BYTES) throw new Error('too large');
        loaded.push({ id: name.slice(0, -SUFFIX.length), report: decode(readFileSync(file, 'utf8')) });
      } catch (e) {
        this.skipped.push(`${name}: ${(e as Error).message}`);
      }
    }
    loaded.sort((a, b) => (a.report.deployedAtUnixNs < b.report.deployedAtUnixNs ? 1 : -1));
    this.entries.push(...loaded.slice(0, this.max));
  }
}

export function safeFileName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+$/, '_') || 'unknown';
}

// JSON has neither bigints (timestamps) nor non-finite numbers (z of a frame new on one side):
// both are written as tagged objects and restored on read.
function encode(r: DeployDiffReport): string {
  return JSON.stringify(r, (_k, v: unknown) => {
    if (typeof v === 'bigint') return { $bigint: v.toString() };
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
    return v;
  });
}

function decode(text: string): DeployDiffReport {
  const r = JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o.$bigint === 'string') return BigInt(o.$bigint);
      if (keys.length === 1 && typeof o.$number === 'string') return Number(o.$number);
    }
    return v;
  }) as DeployDiffReport;
  if (
    typeof r?.service !== 'string' ||
    typeof r.deployedAtUnixNs !== 'bigint' ||
    !Array.isArray(r.base?.stacks) ||
    !Array.isArray(r.head?.stacks) ||
    typeof r.diff !== 'object'
  ) {
    throw new Error('not a deploy report');
  }
  return r;
}

function rmQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}
