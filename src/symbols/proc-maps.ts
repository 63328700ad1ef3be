/** /proc/PID/maps parsing. Pure: text in, typed mappings out. */

export interface ProcMapping {
  start: bigint;
  end: bigint;
  /** Permissions, e.g. "r-xp". */
  perms: string;
  fileOffset: bigint;
  /** "major:minor" of the backing device. */
  dev: string;
  inode: number;
  /** Path as the process sees it, without the " (deleted)" suffix; '' when anonymous. */
  path: string;
  deleted: boolean;
}

export interface ProcMapsParseResult {
  mappings: ProcMapping[];
  malformedLines: number;
}

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/;
const DELETED = ' (deleted)';

export function parseProcMaps(text: string): ProcMapsParseResult {
  const mappings: ProcMapping[] = [];
  let malformedLines = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const m = MAPS_LINE.exec(line);
    if (!m) {
      malformedLines++;
      continue;
    }
    let path = m[7]!;
    const deleted = path.endsWith(DELETED);
    if (deleted) path = path.slice(0, -DELETED.length);
    mappings.push({
      start: BigInt('0x' + m[1]),
      end: BigInt('0x' + m[2]),
      perms: m[3]!,
      fileOffset: BigInt('0x' + m[4]),
      dev: m[5]!,
      inode: Number(m[6]),
      path,
      deleted,
    });
  }
  mappings.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { mappings, malformedLines };
}

/** Index of the mapping containing addr in a start-sorted list, or -1. */
export function findMapping(mappings: readonly ProcMapping[], addr: bigint): number {
  let lo = 0;
  let hi = mappings.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = mappings[mid]!;
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}
