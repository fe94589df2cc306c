import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { packageBin } from '@ippc/core/testing';

const bin = packageBin('@ippc/cli', 'ippc');

describe('ippc doctor', () => {
  it('--json reports every check and exits 0 on a prepared host', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', bin, 'doctor', '--json']);
    const report = JSON.parse(stdout) as { ready: boolean; checks: { id: string; status: string }[] };
    assert.equal(report.ready, true);
    assert.ok(report.checks.length >= 15);
  });

  it('an unknown command fails with a usage message', async () => {
    await assert.rejects(
      promisify(execFile)(process.execPath, ['--import', 'tsx', bin, 'nope']),
      (err: { code: number; stderr: string }) => err.code === 1 && /unknown command 'nope'/.test(err.stderr),
    );
  });
});
