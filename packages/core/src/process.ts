/**
 * Whether a process with this pid exists: signal 0 reaches it, or it exists but belongs to
 * someone we may not signal (EPERM).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
