import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findAptMirror, isDebianLike, parseOsRelease } from './probe.js';

describe('host probe parsing', () => {
  it('reads /etc/os-release', () => {
    const os = parseOsRelease('PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n');
    assert.deepEqual(os, { id: 'ubuntu', idLike: ['debian'], versionCodename: 'noble', prettyName: 'Ubuntu 24.04 LTS' });
    assert.ok(isDebianLike(os));
    assert.ok(!isDebianLike(parseOsRelease('ID=alpine\n')));
  });

  it('finds the distribution mirror in deb822 sources, skipping security and third-party repositories', () => {
    const files = [
      {
        name: '/etc/apt/sources.list.d/nodesource.sources',
        text: 'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n',
      },
      {
        name: '/etc/apt/sources.list.d/debian.sources',
        text:
          'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n\n' +
          'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n',
      },
    ];
    assert.equal(findAptMirror(files, 'bookworm'), 'http://mirror.example/debian');
  });

  it('finds the mirror in one-line sources.list entries', () => {
    const files = [{ name: '/etc/apt/sources.list', text: '# comment\ndeb [arch=amd64] http://archive.ubuntu.com/ubuntu noble main universe\n' }];
    assert.equal(findAptMirror(files, 'noble'), 'http://archive.ubuntu.com/ubuntu');
    assert.equal(findAptMirror(files, 'jammy'), undefined);
  });
});
