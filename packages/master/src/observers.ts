import type { Logger } from '@ippc/core';
import type { Task, TaskStatus } from '@ippc/proto';
import type { AgentEntry, FrameworkEntry } from './model.js';

// The seam between the master's core and whoever watches it change (the operator API's SUBSCRIBE,
// http/operator-events.ts): the parts of the master tell `m.observers` what they just did, in
// Mesos's words (the events `Master` sends its operator subscribers: `Framework::addTask`,
// `updateTask`, `addFramework`, `removeFramework`, `addSlave`, `__removeSlave`), and every
// observer added hears it, synchronously, after the records changed.

/** What happens to the master's records that an observer hears about. */
export interface MasterObserver {
  /** A task became known: launched, or reported by a re-registering agent. */
  taskAdded(task: Task): void;
  /** The master recorded `status` on `task` (`task.state` is the agent's latest state). */
  taskUpdated(task: Task, status: TaskStatus): void;
  /** A framework subscribed for the first time, or was recovered from an agent's report. */
  frameworkAdded(framework: FrameworkEntry): void;
  /** A known framework subscribed again, or its scheduler went away. */
  frameworkUpdated(framework: FrameworkEntry): void;
  /** A framework was torn down or its failover timeout expired (it is among the completed now). */
  frameworkRemoved(framework: FrameworkEntry): void;
  /** An agent registered, or re-registered unknown to this master (it is in the records now). */
  agentAdded(agent: AgentEntry): void;
  /** An agent was removed or marked unreachable. */
  agentRemoved(agentId: string): void;
  /** The master stopped: nothing more will come. */
  masterStopped(): void;
}

/**
 * The observers of one master. The core calls the verbs; each observer added hears them in the
 * order they were added. An observer that throws is logged and kept (the master never fails
 * because a watcher did).
 */
export class MasterObservers implements MasterObserver {
  private readonly observers = new Set<MasterObserver>();

  constructor(private readonly log: Logger) {}

  /** Adds an observer; the returned function removes it (idempotent). */
  add(observer: MasterObserver): () => void {
    this.observers.add(observer);
    return () => {
      this.observers.delete(observer);
    };
  }

  /** How many observers there are (for tests and metrics). */
  get size(): number {
    return this.observers.size;
  }

  taskAdded(task: Task): void {
    this.tell('taskAdded', (o) => o.taskAdded(task));
  }

  taskUpdated(task: Task, status: TaskStatus): void {
    this.tell('taskUpdated', (o) => o.taskUpdated(task, status));
  }

  frameworkAdded(framework: FrameworkEntry): void {
    this.tell('frameworkAdded', (o) => o.frameworkAdded(framework));
  }

  frameworkUpdated(framework: FrameworkEntry): void {
    this.tell('frameworkUpdated', (o) => o.frameworkUpdated(framework));
  }

  frameworkRemoved(framework: FrameworkEntry): void {
    this.tell('frameworkRemoved', (o) => o.frameworkRemoved(framework));
  }

  agentAdded(agent: AgentEntry): void {
    this.tell('agentAdded', (o) => o.agentAdded(agent));
  }

  agentRemoved(agentId: string): void {
    this.tell('agentRemoved', (o) => o.agentRemoved(agentId));
  }

  masterStopped(): void {
    this.tell('masterStopped', (o) => o.masterStopped());
    this.observers.clear();
  }

  private tell(what: keyof MasterObserver, call: (o: MasterObserver) => void): void {
    for (const o of [...this.observers]) {
      try {
        call(o);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, event: what }, 'a master observer failed');
      }
    }
  }
}
