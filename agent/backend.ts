import { join } from 'node:path';
import {
  createInProcessExporter,
  createOtlpExporter,
  resolveExporterConfig,
  startOtlpReceiver,
  SIGNALS,
  type ExporterConfigInput,
  type ExporterOptions,
  type OtlpExporter,
  type OtlpReceiver,
} from '../src/otlp/index.js';
import { STORE_PROCEDURES_MODULE } from '../src/api/index.js';
import { openStoreWorker, type Store } from '../src/store/index.js';

export interface Backend {
  exporter: OtlpExporter;
  /** Set when at least one signal goes to the embedded receiver + store. */
  embedded?: { receiver: OtlpReceiver; store: Store };
  /** Where each signal goes, for the start-up log line. */
  describe(): string;
  close(deadlineMs: number): Promise<void>;
}

/**
 * The OTLP exporter, pointed at the configured endpoints; a signal with no
 * endpoint configured (flag, env or file) goes to the embedded OTLP/gRPC
 * receiver, which writes into the local store: the embedded default.
 */
export async function startBackend(
  dataDir: string,
  options: ExporterOptions,
  cliConfig: ExporterConfigInput = {},
  fileConfig: ExporterConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Backend> {
  const configured = resolveExporterConfig(env, cliConfig, fileConfig);
  const toEmbedded = SIGNALS.filter((s) => configured[s].endpointSource === 'default');
  let embedded: Backend['embedded'];
  let configs = configured;
  if (toEmbedded.length) {
    // On its own thread: DuckDB's appends and queries never hold the agent's event loop.
    // The API's profile and diff views are built in the store's thread, not on the agent's loop.
    const store = await openStoreWorker({ dataDir: join(dataDir, 'store') }, { procedures: STORE_PROCEDURES_MODULE });
    const receiver = await startOtlpReceiver({ host: '127.0.0.1', port: 0, sink: store, log: options.log });
    embedded = { receiver, store };
    const overrides: ExporterConfigInput = { ...cliConfig };
    for (const s of toEmbedded) overrides[s] = { ...cliConfig[s], endpoint: `http://127.0.0.1:${receiver.port}`, insecure: true, protocol: 'grpc' };
    configs = resolveExporterConfig(env, overrides, fileConfig);
  }
  // All signals local (the embedded default): hand batches to the store by function call; the
  // receiver still listens, for other agents using this one as a gateway.
  const exporter =
    embedded && toEmbedded.length === SIGNALS.length ? createInProcessExporter(configs, embedded.store, options) : createOtlpExporter(configs, options);
  return {
    exporter,
    embedded,
    describe: () => SIGNALS.map((s) => `${s} → ${toEmbedded.includes(s) ? `embedded store (${join(dataDir, 'store')})` : configs[s].endpoint}`).join(', '),
    async close(deadlineMs: number) {
      await exporter.shutdown(deadlineMs);
      if (embedded) {
        await embedded.receiver.close(1000);
        await embedded.store.close();
      }
    },
  };
}
