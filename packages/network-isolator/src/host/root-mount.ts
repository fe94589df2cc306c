import { mkdir, readFile } from 'node:fs/promises';
import { exec, shellQuote } from './exec.js';

// The checkpoint root as a mount point in a shared peer group of its own (see HostOps.prepareRoot).

/** Unescapes the octal escapes of mountinfo paths (`\040` is a space). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The mountinfo line whose mount point is `path` (the last, i.e. topmost), split in fields. */
function findMount(mountinfo: string, path: string): string[] | undefined {
  let found: string[] | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && unescapeMountPath(f[4]!) === path) found = f;
  }
  return found;
}

/** Makes `rootDir` a shared mount in a peer group of its own (`HostOps.prepareRoot`). */
export async function prepareRoot(rootDir: string): Promise<void> {
  await mkdir(rootDir, { recursive: true });
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const line = findMount(mountinfo, rootDir);
  const peerGroup = line?.slice(6, line.indexOf('-')).find((t) => t.startsWith('shared:'));
  // Enough only if no mount above the root shares its peer group (Mesos's check): a plain bind
  // of a shared parent would otherwise propagate container mounts back up.
  const alone =
    peerGroup !== undefined &&
    !mountinfo.split('\n').some((l) => {
      const f = l.split(' ');
      const target = f[4] ? unescapeMountPath(f[4]) : '';
      return (
        f !== line && target !== rootDir && rootDir.startsWith(target) && !target.startsWith(`${rootDir}/`) && f.slice(6, f.indexOf('-')).includes(peerGroup)
      );
    });
  if (alone) return;
  const q = shellQuote(rootDir);
  const bind = line ? '' : `mount --bind ${q} ${q} && `;
  await exec('sh', ['-c', `${bind}mount --make-private ${q} && mount --make-shared ${q}`]);
}

/** Undoes {@link prepareRoot}. */
export async function releaseRoot(rootDir: string): Promise<void> {
  const line = findMount(await readFile('/proc/self/mountinfo', 'utf8'), rootDir);
  if (line) await exec('umount', [rootDir]);
}
