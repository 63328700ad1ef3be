import { describe, expect, it } from 'vitest';
import { SampleFlow, type WindowSink } from '../../../src/pipeline/index.js';
import type { CpuSample, ProcessInfo, ProfileWindow } from '../../../src/profiling/index.js';
import { ProcessResources } from '../../../src/resource/index.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S; // a 10 s boundary
const sample = (pid: number, atS: bigint): CpuSample => ({
  timeUnixNs: T0 + atS * S,
  timeMonoNs: atS * S,
  pid,
  tid: pid,
  cpu: 0,
  threadName: 't',
  processName: `p${pid}`,
  frames: [{ name: 'main' } as CpuSample['frames'][number]],
});

function flowWith(sinks: WindowSink[], resources = new ProcessResources({ 'host.name': 'h' }, undefined, {}), handoverBudgetMs?: number) {
  const table = new Map<number, ProcessInfo>();
  const processOf = (pid: number, comm: string) => {
    let p = table.get(pid);
    if (!p) table.set(pid, (p = { pid, name: comm, otelServiceName: pid === 2 ? 'checkout' : undefined }));
    return p;
  };
  const flow = new SampleFlow({
    windowMs: 10_000,
    periodNs: 10_101_010n,
    processOf,
    identify: (p) => resources.identify(p),
    forgetIfExited: () => {},
    sinks,
    ...(handoverBudgetMs !== undefined && { handoverBudgetMs }),
    log: () => {},
  });
  return { flow, table };
}

describe('SampleFlow: samples → windows → sinks', () => {
  it('counts every window it hands to the sinks (the hotspan.windows self-metric)', () => {
    const got: ProfileWindow[] = [];
    const { flow } = flowWith([{ name: 'collect', write: (w) => void got.push(w) }]);
    flow.addSamples([sample(1, 1n), sample(2, 2n), sample(1, 3n)]);
    // A later window began for pid 1, but its first window stays open for late samples until its
    // end + grace + the pid's stagger (windows are not all handed over at the same instant).
    flow.addSamples([sample(1, 12n)]);
    expect(flow.stats().windows).toBe(0);
    flow.tick(30n * S, T0 + 30n * S); // both open windows are past end + grace
    expect(flow.stats().windows).toBe(3);
    flow.addSamples([sample(3, 31n)]);
    flow.close(31n * S);
    expect(flow.stats().windows).toBe(4);
    expect(got.length).toBe(4);
    // Which windows, not in what order (the hand-over order follows each pid's stagger).
    expect(got.map((w) => [w.process.pid, w.samples.length]).sort()).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [3, 1],
    ]);
  });

  it('hands every sink the same window with a frozen process, never touching the process table', () => {
    const seen: ProfileWindow[][] = [[], []];
    const { flow, table } = flowWith([
      { name: 'a', write: (w) => void seen[0]!.push(w as ProfileWindow) },
      { name: 'b', write: (w) => void seen[1]!.push(w as ProfileWindow) },
    ]);
    flow.addSamples([sample(2, 1n)]);
    flow.close(2n * S);
    const [w] = seen[0]!;
    expect(seen[1]![0]).toBe(w);
    expect(w!.process.serviceName).toBe('checkout'); // identity decided by src/resource
    expect(Object.isFrozen(w!.process)).toBe(true);
    expect(() => {
      (w!.process as ProcessInfo).serviceName = 'mutated';
    }).toThrow(TypeError);
    expect(table.get(2)!.serviceName).toBeUndefined(); // the profiler's ProcessInfo is unchanged
  });

  it('a throwing sink costs only itself: the others still get the window', () => {
    const got: ProfileWindow[] = [];
    const { flow } = flowWith([
      {
        name: 'broken',
        write: () => {
          throw new Error('disk full');
        },
      },
      { name: 'ok', write: (w) => void got.push(w) },
    ]);
    flow.addSamples([sample(1, 1n)]);
    flow.close(2n * S);
    expect(got.length).toBe(1);
    expect(flow.stats()).toMatchObject({ windows: 1, sinkErrors: 1 });
  });

  it('times each sink on the windows it was handed (the per-window cost, split by sink)', () => {
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const { flow } = flowWith([
      { name: 'slow', write: () => busy(5) },
      { name: 'fast', write: () => {} },
    ]);
    flow.addSamples([sample(1, 1n), sample(2, 2n)]);
    flow.close(3n * S);
    const st = flow.stats();
    expect(st.windows).toBe(2);
    expect(st['sinkMs.slow']).toBeGreaterThanOrEqual(10);
    expect(st['sinkMs.fast']).toBeLessThan(st['sinkMs.slow']);
  });

  it('hands windows over within a budget per turn of the event loop, the rest on later turns; close() hands over all at once', async () => {
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const got: number[] = [];
    const { flow } = flowWith([{ name: 'slow', write: (w) => (busy(4), void got.push(w.process.pid)) }], undefined, 10);
    flow.addSamples(Array.from({ length: 12 }, (_, i) => sample(100 + i, 1n)));
    flow.tick(30n * S, T0 + 30n * S);
    const firstTurn = got.length;
    let turns = 1;
    while (got.length < 12 && turns < 100) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    // 12 windows of 4 ms against a 10 ms budget: at least one per turn, never all in the first.
    expect(firstTurn).toBeGreaterThanOrEqual(1);
    expect(firstTurn).toBeLessThan(12);
    expect(turns).toBeGreaterThan(1);
    expect(flow.stats().windows).toBe(12);
    expect(new Set(got).size).toBe(12);

    // On shutdown nothing waits for a later turn: every due window is out when close() returns.
    const { flow: closing } = flowWith([{ name: 'slow', write: (w) => (busy(4), void got.push(w.process.pid)) }], undefined, 10);
    closing.addSamples(Array.from({ length: 8 }, (_, i) => sample(200 + i, 1n)));
    closing.close(30n * S);
    expect(closing.stats().windows).toBe(8);
  });
});
