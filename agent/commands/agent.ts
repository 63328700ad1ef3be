import type { Command } from 'commander';
import { parseFrequencyHz, parseIntegerOption, parseUiPort, parseUnwindMode, resolveAgentConfig } from '../../src/config/index.js';
import { installShutdownHandlers } from '../lifecycle.js';
import { preflight } from '../preflight.js';

export function register(program: Command): void {
  program
    .command('agent')
    .description('run the node agent: profile every process, capture requests, export OTLP (npm start runs this)')
    .option('-c, --config <file>', 'YAML config file (flags > HOTSPAN_* env > file > defaults)')
    .option('--data-dir <dir>', 'where profiles, the store and reports are kept (default /var/lib/hotspan)')
    .option('-F, --frequency <hz>', 'samples per second per CPU (default 99)')
    .option('--pid <pid>', 'only this process')
    .option('--no-network', 'do not capture TCP flows and HTTP/gRPC requests')
    .option('--otlp-endpoint <url>', 'send all signals to this OTLP endpoint (default: OTEL_EXPORTER_OTLP_ENDPOINT, else the embedded store)')
    .option('--otlp-protocol <grpc|http/protobuf>', 'OTLP transport (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)')
    .option('--otlp-insecure', 'plaintext gRPC to the endpoint (no TLS)')
    .option('--otlp-headers <k=v,...>', 'headers sent with every export (e.g. authorization)')
    .option('--ui-port <port>', 'web UI and JSON API port (default 7071; 0 disables); also HOTSPAN_UI_PORT')
    .option(
      '--unwind <auto|off>',
      'user stacks by .eh_frame tables when the kernel loads the walker (auto, default), or frame pointers only (off); also HOTSPAN_UNWIND',
    )
    .option('--ui-host <address>', 'address the UI binds (default 127.0.0.1: loopback only); also HOTSPAN_UI_HOST')
    .action(
      async (opts: {
        config?: string;
        dataDir?: string;
        frequency?: string;
        pid?: string;
        network: boolean;
        otlpEndpoint?: string;
        otlpProtocol?: string;
        otlpInsecure?: boolean;
        otlpHeaders?: string;
        uiPort?: string;
        uiHost?: string;
        unwind?: string;
      }) => {
        const cfg = resolveAgentConfig(
          {
            dataDir: opts.dataDir,
            frequencyHz: opts.frequency === undefined ? undefined : parseFrequencyHz(opts.frequency),
            pid: opts.pid === undefined ? undefined : parseIntegerOption('--pid', opts.pid, 1, 2 ** 22),
            network: opts.network === false ? false : undefined,
            uiPort: opts.uiPort === undefined ? undefined : parseUiPort(opts.uiPort),
            uiHost: opts.uiHost,
            unwind: opts.unwind === undefined ? undefined : parseUnwindMode(opts.unwind),
          },
          process.env,
          opts.config,
        );
        const features = preflight({ needTracefs: true });
        const log = (msg: string) => process.stderr.write(`hotspan: ${msg}\n`);
        // Loaded here, not at the top: the other commands should not pay for DuckDB, gRPC and the rest.
        const { startNodeAgent } = await import('../node-agent.js');
        const exporterCli = {
          endpoint: opts.otlpEndpoint,
          protocol: opts.otlpProtocol as 'grpc' | undefined,
          insecure: opts.otlpInsecure,
          headers: opts.otlpHeaders,
        };
        // Handlers first: a SIGINT/SIGTERM that arrives while the agent is still starting (loading
        // programs, opening the store: seconds on a busy node) waits for the start to finish and
        // then stops it cleanly, instead of killing the process with programs half attached.
        const starting = startNodeAgent(cfg, log, Object.fromEntries(Object.entries(exporterCli).filter(([, v]) => v !== undefined)), features);
        let stopping = false;
        installShutdownHandlers(async (signal) => {
          stopping = true;
          log(`${signal}: stopping`);
          // A start that fails is the command's error to report, with its own exit code (cli.ts
          // exits); this handler then has nothing to stop and must not exit 0 first.
          const agent = await starting.catch(() => new Promise<never>(() => {}));
          await agent.stop();
          const s = agent.stats();
          log(`stopped: ${s.samples} samples, ${s.lost} lost, ${s.windowsWritten} windows written`);
        }, cfg.shutdownTimeoutMs);
        await starting;
        if (!stopping) log(`profiling ${cfg.pid ? `pid ${cfg.pid}` : 'every process'} at ${cfg.frequencyHz} Hz; data in ${cfg.dataDir}`);
      },
    );
}
