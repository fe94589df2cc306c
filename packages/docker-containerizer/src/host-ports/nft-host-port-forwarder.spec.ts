// The nft forwarder's bookkeeping against a fake runner: the whole table each time, the sysctls
// once, one call at a time, a failed call changes nothing, errors say what to do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError, silentLogger } from '@ippc/core';
import type { CommandResult, CommandRunner } from './command.js';
import { createNftHostPortForwarder } from './nft-host-port-forwarder.js';

interface Call {
  argv: string;
  input?: string;
}

/** Answers sysctl reads from `sysctls`, records everything, fails the commands `fail` says. */
function fakeRunner(sysctls: Record<string, string>, fail: (argv: string) => CommandResult | undefined = () => undefined) {
  const calls: Call[] = [];
  let running = 0;
  let overlapped = false;
  const runner: CommandRunner = {
    async run(command, args, input) {
      const argv = [command, ...args].join(' ');
      calls.push({ argv, ...(input ? { input } : {}) });
      running++;
      overlapped ||= running > 1;
      await new Promise((r) => setTimeout(r, 5));
      running--;
      const failed = fail(argv);
      if (failed) return failed;
      if (command === 'sysctl' && args[0] === '-n') return { stdout: `${sysctls[args[1]!] ?? '0'}\n`, stderr: '', code: 0 };
      if (command === 'sysctl' && args[0] === '-w') {
        const [k, v] = args[1]!.split('=');
        sysctls[k!] = v!;
      }
      return { stdout: '', stderr: '', code: 0 };
    },
  };
  return { runner, calls, overlapped: () => overlapped, scripts: () => calls.filter((c) => c.argv === 'nft -f -').map((c) => c.input!) };
}

const elements = (script: string) => /elements = \{ (.*) \}/.exec(script)?.[1] ?? '';
const tcp = (hostPort: number) => ({ protocol: 'tcp' as const, hostPort });
const forwarder = (runner: CommandRunner) => createNftHostPortForwarder({ via: '10.99.0.1', runner, logger: silentLogger() });

describe('createNftHostPortForwarder', () => {
  it('writes the whole table on each change, and turns the sysctls on once, where they are off', async () => {
    const f = fakeRunner({ 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.route_localnet': '0' });
    const fw = forwarder(f.runner);
    await fw.publish('a', [tcp(31001), { protocol: 'udp', hostPort: 31000 }]);
    await fw.publish('b', [tcp(31005)]);
    await fw.publish('b', [tcp(31005)]);
    await fw.unpublish('a');
    await fw.unpublish('a');
    assert.deepEqual(
      f.calls.filter((c) => c.argv.startsWith('sysctl')).map((c) => c.argv),
      ['sysctl -n net.ipv4.ip_forward', 'sysctl -n net.ipv4.conf.all.route_localnet', 'sysctl -w net.ipv4.conf.all.route_localnet=1'],
    );
    assert.deepEqual(
      f.scripts().map(elements),
      ['tcp . 31001, udp . 31000', 'tcp . 31001, tcp . 31005, udp . 31000', 'tcp . 31001, tcp . 31005, udp . 31000', 'tcp . 31005'],
      'an unknown container writes nothing',
    );
    assert.ok(f.scripts()[0]!.startsWith('table ip ippc_docker_ports\ndelete table ip ippc_docker_ports\n'));
    assert.ok(f.scripts()[0]!.includes('dnat to 10.99.0.1'));
    assert.deepEqual(fw.published(), new Map([['b', [tcp(31005)]]]));
  });

  it('runs one call at a time, in order', async () => {
    const f = fakeRunner({ 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.route_localnet': '1' });
    const fw = forwarder(f.runner);
    await Promise.all([fw.publish('a', [tcp(1)]), fw.publish('b', [tcp(2)]), fw.unpublish('a'), fw.publish('c', [tcp(3)])]);
    assert.equal(f.overlapped(), false);
    assert.deepEqual(f.scripts().map(elements), ['tcp . 1', 'tcp . 1, tcp . 2', 'tcp . 2', 'tcp . 2, tcp . 3']);
  });

  it('a table nft refuses changes nothing and says why, with the output; the next call heals', async () => {
    let refuse = true;
    const f = fakeRunner({ 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.route_localnet': '1' }, (argv) =>
      argv === 'nft -f -' && refuse ? { stdout: '', stderr: 'Error: Could not process rule: No such file or directory\n', code: 1 } : undefined,
    );
    const fw = forwarder(f.runner);
    await assert.rejects(fw.publish('a', [tcp(31000)]), (e: unknown) => {
      assert.ok(isIppcError(e, 'DOCKER_HOST_PORTS_FAILED'));
      assert.equal(
        e.message,
        'cannot forward host ports to 10.99.0.1 (nftables table ip ippc_docker_ports): nft -f - exited with 1: Error: Could not process rule: No such file or directory',
      );
      assert.equal(e.output?.exitCode, 1);
      return true;
    });
    assert.deepEqual(fw.published(), new Map());
    refuse = false;
    await fw.publish('b', [tcp(31001)]);
    assert.equal(elements(f.scripts().at(-1)!), 'tcp . 31001');
  });

  it('unpublish forgets the container even when the table cannot be written', async () => {
    let refuse = false;
    const f = fakeRunner({ 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.route_localnet': '1' }, (argv) =>
      argv === 'nft -f -' && refuse ? { stdout: '', stderr: 'busy', code: 1 } : undefined,
    );
    const fw = forwarder(f.runner);
    await fw.publish('a', [tcp(31000)]);
    refuse = true;
    await assert.rejects(fw.unpublish('a'), (e: unknown) => isIppcError(e, 'DOCKER_HOST_PORTS_FAILED'));
    refuse = false;
    await fw.publish('b', [tcp(31001)]);
    assert.equal(elements(f.scripts().at(-1)!), 'tcp . 31001', 'the next write leaves its ports out');
  });

  it('recover replaces everything', async () => {
    const f = fakeRunner({ 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.route_localnet': '1' });
    const fw = forwarder(f.runner);
    await fw.publish('old', [tcp(31000)]);
    await fw.recover(
      new Map([
        ['x', [tcp(31002)]],
        ['none', []],
      ]),
    );
    assert.deepEqual(fw.published(), new Map([['x', [tcp(31002)]]]));
    await fw.recover(new Map());
    assert.equal(elements(f.scripts().at(-1)!), '');
  });

  it('a sysctl that cannot be set fails with what to do, and is tried again on the next call', async () => {
    let readOnly = true;
    const f = fakeRunner({ 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.route_localnet': '0' }, (argv) =>
      argv.startsWith('sysctl -w') && readOnly
        ? { stdout: '', stderr: 'sysctl: setting key "net.ipv4.conf.all.route_localnet": Read-only file system\n', code: 255 }
        : undefined,
    );
    const fw = forwarder(f.runner);
    await assert.rejects(fw.publish('a', [tcp(31000)]), (e: unknown) => {
      assert.ok(isIppcError(e, 'DOCKER_HOST_PORTS_FAILED'));
      assert.match(
        e.message,
        /^cannot set net\.ipv4\.conf\.all\.route_localnet=1, which forwarding host ports needs \(run the agent with \/proc\/sys writable, or set the sysctl on its container\): .*Read-only file system$/,
      );
      return true;
    });
    assert.deepEqual(f.scripts(), [], 'no table without the sysctls');
    readOnly = false;
    await fw.publish('a', [tcp(31000)]);
    assert.equal(f.scripts().length, 1);
  });

  it('a missing nft says so', async () => {
    const runner: CommandRunner = {
      run: async (command) => {
        if (command === 'sysctl') return { stdout: '1\n', stderr: '', code: 0 };
        throw Object.assign(new Error('spawn nft ENOENT'), { code: 'ENOENT' });
      },
    };
    await assert.rejects(forwarder(runner).publish('a', [tcp(1)]), /cannot run nft: spawn nft ENOENT \(is it installed\?\)/);
  });

  it('refuses a via that is not an IPv4 address, and a table name nft would not take', () => {
    for (const via of ['', 'gateway', '10.0.0.0/24', 'fd00::1', '10.0.0']) {
      assert.throws(
        () => createNftHostPortForwarder({ via }),
        (e: unknown) => isIppcError(e, 'DOCKER_OPTIONS_INVALID') && e.message.includes(`'${via}'`),
      );
    }
    assert.throws(
      () => createNftHostPortForwarder({ via: '10.0.0.1', table: 'bad-name' }),
      (e: unknown) => isIppcError(e, 'DOCKER_OPTIONS_INVALID'),
    );
  });
});
