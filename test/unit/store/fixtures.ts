/** Synthetic but fully known inputs for store tests, plus independent expected-answer helpers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportTraceServiceRequestObject, SpanObject } from '../../../src/otlp/index.js';
import type { TFrame, TProfile } from './build-otlp.js';

export const T0 = 1_750_000_000_000_000_000n;
export const SEC = 1_000_000_000n;

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `hotspan-store-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const FUNCS = ['main', 'serve', 'handle', 'parse', 'burn_a', 'burn_b', 'memcpy', 'do_syscall_64'];

/** A deterministic pseudo-random generator (mulberry32), so inputs are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomStack(r: () => number): TFrame[] {
  const depth = 1 + Math.floor(r() * 5);
  const frames: TFrame[] = [];
  for (let i = 0; i < depth; i++) {
    const name = FUNCS[Math.floor(r() * FUNCS.length)]!;
    frames.push(
      name === 'do_syscall_64'
        ? { name, module: 'vmlinux', kind: 'kernel' }
        : { name, file: `${name}.c`, line: 10 + i, module: 'app', kind: 'native', buildId: 'b1d' },
    );
  }
  return frames;
}

/** One window-like profile for a pid: `n` samples with timestamps spread over [start, start+10s). */
export function profileFor(
  r: () => number,
  pid: number,
  start: bigint,
  n: number,
  opts: { service?: string; version?: string; traceId?: string; spanId?: string } = {},
): TProfile {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const ts = start + BigInt(Math.floor(r() * 10_000)) * 1_000_000n;
    samples.push({
      frames: randomStack(r),
      timestamps: [ts],
      values: [1],
      tid: pid + (i % 3),
      threadName: `t${i % 3}`,
      cpu: i % 2,
      traceId: opts.traceId,
      spanId: opts.spanId,
    });
  }
  return {
    resource: {
      'process.pid': pid,
      'service.name': opts.service ?? `svc${pid}`,
      ...(opts.version ? { 'service.version': opts.version } : {}),
    },
    timeUnixNs: start,
    periodNs: 10_101_010n,
    samples,
  };
}

/** Independent expectation: stack (frame names joined) → summed value for samples passing `keep`. */
export function expectedByStack(profiles: TProfile[], keep: (pid: number, ts: bigint) => boolean): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of profiles) {
    const pid = Number(p.resource['process.pid']);
    for (const s of p.samples) {
      s.timestamps!.forEach((ts, i) => {
        if (!keep(pid, ts)) return;
        const key = s.frames.map((f) => f.name).join(';');
        m.set(key, (m.get(key) ?? 0) + (s.values?.[i] ?? 1));
      });
    }
  }
  return m;
}

export function span(
  id: number,
  o: { service: string; version?: string; durationMs: number; startNs: bigint; route?: string; cpuS?: number; parent?: number },
): { resource: Record<string, string>; span: SpanObject } {
  return {
    resource: { 'service.name': o.service, ...(o.version ? { 'service.version': o.version } : {}) },
    span: {
      traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'),
      spanId: Buffer.from(id.toString(16).padStart(16, '0'), 'hex'),
      traceState: '',
      parentSpanId: o.parent ? Buffer.from(o.parent.toString(16).padStart(16, '0'), 'hex') : Buffer.alloc(0),
      flags: 0,
      name: o.route ? `GET ${o.route}` : `op${id}`,
      kind: 2,
      startTimeUnixNano: String(o.startNs),
      endTimeUnixNano: String(o.startNs + BigInt(o.durationMs) * 1_000_000n),
      attributes: [
        ...(o.route ? [{ key: 'http.route', value: { stringValue: o.route } }] : []),
        ...(o.cpuS !== undefined ? [{ key: 'hotspan.cpu.time', value: { doubleValue: o.cpuS } }] : []),
        { key: 'http.response.status_code', value: { intValue: '200' } },
      ],
      droppedAttributesCount: 0,
      events: [],
      links: [],
      status: { code: 0, message: '' },
    },
  };
}

export function tracesRequest(spans: ReturnType<typeof span>[]): ExportTraceServiceRequestObject {
  return {
    resourceSpans: spans.map((s) => ({
      resource: { attributes: Object.entries(s.resource).map(([key, v]) => ({ key, value: { stringValue: v } })), droppedAttributesCount: 0 },
      scopeSpans: [{ scope: null, spans: [s.span], schemaUrl: '' }],
      schemaUrl: '',
    })),
  };
}
