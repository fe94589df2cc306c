import { connect, type Socket } from 'node:net';
import type Docker from 'dockerode';
import { LABEL, labelsFor } from './labels.js';
import { REAPER_SCRIPT } from './reaper-script.js';

export interface ReaperOptions {
  docker: Docker;
  /** The node image (it has Node); nothing is pulled. */
  image: string;
  session: string;
  cluster: string;
  /** How long the reaper waits for a reconnect after the last connection closed. Default 2 s. */
  graceMs?: number;
}

/** A session's guard: while `socket` is open the session's resources live; when it closes they go. */
export interface Reaper {
  containerId: string;
  /** Close the connection deliberately (the reaper then removes the session's leftovers). */
  release(): void;
}

/**
 * Starts the session reaper and connects to it from this process. If this process dies, even by
 * SIGKILL, the kernel closes the connection and the reaper removes everything labelled with the
 * session: the equivalent of testcontainers' Ryuk, built from ippc's own image.
 */
export async function startReaper(options: ReaperOptions): Promise<Reaper> {
  const { docker } = options;
  const container = await docker.createContainer({
    Image: options.image,
    Entrypoint: ['node', '-e', REAPER_SCRIPT],
    Cmd: [],
    Env: [`IPPC_SESSION=${options.session}`, `IPPC_REAPER_GRACE_MS=${options.graceMs ?? 2000}`],
    Labels: { ...labelsFor(options.cluster, 'reaper'), [LABEL.session]: `${options.session}-reaper` },
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: {
      AutoRemove: true,
      Binds: ['/var/run/docker.sock:/var/run/docker.sock'],
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
  });
  await container.start();
  const info = await container.inspect();
  const port = Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
  const socket = await connectWithRetry(port, 10_000);
  socket.unref(); // the guard must not keep the test process alive
  return { containerId: container.id, release: () => socket.destroy() };
}

async function connectWithRetry(port: number, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1');
        s.once('data', () => resolve(s)); // the reaper says ACK once it holds the connection
        s.once('error', reject);
        s.once('close', () => reject(new Error('reaper closed the connection')));
      });
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`reaper did not answer on 127.0.0.1:${port}: ${(lastError as Error)?.message}`);
}
