// A walk through a signal handler: samples in sig_burn (run by a SIGPROF handler) carry
// sig_burn → on_prof → __restore_rt → the interrupted sig_inner/sig_outer → main. The
// trampoline is walked with the registers the kernel saved in the ucontext; without that
// the walk stops at __restore_rt and never reaches main.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { killAll, sleep, startFixture } from './support/procs.js';
import { addr2lineNames, sampleWithUnwinding } from './unwind-support.js';

const root = requireRoot('.eh_frame unwinding through a signal frame');

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(() => killAll());

describe.runIf(root)('unwinding through a signal handler (no frame pointers)', () => {
  it('≥90% of samples in the handler reach main through the interrupted frames', async () => {
    const bin = join(FIXTURES_BIN, 'unwind_signal');
    const child = startFixture(bin, ['0']);
    await sleep(200);
    const run = await sampleWithUnwinding(child.pid!, 6);
    // addr2line names the fixture's frames; libc's (__restore_rt) show as '(other)'.
    const names = addr2lineNames(
      run.mapsText,
      run.samples.map((s) => s.userStack),
      bin,
    );
    const inHandler = names.filter((n) => n[0] === 'sig_burn');
    const through = inHandler.filter((n) => {
      const i = n.indexOf('sig_outer');
      return i > 1 && n.indexOf('main') > i && n.slice(1, i).includes('(other)'); // the trampoline between
    });
    console.log(`unwind-signal: ${through.length}/${inHandler.length} handler samples reach main through the signal frame`, run.counters);
    expect(inHandler.length).toBeGreaterThan(20);
    expect(through.length / inHandler.length, `e.g. ${inHandler.find((n) => !through.includes(n))?.join(' ← ')}`).toBeGreaterThanOrEqual(0.9);
    expect(run.counters.unwindSignalFrames).toBeGreaterThan(0n);
  }, 180_000);
});
