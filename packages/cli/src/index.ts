/**
 * @ippc/cli: the `ippc` command (bin: src/bin/ippc.ts). Run `ippc --help`.
 *
 * The package exports the output helpers its commands share.
 */
export { emit, fail, table } from './output.js';
