import { daemonMessage, daemonStatus } from '../errors.js';
import { followLogs, type LogSizes } from '../log-pump.js';
import type { DockerContext, Entry } from './context.js';

/** Copies the container's log into the sandbox; `base`: the files' sizes when it was created. */
export function startLogs(ctx: DockerContext, entry: Entry, base: LogSizes): void {
  const { docker, log } = ctx;
  const container = docker.getContainer(entry.dockerId!);
  let complained = false;
  entry.logs = followLogs(docker, container, entry.sandbox, {
    base,
    running: () =>
      container.inspect().then(
        (i) => i.State?.Running === true,
        (err) => (daemonStatus(err) === 404 ? false : undefined),
      ),
    onError: (err) => {
      // Once per container: while the daemon is away every attempt fails the same way.
      if (complained) return;
      complained = true;
      log.warn({ containerId: entry.id, err: daemonMessage(err) }, 'cannot stream container logs to the sandbox; trying again');
    },
  });
}
