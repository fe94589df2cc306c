import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { NetworkIsolatorError } from '../errors.js';

// Running the host's tools (mount, umount, nsenter, sh) for the host operations.

export const run = promisify(execFile);

/** Single-quotes a word for `sh`. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Runs a tool; a failure is `CNI_SETUP_FAILED` with its standard error. */
export async function exec(file: string, args: string[]): Promise<void> {
  try {
    await run(file, args, { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new NetworkIsolatorError('CNI_SETUP_FAILED', (e.stderr || e.message).trim(), { cause: err });
  }
}

/** Whether an executable `name` is on `PATH`. */
export async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    try {
      await access(`${dir}/${name}`, constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}
