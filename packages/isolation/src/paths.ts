import { fileURLToPath } from 'node:url';

/** The folder holding the `ippc-isolation` CNI plugin: add it to CNI_PATH (or copy the file). */
export const CNI_PLUGIN_DIR = fileURLToPath(new URL('../cni', import.meta.url));
/** The `ippc-isolation` CNI plugin (POSIX sh + curl forwarder to ippc-isolation-agent). */
export const CNI_PLUGIN_PATH = fileURLToPath(new URL('../cni/ippc-isolation', import.meta.url));
/** The node daemon's entry (run with `node --import tsx`). */
export const AGENT_BIN_PATH = fileURLToPath(new URL('./bin/ippc-isolation-agent.ts', import.meta.url));
/** The service's entry (run with `node --import tsx`). */
export const SERVER_BIN_PATH = fileURLToPath(new URL('./bin/ippc-isolation-server.ts', import.meta.url));
/** The package root (a cwd from which `node --import tsx` resolves). */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
