import { closeSync, ftruncateSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { memberKeyString, type Member } from '../model.js';
import { loadStateCache } from './acknowledge.js';
import type { NodeDaemonContext } from './context.js';

// The checkpoint is a snapshot (members.json) plus a journal of the changes since (members.log,
// one JSON line per ADD or DEL). A change is one synchronous append to an open file (~0.02 ms,
// safe against a crash of this process once write() returned); rewriting and renaming the
// snapshot costs 0.2-0.7 ms here (and 2-3.5 ms through the thread pool on a busy machine), so
// that happens only at start and every JOURNAL_LIMIT changes, after the CNI answer is out.
// Replaying the journal is idempotent, so a crash between writing a snapshot and truncating the
// journal is harmless; a torn last line (power loss) is ignored.

/** Journal entries after which the checkpoint snapshot is rewritten. */
const JOURNAL_LIMIT = 256;

function writeSnapshot(ctx: NodeDaemonContext): void {
  const cp = ctx.checkpoint;
  const tmp = `${ctx.checkpointFile}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, agentId: ctx.me, members: [...ctx.local.values()] }));
  renameSync(tmp, ctx.checkpointFile);
  cp.journalFd ??= openSync(ctx.journalFile, 'a');
  ftruncateSync(cp.journalFd, 0);
  cp.journalEntries = 0;
}

/** Appends one change to the journal (throws when it cannot be written). */
export function record(ctx: NodeDaemonContext, entry: { set: Member } | { del: string }): void {
  const cp = ctx.checkpoint;
  cp.journalFd ??= openSync(ctx.journalFile, 'a');
  writeSync(cp.journalFd, `${JSON.stringify(entry)}\n`);
  cp.journalEntries += 1;
  if (cp.journalEntries >= JOURNAL_LIMIT && !cp.compactPending) {
    cp.compactPending = true;
    setImmediate(() => {
      void cp.lock.run(async () => {
        cp.compactPending = false;
        try {
          writeSnapshot(ctx);
        } catch (err) {
          ctx.log.error({ err, file: ctx.checkpointFile }, 'cannot compact the checkpoint (the journal keeps growing; retrying later)');
        }
      });
    });
  }
}

export async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

/** Reads the checkpoint (snapshot, then journal) and the cached service state, at start. */
export async function load(ctx: NodeDaemonContext): Promise<void> {
  const { local, log } = ctx;
  const data = (await readJson(ctx.checkpointFile)) as { members?: Member[] } | undefined;
  for (const m of data?.members ?? []) local.set(memberKeyString(m), m);
  const journal = await readFile(ctx.journalFile, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err)));
  let replayed = 0;
  for (const line of journal.split('\n')) {
    if (!line) continue;
    let entry: { set?: Member; del?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      log.warn({ file: ctx.journalFile }, 'ignoring a torn line at the end of the checkpoint journal');
      break;
    }
    if (entry.set) local.set(memberKeyString(entry.set), entry.set);
    else if (entry.del) local.delete(entry.del);
    replayed += 1;
  }
  // Start from a fresh snapshot and an empty journal.
  writeSnapshot(ctx);
  await loadStateCache(ctx);
  log.info({ members: local.size, replayed, cachedRevision: ctx.base?.revision }, 'checkpoint loaded');
}

/** Closes the journal (once the last change is through: await `checkpoint.lock.idle()` first). */
export function closeJournal(ctx: NodeDaemonContext): void {
  if (ctx.checkpoint.journalFd !== undefined) closeSync(ctx.checkpoint.journalFd);
  ctx.checkpoint.journalFd = undefined;
}
