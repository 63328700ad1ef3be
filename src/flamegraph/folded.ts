/**
 * Folded ("collapsed") stack text, as Brendan Gregg's stackcollapse-*.pl and most flame
 * graph tools read and write it: one line per stack, frames root first joined by `;`,
 * then a space and the sample count.
 *
 *   main;handle_request;parse_json 42
 */
import { aggregate, EMPTY_LABELS, NameTable, type Profile, type Stack } from './model.js';

export interface FoldedOptions {
  /** CPU nanoseconds per sample (1e9 / sampling Hz); without it CPU time stays unknown. */
  periodNs?: number;
  /** Wall time the text covers, for CPU-seconds-per-second figures. */
  durationNs?: number;
}

/**
 * Parses folded text. Blank lines and `#` comments are ignored; a line without a
 * trailing non-negative count, or with an empty frame, is counted in `malformed` and skipped.
 */
export function fromFolded(text: string, opts: FoldedOptions = {}): Profile {
  const table = new NameTable();
  const stacks: Stack[] = [];
  let malformed = 0;
  const periodNs = opts.periodNs ?? 0;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    // Frames may contain spaces (C++ signatures), so the count is after the last one.
    const cut = line.lastIndexOf(' ');
    const count = cut > 0 ? Number(line.slice(cut + 1)) : NaN;
    if (!Number.isFinite(count) || count < 0) {
      malformed++;
      continue;
    }
    const names = line.slice(0, cut).split(';');
    if (names.some((n) => n === '')) {
      malformed++;
      continue;
    }
    if (count === 0) continue;
    stacks.push({
      frames: names.map((n) => table.id(n)),
      samples: count,
      cpuNs: count * periodNs,
      labels: EMPTY_LABELS,
    });
  }
  const profile: Profile = { names: table.names, stacks, malformed };
  if (opts.periodNs !== undefined) profile.periodNs = opts.periodNs;
  if (opts.durationNs !== undefined) profile.durationNs = opts.durationNs;
  return aggregate(profile);
}

/**
 * Writes folded text: labels are dropped (the format has no place for them) and identical
 * stacks summed. Lines are sorted so output is stable and diffable. Frame names containing
 * `;` or a newline would break the format, so those characters are replaced by `:` and space.
 */
export function toFolded(p: Profile): string {
  const agg = aggregate(p, { dropLabels: true });
  const safe = p.names.map((n) => n.replace(/;/g, ':').replace(/[\r\n]/g, ' '));
  const lines = agg.stacks.filter((s) => s.samples > 0 && s.frames.length > 0).map((s) => `${s.frames.map((f) => safe[f]).join(';')} ${s.samples}`);
  lines.sort();
  return lines.length ? `${lines.join('\n')}\n` : '';
}
