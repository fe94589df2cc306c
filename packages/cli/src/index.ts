/**
 * @ippc/cli: the `ippc` command (bin: src/bin/ippc.ts). Run `ippc --help`.
 *
 * The package also exports what its commands are made of, for tools that drive a cluster the
 * same way (the showcase, tests): the program, task planning, the views of `/master/state`, the
 * cluster net check.
 *
 * @example
 * ```ts
 * import { createProgram } from '@ippc/cli';
 * await createProgram().parseAsync(['node', 'ippc', 'task', 'list', '--json']);
 * ```
 */
export { clusterUp, parseWait, readClusterFile } from './commands/cluster/up.js';
export { netCheck } from './commands/net.js';
export { runShowcase } from './commands/showcase/showcase.js';
export { showcaseTasks } from './commands/showcase/tasks.js';
export { findTask } from './commands/task/kill.js';
export { runTaskGroup, type TaskGroupResult } from './commands/task/group.js';
export { placeTask, runTask, shellJoin } from './commands/task/run.js';
export { realTestbed, type Testbed } from './context.js';
export { CliError, type CliErrorCode } from './errors.js';
export { CLI_FRAMEWORK, closeCliFramework, connectCliFramework, launchTask, launchTaskGroup } from './framework.js';
export { SHELL_EXECUTOR_COMMAND, placeOnExecutor, shellExecutorInfo } from './executor-spec.js';
export { planTaskGroup, type TaskGroupFlags, type TaskGroupPlan } from './group-spec.js';
export { checkCluster, cniRootFromArgv, planEndpoints, type NetCheckRun, type PlacedEndpoint } from './net-check.js';
export { emit, fail } from './output.js';
// `table` was the CLI's own copy of core's renderTable; the name stays for whoever imported it.
export { renderTable as table } from '@ippc/core';
export { createProgram } from './program.js';
export { planTaskRun, type TaskRunFlags, type TaskRunPlan } from './task-spec.js';
export { taskRows, taskViews, type TaskView } from './tasks-view.js';
