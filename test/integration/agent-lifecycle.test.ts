import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, cliArgs, FIXTURES_BIN, requireRoot } from './support/env.js';
import { readPprof, totalShares } from './support/pprof.js';
import { killAll, sleep, startFixture, untilStderr } from './support/procs.js';

const root = requireRoot('the agent daemon');

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(() => killAll());

/** Ids of loaded BPF programs named like the sampler (the kernel truncates names to 15 chars). */
function samplerProgramIds(): number[] {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as { id: number; name?: string }[];
  return progs.filter((p) => p.name?.startsWith('handle_cpu_samp')).map((p) => p.id);
}

describe.runIf(root)('hotspan agent', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`profiles every process into per-process windows and detaches everything on ${signal}`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'hotspan-agent-'));
      const before = samplerProgramIds();
      const child = startFixture(join(FIXTURES_BIN, 'split'), ['120']); // outlives a slow start; killed after the test
      const agent = execa(process.execPath, cliArgs('agent', '--data-dir', dataDir), {
        reject: false,
        forceKillAfterDelay: false, // the test judges the agent's own shutdown: no SIGKILL after 5 s
        all: true,
        env: { HOTSPAN_WINDOW: '2s', HOTSPAN_HEALTH_PORT: '0' },
      });
      // Start-up (BTF, store, capture) takes a while on a loaded machine: wait for the agent to say it runs.
      await untilStderr(agent, /hotspan: profiling /);
      await sleep(5000);
      // Programs of other tools may come and go; the agent's is the one that appeared.
      const mine = samplerProgramIds().filter((id) => !before.includes(id));
      expect(mine.length).toBe(1);
      agent.kill(signal);
      const r = await agent;
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toMatch(/stopped: \d+ samples, 0 lost/);
      // Every program the agent loaded is gone once it has exited.
      expect(samplerProgramIds()).not.toContain(mine[0]);

      const dir = join(dataDir, 'profiles', 'split');
      const files = readdirSync(dir).filter((f) => new RegExp(`^\\d+-${child.pid}(\\.\\d+)?\\.pb\\.gz$`).test(f));
      expect(files.length).toBeGreaterThanOrEqual(2); // ≥ 2 windows of 2 s in 6 s
      const samples = files.flatMap((f) => readPprof(join(dir, f)).samples);
      expect(totalShares(samples).get('burn_a') ?? 0).toBeGreaterThan(40);
    });
  }
});

describe.runIf(root)('hotspan agent stopped while starting', () => {
  it('waits for the start, then detaches everything and exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hotspan-early-'));
    const before = samplerProgramIds();
    const agent = execa(process.execPath, cliArgs('agent', '--data-dir', dataDir), {
      reject: false,
      forceKillAfterDelay: false, // the test judges the agent's own shutdown: no SIGKILL after 5 s
      all: true,
      env: { HOTSPAN_HEALTH_PORT: '0' },
    });
    // The backend line comes before the programs load and the store opens: the agent is mid-start.
    await untilStderr(agent, /hotspan: exporting /);
    agent.kill('SIGINT');
    const r = await agent;
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/SIGINT: stopping/);
    expect(r.all).toMatch(/stopped: \d+ samples, 0 lost/);
    expect(samplerProgramIds().filter((id) => !before.includes(id))).toEqual([]);
  });
});

describe.runIf(root)('tracefs', () => {
  it('is mounted by the agent when absent (here: hidden in a private mount namespace)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hotspan-tracefs-'));
    const agentCmd = [process.execPath, ...cliArgs('agent', '--data-dir', dataDir)].map((a) => `'${a}'`).join(' ');
    const script = [
      'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null',
      'test -e /sys/kernel/tracing/events && { echo "still mounted"; exit 3; }',
      `${agentCmd} & pid=$!`,
      'for i in $(seq 1 60); do test -e /sys/kernel/tracing/events && break; sleep 0.5; done',
      'grep -q " /sys/kernel/tracing tracefs " /proc/self/mounts && echo MOUNTED',
      'sleep 2; kill -INT $pid; wait $pid; echo "agent exit $?"',
    ].join('\n');
    const r = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      reject: false,
      all: true,
      env: { HOTSPAN_HEALTH_PORT: '0' },
    });
    expect(r.all).toMatch(/MOUNTED/);
    expect(r.all).toMatch(/agent exit 0/);
  });
});
