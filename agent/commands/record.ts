import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDurationMs, parseFrequencyHz, parseIntegerOption } from '../../src/config/index.js';
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
    .action(async (opts: { duration: string; pid?: string; frequency: string; output: string }) => {
      const durationMs = parseDurationMs(opts.duration);
      const pid = opts.pid === undefined ? undefined : parseIntegerOption('--pid', opts.pid, 1, 2 ** 22);
      const frequencyHz = parseFrequencyHz(opts.frequency);
      preflight();
      const samples: CpuSample[] = [];
      const profiler = Profiler.start({ frequencyHz, pid, onSamples: (s) => samples.push(...s) });
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
