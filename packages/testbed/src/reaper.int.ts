// The reaper against the real daemon: a process that dies by SIGKILL leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import { planBootstrap } from '@ippc/host';
import { LABEL, OWNER } from './labels.js';

const docker = new Docker();

async function sessionResources(session: string) {
  const filters = JSON.stringify({ label: [`${LABEL.session}=${session}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return containers.length + networks.length;
}

describe('session reaper', () => {
  const session = `test-${randomUUID()}`;
  after(async () => {
    // Belt and braces: whatever the outcome, nothing of this session stays.
    const filters = JSON.stringify({ label: [`${LABEL.session}=${session}`] });
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove();
  });

  it('removes the containers and networks of a session whose process was killed -9', async () => {
    const { images } = await planBootstrap();
    // A child process holds the session: it starts the reaper, says ready, then waits forever.
    const holder = fileURLToPath(new URL('./testing/hold-reaper.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', holder, images.node, session], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    });
    const labels = { [LABEL.owner]: OWNER, [LABEL.session]: session, [LABEL.cluster]: 'reaper-test' };
    await docker.createNetwork({ Name: `ippc-reaper-${session.slice(5, 13)}`, Labels: labels });
    const c = await docker.createContainer({ Image: images.base, Cmd: ['sleep', '600'], Labels: labels });
    await c.start();
    assert.equal(await sessionResources(session), 2);

    child.kill('SIGKILL');
    const deadline = Date.now() + 30_000;
    while ((await sessionResources(session)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await sessionResources(session), 0, 'the reaper should have removed the session resources');
  });
});
