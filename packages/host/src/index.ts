/**
 * @ippc/host: prepares a machine for ippc and says what it lacks.
 *
 * @example
 * ```ts
 * import { planBootstrap, bootstrap } from '@ippc/host';
 * const plan = await planBootstrap();          // read-only: what would be done
 * if (plan.actions.length) await bootstrap();  // install, start dockerd, build images
 * console.log(plan.images.node);               // e.g. ippc/node:3f2a9c1b7d0e
 * ```
 */
export * from './bootstrap.js';
export * from './docker.js';
export * from './doctor.js';
export * from './errors.js';
export { run, runOrThrow, which, type RunOptions, type RunResult } from './exec.js';
export * from './images.js';
export * from './probe.js';
