/** Resource attributes that follow from a ProcessInfo alone (pure; host facts come from resource.ts). */
import type { ProcessInfo } from '../profiling/types.js';
import type { Attributes } from './types.js';

export function processResourceAttributes(p: ProcessInfo): Attributes {
  const a: Attributes = { 'process.pid': p.pid, 'process.executable.name': p.name };
  if (p.executablePath) a['process.executable.path'] = p.executablePath;
  if (p.command) a['process.command'] = p.command;
  if (p.buildId) a['process.executable.build_id.gnu'] = p.buildId;
  if (p.containerId) a['container.id'] = p.containerId;
  a['service.name'] = p.serviceName || p.name;
  if (p.serviceVersion) a['service.version'] = p.serviceVersion;
  return a;
}
