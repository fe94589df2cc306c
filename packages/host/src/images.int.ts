// Against the real daemon on a bootstrapped host: the images exist under their recipe hash, carry
// the recipe label, run the host's Node, and hold the CNI plugins; a second bootstrap does nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrap, planBootstrap } from './bootstrap.js';
import { dockerClient } from './docker.js';
import { RECIPE_LABEL } from './images.js';

async function runIn(image: string, cmd: string[]): Promise<string> {
  const docker = dockerClient();
  const container = await docker.createContainer({ Image: image, Entrypoint: [], Cmd: cmd, Labels: { 'org.ippc.owner': 'ippc', 'org.ippc.test': 'host-int' } });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    assert.equal(StatusCode, 0, logs);
    // Strip the 8-byte multiplexing headers docker puts on non-TTY logs.
    return logs.replace(/[\x00-\x08][\s\S]{7}/g, '');
  } finally {
    await container.remove({ force: true });
  }
}

describe('host images (real Docker daemon)', () => {
  it('a second bootstrap on a prepared host plans and does nothing', async (t) => {
    const t0 = Date.now();
    const plan = await bootstrap({ onAction: (a) => assert.fail(`a prepared host must need nothing, got ${JSON.stringify(a)}`) });
    assert.deepEqual(plan.actions, []);
    t.diagnostic(`no-op bootstrap took ${Date.now() - t0} ms`);
  });

  it('both images carry their recipe hash as tag and label', async () => {
    const { images } = await planBootstrap();
    for (const ref of [images.base, images.node]) {
      const info = await dockerClient().getImage(ref).inspect();
      assert.equal(info.Config.Labels?.[RECIPE_LABEL], ref.split(':')[1], `${ref} label`);
    }
  });

  it("the base image runs the host's Node and the node image holds the CNI plugins", async () => {
    const { images } = await planBootstrap();
    assert.equal((await runIn(images.base, ['node', '--version'])).trim(), process.version);
    const plugins = await runIn(images.node, ['ls', '/usr/lib/cni']);
    for (const p of ['bridge', 'ptp', 'host-local', 'portmap', 'bandwidth', 'firewall']) assert.ok(plugins.includes(p), `${p} missing: ${plugins}`);
  });
});
