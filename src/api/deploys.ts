/**
 * The deploy reports this agent produced since it started, newest first, bounded in count: each
 * keeps its merged base and head profiles (label-free aggregates) so the UI can draw the diff.
 * The text reports in <dataDir>/reports outlive the process; these are for the live UI.
 */
import type { DeployDiffReport } from '../flamegraph/index.js';

export interface DeployEntry {
  id: string;
  report: DeployDiffReport;
}

export class DeployLog {
  private readonly entries: DeployEntry[] = [];
  private next = 1;

  constructor(private readonly max = 50) {}

  add(report: DeployDiffReport): DeployEntry {
    const e = { id: String(this.next++), report };
    this.entries.unshift(e);
    this.entries.length = Math.min(this.entries.length, this.max);
    return e;
  }

  list(): readonly DeployEntry[] {
    return this.entries;
  }

  get(id: string): DeployEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }
}
