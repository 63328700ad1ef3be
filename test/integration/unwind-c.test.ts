// .eh_frame unwinding of a C program built -O2 -fomit-frame-pointer (no frame pointers
// at all): the full 5-deep chain to main, checked with addr2line on the raw PCs and
// against perf's own DWARF unwinder sampling the same process at the same time.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { killAll, sleep, startFixture } from './support/procs.js';
import { addr2lineNames, hasChain, perfDwarfStacks, sampleWithUnwinding } from './unwind-support.js';

const root = requireRoot('.eh_frame unwinding of a real process');
const CHAIN = ['chain_level5', 'chain_level4', 'chain_level3', 'chain_level2', 'chain_level1', 'main'];

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(() => killAll());

describe.runIf(root)('unwinding without frame pointers (C, -O2 -fomit-frame-pointer)', () => {
  it('≥95% of samples carry chain_level5 → … → main, like perf --call-graph dwarf on the same run', async () => {
    const bin = join(FIXTURES_BIN, 'unwind_chain');
    const child = startFixture(bin, ['0']);
    await sleep(200);
    const [run, perf] = await Promise.all([sampleWithUnwinding(child.pid!, 8), perfDwarfStacks(child.pid!, 12)]);
    const names = addr2lineNames(
      run.mapsText,
      run.samples.map((s) => s.userStack),
      bin,
    );
    const inFixture = names.filter((n) => n.some((f) => CHAIN.includes(f)));
    const full = inFixture.filter((n) => hasChain(n, CHAIN)).length;
    const perfIn = perf.filter((n) => n.some((f) => CHAIN.includes(f)));
    const perfFull = perfIn.filter((n) => hasChain(n, CHAIN)).length;
    const ours = full / inFixture.length;
    const theirs = perfFull / perfIn.length;
    console.log(
      `unwind-c: ${full}/${inFixture.length} full chains (${(100 * ours).toFixed(1)}%), perf dwarf ${perfFull}/${perfIn.length} (${(100 * theirs).toFixed(1)}%), tables loaded in ${run.loadMs} ms`,
      run.counters,
    );
    expect(inFixture.length).toBeGreaterThan(30);
    expect(perfIn.length).toBeGreaterThan(30);
    expect(theirs).toBeGreaterThanOrEqual(0.95); // the truth: the chain is there to be found
    expect(ours).toBeGreaterThanOrEqual(0.95);
    expect(run.counters.unwindDwarfSamples).toBeGreaterThan(0n);
    // Walks end at _start's undefined return address, not by giving up.
    expect(Number(run.counters.unwindComplete)).toBeGreaterThan(0.9 * Number(run.counters.unwindDwarfSamples));
  }, 180_000);
});
