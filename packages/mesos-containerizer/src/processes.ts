import { readFile } from 'node:fs/promises';

// The task's processes as the agent sees them.

/** Field 22 of /proc/<pid>/stat: start time in clock ticks, to tell a pid from a reused one. */
export async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Signals the whole process group of `pid` (the supervisor gives the task a group of its own); false when there is none. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}
