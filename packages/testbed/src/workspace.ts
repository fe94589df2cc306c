import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestbedError } from './errors.js';

/** Where the workspace is mounted (read-only) in every node container. */
export const MOUNT = '/opt/ippc';

/** The ippc workspace this package belongs to (its `packages/` hold the components' bundles). */
export function defaultWorkspaceDir(): string {
  return fileURLToPath(new URL('../../../', import.meta.url));
}

/** A component's executable as the node runs it: `node <bundle>` or, without a bundle, `node --import tsx <source>`. */
export interface BinRef {
  package: string;
  bin: string;
  /** argv inside the node, before the component's flags. */
  argv: string[];
  bundled: boolean;
}

/**
 * Resolves `packages/<pkg>/dist/<bin>.mjs` (built by `npx nx run-many -t build`, which
 * `scripts/setup` runs), falling back to the TypeScript source through tsx (slower to start: it
 * compiles on the way). Paths are those inside the node, under {@link MOUNT}.
 */
export function resolveBin(workspaceDir: string, pkg: string, bin: string): BinRef {
  const bundle = join('packages', pkg, 'dist', `${bin}.mjs`);
  if (existsSync(join(workspaceDir, bundle))) return { package: pkg, bin, argv: ['node', `${MOUNT}/${bundle}`], bundled: true };
  const source = join('packages', pkg, 'src', 'bin', `${bin}.ts`);
  if (existsSync(join(workspaceDir, source))) {
    return { package: pkg, bin, argv: ['node', '--import', `${MOUNT}/node_modules/tsx/dist/loader.mjs`, `${MOUNT}/${source}`], bundled: false };
  }
  throw new TestbedError('TESTBED_BINS_MISSING', `neither ${bundle} nor ${source} exists under ${workspaceDir}: build the bundles with 'npx nx run-many -t build' (scripts/setup does)`, {
    details: { workspaceDir, package: pkg, bin },
  });
}
