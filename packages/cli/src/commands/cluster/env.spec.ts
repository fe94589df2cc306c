import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Cluster } from '@ippc/testbed';
import { clusterEnv, exportsText } from './env.js';

const service = (address: string, port: number) => ({ address, grpcAddress: `${address}:${port}`, url: `http://${address}:${port}` });
const fake = (auth: Cluster['auth']) =>
  ({
    name: 'demo',
    auth,
    config: { dns: { domain: 'ippc' } },
    master: service('10.99.0.2', 5050),
    ipam: service('10.99.0.3', 7460),
    isolation: service('10.99.0.3', 7470),
    dns: { ...service('10.99.0.3', 53) },
  }) as unknown as Cluster;

describe('ippc cluster env', () => {
  it('gives the master URL and gRPC address, DNS, IPAM, isolation and the token', async () => {
    const env = await clusterEnv(fake({ token: "s3cret'x" }));
    assert.deepEqual(env, {
      IPPC_CLUSTER: 'demo',
      IPPC_MASTER_URL: 'http://10.99.0.2:5050',
      IPPC_MASTER: '10.99.0.2:5050',
      MESOS_MASTER: '10.99.0.2:5050',
      IPPC_DNS: '10.99.0.3',
      IPPC_DNS_DOMAIN: 'ippc',
      IPPC_IPAM: '10.99.0.3:7460',
      IPPC_ISOLATION: '10.99.0.3:7470',
      IPPC_TOKEN: "s3cret'x",
    });
    // The exports survive a shell's eval, quotes in values included.
    const out = execFileSync('sh', ['-c', `eval "$1"; printf '%s|%s' "$IPPC_TOKEN" "$IPPC_MASTER_URL"`, 'sh', exportsText(env)], { encoding: 'utf8' });
    assert.equal(out, "s3cret'x|http://10.99.0.2:5050");
    assert.equal((await clusterEnv(fake({ disabled: true }))).IPPC_TOKEN, undefined, 'no token when auth is off');
  });

  it('--token-file writes the token readable by its owner only and names the file instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ippc-env-'));
    try {
      const env = await clusterEnv(fake({ token: 'abc' }), join(dir, 'token'));
      assert.equal(env.IPPC_TOKEN, undefined);
      assert.equal(env.IPPC_TOKEN_FILE, join(dir, 'token'));
      assert.equal(readFileSync(join(dir, 'token'), 'utf8'), 'abc\n');
      assert.equal(statSync(join(dir, 'token')).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
