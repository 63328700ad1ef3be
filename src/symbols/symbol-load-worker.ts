/**
 * The symbol loader's worker thread: reads and parses one ELF at a time (headers, .symtab or
 * .dynsym, a separate debug file and its CRC, the sorted table) off the agent's event loop.
 *
 * The main thread opened the binary (and the process's root directory) while the process was
 * alive and passes the fds: they stay valid here after the process exits, so a short-lived
 * process keeps its names. The main thread owns and closes them; nothing here closes them.
 * Failures counted here are handed back with the reply, into the main thread's table.
 */
import { parentPort } from 'node:worker_threads';
import { adoptWorkloadFile, failureCountsByReason, WorkloadFileError, type FailureReason } from '../workload-files/index.js';
import { ElfFormatError, readElfHeaders, type ByteSource } from './elf.js';
import { readElfSymbolsFrom } from './elf-symbols.js';
import type { LoadReply, LoadRequest } from './symbol-loader.js';
import { HEAP_TRIM_BOUNDS, trimHeapIfGrown, type HeapTrimStats } from '../heap/index.js';

function failureDelta(before: Map<FailureReason, number>): Array<[FailureReason, number]> {
  const out: Array<[FailureReason, number]> = [];
  for (const [reason, n] of failureCountsByReason()) {
    const d = n - (before.get(reason) ?? 0);
    if (d > 0) out.push([reason, d]);
  }
  return out;
}

function load(req: LoadRequest): { reply: LoadReply; transfer: ArrayBuffer[] } {
  const before = failureCountsByReason();
  // Debug files beside the binary are looked up in the process's root through its open
  // directory fd (the /proc/PID/root link is gone once the process exits).
  const root = req.rootFd !== undefined ? `/proc/self/fd/${req.rootFd}` : req.root;
  try {
    const f = adoptWorkloadFile(req.fd, 'elf', req.name, { count: false });
    const src: ByteSource = { name: f.name, size: f.size, read: (o, l) => f.read(o, l), close: () => f.close() };
    const headers = readElfHeaders(src);
    const syms = readElfSymbolsFrom(src, headers, { root, logicalPath: req.logicalPath, binaryId: req.binaryId, debugDirs: req.debugDirs });
    const { data, transfer } = syms.table.toData();
    const debugFile = syms.debugFile && req.rootFd !== undefined ? syms.debugFile.replace(root, req.rootDisplay) : syms.debugFile;
    return {
      reply: {
        id: req.id,
        ok: true,
        ...(headers.buildId && { buildId: headers.buildId }),
        loads: syms.loads,
        source: syms.source,
        ...(debugFile && { debugFile }),
        table: data,
        failures: failureDelta(before),
      },
      transfer,
    };
  } catch (err) {
    const reason: FailureReason = err instanceof WorkloadFileError ? err.reason : err instanceof ElfFormatError ? 'parse' : 'io';
    return { reply: { id: req.id, ok: false, reason, message: (err as Error).message, failures: failureDelta(before) }, transfer: [] };
  }
}

// Parsing a big binary leaves tens of MB of garbage that V8 would keep until its (large)
// first-collection limit; once the queue has been quiet for a moment, collect it.
const heap: HeapTrimStats = { collections: 0, liveBytes: 0, pauseMs: 0, lastAtMs: 0 };
let idle: NodeJS.Timeout | undefined;

parentPort!.on('message', (req: LoadRequest) => {
  const { reply, transfer } = load(req);
  parentPort!.postMessage(reply, transfer);
  clearTimeout(idle);
  idle = setTimeout(() => trimHeapIfGrown(heap, { ...HEAP_TRIM_BOUNDS, floorBytes: 16 << 20 }), 1000);
  idle.unref();
});
