import { status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IppcError, fromServiceError, grpcCodeName, isIppcError, messageOf, toServiceError } from './errors.js';

describe('IppcError across a gRPC edge', () => {
  it('keeps code, message and details through toServiceError/fromServiceError', () => {
    const err = new IppcError('IPAM_ADDRESS_TAKEN', status.ALREADY_EXISTS, '10.0.0.5 is held by c1/eth0', {
      details: { address: '10.0.0.5' },
    });
    const wire = toServiceError(err);
    assert.equal(wire.code, status.ALREADY_EXISTS);
    const back = fromServiceError(wire);
    assert.equal(back.code, 'IPAM_ADDRESS_TAKEN');
    assert.equal(back.grpcCode, status.ALREADY_EXISTS);
    assert.equal(back.message, '10.0.0.5 is held by c1/eth0');
    assert.deepEqual(back.details, { address: '10.0.0.5' });
  });

  it('turns a foreign error into INTERNAL without losing its message', () => {
    const back = fromServiceError(toServiceError(new TypeError('boom')));
    assert.equal(back.code, 'INTERNAL');
    assert.equal(back.message, 'boom');
  });

  it('names transport failures by their gRPC status when no ippc code came back', () => {
    const back = fromServiceError({ code: status.UNAVAILABLE, details: 'connect ECONNREFUSED' });
    assert.equal(back.code, 'UNAVAILABLE');
    assert.equal(grpcCodeName(status.DEADLINE_EXCEEDED), 'DEADLINE_EXCEEDED');
  });

  it('matches codes with isIppcError', () => {
    const err = new IppcError('A', status.INTERNAL, 'x');
    assert.ok(isIppcError(err));
    assert.ok(isIppcError(err, 'A', 'B'));
    assert.ok(!isIppcError(err, 'B'));
    assert.ok(!isIppcError(new Error('x')));
    assert.deepEqual(err.toJSON(), { code: 'A', message: 'x' });
  });
});

describe('messageOf', () => {
  it("gives an Error's message, else the thrown value as a string", () => {
    assert.equal(messageOf(new IppcError('A', status.INTERNAL, 'typed')), 'typed');
    assert.equal(messageOf(new Error('plain')), 'plain');
    assert.equal(messageOf('a string'), 'a string');
    assert.equal(messageOf(undefined), 'undefined');
  });
});
