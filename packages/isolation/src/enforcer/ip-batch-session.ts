import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

// A long-running `ip -force -batch -` fed one command per line, for best-effort commands off the
// critical path (neighbour flushes when a member leaves). Starting a process blocks the daemon's
// event loop for several ms (Node forks itself), which a CNI ADD arriving at that moment would
// wait for; a line to a running `ip` costs nothing there. Nothing is awaited: `ip` reads and runs
// each line as it arrives, and failures are only reported. After a failure `ip` is not trusted
// further (one that cannot parse a line exits; after a refused netlink request its later flushes
// do nothing): it is ended, lines already written after the failing one may be lost, and the
// next send starts a new `ip`.

export interface IpBatchSession {
  /** Queues commands (without the leading `ip`), e.g. `neigh flush to 10.0.0.7`. */
  send(lines: string[]): void;
  close(): void;
}

export interface IpBatchSessionOptions {
  /** Network namespace path to run in; default the caller's. */
  netns?: string;
  /** What `ip` says on standard error (failed commands). */
  onError?: (text: string) => void;
}

export function createIpBatchSession(options: IpBatchSessionOptions = {}): IpBatchSession {
  let child: ChildProcessWithoutNullStreams | undefined;

  function start(): ChildProcessWithoutNullStreams {
    const cmd = ['ip', '-force', '-batch', '-'];
    const c = options.netns ? spawn('nsenter', [`--net=${options.netns}`, '--', ...cmd]) : spawn(cmd[0]!, cmd.slice(1));
    c.stdout.resume();
    c.stderr.on('data', (d: Buffer) => {
      options.onError?.(d.toString().trim());
      if (child === c) child = undefined;
      c.stdin.end();
      c.kill();
    });
    c.stdin.on('error', () => undefined);
    c.on('error', (err) => options.onError?.(err.message));
    c.on('exit', () => {
      if (child === c) child = undefined;
    });
    return c;
  }

  return {
    send(lines) {
      if (lines.length === 0) return;
      child ??= start();
      child.stdin.write(lines.map((l) => `${l}\n`).join(''));
    },
    close() {
      const c = child;
      child = undefined;
      if (c && c.exitCode === null) c.stdin.end();
    },
  };
}
