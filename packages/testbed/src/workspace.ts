import { existsSync, readFileSync } from 'node:fs';
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
 * `scripts/setup` runs), falling back to the TypeScript source that the package's `bin` entry names
 * (as tests find executables: `packageBin` of @ippc/core/testing), run through tsx (slower to start:
 * it compiles on the way). Paths are those inside the node, under {@link MOUNT}.
 */
export function resolveBin(workspaceDir: string, pkg: string, bin: string): BinRef {
  const bundle = join('packages', pkg, 'dist', `${bin}.mjs`);
  if (existsSync(join(workspaceDir, bundle))) return { package: pkg, bin, argv: ['node', `${MOUNT}/${bundle}`], bundled: true };
  const source = binSource(workspaceDir, pkg, bin);
  if (source && existsSync(join(workspaceDir, source))) {
    return { package: pkg, bin, argv: ['node', '--import', `${MOUNT}/node_modules/tsx/dist/loader.mjs`, `${MOUNT}/${source}`], bundled: false };
  }
  throw new TestbedError(
    'TESTBED_BINS_MISSING',
    `neither ${bundle} nor the source of ${pkg}'s '${bin}' exists under ${workspaceDir}: build the bundles with 'npx nx run-many -t build' (scripts/setup does)`,
    {
      details: { workspaceDir, package: pkg, bin },
    },
  );
}

/** `packages/<pkg>/<the bin entry of its package.json>`, or undefined without one. */
function binSource(workspaceDir: string, pkg: string, bin: string): string | undefined {
  const manifest = join(workspaceDir, 'packages', pkg, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const entry = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> }).bin?.[bin];
  return entry && join('packages', pkg, entry);
}
