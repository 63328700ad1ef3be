import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseDurationMs } from './duration.js';
import { parseFrequencyHz } from './numbers.js';
import type { NetworkBounds } from '../network/index.js';
import { ConfigError } from './errors.js';

export const DEFAULT_DATA_DIR = '/var/lib/hotspan';

/** The agent's own settings (exporter settings are resolved by src/otlp). */
export interface AgentConfig {
  /** Where windows, the embedded store and reports live. */
  dataDir: string;
  frequencyHz: number;
  windowMs: number;
  /** Only this process; every process when unset. */
  pid?: number;
  /** Port of /healthz, /readyz and /metrics; 0 disables. */
  healthPort: number;
  /**
   * How long SIGTERM may take (final windows, spans, metrics and the store's flush) before the
   * agent exits 1 anyway; keep it under the pod's terminationGracePeriodSeconds.
   */
  shutdownTimeoutMs: number;
  /** Write a pprof file per process per window under <dataDir>/profiles. */
  writePprofWindows: boolean;
  /** How long pprof windows are kept on disk. */
  pprofRetentionMs: number;
  /** Capture TCP flows and HTTP/gRPC requests (spans, span ↔ profile join). */
  network: boolean;
  /** Keep URL query strings (off by default: they often carry tokens). */
  keepQueryStrings: boolean;
  /** Export each process's whole command line (process.command_line). Off: arguments carry secrets. */
  exportCommandArgs: boolean;
  /** Memory bounds of the L7 engine (src/network/bounds.ts); unset ones keep their defaults. */
  networkBounds: Partial<NetworkBounds>;
  /** Profile kept before and after a deploy for the automatic diff. */
  deployKeepMs: number;
  /** Time the new version runs before its deploy report is written. */
  deploySettleMs: number;
  /** Port of the web UI and JSON API (/api/v1); 0 disables; -1 lets the OS choose (tests). */
  uiPort: number;
  /** Address the UI binds; loopback by default (reach it with an SSH tunnel or kubectl port-forward). */
  uiHost: string;
  /** When set, /api/ requests must send `Authorization: Bearer <token>`. */
  uiToken?: string;
  /**
   * User stacks: `auto` walks them with .eh_frame unwind tables whenever the kernel loads the
   * walker (else frame pointers, said in one log line); `off`: frame pointers only.
   */
  unwind: UnwindMode;
  /** The config file's `exporter:` section (OTLP settings; resolved by src/otlp with env and flags). */
  exporterFile: Record<string, unknown>;
}

export type UnwindMode = 'auto' | 'off';

/** `auto` or `off` (flag --unwind, HOTSPAN_UNWIND, config file agent.unwind). */
export function parseUnwindMode(v: string): UnwindMode {
  const s = v.trim().toLowerCase();
  if (s === 'auto' || s === 'off') return s;
  throw new Error(`unwind must be auto or off (got ${JSON.stringify(v)}); off walks user stacks by frame pointers only`);
}

export const DEFAULT_AGENT_CONFIG: AgentConfig = {
  dataDir: DEFAULT_DATA_DIR,
  frequencyHz: 99,
  windowMs: 10_000,
  healthPort: 7070,
  shutdownTimeoutMs: 10_000,
  writePprofWindows: true,
  pprofRetentionMs: 24 * 3_600_000,
  network: true,
  keepQueryStrings: false,
  exportCommandArgs: false,
  networkBounds: {},
  deployKeepMs: 3_600_000,
  deploySettleMs: 5 * 60_000,
  uiPort: 7071,
  uiHost: '127.0.0.1',
  unwind: 'auto',
  exporterFile: {},
};

type Partial_ = { [K in keyof AgentConfig]?: AgentConfig[K] };

/** Each network bound, and the environment variable that sets it (config file: agent.networkBounds.<key>). */
const NETWORK_BOUND_ENV: ReadonlyArray<[keyof NetworkBounds, string]> = [
  ['maxEngineBytes', 'HOTSPAN_NETWORK_MAX_ENGINE_BYTES'],
  ['maxHpackTableBytes', 'HOTSPAN_NETWORK_MAX_HPACK_TABLE_BYTES'],
  ['maxStreamsPerConnection', 'HOTSPAN_NETWORK_MAX_STREAMS_PER_CONNECTION'],
  ['maxStreamsTotal', 'HOTSPAN_NETWORK_MAX_STREAMS'],
  ['maxHeaderBlockBytes', 'HOTSPAN_NETWORK_MAX_HEADER_BLOCK_BYTES'],
];

function fromEnv(env: NodeJS.ProcessEnv): Partial_ {
  const out: Partial_ = {};
  if (env.HOTSPAN_DATA_DIR) out.dataDir = env.HOTSPAN_DATA_DIR;
  if (env.HOTSPAN_FREQUENCY) out.frequencyHz = parseFrequencyHz(env.HOTSPAN_FREQUENCY);
  if (env.HOTSPAN_WINDOW) out.windowMs = parseDurationMs(env.HOTSPAN_WINDOW);
  if (env.HOTSPAN_HEALTH_PORT) out.healthPort = Number(env.HOTSPAN_HEALTH_PORT);
  if (env.HOTSPAN_SHUTDOWN_TIMEOUT) out.shutdownTimeoutMs = parseDurationMs(env.HOTSPAN_SHUTDOWN_TIMEOUT);
  if (env.HOTSPAN_NETWORK) out.network = !/^(0|false|off|no)$/i.test(env.HOTSPAN_NETWORK);
  if (env.HOTSPAN_KEEP_QUERY_STRINGS) out.keepQueryStrings = /^(1|true|on|yes)$/i.test(env.HOTSPAN_KEEP_QUERY_STRINGS);
  if (env.HOTSPAN_EXPORT_COMMAND_ARGS) out.exportCommandArgs = /^(1|true|on|yes)$/i.test(env.HOTSPAN_EXPORT_COMMAND_ARGS);
  const bounds: Partial<NetworkBounds> = {};
  for (const [key, name] of NETWORK_BOUND_ENV) if (env[name]) bounds[key] = Number(env[name]);
  if (Object.keys(bounds).length) out.networkBounds = bounds;
  if (env.HOTSPAN_DEPLOY_KEEP) out.deployKeepMs = parseDurationMs(env.HOTSPAN_DEPLOY_KEEP);
  if (env.HOTSPAN_DEPLOY_SETTLE) out.deploySettleMs = parseDurationMs(env.HOTSPAN_DEPLOY_SETTLE);
  if (env.HOTSPAN_UI_PORT) out.uiPort = parseUiPort(env.HOTSPAN_UI_PORT);
  if (env.HOTSPAN_UI_HOST) out.uiHost = env.HOTSPAN_UI_HOST;
  if (env.HOTSPAN_UI_TOKEN) out.uiToken = env.HOTSPAN_UI_TOKEN;
  if (env.HOTSPAN_UNWIND) out.unwind = parseUnwindMode(env.HOTSPAN_UNWIND);
  return out;
}

/** `auto` (an OS-chosen port: tests) or 0..65535. */
export function parseUiPort(v: string | number): number {
  if (v === 'auto') return -1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`UI port must be 0..65535 or auto (got ${v}); 0 disables the UI`);
  return n;
}

function fromFile(path: string | undefined): Partial_ {
  if (!path) return {};
  const doc = parseYaml(readFileSync(path, 'utf8')) as Record<string, unknown> | null;
  const agent = (doc?.agent ?? {}) as Record<string, unknown>;
  const out: Partial_ = {};
  if (typeof agent.dataDir === 'string') out.dataDir = agent.dataDir;
  if (agent.frequency !== undefined) out.frequencyHz = parseFrequencyHz(agent.frequency as number);
  if (typeof agent.window === 'string') out.windowMs = parseDurationMs(agent.window);
  if (typeof agent.healthPort === 'number') out.healthPort = agent.healthPort;
  if (typeof agent.shutdownTimeout === 'string') out.shutdownTimeoutMs = parseDurationMs(agent.shutdownTimeout);
  if (typeof agent.writePprofWindows === 'boolean') out.writePprofWindows = agent.writePprofWindows;
  if (typeof agent.network === 'boolean') out.network = agent.network;
  if (typeof agent.keepQueryStrings === 'boolean') out.keepQueryStrings = agent.keepQueryStrings;
  if (typeof agent.exportCommandArgs === 'boolean') out.exportCommandArgs = agent.exportCommandArgs;
  if (agent.networkBounds && typeof agent.networkBounds === 'object') {
    const bounds: Partial<NetworkBounds> = {};
    for (const [key] of NETWORK_BOUND_ENV) {
      const v = (agent.networkBounds as Record<string, unknown>)[key];
      if (typeof v === 'number') bounds[key] = v;
    }
    out.networkBounds = bounds;
  }
  if (typeof agent.deployKeep === 'string') out.deployKeepMs = parseDurationMs(agent.deployKeep);
  if (typeof agent.deploySettle === 'string') out.deploySettleMs = parseDurationMs(agent.deploySettle);
  if (typeof agent.uiPort === 'number' || typeof agent.uiPort === 'string') out.uiPort = parseUiPort(agent.uiPort);
  if (typeof agent.uiHost === 'string') out.uiHost = agent.uiHost;
  // YAML 1.1 habits: `unwind: false` means off.
  if (agent.unwind !== undefined) out.unwind = agent.unwind === false ? 'off' : parseUnwindMode(String(agent.unwind));
  if (doc?.exporter && typeof doc.exporter === 'object') out.exporterFile = doc.exporter as Record<string, unknown>;
  return out;
}

function defined(p: Partial_): Partial_ {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Partial_;
}

/**
 * Resolves the agent config: command-line flags over environment
 * (HOTSPAN_*) over the config file over defaults.
 */
export function resolveAgentConfig(cli: Partial_, env: NodeJS.ProcessEnv = process.env, configFile?: string): AgentConfig {
  const cfg: AgentConfig = { ...DEFAULT_AGENT_CONFIG, ...defined(fromFile(configFile)), ...defined(fromEnv(env)), ...defined(cli) };
  parseFrequencyHz(cfg.frequencyHz); // flags and programmatic callers; env and file are parsed above
  for (const [k, v] of Object.entries(cfg.networkBounds)) {
    if (!Number.isInteger(v) || (v as number) <= 0) throw new ConfigError(`network bound ${k} must be a positive integer (got ${v})`);
  }
  if (!Number.isInteger(cfg.healthPort) || cfg.healthPort < 0 || cfg.healthPort > 65535) {
    throw new ConfigError(`http port must be 0..65535 (got ${cfg.healthPort})`);
  }
  return cfg;
}
