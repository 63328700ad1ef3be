/**
 * Batch writes through DuckDB appenders: rows are turned into column vectors and appended a data
 * chunk (≤ 2048 rows, DuckDB's vector size) at a time. Not flushed here: the store flushes every
 * table together (Store.flushPending), because a flush costs about the same for 50 rows as for 2000.
 */

import { DuckDBDataChunk, type DuckDBAppender, type DuckDBValue } from '@duckdb/node-api';
import type { TableSpec } from './schema.js';

/** DuckDB's STANDARD_VECTOR_SIZE: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

export function appendRows<R>(appender: DuckDBAppender, spec: TableSpec<R>, rows: readonly R[]): void {
  if (rows.length === 0) return;
  const types = spec.columns.map((c) => c.type);
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const end = Math.min(rows.length, start + CHUNK_ROWS);
    const columns: DuckDBValue[][] = spec.columns.map(() => new Array(end - start));
    for (let i = start; i < end; i++) {
      const row = rows[i]!;
      for (let c = 0; c < spec.columns.length; c++) columns[c]![i - start] = spec.columns[c]!.get(row);
    }
    const chunk = DuckDBDataChunk.create(types, end - start);
    chunk.setColumns(columns);
    appender.appendDataChunk(chunk);
  }
}
