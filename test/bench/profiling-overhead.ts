// Benchmark: what the agent costs as `npm start` runs it, on a host whose CPUs are all busy,
// side by side with bpftrace and perf in the same run. A report, not a test: it asserts nothing.
//
//   npm run bench -- profiling [--quick] [--rss-minutes=10] [--compare-old]
//   node --import tsx test/bench/profiling-overhead.ts [same flags]
//
// --quick        short warm-up and windows, for development (the figures are noisier)
// --rss-minutes  length of the default agent's steady window; its RSS is printed over time
// --compare-old  also runs the agent the way the previous version of this bench did
//                (health port off, --no-network, 20 s warm-up), to show where its 1.03% came from
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpfProgramNames, bpfSecondsBetween, treeBpfPrograms, treeCpuSeconds, treeRssMb, type BpfProgTime } from './lib/proc-stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const COMPARE_OLD = argv.includes('--compare-old');
const RSS_MINUTES = Number(argv.find((a) => a.startsWith('--rss-minutes='))?.split('=')[1] ?? 0);
/** Before anything is measured: start-up, the first windows and exports, JIT warm-up. */
const WARMUP_S = QUICK ? 15 : 60;
/** The default agent's steady window (the headline row). */
const STEADY_S = RSS_MINUTES > 0 ? RSS_MINUTES * 60 : QUICK ? 20 : 120;
/** Each frequency / process-count row. */
const PHASE_S = QUICK ? 15 : 60;
/** After the process-count fixture starts: its processes' first windows closed, their start-up cost paid. */
const SETTLE_S = QUICK ? 14 : 25;
/** How often /metrics is scraped (a Prometheus-like interval; the loop-delay max covers the whole interval). */
const SCRAPE_S = QUICK ? 5 : 10;
const PROCESS_COUNTS = [10, 100, 1000];
const FREQUENCIES = [499, 999];
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-bench-'));
const ncpu = cpus().length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Every process this bench started, killed on the way out whatever happens (Ctrl-C included). */
const children = new Set<ChildProcess>();
/** Resolves once `c` has exited (at once if it already has: a second 'exit' never comes). */
function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((r) => c.once('exit', () => r()));
}
function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}
/** kernel.bpf_stats_enabled as found, put back on the way out (it costs every BPF program a little). */
const STATS_PATH = '/proc/sys/kernel/bpf_stats_enabled';
let statsBefore: string | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    if (statsBefore !== undefined) writeFileSync(STATS_PATH, statsBefore);
    process.exit(130);
  });
}
const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

interface Row {
  label: string;
  seconds: number;
  cpuS: number;
  bpfSamplerS: number;
  bpfOtherS: number;
  /** Samples the agent processed (its own counter), or the nominal count for peers. */
  samples: number;
  samplesNominal: boolean;
  /** Runs of the sampler program in the window (kernel bpf stats): samples taken, kept up with or not. */
  kernelSamples?: number;
  /** Samples the agent says it processed (its /metrics counter); NaN when it did not answer. */
  agentSamples?: number;
  /** pprof files written: one per process per window. */
  windows?: number;
  rssMb: number;
  peakMb: number;
  lagMaxMs?: number;
  lagP99Ms?: number;
}

const pctOfCore = (r: Row) => (100 * (r.cpuS + r.bpfSamplerS + r.bpfOtherS)) / r.seconds;
const usPerSample = (r: Row) => (1e6 * (r.cpuS + r.bpfSamplerS + r.bpfOtherS)) / Math.max(1, r.samples);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Scrape {
  counters: Map<string, number>;
  lagMaxS: number;
  lagP99S: number;
}

/** A stalled agent answers late or not at all: a scrape that times out is reported as a stall that long. */
const SCRAPE_TIMEOUT_MS = 20_000;

async function scrape(port: number): Promise<Scrape | undefined> {
  let text: string;
  try {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) })).text();
  } catch {
    return undefined;
  }
  const counters = new Map<string, number>();
  for (const m of text.matchAll(/^hotspan_agent_counter\{name="([^"]+)"\} (\S+)$/gm)) counters.set(m[1]!, Number(m[2]));
  for (const m of text.matchAll(/^hotspan_export_items\{signal="([^"]+)",outcome="encodeMs"\} (\S+)$/gm)) counters.set(`encodeMs.${m[1]}`, Number(m[2]));
  const lag = (q: string) => Number(new RegExp(`^hotspan_event_loop_delay_seconds\\{quantile="${q}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { counters, lagMaxS: lag('max'), lagP99S: lag('0.99') };
}

function countFiles(dir: string): number {
  let n = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  } catch {
    // Not created yet.
  }
  return n;
}

interface Agent {
  child: ChildProcess;
  healthPort: number;
  dataDir: string;
  /** RSS of the agent's process tree, every 10 s of its life. */
  rssSeries: { atS: number; rssMb: number }[];
  stop(): Promise<void>;
}

/** `npm start`'s command (package.json), run with this node: the bench starts the agent exactly as it does. */
const NPM_START: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
const START_ARGS = NPM_START.split(/\s+/)
  .slice(1)
  .map((a) => (a.endsWith('.js') ? join(ROOT, a) : a));

/** The agent exactly as `npm start` runs it (NPM_START), defaults on, in a scratch data dir. */
async function startAgent(name: string, args: string[] = [], envExtra: Record<string, string> = {}): Promise<Agent> {
  const healthPort = await freePort();
  const dataDir = join(tmp, name);
  // Ports: the defaults (7070, 7071) may be taken on a shared host; the health port stays on (it is
  // scraped below), the UI on an OS-chosen port. Everything else is the default configuration.
  const env = { ...process.env, HOTSPAN_HEALTH_PORT: String(healthPort), HOTSPAN_UI_PORT: 'auto', ...envExtra };
  const child = track(spawn(process.execPath, [...START_ARGS, '--data-dir', dataDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env }));
  let text = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (/hotspan: profiling /.test(text)) resolve();
      if (text.length > 100_000) text = text.slice(-50_000);
    });
    child.once('exit', (code) => reject(new Error(`agent exited (${code}) before sampling: ${text}`)));
  });
  const started = Date.now();
  const rssSeries: Agent['rssSeries'] = [];
  const rssTimer = setInterval(() => rssSeries.push({ atS: (Date.now() - started) / 1000, rssMb: treeRssMb(child.pid!).rssMb }), 10_000);
  return {
    child,
    healthPort,
    dataDir,
    rssSeries,
    async stop() {
      clearInterval(rssTimer);
      const gone = exited(child);
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(t);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Samples, windows, CPU and BPF time of the agent over `seconds` of steady state; /metrics scraped every SCRAPE_S. */
async function measureAgent(label: string, agent: Agent, seconds: number, samplerIds: () => Set<number>, healthOn = true): Promise<Row> {
  const pid = agent.child.pid!;
  const first = healthOn ? await scrape(agent.healthPort) : undefined; // also resets the loop-delay histogram
  const cpu0 = treeCpuSeconds(pid);
  const bpf0 = treeBpfPrograms(pid);
  const win0 = countFiles(join(agent.dataDir, 'profiles'));
  const t0 = Date.now();
  let lagMax = 0;
  let lagP99 = 0;
  let scrapeFailures = 0;
  let last = first;
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    await sleep(Math.min(SCRAPE_S * 1000, until - Date.now()));
    if (!healthOn) continue;
    const now = await scrape(agent.healthPort);
    if (!now) {
      lagMax = Math.max(lagMax, SCRAPE_TIMEOUT_MS / 1000);
      scrapeFailures++;
      continue;
    }
    last = now;
    if (Number.isFinite(now.lagMaxS)) lagMax = Math.max(lagMax, now.lagMaxS);
    if (Number.isFinite(now.lagP99S)) lagP99 = Math.max(lagP99, now.lagP99S);
  }
  const cpuS = treeCpuSeconds(pid) - cpu0;
  const bpf1 = treeBpfPrograms(pid);
  // Scrapes that time out can stretch the window past `seconds`: rates use the time that passed.
  const elapsedS = (Date.now() - t0) / 1000;
  const sampler = samplerIds();
  const split = (pick: (id: number) => boolean) =>
    bpfSecondsBetween(new Map([...bpf0].filter(([id]) => pick(id))), new Map([...bpf1].filter(([id]) => pick(id))));
  const { rssMb, peakMb } = treeRssMb(pid);
  // The kernel's count of sampler runs: ground truth for samples taken, whether or not the agent kept up.
  let kernelSamples = 0n;
  for (const id of sampler) kernelSamples += (bpf1.get(id)?.runCount ?? 0n) - (bpf0.get(id)?.runCount ?? 0n);
  const fromAgent = first && last && first !== last;
  const agentSamples = fromAgent ? (last!.counters.get('samples') ?? 0) - (first!.counters.get('samples') ?? 0) : NaN;
  // µs/sample is over the samples the kernel took (the agent's own counter is shown beside it, and
  // is missing when the agent could not answer /metrics).
  const samples = Number(kernelSamples);
  const row: Row = {
    label,
    seconds: elapsedS,
    cpuS,
    bpfSamplerS: split((id) => sampler.has(id)),
    bpfOtherS: split((id) => !sampler.has(id)),
    samples,
    samplesNominal: false,
    kernelSamples: Number(kernelSamples),
    agentSamples,
    windows: countFiles(join(agent.dataDir, 'profiles')) - win0,
    rssMb,
    peakMb,
    ...(healthOn && { lagMaxMs: lagMax * 1000, lagP99Ms: lagP99 * 1000 }),
  };
  if (fromAgent) log(`${label}: ${perWindowCost(first!.counters, last!.counters)}`);
  if (scrapeFailures) log(`${label}: ${scrapeFailures} /metrics scrapes timed out after ${SCRAPE_TIMEOUT_MS} ms (counted as stalls that long)`);
  if (healthOn && (!first || !last || first === last))
    log(`${label}: the agent did not answer /metrics at both ends: samples counted by the kernel (sampler run count)`);
  log(
    `${label}: ${pctOfCore(row).toFixed(2)}% of one core, ${usPerSample(row).toFixed(0)} µs/sample, ${row.samples} samples, ${row.windows} windows, RSS ${rssMb.toFixed(0)} MB`,
  );
  return row;
}

/**
 * Main-thread ms per closed window, by sink (the flow's own timers), plus the OTLP profile
 * conversion that runs a tick later: where the per-window cost goes.
 */
function perWindowCost(first: Map<string, number>, last: Map<string, number>): string {
  const delta = (k: string) => (last.get(k) ?? 0) - (first.get(k) ?? 0);
  const windows = delta('windows');
  if (windows <= 0) return 'no windows closed';
  const parts = [...last.keys()].filter((k) => k.startsWith('sinkMs.')).map((k) => `${k.slice(7)} ${(delta(k) / windows).toFixed(2)}`);
  parts.push(`otlp profile encoding ${(delta('encodeMs.profiles') / windows).toFixed(2)}`);
  return `${windows} windows; ms per window: ${parts.join(', ')}`;
}

/** The agent's sampler programs (by name, among the programs the agent holds). */
function samplerProgramIds(pid: number): () => Set<number> {
  return () => {
    const names = bpfProgramNames();
    return new Set([...treeBpfPrograms(pid).keys()].filter((id) => (names.get(id) ?? '').startsWith('handle_cpu_samp')));
  };
}

async function measurePeer(label: string, cmd: string, args: string[]): Promise<Row> {
  const child = track(spawn(cmd, args, { stdio: 'ignore' }));
  await sleep(5_000); // attached and past start-up
  const pid = child.pid!;
  const cpu0 = treeCpuSeconds(pid);
  const bpf0: Map<number, BpfProgTime> = treeBpfPrograms(pid);
  await sleep(STEADY_S * 1000);
  const cpuS = treeCpuSeconds(pid) - cpu0;
  const bpfS = bpfSecondsBetween(bpf0, treeBpfPrograms(pid));
  const { rssMb, peakMb } = treeRssMb(pid);
  // Measured already; SIGKILL spares bpftrace printing its whole map and perf writing its file.
  const gone = exited(child);
  child.kill('SIGKILL');
  await gone;
  const row: Row = { label, seconds: STEADY_S, cpuS, bpfSamplerS: bpfS, bpfOtherS: 0, samples: ncpu * 99 * STEADY_S, samplesNominal: true, rssMb, peakMb };
  log(`${label}: ${pctOfCore(row).toFixed(2)}% of one core, RSS ${rssMb.toFixed(0)} MB`);
  return row;
}

function printTable(rows: Row[]): void {
  console.log(
    '| run | s | samples/s (agent) | windows/s | user+sys % | BPF sampler % | BPF network % | **total % of one core** | µs/sample | RSS MB (peak) | loop lag max ms (p99) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const pct = (s: number) => ((100 * s) / r.seconds).toFixed(2);
    console.log(
      `| ${r.label} | ${r.seconds.toFixed(0)} | ${(r.samples / r.seconds).toFixed(0)}${r.samplesNominal ? '*' : ''}${r.agentSamples === undefined ? '' : ` (${Number.isNaN(r.agentSamples) ? '–' : (r.agentSamples / r.seconds).toFixed(0)})`} | ${r.windows === undefined ? '–' : (r.windows / r.seconds).toFixed(1)} | ${pct(r.cpuS)} | ${pct(r.bpfSamplerS)} | ${pct(r.bpfOtherS)} | **${pctOfCore(r).toFixed(2)}** | ${usPerSample(r).toFixed(0)} | ${r.rssMb.toFixed(0)} (${r.peakMb.toFixed(0)}) | ${r.lagMaxMs === undefined ? '–' : `${r.lagMaxMs.toFixed(0)} (${r.lagP99Ms!.toFixed(0)})`} |`,
    );
  }
}

const METHOD = `Method: the agent is started as \`npm start\` starts it (${NPM_START}, default configuration:
health port + /metrics, UI, network capture, embedded store, pprof windows; only the ports and data dir are chosen
for this run), with every CPU kept busy (${ncpu} × test/fixtures/bin/split). After ${WARMUP_S} s of warm-up, CPU is
read from /proc/PID/stat (utime+stime of all threads, plus cutime+cstime) summed over the agent's whole process tree,
and BPF run time from /proc/PID/fdinfo of every BPF program the tree holds open (kernel.bpf_stats_enabled=1), split
into the sampler (handle_cpu_sample) and the rest (network capture). All are shown as % of ONE core (not divided by
the number of CPUs). µs/sample = (user+sys+BPF) / samples taken (runs of the sampler program, kernel bpf stats; the agent's
own \`samples\` counter from /metrics is shown in brackets).
windows/s = pprof window files written (one per process per window). RSS = sum of VmRSS over the tree at the end
(peak = sum of VmHWM). Loop lag = hotspan_event_loop_delay_seconds scraped every ${SCRAPE_S} s (max over the run; the
scrapes are part of the measured cost, as Prometheus's would be). Process-count rows run the same agent with
test/fixtures/bin/many_procs N (N processes each burning ≤10 ms/s, ≤1 CPU in all) after ${SETTLE_S} s of settling.
Peers run alone in the same run for ${STEADY_S} s: bpftrace's and perf's user+sys and their BPF run time; perf's
sampling and unwinding run in NMI context on the sampled tasks, so they land on those tasks, not on perf.
* = peers: the nominal ${ncpu} CPUs × 99 Hz.
The host is shared: other work on it shows up in the network-capture BPF time (every socket syscall on the host runs it).`;

async function main() {
  execFileSync('make', ['-s', '-C', join(ROOT, 'test/fixtures')]);
  statsBefore = readFileSync(STATS_PATH, 'utf8').trim();
  writeFileSync(STATS_PATH, '1');
  const totalS = 4 * WARMUP_S + STEADY_S * 3 + PROCESS_COUNTS.length * (SETTLE_S + PHASE_S) + FREQUENCIES.length * PHASE_S + 300;
  // A busy host: one CPU-bound process per CPU, for the whole run.
  const load = Array.from({ length: ncpu }, () => track(spawn(join(ROOT, 'test/fixtures/bin/split'), [String(totalS)], { stdio: 'ignore' })));
  const rows: Row[] = [];
  const extra: string[] = [];
  try {
    log(`default agent at 99 Hz: warm-up ${WARMUP_S} s, steady ${STEADY_S} s, then ${PROCESS_COUNTS.join('/')} extra processes`);
    const agent = await startAgent('default');
    try {
      await sleep(WARMUP_S * 1000);
      const samplers = samplerProgramIds(agent.child.pid!);
      const base = await measureAgent('hotspan agent, default, 99 Hz', agent, STEADY_S, samplers);
      rows.push(base);
      for (const n of PROCESS_COUNTS) {
        const burnUs = Math.min(10_000, Math.floor(1_000_000 / n));
        const fixture = track(
          spawn(join(ROOT, 'test/fixtures/bin/many_procs'), [String(n), String(4 * (SETTLE_S + PHASE_S) + 120), String(burnUs)], { stdio: 'ignore' }),
        );
        try {
          await sleep(SETTLE_S * 1000);
          const r = await measureAgent(`  + ${n} live processes`, agent, PHASE_S, samplers);
          rows.push(r);
          const dWindows = r.windows! / r.seconds - base.windows! / base.seconds;
          const dCpu = (r.cpuS + r.bpfSamplerS + r.bpfOtherS) / r.seconds - (base.cpuS + base.bpfSamplerS + base.bpfOtherS) / base.seconds;
          if (dWindows > 0.5)
            extra.push(
              `per window (+${n} processes vs default row): ${((1e6 * dCpu) / dWindows).toFixed(0)} µs of CPU per extra window (Δcost ${(100 * dCpu).toFixed(2)}% / Δ ${dWindows.toFixed(1)} windows/s)`,
            );
        } finally {
          const gone = exited(fixture);
          fixture.kill('SIGKILL');
          await gone;
        }
      }
      const series = agent.rssSeries.filter((_, i) => i % (RSS_MINUTES > 0 ? 3 : 6) === 0);
      extra.push(`RSS over the default agent's life (s: MB): ${series.map((p) => `${p.atS.toFixed(0)}: ${p.rssMb.toFixed(0)}`).join(', ')}`);
    } finally {
      await agent.stop();
    }
    for (const hz of FREQUENCIES) {
      log(`agent at ${hz} Hz: warm-up ${WARMUP_S} s, steady ${PHASE_S} s`);
      const a = await startAgent(`hz-${hz}`, ['--frequency', String(hz)]);
      try {
        await sleep(WARMUP_S * 1000);
        rows.push(await measureAgent(`hotspan agent, default, ${hz} Hz`, a, PHASE_S, samplerProgramIds(a.child.pid!)));
      } finally {
        await a.stop();
      }
    }
    if (COMPARE_OLD) {
      log('agent as the previous bench ran it: health port off, --no-network, 20 s warm-up');
      const a = await startAgent('old-bench', ['--no-network'], { HOTSPAN_HEALTH_PORT: '0' });
      try {
        await sleep(20_000);
        const r = await measureAgent('agent as the old bench ran it (no health, --no-network)', a, STEADY_S, samplerProgramIds(a.child.pid!), false);
        rows.push(r);
        extra.push(`old bench's formula on that row: ${(pctOfCore(r) / ncpu).toFixed(2)}% "per sampled CPU" (÷${ncpu})`);
      } finally {
        await a.stop();
      }
    }
    log(`bpftrace, ${STEADY_S} s`);
    rows.push(
      await measurePeer('bpftrace profile:hz:99 { @[kstack, ustack, comm] = count(); }', 'bpftrace', [
        '-e',
        'profile:hz:99 { @[kstack, ustack, comm] = count(); }',
      ]),
    );
    log(`perf record, ${STEADY_S} s`);
    rows.push(await measurePeer('perf record -F 99 -a -g', 'perf', ['record', '-q', '-F', '99', '-a', '-g', '-o', join(tmp, 'perf.data')]));
  } finally {
    for (const l of load) l.kill('SIGKILL');
    writeFileSync(STATS_PATH, statsBefore);
    rmSync(tmp, { recursive: true, force: true });
  }

  console.log(`\n## Agent overhead on a busy ${ncpu}-CPU host${QUICK ? ' (--quick: short windows, noisy)' : ''}\n`);
  console.log(METHOD + '\n');
  printTable(rows);
  console.log();
  for (const e of extra) console.log(`- ${e}`);
  const head = rows[0]!;
  const bt = rows.find((r) => r.label.startsWith('bpftrace'))!;
  const flat = rows.filter((r) => r.kernelSamples !== undefined).map((r) => usPerSample(r));
  console.log(
    `- hotspan / bpftrace CPU: ${(pctOfCore(head) / pctOfCore(bt)).toFixed(1)}×; µs/sample across rows: ${Math.min(...flat).toFixed(0)}–${Math.max(...flat).toFixed(0)}`,
  );
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    `- targets: ≤1.0% of one core at 99 Hz: ${pctOfCore(head).toFixed(2)}% (${verdict(pctOfCore(head) <= 1)}); RSS ≤150 MB: ${head.rssMb.toFixed(0)} MB (${verdict(head.rssMb <= 150)}); loop stall ≤100 ms: ${head.lagMaxMs?.toFixed(0)} ms (${verdict((head.lagMaxMs ?? Infinity) <= 100)})`,
  );
}

await main();
