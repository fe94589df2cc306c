import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeAtomic } from '@ippc/core';
import { IsolationError } from '../../errors.js';
import { memberKeyString, type AgentSpec, type Member, type Rule } from '../../model.js';
import type { StoreState } from './state.js';

// The state in a JSON data file: read once at start, written atomically after each change.

interface Persisted {
  version: 1;
  epoch: string;
  revision: number;
  agents: (AgentSpec & { appliedRevision: number; appliedEpoch: string; registeredRevision: number })[];
  members: Member[];
  rules: Rule[];
  released: [string, number][];
}

/** Loads `file` into the (empty) state; a missing file leaves it empty. */
export async function loadState(s: StoreState, file: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) return;
  let data: Persisted;
  try {
    data = JSON.parse(text) as Persisted;
    if (data.version !== 1) throw new Error(`unknown version ${String(data.version)}`);
  } catch (cause) {
    throw new IsolationError(
      'ISOLATION_BAD_REQUEST',
      `cannot read the isolation state in ${file}: ${(cause as Error).message}; move the file away to start empty`,
      { cause },
    );
  }
  s.epoch = data.epoch;
  s.revision = data.revision;
  for (const a of data.agents) {
    s.agents.set(a.id, { ...a, connected: false, lastError: '', lastSeenMs: 0, watchers: 0, acks: [] });
  }
  for (const m of data.members) {
    s.members.set(memberKeyString(m), m);
    for (const addr of m.addresses) s.holders.set(addr, memberKeyString(m));
  }
  for (const r of data.rules) s.rules.set(r.id, r);
  for (const [addr, rev] of data.released) s.released.set(addr, rev);
  s.log.info({ epoch: s.epoch, revision: s.revision, agents: s.agents.size, members: s.members.size, rules: s.rules.size }, 'isolation state loaded');
}

export interface StateWriter {
  /** Schedules a write of the current state. */
  persist(): void;
  /** Resolves when the state on disk holds every change so far. */
  flush(): Promise<void>;
}

/** Persistence: one write at a time, the latest state wins; atomic by rename. */
export function createStateWriter(s: StoreState, file: string | undefined): StateWriter {
  let writing: Promise<void> | undefined;
  let dirty = false;
  const persist = (): void => {
    if (!file) return;
    dirty = true;
    if (writing) return;
    writing = (async () => {
      await mkdir(dirname(file), { recursive: true });
      while (dirty) {
        dirty = false;
        const data: Persisted = {
          version: 1,
          epoch: s.epoch,
          revision: s.revision,
          agents: [...s.agents.values()].map((a) => ({
            id: a.id,
            nodeAddresses: a.nodeAddresses,
            subnets: a.subnets,
            appliedRevision: a.appliedRevision,
            appliedEpoch: a.appliedEpoch,
            registeredRevision: a.registeredRevision,
          })),
          members: [...s.members.values()],
          rules: [...s.rules.values()],
          released: [...s.released.entries()],
        };
        await writeAtomic(file, JSON.stringify(data));
      }
    })()
      .catch((err: unknown) => s.log.error({ err }, 'cannot write the isolation state'))
      .finally(() => {
        writing = undefined;
      });
  };
  return {
    persist,
    async flush() {
      while (writing) await writing;
    },
  };
}
