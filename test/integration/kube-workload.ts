import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts a "container" without a container runtime: its own mount and PID namespace
 * (unshare), a private tmpfs root holding the only copy of a static binary (pivot_root, as
 * runc does), and a
 * cgroup named the way Docker's systemd driver names one (docker-<64 hex>.scope). From the
 * host the binary exists only as /proc/PID/root/bin/spin, so anything that names its
 * frames must read it through /proc/PID/root.
 */

/** The workload's hot function: tests look for this name in samples and symbol tables. */
export const SPIN_FUNCTION = 'hotspan_container_spin';

const SPIN_C = `
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* noinline and a volatile accumulator: the loop stays in this one named function. */
__attribute__((noinline)) uint64_t ${SPIN_FUNCTION}(uint64_t n) {
  volatile uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) acc += i * i;
  return acc;
}

/* What runc does: make the new root the namespace's root and drop the old one, so the
   host's root is unreachable from inside and our mappings are named relative to ours. */
static int enter_root(const char *dir) {
  if (chdir(dir) || mkdir("old", 0700) || syscall(SYS_pivot_root, ".", "old") || chdir("/") ||
      umount2("/old", MNT_DETACH) || rmdir("/old")) {
    perror("enter_root");
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && argv[1][0] == '-' && enter_root(argv[2])) return 1;
  for (;;) ${SPIN_FUNCTION}(100000000ULL);
}
`;

export interface ContainerWorkload {
  /** Host PID of the workload (PID 1 inside its namespace). */
  pid: number;
  containerId: string;
  /** SHA-256 of the binary, taken before the host copy was deleted. */
  binarySha256: string;
  /** The empty host directory the private tmpfs root is mounted on inside the namespace. */
  rootMountPoint: string;
  stop(): Promise<void>;
}

/** A cgroup hierarchy we can create a directory in: cgroup v2 if mounted, else a v1 one. */
function writableCgroupMount(): string {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup2' || f[2] === 'cgroup');
  const v2 = mounts.find((f) => f[2] === 'cgroup2');
  const v1 = mounts.find((f) => f[2] === 'cgroup' && f[3]?.split(',').includes('pids'));
  const chosen = v2 ?? v1 ?? mounts[0];
  if (!chosen) throw new Error('no cgroup filesystem mounted: mount cgroup2 on /sys/fs/cgroup');
  return chosen[1]!;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`container workload: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startContainerWorkload(): Promise<ContainerWorkload> {
  const work = mkdtempSync(join(tmpdir(), 'hotspan-ctr-'));
  const src = join(work, 'spin.c');
  const bin = join(work, 'spin');
  const rootMountPoint = join(work, 'root');
  mkdirSync(rootMountPoint);
  writeFileSync(src, SPIN_C);
  // -static: the private root has no libc; frame pointers so any unwinder walks it.
  execFileSync('gcc', ['-static', '-O1', '-g', '-fno-omit-frame-pointer', '-o', bin, src]);
  const binarySha256 = createHash('sha256').update(readFileSync(bin)).digest('hex');

  const containerId = randomBytes(32).toString('hex');
  const slice = join(writableCgroupMount(), 'hotspan-test.slice');
  const scope = join(slice, `docker-${containerId}.scope`);
  mkdirSync(scope, { recursive: true });

  const inner = [
    `mount -t tmpfs -o size=16m tmpfs '${rootMountPoint}'`,
    `mkdir '${rootMountPoint}/bin'`,
    `cp '${bin}' '${rootMountPoint}/bin/spin'`,
    // Runs the copy inside the tmpfs, which then pivots into it (see enter_root above).
    `exec '${rootMountPoint}/bin/spin' --pivot-root '${rootMountPoint}'`,
  ].join(' && ');
  // Join the cgroup first, so unshare and everything it forks inherit it.
  const child: ChildProcess = spawn(
    'sh',
    ['-c', `echo $$ > '${scope}/cgroup.procs' && exec unshare --mount --pid --fork --mount-proc --propagation private sh -c "${inner}"`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const stop = async (): Promise<void> => {
    // Killing unshare's child (PID 1 of the namespace) takes the whole namespace down.
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const k of kids) process.kill(Number(k), 'SIGKILL');
    } catch {
      /* already gone */
    }
    child.kill('SIGKILL');
    await exited;
    for (const dir of [scope, slice]) {
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          rmdirSync(dir);
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // the cgroup empties asynchronously
        }
      }
    }
    rmSync(work, { recursive: true, force: true });
  };

  try {
    const pid = await waitFor(`the workload to exec /bin/spin (${stderr.trim() || 'no output yet'})`, () => {
      try {
        const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        // After pivot_root the host names the executable by its path inside the new root.
        for (const k of kids) if (readlinkSync(`/proc/${k}/exe`) === '/bin/spin') return Number(k);
      } catch {
        /* not there yet */
      }
      if (child.exitCode !== null) throw new Error(`container workload exited: ${stderr.trim()}`);
      return undefined;
    });
    // The only copy of the binary is now inside the namespace's tmpfs.
    rmSync(bin);
    return { pid, containerId, binarySha256, rootMountPoint, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
