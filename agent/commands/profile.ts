// `hotspan profile --span <id> | --trace <id> -o span.pb.gz`: the CPU profile of exactly that span
// (or every span of that trace) from the local store: the store keeps samples indexed by span id.
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { DEFAULT_DATA_DIR } from '../../src/config/index.js';
import type { MergeLabel } from '../../src/store/index.js';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { stripControl } from '../../src/api/text.js';
import { InputError } from '../../src/flamegraph/index.js';
import { runAction } from './common.js';
import { agentFor, openStore } from './store-access.js';

interface ProfileCliOptions {
  span?: string;
  trace?: string;
  output: string;
  dataDir?: string;
}

/** The gzipped pprof of the span or trace and its sample count: through the agent, else the store. */
async function spanProfile(opts: ProfileCliOptions): Promise<{ bytes: Buffer; samples: bigint }> {
  const agent = await agentFor(opts.dataDir);
  if (agent) {
    // The agent encodes with the same toPprof and labels as below, so the file is the same.
    const bytes = await agent.get('/api/v1/profile', { span_id: opts.span, trace_id: opts.trace, format: 'pprof' });
    const p = PprofProfile.decode(gunzipSync(bytes));
    return { bytes, samples: p.sample.reduce((a, s) => a + BigInt(s.value[0] ?? 0), 0n) };
  }
  const { toPprof } = await import('../../src/store/index.js'); // DuckDB: only when needed
  const store = await openStore(opts.dataDir);
  try {
    // The span labels make the file say which span each sample ran for (pprof -tags, -tagfocus).
    const labels: MergeLabel[] = ['traceId', 'spanId', 'spanName'];
    const merged = await store.mergeProfile(opts.span !== undefined ? { spanId: opts.span, labels } : { traceId: opts.trace!, labels });
    return { bytes: toPprof(merged), samples: merged.totalCount };
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  program
    .command('profile')
    .description('write the CPU profile (pprof) of one span or one trace from the local store')
    .option('--span <span-id>', 'span id, 16 hex digits')
    .option('--trace <trace-id>', 'trace id, 32 hex digits')
    .requiredOption('-o, --output <file>', 'pprof output file (gzipped), e.g. span.pb.gz')
    .option('--data-dir <dir>', `the agent's data directory (default ${DEFAULT_DATA_DIR})`)
    .action(
      runAction('profile', async (opts: ProfileCliOptions, cmd: Command) => {
        if ((opts.span === undefined) === (opts.trace === undefined)) cmd.error('hotspan profile: give exactly one of --span or --trace');
        if (opts.span !== undefined && !/^[0-9a-f]{16}$/.test(opts.span)) {
          cmd.error(`hotspan profile: --span must be 16 lowercase hex digits (got "${opts.span}"); copy it from \`hotspan spans\``);
        }
        if (opts.trace !== undefined && !/^[0-9a-f]{32}$/.test(opts.trace)) {
          cmd.error(`hotspan profile: --trace must be 32 lowercase hex digits (got "${opts.trace}")`);
        }
        const what = opts.span !== undefined ? `span ${opts.span}` : `trace ${opts.trace}`;
        const { bytes, samples } = await spanProfile(opts);
        if (samples === 0n) {
          throw new InputError(
            `no CPU samples stored for ${what}: it ran shorter than one sampling period, is older than retention, ` +
              `or the agent ran without network capture (check \`hotspan spans\` for its CPU time)`,
          );
        }
        await writeFile(opts.output, bytes);
        process.stderr.write(`hotspan profile: ${samples} samples of ${what} → ${stripControl(opts.output)}\n`);
      }),
    );
}
