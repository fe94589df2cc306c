import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@ippc/core/testing';
import { createHostOps } from './host-ops.js';

// Container set-up into a process whose mount namespace still propagates to the host (its root
// mount `shared`): both paths first make `/` a slave (as Mesos's set-up helper does), so the file
// binds stay inside the container and the host's /etc/hosts is untouched. Root only.

describe('container set-up into a mount namespace that still propagates to the host (root)', () => {
  let dir: string;
  let proc: ChildProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ni-setup-'));
    // New mount, UTS and network namespaces (the isolator refuses a process sharing the agent's), the mounts still shared.
    proc = spawn('unshare', ['--mount', '--uts', '--net', '--propagation', 'shared', '--', 'sleep', '300'], { stdio: 'ignore' });
    // Until sleep runs in them: unshare itself starts in the agent's.
    await eventually(
      async () => (readlinkSync(`/proc/${proc.pid}/ns/net`) !== readlinkSync('/proc/self/ns/net') ? true : undefined),
      'the process in its namespaces',
    );
    assert.ok(readFileSync(`/proc/${proc.pid}/mountinfo`, 'utf8').includes(' shared:'), 'its mounts still propagate');
  });
  after(() => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  for (const helper of ['perl', 'util-linux'] as const) {
    it(`${helper}: the bind is seen inside, the host's file is untouched`, async () => {
      const hostsBefore = readFileSync('/etc/hosts', 'utf8');
      const source = join(dir, `hosts-${helper}`);
      writeFileSync(source, `10.0.0.9 pod-${helper}\n`);
      await createHostOps({ helper }).setupContainer(proc.pid!, { binds: [{ source, target: '/etc/hosts' }], loopbackUp: false });
      assert.equal(readFileSync(`/proc/${proc.pid}/root/etc/hosts`, 'utf8'), `10.0.0.9 pod-${helper}\n`);
      assert.equal(readFileSync('/etc/hosts', 'utf8'), hostsBefore, "the host's /etc/hosts");
    });
  }
});
