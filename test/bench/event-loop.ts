/**
 * Event-loop delay of the agent as `npm start` runs it (whole host, network capture on, embedded
 * store under a fresh data dir), read from its own `hotspan_event_loop_delay_seconds` gauge on the
 * health port: one scrape per second (each scrape reports max and p99 since the previous one and
 * resets). Prints figures; asserts nothing. Needs root and a built dist/ (setup.sh --build-only).
 * Run: node --import tsx test/bench/event-loop.ts   (LOOP_BENCH_WARMUP_S, LOOP_BENCH_SECONDS)
 * A/B on a shared host: LOOP_BENCH_ROOTS=/path/to/old/checkout,/path/to/new/checkout runs one agent
 * from each checkout's dist/ at the same time, so both see the same load (each also sees the other).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../../agent/node-flags.js';

const WARMUP_S = Number(process.env.LOOP_BENCH_WARMUP_S ?? 30);
const SECONDS = Number(process.env.LOOP_BENCH_SECONDS ?? 90);
const root = join(import.meta.dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(port: number): Promise<{ max: number; p99: number } | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const max = /hotspan_event_loop_delay_seconds\{quantile="max"\} ([0-9.e+-]+)/.exec(text);
    const p99 = /hotspan_event_loop_delay_seconds\{quantile="0.99"\} ([0-9.e+-]+)/.exec(text);
    return max && p99 ? { max: Number(max[1]), p99: Number(p99[1]) } : null;
  } catch {
    return null;
  }
}

async function measure(checkout: string): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hotspan-loop-bench-'));
  const healthPort = await freePort();
  const uiPort = await freePort();
  const agent = spawn(process.execPath, [...AGENT_NODE_FLAGS, join(checkout, 'dist/agent/cli.js'), 'agent', '--data-dir', dataDir], {
    env: { ...process.env, HOTSPAN_HEALTH_PORT: String(healthPort), HOTSPAN_UI_PORT: String(uiPort) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  agent.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  try {
    const t0 = Date.now();
    while (!(await scrape(healthPort))) {
      if (agent.exitCode !== null || Date.now() - t0 > 180_000) throw new Error(`agent did not come up:\n${stderr}`);
      await sleep(500);
    }
    await sleep(WARMUP_S * 1000);
    await scrape(healthPort); // resets the window: warm-up stalls are not counted
    const maxes: number[] = [];
    const p99s: number[] = [];
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      await sleep(1000);
      const s = await scrape(healthPort);
      if (s) (maxes.push(s.max * 1000), p99s.push(s.p99 * 1000));
    }
    const sorted = [...maxes].sort((a, b) => a - b);
    const q = (xs: number[], f: number) => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))]!;
    return (
      `${checkout}: event-loop delay over ${SECONDS} s, ${maxes.length} scrapes (after ${WARMUP_S} s warm-up; hotspan_event_loop_delay_seconds once a second):\n` +
      `  max ${Math.max(...maxes).toFixed(0)} ms; per-scrape max: median ${q(sorted, 0.5).toFixed(0)} ms, p90 ${q(sorted, 0.9).toFixed(0)} ms; ` +
      `per-scrape p99: max ${Math.max(...p99s).toFixed(0)} ms, median ${q(
        [...p99s].sort((a, b) => a - b),
        0.5,
      ).toFixed(1)} ms\n` +
      `  scrapes with a stall > 50 ms: ${maxes.filter((m) => m > 50).length}, > 100 ms: ${maxes.filter((m) => m > 100).length}, > 500 ms: ${maxes.filter((m) => m > 500).length}`
    );
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => (agent.exitCode !== null ? r(null) : agent.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const roots = (process.env.LOOP_BENCH_ROOTS ?? root).split(',');
console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
// allSettled: one agent failing must not leave the other running.
for (const r of await Promise.allSettled(roots.map(measure))) console.log(r.status === 'fulfilled' ? r.value : `failed: ${(r.reason as Error).message}`);
console.log(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
