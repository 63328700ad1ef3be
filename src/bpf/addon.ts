// The one place that loads the native addon. Everything else imports from
// ./index.js, which wraps it in typed TypeScript.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { projectPath } from './paths.js';

export interface NativeBpfObject {
  setAutoload(prog: string, enabled: boolean): void;
  setMaxEntries(map: string, maxEntries: number): void;
  load(rodata?: Record<string, number | bigint | boolean>): void;
  attachPerfEvent(prog: string, opts: { type: number; config: number; frequency?: number; period?: number; cpus: number[] }): number;
  attachTracepoint(prog: string, category: string, name: string): number;
  attachUprobe(prog: string, opts: { path: string; offset: number | bigint; pid?: number; retprobe?: boolean }): number;
  detach(linkId: number): void;
  /** onBatch(null) once, after the last batch, when the reader is closed. */
  openRingBuffer(map: string, onBatch: (records: Buffer[] | null) => void, flushIntervalMs?: number): number;
  closeRingBuffer(readerId: number): void;
  ringBufferStats(readerId: number): { records: number; batches: number; stalls: number } | undefined;
  mapInfo(map: string): { type: number; keySize: number; valueSize: number; valueBytes: number; maxEntries: number; possibleCpus: number };
  mapLookup(map: string, key: Buffer): Buffer | null;
  mapUpdate(map: string, key: Buffer, value: Buffer, flags?: number): void;
  mapDelete(map: string, key: Buffer): boolean;
  mapKeys(map: string): Buffer[];
  programs(): string[];
  loadedPrograms(): string[];
  programStats(prog: string): { id: number; runTimeNs: bigint; runCount: bigint; verifiedInsns: number };
  close(): void;
}

export interface NativeAddon {
  BpfObject: new (path: string) => NativeBpfObject;
  libbpfVersion: { major: number; minor: number };
  /** 1 supported, 0 not, negative errno when the probe could not run. */
  probeHelper(progType: number, helperId: number): number;
  probeMapType(mapType: number): number;
  probeProgType(progType: number): number;
  /** uapi numbers from the headers the addon was built with. */
  uapi: Record<UapiName, number>;
}

export type UapiName =
  | 'BPF_PROG_TYPE_TRACEPOINT'
  | 'BPF_PROG_TYPE_PERF_EVENT'
  | 'BPF_PROG_TYPE_KPROBE'
  | 'BPF_MAP_TYPE_RINGBUF'
  | 'BPF_FUNC_loop'
  | 'BPF_FUNC_ringbuf_output'
  | 'BPF_FUNC_probe_read_user'
  | 'BPF_FUNC_get_stack';

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const path = projectPath('native/build/Release/hotspan.node');
  if (!existsSync(path)) {
    throw new Error(`native addon not built (${path} missing); fix: run \`npm run setup\` as root`);
  }
  cached = createRequire(import.meta.url)(path) as NativeAddon;
  return cached;
}
