/**
 * A dead OTLP backend through the real daemon (issue 4): every signal goes to
 * OTEL_EXPORTER_OTLP_ENDPOINT, a port nothing listens on. The agent must keep profiling (pprof
 * windows keep appearing), keep its memory bounded while exports fail, log the failure without
 * crashing, and still exit 0 on SIGTERM within its shutdown deadline.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, killAgents, sleep, startAgent, vmRssKb, windowFiles } from './support/agent.js';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { killAll, startFixture } from './support/procs.js';

const root = requireRoot('hotspan agent with its backend down');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-agent-down-'));
const RUN_MS = 22_000;
/** Start-up (BPF load, symbol tables, first exports failing) before RSS is taken as the base. */
const WARMUP_MS = 8_000;
const MAX_RSS_GROWTH_KB = 60 * 1024;
/** The agent gives the exporter 5 s on shutdown; the rest is capture, join and window flush. */
const MAX_STOP_MS = 10_000;
/**
 * The profiles queue bound, small so that it fills during warm-up (at 499 Hz the host makes
 * ~150 kB of encoded windows a second): RSS after warm-up is then the steady state of a full
 * queue, and /metrics shows the bound dropping the oldest. (Default 8 MiB would take minutes.)
 */
const MAX_QUEUE_BYTES = 256 * 1024;

/** One value of the agent's Prometheus /metrics, e.g. hotspan_export_items{signal="profiles",outcome="dropped"}. */
function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  if (!line) throw new Error(`${name}{${labels}} not in /metrics:\n${text}`);
  return Number(line.split(' ').at(-1));
}

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(async () => {
  killAll();
  await killAgents();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.runIf(root)('hotspan agent: OTLP backend down', () => {
  it('keeps profiling with bounded memory, and exits 0 on SIGTERM within the deadline', async () => {
    const dataDir = join(tmp, 'data');
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const configPath = join(tmp, 'hotspan.yaml');
    writeFileSync(configPath, `exporter:\n  profiles:\n    maxQueueBytes: ${MAX_QUEUE_BYTES}\n`);
    const healthPort = await closedPort();
    const agent = await startAgent(dataDir, ['-F', '499', '-c', configPath], {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      HOTSPAN_HEALTH_PORT: String(healthPort),
    });
    const split = startFixture(join(FIXTURES_BIN, 'split'), ['60']);

    const t0 = Date.now();
    const rss: { atMs: number; kb: number }[] = [];
    let windowsAtWarmup = 0;
    while (Date.now() - t0 < RUN_MS) {
      rss.push({ atMs: Date.now() - t0, kb: vmRssKb(agent.pid) });
      if (!windowsAtWarmup && Date.now() - t0 >= WARMUP_MS) windowsAtWarmup = windowFiles(dataDir, split.pid!).length;
      await sleep(1000);
    }
    const windowsAtEnd = windowFiles(dataDir, split.pid!).length;
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    const profiles = (outcome: string) => metric(metrics, 'hotspan_export_items', `signal="profiles",outcome="${outcome}"`);
    const stopped = await agent.stop('SIGTERM');

    const base = rss.filter((r) => r.atMs <= WARMUP_MS).at(-1)!.kb;
    const peak = Math.max(...rss.filter((r) => r.atMs > WARMUP_MS).map((r) => r.kb));
    console.log(
      `backend down (${endpoint}): RSS ${(base / 1024).toFixed(1)} MB after warm-up, peak ${(peak / 1024).toFixed(1)} MB after; ` +
        `profiles exported ${profiles('exported')}, dropped ${profiles('dropped')} (overflow ${profiles('droppedOverflow')}), queued ${profiles('queueDepth')}; ` +
        `windows for split: ${windowsAtWarmup} at ${WARMUP_MS} ms, ${windowsAtEnd} at ${RUN_MS} ms; stopped in ${stopped.stopMs} ms; ` +
        `stderr ${stopped.stderr.split('\n').length} lines:\n${stopped.stderr}`,
    );

    // Every signal was pointed at the dead endpoint: no embedded store, and the failure was reported.
    expect(stopped.stderr).toContain(`profiles → ${endpoint}`);
    expect(existsSync(join(dataDir, 'store'))).toBe(false);
    expect(stopped.stderr).toMatch(/otlp profiles: export failed/);
    // Profiling went on: windows kept being written after the exports had been failing for a while.
    expect(windowsAtWarmup).toBeGreaterThanOrEqual(1);
    expect(windowsAtEnd - windowsAtWarmup).toBeGreaterThanOrEqual(4); // 2 s windows over 14 s
    // Memory: the queue hit its bound and dropped the oldest, and the process did not grow.
    expect(profiles('exported')).toBe(0);
    expect(profiles('droppedOverflow')).toBeGreaterThan(0);
    expect(peak - base).toBeLessThan(MAX_RSS_GROWTH_KB);
    // Failures are logged once per outage, not per attempt, and nothing crashed.
    expect(stopped.stderr.split('\n').length).toBeLessThan(50);
    expect(stopped.stderr).not.toMatch(/unhandled|uncaught|TypeError|RangeError|exporter bug/i);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stopMs).toBeLessThan(MAX_STOP_MS);
    expect(stopped.stderr).toMatch(/stopped: \d+ samples/);
  });
});
