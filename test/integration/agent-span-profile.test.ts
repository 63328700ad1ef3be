/**
 * Span ↔ profile through the real daemon (issue 5): `hotspan agent` profiles every process at
 * 499 Hz and captures HTTP while a Node client drives the C thread-per-connection fixture; after
 * SIGTERM the read-side commands must tell the story the fixture itself logged.
 *
 * Ground truths, none of them from the agent's capture:
 *  - the server logs every request: its thread, its traceparent (which the client chose) and the
 *    thread CPU time it used (CLOCK_THREAD_CPUTIME_ID);
 *  - /slow burns 50 ms of CPU in burn_slow, /fast 5 ms in burn_fast (frame pointers on);
 *  - the agent's own per-window pprof files are a second, independently written copy of the samples;
 *  - Google pprof reads the span labels back.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRow } from '../../src/store/index.js';
import { driveHttp, firstLine, hotspan, killAgents, readServerLog, startAgent, windowFiles } from './support/agent.js';
import { buildFixtures, FIXTURES_BIN, PPROF, requireRoot } from './support/env.js';
import { readPprof, type DecodedSample } from './support/pprof.js';
import { binomialUpperBound } from './support/stats.js';

const root = requireRoot('hotspan agent span ↔ profile');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-agent-span-'));
const children: ChildProcess[] = [];
const LOAD_SECONDS = 8;
/** Consecutive requests of a client loop that share one trace id: a trace of several server spans. */
const SPANS_PER_TRACE = 3;

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await killAgents();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `hotspan spans --json` rows, bigints back from strings. */
function parseSpanLines(stdout: string): SpanRow[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      return {
        ...r,
        startUnixNs: BigInt(r.startUnixNs as string),
        endUnixNs: BigInt(r.endUnixNs as string),
        durationNs: BigInt(r.durationNs as string),
      } as SpanRow;
    });
}

const countOf = (samples: DecodedSample[]) => samples.reduce((a, s) => a + s.count, 0);
const pprofText = (...args: string[]) => execFileSync(PPROF, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe.runIf(root)('hotspan agent: span ↔ profile end to end', () => {
  it('spans --slowest ranks /slow with the CPU the server measured; profile --span/--trace hold exactly their samples', async () => {
    expect(existsSync(PPROF), `Google pprof missing at ${PPROF}: run bash deploy/setup.sh --dev`).toBe(true);
    const dataDir = join(tmp, 'data');
    const agent = await startAgent(dataDir, ['-F', '499']);

    const logPath = join(tmp, 'server.log');
    const server = spawn(join(FIXTURES_BIN, 'http_server'), [logPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    const port = await firstLine(server);
    const load = driveHttp(port, LOAD_SECONDS, ['/slow', '/fast'], SPANS_PER_TRACE);
    children.push(load.child);
    const sent = await load.sent;
    const stopped = await agent.stop('SIGTERM');
    console.log(`agent stopped in ${stopped.stopMs} ms`);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stopMs).toBeLessThan(10_000); // the exporter gets 5 s on shutdown
    expect(stopped.stderr).not.toMatch(/unhandled|uncaught|TypeError|RangeError/i);

    // The server's own record of every request, keyed like the server span: trace id + parent id.
    const log = readServerLog(logPath);
    expect(log.length).toBe(sent);
    const truth = new Map(log.map((e) => [`${e.traceId}/${e.parentSpanId}`, e]));
    const routeOf = (traceId: string) => (traceId.startsWith('5107') ? '/slow' : traceId.startsWith('fa57') ? '/fast' : '?');
    const slowSent = log.filter((e) => routeOf(e.traceId) === '/slow').length;
    expect(slowSent).toBeGreaterThanOrEqual(25); // 8 s of 50 ms requests: ~150 idle, ~40 on a busy shared host

    // --- hotspan spans --slowest 20. The host is shared: other processes' requests (other agents'
    // OTLP exports…) are spans too, so the ranking is read for the fixture's service; the
    // unfiltered list must still hold none of the agent's own traffic.
    const unfiltered = await hotspan('spans', '--slowest', '20', '--json', '--data-dir', dataDir);
    expect(unfiltered.exitCode, unfiltered.stderr).toBe(0);
    expect(parseSpanLines(unfiltered.stdout).filter((r) => r.pid === agent.pid || r.kind !== 2)).toEqual([]);
    const table = await hotspan('spans', '--slowest', '20', '--service', 'http_server', '--data-dir', dataDir);
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[1]).toMatch(/GET \/slow\s+http_server\s+5107/);
    const json = await hotspan('spans', '--slowest', '20', '--service', 'http_server', '--json', '--data-dir', dataDir);
    expect(json.exitCode, json.stderr).toBe(0);
    const top = parseSpanLines(json.stdout);
    expect(top.length).toBe(20);
    // Every listed span is a request the server logged, not the client's span of the same request.
    const unknown = top.filter((r) => !truth.has(`${r.traceId}/${r.parentSpanId}`)).map((r) => `${r.name} ${r.traceId} kind ${r.kind}`);
    expect(unknown).toEqual([]);
    const slowTop = top.filter((r) => routeOf(r.traceId) === '/slow');
    // semconv: the span is named by its method; the route hotspan inferred rides beside it.
    for (const r of top) expect(`${r.name} ${(r as unknown as { httpRoute?: string }).httpRoute}`).toBe(`GET ${routeOf(r.traceId)}`);
    // 50 ms of CPU against 5 ms: only a /fast request preempted for > 45 ms could get in between.
    expect(routeOf(top[0]!.traceId)).toBe('/slow');
    expect(slowTop.length).toBeGreaterThanOrEqual(18);

    // CPU per span vs the thread CPU the server measured for that request (not wall time: the host
    // is shared), over every /slow span — not the top 20 by duration: the slowest spans are the ones
    // that shared a core, and there a 499 Hz timer beating against the scheduler's tick gives one
    // span's samples a bias its neighbours do not average out (measured: all spans 0.96 of the
    // truth, the 20 slowest of the same run 0.80).
    const all = await hotspan('spans', '--slowest', '10000', '--service', 'http_server', '--json', '--data-dir', dataDir);
    expect(all.exitCode, all.stderr).toBe(0);
    const allSpans = parseSpanLines(all.stdout);
    const slowAll = allSpans.filter((r) => routeOf(r.traceId) === '/slow' && truth.has(`${r.traceId}/${r.parentSpanId}`));
    expect(slowAll.length).toBe(slowSent);
    const cpuRows = slowAll.map((r) => ({ r, sampledS: r.cpuTimeS ?? 0, truthS: Number(truth.get(`${r.traceId}/${r.parentSpanId}`)!.cpuNs) / 1e9 }));
    const sampledS = cpuRows.reduce((a, x) => a + x.sampledS, 0);
    const truthS = cpuRows.reduce((a, x) => a + x.truthS, 0);
    console.log(
      `${sent} requests (${slowSent} /slow); top 20: ${slowTop.length} /slow; all /slow: hotspan.cpu.time ${sampledS.toFixed(3)} s vs server thread CPU ` +
        `${truthS.toFixed(3)} s; per span ${cpuRows.map((x) => `${(1000 * x.sampledS).toFixed(0)}/${(1000 * x.truthS).toFixed(0)}`).join(' ')} ms`,
    );
    // ≥25 spans of ~25 samples: the sum's standard error is ≤4 %; ±12 % is 3σ.
    expect(sampledS / truthS).toBeGreaterThan(0.88);
    expect(sampledS / truthS).toBeLessThan(1.12);
    // One span is ~25 samples at 499 Hz: ±40 % is ~2σ, and how often a span lands past it depends on
    // the host's load (8 CI runs: 14 of 430 spans, 3.3 %; the worst run 7 of 54). So the count of such
    // spans is held to what p = 0.1 per span (3× the pooled rate) exceeds with probability 0.001,
    // and no span may be off by ±75 %: a broken join misattributes whole spans, not a tail.
    const off = cpuRows.filter((x) => Math.abs(x.sampledS - x.truthS) >= Math.max(0.4 * x.truthS, 0.01));
    expect(off.length, off.map((x) => `span ${x.r.spanId}`).join(', ')).toBeLessThanOrEqual(binomialUpperBound(cpuRows.length, 0.1, 0.001));
    for (const x of cpuRows) expect(Math.abs(x.sampledS - x.truthS), `span ${x.r.spanId}`).toBeLessThan(Math.max(0.75 * x.truthS, 0.015));

    // --- hotspan profile --span: that span's samples and no others.
    const span = slowTop[0]!;
    const spanPb = join(tmp, 'span.pb.gz');
    const prof = await hotspan('profile', '--span', span.spanId, '-o', spanPb, '--data-dir', dataDir);
    expect(prof.exitCode, prof.stderr).toBe(0);
    const spanSamples = readPprof(spanPb).samples;
    expect(spanSamples.filter((s) => s.labels.span_id !== span.spanId || s.labels.trace_id !== span.traceId)).toEqual([]);
    const nSpan = countOf(spanSamples);
    expect(countOf(spanSamples.filter((s) => s.stack.includes('burn_slow'))) / nSpan).toBeGreaterThanOrEqual(0.95);
    // Second source: the agent's pprof windows for the server pid, written before any export.
    const windows = windowFiles(dataDir, server.pid!).flatMap((f) => readPprof(f).samples);
    expect(windows.length).toBeGreaterThan(0);
    expect(nSpan).toBe(countOf(windows.filter((s) => s.labels.span_id === span.spanId)));
    expect(nSpan).toBe(span.attributes['hotspan.cpu.samples']);
    // Google pprof agrees: one span_id value, holding all samples.
    const tags = pprofText('-tags', '-sample_index=samples', spanPb);
    expect(tags).toMatch(new RegExp(`^\\s*span_id: Total ${nSpan}(\\.0)?\\s*$`, 'm'));
    expect(tags).toMatch(new RegExp(`^\\s*${nSpan}(\\.0)? \\(\\s*100(\\.0)?%\\): ${span.spanId}\\s*$`, 'm'));

    // --- hotspan profile --trace: the samples of every server span of that trace.
    const traceSpans = allSpans.filter((r) => r.traceId === span.traceId);
    expect(traceSpans.length).toBe(log.filter((e) => e.traceId === span.traceId).length);
    expect(traceSpans.length).toBeGreaterThan(1);
    const tracePb = join(tmp, 'trace.pb.gz');
    const tprof = await hotspan('profile', '--trace', span.traceId, '-o', tracePb, '--data-dir', dataDir);
    expect(tprof.exitCode, tprof.stderr).toBe(0);
    const traceSamples = readPprof(tracePb).samples;
    expect(traceSamples.filter((s) => s.labels.trace_id !== span.traceId)).toEqual([]);
    const withCpu = traceSpans.filter((r) => Number(r.attributes['hotspan.cpu.samples'] ?? 0) > 0).map((r) => r.spanId);
    expect(new Set(traceSamples.map((s) => s.labels.span_id))).toEqual(new Set(withCpu));
    expect(withCpu.length).toBeGreaterThan(1);
    const nTrace = countOf(traceSamples);
    expect(nTrace).toBe(countOf(windows.filter((s) => s.labels.trace_id === span.traceId)));
    expect(nTrace).toBe(traceSpans.reduce((a, r) => a + Number(r.attributes['hotspan.cpu.samples'] ?? 0), 0));
    expect(pprofText('-tags', '-sample_index=samples', tracePb)).toMatch(new RegExp(`^\\s*${nTrace}(\\.0)? \\(\\s*100(\\.0)?%\\): ${span.traceId}\\s*$`, 'm'));
  });
});
