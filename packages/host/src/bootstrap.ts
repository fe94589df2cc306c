import { HostError } from './errors.js';
import { runOrThrow } from './exec.js';
import { buildBaseImage, buildNodeImage, imageExists, imageRefs, type ImageRefs } from './images.js';
import { dockerClient, dockerVersion, ensureDockerd } from './docker.js';
import { HOST_COMMANDS, REQUIRED_CNI_PLUGINS, isDebianLike, probeHost, type HostCommand, type HostFacts } from './probe.js';

/** One thing the host lacks, and how bootstrap (or the operator) fixes it. */
export interface Finding {
  id: string;
  ok: boolean;
  what: string;
  /** Debian packages that provide it. */
  packages: string[];
  /** What to run by hand when bootstrap cannot. */
  fix?: string;
}

/** A step bootstrap will take, in order. */
export type Action =
  | { kind: 'install-packages'; packages: string[] }
  | { kind: 'start-dockerd' }
  | { kind: 'build-base-image'; ref: string }
  | { kind: 'build-node-image'; ref: string };

export interface Plan {
  facts: HostFacts;
  findings: Finding[];
  actions: Action[];
  /** Reasons bootstrap cannot proceed on its own (not root, not Debian, ...). Empty when it can. */
  blockers: string[];
  images: ImageRefs;
}

export interface DockerState {
  answering: boolean;
  images: { base: boolean; node: boolean };
}

const COMMAND_WHAT: Record<HostCommand, string> = {
  dockerd: 'Docker Engine (dockerd), for the Docker containerizer and the testbed',
  iptables: 'iptables, for Docker and CNI port mappings',
  nft: 'nftables, for the isolation provider',
  ip: 'iproute2 (ip), for network namespaces',
  debootstrap: 'debootstrap, to build the base image offline',
  etcd: 'etcd server, for the IPAM etcd store',
};

/** What the host lacks, as findings (all of them, ok or not: `doctor` prints every one). */
export function findings(facts: HostFacts): Finding[] {
  const out: Finding[] = (Object.keys(HOST_COMMANDS) as HostCommand[]).map((name) => ({
    id: name,
    ok: facts.commands[name] !== undefined,
    what: COMMAND_WHAT[name],
    packages: [HOST_COMMANDS[name]],
    fix: `apt-get install -y ${HOST_COMMANDS[name]}`,
  }));
  const missingPlugins = REQUIRED_CNI_PLUGINS.filter((p) => !facts.cniPlugins.includes(p));
  out.push({
    id: 'cni-plugins',
    ok: facts.cniPluginDir !== undefined && missingPlugins.length === 0,
    what: `CNI plugins (${REQUIRED_CNI_PLUGINS.join(', ')})${facts.cniPluginDir ? ` in ${facts.cniPluginDir}` : ''}`,
    packages: ['containernetworking-plugins'],
    fix: 'apt-get install -y containernetworking-plugins',
  });
  return out;
}

/**
 * Decides what bootstrap must do, from the facts alone (no side effects), so `--dry-run` and
 * `doctor` show exactly what a real run would do.
 */
export function plan(facts: HostFacts, docker: DockerState, images: ImageRefs): Plan {
  const found = findings(facts);
  const missing = found.filter((f) => !f.ok);
  const packages = [...new Set(missing.flatMap((f) => f.packages))].sort();
  const blockers: string[] = [];
  const actions: Action[] = [];
  if (packages.length > 0) {
    if (!isDebianLike(facts.os)) blockers.push(`${facts.os.prettyName} is not Debian or Ubuntu: install ${missing.map((f) => f.what).join('; ')} yourself`);
    else if (!facts.isRoot) blockers.push(`not running as root: run 'sudo apt-get install -y ${packages.join(' ')}' or rerun as root`);
    else if (!facts.hasApt) blockers.push(`apt-get not found: install ${packages.join(' ')} yourself`);
    actions.push({ kind: 'install-packages', packages });
  }
  if (!docker.answering) {
    if (!facts.isRoot) blockers.push('no Docker daemon answers and only root can start one: start dockerd (or set DOCKER_HOST)');
    actions.push({ kind: 'start-dockerd' });
  }
  if (!docker.images.base) {
    if (!facts.isRoot) blockers.push('building the base image runs debootstrap, which needs root');
    actions.push({ kind: 'build-base-image', ref: images.base });
  }
  if (!docker.images.node) actions.push({ kind: 'build-node-image', ref: images.node });
  return { facts, findings: found, actions, blockers, images };
}

async function dockerState(images: ImageRefs): Promise<DockerState> {
  const docker = dockerClient();
  if (!(await dockerVersion(docker))) return { answering: false, images: { base: false, node: false } };
  return { answering: true, images: { base: await imageExists(docker, images.base), node: await imageExists(docker, images.node) } };
}

/** Reads the host and returns the plan, changing nothing. */
export async function planBootstrap(): Promise<Plan> {
  const facts = await probeHost();
  const images = await imageRefs(facts.os.versionCodename);
  return plan(facts, await dockerState(images), images);
}

export interface BootstrapHooks {
  /** Called before each action. */
  onAction?: (action: Action) => void;
  /** Progress lines inside an action (apt, debootstrap, docker build). */
  onProgress?: (line: string) => void;
}

/**
 * Makes the host ready: installs missing packages, starts dockerd, builds the images. Idempotent:
 * each step is planned from what is there, so a prepared host costs only the probe.
 */
export async function bootstrap(hooks: BootstrapHooks = {}): Promise<Plan> {
  let current = await planBootstrap();
  if (current.blockers.length > 0) {
    throw new HostError('HOST_UNSUPPORTED', `bootstrap cannot continue:\n- ${current.blockers.join('\n- ')}`);
  }
  for (const action of current.actions) {
    hooks.onAction?.(action);
    switch (action.kind) {
      case 'install-packages': {
        const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
        await runOrThrow('apt-get', ['update', '-q'], { env, onOutput: line(hooks) });
        await runOrThrow('apt-get', ['install', '-y', '-q', ...action.packages], { env, onOutput: line(hooks) });
        break;
      }
      case 'start-dockerd':
        await ensureDockerd();
        break;
      case 'build-base-image':
        // Re-probe: the install step may just have brought debootstrap.
        current = { ...current, facts: await probeHost() };
        await buildBaseImage(dockerClient(), current.facts, action.ref, { onProgress: hooks.onProgress });
        break;
      case 'build-node-image':
        await buildNodeImage(dockerClient(), current.images, { onProgress: hooks.onProgress });
        break;
    }
  }
  return planBootstrap();
}

function line(hooks: BootstrapHooks) {
  return (chunk: string) => {
    for (const l of chunk.split('\n')) if (l.trim()) hooks.onProgress?.(l.trim());
  };
}
