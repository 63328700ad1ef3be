/**
 * The embedded store through the real daemon (issue 4): `hotspan agent` with no OTLP endpoint
 * exports all four signals to its embedded receiver, which writes the DuckDB store. The agent
 * also writes every window as a pprof file before export: an independent copy of the same samples.
 * For the `split` fixture's pid, the store's merged profile over the windows' time range must hold
 * exactly the stacks and counts of those files; the other signals must have arrived too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { DB_FILE_NAME, Store } from '../../src/store/index.js';
import { driveHttp, firstLine, killAgents, readServerLog, sleep, startAgent, windowFiles } from './support/agent.js';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { readPprof } from './support/pprof.js';
import { killAll, startFixture } from './support/procs.js';

const root = requireRoot('hotspan agent embedded store');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-agent-store-'));
/** Self-metrics and flow metrics are exported every 10 s: run past the first export. */
const RUN_MS = 12_000;
const children: ChildProcess[] = [];

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(async () => {
  killAll();
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await killAgents();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Stack key: function names leaf → root. */
const keyOf = (names: string[]) => names.join(' <- ');

function addTo(m: Map<string, number>, key: string, n: number): void {
  m.set(key, (m.get(key) ?? 0) + n);
}

describe.runIf(root)('hotspan agent: embedded store', () => {
  it('the store holds the same stacks and counts as the pprof windows, and spans, metrics and logs', async () => {
    const dataDir = join(tmp, 'data');
    const agent = await startAgent(dataDir);
    const split = startFixture(join(FIXTURES_BIN, 'split'), ['30']);
    // Some HTTP traffic with a known count, for the traces signal.
    const logPath = join(tmp, 'server.log');
    const server = spawn(join(FIXTURES_BIN, 'http_server'), [logPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    const load = driveHttp(await firstLine(server), 3, ['/fast'], 1);
    children.push(load.child);
    const sent = await load.sent;
    await sleep(RUN_MS - 3000);
    const stopped = await agent.stop('SIGTERM');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stopMs).toBeLessThan(10_000); // the exporter gets 5 s on shutdown
    expect(stopped.stderr).not.toMatch(/unhandled|uncaught|TypeError|RangeError/i);

    // Ground truth 1: the pprof windows the agent wrote for the fixture.
    const files = windowFiles(dataDir, split.pid!);
    expect(files.length).toBeGreaterThanOrEqual(4); // 2 s windows over ~12 s
    const fromWindows = new Map<string, number>();
    let fromUnixNs = BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
    let toUnixNs = 0n;
    for (const f of files) {
      const { profile, samples } = readPprof(f);
      const start = BigInt(profile.timeNanos);
      const end = start + BigInt(profile.durationNanos);
      if (start < fromUnixNs) fromUnixNs = start;
      if (end > toUnixNs) toUnixNs = end;
      for (const s of samples) addTo(fromWindows, keyOf(s.stack), s.count);
    }
    const windowTotal = [...fromWindows.values()].reduce((a, b) => a + b, 0);
    expect(windowTotal).toBeGreaterThan(300); // ~1 core for ~12 s at 99 Hz is ~1200; the host is shared

    // The store, opened after the agent released it (DuckDB holds a file lock).
    const store = await Store.open({ dataDir: join(dataDir, 'store'), retentionIntervalMs: 0 });
    try {
      const merged = await store.mergeProfile({ pid: split.pid!, fromUnixNs, toUnixNs });
      const fromStore = new Map<string, number>();
      for (const s of merged.stacks) addTo(fromStore, keyOf(s.frames.map((f) => f.name)), Number(s.count));
      console.log(
        `split pid ${split.pid}: ${files.length} windows, ${windowTotal} samples in ${fromWindows.size} stacks; ` +
          `store ${merged.totalCount} samples in ${fromStore.size} stacks; agent stopped in ${stopped.stopMs} ms`,
      );
      expect(Number(merged.totalCount)).toBe(windowTotal);
      expect(Object.fromEntries(fromStore)).toEqual(Object.fromEntries(fromWindows));
      // Nothing of that pid outside the windows' range either: the windows are all of it.
      const everything = await store.mergeProfile({ pid: split.pid! });
      expect(Number(everything.totalCount)).toBe(windowTotal);
    } finally {
      await store.close();
    }

    // The other signals, read with DuckDB itself (read-only) rather than through the store's code.
    const db = await DuckDBInstance.create(join(dataDir, 'store', DB_FILE_NAME), { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRowObjectsJS()[0]!.n);
    try {
      // Every request the server logged is one SERVER span of its pid, with the server's trace id.
      const log = readServerLog(logPath);
      expect(log.length).toBe(sent);
      expect(await count(`SELECT count(*) AS n FROM spans WHERE pid = ${server.pid} AND kind = 2`)).toBe(sent);
      const traceIds = log.map((e) => `'${e.traceId}'`).join(',');
      expect(await count(`SELECT count(DISTINCT trace_id) AS n FROM spans WHERE pid = ${server.pid} AND kind = 2 AND trace_id IN (${traceIds})`)).toBe(
        new Set(log.map((e) => e.traceId)).size,
      );
      // The agent's self-metrics (exported every 10 s) and its flow / duration metrics.
      expect(await count(`SELECT count(*) AS n FROM metrics WHERE name = 'hotspan.samples'`)).toBeGreaterThanOrEqual(1);
      expect(await count(`SELECT count(*) AS n FROM metrics WHERE name LIKE 'hotspan.%'`)).toBeGreaterThan(5);
      const names = (await conn.runAndReadAll('SELECT DISTINCT name FROM metrics ORDER BY name')).getRowObjectsJS().map((r) => r.name);
      console.log(
        `store rows: ${await count('SELECT count(*) AS n FROM spans')} spans, ${await count('SELECT count(*) AS n FROM metrics')} metrics ` +
          `(${names.join(', ')}), ${await count('SELECT count(*) AS n FROM logs')} logs (only deploy reports produce logs)`,
      );
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
