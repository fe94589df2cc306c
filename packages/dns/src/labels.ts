/**
 * Turning Mesos names into DNS names the way mesos-dns does (its `records/labels` RFC 1123 mode and
 * `records/generator.go`), so a name learned from mesos-dns documentation resolves here too.
 */
import { createHash } from 'node:crypto';

/** Longest DNS label (RFC 1035 §2.3.4). */
export const MAX_LABEL_LENGTH = 63;

/**
 * One RFC 1123 label from an arbitrary name: lower-cased; `-`, `.` and `_` become `-`; every other
 * character outside `[a-z0-9]` is dropped; no leading or trailing `-`; at most 63 characters.
 * `"My_App.v2"` → `"my-app-v2"`. May return `""` (the caller then makes no record).
 *
 * mesos-dns refills from beyond the cut when the 63rd character is a hyphen; we simply trim, which
 * gives the same label for every name of up to 63 characters.
 */
export function toLabel(name: string): string {
  let out = '';
  for (const ch of name.toLowerCase()) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) out += ch;
    else if (ch === '-' || ch === '.' || ch === '_') out += '-';
  }
  return trimHyphens(trimHyphens(out).slice(0, MAX_LABEL_LENGTH));
}

function trimHyphens(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s[start] === '-') start++;
  while (end > start && s[end - 1] === '-') end--;
  return s.slice(start, end);
}

/**
 * A domain fragment (one or more labels) from a name that may contain dots, as mesos-dns does for
 * framework names: each dot-separated part becomes a label, empty labels are dropped.
 * `"Chronos With A Space.And.Mixed"` → `"chronoswithaspace.and.mixed"`.
 */
export function toDomainFragment(name: string): string {
  return name
    .split('.')
    .map(toLabel)
    .filter((l) => l !== '')
    .join('.');
}

const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** z-base-32 (human-oriented base 32) of `bytes`, most significant bit first, no padding. */
export function zbase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ZBASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ZBASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The 5-character id hash in canonical names: the first 5 z-base-32 characters of SHA-1(task id),
 * as mesos-dns computes it, so canonical names match a real mesos-dns for the same state.
 */
export function taskIdHash(taskId: string): string {
  return zbase32(createHash('sha1').update(taskId, 'utf8').digest()).slice(0, 5);
}

/** The last `-`-separated field of an agent id, lower-cased: `"6c1e...-S0"` → `"s0"`. */
export function agentIdTail(agentId: string): string {
  const fields = agentId.split('-');
  return (fields[fields.length - 1] ?? '').toLowerCase();
}

/**
 * A DNS name in our canonical form: lower case, no trailing dot. Queries are matched
 * case-insensitively (RFC 4343), so every map key goes through this.
 */
export function canonicalName(name: string): string {
  let n = name.toLowerCase();
  while (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}
