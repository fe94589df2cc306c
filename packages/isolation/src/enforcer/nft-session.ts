import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// A long-running nftables process for small, frequent transactions (set element adds and
// deletes). An nft exec costs 5-15 ms (process start, library init, cache fetch); a line to a
// running process costs well under 1 ms. Each transaction is ONE line (commands joined by '; ',
// atomic). Two backends, the same library and parser underneath:
//
// - `batch` (default when it compiles): ippc-nft-batch (native/ippc-nft-batch.c), a few lines of C
//   on libnftables that reads a line with one read() and answers `ok` or `err <message>` with one
//   write(). About 0.3 ms per transaction on a busy 2-cpu machine (p90 0.4-0.6 ms).
// - `interactive`: `nft -i`. Its line editor reads one byte per system call and prints nothing on
//   success, so each transaction is followed by a sentinel line `describe ip saddr`, whose fixed
//   output marks the end and which nft answers without asking the kernel. stdout and stderr are
//   one pipe, so what precedes the sentinel's output is the transaction's own output, and an
//   "Error" there means it failed. 0.7-1 ms per transaction there (p90 1.5-3.5 ms).
//
// Anything unexpected ends the session: the caller falls back to `nft -f` (exec).

export interface NftSession {
  /** Runs one transaction (lines joined into one atomic line). Rejects with nft's message. */
  run(lines: string[]): Promise<void>;
  /** The backend in use (`batch` once the helper is built, else `interactive`). */
  readonly backend: NftSessionBackend;
  close(): void;
}

export type NftSessionBackend = 'batch' | 'interactive';

export interface NftSessionOptions {
  /** The table the transactions touch (for messages). */
  table: string;
  /** Network namespace path to run in; default the caller's. */
  netns?: string;
  /** A transaction that takes longer ends the session. Default 3 s. */
  timeoutMs?: number;
  /**
   * `batch`: the libnftables helper (built with `cc` on first use, once per process; until it is
   * built, or when it does not build, `nft -i` serves). `interactive`: `nft -i` only. Default
   * `batch`.
   */
  backend?: NftSessionBackend;
}

/** The helper's C source. */
export const NFT_BATCH_SOURCE = fileURLToPath(new URL('../../native/ippc-nft-batch.c', import.meta.url));

interface Helper {
  path: string | undefined;
  error: string | undefined;
  building: Promise<void> | undefined;
}
let helper: Helper | undefined;

/**
 * Builds ippc-nft-batch once per process into a private temporary folder (removed at exit), in
 * the background. Resolves with its path, or undefined when it does not build (no `cc`, no
 * libnftables.so.1): then `nft -i` is used.
 */
export function buildNftBatchHelper(): Promise<string | undefined> {
  if (!helper) {
    const h: Helper = { path: undefined, error: undefined, building: undefined };
    helper = h;
    h.building = new Promise<void>((resolve) => {
      let dir: string;
      try {
        dir = mkdtempSync(join(tmpdir(), 'ippc-nft-batch-'));
      } catch (err) {
        h.error = (err as Error).message;
        return resolve();
      }
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, 'ippc-nft-batch');
      execFile(process.env.CC || 'cc', ['-O2', '-o', out, NFT_BATCH_SOURCE, '-l:libnftables.so.1'], (err, _stdout, stderr) => {
        if (err) h.error = (stderr || err.message).trim();
        else h.path = out;
        resolve();
      });
    });
  }
  const h = helper;
  return h.building!.then(() => h.path);
}

const sentinel = 'describe ip saddr';
// nft's description of the expression: the same text every time, printed after the transaction.
const describeOk = /payload expression, datatype ipv4_addr[^\n]*\n/;
const answerLine = /\n/;

/** A session's moving parts: the process serving it, its unread output, the transaction waiting for it. */
interface SessionState {
  child: ChildProcessWithoutNullStreams | undefined;
  childBackend: NftSessionBackend;
  buffer: string;
  waiter: ((text: string | Error) => void) | undefined;
}

export function createNftSession(options: NftSessionOptions): NftSession {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const wantBatch = (options.backend ?? 'batch') === 'batch';
  if (wantBatch) void buildNftBatchHelper();
  const st: SessionState = { child: undefined, childBackend: 'interactive', buffer: '', waiter: undefined };

  const session: NftSession = {
    get backend() {
      return st.child ? st.childBackend : wantBatch && helper?.path ? 'batch' : 'interactive';
    },
    run(lines) {
      if (st.waiter) return Promise.reject(new Error('nft session busy: transactions must be serialized'));
      // A session started before the helper was built moves to it at the next transaction.
      if (st.child && st.childBackend === 'interactive' && wantBatch && helper?.path) session.close();
      st.child ??= start(st, options.netns, wantBatch);
      const c = st.child;
      const batch = st.childBackend === 'batch';
      st.buffer = '';
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          st.waiter = undefined;
          session.close();
          reject(new Error(`nft session (table inet ${options.table}): no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        st.waiter = (res) => {
          clearTimeout(timer);
          if (res instanceof Error) return reject(res);
          const failed = batch ? res !== 'ok\n' : /Error/.test(res);
          if (failed) {
            // The session stays usable, but its cache may be stale after an error: start afresh.
            session.close();
            const own = batch ? res.replace(/^err /, '') : res.slice(0, Math.max(0, res.search(describeOk)));
            return reject(new Error((own.trim() || res.trim()).slice(0, 2_000)));
          }
          resolve();
        };
        c.stdin.write(batch ? `${lines.join('; ')}\n` : `${lines.join('; ')}\n${sentinel}\n`);
      });
    },
    close() {
      const c = st.child;
      st.child = undefined;
      // Its exit is ignored from now on (not the current child): answer what was in flight here.
      const w = st.waiter;
      st.waiter = undefined;
      w?.(new Error('nft session closed'));
      if (c && c.exitCode === null) {
        c.stdin.end();
        c.kill('SIGTERM');
      }
    },
  };
  return session;
}

/** Starts the helper (once built) or `nft -i`; its answers go to the waiting transaction. */
function start(st: SessionState, netns: string | undefined, wantBatch: boolean): ChildProcessWithoutNullStreams {
  const batch = wantBatch ? helper?.path : undefined;
  st.childBackend = batch ? 'batch' : 'interactive';
  const cmd = batch ? [batch] : ['sh', '-c', 'exec nft -i 2>&1'];
  const c = netns ? spawn('nsenter', [`--net=${netns}`, '--', ...cmd]) : spawn(cmd[0]!, cmd.slice(1));
  const end = batch ? answerLine : describeOk;
  // A replaced child (interactive -> batch once the helper is built) may still print or exit
  // while the next one serves: only the current child speaks for the transaction in flight.
  c.stdout.on('data', (d: Buffer) => {
    if (c !== st.child) return;
    st.buffer += d.toString();
    const m = end.exec(st.buffer);
    if (m && st.waiter) {
      const text = st.buffer.slice(0, m.index + m[0].length);
      st.buffer = st.buffer.slice(m.index + m[0].length);
      const w = st.waiter;
      st.waiter = undefined;
      w(text);
    }
  });
  // The helper's own complaints (it could not start): collected into the answer, which then
  // is not `ok`, so the transaction fails and the caller falls back to an exec.
  c.stderr?.on('data', (d: Buffer) => {
    if (c === st.child) st.buffer += d.toString();
  });
  c.stdin.on('error', () => undefined);
  c.on('exit', () => {
    if (st.child !== c) return;
    st.child = undefined;
    const w = st.waiter;
    st.waiter = undefined;
    w?.(new Error(`nft session ended${st.buffer.trim() ? `: ${st.buffer.trim().slice(0, 500)}` : ''}`));
  });
  c.on('error', () => undefined);
  return c;
}
