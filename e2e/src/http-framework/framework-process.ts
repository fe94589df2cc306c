// The test's side of framework.ts: starts the framework process, keeps every event the library
// reports, waits (bounded) for the one a step needs, and passes the test's calls on.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FrameworkCommand, FrameworkConfig, LibraryEvent } from './framework.js';

const ENTRY = fileURLToPath(new URL('./framework.ts', import.meta.url));

export class FrameworkProcess {
  /** Every event the library emitted, in order. */
  readonly events: LibraryEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly logDir: string,
  ) {
    child.on('message', (e: LibraryEvent) => {
      this.events.push(e);
      for (const wake of [...this.waiters]) wake();
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (c: Buffer) => this.output.push(c.toString('utf8')));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts the framework; it subscribes as soon as the library is ready. */
  static start(config: Omit<FrameworkConfig, 'logDir'>): FrameworkProcess {
    const logDir = mkdtempSync(join(tmpdir(), 'ippc-mesos-framework-'));
    const child = fork(ENTRY, [JSON.stringify({ ...config, logDir } satisfies FrameworkConfig)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new FrameworkProcess(child, logDir);
  }

  /** The data of the first `event` (from the start) for which `match` holds; rejects after `timeoutMs`. */
  next<T>(event: string, match: (data: T) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
    // The entry, not its data: some events carry none (`sent_message`, `sent_kill`).
    const find = () => this.events.find((e) => e.event === event && match(e.data as T));
    const found = find();
    if (found) return Promise.resolve(found.data as T);
    return new Promise((resolve, reject) => {
      const wake = () => {
        const entry = find();
        if (!entry) return;
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(entry.data as T);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`the library reported no matching '${event}' within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(wake);
    });
  }

  /** The library's `kill(taskId, agentId)`. */
  kill(taskId: string, agentId: string): void {
    this.send({ call: 'kill', taskId, agentId });
  }

  /** The library's `message(agentId, executorId, data)`: a MESSAGE for the executor. */
  message(agentId: string, executorId: string, data: string): void {
    this.send({ call: 'message', agentId, executorId, data });
  }

  /** The library's `teardown()`; resolves with the process's exit code (it exits once TEARDOWN is accepted). */
  async teardown(timeoutMs = 15_000): Promise<number | null> {
    this.send({ call: 'teardown' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the framework did not exit within ${timeoutMs} ms after TEARDOWN\n${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the process if it still runs (SIGKILL) and removes its log directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.logDir, { recursive: true, force: true });
  }

  /** The events so far (one line each, long ones cut) and the tail of the library's log, for failure messages. */
  describe(): string {
    const events = this.events.map((e) => `  ${e.event} ${JSON.stringify(e.data)?.slice(0, 300) ?? ''}`);
    return `library events:\n${events.join('\n')}\nlibrary log (tail):\n${this.output.join('').split('\n').slice(-40).join('\n')}`;
  }

  private send(command: FrameworkCommand): void {
    if (!this.child.connected) throw new Error(`the framework process is gone (exit ${this.child.exitCode ?? this.child.signalCode})\n${this.describe()}`);
    this.child.send(command);
  }
}
