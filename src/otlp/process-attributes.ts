/**
 * The OTel semconv process.* attributes of a ProcessInfo (pure): the domain → OTLP mapping of a
 * process. Which service a process is, and the rest of its resource, is decided in src/resource
 * (ProcessResources) and handed to the exporter; processResourceAttributes' service.name (the
 * process's own or its executable name) is only the default of a conversion run without one
 * (`hotspan record`, tests).
 *
 * Privacy: the executable's name and path describe a process; its arguments and environment
 * often hold secrets (database passwords, API tokens, the agent's own --otlp-headers). So
 * process.command is argv[0] at most (OTel semconv), and process.command_line / process.command_args
 * and the environment are never set here; the opt-in lives in src/resource (commandLineAttribute).
 */
import type { ProcessInfo } from '../profiling/types.js';
import type { Attributes } from './types.js';

export function processResourceAttributes(p: ProcessInfo): Attributes {
  const a: Attributes = { 'process.pid': p.pid, 'process.executable.name': p.name };
  if (p.executablePath) a['process.executable.path'] = p.executablePath;
  const command = commandName(p);
  if (command) a['process.command'] = command;
  if (p.buildId) a['process.executable.build_id.gnu'] = p.buildId;
  if (p.containerId) a['container.id'] = p.containerId;
  a['service.name'] = p.serviceName || p.name;
  if (p.serviceVersion) a['service.version'] = p.serviceVersion;
  return a;
}

/**
 * argv[0], safe to export. A process that rewrote its command line (setproctitle: nginx workers,
 * postgres backends, node's process.title) may have put its whole title, arguments included, in
 * argv[0]: only its first word is kept unless it is the executable's own path.
 */
export function commandName(p: ProcessInfo): string | undefined {
  const argv0 = p.command;
  if (!argv0) return undefined;
  if (argv0 === p.executablePath || !/\s/.test(argv0)) return argv0;
  return argv0.trim().split(/\s+/)[0] || undefined;
}
