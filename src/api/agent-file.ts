/**
 * `<dataDir>/agent.json`: how CLI commands find the running agent's API. Written when the API
 * starts, removed when it stops; holds the pid and URL only (never the token).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const AGENT_FILE = 'agent.json';

export interface AgentFile {
  pid: number;
  url: string;
  startedUnixMs: number;
}

export function writeAgentFile(dataDir: string, f: AgentFile): void {
  const path = join(dataDir, AGENT_FILE);
  // Write then rename: a CLI reading at the same moment sees the old file or the new one, never half.
  writeFileSync(`${path}.tmp`, JSON.stringify(f) + '\n', { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** Removes the file if it is still ours (a newer agent may have replaced it). */
export function removeAgentFile(dataDir: string, pid: number): void {
  const f = readAgentFile(dataDir);
  if (f?.pid === pid) rmSync(join(dataDir, AGENT_FILE), { force: true });
}

export function readAgentFile(dataDir: string): AgentFile | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dataDir, AGENT_FILE), 'utf8')) as Partial<AgentFile>;
    if (typeof v.pid !== 'number' || typeof v.url !== 'string' || !/^http:\/\/[^/]+\/$/.test(v.url)) return undefined;
    return { pid: v.pid, url: v.url, startedUnixMs: Number(v.startedUnixMs ?? 0) };
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
