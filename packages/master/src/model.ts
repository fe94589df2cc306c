import type { Logger } from '@ippc/core';
import type { agentv1, AgentInfo, ExecutorInfo, FrameworkInfo, Offer, Resource, schedulerv1, Task } from '@ippc/proto';
import type { MasterObserver } from './observers.js';

// What the master knows, as plain records, and the context every part of the master works on.
// The parts (frameworks/, offers/, tasks/, agents/) are functions over a MasterContext; the Master
// class (master.ts) is that context and the public face of it.

/** Where a subscribed framework's events go (a gRPC server stream in production). */
export interface FrameworkConnection {
  send(event: schedulerv1.Event): void;
  /** Ends the event stream. */
  close(): void;
}

/** Where a registered agent's messages go (the agent's gRPC stream in production). */
export interface AgentConnection {
  send(message: agentv1.MasterMessage): void;
  /** Ends the session, with the reason when the master refuses the agent. */
  close(reason?: string): void;
}

export interface FrameworkEntry {
  id: string;
  info: FrameworkInfo;
  conn?: FrameworkConnection;
  streamId?: string;
  /** Known only from an agent's re-registration; not subscribed since this master started. */
  recovered: boolean;
  registeredTime: number;
  reregisteredTime?: number;
  unregisteredTime?: number;
  /** Tasks not completed yet (Mesos's `framework->tasks`), by task id. */
  tasks: Map<string, Task>;
  unreachableTasks: Map<string, Task>;
  completedTasks: Task[];
  offers: Set<string>;
  /** Refusal filters: agent id -> epoch ms until which it is not offered to this framework. */
  filters: Map<string, number>;
  suppressed: boolean;
  heartbeat?: NodeJS.Timeout;
  failoverTimer?: NodeJS.Timeout;
}

export interface AgentEntry {
  id: string;
  info: AgentInfo;
  pid: string;
  version: string;
  conn?: AgentConnection;
  registeredTime: number;
  reregisteredTime?: number;
  /** What the agent offers in total, without allocation info. */
  total: Resource[];
  /** Custom executors per framework. */
  executors: Map<string, Map<string, ExecutorInfo>>;
  offers: Set<string>;
  /** Kills that wait for the agent to come back: `<framework>/<task>` -> the kill. */
  pendingKills: Map<string, agentv1.KillTask>;
  removalTimer?: NodeJS.Timeout;
}

export interface OfferEntry {
  offer: Offer;
  frameworkId: string;
  agentId: string;
  timer?: NodeJS.Timeout;
}

/** Counters the master keeps for `/metrics`. */
export interface MasterCounters {
  statusUpdates: Map<string, number>;
  invalidCalls: Map<string, number>;
  offersSent: number;
  offersDeclined: number;
  offersRescinded: number;
  tasksLaunched: number;
  tasksInvalid: number;
  agentRegistrations: number;
  agentReregistrations: number;
  agentsUnreachable: number;
  messagesShutdownExecutor: number;
  messagesFrameworkToExecutor: number;
  validFrameworkToExecutorMessages: number;
  invalidFrameworkToExecutorMessages: number;
  messagesResourceRequest: number;
  messagesExecutorToFramework: number;
  validExecutorToFrameworkMessages: number;
  invalidExecutorToFrameworkMessages: number;
}

/** The master's settings, with their defaults applied (see MasterOptions). */
export interface MasterSettings {
  heartbeatSeconds: number;
  reregisterTimeoutMs: number;
  offerTimeoutMs: number | undefined;
  maxCompletedFrameworks: number;
  maxCompletedTasks: number;
}

/** What every part of the master works on: its records, its settings, two signals and its observers. */
export interface MasterContext {
  readonly id: string;
  readonly log: Logger;
  readonly settings: MasterSettings;
  readonly counters: MasterCounters;
  readonly frameworks: Map<string, FrameworkEntry>;
  readonly completedFrameworks: FrameworkEntry[];
  readonly agents: Map<string, AgentEntry>;
  readonly unreachableAgents: Map<string, { info: AgentInfo; time: number }>;
  readonly offers: Map<string, OfferEntry>;
  /** Sequence numbers of the ids the master hands out (`<master>-0000`, `<master>-S0`, `<master>-O0`). */
  readonly sequence: { framework: number; agent: number; offer: number };
  readonly stopped: boolean;
  /** Something visible on `/master/state` changed. */
  changed(): void;
  /** Runs the allocator soon (bursts of changes coalesce into one run). */
  scheduleAllocation(): void;
  /** Told what each part just did to the records (see observers.ts). */
  readonly observers: MasterObserver;
}

/** Seconds since the epoch, as Mesos's state endpoints give times. */
export const now = (): number => Date.now() / 1000;

/** A framework record that has no tasks, offers or filters yet. */
export function newFrameworkEntry(id: string, info: FrameworkInfo, recovered: boolean): FrameworkEntry {
  return {
    id,
    info,
    recovered,
    registeredTime: now(),
    tasks: new Map(),
    unreachableTasks: new Map(),
    completedTasks: [],
    offers: new Set(),
    filters: new Map(),
    suppressed: false,
  };
}

/** Sends an event to a framework if it is connected. */
export function sendToFramework(f: FrameworkEntry, event: schedulerv1.Event): void {
  f.conn?.send(event);
}
