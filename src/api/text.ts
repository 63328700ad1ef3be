/**
 * Terminal safety: request paths, frame names and service names come from the network or from
 * binaries, and may hold ANSI/OSC escapes that would drive the user's terminal. Control
 * characters other than newline and tab are shown as `\xNN` instead.
 */
// C0 except \t and \n, DEL, and C1 (0x80-0x9f: 8-bit CSI/OSC introducers).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function stripControl(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
