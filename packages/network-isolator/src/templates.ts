import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetworkIsolatorError } from './errors.js';
import { parseNetworkConfig } from './cni/config.js';
import { checkpoint } from './checkpoint.js';

/**
 * The variables of the default network templates in `networks/` (substituted as `${NAME}`), with
 * their defaults; `undefined` means the variable must be given (each agent has its own subnets).
 */
export const NETWORK_TEMPLATE_VARIABLES: Readonly<Record<string, string | undefined>> = {
  /** This agent's subnet on `ippc-bridge` (bridge + ippc-ipam), e.g. `10.220.1.0/24`. */
  BRIDGE_SUBNET: undefined,
  /** This agent's subnet on `ippc-ptp` (ptp + ippc-ipam), e.g. `10.220.2.0/24`. */
  PTP_SUBNET: undefined,
  /** This agent's subnet on `ippc-local` (bridge + Debian's host-local), e.g. `10.220.3.0/24`. */
  LOCAL_SUBNET: undefined,
  /** Linux bridge of `ippc-bridge`. */
  BRIDGE_NAME: 'ippc0',
  /** Linux bridge of `ippc-local`. */
  LOCAL_BRIDGE_NAME: 'ippc1',
  /** host-local's store for `ippc-local`. */
  LOCAL_DATA_DIR: '/var/lib/cni/networks',
  /** Where the `ippc-ipam` plugin reaches the IPAM daemon. */
  IPAM_SOCKET: '/run/ippc/ipam.sock',
};

/** Options of {@link renderNetworkTemplates}. */
export interface RenderNetworkTemplatesOptions {
  /** Folder to write the configs into (an agent's `configDir`). Created if missing. */
  outDir: string;
  /** Values for the template variables; see {@link NETWORK_TEMPLATE_VARIABLES}. */
  variables: Record<string, string>;
  /** Only these template files (e.g. `['ippc-local.conflist']`). Default: all. */
  only?: string[];
  /** Folder of templates. Default: this package's `networks/`. */
  templatesDir?: string;
}

/**
 * Writes the default networks with this agent's values substituted; returns the written paths.
 * Throws `CNI_INVALID_CONFIG` when a variable has no value or the result is not a valid config.
 */
export async function renderNetworkTemplates(options: RenderNetworkTemplatesOptions): Promise<string[]> {
  const dir = options.templatesDir ?? fileURLToPath(new URL('../networks/', import.meta.url));
  const values: Record<string, string | undefined> = { ...NETWORK_TEMPLATE_VARIABLES, ...options.variables };
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.conflist') || f.endsWith('.conf') || f.endsWith('.json'))
    .filter((f) => !options.only || options.only.includes(f))
    .sort();
  await mkdir(options.outDir, { recursive: true });
  const written: string[] = [];
  for (const file of files) {
    const text = (await readFile(join(dir, file), 'utf8')).replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
      const v = values[name];
      if (v === undefined) {
        throw new NetworkIsolatorError('CNI_INVALID_CONFIG', `Template variable ${name} of ${file} has no value: pass variables.${name}`);
      }
      // Values go inside JSON strings.
      return JSON.stringify(v).slice(1, -1);
    });
    parseNetworkConfig(text);
    const out = join(options.outDir, file);
    await checkpoint(out, text);
    written.push(out);
  }
  return written;
}
