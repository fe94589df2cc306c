import { randomBytes } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import type Docker from 'dockerode';

// An in-memory Docker daemon for specs of the containerizer's verbs past `docker create`: the calls
// launch, wait, destroy and recover make (image inspect, create, start, inspect, logs, wait, stop,
// remove, list, events), containers that run until stopped, and `NetworkSettings.Ports` as the
// daemon publishes: every `PortBindings` entry on 0.0.0.0 and ::, or on the address it names.

export interface FakeContainer {
  id: string;
  name: string;
  body: Docker.ContainerCreateOptions;
  running: boolean;
  started: boolean;
  exitCode?: number;
  removed: boolean;
  /** `NetworkSettings.Ports` once started. */
  ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
  exit: (code: number) => void;
  exited: Promise<number>;
  /** `NetworkSettings.Networks`: the container's address on each network it is on. */
  networks: Record<string, { IPAddress: string }>;
}

export interface FakeDaemon {
  docker: Docker;
  containers: FakeContainer[];
  /** Containers not removed. */
  present(): FakeContainer[];
  /** A running container made outside the containerizer (a pretend agent), on these networks. */
  addContainer(name: string, networks: Record<string, string>): FakeContainer;
}

export interface FakeDaemonOptions {
  /** The address a container gets on its network mode (BRIDGE, USER); default none. */
  address?: (networkMode: string) => string | undefined;
}

const daemonError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });

function publishedPorts(body: Docker.ContainerCreateOptions): FakeContainer['ports'] {
  const ports: FakeContainer['ports'] = {};
  for (const [key, bindings] of Object.entries(body.HostConfig?.PortBindings ?? {}) as [string, Array<{ HostIp?: string; HostPort?: string }>][]) {
    ports[key] = bindings.flatMap((b) =>
      b.HostIp ? [{ HostIp: b.HostIp, HostPort: b.HostPort ?? '' }] : ['0.0.0.0', '::'].map((ip) => ({ HostIp: ip, HostPort: b.HostPort ?? '' })),
    );
  }
  for (const key of Object.keys(body.ExposedPorts ?? {})) ports[key] ??= null;
  return ports;
}

function inspectOf(c: FakeContainer): Docker.ContainerInspectInfo {
  return {
    Id: c.id,
    Name: `/${c.name}`,
    State: { Running: c.running, StartedAt: c.started ? new Date().toISOString() : '0001-01-01T00:00:00Z', ExitCode: c.exitCode ?? 0 },
    Config: { Labels: c.body.Labels ?? {} },
    HostConfig: c.body.HostConfig ?? {},
    NetworkSettings: { Ports: c.started ? c.ports : {}, Networks: c.networks },
  } as unknown as Docker.ContainerInspectInfo;
}

function containerApi(daemon: FakeDaemon, idOrName: string): Docker.Container {
  const find = () => daemon.present().find((c) => c.id === idOrName || c.name === idOrName);
  const must = () => find() ?? Promise.reject(daemonError(404, `No such container: ${idOrName}`));
  return {
    id: idOrName,
    inspect: async () => inspectOf(await must()),
    start: async () => {
      const c = await must();
      c.running = c.started = true;
    },
    logs: async () => {
      const c = await must();
      const s = new PassThrough();
      if (c.running) void c.exited.then(() => s.end());
      else s.end();
      return s;
    },
    wait: async (options: { abortSignal?: AbortSignal } = {}) => {
      const c = await must();
      const aborted = new Promise<never>((_, reject) => options.abortSignal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      return { StatusCode: await Promise.race([c.exited, aborted]) };
    },
    stop: async () => {
      const c = await must();
      if (!c.running) throw daemonError(304, 'container already stopped');
      c.exit(137);
    },
    remove: async () => {
      const c = await must();
      if (c.running) c.exit(137);
      c.removed = true;
    },
  } as unknown as Docker.Container;
}

function newContainer(name: string, body: Docker.ContainerCreateOptions, networks: FakeContainer['networks']): FakeContainer {
  let exit!: (code: number) => void;
  const exited = new Promise<number>((r) => (exit = r));
  const c: FakeContainer = {
    id: randomBytes(8).toString('hex'),
    name,
    body,
    running: false,
    started: false,
    removed: false,
    ports: publishedPorts(body),
    exited,
    exit: () => undefined,
    networks,
  };
  c.exit = (code) => {
    c.running = false;
    c.exitCode ??= code;
    exit(code);
  };
  return c;
}

export function createFakeDaemon(options: FakeDaemonOptions = {}): FakeDaemon {
  const daemon: FakeDaemon = {
    docker: undefined as unknown as Docker,
    containers: [],
    present: () => daemon.containers.filter((c) => !c.removed),
    addContainer: (name, networks) => {
      const c = newContainer(name, {}, Object.fromEntries(Object.entries(networks).map(([n, ip]) => [n, { IPAddress: ip }])));
      c.running = c.started = true;
      daemon.containers.push(c);
      return c;
    },
  };
  const events: PassThrough[] = [];
  daemon.docker = {
    getImage: () => ({ inspect: async () => ({}) }),
    createContainer: async (body: Docker.ContainerCreateOptions) => {
      const mode = body.HostConfig?.NetworkMode ?? '';
      const address = options.address?.(mode);
      const c = newContainer(body.name ?? '', body, address ? { [mode]: { IPAddress: address } } : {});
      daemon.containers.push(c);
      return containerApi(daemon, c.id);
    },
    getContainer: (idOrName: string) => containerApi(daemon, idOrName),
    listContainers: async (options: { filters?: { label?: string[] } } = {}) =>
      daemon
        .present()
        .filter((c) =>
          (options.filters?.label ?? []).every((l) => {
            const [k, v] = l.split('=');
            return c.body.Labels?.[k!] === v;
          }),
        )
        .map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Labels: c.body.Labels ?? {},
          HostConfig: { NetworkMode: c.body.HostConfig?.NetworkMode ?? '' },
          Ports: [],
        })),
    getEvents: async () => {
      const s = new PassThrough();
      events.push(s);
      return s;
    },
    modem: { demuxStream: (stream: NodeJS.ReadableStream, out: Writable) => stream.on('data', (d: Buffer) => out.write(d)) },
  } as unknown as Docker;
  return daemon;
}
