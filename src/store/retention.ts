/**
 * Retention by age and by size. Runs on its own connection: DuckDB's MVCC lets these deletes of old
 * rows proceed while appenders on the ingest connection add new ones, so ingest is not blocked.
 */

import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { readObjects } from './queries.js';
import { TIMED_TABLES } from './schema.js';

/** Size retention trims down to this fraction of maxBytes, so it does not run on every pass. */
const SIZE_TARGET_FRACTION = 0.8;

/** Bytes the store occupies: used database blocks plus the write-ahead log not yet checkpointed. */
export async function storeSizeBytes(conn: DuckDBConnection, dbPath: string): Promise<number> {
  const rows = await readObjects(conn, `SELECT used_blocks, block_size FROM pragma_database_size() WHERE database_name = current_database()`);
  const r = rows[0];
  const blocks = r ? Number(r.used_blocks) * Number(r.block_size) : 0;
  let walBytes = 0;
  try {
    walBytes = statSync(`${dbPath}.wal`).size;
  } catch {
    // No WAL file: everything is checkpointed.
  }
  return blocks + walBytes;
}

/** Deletes rows older than cutoffUnixNs from every timed table; returns the number deleted. */
export async function deleteOlderThan(conn: DuckDBConnection, cutoffUnixNs: bigint): Promise<number> {
  let deleted = 0;
  for (const t of TIMED_TABLES) {
    const res = await conn.run(`DELETE FROM ${t.name} WHERE ${t.timeColumn} < $cutoff`, { cutoff: cutoffUnixNs });
    deleted += Number(res.rowsChanged);
  }
  return deleted;
}

/**
 * The time before which the oldest share of the data lies, chosen so that deleting it brings the
 * store from usedBytes to about SIZE_TARGET_FRACTION × maxBytes. Samples dominate the volume, so the
 * quantile is taken over their times (over spans when there are no samples).
 */
export async function sizeCutoff(conn: DuckDBConnection, usedBytes: number, maxBytes: number): Promise<bigint | null> {
  const share = Math.min(0.95, Math.max(0.05, 1 - (SIZE_TARGET_FRACTION * maxBytes) / usedBytes));
  for (const [table, col] of [
    ['samples', 'time_unix_ns'],
    ['spans', 'start_unix_ns'],
    ['metrics', 'time_unix_ns'],
    ['logs', 'time_unix_ns'],
  ] as const) {
    const rows = await readObjects(conn, `SELECT quantile_disc(${col}, ${share}) AS cutoff FROM ${table}`);
    const c = rows[0]?.cutoff;
    if (typeof c === 'bigint') return c;
  }
  return null;
}

/** Stacks no sample refers to any more; returns the ids deleted. */
export async function deleteUnreferencedStacks(conn: DuckDBConnection): Promise<bigint[]> {
  const rows = await readObjects(conn, `DELETE FROM stacks WHERE NOT EXISTS (SELECT 1 FROM samples s WHERE s.stack_id = stacks.stack_id) RETURNING stack_id`);
  return rows.map((r) => r.stack_id as bigint);
}

/** Folds deletions into the file so blocks get reused; skipped (not failed) when DuckDB is busy. */
export async function checkpoint(conn: DuckDBConnection): Promise<boolean> {
  try {
    await conn.run('CHECKPOINT');
    return true;
  } catch {
    return false;
  }
}
