import { renameSync, writeFileSync } from 'node:fs';
import { access, rename, writeFile } from 'node:fs/promises';

/** Whether something exists at `path` (a file, a folder, what a link points to). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

let tmpSeq = 0;
/**
 * Writes `path` whole or not at all: the data goes to a temporary file beside it, then a rename
 * replaces `path`, so a reader (or a restart after a crash) never sees half a file. The temporary
 * name is the writer's own, so concurrent writers never collide.
 */
export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${tmpSeq++}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * {@link writeAtomic}, synchronously. For small checkpoints on a launch path: a write and a rename
 * take microseconds, while each asynchronous file operation waits its turn in libuv's thread pool,
 * which on a busy agent costs more than the writes themselves.
 */
export function writeAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.${tmpSeq++}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
