/**
 * @ippc/testbed: a local multi-node ippc cluster on testcontainers (issue #8).
 *
 * Landed so far: the label conventions that make labels the truth for what the testbed owns, and
 * the session reaper (a Ryuk equivalent built from ippc's own image). `startCluster()` lands with
 * the control plane.
 */
export * from './config.js';
export { LABEL, OWNER, labelsFor } from './labels.js';
export { startReaper, type Reaper, type ReaperOptions } from './reaper.js';
