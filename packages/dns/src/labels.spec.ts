import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentIdTail, canonicalName, taskIdHash, toDomainFragment, toLabel, zbase32 } from './labels.js';

describe('toLabel', () => {
  it('lower-cases, maps - . _ to -, drops the rest', () => {
    assert.equal(toLabel('My_App.v2'), 'my-app-v2');
    assert.equal(toLabel('ChronosTask:Some_Box'), 'chronostasksome-box');
    assert.equal(toLabel('web server!'), 'webserver');
  });
  it('trims hyphens at both ends and cuts at 63 characters', () => {
    assert.equal(toLabel('__web__'), 'web');
    assert.equal(toLabel('a'.repeat(80)), 'a'.repeat(63));
    assert.equal(toLabel(`${'a'.repeat(62)}-b`), 'a'.repeat(62));
  });
  it('gives an empty label for a name with no usable character', () => {
    assert.equal(toLabel('***'), '');
    assert.equal(toLabel(''), '');
  });
});

describe('toDomainFragment', () => {
  it('keeps dots as label separators and drops empty labels', () => {
    assert.equal(toDomainFragment('Chronos With A_Space.And.MIXED'), 'chronoswitha-space.and.mixed');
    assert.equal(toDomainFragment('.a..b.'), 'a.b');
    assert.equal(toDomainFragment('marathon'), 'marathon');
  });
});

describe('zbase32 and the task id hash', () => {
  it('matches the z-base-32 specification vectors', () => {
    assert.equal(zbase32(Uint8Array.from([0xf0, 0xbf, 0xc7])), '6n9hq');
    assert.equal(zbase32(Uint8Array.from([0xd4, 0x7a, 0x04])), '4t7ye');
    assert.equal(zbase32(Uint8Array.from([0, 0])), 'yyyy');
  });
  it('is 5 z-base-32 characters, stable per id, different across ids', () => {
    const h = taskIdHash('web.0d4a2e5b-8f3c-11ee-9c4b-0242ac110002');
    assert.match(h, /^[ybndrfg8ejkmcpqxot1uwisza345h769]{5}$/);
    assert.equal(taskIdHash('web.0d4a2e5b-8f3c-11ee-9c4b-0242ac110002'), h);
    assert.notEqual(taskIdHash('web.0d4a2e5b-8f3c-11ee-9c4b-0242ac110003'), h);
  });
});

describe('agentIdTail and canonicalName', () => {
  it('takes the last dash field of an agent id, lower-cased', () => {
    assert.equal(agentIdTail('6c1e4a5e-3d1b-4b8f-9f2a-1a2b3c4d5e6f-S12'), 's12');
    assert.equal(agentIdTail('S0'), 's0');
  });
  it('lower-cases and drops trailing dots', () => {
    assert.equal(canonicalName('Web.Marathon.IPPC.'), 'web.marathon.ippc');
  });
});
