import { readFile } from 'node:fs/promises';
import type { NetworkUsage } from '@ippc/core';
import { NetworkIsolatorError } from '../errors.js';
import { run } from './exec.js';

// Interface counters of a container, for usage().

/** Reads `/proc/net/dev` text into per-interface counters. */
export function parseNetDev(text: string): Map<string, NetworkUsage> {
  const out = new Map<string, NetworkUsage>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16) continue;
    out.set(name, {
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      rxErrors: f[2]!,
      rxDropped: f[3]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      txErrors: f[10]!,
      txDropped: f[11]!,
    });
  }
  return out;
}

/** `HostOps.interfaceCounters`: from `/proc/<pid>/net/dev` while `pid` runs in the handle's namespace, else through the handle. */
export async function interfaceCounters(
  { pid, handle }: { pid?: number; handle: string },
  nsenter: string,
  isRunningIn: (pid: number, handle: string) => Promise<boolean>,
): Promise<Map<string, NetworkUsage>> {
  if (pid !== undefined && (await isRunningIn(pid, handle))) {
    try {
      return parseNetDev(await readFile(`/proc/${pid}/net/dev`, 'utf8'));
    } catch {
      // the process went away between the two reads: fall back to the handle
    }
  }
  try {
    const { stdout } = await run(nsenter, [`--net=${handle}`, '--', 'cat', '/proc/net/dev']);
    return parseNetDev(stdout);
  } catch (err) {
    throw new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to read the interface counters through '${handle}': ${(err as Error).message}`, { cause: err });
  }
}
