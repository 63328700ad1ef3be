// Debian's own /usr/bin/python3 (built without frame pointers): issue #15 measured 0% of
// frame-pointer-walked samples reaching Py_RunMain; with .eh_frame unwinding ≥95% must.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Symbolizer } from '../../src/symbols/index.js';
import { requireRoot } from './support/env.js';
import { killAll, sleep, startFixture } from './support/procs.js';
import { sampleWithUnwinding } from './unwind-support.js';

const root = requireRoot('.eh_frame unwinding of python3');
const PYTHON = '/usr/bin/python3';
const LOOP = 'def leaf(n):\n    s = 0\n    for i in range(n): s += i * i\n    return s\ndef outer():\n    while True: leaf(10000)\nouter()\n';

afterEach(() => killAll());

describe.runIf(root)('unwinding Debian python3 (no frame pointers)', () => {
  it('≥95% of samples reach Py_RunMain', async () => {
    expect(existsSync(PYTHON), `${PYTHON} (Debian python3) is needed`).toBe(true);
    const child = startFixture(PYTHON, ['-c', LOOP]);
    await sleep(300);
    const run = await sampleWithUnwinding(child.pid!, 8);
    const symbolizer = new Symbolizer();
    const stacks = run.samples.map((s) => symbolizer.userFrames(s.pid, s.userStack));
    // python3's and libc's symbols load in the symbolizer's worker; the frames are named in place.
    await symbolizer.settled();
    const names = stacks.map((frames) => frames.map((f) => f.name));
    // Debian strips python3's local symbols: `main` itself has no name there, Py_RunMain (exported) does.
    const reach = names.filter((n) => n.includes('Py_RunMain')).length;
    console.log(
      `unwind-python: ${reach}/${names.length} reach Py_RunMain (${((100 * reach) / names.length).toFixed(1)}%), tables loaded in ${run.loadMs} ms`,
      run.counters,
    );
    const misses = names.filter((n) => !n.includes('Py_RunMain')).slice(0, 3);
    if (misses.length) console.log('unwind-python: stacks that did not reach Py_RunMain:', misses);
    expect(names.length).toBeGreaterThan(30);
    expect(reach / names.length).toBeGreaterThanOrEqual(0.95);
  }, 180_000);
});
