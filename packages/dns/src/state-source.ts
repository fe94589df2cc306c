/**
 * Where the master's state comes from. The server only sees {@link StateSource}: today a poller of
 * `GET /master/state`; a watch (a streaming or long-poll endpoint of the master) can replace it
 * without touching the server, as long as it emits the same events.
 */
import { Mutex } from '@ippc/core';
import { DnsError } from './errors.js';
import { parseMesosState, type MesosState } from './mesos-state.js';

/** What a source reports; `at` is the wall-clock time (ms) the master's answer arrived. */
export type StateEvent =
  /** A state that differs from the last one delivered (the first one always does). */
  | { kind: 'state'; state: MesosState; at: number }
  /** The master confirmed that the last delivered state is still current (HTTP 304, same body). */
  | { kind: 'unchanged'; at: number }
  /** The state could not be read this time; the last good state stays in use. */
  | { kind: 'error'; error: DnsError; at: number };

/** Receives events one at a time: the source waits for the returned promise before the next one. */
export type StateListener = (event: StateEvent) => void | Promise<void>;

/** The seam between the DNS server and the master. */
export interface StateSource {
  /** Where the state comes from, for logs (e.g. `http://10.0.0.1:5050/master/state every 2000 ms`). */
  readonly description: string;
  /** Starts following and delivers events to `listener` until {@link close}. Call once. */
  start(listener: StateListener): void;
  /** Reads the state now, out of schedule; resolves once the listener has handled the result. */
  refresh(): Promise<void>;
  /** Stops following; no event is delivered after the returned promise resolves. */
  close(): Promise<void>;
}

export interface PollingStateSourceOptions {
  /**
   * The master, e.g. `http://10.0.0.1:5050`. When the URL has no path (or `/`), `/master/state`
   * is appended; otherwise it is used as given (e.g. a fake master's `/state.json`).
   */
  master: string;
  /** Time between the end of one poll and the start of the next. Default 2000 ms. */
  intervalMs?: number;
  /** Give up on one request after this long. Default: the interval, at least 1000 ms, at most 10000 ms. */
  timeoutMs?: number;
  /** The HTTP client; a seam for tests. Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** Default polling interval. mesos-dns polls every 60 s; a testbed wants names within seconds. */
export const DEFAULT_REFRESH_MS = 2000;

/** The URL polled for `master` (see {@link PollingStateSourceOptions.master}). */
export function stateUrl(master: string): URL {
  let url: URL;
  try {
    url = new URL(master);
  } catch {
    throw new DnsError('DNS_INVALID_OPTIONS', `master URL ${JSON.stringify(master)} is not a URL: give it as http://host:5050`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DnsError('DNS_INVALID_OPTIONS', `master URL ${JSON.stringify(master)} must be http:// or https://`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/master/state';
  return url;
}

/**
 * Polls the master's `/master/state`. Requests are conditional: when the master sent an `ETag` or
 * `Last-Modified`, the next request carries `If-None-Match` / `If-Modified-Since` and a 304 is
 * taken as "unchanged". A master that ignores them (real Mesos does) costs a full body each time,
 * and an identical body is still reported as `unchanged` so the zone is not rebuilt.
 */
export function createPollingStateSource(options: PollingStateSourceOptions): StateSource {
  const url = stateUrl(options.master);
  const intervalMs = options.intervalMs ?? DEFAULT_REFRESH_MS;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new DnsError('DNS_INVALID_OPTIONS', `refresh interval must be a positive number of milliseconds, not ${intervalMs}`);
  }
  const timeoutMs = options.timeoutMs ?? Math.min(10_000, Math.max(1000, intervalMs));
  const p: Poller = { url, intervalMs, timeoutMs, doFetch: options.fetch ?? fetch, closed: false, queue: new Mutex(), inflight: new Set() };

  return {
    description: `${url.href} every ${intervalMs} ms`,
    start(l) {
      if (p.listener) throw new DnsError('DNS_INVALID_OPTIONS', 'this state source is already started');
      p.listener = l;
      // A listener that throws fails its own refresh() call; scheduled polls just go on.
      void poll(p).catch(() => undefined);
    },
    refresh() {
      if (!p.listener) return Promise.reject(new DnsError('DNS_INVALID_OPTIONS', 'start the state source before refreshing it'));
      return poll(p);
    },
    async close() {
      p.closed = true;
      if (p.timer) clearTimeout(p.timer);
      for (const c of p.inflight) c.abort(new Error('closed'));
      await p.queue.idle();
    },
  };
}

/** One polling source's settings and state. */
interface Poller {
  readonly url: URL;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly doFetch: typeof fetch;
  listener?: StateListener;
  closed: boolean;
  timer?: NodeJS.Timeout;
  /** The running poll, so polls never overlap. */
  readonly queue: Mutex;
  readonly inflight: Set<AbortController>;
  /** What the master last sent, for conditional requests and to spot an identical body. */
  etag?: string;
  lastModified?: string;
  lastBody?: string;
}

/** One conditional GET of the state, as an event (never rejects). */
async function read(p: Poller): Promise<StateEvent> {
  const { url, timeoutMs } = p;
  const controller = new AbortController();
  p.inflight.add(controller);
  const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'ippc-dns' };
    if (p.etag && p.lastBody !== undefined) headers['if-none-match'] = p.etag;
    if (p.lastModified && p.lastBody !== undefined) headers['if-modified-since'] = p.lastModified;
    let res: Response;
    try {
      res = await p.doFetch(url, { headers, signal: controller.signal });
    } catch (err) {
      const why = controller.signal.aborted ? String((controller.signal.reason as Error)?.message ?? 'aborted') : describe(err);
      return error(
        p,
        'DNS_STATE_UNAVAILABLE',
        `cannot read the master's state at ${url.href}: ${why}; is the master running? Serving the last good state meanwhile`,
        err,
      );
    }
    if (res.status === 304 && p.lastBody !== undefined) {
      await res.body?.cancel();
      return { kind: 'unchanged', at: Date.now() };
    }
    const body = await res.text();
    if (!res.ok) {
      return error(p, 'DNS_STATE_UNAVAILABLE', `the master answered ${res.status} ${res.statusText} for ${url.href}: ${body.slice(0, 200)}`);
    }
    const at = Date.now();
    p.etag = res.headers.get('etag') ?? undefined;
    p.lastModified = res.headers.get('last-modified') ?? undefined;
    if (body === p.lastBody) return { kind: 'unchanged', at };
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (err) {
      return error(p, 'DNS_STATE_INVALID', `${url.href} did not answer JSON (${describe(err)}): is --master the master's URL?`, err);
    }
    let state: MesosState;
    try {
      state = parseMesosState(json, url.href);
    } catch (err) {
      return { kind: 'error', error: err as DnsError, at: Date.now() };
    }
    p.lastBody = body;
    return { kind: 'state', state, at };
  } catch (err) {
    // Reading the body failed half-way (connection reset, abort on close).
    return error(p, 'DNS_STATE_UNAVAILABLE', `cannot read the master's state at ${url.href}: ${describe(err)}`, err);
  } finally {
    clearTimeout(timeout);
    p.inflight.delete(controller);
  }
}

function error(p: Poller, code: 'DNS_STATE_UNAVAILABLE' | 'DNS_STATE_INVALID', message: string, cause?: unknown): StateEvent {
  return { kind: 'error', error: new DnsError(code, message, { cause, details: { url: p.url.href } }), at: Date.now() };
}

/** Runs one poll after any running one, then schedules the next. Never rejects. */
function poll(p: Poller): Promise<void> {
  if (p.timer) clearTimeout(p.timer);
  p.timer = undefined;
  return p.queue.run(async () => {
    if (p.closed || !p.listener) return;
    // A timer set by the poll before this one is now redundant.
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    const event = await read(p);
    if (p.closed) return;
    try {
      await p.listener(event);
    } finally {
      if (!p.closed) {
        if (p.timer) clearTimeout(p.timer);
        p.timer = setTimeout(() => void poll(p).catch(() => undefined), p.intervalMs);
      }
    }
  });
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message ?? String(err)} (${cause})` : (e?.message ?? String(err));
}
