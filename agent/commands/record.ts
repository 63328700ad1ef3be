import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDurationMs, parseIntegerOption, parseUnwindMode } from '../../src/config/index.js';
import { FEATURES, parseFeatureList } from '../../src/bpf/index.js';
import { encodePprof, Profiler, type CpuSample } from '../../src/profiling/index.js';
import { preflight } from '../preflight.js';
import { installShutdownHandlers } from '../lifecycle.js';

/**
 * Longest `record --pid` waits for the process's unwind tables before it starts: ~0.3–3 s on a
 * host, tens of seconds in a qemu TCG guest (the kernel matrix). A process without CFI ends
 * the wait at once.
 */
const UNWIND_READY_TIMEOUT_MS = 120_000;

export function register(program: Command): void {
  program
    .command('record')
    .description('record a one-off CPU profile (pprof) of the whole host or one process')
    .option('-d, --duration <duration>', 'how long to sample (e.g. 10s, 2m)', '10s')
    .option('-p, --pid <pid>', 'only this process (default: every process)')
    .option('-F, --frequency <hz>', 'samples per second per CPU', '99')
    .requiredOption('-o, --output <file>', 'where to write the gzipped pprof profile')
    .option('--unwind <auto|off>', 'user stacks by .eh_frame tables when the kernel loads the walker (auto, default), or frame pointers only (off); also HOTSPAN_UNWIND')
    .action(async (opts: { duration: string; pid?: string; frequency: string; output: string; unwind?: string }) => {
      const durationMs = parseDurationMs(opts.duration);
      const pid = opts.pid === undefined ? undefined : parseIntegerOption('--pid', opts.pid, 1, 2 ** 22);
      const frequencyHz = parseIntegerOption('--frequency', opts.frequency, 1, 10_000);
      let unwind = parseUnwindMode(opts.unwind ?? process.env.HOTSPAN_UNWIND ?? 'auto');
      // The walker is not probed here: the sampler's own load is the probe (one verifier run, not
      // two), and on failure it falls back to frame pointers and says so in one line.
      preflight({ only: FEATURES.map((f) => f.id).filter((id) => id !== 'eh-frame-unwind') });
      if (parseFeatureList(process.env.HOTSPAN_DISABLE_FEATURES).includes('eh-frame-unwind')) unwind = 'off';
      const log = (msg: string) => process.stderr.write(`hotspan: ${msg}\n`);
      const samples: CpuSample[] = [];
      let fromMonoNs = 0n;
      const onSamples = (batch: CpuSample[]) => {
        for (const s of batch) if (s.timeMonoNs >= fromMonoNs) samples.push(s);
      };
      const profiler = Profiler.start({ frequencyHz, pid, unwind, log, onSamples });
      // One process: its unwind tables are loaded before the recording starts, so no sample of it
      // is a frame-pointer walk (a whole-host record loads each process at its first sample).
      if (pid && unwind === 'auto') {
        if ((await profiler.unwindReady(pid, UNWIND_READY_TIMEOUT_MS)) === false) log(`pid ${pid}: no unwind tables loaded; its stacks are walked by frame pointers`);
        fromMonoNs = process.hrtime.bigint(); // CLOCK_MONOTONIC, like the samples' bpf_ktime_get_ns
        samples.length = 0;
      }
      // Attached from here on: say so, so that scripts (and tests) know sampling has begun.
      process.stderr.write(`hotspan: recording ${pid ? `pid ${pid}` : 'every process'} at ${frequencyHz} Hz for ${opts.duration}\n`);
      const startUnixNs = BigInt(Date.now()) * 1_000_000n;
      let finish: () => void = () => {};
      const done = new Promise<void>((r) => (finish = r));
      const timer = setTimeout(finish, durationMs);
      const removeHandlers = installShutdownHandlers(async () => {
        clearTimeout(timer);
        finish();
        await done;
      });
      await done;
      await profiler.stop();
      const stats = profiler.stats();
      const endUnixNs = BigInt(Date.now()) * 1_000_000n;
      writeFileSync(opts.output, encodePprof({ samples, periodNs: profiler.periodNs, startUnixNs, endUnixNs }));
      removeHandlers();
      process.stderr.write(
        `hotspan: wrote ${samples.length} samples (${stats.lost} lost, ${stats.decodeErrors} undecodable) at ${frequencyHz} Hz to ${opts.output}\n`,
      );
    });
}
