/**
 * What happens to a deploy diff report: kept for the UI (DeployLog), written as a text file under
 * <dataDir>/reports, and exported as a log record filed under the deployed service on this host
 * (not under the agent, whose pid is not the service's).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployDiffReport } from '../flamegraph/index.js';
import { deployReportToLogRecord, type Attributes, type LogRecord } from '../otlp/index.js';

export interface DeployReportSinkOptions {
  reportsDir: string;
  /** host.* attributes: the report's resource (the service name comes from the report). */
  host: Attributes;
  keep: (r: DeployDiffReport) => void;
  exportLogs: (logs: LogRecord[]) => void;
  log: (msg: string) => void;
}

export function deployReportSink(opts: DeployReportSinkOptions): (r: DeployDiffReport) => void {
  return (r) => {
    try {
      opts.keep(r);
      mkdirSync(opts.reportsDir, { recursive: true });
      const file = join(opts.reportsDir, `${safeFileName(r.service)}-${r.deployedAtUnixNs / 1_000_000n}.txt`);
      writeFileSync(file, r.text + '\n');
      opts.log(`deploy of ${r.service} ${r.fromVersion} → ${r.toVersion}: report in ${file}`);
    } catch (e) {
      opts.log(`writing a deploy report failed: ${(e as Error).message}`);
    }
    opts.exportLogs([deployReportToLogRecord(r, opts.host)]);
  };
}

function safeFileName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_') || 'unknown';
}
