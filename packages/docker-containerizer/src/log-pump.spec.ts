import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { followLogs } from './log-pump.js';

// followLogs against a fake daemon: each logs() call answers with the container's whole log so
// far (as the daemon does) on a stream the test ends, as a daemon going away ends it.

function fakeDaemon(answers: Array<boolean | undefined>) {
  const log: string[] = [];
  const streams: PassThrough[] = [];
  let asked = 0;
  const docker = {
    modem: {
      // The real demux splits stdout and stderr frames; here everything is stdout.
      demuxStream: (stream: NodeJS.ReadableStream, out: Writable) => stream.on('data', (d: Buffer) => out.write(d)),
    },
  } as unknown as Docker;
  const container = {
    logs: async () => {
      const s = new PassThrough();
      s.write(log.join(''));
      streams.push(s);
      return s;
    },
  } as unknown as Docker.Container;
  return {
    docker,
    container,
    streams,
    print: (line: string) => {
      log.push(line);
      streams.at(-1)?.write(line);
    },
    running: async () => answers[Math.min(asked++, answers.length - 1)],
    get asked() {
      return asked;
    },
  };
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
};

describe('followLogs', () => {
  let sandbox: string;
  beforeEach(() => {
    sandbox = mkdtempSync(join(tmpdir(), 'ippc-logs-'));
  });
  afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

  it('carries on after the stream breaks while the container runs, without copying a byte twice', async () => {
    // Before the container: the sandbox already holds an earlier line (the base).
    writeFileSync(join(sandbox, 'stdout'), 'before\n');
    const d = fakeDaemon([true, undefined, undefined, true, false]);
    const pump = followLogs(d.docker, d.container, sandbox, { base: { stdout: 7, stderr: 0 }, running: d.running, retryMs: 5 });
    await until('the first stream opened', () => d.streams.length === 1);
    d.print('one\n');
    d.streams[0]!.end(); // the daemon goes away
    await until('a second stream after the daemon answered again', () => d.streams.length === 2);
    d.print('two\n');
    d.streams[1]!.end(); // the container exits
    await until('a last stream of the stopped container', () => d.streams.length === 3);
    d.streams[2]!.end();
    await pump.done;
    assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'before\none\ntwo\n');
    assert.equal(d.asked, 5, 'asked once per round, twice more while the daemon was away');
  });

  it('close() stops the attempts while the daemon does not answer', async () => {
    const d = fakeDaemon([undefined]);
    const pump = followLogs(d.docker, d.container, sandbox, { base: { stdout: 0, stderr: 0 }, running: d.running, retryMs: 60_000 });
    await until('asked once', () => d.asked === 1);
    const t0 = Date.now();
    await pump.close();
    assert.ok(Date.now() - t0 < 1000, 'close() did not wait out the retry pause');
    assert.equal(d.streams.length, 0);
  });

  it('a container that stopped before the first round gets its whole log in one read', async () => {
    const d = fakeDaemon([false]);
    d.print('all of it\n');
    const pump = followLogs(d.docker, d.container, sandbox, { base: { stdout: 0, stderr: 0 }, running: d.running });
    await until('one stream', () => d.streams.length === 1);
    d.streams[0]!.end();
    await pump.done;
    assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'all of it\n');
  });
});
