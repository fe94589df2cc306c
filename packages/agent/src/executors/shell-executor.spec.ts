import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '@ippc/mesos/testing';

// The shell executor (executors/shell-executor.mjs) against a fake agent on loopback: after its
// agent goes away it reconnects as Mesos's executor library does. With checkpointing it subscribes
// again, backing off at most MESOS_SUBSCRIPTION_BACKOFF_MAX, even when the stream was cut rather
// than ended (an agent killed with -9), and gives up (exits) after MESOS_RECOVERY_TIMEOUT; without
// checkpointing it shuts down at the first disconnection.

const EXECUTOR = new URL('../../executors/shell-executor.mjs', import.meta.url).pathname;

/** A fake agent's executor API: counts SUBSCRIBEs, answers each with SUBSCRIBED and keeps the stream open. */
class FakeAgent {
  subscribes: number[] = [];
  private server: Server | undefined;
  private streams: ServerResponse[] = [];
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const call = JSON.parse(body) as { type: string };
        if (call.type !== 'SUBSCRIBE') return void res.writeHead(202).end();
        this.subscribes.push(Date.now());
        res.writeHead(200, { 'content-type': 'application/json' });
        const event = JSON.stringify({ type: 'SUBSCRIBED', subscribed: { container_id: { value: 'c1' } } });
        res.write(`${Buffer.byteLength(event)}\n${event}`);
        this.streams.push(res);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Dies as a killed agent does: nothing listening, every connection cut mid-stream. */
  async kill(): Promise<void> {
    // Stop accepting first, so that no SUBSCRIBE slips in to hold the server open.
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    for (const s of this.streams) s.socket?.destroy();
    this.streams = [];
    this.server!.closeAllConnections();
    await closed;
  }
}

function runExecutor(port: number, env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [EXECUTOR], {
    env: {
      PATH: process.env.PATH ?? '',
      MESOS_AGENT_ENDPOINT: `127.0.0.1:${port}`,
      MESOS_FRAMEWORK_ID: 'F1',
      MESOS_EXECUTOR_ID: 'E1',
      MESOS_SANDBOX: mkdtempSync(join(tmpdir(), 'shell-executor-')),
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '100ms',
      ...env,
    },
    stdio: 'ignore',
  });
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

describe('the shell executor reconnects as a Mesos executor does', () => {
  it(
    'with checkpointing: subscribes again after its agent is killed and restarted, within the backoff; gives up after the recovery timeout',
    { timeout: 30_000 },
    async () => {
      const agent = new FakeAgent();
      await agent.start();
      const { child, exited } = runExecutor(agent.port, { MESOS_CHECKPOINT: '1', MESOS_RECOVERY_TIMEOUT: '1500ms', MESOS_SUBSCRIPTION_BACKOFF_MAX: '200ms' });
      try {
        await waitFor(() => agent.subscribes.length === 1, 'the first SUBSCRIBE');
        await agent.kill();
        // Down for a while (shorter than the recovery timeout), then back on the same port.
        await new Promise((r) => setTimeout(r, 400));
        const back = Date.now();
        await agent.start(agent.port);
        await waitFor(() => agent.subscribes.length === 2, 'a SUBSCRIBE to the restarted agent');
        assert.ok(agent.subscribes[1]! - back < 1000, `subscribed ${agent.subscribes[1]! - back} ms after the agent came back (backoff at most 200ms)`);
        // Gone for good: the executor shuts down once MESOS_RECOVERY_TIMEOUT has passed.
        await agent.kill();
        const gone = Date.now();
        const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
        assert.notEqual(code, 'still running', 'the executor exits after its recovery timeout');
        assert.ok(Date.now() - gone >= 1400, `not before the recovery timeout (${Date.now() - gone} ms)`);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );

  it('without checkpointing: shuts down when its agent goes away', { timeout: 30_000 }, async () => {
    const agent = new FakeAgent();
    await agent.start();
    const { child, exited } = runExecutor(agent.port, { MESOS_CHECKPOINT: '0' });
    try {
      await waitFor(() => agent.subscribes.length === 1, 'the first SUBSCRIBE');
      await agent.kill();
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 3000))]);
      assert.equal(code, 0, 'the executor exits at once');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
