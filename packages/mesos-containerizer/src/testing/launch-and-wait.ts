// Test helper: plays an agent that launches one task and is then killed with -9.
// argv: <runtimeDir> <sandbox> <containerId>; prints `{"pid":N}` once the task runs.
import { createMesosContainerizer } from '../mesos-containerizer.js';

const [runtimeDir, sandbox, id] = process.argv.slice(2) as [string, string, string];
const mc = createMesosContainerizer({ runtimeDir });
await mc.recover([]);
await mc.launch({
  containerId: { value: id },
  frameworkId: { value: 'F' },
  agentId: { value: 'A' },
  task: {
    name: id,
    taskId: { value: id },
    agentId: { value: 'A' },
    resources: [],
    command: { value: 'echo started; exec sleep 600', uris: [], arguments: [] },
    limits: {},
  },
  executor: { executorId: { value: id }, resources: [] },
  sandboxDirectory: sandbox,
  environment: {},
  sendStatus: () => undefined,
});
const status = await mc.status(id);
process.stdout.write(JSON.stringify({ pid: status.executorPid }) + '\n');
setInterval(() => undefined, 60_000);
