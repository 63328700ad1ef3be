import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { BpfError, BpfObject } from '../../src/bpf/index.js';
import { buildFixtures, cliArgs, FIXTURES_BIN, requireRoot } from './support/env.js';

const root = requireRoot('error paths of a real BPF load');

beforeAll(() => {
  if (root) buildFixtures();
});

/** Every failure is one line on stderr that names the cause and a fix. */
function expectOneClearLine(stderr: string, cause: RegExp) {
  const lines = stderr.split('\n').filter((l) => l.startsWith('hotspan:'));
  expect(lines.length, stderr).toBe(1);
  expect(lines[0]).toMatch(cause);
  expect(lines[0]).toMatch(/fix: /);
}

describe.runIf(root)('clear errors', () => {
  it('not root: names the missing privilege and the fix, exit 77', async () => {
    // setpriv drops to nobody with no capabilities, as an unprivileged user would run it.
    const r = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, ...cliArgs('record', '-d', '1s', '-o', '/tmp/never.pb.gz')],
      {
        reject: false,
        env: { HOME: '/tmp' },
      },
    );
    expect(r.exitCode).toBe(77);
    expectOneClearLine(r.stderr, /privileges: .*CAP_BPF/);
  });

  it('missing capability: root without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN is refused the same way', async () => {
    const r = await execa(
      'setpriv',
      ['--inh-caps=-all', '--bounding-set=-bpf,-perfmon,-sys_admin', process.execPath, ...cliArgs('record', '-d', '1s', '-o', '/tmp/never.pb.gz')],
      { reject: false },
    );
    expect(r.exitCode).toBe(77);
    expectOneClearLine(r.stderr, /privileges: .*no CAP_BPF\+CAP_PERFMON/);
  });

  it('no BTF: a kernel without /sys/kernel/btf/vmlinux is named, with the kernel option to fix it', async () => {
    // A private mount namespace hides the BTF directory from the agent only.
    const script = `mount -t tmpfs none /sys/kernel/btf && exec "$@"`;
    const r = await execa(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, ...cliArgs('record', '-d', '1s', '-o', '/tmp/never.pb.gz')],
      {
        reject: false,
      },
    );
    expect(r.exitCode).toBe(69);
    expectOneClearLine(r.stderr, /BTF.*CONFIG_DEBUG_INFO_BTF/);
  });

  it('verifier rejection: the verifier’s own reason, the log tail and a fix', () => {
    let err: unknown;
    try {
      BpfObject.load(join(FIXTURES_BIN, 'rejected.bpf.o')).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    const e = err as BpfError;
    expect(e.failure).toBe('verifier');
    expect(e.message).toMatch(/verifier rejected .*invalid mem access 'map_value_or_null'/);
    expect(e.detail).toMatch(/processed \d+ insns/);
    expect(e.summary()).toMatch(/fix: /);
  });

  it('a bad flag is a usage error, not a crash', async () => {
    const r = await execa(process.execPath, cliArgs('record', '--frequency', 'fast', '-o', '/tmp/x.pb.gz'), { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/frequency/);
  });
});
