import type { TaskJson } from './state-writers.js';

// Shapes of the documents, for readers (DNS, tests, tools). Only the keys that readers use are
// spelled out; every document has more.

export interface FrameworkJson {
  id: string;
  name: string;
  active: boolean;
  connected: boolean;
  tasks: TaskJson[];
  unreachable_tasks: TaskJson[];
  completed_tasks: TaskJson[];
  offers: { id: string; slave_id: string; resources: Record<string, number | string> }[];
  [key: string]: unknown;
}
export interface AgentJson {
  id: string;
  hostname: string;
  port: number;
  pid: string;
  active: boolean;
  resources: Record<string, number | string>;
  used_resources: Record<string, number | string>;
  offered_resources: Record<string, number | string>;
  unreserved_resources: Record<string, number | string>;
  [key: string]: unknown;
}
/** `GET /master/state`. */
export interface MasterStateJson {
  id: string;
  pid: string;
  hostname: string;
  leader?: string;
  activated_slaves: number;
  slaves: AgentJson[];
  frameworks: FrameworkJson[];
  completed_frameworks: FrameworkJson[];
  [key: string]: unknown;
}
export interface ExecutorJson {
  id: string;
  name: string;
  source: string;
  container: string;
  directory: string;
  tasks: TaskJson[];
  queued_tasks: unknown[];
  completed_tasks: TaskJson[];
  [key: string]: unknown;
}
/** `GET /state` of an agent. */
export interface AgentStateJson {
  id: string;
  pid: string;
  hostname: string;
  resources: Record<string, number | string>;
  frameworks: { id: string; name: string; executors: ExecutorJson[]; completed_executors: ExecutorJson[]; [key: string]: unknown }[];
  completed_frameworks: unknown[];
  [key: string]: unknown;
}
