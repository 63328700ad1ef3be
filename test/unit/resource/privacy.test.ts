// Privacy of process resources: the executable's name and path are exported, arguments and
// environment are not (unless the operator opts in), and never the agent's own arguments.
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessResources } from '../../../src/resource/index.js';
import { processResourceAttributes, commandName } from '../../../src/otlp/process-attributes.js';
import { readProcessInfo } from '../../../src/profiling/process-info.js';
import { resolveAgentConfig } from '../../../src/config/index.js';

const host = { 'host.name': 'node-1' };
const SECRET = 'pw-7f3a9c';

/** A fake /proc/PID with a cmdline and environment holding secrets. */
function fakeProc(argv: string[], env: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'hotspan-proc-'));
  mkdirSync(join(root, '42'));
  writeFileSync(join(root, '42', 'cmdline'), argv.join('\0') + '\0');
  writeFileSync(join(root, '42', 'environ'), env.join('\0') + '\0');
  symlinkSync('/usr/bin/psql', join(root, '42', 'exe'));
  return root;
}

describe('process resource privacy', () => {
  const procRoot = fakeProc(['psql', `postgres://app:${SECRET}@db/app`, '--set', `token=${SECRET}`], [`PGPASSWORD=${SECRET}`, 'OTEL_SERVICE_NAME=billing']);
  const info = readProcessInfo(42, 'psql', procRoot);

  it('exports executable name, path and argv[0]; never the arguments or the environment', () => {
    const a = new ProcessResources(host, undefined, {}).of(info);
    expect(a).toMatchObject({
      'process.pid': 42,
      'process.executable.name': 'psql',
      'process.executable.path': '/usr/bin/psql',
      'process.command': 'psql',
      'service.name': 'billing',
    });
    expect(JSON.stringify(a)).not.toContain(SECRET);
    expect(a['process.command_line']).toBeUndefined();
    expect(a['process.command_args']).toBeUndefined();
  });

  it('a rewritten command line (setproctitle) keeps only its first word', () => {
    expect(commandName({ pid: 1, name: 'postgres', command: `postgres: app ${SECRET} idle` })).toBe('postgres:');
    expect(commandName({ pid: 1, name: 'my app', executablePath: '/opt/my app', command: '/opt/my app' })).toBe('/opt/my app');
    expect(JSON.stringify(processResourceAttributes({ pid: 1, name: 'x', command: `x --key=${SECRET}` }))).not.toContain(SECRET);
  });

  it('opt-in exports the command line, but never the agent’s own (its --otlp-headers)', () => {
    const optIn = new ProcessResources(host, undefined, {}, { exportCommandArgs: true, selfPid: 7 });
    expect(optIn.of(info)['process.command_line']).toBe(`psql postgres://app:${SECRET}@db/app --set token=${SECRET}`);
    const self = optIn.of({
      pid: 7,
      name: 'node',
      command: 'node',
      commandArgs: ['node', 'hotspan', 'agent', '--otlp-headers', `authorization=Bearer ${SECRET}`],
    });
    expect(JSON.stringify(self)).not.toContain(SECRET);
  });

  it('the opt-in is off by default and set by HOTSPAN_EXPORT_COMMAND_ARGS or agent.exportCommandArgs', () => {
    expect(resolveAgentConfig({}, {}).exportCommandArgs).toBe(false);
    expect(resolveAgentConfig({}, { HOTSPAN_EXPORT_COMMAND_ARGS: '1' }).exportCommandArgs).toBe(true);
    const file = join(procRoot, 'cfg.yaml');
    writeFileSync(file, 'agent:\n  exportCommandArgs: true\n  networkBounds:\n    maxEngineBytes: 1048576\n');
    expect(resolveAgentConfig({}, {}, file)).toMatchObject({ exportCommandArgs: true, networkBounds: { maxEngineBytes: 1048576 } });
    expect(resolveAgentConfig({}, { HOTSPAN_NETWORK_MAX_STREAMS: '100' }).networkBounds).toEqual({ maxStreamsTotal: 100 });
    expect(() => resolveAgentConfig({}, { HOTSPAN_NETWORK_MAX_STREAMS: '-1' })).toThrow(/positive integer/);
  });

  it('Kubernetes metadata keeps process.pid an integer', async () => {
    const { createMetadataResolver } = await import('../../../src/kube/index.js');
    const attrs = await createMetadataResolver({ procRoot }).resolveProcessMetadata(42);
    expect(attrs['process.pid']).toBe(42);
    const r = new ProcessResources(host, async () => attrs, {});
    r.observe(42);
    await new Promise((res) => setTimeout(res, 10));
    expect(r.of(info)['process.pid']).toBe(42);
  });
});
