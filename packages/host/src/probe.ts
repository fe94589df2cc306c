import { readdir, readFile } from 'node:fs/promises';
import { exists } from '@ippc/core';
import { which } from './exec.js';

/** The CNI plugins ippc's networks and tests use; all ship in Debian's containernetworking-plugins. */
export const REQUIRED_CNI_PLUGINS = ['bridge', 'ptp', 'host-local', 'portmap', 'bandwidth', 'firewall', 'loopback', 'static'] as const;

/** Folders where distributions put CNI plugins, in the order ippc looks. */
export const CNI_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'] as const;

/** Commands ippc runs on the host, and the Debian package that provides each. */
export const HOST_COMMANDS = {
  dockerd: 'docker.io',
  iptables: 'iptables',
  nft: 'nftables',
  ip: 'iproute2',
  debootstrap: 'debootstrap',
  etcd: 'etcd-server',
} as const;
export type HostCommand = keyof typeof HOST_COMMANDS;

export interface OsRelease {
  id: string;
  idLike: string[];
  versionCodename?: string;
  prettyName: string;
}

/** What the host has, read without changing anything. */
export interface HostFacts {
  os: OsRelease;
  isRoot: boolean;
  hasApt: boolean;
  commands: Record<HostCommand, string | undefined>;
  cniPluginDir?: string;
  cniPlugins: string[];
  /** The Debian/Ubuntu archive URI the host's own apt uses for its release (for debootstrap). */
  aptMirror?: string;
  ipv6: boolean;
}

export function parseOsRelease(text: string): OsRelease {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) fields[m[1]] = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
  }
  return {
    id: fields.ID ?? 'unknown',
    idLike: (fields.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
    versionCodename: fields.VERSION_CODENAME || undefined,
    prettyName: fields.PRETTY_NAME ?? fields.ID ?? 'unknown',
  };
}

export function isDebianLike(os: OsRelease): boolean {
  return os.id === 'debian' || os.id === 'ubuntu' || os.idLike.includes('debian') || os.idLike.includes('ubuntu');
}

/**
 * Finds the archive the host's apt uses for `codename` (deb822 `.sources` files and one-line
 * `sources.list` entries). Third-party repositories (their suites are not the codename, or they
 * carry no `main` component) and security mirrors are skipped.
 */
export function findAptMirror(files: { name: string; text: string }[], codename: string): string | undefined {
  const candidates: string[] = [];
  for (const { name, text } of files) {
    if (name.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const get = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim() ?? '';
        const types = get('Types').split(/\s+/);
        const suites = get('Suites').split(/\s+/);
        const components = get('Components').split(/\s+/);
        if (!types.includes('deb') || !suites.includes(codename) || !components.includes('main')) continue;
        candidates.push(...get('URIs').split(/\s+/).filter(Boolean));
      }
    } else {
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
        if (m && m[2] === codename && (m[3] ?? '').split(/\s+/).includes('main')) candidates.push(m[1] ?? '');
      }
    }
  }
  return candidates.find((uri) => uri && !/security/.test(uri));
}

async function readAptSources(): Promise<{ name: string; text: string }[]> {
  const files: { name: string; text: string }[] = [];
  const tryRead = async (name: string) => {
    try {
      files.push({ name, text: await readFile(name, 'utf8') });
    } catch {
      // absent
    }
  };
  await tryRead('/etc/apt/sources.list');
  try {
    for (const entry of (await readdir('/etc/apt/sources.list.d')).sort()) await tryRead(`/etc/apt/sources.list.d/${entry}`);
  } catch {
    // no folder
  }
  return files;
}

/** Reads the facts of this machine. Never changes anything. */
export async function probeHost(): Promise<HostFacts> {
  const os = parseOsRelease(await readFile('/etc/os-release', 'utf8').catch(() => ''));
  const commands = {} as Record<HostCommand, string | undefined>;
  for (const name of Object.keys(HOST_COMMANDS) as HostCommand[]) commands[name] = await which(name);
  let cniPluginDir: string | undefined;
  let cniPlugins: string[] = [];
  for (const dir of CNI_PLUGIN_DIRS) {
    const found = await readdir(dir).catch(() => [] as string[]);
    if (found.includes('bridge')) {
      cniPluginDir = dir;
      cniPlugins = found.sort();
      break;
    }
  }
  const aptMirror = os.versionCodename ? findAptMirror(await readAptSources(), os.versionCodename) : undefined;
  return {
    os,
    isRoot: process.getuid?.() === 0,
    hasApt: (await which('apt-get')) !== undefined,
    commands,
    cniPluginDir,
    cniPlugins,
    aptMirror,
    ipv6: await exists('/proc/net/if_inet6'),
  };
}
