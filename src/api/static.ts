/**
 * The web UI's files (ui/ at the package root: plain HTML, CSS and one script, no build step and
 * no network). Read once at start; served with a strict Content-Security-Policy so that even a
 * string that slipped into markup could not run as script.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uiDir } from '../flamegraph/index.js';

export interface Asset {
  type: string;
  body: Buffer;
}

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/flame.js': 'flame.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export function loadAssets(dir = uiDir()): Map<string, Asset> {
  const out = new Map<string, Asset>();
  if (!dir) return out;
  for (const [path, file] of Object.entries(FILES)) {
    const full = join(dir, file);
    if (existsSync(full)) out.set(path, { type: TYPES[file.split('.').pop()!]!, body: readFileSync(full) });
  }
  return out;
}

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
