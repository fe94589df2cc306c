import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CniPluginError } from '../errors.js';
import { createMemoryCache } from './cache.js';
import { parseNetworkConfig } from './config.js';
import { createExecInvoker, type PluginRun } from './invoker.js';
import { createCniRuntime } from './runtime.js';

// Real binaries (sh scripts) beside an in-process handler: the runtime must not tell them apart.
// `first` assigns an address; `chained` passes prevResult on (the script prints the same result) (or fails with a CNI error when the
// container id is `bad`), and logs each run to a file so a test sees whether it was exec'd.
const RESULT = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.99.0.5/24', interface: 0 }] };
const ERROR = { cniVersion: '1.0.0', code: 7, msg: 'no such group', details: 'ask the operator' };

describe('createExecInvoker with in-process plugins', () => {
  let dir: string;
  let log: string;
  const list = () => parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'first' }, { type: 'chained' }] }));
  const rt = (containerId: string) => ({ containerId, netns: '/run/netns/x', ifName: 'eth0', args: [['K', 'V']] as [string, string][] });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ippc-invoker-'));
    log = join(dir, 'chained.log');
    const script = (name: string, body: string) => writeFile(join(dir, name), `#!/bin/sh\n${body}\n`).then(() => chmod(join(dir, name), 0o755));
    await script('first', `cat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo '${JSON.stringify(RESULT)}'\nexit 0`);
    await script(
      'chained',
      `echo "$CNI_COMMAND" >> ${log}\n` +
        `if [ "$CNI_CONTAINERID" = bad ]; then cat >/dev/null; echo '${JSON.stringify(ERROR)}'; exit 1; fi\n` +
        `cat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo '${JSON.stringify(RESULT)}'\nexit 0`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** An in-process `chained` answering as the script does; `decline` makes it hand the run back. */
  function handler(seen: PluginRun[], decline = false) {
    return async (run: PluginRun) => {
      seen.push(run);
      if (decline) return undefined;
      if (run.env.CNI_CONTAINERID === 'bad') return { exitCode: 1, stdout: JSON.stringify(ERROR), stderr: '' };
      const conf = JSON.parse(run.stdin) as { prevResult?: unknown };
      return { exitCode: 0, stdout: run.env.CNI_COMMAND === 'ADD' ? JSON.stringify(conf.prevResult) : '', stderr: '' };
    };
  }
  const execCount = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  it('answers the plugin of that type in process, with the request the binary would get, and execs the others', async () => {
    const seen: PluginRun[] = [];
    const runtime = createCniRuntime({
      pluginDirs: [dir],
      invoker: createExecInvoker({ inProcess: { chained: handler(seen) } }),
      cache: createMemoryCache(),
      path: '/usr/bin:/bin',
    });
    const before = await execCount();
    const { result } = await runtime.addNetworkList(list(), rt('c1'));
    assert.deepEqual(
      result.ips.map((i) => i.address),
      ['10.99.0.5/24'],
      'the result of `first` (exec) passed through the in-process plugin',
    );
    await runtime.checkNetworkList(list(), rt('c1'));
    await runtime.delNetworkList(list(), rt('c1'));
    assert.equal(await execCount(), before, 'the chained binary never ran');
    assert.deepEqual(
      seen.map((r) => r.env.CNI_COMMAND),
      ['ADD', 'CHECK', 'DEL'],
    );
    assert.deepEqual(seen[0]!.env, {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_IFNAME: 'eth0',
      CNI_PATH: dir,
      PATH: '/usr/bin:/bin',
      CNI_NETNS: '/run/netns/x',
      CNI_ARGS: 'K=V',
    });
    const add = JSON.parse(seen[0]!.stdin) as { type: string; name: string; prevResult: { ips: unknown[] } };
    assert.equal(add.type, 'chained');
    assert.equal(add.name, 'n1');
    assert.deepEqual(add.prevResult.ips, RESULT.ips);
    // CHECK and DEL get the cached result as prevResult, as the binary would.
    assert.deepEqual((JSON.parse(seen[1]!.stdin) as { prevResult: { ips: unknown[] } }).prevResult.ips, RESULT.ips);
    assert.deepEqual((JSON.parse(seen[2]!.stdin) as { prevResult: { ips: unknown[] } }).prevResult.ips, RESULT.ips);
  });

  it('runs the binary when the handler declines', async () => {
    const seen: PluginRun[] = [];
    const runtime = createCniRuntime({
      pluginDirs: [dir],
      invoker: createExecInvoker({ inProcess: { chained: handler(seen, true) } }),
      cache: createMemoryCache(),
    });
    const before = await execCount();
    const { result } = await runtime.addNetworkList(list(), rt('c2'));
    assert.deepEqual(
      result.ips.map((i) => i.address),
      ['10.99.0.5/24'],
    );
    await runtime.delNetworkList(list(), rt('c2'));
    assert.equal(seen.length, 2);
    assert.equal(await execCount(), before + 2);
  });

  it('shapes a failure in process exactly as the same failure of the binary', async () => {
    const errorOf = async (inProcess: boolean) => {
      const invoker = createExecInvoker(inProcess ? { inProcess: { chained: handler([]) } } : {});
      const runtime = createCniRuntime({ pluginDirs: [dir], invoker, cache: createMemoryCache() });
      const err = await runtime.addNetworkList(list(), rt('bad')).then(
        () => assert.fail('ADD should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof CniPluginError);
      return { code: err.code, message: err.message, details: err.details, cniCode: err.cniCode, exitCode: err.exitCode, stdout: err.stdout.trim() };
    };
    const viaExec = await errorOf(false);
    assert.match(viaExec.message, /plugin chained failed \(add\): no such group; ask the operator/);
    assert.deepEqual(await errorOf(true), viaExec);
  });

  it('applies the time limit to an in-process plugin', async () => {
    const invoker = createExecInvoker({ timeoutMs: 50, inProcess: { chained: () => new Promise(() => undefined) } });
    const out = await invoker.exec(join(dir, 'chained'), { env: { CNI_COMMAND: 'ADD' }, stdin: '{}' });
    assert.deepEqual(out, { exitCode: null, stdout: '', stderr: '', timedOut: true });
  });
});
