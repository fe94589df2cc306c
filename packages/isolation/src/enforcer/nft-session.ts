import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

// A long-running `nft -i` for small, frequent transactions (set element adds and deletes). An nft
// exec costs 5-15 ms (process start, library init, cache fetch); a line to a running nft costs
// well under 1 ms. Each transaction is ONE line (commands joined by '; ', atomic), followed by a
// sentinel line `describe ip saddr`, whose fixed output marks the end and which nft answers
// without asking the kernel (a `list` sentinel costs another ruleset fetch, ~0.2 ms). stdout and
// stderr are one pipe, so what precedes the sentinel's output is the transaction's own output,
// and an "Error" there means it failed. Anything unexpected ends the session: the caller falls
// back to `nft -f` (exec).

export interface NftSession {
  /** Runs one transaction (lines joined into one atomic line). Rejects with nft's message. */
  run(lines: string[]): Promise<void>;
  close(): void;
}

export interface NftSessionOptions {
  /** The table the transactions touch (for messages). */
  table: string;
  /** Network namespace path to run in; default the caller's. */
  netns?: string;
  /** A transaction that takes longer ends the session. Default 3 s. */
  timeoutMs?: number;
}

export function createNftSession(options: NftSessionOptions): NftSession {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const sentinel = 'describe ip saddr';
  // nft's description of the expression: the same text every time, printed after the transaction.
  const ok = /payload expression, datatype ipv4_addr[^\n]*\n/;
  let child: ChildProcessWithoutNullStreams | undefined;
  let buffer = '';
  let waiter: ((text: string | Error) => void) | undefined;

  function start(): ChildProcessWithoutNullStreams {
    const cmd = ['sh', '-c', 'exec nft -i 2>&1'];
    const c = options.netns ? spawn('nsenter', [`--net=${options.netns}`, '--', ...cmd]) : spawn(cmd[0]!, cmd.slice(1));
    c.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const m = ok.exec(buffer);
      if (m && waiter) {
        const text = buffer.slice(0, m.index + m[0].length);
        buffer = buffer.slice(m.index + m[0].length);
        const w = waiter;
        waiter = undefined;
        w(text);
      }
    });
    c.stdin.on('error', () => undefined);
    c.on('exit', () => {
      if (child === c) child = undefined;
      const w = waiter;
      waiter = undefined;
      w?.(new Error('nft session ended'));
    });
    c.on('error', () => undefined);
    return c;
  }

  const session: NftSession = {
    run(lines) {
      if (waiter) return Promise.reject(new Error('nft session busy: transactions must be serialized'));
      child ??= start();
      const c = child;
      buffer = '';
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          session.close();
          reject(new Error(`nft session (table inet ${options.table}): no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = (res) => {
          clearTimeout(timer);
          if (res instanceof Error) return reject(res);
          const own = res.slice(0, Math.max(0, res.search(ok)));
          if (/Error/.test(res)) {
            // The session stays usable, but its cache may be stale after an error: start afresh.
            session.close();
            return reject(new Error((own.trim() || res.trim()).slice(0, 2_000)));
          }
          resolve();
        };
        c.stdin.write(`${lines.join('; ')}\n${sentinel}\n`);
      });
    },
    close() {
      const c = child;
      child = undefined;
      if (c && c.exitCode === null) {
        c.stdin.end();
        c.kill('SIGTERM');
      }
    },
  };
  return session;
}
