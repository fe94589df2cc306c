import { fileURLToPath } from 'node:url';

/** The package root: a cwd from which `node --import tsx` resolves, for the processes tests start. */
export const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
