import { join } from 'node:path';
import type { Command } from 'commander';
import { parseIntegerOption, resolveAgentConfig } from '../../src/config/index.js';
import { Profiler, PprofWindowWriter } from '../../src/profiling/index.js';
import { installShutdownHandlers } from '../lifecycle.js';
import { preflight } from '../preflight.js';

export function register(program: Command): void {
  program
    .command('agent')
    .description('run the node agent: profile every process continuously (npm start runs this)')
    .option('-c, --config <file>', 'YAML config file (flags > HOTSPAN_* env > file > defaults)')
    .option('--data-dir <dir>', 'where profiles, the store and reports are kept (default /var/lib/hotspan)')
    .option('-F, --frequency <hz>', 'samples per second per CPU (default 99)')
    .option('--pid <pid>', 'only this process')
    .action(async (opts: { config?: string; dataDir?: string; frequency?: string; pid?: string }) => {
      const cfg = resolveAgentConfig(
        {
          dataDir: opts.dataDir,
          frequencyHz: opts.frequency === undefined ? undefined : parseIntegerOption('--frequency', opts.frequency, 1, 10_000),
          pid: opts.pid === undefined ? undefined : parseIntegerOption('--pid', opts.pid, 1, 2 ** 22),
        },
        process.env,
        opts.config,
      );
      preflight({ needTracefs: true });
      const log = (msg: string) => process.stderr.write(`hotspan: ${msg}\n`);
      const writer = new PprofWindowWriter(join(cfg.dataDir, 'profiles'), cfg.pprofRetentionMs, (e) => log(`writing a profile failed: ${e.message}`));
      const profiler = Profiler.start({
        frequencyHz: cfg.frequencyHz,
        pid: cfg.pid,
        windowMs: cfg.windowMs,
        onWindow: (w) => {
          if (cfg.writePprofWindows) writer.write(w);
        },
      });
      const pruneTimer = setInterval(() => writer.prune(), 60_000);
      log(`profiling ${cfg.pid ? `pid ${cfg.pid}` : 'every process'} at ${cfg.frequencyHz} Hz; profiles in ${join(cfg.dataDir, 'profiles')}`);
      installShutdownHandlers(async (signal) => {
        log(`${signal}: stopping`);
        clearInterval(pruneTimer);
        await profiler.stop();
        const s = profiler.stats();
        log(`stopped: ${s.samples} samples, ${s.lost} lost, ${writer.written} windows written`);
      });
    });
}
