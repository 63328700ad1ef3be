// C++ with exceptions, -O2 -fomit-frame-pointer: libstdc++/libgcc frames ('zPLR' CIEs,
// LSDAs) and the fixture's own, walked through to main.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { killAll, sleep, startFixture } from './support/procs.js';
import { addr2lineNames, hasChain, sampleWithUnwinding } from './unwind-support.js';

const root = requireRoot('.eh_frame unwinding of a C++ process');

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(() => killAll());

describe.runIf(root)('unwinding C++ with exceptions (no frame pointers)', () => {
  it('≥95% of samples in the fixture walk through to main', async () => {
    const bin = join(FIXTURES_BIN, 'unwind_cxx');
    const child = startFixture(bin, ['0']);
    await sleep(200);
    const run = await sampleWithUnwinding(child.pid!, 8);
    const names = addr2lineNames(
      run.mapsText,
      run.samples.map((s) => s.userStack),
      bin,
    );
    // Samples anywhere in the process (libstdc++'s throw path included) must end in main.
    const reach = names.filter((n) => n.includes('main')).length;
    const chain = names.filter((n) => hasChain(n, ['_Z10cxx_middlem', '_Z9cxx_outerm', 'main']) || hasChain(n, ['cxx_middle', 'cxx_outer', 'main'])).length;
    console.log(`unwind-cxx: ${reach}/${names.length} reach main, ${chain} through cxx_middle → cxx_outer → main`, run.counters);
    expect(names.length).toBeGreaterThan(30);
    expect(reach / names.length).toBeGreaterThanOrEqual(0.95);
    expect(chain / names.length).toBeGreaterThanOrEqual(0.9);
  }, 180_000);
});
