import { constants } from 'node:os';
import type { Termination } from '@ippc/core';
import { TaskState } from '@ippc/proto';

// How a task ended, in Mesos's words.

/** What `<run>/status` says: exit code or signal number. */
export interface ExitStatus {
  exitCode?: number;
  signal?: number;
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.signals).map(([name, n]) => [n, name]));
/** strsignal(3) wording, which Mesos's WSTRINGIFY uses in its messages. */
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
};

/** Mesos's `WSTRINGIFY`: `exited with status N` / `terminated with signal Killed`. */
export function describeExit(exit: ExitStatus): string {
  if (exit.signal !== undefined) {
    const name = SIGNAL_NAMES[exit.signal] ?? `SIG${exit.signal}`;
    return `terminated with signal ${SIGNAL_TEXT[name] ?? name}`;
  }
  return `exited with status ${exit.exitCode ?? -1}`;
}

/** The termination `wait()` resolves with: TASK_KILLED after a kill, else TASK_FINISHED for exit 0, else TASK_FAILED. */
export function termination(exit: ExitStatus, killed: boolean): Termination {
  const message = `Command ${describeExit(exit)}`;
  const signal = exit.signal !== undefined ? SIGNAL_NAMES[exit.signal] : undefined;
  const base = { message, ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}), ...(signal ? { signal } : {}) };
  if (killed) return { state: TaskState.TASK_KILLED, ...base };
  if (exit.exitCode === 0) return { state: TaskState.TASK_FINISHED, ...base };
  return { state: TaskState.TASK_FAILED, ...base };
}
