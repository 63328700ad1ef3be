/**
 * Selections over the local store (src/store): `service=checkout,version=1.4.2` plus a time
 * range become a MergeQuery, and the store's merged stacks become the flame graph model.
 */
import type { MergedProfile, MergeQuery } from '../store/index.js';
import type { LabelSelector } from './merge.js';
import { aggregate, NameTable, type Profile, type Stack } from './model.js';

/** Selector keys a store query can answer, and the MergeQuery field each maps to. */
const QUERY_KEYS = ['service', 'version', 'pid', 'spanId', 'traceId'] as const;

/** Store column names → the model's label keys. */
const LABEL_NAMES: Record<string, string> = { threadName: 'thread', spanName: 'span', tid: 'tid' };

export function selectorToQuery(sel: LabelSelector, range: { fromUnixNs?: bigint; toUnixNs?: bigint } = {}): MergeQuery {
  const q: MergeQuery = { ...range };
  for (const [key, value] of Object.entries(sel)) {
    if (typeof value !== 'string') throw new Error(`selector ${key}: one value only for store queries`);
    switch (key) {
      case 'service':
      case 'version':
      case 'spanId':
      case 'traceId':
        q[key] = value;
        break;
      case 'pid': {
        const pid = Number(value);
        if (!Number.isInteger(pid) || pid <= 0) throw new Error(`selector pid=${value}: not a process id; fix: pid=1234`);
        q.pid = pid;
        break;
      }
      default:
        throw new Error(`selector key "${key}" cannot be queried in the store; fix: use ${QUERY_KEYS.join(', ')}`);
    }
  }
  return q;
}

/**
 * Converts the store's merged stacks (frames leaf first) to the model. Duration is the span
 * between the first and last sample plus one period (each sample stands for a period).
 */
export function fromMerged(m: MergedProfile): Profile {
  const table = new NameTable();
  const stacks: Stack[] = [];
  for (const s of m.stacks) {
    const frames: number[] = [];
    for (let i = s.frames.length - 1; i >= 0; i--) frames.push(table.id(s.frames[i]!.name));
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.labels)) if (v !== undefined) labels[LABEL_NAMES[k] ?? k] = String(v);
    stacks.push({ frames, samples: Number(s.count), cpuNs: Number(s.cpuNs), labels });
  }
  const p: Profile = { names: table.names, stacks };
  if (m.periodNs > 0n) p.periodNs = Number(m.periodNs);
  if (m.stacks.length > 0) {
    p.startUnixNs = m.firstUnixNs;
    p.durationNs = Number(m.lastUnixNs - m.firstUnixNs + m.periodNs);
  }
  return aggregate(p);
}
