import type { AuthConfig } from '@ippc/core';
import { IsolationError } from '../errors.js';

/** `--token`, else IPPC_TOKEN; `--no-auth` disables auth explicitly (local play only). */
export function authFrom(opts: { token?: string; auth?: boolean }): AuthConfig {
  if (opts.auth === false) return { disabled: true };
  const token = opts.token ?? process.env.IPPC_TOKEN;
  if (!token) throw new IsolationError('ISOLATION_BAD_REQUEST', 'no cluster token: pass --token, set IPPC_TOKEN, or --no-auth to run without authentication');
  return { token };
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `host:port` → [host, port]; `[::1]:7071` too. */
export function hostPort(text: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text);
  if (!m || !m[2]) throw new IsolationError('ISOLATION_BAD_REQUEST', `'${text}' is not host:port`);
  return [m[1] ?? '0.0.0.0', Number(m[2])];
}
