/**
 * @ippc/scheduler: what a framework imports to use an ippc (Mesos-style) master: subscribe, receive
 * offers, launch tasks with NetworkInfo, follow status updates (with the task's addresses in
 * `container_status.network_infos`), acknowledge, reconcile, kill; and readers of the master's and
 * agents' `state` endpoints. Mesos's model itself (resources, the state JSON) is `@ippc/mesos`.
 *
 * @example
 * ```ts
 * import { connectScheduler } from '@ippc/scheduler';
 * const scheduler = await connectScheduler({ master: '127.0.0.1:5050', auth: { token }, framework: { name: 'hello' } });
 * const [offer] = await scheduler.awaitOffers();
 * const task = scheduler.taskFromOffer(offer!, { name: 'web', command: 'exec python3 -m http.server $PORT0', ports: 1, networks: [{ name: 'blue' }] });
 * await scheduler.launch(offer!, [task]);
 * const running = await scheduler.waitForState(task.taskId!.value!, 'TASK_RUNNING');
 * console.log(running.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress);
 * ```
 */
export { connectScheduler, createScheduler, Scheduler, type FrameworkID } from './client.js';
export type { SchedulerEvent } from './events.js';
export { buildTask, taskFromOffer, type TaskSpec } from './launch.js';
export { buildDefaultExecutor, groupFromOffer, type ExecutorSpec } from './launch-group.js';
export type { FrameworkOptions, SchedulerOptions } from './options.js';
export { SchedulerError, type SchedulerErrorCode, type SchedulerErrorOptions } from './errors.js';
export { fetchAgentState, fetchMasterState, watchMasterState } from './state.js';
