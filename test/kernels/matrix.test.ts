/**
 * The kernel matrix (issue 10): Debian's kernels booted under qemu (test/kernels/boot.sh) and the
 * host kernel natively each run the real CLI and agent (test/kernels/guest-checks.sh); this file
 * judges what each left behind, against ground truth that does not come from hotspan:
 *
 *   record  the split fixture measures the thread CPU time it spends in burn_a/b/c (60/30/10 units
 *           of identical work, but not 60/30/10 of the time: code alignment moves it); the
 *           profile's shares are held to what it measured over the recording;
 *   unwind  the unwind_chain fixture (-O2 -fomit-frame-pointer) only ever runs under
 *           main → chain_level1 → … → chain_level5: every sample in it must carry that chain,
 *           which only the .eh_frame walker can find (frame pointers give 1–3 frames);
 *   demangle the demangler's WASM run on two threads with node's flags as npm start gives them:
 *           V8's own trace (--trace-wasm-code-gc) must show no WASM code freed, and it must exit 0
 *           (under V8's defaults the guests' node jumped into freed WASM code: SIGSEGV);
 *   spans   the C http_server logs the traceparent of every request it answered: each of those
 *           trace ids must be a SERVER span of the server's pid in the agent's store;
 *   refused the client itself saw errno 111 (ECONNREFUSED) on a closed port: the store must hold a
 *           refused client flow to that port (the flow metric, whose outcome is the errno's);
 *   stop    the agent exits 0 on SIGTERM (a crash or a missed shutdown deadline loses data);
 *   doctor  `hotspan doctor --json` ran; what it says the kernel lacks goes into the table.
 *
 * One test per kernel, one guest at a time; a table kernel × check is printed at the end and
 * written to $TMPDIR/hotspan-kernel-matrix/matrix.md.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { DB_FILE_NAME } from '../../src/store/index.js';
import { buildFixtures, requireRoot, ROOT } from '../integration/support/env.js';
import { shareStdErrPct } from '../integration/support/perf.js';
import { readPprof, selfShares } from '../integration/support/pprof.js';
import { readChurnOutput } from '../integration/support/demangle-churn.js';
import { readFixtureCpu, fixtureCpuShares } from '../integration/support/procs.js';

/** `series` is boot.sh's argument; 'host' runs the checks natively on this machine's kernel. */
const KERNELS = (process.env.HOTSPAN_MATRIX_KERNELS ?? '5.10,6.1,6.12,trixie-bpo,host').split(',').filter(Boolean);
/** Each kernel's raw evidence, kept for a look after a failure (the guest sees the same path). */
const OUT = join(tmpdir(), 'hotspan-kernel-matrix');
/** Boot + every step; the slowest kernel under TCG needs ~3 min, a loaded host more. */
const GUEST_TIMEOUT_S = 420;
const BURNERS = ['burn_a', 'burn_b', 'burn_c'];

const root = requireRoot('the kernel matrix (qemu with the host root, BPF in each guest)');
const CHECKS = ['boot', 'record', 'unwind', 'demangle', 'spans', 'refused', 'stop', 'doctor lacks'] as const;
type Check = (typeof CHECKS)[number];
const rows = new Map<string, { kernel: string; cells: Partial<Record<Check, string>>; seconds: number }>();

beforeAll(() => {
  if (!root) return;
  buildFixtures();
  mkdirSync(OUT, { recursive: true });
});

afterAll(() => {
  if (rows.size === 0) return;
  const head = `| kernel | ${CHECKS.join(' | ')} | time |`;
  const sep = `|${' --- |'.repeat(CHECKS.length + 2)}`;
  const body = [...rows.values()].map((r) => `| ${r.kernel} | ${CHECKS.map((c) => r.cells[c] ?? '—').join(' | ')} | ${r.seconds.toFixed(0)} s |`);
  const table = [head, sep, ...body].join('\n');
  writeFileSync(join(OUT, 'matrix.md'), table + '\n');
  console.log(`\nkernel matrix (${join(OUT, 'matrix.md')}):\n${table}\n`);
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // Both streams in one buffer, in order: the step timings and the guest's errors read together.
    const child = execFile(cmd, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 64 << 20, killSignal: 'SIGKILL' }, (err) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, output });
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
  });
}

const read = (dir: string, f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').trim() : '');

describe.runIf(root)('kernel matrix: the real agent on each kernel', () => {
  for (const k of KERNELS) {
    it(
      `${k}: record shares, SERVER spans with the sent trace ids, a refused flow, clean stop, doctor`,
      async () => {
        const share = join(OUT, k);
        rmSync(share, { recursive: true, force: true });
        mkdirSync(share, { recursive: true });
        const t0 = Date.now();
        const env = { ...process.env, HOTSPAN_GUEST_SHARE: share };
        const script = join(ROOT, 'test/kernels/guest-checks.sh');
        const res =
          k === 'host'
            ? await run('bash', [script], env, GUEST_TIMEOUT_S * 1000)
            : await run(
                'bash',
                [join(ROOT, 'test/kernels/boot.sh'), '--timeout', String(GUEST_TIMEOUT_S), '--share', share, k, '--', 'bash', script],
                env,
                (GUEST_TIMEOUT_S + 180) * 1000,
              );
        const row = { kernel: read(share, 'kernel') || k, cells: {} as Partial<Record<Check, string>>, seconds: (Date.now() - t0) / 1000 };
        rows.set(k, row);
        console.log(`--- ${k}: ${row.kernel} (${row.seconds.toFixed(0)} s)\n${res.output}`);
        // A guest that timed out still left evidence for the steps it finished: judge them all.
        judge(row.cells, 'boot', () => {
          need(res.code === 0, `exit ${res.code}${res.code === 124 ? ' (timeout)' : ''}: ${res.output.split('\n').filter(Boolean).slice(-3).join(' | ')}`);
          need(read(share, 'btf') === 'yes', 'no /sys/kernel/btf/vmlinux');
          return 'ok, BTF';
        });

        judge(row.cells, 'record', () => checkRecord(share));
        judge(row.cells, 'unwind', () => checkUnwind(share));
        judge(row.cells, 'demangle', () => checkDemangle(share));
        await judgeAsync(row.cells, 'spans', () => checkSpans(share));
        await judgeAsync(row.cells, 'refused', () => checkRefused(share));
        judge(row.cells, 'stop', () => checkStop(share));
        judge(row.cells, 'doctor lacks', () => doctorLacks(share));
        const failed = CHECKS.filter((c) => row.cells[c]?.startsWith('FAIL'));
        expect(failed, failed.map((c) => `${c}: ${row.cells[c]}`).join('\n')).toEqual([]);
      },
      (GUEST_TIMEOUT_S + 240) * 1000,
    );
  }
});

/** Runs one check; its cell holds the result, or FAIL and why (the test then fails, listing all). */
function judge(cells: Partial<Record<Check, string>>, c: Check, f: () => string): void {
  try {
    cells[c] = f();
  } catch (e) {
    cells[c] = `FAIL: ${(e as Error).message.split('\n')[0]}`;
  }
}
async function judgeAsync(cells: Partial<Record<Check, string>>, c: Check, f: () => Promise<string>): Promise<void> {
  try {
    cells[c] = await f();
  } catch (e) {
    cells[c] = `FAIL: ${(e as Error).message.split('\n')[0]}`;
  }
}

function need(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/**
 * Shares within 4 binomial standard errors (floor 3 pp) of what the fixture measured, the bound
 * the host's record test uses at 99 Hz. Under TCG the vCPU threads share the host's cores with
 * the rest of the machine, so n varies; the bound follows n, and n itself must be enough to mean
 * something.
 */
function checkRecord(share: string): string {
  need(existsSync(join(share, 'split.pb.gz')), `no profile written: ${read(share, 'record.log').slice(-300)}`);
  const measured = fixtureCpuShares(readFixtureCpu(join(share, 'split.truth.after')), readFixtureCpu(join(share, 'split.truth.before')));
  const { samples } = readPprof(join(share, 'split.pb.gz'));
  const n = samples.reduce((a, s) => a + s.count, 0);
  need(n >= 100, `only ${n} samples`);
  const shares = selfShares(samples);
  // The fixture measures only its burners' time; under TCG ~10% of samples land in the kernel's
  // interrupt-exit path (emulated timer/IPI), so shares are taken among burn_* themselves,
  // which must still be most of the profile.
  const burnPct = BURNERS.reduce((a, fn) => a + (shares.get(fn) ?? 0), 0);
  need(burnPct >= 70, `burn_* are ${burnPct.toFixed(0)}% of samples (top: ${[...shares].slice(0, 4).map(([f, p]) => `${f} ${p.toFixed(0)}%`)})`);
  const nBurn = Math.round((n * burnPct) / 100);
  const parts: string[] = [];
  for (const [fn, truth] of measured) {
    const got = (100 * (shares.get(fn) ?? 0)) / burnPct;
    const tol = Math.max(3, 4 * shareStdErrPct(truth, nBurn));
    need(
      Math.abs(got - truth) <= tol,
      `${fn} ${got.toFixed(1)}% of burn_* vs measured ${truth.toFixed(1)}% ±${tol.toFixed(1)} (n=${nBurn}; top: ${[...shares].slice(0, 4).map(([f, p]) => `${f} ${p.toFixed(0)}%`)})`,
    );
    parts.push(`${got.toFixed(0)}~${truth.toFixed(0)}`);
  }
  return `ok ${parts.join('/')} n=${nBurn}`;
}

const UNWIND_CHAIN = ['chain_level5', 'chain_level4', 'chain_level3', 'chain_level2', 'chain_level1', 'main'];

/** ≥95% of the fixture's samples carry the whole chain to main (the host test's bound). */
function checkUnwind(share: string): string {
  need(existsSync(join(share, 'unwind.pb.gz')), `no profile written: ${read(share, 'unwind-record.log').slice(-300)}`);
  const log = read(share, 'unwind-record.log');
  need(!/unwinding unavailable|not loaded within/.test(log), log.split('\n').find((l) => /unwind/.test(l)) ?? '');
  const { samples } = readPprof(join(share, 'unwind.pb.gz'));
  // Samples in the chain's functions (main's own clock_gettime calls are not under the chain).
  const inFixture = samples.filter((s) => s.stack.some((f) => f.startsWith('chain_level')));
  const n = inFixture.reduce((a, s) => a + s.count, 0);
  need(n >= 50, `only ${n} samples in the fixture`);
  const full = inFixture.filter((s) => s.stack.join(' ').includes(UNWIND_CHAIN.join(' '))).reduce((a, s) => a + s.count, 0);
  const pct = (100 * full) / n;
  const partial = inFixture.find((s) => !s.stack.join(' ').includes(UNWIND_CHAIN.join(' ')));
  need(pct >= 95, `${full}/${n} samples reach main (${pct.toFixed(1)}%; e.g. ${partial?.stack.slice(0, 6).join(' ← ')})`);
  return `ok ${pct.toFixed(0)}% n=${n}`;
}

/** The churn exited 0, V8 freed no WASM code, and both threads demangled (test/fixtures/js/demangle-churn.ts). */
function checkDemangle(share: string): string {
  const step = read(share, 'steps')
    .split('\n')
    .find((l) => l.startsWith('demangle '));
  need(step !== undefined, 'the demangle step did not run');
  const log = read(share, 'demangle.log');
  const rc = Number(step.split(' ')[1]);
  need(rc === 0, `exit ${rc}${rc === 139 ? ' (SIGSEGV)' : ''}: ${log.split('\n').slice(-2).join(' | ').slice(-300)}`);
  const { freed, counts } = readChurnOutput(log);
  need(freed === 0, `V8 freed WASM code ${freed} times while it ran`);
  need(counts !== null, `no counts printed: ${log.slice(-300)}`);
  need(counts.workerNames > 500 && counts.changed > 0.99 * counts.calls, `too little demangled: ${JSON.stringify(counts)}`);
  return `ok ${counts.calls} names, ${counts.workerNames} via the worker, 0 code freed`;
}

async function withStore<T>(share: string, f: (q: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const file = join(share, 'store', DB_FILE_NAME);
  need(existsSync(file), `no store (${read(share, 'agent-stop') || 'agent never stopped'}); agent log: ${read(share, 'agent.log').slice(-300)}`);
  const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  try {
    return await f(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function checkSpans(share: string): Promise<string> {
  const sent = read(share, 'sent-traces').split('\n').filter(Boolean);
  // The server's own log is the truth of what it answered (and with which traceparent).
  const answered = read(share, 'server.log')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[3]!.split('-')[1]!);
  need(sent.length > 0 && answered.length === sent.length, `server answered ${answered.length} of ${sent.length} requests`);
  need(
    answered.every((t, i) => t === sent[i]),
    'server logged other trace ids than were sent',
  );
  const pid = Number(read(share, 'server.pid'));
  return withStore(share, async (q) => {
    const rows = await q(`SELECT DISTINCT trace_id FROM spans WHERE pid = ${pid} AND kind = 2`);
    const got = new Set(rows.map((r) => String(r.trace_id)));
    const missing = sent.filter((t) => !got.has(t));
    need(missing.length === 0, `${missing.length}/${sent.length} trace ids have no SERVER span (store has ${got.size} for pid ${pid})`);
    return `ok ${sent.length}/${sent.length}`;
  });
}

async function checkRefused(share: string): Promise<string> {
  const r = JSON.parse(read(share, 'refused.json') || '{}') as { port?: number; errno?: number };
  need(r.errno === 111, `the client saw errno ${r.errno}, not ECONNREFUSED`);
  return withStore(share, async (q) => {
    const rows = await q(`SELECT attributes, value FROM metrics WHERE name = 'hotspan.network.flow.connections'`);
    const mine = rows
      .map((row) => ({ a: JSON.parse(String(row.attributes)) as Record<string, unknown>, v: Number(row.value) }))
      .filter(({ a }) => a['server.port'] === r.port);
    const outcomes = mine.map(({ a }) => `${a['hotspan.network.flow.role']}/${a['hotspan.network.flow.outcome']}`);
    need(
      mine.some(({ a, v }) => a['hotspan.network.flow.outcome'] === 'refused' && a['hotspan.network.flow.role'] === 'client' && v >= 1),
      `no refused client flow to port ${r.port} (flows to it: ${outcomes.join(',') || 'none'}; ${rows.length} flow series in all)`,
    );
    return 'ok errno 111';
  });
}

function checkStop(share: string): string {
  const m = /exit=(\d+) stop_ms=(\d+)/.exec(read(share, 'agent-stop'));
  need(m !== null, 'the agent never got to stop');
  const log = read(share, 'agent.log');
  const killed = /killed_after_s=(\d+)/.exec(read(share, 'agent-stop'));
  need(!killed, `no exit ${killed?.[1]} s after SIGTERM (killed): ${log.split('\n').slice(-2).join(' | ')}`);
  need(m[1] === '0', `exit ${m[1]} after ${m[2]} ms: ${log.split('\n').slice(-3).join(' | ')}${crashBacktrace(share)}`);
  return `ok ${(Number(m[2]) / 1000).toFixed(1)} s`;
}

/**
 * A guest agent that crashed left its core in the share (guest-checks.sh sets core_pattern): the
 * guest ran the host's node and addon, so gdb here names the frames. Printed in full to the log;
 * the cell gets the crashing thread's top frames and the kernel's segfault line.
 */
function crashBacktrace(share: string): string {
  // The kernel's own line (loglevel=7 in boot.sh): "node[pid]: segfault at ADDR ip IP … in OBJECT".
  const kernelSays = read(share, 'console.log')
    .split('\n')
    .filter((l) => /segfault at|general protection|trap invalid opcode/.test(l))
    .slice(0, 2)
    .join(' | ');
  const core = readdirSync(share).find((f) => f.startsWith('core.'));
  if (!core) return kernelSays ? ` (kernel: ${kernelSays})` : '';
  let bt: string;
  try {
    bt = execFileSync('gdb', ['-batch', '-nx', '-ex', 'bt 12', '-ex', 'info threads', '-ex', 'thread apply all bt 6', process.execPath, join(share, core)], {
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 16 << 20,
    });
  } catch (e) {
    return ` (core ${core}; gdb failed: ${(e as Error).message.split('\n')[0]})`;
  }
  console.log(`--- ${share}: backtrace of ${core}\n${bt}`);
  const top = bt
    .split('\n')
    .filter((l) => /^#\d+ /.test(l))
    .slice(0, 6)
    .map((l) => l.replace(/^#\d+\s+(0x[0-9a-f]+ in )?/, '').replace(/ \(.*$/, ''));
  return ` (core ${core}: ${top.join(' < ')}${kernelSays ? `; kernel: ${kernelSays}` : ''})`;
}

/**
 * What `hotspan doctor --json` says this kernel lacks: failed checks, and features reported
 * unavailable (with the kernel they need), or "nothing". Reads the flat check list and the
 * {checks, features} shape alike.
 */
function doctorLacks(share: string): string {
  const text = read(share, 'doctor.json');
  need(text !== '', `doctor printed nothing: ${read(share, 'doctor.err').slice(-200)}`);
  const doc = JSON.parse(text) as
    { name: string; ok: boolean }[] | { checks?: { name: string; ok: boolean }[]; features?: { id: string; available: boolean; minKernel?: string }[] };
  const checks = Array.isArray(doc) ? doc : (doc.checks ?? []);
  const features = Array.isArray(doc) ? [] : (doc.features ?? []);
  const lacking = [
    ...checks.filter((c) => c.ok === false).map((c) => c.name),
    ...features.filter((f) => f.available === false).map((f) => `${f.id}${f.minKernel ? ` (${f.minKernel}+)` : ''}`),
  ];
  return lacking.length ? lacking.join(', ') : 'nothing';
}
