import { existsSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { ProcessInfo } from './types.js';
import { readWorkloadFile } from '../workload-files/index.js';

/**
 * Reads what /proc says about a process. Called once per process, at its first
 * sample, while it is still alive: a process that exits mid-window keeps its
 * name and executable.
 */
export function readProcessInfo(pid: number, fallbackName: string, procRoot = '/proc'): ProcessInfo {
  const info: ProcessInfo = { pid, name: fallbackName };
  try {
    info.executablePath = readlinkSync(`${procRoot}/${pid}/exe`).replace(/ \(deleted\)$/, '');
    info.name = basename(info.executablePath);
  } catch {
    // kernel thread, or already gone: keep the comm name
  }
  try {
    // argv is kept for the opt-in only; by default just argv[0] is exported (src/otlp/process-attributes.ts).
    const argv = readWorkloadFile(`${procRoot}/${pid}/cmdline`, 'proc').toString('utf8').split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    if (argv[0]) info.command = argv[0];
    if (argv.length) info.commandArgs = argv;
  } catch {
    // gone
  }
  // A process instrumented the OpenTelemetry way names itself in its environment;
  // only those two variables are kept (environments hold secrets).
  try {
    for (const kv of readWorkloadFile(`${procRoot}/${pid}/environ`, 'proc').toString('latin1').split('\0')) {
      if (kv.startsWith('OTEL_SERVICE_NAME=')) info.otelServiceName = kv.slice(18).trim() || undefined;
      else if (kv.startsWith('OTEL_RESOURCE_ATTRIBUTES=')) info.otelResourceAttributes = kv.slice(25).trim() || undefined;
    }
  } catch {
    // gone, or not ours to read
  }
  return info;
}

export function processAlive(pid: number, procRoot = '/proc'): boolean {
  return existsSync(`${procRoot}/${pid}`);
}
