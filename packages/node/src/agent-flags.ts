import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { FlagError } from '@ippc/core';
import { Value_Type, type Attribute, type Resource } from '@ippc/proto';
import { normalizeResources, parseCredentials, parseResources, rangesResource, scalarResource, type Credential } from '@ippc/mesos';

/**
 * Mesos's default resources when `--resources` is not given: all CPUs, memory minus 1 GB (half
 * on small machines), 10 GB of disk, ports 31000-32000.
 */
export function defaultResources(): Resource[] {
  const memMb = Math.floor(totalmem() / 1024 / 1024);
  return [
    scalarResource('cpus', cpus().length),
    scalarResource('mem', memMb >= 2048 ? memMb - 1024 : Math.floor(memMb / 2)),
    scalarResource('disk', 10240),
    rangesResource('ports', [{ begin: 31000, end: 32000 }]),
  ];
}

/** `--resources`, with defaults for what it does not name (Mesos merges the same way). */
export function agentResources(text: string | undefined): Resource[] {
  if (!text) return defaultResources();
  const given = parseResources(text);
  const names = new Set(given.map((r) => r.name));
  return normalizeResources([...given, ...defaultResources().filter((r) => !names.has(r.name))]);
}

/** `--attributes=rack:a;zone:b;level:3` (numbers become scalars, like Mesos). */
export function parseAttributes(text: string | undefined): Attribute[] {
  if (!text) return [];
  return text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const i = item.indexOf(':');
      const name = i < 0 ? item : item.slice(0, i);
      const value = i < 0 ? '' : item.slice(i + 1);
      const n = Number(value);
      return value !== '' && Number.isFinite(n) ? { name, type: Value_Type.SCALAR, scalar: { value: n } } : { name, type: Value_Type.TEXT, text: { value } };
    });
}

/**
 * `--http_credentials=<path>` (a `file://` URL too, as Mesos takes it): Mesos's JSON or
 * `principal secret` lines. Throws a FlagError saying what is wrong.
 */
export function readHttpCredentials(path: string): Credential[] {
  const file = path.startsWith('file://') ? path.slice('file://'.length) : path;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlagError(`cannot read --http_credentials ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseCredentials(text);
  } catch (err) {
    throw new FlagError(`--http_credentials ${file}: ${(err as Error).message}`, { cause: err });
  }
}
