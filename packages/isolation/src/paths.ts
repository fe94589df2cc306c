import { fileURLToPath } from 'node:url';

/** The node daemon's entry (run with `node --import tsx`). */
export const NODE_DAEMON_BIN_PATH = fileURLToPath(new URL('./bin/ippc-isolation-node.ts', import.meta.url));
/** The service's entry (run with `node --import tsx`). */
export const SERVER_BIN_PATH = fileURLToPath(new URL('./bin/ippc-isolation-server.ts', import.meta.url));
/** The package root (a cwd from which `node --import tsx` resolves). */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
