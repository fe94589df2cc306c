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
// What a machine needs and the doing of it: the plan (read only), the bootstrap, the doctor.
export { bootstrap, planBootstrap, type Action, type BootstrapHooks, type DockerState, type Finding, type Plan } from './bootstrap.js';
export { diagnose, type Check, type Diagnosis } from './doctor.js';
export { HostError, type HostErrorCode } from './errors.js';

// The pieces: the Docker daemon, the offline images, the host's facts, running a command.
export { dockerClient, dockerVersion, ensureDockerd, DOCKERD_LOG, type StartDockerdOptions } from './docker.js';
export {
  BASE_REPOSITORY,
  buildBaseImage,
  buildNodeImage,
  imageExists,
  imageRefs,
  NODE_REPOSITORY,
  type BaseRecipe,
  type BuildOptions,
  type ImageRefs,
} from './images.js';
export { CNI_PLUGIN_DIRS, probeHost, REQUIRED_CNI_PLUGINS, type HostFacts } from './probe.js';
export { run, runOrThrow, which, type RunOptions, type RunResult } from './exec.js';
