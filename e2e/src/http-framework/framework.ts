// A Mesos framework written with mesos-framework (npm, pinned in e2e/package.json), run as a
// process of its own as the library's examples run: its Scheduler subscribes, matches offers to its
// two tasks, launches them and acknowledges every update. The test (framework-process.ts) drives it
// over the IPC channel with the library's public calls (`kill`, `message`, `teardown`) and hears every event
// the library emits. Nothing here reaches into the library.
//
// Why a process: the library owns the process it runs in. After its event stream ends it
// subscribes again, forever; when it cannot reach a master it calls `process.exit(1)`; its own
// example ends with `teardown()` and `process.exit(0)`. Here too: after TEARDOWN it exits.
import mesosFramework from 'mesos-framework';

/** What the test tells the framework at start (argv[2], JSON). */
export interface FrameworkConfig {
  masterHost: string;
  masterPort: number;
  name: string;
  /** Where the library's winston log goes (it writes `logs/` under the working directory otherwise). */
  logDir: string;
  /** The opt-in task: a Mesos-containerizer task on `network`. */
  web: { command: string; network: string };
  /** The plain task: no NetworkInfo, on the agent's network, with one offered port (the library's static ports). */
  plain: { command: string; port: number };
}

/** A call the test asks for. */
export type FrameworkCommand =
  { call: 'kill'; taskId: string; agentId: string } | { call: 'message'; agentId: string; executorId: string; data: string } | { call: 'teardown' };

/** An event the library emitted, as it emitted it (an Error as its message). */
export interface LibraryEvent {
  event: string;
  data: unknown;
}

/** The events of the library's README ("Events from Master", "Events from Scheduler"). */
export const LIBRARY_EVENTS = [
  'subscribed',
  'offers',
  'rescind',
  'update',
  'failure',
  'error',
  'heartbeat',
  'sent_subscribe',
  'sent_accept',
  'sent_decline',
  'sent_kill',
  'sent_message',
  'sent_acknowledge',
  'sent_teardown',
  'task_launched',
] as const;

function main(config: FrameworkConfig): void {
  const mesos = mesosFramework.Mesos.getMesos();
  const scheduler = new mesosFramework.Scheduler({
    masterUrl: config.masterHost,
    port: config.masterPort,
    frameworkName: config.name,
    // Longer than the master's heartbeat interval (15 s, Mesos's default): with the library's
    // default (10 s) a quiet stream between two heartbeats would be taken for a lost master.
    masterConnectionTimeout: 60,
    staticPorts: true,
    logging: { path: config.logDir, fileName: 'mesos-framework.log', level: 'info' },
    tasks: {
      web: {
        priority: 1,
        commandInfo: new mesos.CommandInfo({ shell: true, value: config.web.command }),
        containerInfo: new mesos.ContainerInfo({ type: mesos.ContainerInfo.Type.MESOS, network_infos: [new mesos.NetworkInfo({ name: config.web.network })] }),
        resources: { cpus: 0.1, mem: 32, disk: 0, ports: 0 },
      },
      plain: {
        priority: 2,
        commandInfo: new mesos.CommandInfo({ shell: true, value: config.plain.command }),
        resources: { cpus: 0.1, mem: 32, disk: 0, ports: 1, staticPorts: [config.plain.port] },
      },
    },
  });
  for (const event of LIBRARY_EVENTS) {
    scheduler.on(event, (data: unknown) => process.send?.({ event, data: data instanceof Error ? data.message : data } satisfies LibraryEvent));
  }
  scheduler.on('ready', () => scheduler.subscribe());
  process.on('message', (command: FrameworkCommand) => {
    if (command.call === 'kill') return scheduler.kill(command.taskId, command.agentId);
    if (command.call === 'message') return scheduler.message(command.agentId, command.executorId, command.data);
    scheduler.once('sent_teardown', () => process.exit(0));
    scheduler.teardown();
  });
  // The test went away: so does its framework.
  process.on('disconnect', () => process.exit(0));
}

main(JSON.parse(process.argv[2] ?? '{}') as FrameworkConfig);
