// The demangler's WASM runs on the main thread and in a worker: one module, two isolates. Under
// V8's defaults its code is compiled lazily, recompiled when hot and the replaced code freed while
// the agent runs; the kernel matrix's guests caught the main thread jumping into such freed code
// (SIGSEGV). Started as npm start starts the agent (agent/node-flags.ts), no WASM code is freed.
// V8's own trace (--trace-wasm-code-gc) is the witness; the same run under V8's defaults is the
// control that shows the witness would see it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '../../../agent/node-flags.js';
import { readChurnOutput } from '../../integration/support/demangle-churn.js';

const CHURN = fileURLToPath(new URL('../../fixtures/js/demangle-churn.ts', import.meta.url));

function churn(flags: readonly string[]): { freed: number; names: number; calls: number; changed: number; workerNames: number } {
  const out = execFileSync(process.execPath, [...flags, '--trace-wasm-code-gc', '--import', 'tsx', CHURN, '2'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 120_000,
  });
  const { freed, counts } = readChurnOutput(out);
  expect(counts, out.slice(-300)).not.toBeNull();
  return { freed, ...counts! };
}

describe('demangler WASM code', () => {
  it('is never freed while the agent runs when node is started as npm start starts it; V8 defaults free it', () => {
    const agent = churn(AGENT_NODE_FLAGS);
    const defaults = churn(['--expose-gc']);
    // Both runs demangled on both threads: thousands of names through the worker, the rest here.
    for (const run of [agent, defaults]) {
      expect(run.names).toBeGreaterThan(10_000);
      expect(run.workerNames).toBeGreaterThan(500);
      expect(run.changed).toBeGreaterThan(0.99 * run.calls);
    }
    expect(defaults.freed, 'control: under V8 defaults the same names free replaced WASM code').toBeGreaterThan(0);
    expect(agent.freed).toBe(0);
  }, 120_000);
});
