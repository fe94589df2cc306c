import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CNI_SPEC_ERROR_CODES, CniError, defineCniErrorCodes } from './errors.js';

describe('CNI errors', () => {
  it('print as the spec says: {cniVersion, code, msg, details}, details left out when undefined', () => {
    const e = new CniError(CNI_SPEC_ERROR_CODES.TRY_AGAIN_LATER, 'the service is away: retry', 'ISOLATION_UNAVAILABLE');
    assert.deepEqual([e.code, e.msg, e.message, e.details], [11, 'the service is away: retry', 'the service is away: retry', 'ISOLATION_UNAVAILABLE']);
    assert.equal(e.toJson('0.4.0'), '{"cniVersion":"0.4.0","code":11,"msg":"the service is away: retry","details":"ISOLATION_UNAVAILABLE"}');
    assert.equal(new CniError(4, 'CNI_IFNAME is not set').toJson('1.0.0'), '{"cniVersion":"1.0.0","code":4,"msg":"CNI_IFNAME is not set"}');
    assert.equal(new CniError(4, 'CNI_IFNAME is not set', '').toJson('1.0.0'), '{"cniVersion":"1.0.0","code":4,"msg":"CNI_IFNAME is not set","details":""}');
    assert.deepEqual(new CniError(7, 'bad').toResponse('1.1.0'), { status: 400, body: '{"cniVersion":"1.1.0","code":7,"msg":"bad"}' });
  });

  it("a plugin's own codes join the spec's from 100 up", () => {
    const codes = defineCniErrorCodes({ POOL_EXHAUSTED: 100, ADDRESS_TAKEN: 101 });
    assert.deepEqual([codes.POOL_EXHAUSTED, codes.ADDRESS_TAKEN, codes.TRY_AGAIN_LATER, codes.INTERNAL], [100, 101, 11, 999]);
    for (const bad of [{ MINE: 12 }, { MINE: 999 }, { A: 100, B: 100 }, { DECODE: 100 }, { MINE: 100.5 }] as Record<string, number>[]) {
      assert.throws(() => defineCniErrorCodes(bad), RangeError, JSON.stringify(bad));
    }
  });
});
