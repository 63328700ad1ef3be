/** Parses `readelf --debug-dump=frames-interp` into expected unwind rows (independent ground truth). */
import { spawnSync } from 'node:child_process';

export interface ReadelfRow {
  pc: number;
  cfa: string;
  rbp: string;
  ra: string;
}

export interface ReadelfFde {
  pcBegin: number;
  pcEnd: number;
  rows: ReadelfRow[];
}

export function readelfFrames(path: string, section: 'frames-interp' = 'frames-interp'): ReadelfFde[] {
  // readelf exits non-zero on mere warnings (e.g. unknown notes); stdout is still whole.
  const r = spawnSync('readelf', [`--debug-dump=${section}`, '-W', path], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const text = r.stdout;
  if (!text) throw new Error(`readelf ${path} printed nothing: ${r.stderr}`);
  const fdes: ReadelfFde[] = [];
  let cur: ReadelfFde | undefined;
  let cols: string[] = [];
  let inEhFrame = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('Contents of the')) {
      inEhFrame = line.includes('.eh_frame section');
      cur = undefined;
      continue;
    }
    if (!inEhFrame) continue;
    const fde = /FDE cie=\S+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(line);
    if (fde) {
      cur = { pcBegin: parseInt(fde[1]!, 16), pcEnd: parseInt(fde[2]!, 16), rows: [] };
      fdes.push(cur);
      cols = [];
      continue;
    }
    if (/CIE/.test(line) && !/FDE/.test(line)) {
      cur = undefined;
      continue;
    }
    if (!cur) continue;
    // Register-in-register values print as "r10 (r10)": join them into one token.
    const t = line
      .trim()
      .replace(/ \((\w+)\)/g, '($1)')
      .split(/\s+/);
    if (t[0] === 'LOC') {
      cols = t;
      continue;
    }
    if (cols.length && /^[0-9a-f]{16}$/.test(t[0] ?? '')) {
      const get = (name: string) => {
        const i = cols.indexOf(name);
        return i < 0 ? '' : (t[i] ?? '');
      };
      cur.rows.push({ pc: parseInt(t[0]!, 16), cfa: get('CFA'), rbp: get('rbp'), ra: get('ra') });
    }
  }
  return fdes;
}
