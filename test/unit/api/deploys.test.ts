/**
 * Deploy reports outlive the agent: written as JSON beside the text reports and read back by the
 * next agent, equal to what was produced (bigint timestamps and infinite z-scores included);
 * a corrupt or foreign file in the directory is skipped and named, never fatal.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeployLog } from '../../../src/api/index.js';
import { diff, fromFolded, renderDiffTable, type DeployDiffReport } from '../../../src/flamegraph/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function report(service: string, atMs: number): DeployDiffReport {
  const base = fromFolded('main;handle;parse 40\nmain;handle 60\n');
  const head = fromFolded('main;handle;parse 40\nmain;handle 30\nmain;handle;check_fraud 30\n');
  const d = diff(base, head);
  return {
    service,
    fromVersion: 'v1',
    toVersion: 'v2',
    deployedAtUnixNs: BigInt(atMs) * 1_000_000n,
    base,
    head,
    regressions: d.regressions,
    improvements: d.improvements,
    diff: d,
    text: renderDiffTable(d),
  };
}

describe('DeployLog', () => {
  it('reads back what an earlier agent wrote, newest first, equal in every field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-deploys-'));
    dirs.push(dir);
    const first = new DeployLog(50, dir);
    const a = first.add(report('checkout', 1_700_000_000_000));
    const b = first.add(report('cart/../..', 1_700_000_100_000));
    expect(a.report.diff.regressions[0]!.name).toBe('check_fraud');
    // A new frame has no base share: its z-score is what the diff says (possibly infinite) and must survive.
    const second = new DeployLog(50, dir);
    expect(second.skipped).toEqual([]);
    expect(second.list().map((e) => e.id)).toEqual([b.id, a.id]);
    expect(second.get(a.id)!.report).toEqual(a.report);
    expect(second.get(b.id)!.report).toEqual(b.report);
    expect(b.id).not.toContain('/');
  });

  it('keeps the newest max reports on disk and skips files that are not reports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-deploys-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'junk.deploy.json'), '{"service": 1}');
    writeFileSync(join(dir, 'cut.deploy.json'), '{"service": "x", "deployedAtUnixNs": {"$bigi');
    const log = new DeployLog(2, dir);
    expect(log.skipped.map((s) => s.split(':')[0]).sort()).toEqual(['cut.deploy.json', 'junk.deploy.json']);
    for (let i = 0; i < 4; i++) log.add(report('svc', 1_700_000_000_000 + i * 1000));
    expect(log.list()).toHaveLength(2);
    const kept = readdirSync(dir).filter((n) => n.startsWith('svc-'));
    expect(kept.sort()).toEqual(['svc-1700000002000.deploy.json', 'svc-1700000003000.deploy.json']);
    expect(new DeployLog(2, dir).list().map((e) => e.id)).toEqual(['svc-1700000003000', 'svc-1700000002000']);
  });
});
