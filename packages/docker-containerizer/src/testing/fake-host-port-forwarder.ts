import { DockerContainerizerError } from '../errors.js';
import { normalizeHostPorts, type HostPort, type HostPortForwarder } from '../host-ports/host-port-forwarder.js';

// A HostPortForwarder for specs: the nft forwarder's bookkeeping (a set per container, changed
// only by a call that succeeds; unpublish forgets even when it fails) without a kernel, a log of
// the calls, and verbs told to fail.

export type ForwarderVerb = 'publish' | 'unpublish' | 'recover';

export interface FakeHostPortForwarder extends HostPortForwarder {
  /** Every call in order, e.g. `publish c1 31000/tcp,31005/udp`, `unpublish c1`, `recover c2`. */
  readonly calls: string[];
  /** Calls of these verbs throw `DOCKER_HOST_PORTS_FAILED` (as a refused nft script) while listed. */
  readonly failing: Set<ForwarderVerb>;
}

const show = (ports: readonly HostPort[]) => ports.map((p) => `${p.hostPort}/${p.protocol}`).join(',');

export function createFakeHostPortForwarder(initial: Record<string, HostPort[]> = {}): FakeHostPortForwarder {
  const desired = new Map<string, HostPort[]>(Object.entries(initial));
  const calls: string[] = [];
  const failing = new Set<ForwarderVerb>();
  const attempt = async (verb: ForwarderVerb, what: string) => {
    calls.push(what);
    // Asynchronous like the real one, so callers' races show.
    await new Promise((r) => setImmediate(r));
    if (failing.has(verb)) throw new DockerContainerizerError('DOCKER_HOST_PORTS_FAILED', `${verb}: nft -f - exited with 1: Error: Could not process rule`);
  };
  return {
    calls,
    failing,
    async publish(containerId, ports) {
      await attempt('publish', `publish ${containerId} ${show(ports)}`);
      desired.set(containerId, normalizeHostPorts(ports));
    },
    async unpublish(containerId) {
      const had = desired.delete(containerId);
      await attempt('unpublish', `unpublish ${containerId}${had ? '' : ' (unknown)'}`);
    },
    async recover(all) {
      await attempt('recover', `recover ${[...all.keys()].join(',')}`);
      desired.clear();
      for (const [id, ports] of all) desired.set(id, normalizeHostPorts(ports));
    },
    published: () => new Map([...desired].map(([id, ports]) => [id, ports.map((p) => ({ ...p }))])),
  };
}
