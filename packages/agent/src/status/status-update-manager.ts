import { Backoff, type Logger } from '@ippc/core';
import { TaskState, type TaskStatus } from '@ippc/proto';
import { isTerminalState } from '@ippc/mesos';

// Mesos's status update manager (src/slave/task_status_update_manager.cpp): one stream per task;
// only the oldest unacknowledged update is in flight, resent with exponential backoff until the
// framework acknowledges it (through the master); the next one goes out on acknowledgement.
// Every update and acknowledgement is checkpointed before it takes effect, so a restarted agent
// resends exactly what was never acknowledged.

export interface StatusUpdateSink {
  /** Sends an update to the master; false when not connected (it is resent on reconnection). */
  forward(frameworkId: string, status: TaskStatus, latestState: TaskState): boolean;
  /** Persists an update before it is sent. */
  checkpointUpdate(frameworkId: string, taskId: string, status: TaskStatus): Promise<void>;
  /** Persists an acknowledgement before the next update goes out. */
  checkpointAck(frameworkId: string, taskId: string, uuid: string): Promise<void>;
}

interface Stream {
  frameworkId: string;
  taskId: string;
  pending: TaskStatus[];
  latestState?: TaskState;
  /** True once the terminal update was acknowledged: the stream is done. */
  closed: boolean;
  /** The resend interval: from `retryIntervalMs`, doubling up to `maxRetryIntervalMs`, back to the first on acknowledgement. */
  retry: Backoff;
  timer?: NodeJS.Timeout;
}

export interface StatusUpdateManagerOptions {
  sink: StatusUpdateSink;
  /** First retry interval (less up to half of it, at random, so that the agents a new master hears from do not resend in step). Default 10 s (Mesos STATUS_UPDATE_RETRY_INTERVAL_MIN). */
  retryIntervalMs?: number;
  /** Longest retry interval. Default 10 min (Mesos STATUS_UPDATE_RETRY_INTERVAL_MAX). */
  maxRetryIntervalMs?: number;
  log: Logger;
}

const key = (fid: string, tid: string) => `${fid}/${tid}`;
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

export class StatusUpdateManager {
  private readonly streams = new Map<string, Stream>();
  private readonly minMs: number;
  private readonly maxMs: number;
  retries = 0;

  constructor(private readonly options: StatusUpdateManagerOptions) {
    this.minMs = options.retryIntervalMs ?? 10_000;
    this.maxMs = options.maxRetryIntervalMs ?? 600_000;
  }

  private stream(fid: string, tid: string): Stream {
    let s = this.streams.get(key(fid, tid));
    if (!s) {
      s = { frameworkId: fid, taskId: tid, pending: [], closed: false, retry: new Backoff({ initialMs: this.minMs, maxMs: this.maxMs }) };
      this.streams.set(key(fid, tid), s);
    }
    return s;
  }

  /** Checkpoints and queues an update; sends it now if nothing of the task is in flight. */
  async update(frameworkId: string, status: TaskStatus): Promise<void> {
    const tid = status.taskId?.value ?? '';
    const s = this.stream(frameworkId, tid);
    await this.options.sink.checkpointUpdate(frameworkId, tid, status);
    s.pending.push(status);
    s.latestState = status.state;
    // Only the oldest unacknowledged update is in flight; later ones wait for its acknowledgement.
    if (s.pending.length === 1) this.send(s);
  }

  private send(s: Stream): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
    const head = s.pending[0];
    if (!head) return;
    this.options.sink.forward(s.frameworkId, head, s.latestState ?? head.state!);
    s.timer = setTimeout(() => {
      this.retries++;
      this.options.log.info({ frameworkId: s.frameworkId, taskId: s.taskId, state: head.state }, 'resending an unacknowledged status update');
      this.send(s);
    }, s.retry.next());
    s.timer.unref();
  }

  /**
   * An acknowledgement from the framework. Returns the acknowledged status, or undefined when it
   * does not match the update in flight (duplicate or stale acknowledgements are ignored, as in Mesos).
   */
  async acknowledge(frameworkId: string, taskId: string, uuid: Uint8Array): Promise<TaskStatus | undefined> {
    const s = this.streams.get(key(frameworkId, taskId));
    const head = s?.pending[0];
    if (!s || !head || hex(head.uuid) !== hex(uuid)) {
      this.options.log.warn({ frameworkId, taskId, uuid: hex(uuid) }, 'ignoring an unexpected status update acknowledgement');
      return undefined;
    }
    await this.options.sink.checkpointAck(frameworkId, taskId, hex(uuid));
    s.pending.shift();
    s.retry.reset();
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
    if (isTerminalState(head.state)) {
      s.closed = true;
      this.streams.delete(key(frameworkId, taskId));
    } else if (s.pending.length > 0) this.send(s);
    return head;
  }

  /** Rebuilds a task's stream from its checkpointed records (after an agent restart). */
  recover(
    frameworkId: string,
    taskId: string,
    records: ({ type: 'UPDATE'; status: TaskStatus } | { type: 'ACK'; uuid: string } | { type: string })[],
  ): { acked: TaskStatus[]; pending: TaskStatus[] } {
    const pending: TaskStatus[] = [];
    const acked: TaskStatus[] = [];
    for (const r of records) {
      if (r.type === 'UPDATE' && 'status' in r) pending.push(r.status);
      else if (r.type === 'ACK' && 'uuid' in r && pending[0] && hex(pending[0].uuid) === r.uuid) acked.push(pending.shift()!);
      // Other records (KILL) are the agent's, not the stream's.
    }
    if (pending.length > 0) {
      const s = this.stream(frameworkId, taskId);
      s.pending = pending;
      s.latestState = pending.at(-1)!.state;
    }
    return { acked, pending };
  }

  /** Sends the head of every stream again at once (after (re)registering with a master). */
  flush(): void {
    for (const s of this.streams.values()) {
      s.retry.reset();
      this.send(s);
    }
  }

  /** Drops the streams of a framework (it was shut down). */
  cleanup(frameworkId: string): void {
    for (const [k, s] of this.streams) {
      if (s.frameworkId !== frameworkId) continue;
      if (s.timer) clearTimeout(s.timer);
      this.streams.delete(k);
    }
  }

  /** True while updates of the task wait for acknowledgement. */
  hasPending(frameworkId: string, taskId: string): boolean {
    return (this.streams.get(key(frameworkId, taskId))?.pending.length ?? 0) > 0;
  }

  /** Updates waiting for acknowledgement, over all tasks. */
  pendingCount(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.pending.length;
    return n;
  }

  stop(): void {
    for (const s of this.streams.values()) if (s.timer) clearTimeout(s.timer);
  }
}
