// The demangler's WASM runs on the main thread and in a worker: one module, two isolates. Under
// V8's defaults its code is compiled lazily, recompiled when hot and the replaced code freed while
// the agent runs; the kernel matrix's guests caught the main thread jumping into such freed code
// (SIGSEGV). Started as npm start starts the agent (agent/node-flags.ts), no WASM code is freed.
// V8's own trace (--trace-wasm-code-gc) is the witness; the same run under V8's defaults is the
// control that shows the witness would see it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '../../../agent/node-flags.js';

const CHURN = fileURLToPath(new URL('../../fixtures/js/demangle-churn.ts', import.meta.url));

/** Real mangled names: node's own exported C++ symbols (binutils nm, as the tests' c++filt). */
function namesFile(): string {
  const names = execFileSync('nm', ['-D', '--defined-only', process.execPath], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .map((l) => l.split(' ')[2] ?? '')
    .filter((n) => n.startsWith('_Z'))
    .slice(0, 20_000);
  expect(names.length).toBeGreaterThan(10_000);
  const file = join(mkdtempSync(join(tmpdir(), 'hotspan-demangle-gc-')), 'names.txt');
  writeFileSync(file, names.join('\n'));
  return file;
}

function churn(flags: readonly string[], file: string): { freed: number; calls: number; changed: number; workerNames: number } {
  const out = execFileSync(process.execPath, [...flags, '--trace-wasm-code-gc', '--import', 'tsx', CHURN, file, '2'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 120_000,
  });
  const lines = out.trim().split('\n');
  const freed = lines.filter((l) => /^\[wasm-gc\] Freeing [1-9]\d* code objects/.test(l)).length;
  return { freed, ...(JSON.parse(lines.find((l) => l.startsWith('{'))!) as { calls: number; changed: number; workerNames: number }) };
}

describe('demangler WASM code', () => {
  it('is never freed while the agent runs when node is started as npm start starts it; V8 defaults free it', () => {
    const file = namesFile();
    const agent = churn(AGENT_NODE_FLAGS, file);
    const defaults = churn(['--expose-gc'], file);
    // Both runs demangled on both threads: thousands of names through the worker, the rest here.
    for (const run of [agent, defaults]) {
      expect(run.workerNames).toBeGreaterThan(500);
      expect(run.changed).toBeGreaterThan(0.99 * run.calls);
    }
    expect(defaults.freed, 'control: under V8 defaults the same names free replaced WASM code').toBeGreaterThan(0);
    expect(agent.freed).toBe(0);
  }, 120_000);
});
