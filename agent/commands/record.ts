import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDurationMs, parseFrequencyHz, parseIntegerOption, parseUnwindMode } from '../../src/config/index.js';
import { FEATURES, parseFeatureList } from '../../src/bpf/index.js';
import { encodePprof, Profiler, type CpuSample } from '../../src/profiling/index.js';
import { preflight } from '../preflight.js';
import { installShutdownHandlers } from '../lifecycle.js';

export function register(program: Command): void {
  program
    .command('record')
    .description('record a one-off CPU profile (pprof) of the whole host or one process')
    .option('-d, --duration <duration>', 'how long to sample (e.g. 10s, 2m)', '10s')
    .option('-p, --pid <pid>', 'only this process (default: every process)')
    .option('-F, --frequency <hz>', 'samples per second per CPU', '99')
    .requiredOption('-o, --output <file>', 'where to write the gzipped pprof profile')
    .option('--unwind-wait <duration>', 'with --pid: wait up to this long for its unwind tables before recording (e.g. 60s under emulation); default 0')
    .option(
      '--unwind <auto|off>',
      'user stacks by .eh_frame tables when the kernel loads the walker (auto, default), or frame pointers only (off); also HOTSPAN_UNWIND',
    )
    .action(async (opts: { duration: string; pid?: string; frequency: string; output: string; unwind?: string; unwindWait?: string }) => {
      const durationMs = parseDurationMs(opts.duration);
      const pid = opts.pid === undefined ? undefined : parseIntegerOption('--pid', opts.pid, 1, 2 ** 22);
      const frequencyHz = parseFrequencyHz(opts.frequency);
      let unwind = parseUnwindMode(opts.unwind ?? process.env.HOTSPAN_UNWIND ?? 'auto');
      // The walker is not probed here: the sampler's own load is the probe (one verifier run, not
      // two), and on failure it falls back to frame pointers and says so in one line.
      preflight({ only: FEATURES.map((f) => f.id).filter((id) => id !== 'eh-frame-unwind') });
      if (parseFeatureList(process.env.HOTSPAN_DISABLE_FEATURES).includes('eh-frame-unwind')) unwind = 'off';
      const log = (msg: string) => process.stderr.write(`hotspan: ${msg}\n`);
      const samples: CpuSample[] = [];
      // A process's unwind tables load in the background from its first sample (with --pid, from
      // the start): ~0.3 s on a host. Samples taken before are walked by frame pointers, and the
      // last line says how many — the recording never waits (a short-lived process would be gone).
      let fromMonoNs = 0n;
      const onSamples = (batch: CpuSample[]) => {
        for (const s of batch) if (s.timeMonoNs >= fromMonoNs) samples.push(s);
      };
      const profiler = Profiler.start({ frequencyHz, pid, unwind, log, onSamples });
      const waitMs = opts.unwindWait === undefined ? 0 : parseDurationMs(opts.unwindWait);
      let fpBefore = 0n;
      if (pid && waitMs > 0) {
        if ((await profiler.unwindReady(pid, waitMs)) === false) log(`pid ${pid}: unwind tables not loaded within ${opts.unwindWait}`);
        fromMonoNs = process.hrtime.bigint(); // CLOCK_MONOTONIC, like the samples' bpf_ktime_get_ns
        samples.length = 0;
        fpBefore = profiler.stats().unwindNoTablesSamples ?? 0n;
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
      const unwound =
        stats.unwindDwarfSamples === undefined
          ? ''
          : `; ${stats.unwindNoTablesSamples! - fpBefore} walked by frame pointers before their unwind tables were loaded`;
      process.stderr.write(
        `hotspan: wrote ${samples.length} samples (${stats.lost} lost, ${stats.decodeErrors} undecodable${unwound}) at ${frequencyHz} Hz to ${opts.output}\n`,
      );
    });
}
