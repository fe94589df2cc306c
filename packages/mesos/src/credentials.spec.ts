import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { basicPrincipal, parseCredentials } from './credentials.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('credentials', () => {
  it("reads Mesos's JSON form and its text form", () => {
    assert.deepEqual(parseCredentials('{"credentials": [{"principal": "ops", "secret": "s3cret"}, {"principal": "fw", "secret": "x"}]}'), [
      { principal: 'ops', secret: 's3cret' },
      { principal: 'fw', secret: 'x' },
    ]);
    assert.deepEqual(parseCredentials('# operators\nops s3cret\n\nfw   x\n'), [
      { principal: 'ops', secret: 's3cret' },
      { principal: 'fw', secret: 'x' },
    ]);
  });

  it('refuses what is neither, saying what is expected', () => {
    const invalid = (text: string, re: RegExp) =>
      assert.throws(
        () => parseCredentials(text),
        (e) => isIppcError(e) && e.code === 'CREDENTIALS_INVALID' && re.test((e as Error).message),
      );
    invalid('{"credentials": []}', /at least one entry/);
    invalid('{"credentials": [{"principal": "p"}]}', /credentials\[0\] needs a non-empty "principal" and "secret"/);
    invalid('{nope', /not valid JSON/);
    invalid('just-one-word', /line 1: expected 'principal secret'/);
    invalid('\n\n', /holds no credential/);
  });

  it('authenticates a Basic header: right secret only, in any case of the scheme', () => {
    const creds = parseCredentials('ops s3cret:with:colons');
    assert.equal(basicPrincipal(creds, basic('ops', 's3cret:with:colons')), 'ops');
    assert.equal(basicPrincipal(creds, basic('ops', 'wrong')), undefined);
    assert.equal(basicPrincipal(creds, basic('who', 's3cret:with:colons')), undefined);
    assert.equal(basicPrincipal(creds, basic('ops', 's3cret:with:colons').replace('Basic', 'basic')), 'ops');
    assert.equal(basicPrincipal(creds, 'Bearer abc'), undefined);
    assert.equal(basicPrincipal(creds, undefined), undefined);
    assert.equal(basicPrincipal(creds, 'Basic !!!'), undefined);
  });
});
