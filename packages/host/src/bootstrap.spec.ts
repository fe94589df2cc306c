import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageBin } from '@ippc/core/testing';
import { findings, plan, type DockerState } from './bootstrap.js';
import { HOST_COMMANDS, REQUIRED_CNI_PLUGINS, type HostCommand, type HostFacts } from './probe.js';

const images = { base: 'ippc/base:aaaa', node: 'ippc/node:bbbb' };

function facts(over: Partial<HostFacts> = {}): HostFacts {
  const commands = Object.fromEntries(Object.keys(HOST_COMMANDS).map((c) => [c, `/usr/bin/${c}`])) as Record<HostCommand, string>;
  return {
    os: { id: 'debian', idLike: [], versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
    isRoot: true,
    hasApt: true,
    commands,
    cniPluginDir: '/usr/lib/cni',
    cniPlugins: [...REQUIRED_CNI_PLUGINS],
    aptMirror: 'http://deb.debian.org/debian',
    ipv6: true,
    ...over,
  };
}
const ready: DockerState = { answering: true, images: { base: true, node: true } };
const fresh: DockerState = { answering: false, images: { base: false, node: false } };

describe('bootstrap plan (dry run)', () => {
  it('does nothing on a prepared host', () => {
    const p = plan(facts(), ready, images);
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.blockers, []);
    assert.ok(p.findings.every((f) => f.ok));
  });

  it('on a fresh Debian machine as root: install, start dockerd, build both images, in that order', () => {
    const bare = facts({
      commands: { dockerd: undefined, iptables: undefined, nft: undefined, ip: '/usr/sbin/ip', debootstrap: undefined, etcd: undefined },
      cniPluginDir: undefined,
      cniPlugins: [],
    });
    const p = plan(bare, fresh, images);
    assert.deepEqual(p.blockers, []);
    assert.deepEqual(p.actions, [
      { kind: 'install-packages', packages: ['containernetworking-plugins', 'debootstrap', 'docker.io', 'etcd-server', 'iptables', 'nftables'] },
      { kind: 'start-dockerd' },
      { kind: 'build-base-image', ref: images.base },
      { kind: 'build-node-image', ref: images.node },
    ]);
  });

  it('counts a CNI folder without every required plugin as missing', () => {
    const f = findings(facts({ cniPlugins: ['bridge', 'host-local'] }));
    assert.equal(f.find((x) => x.id === 'cni-plugins')?.ok, false);
  });

  it('explains what to run by hand when not root', () => {
    const p = plan(facts({ isRoot: false, commands: { ...facts().commands, dockerd: undefined } }), fresh, images);
    assert.ok(
      p.blockers.some((b) => b.includes('sudo apt-get install -y docker.io')),
      p.blockers.join('\n'),
    );
    assert.ok(p.blockers.some((b) => b.includes('start dockerd')));
  });

  it('refuses to guess on a distribution without apt', () => {
    const p = plan(
      facts({ os: { id: 'fedora', idLike: [], prettyName: 'Fedora Linux 40' }, commands: { ...facts().commands, nft: undefined } }),
      ready,
      images,
    );
    assert.equal(p.blockers.length, 1);
    assert.match(p.blockers[0] ?? '', /Fedora Linux 40 is not Debian or Ubuntu: install nftables/);
  });

  it('only rebuilds the node image when the base is there', () => {
    const p = plan(facts(), { answering: true, images: { base: true, node: false } }, images);
    assert.deepEqual(p.actions, [{ kind: 'build-node-image', ref: images.node }]);
  });

  it('ippc-host bootstrap --dry-run --json reports the plan and changes nothing', async () => {
    const bin = packageBin('@ippc/host', 'ippc-host');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', bin, 'bootstrap', '--dry-run', '--json']);
    const report = JSON.parse(stdout) as { findings: unknown[]; actions: string[]; images: { base: string; node: string } };
    assert.ok(Array.isArray(report.findings) && report.findings.length >= 7);
    assert.match(report.images.base, /^ippc\/base:[0-9a-f]{12}$/);
    assert.match(report.images.node, /^ippc\/node:[0-9a-f]{12}$/);
    assert.ok(Array.isArray(report.actions));
  });
});
