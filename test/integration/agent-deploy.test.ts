// Issue 6 acceptance: a deploy seen by the running agent (v1 of a service replaced by v2 under
// the same executable name) produces the automatic diff report naming the function v2 added.
// Ground truth is independent of hotspan: the build ids come from readelf, the new function
// from nm (v2's text symbols minus v1's).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, cliArgs, FIXTURES_BIN, requireRoot } from './support/env.js';
import { killAll, sleep, startFixture } from './support/procs.js';

const root = requireRoot('the agent deploy report');

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(() => killAll());

function buildIdOf(path: string): string {
  const m = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', path], { encoding: 'utf8' }));
  if (!m) throw new Error(`${path} has no GNU build id; fix: link with --build-id`);
  return m[1]!;
}

function textSymbols(path: string): Set<string> {
  const out = execFileSync('nm', [path], { encoding: 'utf8' });
  const names = out.split('\n').map((l) => /^[0-9a-f]+ [Tt] (\S+)$/.exec(l)?.[1]);
  return new Set(names.filter((n): n is string => n !== undefined));
}

/** Runs `exe` for `seconds` and waits for it to exit on its own. */
async function runFor(exe: string, seconds: number): Promise<void> {
  const env = { ...process.env };
  // The service key must be the executable name, not anything the test runner's env names.
  delete env.OTEL_SERVICE_NAME;
  delete env.OTEL_RESOURCE_ATTRIBUTES;
  const child = startFixture(exe, [String(seconds)], { env });
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${exe} exited with ${code}`))));
    child.on('error', reject);
  });
}

/** The first report file of `service` in `dir`, waiting up to `timeoutMs` (the agent sees every process). */
async function waitForReport(dir: string, service: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(`${service}-`) && f.endsWith('.txt')) : [];
    if (files.length) return join(dir, files[0]!);
    await sleep(250);
  }
  return undefined;
}

/** The first data row of the report's "Regressions" table: its last column is the function. */
function topRegression(report: string): string | undefined {
  const lines = report.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Regressions ('));
  // Header row of the table follows the section title; the first row after it is the top one.
  const row = lines[at + 2];
  return row?.trim().split(/\s+/).at(-1);
}

describe.runIf(root)('hotspan agent deploy report', () => {
  it('reports the function v2 added when checkout v1 is replaced by v2 under the same name', async () => {
    const v1 = join(FIXTURES_BIN, 'deploy_v1');
    const v2 = join(FIXTURES_BIN, 'deploy_v2');
    const [fromBuildId, toBuildId] = [buildIdOf(v1), buildIdOf(v2)];
    expect(fromBuildId).not.toBe(toBuildId);
    const v1Symbols = textSymbols(v1);
    const added = [...textSymbols(v2)].filter((s) => !v1Symbols.has(s));
    expect(added).toHaveLength(1);
    const newFunction = added[0]!;

    const work = mkdtempSync(join(tmpdir(), 'hotspan-deploy-'));
    const dataDir = join(work, 'data');
    const checkout = join(work, 'checkout');
    const agent = execa(process.execPath, cliArgs('agent', '--data-dir', dataDir), {
      reject: false,
      forceKillAfterDelay: false, // the test judges the agent's own shutdown: no SIGKILL after 5 s
      all: true,
      env: {
        HOTSPAN_WINDOW: '2s',
        HOTSPAN_FREQUENCY: '499',
        HOTSPAN_HEALTH_PORT: '0',
        HOTSPAN_DEPLOY_SETTLE: '6s',
        HOTSPAN_DEPLOY_KEEP: '1m',
        // Deploy detection reads only the profile stream; network capture is tested elsewhere
        // and left off here to keep this test's CPU low on a shared 2-core machine.
        HOTSPAN_NETWORK: '0',
      },
    });
    try {
      // Let the agent attach before v1 starts so v1's whole run is profiled: its ready line, not
      // a fixed sleep (start-up takes longer on a loaded host).
      const startBy = Date.now() + 30_000;
      let out = '';
      agent.all!.on('data', (d: Buffer) => (out += d.toString()));
      while (!/hotspan: profiling every process at \d+ Hz/.test(out)) {
        if (Date.now() > startBy || agent.exitCode !== null) throw new Error(`agent did not start: ${out}`);
        await sleep(100);
      }
      copyFileSync(v1, checkout);
      await runFor(checkout, 8);
      // The deploy: same path, new binary (the old one has exited, as in a rolling restart).
      rmSync(checkout);
      copyFileSync(v2, checkout);
      await runFor(checkout, 10);
      // Windows reach the deploy watcher up to grace + a per-pid stagger (≤5 s) after they end.
      const reportFile = await waitForReport(join(dataDir, 'reports'), 'checkout', 20_000);
      expect(reportFile, 'no deploy report was written').toBeDefined();
      const report = readFileSync(reportFile!, 'utf8');
      expect(reportFile).toMatch(/\/checkout-\d+\.txt$/);
      expect(report).toContain(`Deploy of checkout: ${fromBuildId} → ${toBuildId}`);
      expect(topRegression(report), report).toBe(newFunction);
    } finally {
      agent.kill('SIGTERM');
    }
    const r = await agent;
    expect({ exitCode: r.exitCode, signal: r.signal }, r.all).toEqual({ exitCode: 0, signal: undefined });
    expect(r.all).toMatch(new RegExp(`deploy of checkout ${fromBuildId} → ${toBuildId}: report in`));

    // The same report went out as an OTLP log record into the embedded store.
    const db = await DuckDBInstance.create(join(dataDir, 'store', 'store.duckdb'));
    const c = await db.connect();
    try {
      const rows = (
        await c.runAndReadAll(
          `SELECT severity_text, service_name, host_name,
                  json_extract_string(attributes, '$."hotspan.deploy.top_regression.function"'),
                  json_extract_string(attributes, '$."hotspan.deploy.to_version"')
             FROM logs
            WHERE json_extract_string(attributes, '$."event.name"') = 'hotspan.deploy.diff'
              AND json_extract_string(attributes, '$."service.name"') = 'checkout'`,
        )
      ).getRowsJS();
      // Filed under the deployed service on this host, not under the agent.
      expect(rows).toEqual([['WARN', 'checkout', hostname(), newFunction, toBuildId]]);
    } finally {
      c.closeSync();
      db.closeSync();
    }
    rmSync(work, { recursive: true, force: true });
  }, 90_000);
});
