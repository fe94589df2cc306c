import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFile, chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { HostError } from './errors.js';
import { runOrThrow } from './exec.js';
import type { HostFacts } from './probe.js';

/** Folder of the image recipes shipped with this package. */
export const IMAGES_DIR = fileURLToPath(new URL('../images/', import.meta.url));

export const BASE_REPOSITORY = 'ippc/base';
export const NODE_REPOSITORY = 'ippc/node';
/** Label on every image ippc builds; its value is the recipe hash. */
export const RECIPE_LABEL = 'org.ippc.recipe';

export interface BaseRecipe {
  variant: string;
  include: string[];
  nodeBinary: string;
}

export interface ImageRefs {
  base: string;
  node: string;
}

async function folderDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of (await readdir(dir)).sort()) {
    hash
      .update(entry)
      .update('\0')
      .update(await readFile(join(dir, entry)))
      .update('\0');
  }
  return hash.digest('hex');
}

export async function readBaseRecipe(): Promise<BaseRecipe> {
  return JSON.parse(await readFile(join(IMAGES_DIR, 'base', 'recipe.json'), 'utf8')) as BaseRecipe;
}

/**
 * The tags of the base and node images for this host. A tag is a hash of everything that goes into
 * the image: the recipe files, the distribution release, and the Node version copied in. Same
 * recipe, same tag: a second bootstrap finds the image and builds nothing.
 */
export async function imageRefs(codename: string | undefined): Promise<ImageRefs> {
  const base = createHash('sha256')
    .update(await folderDigest(join(IMAGES_DIR, 'base')))
    .update(`${codename ?? 'unknown'}\0${process.version}\0${process.arch}`)
    .digest('hex')
    .slice(0, 12);
  const baseRef = `${BASE_REPOSITORY}:${base}`;
  const node = createHash('sha256')
    .update(baseRef)
    .update(await folderDigest(join(IMAGES_DIR, 'node')))
    .digest('hex')
    .slice(0, 12);
  return { base: baseRef, node: `${NODE_REPOSITORY}:${node}` };
}

export async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}

function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: Array<{ error?: string }>) => {
        const failed = err ?? output.find((o) => o.error);
        if (failed) reject(failed instanceof Error ? failed : new Error(String((failed as { error?: string }).error)));
        else resolve();
      },
      (event: { stream?: string; status?: string }) => {
        const line = (event.stream ?? event.status ?? '').trim();
        if (line) onLine?.(line);
      },
    );
  });
}

export interface BuildOptions {
  onProgress?: (line: string) => void;
}

/**
 * Builds the base image offline: debootstrap of the host's own release from the host's own apt
 * mirror into a scratch folder, the host's Node binary copied in, then `docker import`.
 */
export async function buildBaseImage(docker: Docker, facts: HostFacts, ref: string, options: BuildOptions = {}): Promise<void> {
  if (!facts.os.versionCodename || !facts.aptMirror) {
    throw new HostError(
      'HOST_UNSUPPORTED',
      'cannot build the base image: no distribution codename or apt mirror found in /etc/os-release and /etc/apt/sources.list{,.d}; ' +
        'ippc builds its image with debootstrap from the mirror your apt already uses',
    );
  }
  if (!facts.commands.debootstrap) {
    throw new HostError('HOST_UNSUPPORTED', "cannot build the base image: 'debootstrap' is missing (apt-get install debootstrap)");
  }
  const recipe = await readBaseRecipe();
  const root = await mkdtemp('/var/tmp/ippc-rootfs-');
  try {
    options.onProgress?.(`debootstrap ${facts.os.versionCodename} from ${facts.aptMirror}`);
    await runOrThrow('debootstrap', [`--variant=${recipe.variant}`, `--include=${recipe.include.join(',')}`, facts.os.versionCodename, root, facts.aptMirror], {
      onOutput: (chunk) => chunk.split('\n').forEach((l) => l.startsWith('I: Retrieving') || !l.trim() || options.onProgress?.(l.trim())),
    });
    await copyFile(process.execPath, join(root, recipe.nodeBinary));
    await chmod(join(root, recipe.nodeBinary), 0o755);
    await rm(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
    await rm(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
    options.onProgress?.(`docker import ${ref}`);
    const [repo, tag] = ref.split(':') as [string, string];
    const tar = spawn('tar', ['--numeric-owner', '-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const stream = await docker.importImage(
      tar.stdout as unknown as string,
      {
        repo,
        tag,
        changes: [
          `LABEL ${RECIPE_LABEL}=${tag} org.ippc.image=base`,
          'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          'CMD ["/bin/sh"]',
        ],
      } as never,
    );
    await followProgress(docker, stream as unknown as NodeJS.ReadableStream, options.onProgress);
    const tarExit = await new Promise<number | null>((r) => (tar.exitCode !== null ? r(tar.exitCode) : tar.on('close', r)));
    if (tarExit !== 0) throw new HostError('HOST_IMAGE_BUILD_FAILED', `tar of the base root exited with ${tarExit}`);
  } catch (cause) {
    if (cause instanceof HostError) throw cause;
    throw new HostError('HOST_IMAGE_BUILD_FAILED', `building ${ref} failed: ${(cause as Error).message}`, { cause });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Builds the node image FROM the base image with `docker build` (the base is local: nothing is pulled). */
export async function buildNodeImage(docker: Docker, refs: ImageRefs, options: BuildOptions = {}): Promise<void> {
  const dir = join(IMAGES_DIR, 'node');
  try {
    const stream = await docker.buildImage({ context: dir, src: await readdir(dir) }, {
      t: refs.node,
      buildargs: { BASE: refs.base },
      labels: { [RECIPE_LABEL]: refs.node.split(':')[1] ?? '' },
      pull: '',
      rm: true,
      forcerm: true,
    } as never);
    await followProgress(docker, stream as unknown as NodeJS.ReadableStream, options.onProgress);
  } catch (cause) {
    throw new HostError('HOST_IMAGE_BUILD_FAILED', `building ${refs.node} failed: ${(cause as Error).message}`, { cause });
  }
}
