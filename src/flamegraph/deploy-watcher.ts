/**
 * Notices deploys from the profile stream and diffs the workload before and after.
 *
 * Feed it every ProfileWindow (`add`). Windows are grouped by service (serviceName, else the
 * executable name) and version (serviceVersion, else the executable's build id). When a
 * service shows a version it did not run before, that is a deploy at the window's start:
 * the profile of the old version over `keepMs` before it is frozen as the base, the new
 * version's windows accumulate as the head, and once `settleMs` of head time has been seen
 * a DeployDiffReport goes to `onReport` — once per deploy.
 *
 * Memory is bounded: per service and version only merged, label-free aggregates are kept,
 * one per `bucketMs` of time, and buckets older than `keepMs` are dropped. Time comes from
 * the windows (endUnixNs), not the wall clock, so replays and tests behave like live runs.
 *
 * Wiring (agent side): `new DeployWatcher({ onReport })`, call `add(window)` for each window
 * the profiler produces, and in `onReport` write `report.text` (and `renderDiffHtml(report.base,
 * report.head)`) to the data dir and export `deployReportToLogRecord(report, resource)` (src/otlp/logs.ts) as an
 * OTLP log record. Call `close()` on shutdown.
 */
import type { ProfileWindow } from '../profiling/types.js';
import { diff, type DiffOptions, type FrameDiff, type ProfileDiff } from './diff.js';
import { merge } from './merge.js';
import { aggregate, type Profile } from './model.js';
import { renderDiffTable } from './render-text.js';
import { fromWindows, serviceOf, versionOf } from './windows.js';

export interface DeployDiffReport {
  service: string;
  fromVersion: string;
  toVersion: string;
  /** Start of the first window of the new version, Unix epoch ns. */
  deployedAtUnixNs: bigint;
  /** Merged profiles diffed: the old version before the deploy, the new one after. */
  base: Profile;
  head: Profile;
  /** Top significant regressions / improvements (at most `top` each). */
  regressions: FrameDiff[];
  improvements: FrameDiff[];
  diff: ProfileDiff;
  /** Terminal-ready report: header line plus renderDiffTable. */
  text: string;
}

export interface DeployWatcherOptions {
  onReport: (report: DeployDiffReport) => void;
  /** Profile kept before the deploy (and the cap on head time), ms; default one hour. */
  keepMs?: number;
  /** Head time to collect after a deploy before reporting, ms; default 5 minutes. */
  settleMs?: number;
  /** Aggregation bucket, ms; default keepMs / 60 (60 buckets per version). */
  bucketMs?: number;
  /** Rows per list in the report; default 20. */
  top?: number;
  diff?: DiffOptions;
}

interface Bucket {
  startNs: bigint;
  endNs: bigint;
  profile: Profile;
}

interface Pending {
  from: string;
  to: string;
  atNs: bigint;
  base: Profile;
}

interface ServiceState {
  current: string;
  /** Buckets per version, oldest first. */
  buckets: Map<string, Bucket[]>;
  /** End of the latest window per version, Unix ns. */
  lastSeen: Map<string, bigint>;
  pending?: Pending;
}

const MS = 1_000_000n;

export class DeployWatcher {
  private readonly services = new Map<string, ServiceState>();
  private readonly keepNs: bigint;
  private readonly settleNs: bigint;
  private readonly bucketNs: bigint;
  private closed = false;

  constructor(private readonly opts: DeployWatcherOptions) {
    const keepMs = opts.keepMs ?? 3_600_000;
    const settleMs = opts.settleMs ?? 300_000;
    if (!(keepMs > 0) || !(settleMs > 0)) throw new RangeError(`keepMs and settleMs must be > 0 (got ${keepMs}, ${settleMs})`);
    if (settleMs > keepMs) {
      throw new RangeError(`settleMs (${settleMs}) exceeds keepMs (${keepMs}); fix: settle within the kept window`);
    }
    this.keepNs = BigInt(Math.round(keepMs)) * MS;
    this.settleNs = BigInt(Math.round(settleMs)) * MS;
    this.bucketNs = BigInt(Math.max(1, Math.round(opts.bucketMs ?? keepMs / 60))) * MS;
  }

  /** Services being watched, with their current version and whether a deploy report is pending. */
  status(): { service: string; version: string; pendingFrom?: string }[] {
    return [...this.services.entries()].map(([service, s]) => ({
      service,
      version: s.current,
      ...(s.pending ? { pendingFrom: s.pending.from } : {}),
    }));
  }

  /** Adds one window. Windows without a version (no build id, no service.version) are ignored. */
  add(w: ProfileWindow): void {
    if (this.closed) throw new Error('DeployWatcher.add after close()');
    const version = versionOf(w);
    if (version === undefined || version === '') return;
    const service = serviceOf(w);
    let s = this.services.get(service);
    if (!s) {
      s = { current: version, buckets: new Map(), lastSeen: new Map() };
      this.services.set(service, s);
    }
    // A deploy: a version that is not live (never seen, or silent for settleMs) takes over. An
    // old version that is still live (replicas not yet replaced) is a straggler, not a rollback.
    const lastSeen = s.lastSeen.get(version);
    const live = lastSeen !== undefined && w.startUnixNs - lastSeen <= this.settleNs;
    if (version !== s.current && !live) {
      const from = s.current;
      const base = this.collect(s, from, w.startUnixNs - this.keepNs, w.startUnixNs);
      // A newer deploy before the last one settled replaces it: its base is the version it replaced.
      s.pending = base ? { from, to: version, atNs: w.startUnixNs, base } : undefined;
      s.current = version;
    }
    if (lastSeen === undefined || w.endUnixNs > lastSeen) s.lastSeen.set(version, w.endUnixNs);
    this.addToBucket(s, version, w);
    this.expire(s, w.endUnixNs);
    this.maybeReport(service, s, w.endUnixNs);
  }

  /** Stops watching; pending deploys that have not settled are dropped. */
  close(): void {
    this.closed = true;
    this.services.clear();
  }

  private addToBucket(s: ServiceState, version: string, w: ProfileWindow): void {
    let list = s.buckets.get(version);
    if (!list) {
      list = [];
      s.buckets.set(version, list);
    }
    const slot = w.startUnixNs - (w.startUnixNs % this.bucketNs);
    const last = list[list.length - 1];
    const p = aggregate(fromWindows([w]), { dropLabels: true });
    if (last && last.startNs === slot) {
      last.profile = aggregate(merge([last.profile, p]), { dropLabels: true });
      if (w.endUnixNs > last.endNs) last.endNs = w.endUnixNs;
    } else {
      list.push({ startNs: slot, endNs: w.endUnixNs, profile: p });
    }
  }

  private expire(s: ServiceState, nowNs: bigint): void {
    for (const [version, list] of s.buckets) {
      while (list.length > 0 && list[0]!.endNs < nowNs - this.keepNs) list.shift();
      if (list.length === 0 && version !== s.current) {
        s.buckets.delete(version);
        s.lastSeen.delete(version);
      }
    }
  }

  /** Merged profile of `version` from buckets overlapping [fromNs, toNs). */
  private collect(s: ServiceState, version: string, fromNs: bigint, toNs: bigint): Profile | undefined {
    const picked = (s.buckets.get(version) ?? []).filter((b) => b.endNs > fromNs && b.startNs < toNs);
    if (picked.length === 0) return undefined;
    return merge(picked.map((b) => b.profile));
  }

  private maybeReport(service: string, s: ServiceState, nowNs: bigint): void {
    const p = s.pending;
    if (!p || nowNs - p.atNs < this.settleNs) return;
    s.pending = undefined;
    const head = this.collect(s, p.to, p.atNs, p.atNs + this.keepNs);
    if (!head) return;
    const d = diff(p.base, head, this.opts.diff);
    const top = this.opts.top ?? 20;
    const header =
      `Deploy of ${service}: ${p.from} → ${p.to} at ${new Date(Number(p.atNs / MS)).toISOString()}\n` +
      `Base: ${fmtSecs(p.base.durationNs)} of ${p.from}; head: ${fmtSecs(head.durationNs)} of ${p.to}.\n`;
    this.opts.onReport({
      service,
      fromVersion: p.from,
      toVersion: p.to,
      deployedAtUnixNs: p.atNs,
      base: p.base,
      head,
      regressions: d.regressions.slice(0, top),
      improvements: d.improvements.slice(0, top),
      diff: d,
      text: header + renderDiffTable(d, { top }),
    });
  }
}

function fmtSecs(ns: number | undefined): string {
  return ns === undefined ? 'unknown time' : `${(ns / 1e9).toFixed(1)} s`;
}
